"""The configuration loader: the example loads; every bad file names file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cti.config import PlatformConfig, load_config
from cti.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config" / "tenants" / "acme.yaml").read_text()


def write_tenant(tmp_path: Path, text: str, name: str = "acme.yaml") -> Path:
    (tmp_path / "tenants").mkdir(exist_ok=True)
    path = tmp_path / "tenants" / name
    path.write_text(text)
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_example_has_the_documented_shape(example_config: PlatformConfig) -> None:
    (tenant,) = example_config.tenants
    assert [q.id for q in tenant.queues] == ["sales", "support"]
    assert len(tenant.skills) == 3 and len(tenant.agents) == 4
    assert tenant.ivr is not None and tenant.ivr.start == "welcome"
    assert example_config.tenant_for_number("5000") is tenant
    assert example_config.tenant_for_number("9999") is None


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = EXAMPLE.replace("policy: skills_based", "policy: [skills_based")
    write_tenant(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert err.value.path.endswith("acme.yaml")
    assert err.value.line is not None and err.value.line >= line_of(text, "[skills_based")
    assert "invalid YAML" in str(err.value)


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        (
            "ring_timeout_seconds: 20",
            "ring_timeout_seconds: 2",
            "ring_timeout_seconds: 2",
            "greater than or equal to 5",
        ),
        ("policy: skills_based", "policy: cleverest", "policy: cleverest", "value_aware"),
        ("wrapup_max_seconds: 90", "wrapup_max_secs: 90", "wrapup_max_secs", "Extra inputs"),
        ("skills: {support: 5}", "skills: {support: 9}", "skills: {support: 9}", "less than or"),
        ("skills: {support: 5}", "skills: {plumbing: 5}", "plumbing", "unknown skill 'plumbing'"),
        ("queues: [support]}", "queues: [billing]}", "billing", "unknown queue 'billing'"),
        ("queue: support", "queue: billing", "queue: billing", "unknown queue 'billing'"),
        ("skills: {french: 3}", "skills: {klingon: 3}", "klingon", "unknown skill 'klingon'"),
        ("skills: {french: 3}", "skills: {french: 7}", "french: 7", "less than or equal to 5"),
        ('"2": to_support,', '"2": to_nowhere,', "to_nowhere", "unknown node 'to_nowhere'"),
        ("checksum: luhn", "checksum: crc", "checksum: crc", "'none' or 'luhn'"),
        ("min_digits: 8", "min_digits: 20", "kind: collect", "min_digits is larger"),
        ('extension: "1003"', 'extension: "1001"', "id: carol", "duplicate extension"),
        (
            "claim-or-support: support",
            "claim-or-support: claims",
            "claim-or-support",
            "unknown queue 'claims'",
        ),
        ("hours: hours  #", "hours: opening  #", "hours: opening", "no IVR hours node 'opening'"),
        (
            "per_number_per_day: 3",
            "per_number_per_day: 0",
            "per_number_per_day: 0",
            "greater than or equal to 1",
        ),
    ],
)
def test_invalid_values_name_file_line_and_reason(
    tmp_path: Path, old: str, new: str, needle: str, words: str
) -> None:
    assert old in EXAMPLE
    text = EXAMPLE.replace(old, new, 1)
    write_tenant(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert words in err.value.reason
    assert err.value.line == line_of(text, needle), str(err.value)
    assert str(err.value).startswith(f"{tmp_path / 'tenants' / 'acme.yaml'}:{err.value.line}: ")


def test_unreachable_ivr_node_is_refused(tmp_path: Path) -> None:
    text = EXAMPLE + "    orphan:\n      kind: hangup\n"
    write_tenant(tmp_path, text)
    with pytest.raises(ConfigError, match="'orphan' is unreachable") as err:
        load_config(tmp_path)
    assert err.value.line == line_of(text, "orphan:") + 1


def test_a_loop_without_a_way_out_is_refused(tmp_path: Path) -> None:
    text = EXAMPLE.replace('"9": call_me_back}', '"9": call_me_back, "7": spin}') + (
        "    spin:\n      kind: play\n      prompt: hello\n      next: spin\n"
    )
    write_tenant(tmp_path, text)
    with pytest.raises(ConfigError, match="loops without a way out"):
        load_config(tmp_path)


def test_missing_section_is_reported(tmp_path: Path) -> None:
    write_tenant(tmp_path, "tenant: {id: x, name: X}\n")
    with pytest.raises(ConfigError, match="queues: Field required"):
        load_config(tmp_path)


def test_not_a_mapping(tmp_path: Path) -> None:
    write_tenant(tmp_path, "- just\n- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping") as err:
        load_config(tmp_path)
    assert err.value.line == 1


def test_no_tenant_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no tenant files"):
        load_config(tmp_path)


def test_numbers_and_tenant_ids_are_unique_across_files(tmp_path: Path) -> None:
    write_tenant(tmp_path, EXAMPLE)
    other = EXAMPLE.replace("id: acme", "id: globex").replace('"1001"', '"2001"')
    other = (
        other.replace('"1002"', '"2002"').replace('"1003"', '"2003"').replace('"1004"', '"2004"')
    )
    write_tenant(tmp_path, other, "globex.yaml")
    with pytest.raises(ConfigError, match="number 5000 already belongs to 'acme'"):
        load_config(tmp_path)
    write_tenant(tmp_path, other.replace('["5000", "5001"]', '["6000"]'), "globex.yaml")
    assert [t.tenant.id for t in load_config(tmp_path).tenants] == ["acme", "globex"]
    write_tenant(tmp_path, EXAMPLE.replace('["5000", "5001"]', '["7000"]'), "globex.yaml")
    with pytest.raises(ConfigError, match="tenant id 'acme' is also used"):
        load_config(tmp_path)


def test_shipped_config_dir_loads(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    assert load_config(tmp_path / "config").tenants[0].tenant.name == "ACME Insurance"
