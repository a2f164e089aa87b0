"""Rendering report.html for a run folder: header, metrics table, study sections, config and a
searchable per-sample browser, in one file."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from medtrust.runs.folder import RunFolder

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Section:
    """A titled block of HTML a study adds to its report."""

    title: str
    html: str


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


def fmt(x: Any) -> str:
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
    return num(m["value"]) + (f" [{num(ci[0])}, {num(ci[1])}]" if ci else "")


def _json_for_script(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str).replace("</", "<\\/")


def render_report(run: RunFolder | str | Path) -> Path:
    """Write ``report.html`` into the run folder from its config, samples and results."""
    from medtrust.runs.execute import get_study

    run = run if isinstance(run, RunFolder) else RunFolder.open(run)
    config = run.config
    results = run.results
    records = run.samples()
    study = get_study(config.get("study", "generate"))
    sections = study.report_sections(run, records, results)
    rows = [study.browse_row(r) for r in records]
    columns = list(rows[0].keys()) if rows else ["id"]
    thumbs = record_thumbnails(records, run.path)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    page = env.get_template("report.html.j2").render(
        title=f"medtrust {study.title or study.name}: {config.get('model')} on {config.get('dataset')}",
        run_name=run.path.name, results=results,
        config_yaml=yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
        metrics=metric_rows(results.get("metrics", {})),
        sections=[Section(s.title, Markup(s.html)) for s in sections],
        columns=columns, rows_json=Markup(_json_for_script(rows)),
        records_json=Markup(_json_for_script(records)), thumbs_json=Markup(_json_for_script(thumbs)),
        versions=results.get("versions", {}))
    run.report_path.write_text(page, encoding="utf-8")
    return run.report_path


MAX_THUMBNAILS = 400


def record_thumbnails(records: list[dict], base: Path) -> dict[str, str]:
    """Thumbnails (data URLs) of the image files records name in their "images" list, keyed by
    the path as written; paths may be relative to the run folder. At most MAX_THUMBNAILS."""
    from medtrust.report.plots import thumbnail_data_url
    out: dict[str, str] = {}
    for r in records:
        for p in r.get("images") or []:
            if p in out or len(out) >= MAX_THUMBNAILS:
                continue
            path = Path(p) if Path(p).is_absolute() else base / p
            url = thumbnail_data_url(path)
            if url:
                out[p] = url
    return out


def table_html(header: list[str], rows: list[list[Any]]) -> str:
    """A small HTML table (cells escaped)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(fmt(c) if not isinstance(c, str) else c)}</td>" for c in r)
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
