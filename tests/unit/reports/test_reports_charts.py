"""Charts of KPI reports: valid SVG with the group labels, PNG, deterministic bytes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from reports.charts import kpi_chart, service_chart, volume_chart

SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def report() -> dict[str, dict[str, Any]]:
    return {
        "sales": {
            "offered": 120,
            "answered": 100,
            "abandoned": 20,
            "service_level": 0.81,
            "asa_seconds": 14.5,
            "abandon_rate": 20 / 120,
        },
        "support": {
            "offered": 80,
            "answered": 78,
            "abandoned": 2,
            "service_level": 0.95,
            "asa_seconds": 6.0,
            "abandon_rate": 2 / 80,
        },
        "billing": {
            "offered": 0,
            "answered": 0,
            "abandoned": 0,
            "service_level": None,
            "asa_seconds": None,
            "abandon_rate": None,
        },
    }


def texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def test_volume_chart_is_svg_with_bars_and_labels() -> None:
    svg = volume_chart(report(), title="Calls by queue")
    words = texts(svg)
    for label in ("sales", "support", "billing", "Calls by queue"):
        assert label in words
    for field in ("offered", "answered", "abandoned"):
        assert field in words  # the legend
    root = ET.fromstring(svg)
    bars = [g for g in root.iter(f"{SVG}g") if g.get("id", "").startswith("patch_")]
    # 3 fields x 3 groups of bars, plus the figure, the axes and the legend frames
    assert len(bars) >= 9


def test_interval_service_chart() -> None:
    intervals: dict[str, dict[str, Any]] = {
        f"{h:02d}:{m:02d}": {"service_level": 0.5 + h / 100, "asa_seconds": float(h + m)}
        for h in range(8, 12)
        for m in (0, 15, 30, 45)
    }
    intervals["10:15"]["service_level"] = None  # a gap, not a zero
    words = texts(service_chart(intervals, title="Service level, 15 min"))
    for label in intervals:
        assert label in words
    assert "percent" in words and "seconds" in words
    assert "service_level" in words and "asa_seconds" in words


def test_many_groups_are_thinned_but_chart_stays_valid() -> None:
    days = {f"2025-01-{d:02d}": {"offered": d} for d in range(1, 32)}
    days |= {f"2025-02-{d:02d}": {"offered": d} for d in range(1, 29)}
    words = texts(kpi_chart(days, ["offered"], title="Daily"))
    shown = [d for d in days if d in words]
    assert "2025-01-01" in shown
    assert 20 <= len(shown) <= 40


def test_png_magic() -> None:
    png = volume_chart(report(), title="Calls", fmt="png")
    assert png.startswith(PNG_MAGIC)
    assert png == volume_chart(report(), title="Calls", fmt="png")


def test_svg_is_deterministic_and_undated() -> None:
    first = service_chart(report(), title="SL")
    assert first == service_chart(report(), title="SL")
    assert b"<dc:date>" not in first
    assert first != service_chart(report(), title="SL", fmt="png")


def test_auto_kind_and_empty_report() -> None:
    lines = kpi_chart(report(), ["abandon_rate"], title="Rates")
    bars = kpi_chart(report(), ["abandoned"], title="Rates")
    assert lines != bars
    assert "percent" in texts(lines) and "calls" in texts(bars)
    assert "no data" in texts(kpi_chart({}, ["offered"], title="Nothing"))


@pytest.mark.parametrize(
    ("fields", "fmt"),
    [([], "svg"), (["colour"], "svg"), (["offered"], "pdf")],
)
def test_refuses_what_it_cannot_draw(fields: list[str], fmt: Any) -> None:
    with pytest.raises(ValueError):
        kpi_chart(report(), fields, title="x", fmt=fmt)
