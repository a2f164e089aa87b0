"""`medtrust demo`: every study that exists, on the embedded model and built-in data."""

from __future__ import annotations

from pathlib import Path

from medtrust.pipeline import execute


def run_demo(runs_dir: str | Path = "runs", limit: int | None = None, progress: bool = True) -> dict[str, Path]:
    """Run the demo of every study (generate first, then each study module's ``demo``);
    returns {name: report path}."""
    from medtrust.generate import GenerateConfig, GenerateStudy
    from medtrust.studies import cli_modules

    reports: dict[str, Path] = {}
    cfg = GenerateConfig(model="embedded", dataset="demo-qa", limit=limit, runs_dir=str(runs_dir),
                         max_tokens=64, temperature=0.0)
    reports["generate"] = execute(GenerateStudy(), cfg, progress=progress).report_path
    for module in cli_modules():
        if hasattr(module, "demo"):
            reports.update(module.demo(runs_dir, limit, progress))
    return reports


def summary(reports: dict[str, Path]) -> list[str]:
    """Plain-word lines per demo run: its findings (headline numbers with n and intervals, and the
    warnings), then the report's path."""
    import json

    from medtrust.report.findings import findings
    lines = []
    for name, report in reports.items():
        results = json.loads((report.parent / "results.json").read_text())
        lines.append(f"{name} ({results.get('model')} on {results.get('dataset')}, {results.get('n')} records):")
        for f in findings(results.get("study", ""), results.get("metrics") or {}):
            lines.append(("  ! " if f.warning else "  - ") + f.text)
    return lines


def write_index(runs_dir: str | Path, reports: dict[str, Path]) -> Path:
    """``<runs_dir>/index.html``: one link per report with its findings."""
    import html
    import json

    from medtrust.report.findings import findings
    root = Path(runs_dir).resolve()
    items = []
    for name, report in reports.items():
        results = json.loads((report.parent / "results.json").read_text())
        found = "".join(f"<li{' class=warning' if f.warning else ''}>{html.escape(f.text)}</li>"
                        for f in findings(results.get("study", ""), results.get("metrics") or {}))
        link = html.escape(str(report.resolve().relative_to(root)) if report.resolve().is_relative_to(root)
                           else report.resolve().as_uri())
        items.append(f"<h2><a href=\"{link}\">{html.escape(name)}</a></h2><p>{html.escape(str(results.get('model')))}"
                     f" on {html.escape(str(results.get('dataset')))}, {results.get('n')} records</p><ul>{found}</ul>")
    page = ("<!doctype html><html lang=en><meta charset=utf-8><title>medtrust demo</title><style>body{font-family:"
            "system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem}.warning{color:#8a3b00;"
            "font-weight:600}</style><h1>medtrust demo: every report</h1>" + "".join(items) + "</html>\n")
    path = root / "index.html"
    path.write_text(page, encoding="utf-8")
    return path

