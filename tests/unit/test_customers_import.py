"""Customer data in: phone normalisation, tier rules, the CSV mapping and row checks, the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cti.cli import main
from cti.config import load_config
from cti.errors import ConfigError
from cti.store.customer_import import (
    ImportFileError,
    Rejected,
    Row,
    build_mapping,
    parse_csv,
    parse_map_args,
)
from cti.store.customers import (
    InvalidPhone,
    TenantScope,
    Tier,
    caller_number_e164,
    derive_tier,
    normalise_phone,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config" / "tenants" / "acme.yaml").read_text()
FR = TenantScope("acme", "FR")


# --- phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+33612345305", "FR", "+33612345305"),
        ("06 12 34 53 05", "FR", "+33612345305"),
        ("06.12.34.53.05", "FR", "+33612345305"),
        ("0033 1 40 00 00 01", "FR", "+33140000001"),
        ("(650) 253-0000", "US", "+16502530000"),
        ("+1 650 253 0000", "FR", "+16502530000"),
        ("020 7946 0018", "GB", "+442079460018"),
    ],
)
def test_numbers_are_normalised_to_e164(raw: str, region: str, e164: str) -> None:
    assert normalise_phone(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("12", "too short"),
        ("+33 6 12 34 53 05 99 99", "too long"),
        ("call me", "contains letters"),
        ("+999 1234 5678", "unknown country code"),
        ("06 12 34", "too short"),
        ("+33 0 12 34 56 78", "not a valid number in FR"),
    ],
)
def test_invalid_numbers_say_why(raw: str, reason: str) -> None:
    with pytest.raises(InvalidPhone) as err:
        normalise_phone(raw, "FR")
    assert err.value.reason == reason
    assert reason in str(err.value) and repr(raw) in str(err.value)


@pytest.mark.parametrize(
    ("ani", "e164"),
    [
        ("0612345305", "+33612345305"),
        ("33612345305", "+33612345305"),
        ("16502530000", "+16502530000"),
        ("anonymous", None),
        ("", None),
        (None, None),
        ("1001", None),
    ],
)
def test_caller_numbers_in_trunk_shapes(ani: str | None, e164: str | None) -> None:
    assert caller_number_e164(ani, "FR") == e164


# --- tiers --------------------------------------------------------------------------------------

RULES = (Tier(1000.0, 1), Tier(10_000.0, 2), Tier(100_000.0, 3))


@pytest.mark.parametrize(
    ("revenue", "tier"),
    [(None, 0), (0.0, 0), (999.99, 0), (1000.0, 1), (9999.0, 1), (10_000.0, 2), (1e9, 3)],
)
def test_tier_from_revenue(revenue: float | None, tier: int) -> None:
    assert derive_tier(RULES, revenue) == tier
    assert derive_tier((), revenue) == 0


def _tenant_file(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "tenants").mkdir()
    path = tmp_path / "tenants" / "acme.yaml"
    path.write_text(EXAMPLE + extra)
    return path


def _with_region(region: str) -> str:
    """The example tenant file with `region: <region>` in its tenant section."""
    if re.search(r"^  region: .*$", EXAMPLE, flags=re.MULTILINE):
        return re.sub(r"^  region: .*$", f"  region: {region}", EXAMPLE, count=1, flags=re.M)
    return EXAMPLE.replace("  id: acme\n", f"  id: acme\n  region: {region}\n", 1)


def test_customer_tiers_and_region_from_the_tenant_file(tmp_path: Path) -> None:
    text = (
        "\ncustomer_tiers:\n  - {min_revenue: 1000, tier: 1}\n  - {min_revenue: 50000, tier: 3}\n"
    )
    _tenant_file(tmp_path, text)
    tenant = load_config(tmp_path).tenant("acme")
    scope = TenantScope.from_config(tenant)
    assert scope == TenantScope("acme", "FR", (Tier(1000.0, 1), Tier(50_000.0, 3)))
    (tmp_path / "tenants" / "acme.yaml").write_text(_with_region("BE"))
    assert load_config(tmp_path).tenant("acme").tenant.region == "BE"


@pytest.mark.parametrize(
    ("extra", "needle", "words"),
    [
        (
            "\ncustomer_tiers:\n  - {min_revenue: 1000, tier: 1}\n  - {min_revenue: -5, tier: 2}\n",
            "min_revenue: -5",
            "greater than or equal to 0",
        ),
        (
            "\ncustomer_tiers:\n  - {min_revenue: 1000, tier: 12}\n",
            "tier: 12",
            "less than or equal to 9",
        ),
        (
            "\ncustomer_tiers:\n  - {min_revenue: 1000, tier: 1}\n"
            "  - {min_revenue: 500, tier: 2}\n",
            "min_revenue: 500",
            "min_revenue must rise",
        ),
        (
            "\ncustomer_tiers:\n  - {min_revenue: 1000, tier: 2}\n"
            "  - {min_revenue: 5000, tier: 1}\n",
            "min_revenue: 5000",
            "cannot give a lower tier",
        ),
        (
            "\ncustomer_tiers:\n  - {min_revenue: 1000, level: 1}\n",
            "level: 1",
            "tier: Field required",
        ),
    ],
)
def test_bad_tier_rules_name_file_and_line(
    tmp_path: Path, extra: str, needle: str, words: str
) -> None:
    path = _tenant_file(tmp_path, extra)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    text = path.read_text()
    assert err.value.path == str(path)
    assert err.value.line == next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)
    assert words in err.value.reason


def test_an_unknown_region_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "tenants").mkdir()
    text = _with_region("XX")
    (tmp_path / "tenants" / "acme.yaml").write_text(text)
    with pytest.raises(ConfigError, match="unknown phone region 'XX'") as err:
        load_config(tmp_path)
    assert err.value.line == text.splitlines().index("  region: XX") + 1


# --- mapping ------------------------------------------------------------------------------------


def test_obvious_headers_map_themselves_and_the_rest_become_fields() -> None:
    headers = ["Customer ID", "Full Name", "Phone Number", "Mobile", "Account No", "Lang", "Plan"]
    assert build_mapping(headers, {}) == {
        "Customer ID": "id",
        "Full Name": "name",
        "Phone Number": "phone",
        "Mobile": "phone",
        "Account No": "account",
        "Lang": "language",
        "Plan": "fields.Plan",
    }


def test_map_overrides() -> None:
    mapping = build_mapping(
        ["Ref", "Nom", "Solde", "Junk"],
        parse_map_args(["Ref=id", "Solde=fields.balance", "Junk=-"]),
    )
    assert mapping == {"Ref": "id", "Nom": "name", "Solde": "fields.balance", "Junk": "-"}


@pytest.mark.parametrize(
    ("headers", "items", "words"),
    [
        (["id", "name"], ["Tel=phone"], "no column 'Tel'"),
        (["id", "name"], ["name=nickname"], "the field must be one of"),
        (["id", "name"], ["name=fields."], "the field must be one of"),
        (["id", "name", "full_name"], [], "all map to 'name'"),
    ],
)
def test_bad_mappings_are_refused(headers: list[str], items: list[str], words: str) -> None:
    with pytest.raises(ImportFileError, match=words):
        build_mapping(headers, parse_map_args(items))


@pytest.mark.parametrize("item", ["name", "=name", "name=", "  =  "])
def test_bad_map_arguments(item: str) -> None:
    with pytest.raises(ImportFileError, match="expected csv_column=field"):
        parse_map_args([item])


# --- rows ---------------------------------------------------------------------------------------


def _parse(text: str, overrides: dict[str, str] | None = None) -> tuple[list[Row], list[Rejected]]:
    _, rows, rejected = parse_csv(text.splitlines(keepends=True), FR, overrides or {})
    return rows, rejected


def test_the_example_file_reads_without_rejects() -> None:
    rows, rejected = _parse((ROOT / "config" / "customers.csv").read_text())
    assert rejected == []
    assert rows[1] == Row(
        line=3,
        id="C002",
        name="Paul Durand",
        account="4111111111111111",
        phones=("+33612340791", "+33140000001"),
        tier=1,
        language="en",
        fields={"balance": "87"},
    )


def test_rows_are_checked_one_by_one_with_their_line() -> None:
    text = (
        "name;phone;tier;revenue;language;timezone;id\n"
        "Ok;06 12 34 53 05 | 01 40 00 00 01;2;1 250,5;fr;Europe/Paris;\n"
        "Bad phone;06 12;;;;;\n"
        "Bad tier;0611111111;high;;;;\n"
        "Bad tier 2;0611111111;10;;;;\n"
        "Bad revenue;0611111111;;-3;;;\n"
        "Bad language;0611111111;;;French;;\n"
        "Bad id;0611111111;;;;;C 1\n"
        "\n"
        ";;;;;;\n"
        "Nobody;;;;;;\n"
        "Too many;0611111111;;;;;;extra\n"
    )
    rows, rejected = _parse(text)
    assert [(r.line, r.reason) for r in rejected] == [
        (3, "phone: invalid phone number '06 12': too short"),
        (4, "tier: tier 'high' is not a whole number 0..9"),
        (5, "tier: tier '10' is not a whole number 0..9"),
        (6, "revenue: revenue '-3' must be a number >= 0"),
        (7, "language: language 'French': expected e.g. 'fr' or 'en_GB'"),
        (8, "id: 'C 1' is not a usable customer id"),
        (11, "nothing identifies the customer: no id, account or phone number"),
        (12, "8 cells for 7 columns (a stray quote?)"),
    ]
    assert len(rows) == 1
    ok = rows[0]
    assert ok.phones == ("+33612345305", "+33140000001")
    assert (ok.tier, ok.language, ok.timezone, ok.id) == (2, "fr", "Europe/Paris", None)


@pytest.mark.parametrize(
    ("cell", "revenue"),
    [
        ("12 500", 12_500.0),
        ("1250.5", 1250.5),
        ("1250,5", 1250.5),
        ("1.250,50", 1250.5),
        ("1,250.50", 1250.5),
        ("1,250,000", 1_250_000.0),
    ],
)
def test_revenue_in_local_shapes(cell: str, revenue: float) -> None:
    rows, rejected = _parse(f'name,phone,revenue\nA,0611111111,"{cell}"\n')
    assert rejected == [] and rows[0].revenue == revenue


def test_quoted_cells_and_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text('\ufeffid,name,phone\nC9,"Durand, Paul","0612345305,0140000001"\n', "utf-8")
    from cti.store.customer_import import read_csv

    mapping, rows, rejected = read_csv(path, FR)
    assert mapping["id"] == "id" and rejected == []
    assert (rows[0].name, rows[0].phones) == ("Durand, Paul", ("+33612345305", "+33140000001"))


def test_a_file_without_header_is_refused() -> None:
    with pytest.raises(ImportFileError, match="empty"):
        _parse("")
    with pytest.raises(ImportFileError, match="repeated"):
        _parse("name,name\n")


# --- the command --------------------------------------------------------------------------------


def test_cli_import_dry_run_then_for_real(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}"
    csv_file = ROOT / "config" / "customers.csv"
    base = ["--config-dir", str(ROOT / "config"), "customers", "import", str(csv_file)]
    assert main([*base, "--tenant", "acme", "--url", url, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run, nothing written: 3 row(s): would be created 3" in out
    assert main([*base, "--tenant", "acme", "--url", url]) == 0
    out = capsys.readouterr().out
    assert "column 'balance' -> fields.balance" in out
    assert out.strip().endswith("3 row(s): created 3, updated 0, unchanged 0, merged 0, rejected 0")
    assert main([*base, "--tenant", "acme", "--url", url]) == 0
    assert "created 0, updated 0, unchanged 3" in capsys.readouterr().out


def test_cli_reports_rejected_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}"
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("Nom,Tel\nAnne,0611111111\nBob,12\nAnne,0611111111;0699000003\n")
    args = ["--config-dir", str(ROOT / "config"), "customers", "import", str(csv_file)]
    assert main([*args, "--tenant", "acme", "--url", url, "--map", "Nom=name"]) == 1
    out = capsys.readouterr().out
    assert "line 3: rejected: Tel: invalid phone number '12': too short" in out
    assert "3 row(s): created 1, updated 0, unchanged 0, merged 1, rejected 1" in out


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cti.db'}"
    config = ["--config-dir", str(ROOT / "config")]
    csv_file = str(ROOT / "config" / "customers.csv")
    assert main([*config, "customers", "import", csv_file, "--tenant", "nope", "--url", url]) == 2
    assert "no tenant 'nope'" in capsys.readouterr().err
    missing = str(tmp_path / "missing.csv")
    assert main([*config, "customers", "import", missing, "--tenant", "acme", "--url", url]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad_map = ["--map", "Nope=name"]
    assert main([*config, "customers", "import", csv_file, "--tenant", "acme", *bad_map]) == 2
    assert "no column 'Nope'" in capsys.readouterr().err


def test_cli_db_upgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    assert "database upgraded from empty to" in capsys.readouterr().out
    assert main(["db", "upgrade", "--url", url]) == 0
    assert "database already at" in capsys.readouterr().out
    assert main(["db", "upgrade", "--url", "postgresql+asyncpg://x:y@127.0.0.1:1/none"]) == 2
    assert "cannot upgrade" in capsys.readouterr().err
