"""The staffing plan (Erlang C per interval) and the `cti staffing` command."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from cti.cli import main
from cti.staffing_cli import read_forecast
from reports import erlang
from reports.staffing import FIELDS, staffing_plan


def plan(calls: list[float], **options: object) -> list[dict[str, Any]]:
    settings: dict[str, object] = {
        "target_sl": 0.8,
        "threshold_seconds": 20.0,
        "max_occupancy": None,
        **options,
    }
    forecast = [(f"i{n}", c) for n, c in enumerate(calls)]
    return staffing_plan(forecast, 180.0, 30, **settings)  # type: ignore[arg-type]


def test_textbook_case_needs_14_agents() -> None:
    # 100 calls in 30 min at 180 s AHT = 10 Erlangs; 80% in 20 s needs 14 agents
    (row,) = plan([100])
    assert row["interval"] == "i0"
    assert row["calls"] == 100
    assert row["traffic_erlangs"] == pytest.approx(10.0)
    assert row["agents_needed"] == 14
    assert row["service_level"] == pytest.approx(0.8884, abs=1e-4)
    assert row["probability_of_wait"] == pytest.approx(0.1741, abs=1e-4)
    assert row["asa_seconds"] == pytest.approx(7.84, abs=0.01)
    assert row["occupancy"] == pytest.approx(10 / 14)
    # 13 agents would miss the target: 14 is the fewest
    assert erlang.service_level(200, 180, 13, 20) < 0.8


def test_occupancy_cap_raises_the_count() -> None:
    (free,) = plan([100])
    (capped,) = plan([100], max_occupancy=0.65)
    assert free["agents_needed"] == 14
    assert capped["agents_needed"] == math.ceil(10 / 0.65) == 16
    assert capped["occupancy"] <= 0.65
    assert capped["service_level"] > free["service_level"]


def test_loose_cap_changes_nothing() -> None:
    assert plan([100], max_occupancy=0.9)[0]["agents_needed"] == 14


def test_rows_follow_the_forecast_and_interval_length() -> None:
    rows = plan([100, 200, 0, 50])
    assert [r["interval"] for r in rows] == ["i0", "i1", "i2", "i3"]
    assert [r["agents_needed"] for r in rows] == [
        erlang.agents_needed(c * 2, 180, 0.8, 20) for c in (100, 200, 0, 50)
    ]
    assert rows[1]["agents_needed"] > rows[0]["agents_needed"] > rows[3]["agents_needed"]
    quiet = rows[2]
    assert quiet["agents_needed"] == 0
    assert quiet["service_level"] is None and quiet["occupancy"] is None
    # the same 100 calls spread over 60 minutes are half the traffic
    hourly = staffing_plan(
        [("h", 100)], 180.0, 60, target_sl=0.8, threshold_seconds=20, max_occupancy=None
    )
    assert hourly[0]["traffic_erlangs"] == pytest.approx(5.0)
    assert hourly[0]["agents_needed"] < rows[0]["agents_needed"]
    assert list(rows[0]) == list(FIELDS)


@pytest.mark.parametrize(
    ("calls", "options"),
    [
        ([-1], {}),
        ([math.nan], {}),
        ([10], {"target_sl": 1.0}),
        ([10], {"max_occupancy": 1.5}),
        ([10], {"threshold_seconds": -1.0}),
    ],
)
def test_bad_input_is_refused(calls: list[float], options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        plan(calls, **options)


def test_bad_interval_is_refused() -> None:
    with pytest.raises(ValueError):
        staffing_plan([("a", 1)], 180, 0, target_sl=0.8, threshold_seconds=20, max_occupancy=None)


BASE = ["staffing", "--aht", "180", "--interval", "30", "--target-sl", "0.8", "--threshold", "20"]


def test_cli_csv(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main([*BASE, "--calls-per-interval", "100,120", "--start", "08:00", "--format", "csv"]) == 0
    )
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["interval"] for r in rows] == ["08:00", "08:30"]
    assert [int(r["agents_needed"]) for r in rows] == [14, 16]
    assert float(rows[0]["service_level"]) == pytest.approx(0.8884, abs=1e-4)


def test_cli_json_with_cap(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*BASE, "--calls-per-interval", "100", "--max-occupancy", "0.65", "--format", "json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["max_occupancy"] == 0.65 and out["aht_seconds"] == 180
    assert [r["agents_needed"] for r in out["intervals"]] == [16]
    assert set(out["intervals"][0]) == set(FIELDS)


def test_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--calls-per-interval", "100,120,0", "--start", "23:30"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == list(FIELDS)
    first, second, third = (line.split() for line in lines[1:4])
    assert first[0] == "23:30" and first[3] == "14" and first[4] == "88.8%"
    assert second[:2] == ["+1d", "00:00"] and second[4] == "16"
    assert third[-1] == "-"
    assert lines[-1] == "peak: 16 agents at +1d 00:00"


def test_cli_forecast_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forecast = tmp_path / "forecast.csv"
    forecast.write_text("interval,calls\n09:00,100\n\n09:30,200\n", encoding="utf-8")
    assert main([*BASE, "--forecast", str(forecast), "--format", "json"]) == 0
    intervals = json.loads(capsys.readouterr().out)["intervals"]
    assert [(r["interval"], r["calls"]) for r in intervals] == [("09:00", 100), ("09:30", 200)]
    assert intervals[0]["agents_needed"] == 14


def test_forecast_of_bare_volumes_is_labelled_from_start() -> None:
    assert read_forecast("10\n20\n", 15, "07:45") == [("07:45", 10.0), ("08:00", 20.0)]
    with pytest.raises(ValueError, match="row 2"):
        read_forecast("a,10\nb,lots\n", 15)
    with pytest.raises(ValueError, match="no intervals"):
        read_forecast("interval,calls\n", 15)


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--forecast", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main([*BASE, "--calls-per-interval", "100", "--max-occupancy", "2"]) == 2
    assert "max_occupancy" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*BASE, "--calls-per-interval", "ten"])
    with pytest.raises(SystemExit):  # a forecast is required
        main(BASE)
