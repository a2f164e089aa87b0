"""embedded-vlm on the demo-images test split (held-out scenes): POPE per split, per-kind answer
accuracy (arrow colour, presence, count, ...), CHAIR, grounding, snowballing; and the text
snowball of the embedded text model on MedQA. Every number comes from the studies' own run
folders (results.json, samples.jsonl), so each can be opened in its report.

    python bench/vision.py [--model embedded-vlm] [--images 30] [--medqa ../shared/data/medqa --medqa-limit 100]

Prints a markdown table (bench/RESULTS.md keeps the last one) and writes bench/vision.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from medtrust.pipeline import execute
from medtrust.runs.folder import RunFolder
from medtrust.stats import rate_metric


def cell(m: dict | None, digits: int = 3) -> str:
    """``value [low, high] (n)`` of a metric dict."""
    from medtrust.report.format import fmt_interval
    return f"{fmt_interval(m, digits)} (n {m.get('n', '')})" if m else "-"


def per_kind_accuracy(run_path: Path) -> dict[str, dict]:
    """Greedy answer accuracy per demo-images question kind, from a reasoning run's records."""
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for r in RunFolder.open(run_path).samples():
        by_kind[r["sample"]["metadata"].get("question_kind", "?")].append(bool(r["scores"].get("correct")))
    return {k: rate_metric(v) for k, v in sorted(by_kind.items())}


def run(study_cls, config_cls, **fields) -> tuple[Path, dict, float]:
    start = time.time()
    run_folder = execute(study_cls(), config_cls(**fields), progress=False)
    return run_folder.path, json.loads((run_folder.path / "results.json").read_text()), time.time() - start


def main(argv: list[str] | None = None) -> int:
    from medtrust.hallucination.chair_study import ChairConfig, ChairStudy
    from medtrust.hallucination.grounding_study import GroundingConfig, GroundingStudy
    from medtrust.hallucination.pope_study import PopeConfig, PopeStudy
    from medtrust.hallucination.snowball_study import SnowballConfig, SnowballStudy
    from medtrust.reasoning.study import ReasoningConfig, ReasoningStudy
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="embedded-vlm")
    p.add_argument("--images", type=int, default=30, help="demo-images test images (30 = all)")
    p.add_argument("--medqa", default="../shared/data/medqa", help="MedQA folder for the text snowball ('' = skip)")
    p.add_argument("--medqa-limit", type=int, default=100)
    p.add_argument("--runs-dir", default="runs/bench-vision")
    p.add_argument("--out", default=str(Path(__file__).with_name("vision.json")))
    args = p.parse_args(argv)
    common = {"model": args.model, "dataset": "demo-images", "split": "test", "runs_dir": args.runs_dir, "cache": False}
    rows, out = [], {"model": args.model, "images": args.images, "runs": {}}

    path, res, secs = run(PopeStudy, PopeConfig, limit=args.images, **common)
    out["runs"]["pope"] = str(path)
    for split in ("random", "popular", "adversarial"):
        m = res["metrics"].get(split, {})
        rows.append((f"POPE {split}: accuracy", cell(m.get("accuracy"))))
        rows.append((f"POPE {split}: F1 / yes-ratio", f"{cell(m.get('f1'))} / {cell(m.get('yes_ratio'))}"))
    out["pope"] = {**res["metrics"], "seconds": round(secs, 1)}

    path, res, secs = run(ReasoningStudy, ReasoningConfig, strategies="direct", limit=args.images * 4, **common)
    out["runs"]["answers"] = str(path)
    kinds = per_kind_accuracy(path)
    out["answers"] = {**kinds, "seconds": round(secs, 1)}
    rows += [(f"answer accuracy: {k}", cell(v)) for k, v in kinds.items()]

    path, res, secs = run(ChairStudy, ChairConfig, limit=args.images, **common)
    out["runs"]["chair"] = str(path)
    overall = res["metrics"]["overall"]
    out["chair"] = {**overall, "seconds": round(secs, 1)}
    rows += [(f"CHAIR {k}", cell(overall.get(k))) for k in ("chair_i", "chair_s", "recall", "colour_hallucination")]

    path, res, secs = run(GroundingStudy, GroundingConfig, limit=args.images, **common)
    out["runs"]["grounding"] = str(path)
    out["grounding"] = {**res["metrics"], "seconds": round(secs, 1)}
    for split in ("random", "popular", "adversarial"):
        m = res["metrics"].get(split, {})
        if split == "random":
            rows += [("grounding mean IoU", cell(m.get("mean_iou"))),
                     ("grounding accuracy IoU>=0.5", cell(m.get("accuracy_iou50")))]
        rows.append((f"hallucinated-box rate ({split})", cell(m.get("hallucinated_box_rate"))))

    path, res, secs = run(SnowballStudy, SnowballConfig, limit=args.images, **common)
    out["runs"]["snowball"] = str(path)
    out["snowball"] = {**res["metrics"], "seconds": round(secs, 1)}
    rows += _snowball_rows("image", res["metrics"])

    if args.medqa:
        text = {**common, "model": "embedded", "dataset": "medqa", "data_path": args.medqa, "split": None,
                "limit": args.medqa_limit}
        path, res, secs = run(SnowballStudy, SnowballConfig, **text)
        out["runs"]["snowball_medqa"] = str(path)
        out["snowball_medqa"] = {**res["metrics"], "seconds": round(secs, 1)}
        rows += _snowball_rows(f"MedQA ({args.medqa_limit}, embedded)", res["metrics"])

    print(f"| {args.model} on demo-images test ({args.images} images) | value [90% interval] (n) |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    Path(args.out).write_text(json.dumps(out, indent=1, default=str) + "\n")
    return 0


def _snowball_rows(label: str, metrics: dict) -> list[tuple[str, str]]:
    rows = []
    for kind, m in (metrics.get("planted") or {}).items():
        rows.append((f"snowball {label} {kind}: accuracy clean / planted",
                     f"{cell(m.get('accuracy_clean'))} / {cell(m.get('accuracy_planted'))}"))
        rows.append((f"snowball {label} {kind}: snowball rate", cell(m.get("snowball_rate"))))
    own = metrics.get("own") or {}
    for key in ("rejected_alone", "kept_in_context", "snowballed"):
        if key in own:
            rows.append((f"snowball {label} own errors: {key}", cell(own[key])))
    return rows


if __name__ == "__main__":
    sys.exit(main())
