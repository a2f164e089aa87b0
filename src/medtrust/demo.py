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


def described(reports: dict[str, Path]) -> list[tuple[str, Path, dict, list]]:
    """(name, report path, results.json, findings) of each demo run, read once."""
    import json

    from medtrust.report.findings import findings
    out = []
    for name, report in reports.items():
        results = json.loads((report.parent / "results.json").read_text())
        out.append((name, report, results, findings(results.get("study", ""), results.get("metrics") or {})))
    return out


def summary(runs: list[tuple[str, Path, dict, list]]) -> list[str]:
    """Plain-word lines per demo run (``described``): its model, dataset and records, then its
    findings (headline numbers with n and intervals; warnings marked "!")."""
    lines = []
    for name, _, results, found in runs:
        lines.append(f"{name} ({results.get('model')} on {results.get('dataset')}, {results.get('n')} records):")
        lines += [("  ! " if f.warning else "  - ") + f.text for f in found]
    return lines


def write_index(runs_dir: str | Path, runs: list[tuple[str, Path, dict, list]]) -> Path:
    """``<runs_dir>/index.html``: one link per report (``described``) with its findings."""
    import html
    root = Path(runs_dir).resolve()
    items = []
    for name, report, results, found in runs:
        items_found = "".join(f"<li{' class=warning' if f.warning else ''}>{html.escape(f.text)}</li>" for f in found)
        target = report.resolve()
        link = html.escape(str(target.relative_to(root)) if target.is_relative_to(root) else target.as_uri())
        items.append(f"<h2><a href=\"{link}\">{html.escape(name)}</a></h2><p>{html.escape(str(results.get('model')))}"
                     f" on {html.escape(str(results.get('dataset')))}, {results.get('n')} records</p>"
                     f"<ul>{items_found}</ul>")
    page = ("<!doctype html><html lang=en><meta charset=utf-8><title>medtrust demo</title><style>body{font-family:"
            "system-ui,sans-serif;max-width:900px;margin:2rem auto;padding:0 1rem}.warning{color:#8a3b00;"
            "font-weight:600}</style><h1>medtrust demo: every report</h1>" + "".join(items) + "</html>\n")
    path = root / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
