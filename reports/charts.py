"""Charts of historical KPI reports, drawn with matplotlib off screen (SVG or PNG bytes).

A report is a mapping of group name (queue, agent, interval, day, month, "total") to
the PRODUCT.md fields, as the reports give it. Counts (offered, answered, ...) are
drawn as bars side by side per group; rates (service level, abandon rate, occupancy,
as percentages on the left axis) and durations (ASA, handle time, in seconds on a
right-hand axis) as lines across the groups, gaps where a value is None. Groups keep
the report's order.

The output is deterministic: the same report gives the same bytes (a fixed SVG id
salt, no creation date or software stamp), so charts can be cached and compared.
No display is needed: figures are drawn on matplotlib's Agg canvas, never pyplot,
so nothing global (the pyplot figure registry or backend) is touched.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

Kind = Literal["auto", "bar", "line"]

COUNT_FIELDS: frozenset[str] = frozenset(
    {"offered", "answered", "abandoned", "short_abandoned", "transferred"}
)
RATE_FIELDS: frozenset[str] = frozenset(
    {
        "fcr_rate",
        "abandon_rate",
        "abandon_rate_excl_short",
        "occupancy",
        "occupancy_with_acw",
        "service_level",
        "service_level_with_abandons",
    }
)
SECONDS_FIELDS: frozenset[str] = frozenset(
    {
        "asa_seconds",
        "avg_queue_seconds",
        "avg_hold_seconds",
        "avg_talk_seconds",
        "avg_acw_seconds",
        "aht_seconds",
        "longest_wait_seconds",
    }
)
VOLUME: tuple[str, ...] = ("offered", "answered", "abandoned")
SERVICE: tuple[str, ...] = ("service_level", "asa_seconds")
MAX_LABELS = 40  # more groups than this: every n-th group is labelled

_RC: dict[Any, Any] = {
    "svg.hashsalt": "cti-reports",
    "svg.fonttype": "none",  # text stays text: searchable, and labels can be checked
    "font.size": 9,
}
_SIZE = (10.0, 4.8)
_DPI = 100


def kpi_chart(
    groups: Mapping[str, Mapping[str, Any]],
    fields: Sequence[str],
    *,
    title: str,
    fmt: str = "svg",
    kind: Kind = "auto",
) -> bytes:
    """One chart of `fields` across the groups, as SVG or PNG bytes.

    kind "bar" draws grouped bars (for counts), "line" draws lines (rates on a percent
    axis, durations on a seconds axis); "auto" draws bars when every field is a count
    and lines otherwise.
    """
    if not fields:
        raise ValueError("no fields to chart")
    unknown = [f for f in fields if f not in COUNT_FIELDS | RATE_FIELDS | SECONDS_FIELDS]
    if unknown:
        raise ValueError(f"cannot chart {unknown}: not KPI fields")
    if fmt not in ("svg", "png"):
        raise ValueError(f"format {fmt!r}: use 'svg' or 'png'")
    if kind == "auto":
        kind = "bar" if all(f in COUNT_FIELDS for f in fields) else "line"
    labels = [str(name) for name in groups]
    with rc_context(_RC):
        figure = Figure(figsize=_SIZE, dpi=_DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        axes.set_title(title)
        if kind == "bar":
            _bars(axes, groups, fields)
        else:
            _lines(axes, groups, fields)
        _label_groups(axes, labels)
        if not labels:
            axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center")
        out = io.BytesIO()
        metadata: dict[str, Any] = {"Date": None} if fmt == "svg" else {"Software": None}
        figure.savefig(out, format=fmt, metadata=metadata)
    return out.getvalue()


def volume_chart(groups: Mapping[str, Mapping[str, Any]], *, title: str, fmt: str = "svg") -> bytes:
    """Offered, answered and abandoned calls as bars per group."""
    return kpi_chart(groups, VOLUME, title=title, fmt=fmt, kind="bar")


def service_chart(
    groups: Mapping[str, Mapping[str, Any]], *, title: str, fmt: str = "svg"
) -> bytes:
    """Service level (percent) and ASA (seconds) as lines across the groups (intervals)."""
    return kpi_chart(groups, SERVICE, title=title, fmt=fmt, kind="line")


def _value(row: Mapping[str, Any], field: str) -> float:
    value = row.get(field)
    return math.nan if value is None else float(value)


def _bars(axes: Axes, groups: Mapping[str, Mapping[str, Any]], fields: Sequence[str]) -> None:
    width = 0.8 / len(fields)
    for i, field in enumerate(fields):
        heights = [0.0 if math.isnan(v) else v for v in (_value(r, field) for r in groups.values())]
        offsets = [x - 0.4 + width * (i + 0.5) for x in range(len(groups))]
        axes.bar(offsets, heights, width=width, label=field)
    axes.set_ylabel("calls")
    axes.legend(loc="best")


def _lines(axes: Axes, groups: Mapping[str, Mapping[str, Any]], fields: Sequence[str]) -> None:
    x = list(range(len(groups)))
    left = [f for f in fields if f not in SECONDS_FIELDS]
    right = [f for f in fields if f in SECONDS_FIELDS]
    seconds_axes: Axes = axes.twinx() if left and right else axes
    handles = []
    for field in left:
        scale = 100.0 if field in RATE_FIELDS else 1.0
        values = [_value(r, field) * scale for r in groups.values()]
        handles += axes.plot(x, values, marker="o", label=field)
    if left:
        is_rate = all(f in RATE_FIELDS for f in left)
        axes.set_ylabel("percent" if is_rate else "calls")
        if is_rate:
            axes.set_ylim(0, 105)
    colours = iter(f"C{i}" for i in range(len(left), len(fields)))
    for field in right:
        values = [_value(r, field) for r in groups.values()]
        handles += seconds_axes.plot(
            x, values, marker="s", linestyle="--", color=next(colours), label=field
        )
    if right:
        seconds_axes.set_ylabel("seconds")
        seconds_axes.set_ylim(bottom=0)
    axes.legend(handles=handles, loc="best")


def _label_groups(axes: Axes, labels: list[str]) -> None:
    step = max(1, math.ceil(len(labels) / MAX_LABELS))
    ticks = list(range(0, len(labels), step))
    axes.set_xticks(ticks, [labels[i] for i in ticks])
    if len(labels) > 6 or any(len(label) > 10 for label in labels):
        for tick in axes.get_xticklabels():
            tick.set_rotation(45)
            tick.set_horizontalalignment("right")
    if labels:
        axes.set_xlim(-0.6, len(labels) - 0.4)
