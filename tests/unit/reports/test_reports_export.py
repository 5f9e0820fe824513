"""The report renderings and `cti report` over a queue_log file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cti.cli import main
from reports.export import render

LOG = """1700000000|c1|sales|NONE|ENTERQUEUE||+33611|1
1700000010|c1|sales|Alice|CONNECT|10|b1|1
1700000070|c1|sales|Alice|COMPLETEAGENT|10|60|1
1700000100|c2|sales|NONE|ENTERQUEUE||+33622|1
1700000130|c2|sales|NONE|ABANDON|1|1|30
1700000200|c3|support|NONE|ENTERQUEUE||+33633|1
1700000203|c3|support|NONE|ABANDON|1|1|3
not a queue_log line
1700000300|c4|support|NONE|FROBNICATE|x
"""


@pytest.fixture
def queue_log(tmp_path: Path) -> Path:
    path = tmp_path / "queue_log"
    path.write_text(LOG)
    return path


def test_json_has_the_product_field_names(
    queue_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--queue-log", str(queue_log), "--format", "json"]) == 0
    captured = capsys.readouterr()
    body = json.loads(captured.out)
    assert set(body) == {"queues", "total"}
    assert "malformed lines: 1" in captured.err and "FROBNICATE" in captured.err  # reported
    sales, total = body["queues"]["sales"], body["total"]
    assert (sales["offered"], sales["answered"], sales["abandoned"]) == (2, 1, 1)
    assert sales["asa_seconds"] == 10 and sales["service_level"] == 1.0
    assert total["short_abandoned"] == 1 and total["abandon_rate"] == pytest.approx(2 / 3)
    assert total["abandon_rate_excl_short"] == pytest.approx(1 / 2)


def test_csv_and_table_carry_the_same_numbers(
    queue_log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["report", "--queue-log", str(queue_log), "--format", "csv"])
    captured = capsys.readouterr()
    rows = {r["queue"]: r for r in csv.DictReader(io.StringIO(captured.out))}
    assert rows["total"]["offered"] == "3" and rows["sales"]["asa_seconds"] == "10"
    assert "malformed lines: 1" in captured.err and "FROBNICATE" in captured.err
    main(["report", "--queue-log", str(queue_log), "--queue", "support"])
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["support", "total"]
    assert next(line for line in table if line.startswith("offered")).split() == [
        "offered",
        "1",
        "1",
    ]


def test_date_filters(queue_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(
        [
            "report",
            "--queue-log",
            str(queue_log),
            "--format",
            "json",
            "--from",
            "2023-11-14T22:15:00",
            "--to",
            "1700000150",
        ]
    )
    assert json.loads(capsys.readouterr().out)["total"]["offered"] == 1


def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--queue-log", str(tmp_path / "nope")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_render_handles_missing_values() -> None:
    out = render(
        {"q": {"offered": 0, "asa_seconds": None}}, {"offered": 0, "asa_seconds": None}, "table"
    )
    assert "asa_seconds" in out and " -" in out
