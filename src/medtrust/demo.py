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
