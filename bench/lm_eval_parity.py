"""Parity of `medtrust reasoning --scoring loglik` with lm-evaluation-harness.

Both score the same questions with the same model, the materialized embedded SmolLM2-135M-Instruct
(float32, CPU):
  lm-eval    `lm_eval --model hf --model_args pretrained=<folder>` on the local task configs in
             bench/lm_eval_tasks (MedQA, PubMedQA and the six MMLU medical subjects read from
             ../shared/data; nothing from the hub), --log_samples to compare question by question
  medtrust   `medtrust reasoning --scoring loglik --no-cache` on the same files and rows

The table gives accuracy (and acc_norm where the harness reports it) from both, the difference in
points, the share of questions where both pick the same choice, identical prompts, and the
largest difference in a continuation's log-likelihood. Accuracies must agree within 0.5 points.

Run from the repository root (the task configs name ../shared/data relative to it):
  flock /tmp/medtrust-cpu.lock .venv/bin/python bench/lm_eval_parity.py [--limit 100] [--batch-size 16]
--limit N takes the first N rows of MedQA, of PubMedQA's test ids, and of each MMLU subject.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent
MMLU = ["anatomy", "clinical_knowledge", "college_biology", "college_medicine", "medical_genetics",
        "professional_medicine"]
# (medtrust dataset, --data-path, --split, lm-eval task, metrics the harness reports)
JOBS = [("medqa", DATA / "medqa", None, "medtrust_medqa", ("acc", "acc_norm")),
        ("pubmedqa", DATA / "pubmedqa", "test", "medtrust_pubmedqa", ("acc",))] + [
       ("mmlu-medical", DATA / "mmlu_medical" / f"{s}_test.csv", None, f"medtrust_mmlu_{s}", ("acc",)) for s in MMLU]
THRESHOLD_POINTS = 0.5


def run_lm_eval(model_dir: Path, limit: int, batch_size: int, out: Path) -> tuple[dict[str, list[dict]], float]:
    """lm-eval on every task; {task: samples ordered by doc_id}, seconds."""
    tasks = ",".join(job[3] for job in JOBS)
    cmd = [str(BIN / "lm_eval"), "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32",
           "--tasks", tasks, "--include_path", str(ROOT / "bench" / "lm_eval_tasks"), "--limit", str(limit),
           "--batch_size", str(batch_size), "--device", "cpu", "--output_path", str(out), "--log_samples"]
    print("$", " ".join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    seconds = time.perf_counter() - start
    found = {}
    for job in JOBS:
        files = glob.glob(str(out / "**" / f"samples_{job[3]}_*.jsonl"), recursive=True)
        rows = [json.loads(line) for line in open(files[0], encoding="utf-8")]
        found[job[3]] = sorted(rows, key=lambda r: r["doc_id"])
    return found, seconds


def run_medtrust(limit: int, runs: Path) -> tuple[dict[str, list[dict]], float]:
    """`medtrust reasoning --scoring loglik` once per job; {task: records in dataset order}, seconds."""
    found, seconds = {}, 0.0
    for dataset, path, split, task, _ in JOBS:
        out = runs / task
        cmd = [str(BIN / "medtrust"), "reasoning", "--model", "embedded", "--dataset", dataset, "--data-path",
               str(path), "--scoring", "loglik", "--limit", str(limit), "--no-cache", "--runs-dir", str(out), "-q"]
        if split:
            cmd += ["--split", split]
        print("$", " ".join(cmd), flush=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        seconds += time.perf_counter() - start
        run = next(out.iterdir())
        found[task] = [json.loads(line) for line in open(run / "samples.jsonl", encoding="utf-8")]
    return found, seconds


def compare(lm: list[dict], mt: list[dict]) -> dict:
    """Accuracies, same-choice share, same-prompt share and the largest log-likelihood gap."""
    assert len(lm) == len(mt), (len(lm), len(mt))
    same_prompt = same_pick = 0
    gap = 0.0
    for a, b in zip(lm, mt):
        context = a["arguments"]["gen_args_0"]["arg_0"]
        same_prompt += context == b["context"]
        lls = [float(r[0]) for r in a["filtered_resps"]]
        gap = max(gap, max(abs(x - y) for x, y in zip(lls, b["logprobs"])))
        same_pick += int(np.argmax(lls)) == int(np.argmax(b["logprobs"]))
    n = len(lm)
    return {"n": n, "lm_acc": sum(r["acc"] for r in lm) / n, "mt_acc": sum(r["correct"] for r in mt) / n,
            "lm_norm": sum(r.get("acc_norm", 0) for r in lm) / n, "mt_norm": sum(r["correct_norm"] for r in mt) / n,
            "same_pick": same_pick / n, "same_prompt": same_prompt / n, "gap": gap}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=100, help="rows per task (MMLU: per subject)")
    ap.add_argument("--batch-size", type=int, default=16, help="lm-eval --batch_size")
    ap.add_argument("--keep", help="keep lm-eval outputs and run folders in this folder")
    args = ap.parse_args()
    if shutil.which("lm_eval", path=str(BIN)) is None:
        sys.exit("lm-eval is not installed: .venv/bin/pip install -e '.[bench]'")
    from medtrust.models.embedded import materialize
    model_dir = materialize()
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="lm_eval_parity_"))
    work.mkdir(parents=True, exist_ok=True)
    lm, lm_s = run_lm_eval(Path(model_dir), args.limit, args.batch_size, work / "lm_eval")
    mt, mt_s = run_medtrust(args.limit, work / "medtrust")

    groups: dict[str, tuple[list, list, tuple]] = {}
    for dataset, _, _, task, metrics in JOBS:
        a, b, _m = groups.get(dataset, ([], [], metrics))
        groups[dataset] = (a + lm[task], b + mt[task], metrics)
    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}; "
          f"--limit {args.limit} (MMLU: per subject); lm-eval {lm_s:.0f} s, medtrust {mt_s:.0f} s\n")
    print("| dataset | n | lm-eval acc | medtrust acc | diff (points) | lm-eval acc_norm | medtrust acc_norm "
          "| same choice | same prompt | max abs loglik diff |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for dataset, (a, b, metrics) in groups.items():
        c = compare(a, b)
        diff = 100 * (c["mt_acc"] - c["lm_acc"])
        worst = max(worst, abs(diff), abs(100 * (c["mt_norm"] - c["lm_norm"])) if "acc_norm" in metrics else 0)
        norm = (f"{c['lm_norm']:.4f} | {c['mt_norm']:.4f}" if "acc_norm" in metrics else "- | -")
        print(f"| {dataset} | {c['n']} | {c['lm_acc']:.4f} | {c['mt_acc']:.4f} | {diff:+.2f} | {norm} | "
              f"{c['same_pick']:.3f} | {c['same_prompt']:.3f} | {c['gap']:.2e} |")
    print(f"\nlargest accuracy difference: {worst:.2f} points (threshold {THRESHOLD_POINTS})")
    if worst > THRESHOLD_POINTS:
        sys.exit(1)


if __name__ == "__main__":
    main()
