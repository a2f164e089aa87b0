"""Rendering report.html for a study's run folder: header, metrics table, study sections, config
and a searchable per-sample browser, in one file (training runs: ``medtrust.train.report``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from medtrust.report.findings import findings, glossary
from medtrust.report.format import Section, json_for_script, metric_rows
from medtrust.runs.folder import RunFolder

TEMPLATES = Path(__file__).parent / "templates"
MAX_THUMBNAILS = 400


def page(**values: Any) -> str:
    """The report template rendered with ``values`` (title, run_name, results, config_yaml, metrics,
    sections, columns, rows, records, thumbs, images: one list of image paths per record, versions)."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    values["sections"] = [Section(s.title, Markup(s.html)) for s in values.get("sections", [])]
    values.setdefault("images", [[] for _ in values.get("records", [])])
    for key in ("rows", "records", "thumbs", "images"):
        values[f"{key}_json"] = Markup(json_for_script(values.pop(key)))
    return env.get_template("report.html.j2").render(**values)


def render_report(run: RunFolder | str | Path) -> Path:
    """Write ``report.html`` into a study's run folder from its config, samples and results."""
    from medtrust.studies import get_study

    run = run if isinstance(run, RunFolder) else RunFolder.open(run)
    config = run.config
    results = run.results
    study = get_study(config.get("study", "generate"))
    records = run.records(study.record_type)
    rows = [study.browse_row(r) for r in records]
    dumped = [r.model_dump(mode="json") for r in records]
    html = page(title=f"medtrust {study.title or study.name}: {config.get('model')} on {config.get('dataset')}",
                run_name=run.path.name, results=results,
                config_yaml=yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                metrics=metric_rows(results.get("metrics", {})),
                findings=findings(study.name, results.get("metrics") or {}), glossary=glossary(study.name),
                sections=study.report_sections(run, records, results),
                columns=list(rows[0].keys()) if rows else ["id"], rows=rows, records=dumped,
                thumbs=record_thumbnails(dumped, run.path), images=[record_images(d) for d in dumped],
                versions=results.get("versions", {}))
    run.report_path.write_text(html, encoding="utf-8")
    return run.report_path


def record_images(record: dict) -> list[str]:
    """The image paths a record's prompt sent (paths relative to the run folder or absolute)."""
    out = []
    for m in record.get("prompt") or []:
        content = m.get("content")
        if isinstance(content, list):
            out += [str(p["image"]) for p in content if p.get("type") == "image" and isinstance(p.get("image"), str)]
    return out or list((record.get("sample") or {}).get("images") or [])


def record_thumbnails(records: list[dict], base: Path) -> dict[str, str]:
    """Thumbnails (data URLs) of the images records sent, keyed by the path as written. At most
    MAX_THUMBNAILS."""
    from medtrust.report.plots import thumbnail_data_url
    out: dict[str, str] = {}
    for r in records:
        for p in record_images(r):
            if p in out or len(out) >= MAX_THUMBNAILS:
                continue
            path = Path(p) if Path(p).is_absolute() else base / p
            url = thumbnail_data_url(path)
            if url:
                out[p] = url
    return out
