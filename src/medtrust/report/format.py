"""Formatting helpers every report section shares: numbers, 'value [90% CI]' cells, tables, and
the ``Section`` a study adds to its report."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Section:
    """A titled block of HTML a study adds to its report."""

    title: str
    html: str


def fmt(x: Any) -> str:
    """A number with 4 significant digits (large numbers whole), "n/a" for None."""
    if x is None:
        return "n/a"
    if isinstance(x, float):
        return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"
    return str(x)


def fmt_interval(m: dict | None, decimals: int | None = None) -> str:
    """A stored metric (``medtrust.stats.metric``) as "value [low, high]", numbers with ``decimals``
    places (default: :func:`fmt`'s 4 significant digits); "n/a (its note)" when it has no value."""
    if not m or m.get("value") is None:
        note = (m or {}).get("note")
        return f"n/a ({note})" if note else "n/a"
    num = fmt if decimals is None else (lambda x: f"{x:.{decimals}f}")
    ci = m.get("ci")
    count = f" ({m['count']}/{m['n']})" if m.get("count") is not None and m.get("n") else ""
    return num(m["value"]) + count + (f" [{num(ci[0])}, {num(ci[1])}]" if ci else "")


def metric_rows(metrics: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Flatten nested metrics into table rows: name, value, interval, n, note."""
    rows = []
    for key, val in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(val, dict) and "value" in val:
            ci = val.get("ci")
            rows.append({"name": name, "value": fmt(val.get("value")),
                         "ci": f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "", "n": val.get("n", ""),
                         "note": val.get("note", "")})
        elif isinstance(val, dict):
            rows.extend(metric_rows(val, prefix=f"{name} / "))
        else:
            rows.append({"name": name, "value": fmt(val), "ci": "", "n": "", "note": ""})
    return rows


def table_html(header: list[str], rows: list[list[Any]]) -> str:
    """A small HTML table (cells escaped)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(c) if not isinstance(c, str) else c)}</td>" for c in r)
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def json_for_script(obj: Any) -> str:
    """JSON that is safe inside a ``<script type="application/json">`` element."""
    # "<!--<script>" or "</script>" in any string would change how the element ends: escape every
    # "<" (and ">", "&", the JavaScript line separators) as JSON escapes, which JSON.parse reads back
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
