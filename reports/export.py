"""KPI reports as text: a table for people, CSV for spreadsheets, JSON for programs.

The same field names everywhere (PRODUCT.md): a report is a mapping of row
name (a queue, an agent, an interval, "total") to the fields `summarise` gives.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any, Literal

Format = Literal["table", "csv", "json"]
Rows = Mapping[str, Mapping[str, Any]]


def render(queues: Rows, total: Mapping[str, Any], fmt: Format, *, label: str = "queue") -> str:
    """The rows then "total"; `label` names the rows' column in CSV (queue, agent, ...)."""
    if fmt == "json":
        return json.dumps({"queues": queues, "total": total}, sort_keys=True)
    rows = {name: _flat(row) for name, row in {**queues, "total": total}.items()}
    fields = list(rows["total"]) or sorted({f for row in rows.values() for f in row})
    if fmt == "table":  # the bands stay in CSV and JSON: a table this wide helps nobody
        fields = [f for f in fields if "." not in f]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([label, *fields])
        for name, row in rows.items():
            writer.writerow([name, *(_csv_value(row.get(f)) for f in fields)])
        return out.getvalue()
    return _table(rows, fields)


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    """Nested figures (the SL bands) as `service_level_bands.20` columns."""
    flat: dict[str, Any] = {}
    for name, value in row.items():
        if isinstance(value, Mapping):
            flat.update({f"{name}.{key}": inner for key, inner in value.items()})
        else:
            flat[name] = value
    return flat


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _table(rows: Rows, fields: list[str]) -> str:
    """Fields down the side, one column per row name: reads well however many fields."""
    names = list(rows)
    cells = [[_cell(rows[name].get(f)) for name in names] for f in fields]
    width0 = max(len(f) for f in fields) if fields else 5
    widths = [max([len(n), *(len(c[i]) for c in cells)]) for i, n in enumerate(names)]
    lines = [
        "".ljust(width0) + "  " + "  ".join(n.rjust(w) for n, w in zip(names, widths, strict=True))
    ]
    for f, row in zip(fields, cells, strict=True):
        lines.append(
            f.ljust(width0) + "  " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True))
        )
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 1000 else f"{value:.0f}"
    return str(value)
