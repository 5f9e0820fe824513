"""`cti staffing`: agents needed per interval (Erlang C) from a volume forecast.

    cti staffing --calls-per-interval 100,120,90 --aht 180 --interval 30 \\
        --target-sl 0.8 --threshold 20 [--max-occupancy 0.85] [--start 08:00] \\
        [--format table|csv|json]
    cti staffing --forecast FILE.csv --aht 180 --interval 30 --target-sl 0.8 --threshold 20

A forecast file is CSV: `interval,calls` rows (a header line is allowed), or one
column of calls per line, labelled by time of day from --start.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from reports.staffing import FIELDS, staffing_plan


def add_arguments(subparsers: Any) -> None:
    """Add the `staffing` command to the `cti` parser's subparsers."""
    parser = subparsers.add_parser(
        "staffing", help="Erlang C staffing plan per interval from a volume forecast"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--calls-per-interval",
        type=_volumes,
        metavar="N,N,...",
        help="forecast calls offered in each interval, comma-separated",
    )
    source.add_argument(
        "--forecast", type=Path, metavar="FILE.csv", help="CSV of interval,calls (or calls)"
    )
    parser.add_argument("--aht", type=float, required=True, help="average handle time, seconds")
    parser.add_argument("--interval", type=int, default=30, help="interval length, minutes")
    parser.add_argument(
        "--target-sl", type=float, required=True, help="target service level, e.g. 0.8"
    )
    parser.add_argument(
        "--threshold", type=float, default=20.0, help="service-level threshold, seconds"
    )
    parser.add_argument("--max-occupancy", type=float, help="occupancy cap, e.g. 0.85")
    parser.add_argument(
        "--start", default="00:00", help="time of day of the first interval (HH:MM), for labels"
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    """Print the plan; 0 on success, 2 when the input cannot be used."""
    try:
        if args.forecast is not None:
            text = args.forecast.read_text(encoding="utf-8")
            forecast = read_forecast(text, args.interval, args.start)
        else:
            forecast = _label(args.calls_per_interval, args.interval, args.start)
        plan = staffing_plan(
            forecast,
            args.aht,
            args.interval,
            target_sl=args.target_sl,
            threshold_seconds=args.threshold,
            max_occupancy=args.max_occupancy,
        )
    except OSError as exc:
        print(f"cti staffing: cannot read {args.forecast}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"cti staffing: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render_plan(plan, args.format, parameters=_parameters(args)))
    return 0


def read_forecast(
    text: str, interval_minutes: int, start: str = "00:00"
) -> list[tuple[str, float]]:
    """(label, calls) pairs from CSV text: `label,calls` rows or a single column of calls.

    A first line whose calls are not a number is taken as a header; blank lines are skipped.
    """
    rows = [r for r in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in r)]
    if rows and not _is_number(rows[0][-1]):
        rows = rows[1:]
    if not rows:
        raise ValueError("the forecast has no intervals")
    labelled = [(r[0].strip(), r[1]) if len(r) >= 2 else (None, r[0]) for r in rows]
    default = [label for label, _ in _label([0.0] * len(rows), interval_minutes, start)]
    forecast = []
    for line, ((label, calls), fallback) in enumerate(zip(labelled, default, strict=True), 1):
        if not _is_number(calls):
            raise ValueError(f"forecast row {line}: calls {calls.strip()!r} is not a number")
        forecast.append((label or fallback, float(calls)))
    return forecast


def render_plan(
    plan: list[dict[str, Any]], fmt: str, *, parameters: dict[str, Any] | None = None
) -> str:
    """The plan as an aligned table, CSV (FIELDS as header) or JSON."""
    if fmt == "json":
        return json.dumps({**(parameters or {}), "intervals": plan}) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for row in plan:
            writer.writerow(["" if row[f] is None else _csv(row[f]) for f in FIELDS])
        return out.getvalue()
    cells = [[_cell(f, row[f]) for f in FIELDS] for row in plan]
    widths = [max([len(f), *(len(c[i]) for c in cells)]) for i, f in enumerate(FIELDS)]
    lines = ["  ".join(f.rjust(w) for f, w in zip(FIELDS, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    if plan:
        peak = max(plan, key=lambda r: int(r["agents_needed"]))
        lines.append(f"peak: {peak['agents_needed']} agents at {peak['interval']}")
    return "\n".join(lines) + "\n"


def _volumes(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from exc
    if not values:
        raise argparse.ArgumentTypeError("no interval volumes given")
    return values


def _label(volumes: list[float], interval_minutes: int, start: str) -> list[tuple[str, float]]:
    """Label each volume with its interval's start time of day, from `start` (HH:MM)."""
    if interval_minutes <= 0:
        raise ValueError(f"interval must be > 0 minutes, not {interval_minutes}")
    try:
        hours, minutes = (int(p) for p in start.split(":"))
    except ValueError as exc:
        raise ValueError(f"--start must be HH:MM, not {start!r}") from exc
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"--start must be HH:MM, not {start!r}")
    first = hours * 60 + minutes
    labels = []
    for i, calls in enumerate(volumes):
        at = first + i * interval_minutes
        day, minute = divmod(at, 24 * 60)
        label = f"{minute // 60:02d}:{minute % 60:02d}"
        labels.append((f"+{day}d {label}" if day else label, calls))
    return labels


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _cell(field: str, value: Any) -> str:
    if value is None:
        return "-"
    if field in ("service_level", "occupancy", "probability_of_wait"):
        return f"{value:.1%}"
    if isinstance(value, float):
        return f"{value:.1f}" if field != "calls" or not value.is_integer() else f"{value:.0f}"
    return str(value)


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "aht_seconds": args.aht,
        "interval_minutes": args.interval,
        "target_sl": args.target_sl,
        "threshold_seconds": args.threshold,
        "max_occupancy": args.max_occupancy,
    }
