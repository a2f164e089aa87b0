"""What `medtrust view` knows about a runs folder: one summary per run folder, and the side-by-side
comparison of runs of one study (metric differences, and paired bootstrap intervals of the
per-sample scores when the runs share samples)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from medtrust.report.findings import findings
from medtrust.report.format import metric_rows
from medtrust.stats import bootstrap_ci, metric


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with open(path, "rb") as f:
        return sum(1 for line in f if line.endswith(b"\n") and line.strip())


def run_summary(folder: Path) -> dict[str, Any] | None:
    """Study, model, dataset, n, expected, status, headline and date of a run folder (None if it
    is no study run: no config.yaml, or a training run)."""
    import yaml
    config_path = folder / "config.yaml"
    if not config_path.is_file():
        return None
    try:
        config = yaml.safe_load(config_path.read_text()) or {}
    except yaml.YAMLError:
        config = {}
    results: dict[str, Any] = {}
    if (folder / "results.json").is_file():
        try:
            results = json.loads((folder / "results.json").read_text())
        except json.JSONDecodeError:
            results = {"status": "unreadable"}
    if results.get("kind") == "train" or str(config.get("study", "")).startswith("train"):
        return None
    study = config.get("study") or results.get("study") or "?"
    found = findings(study, results.get("metrics") or {})
    saved = _count_lines(folder / "samples.jsonl")
    status = results.get("status") or ("running" if saved else "empty")
    return {"name": folder.name, "study": study, "model": config.get("model") or results.get("model"),
            "dataset": config.get("dataset") or results.get("dataset"),
            "n": results.get("n") if status in ("complete", "partial") else saved, "saved": saved,
            "expected": results.get("expected"), "status": status,
            "headline": found[0].text if found else "", "started": results.get("started") or folder.name[:16],
            "has_report": (folder / "report.html").is_file()}


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Every study run folder directly under ``root``, newest first."""
    if not root.is_dir():
        return []
    out = [s for f in sorted(root.iterdir()) if f.is_dir() for s in [run_summary(f)] if s]
    return sorted(out, key=lambda s: s["name"], reverse=True)


def _per_sample(folder: Path) -> dict[str, dict[str, float]]:
    """{record id: {score name: number}} of the top-level numeric or yes/no scores of each record."""
    from medtrust.safety.judges.keywords import is_refusal  # a safety record's refusal label
    out: dict[str, dict[str, float]] = {}
    path = folder / "samples.jsonl"
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        values = {}
        for key, v in (r.get("scores") or {}).items():
            if isinstance(v, bool) or (isinstance(v, (int, float)) and not isinstance(v, bool)):
                values[key] = float(v)
        if isinstance((r.get("scores") or {}).get("verdict"), str):
            values["refused"] = float(is_refusal(r["scores"]["verdict"]))
        out[r.get("id", "")] = values
    return out


def compare(root: Path, names: list[str], seed: int = 0) -> dict[str, Any]:
    """The metrics of runs side by side (the first is the baseline), and for every per-sample score
    the runs share, the mean difference to the first run with a paired bootstrap interval over the
    samples they share."""
    folders = [root / n for n in names]
    results = [json.loads((f / "results.json").read_text()) if (f / "results.json").is_file() else {}
               for f in folders]
    studies = {r.get("study") for r in results}
    if len(studies) != 1:
        raise ValueError(f"runs of different studies cannot be compared: {', '.join(map(str, studies))}")
    tables = [{row["name"]: row for row in metric_rows(r.get("metrics") or {})} for r in results]
    names_in_order = list(dict.fromkeys(k for t in tables for k in t))
    rows = [{"metric": k, "values": [t.get(k, {}).get("value", "") for t in tables],
             "cis": [t.get(k, {}).get("ci", "") for t in tables]} for k in names_in_order]
    base = _per_sample(folders[0])
    paired, shared_ids = [], 0
    for folder, name in zip(folders[1:], names[1:]):
        other = _per_sample(folder)
        shared = sorted(set(base) & set(other))
        shared_ids = max(shared_ids, len(shared))
        keys = sorted({k for i in shared for k in base[i]} & {k for i in shared for k in other[i]})
        for key in keys:
            ids = [i for i in shared if key in base[i] and key in other[i]]
            a = np.array([base[i][key] for i in ids])
            b = np.array([other[i][key] for i in ids])
            if len(ids) == 0:
                continue
            diff = metric(float((b - a).mean()), bootstrap_ci([a, b], lambda x, y: float((y - x).mean()), seed=seed),
                          n=len(ids))
            paired.append({"run": name, "score": key, "baseline_mean": float(a.mean()), "mean": float(b.mean()),
                           "difference": diff})
    return {"study": studies.pop(), "runs": names, "rows": rows, "paired": paired, "shared": shared_ids}
