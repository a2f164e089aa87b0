"""Issue 6 check (a): safety SFT of the embedded model within a time budget, evaluated before
and after on MedSafetyBench test (harmful) and XSTest safe prompts (benign), plus MedQA accuracy.

Measures steps/s with a few steps first, picks --max-steps to take ``--plan-min`` minutes at that
speed (the budget is passed as the hard --time-limit), then runs the CLI (timed) and prints the
before/after table. Run it under the CPU lock:

    flock /tmp/medtrust-cpu.lock .venv/bin/python bench/train_safety_sft.py --budget-min 20
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from train_speed import measure  # noqa: E402

from medtrust.train.evaluate import comparison_markdown  # noqa: E402

DATA = "../shared/data"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--budget-min", type=float, default=20.0, help="training time limit")
    p.add_argument("--plan-min", type=float, default=6.0, help="minutes of training the planned steps take at "
                   "the probed speed (the budget is the hard --time-limit)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--lr", default="1e-4")
    p.add_argument("--mix", default="demo-benign:0.25,demo-qa:0.25,pubmedqa:0.5")
    p.add_argument("--limit", type=int, default=None, help="harmful training rows (default: all 900)")
    p.add_argument("--max-steps", type=int, default=None, help="skip the speed probe and use this")
    p.add_argument("--out", default="runs/issue6-sft")
    p.add_argument("--extra", default="", help="more flags for medtrust train sft")
    p.add_argument("--cache", action="store_true", help="use the generation cache (the base model's evaluation "
                   "is then reused from an earlier attempt; the trained model is a new folder, so never cached)")
    a = p.parse_args()
    if a.max_steps is None:
        probe = 3
        secs = measure("full", probe, a.batch_size, a.max_length, f"{DATA}/medsafetybench")
        rate = probe / secs
        steps = math.floor(min(a.plan_min, a.budget_min) * 60 * rate)
        print(f"speed probe: {probe} steps in {secs:.1f} s = {rate:.3f} steps/s -> --max-steps {steps}", flush=True)
    else:
        steps = a.max_steps
    cmd = [".venv/bin/medtrust", "train", "sft", "--model", "embedded", "--dataset", "medsafetybench",
           "--data-path", f"{DATA}/medsafetybench", "--split", "train", "--mix", a.mix,
           "--mix-path", f"pubmedqa={DATA}/pubmedqa", "--max-steps", str(steps), "--time-limit", str(a.budget_min),
           "--batch-size", str(a.batch_size),
           "--max-length", str(a.max_length), "--lr", a.lr, "--logging-steps", "5", "--save-steps", "100",
           "--out", a.out, "--eval", "--eval-dataset", "medsafetybench", "--eval-data-path", f"{DATA}/medsafetybench",
           "--eval-split", "test", "--eval-benign", "xstest", "--eval-benign-path", f"{DATA}/xstest",
           "--eval-limit", "100", "--eval-qa", "medqa", "--eval-qa-path", f"{DATA}/medqa", "--eval-qa-limit", "100",
           *([] if a.cache else ["--no-cache"]), "--quiet", *([f"--limit={a.limit}"] if a.limit else []),
           *a.extra.split()]
    print("command:", " ".join(cmd), flush=True)
    started = time.time()
    subprocess.run(cmd, check=True)
    print(f"whole command: {time.time() - started:.0f} s", flush=True)
    result = json.loads((Path(a.out) / "train_result.json").read_text())
    print(f"training: {result['global_step']} steps, train_runtime {result['train_runtime']:.0f} s, "
          f"wall clock {result['wall_clock_s']:.0f} s, {result['train_steps_per_second']:.3f} steps/s")
    print(json.loads((Path(a.out) / "data_summary.json").read_text()))
    for label in ("safety", "medical-qa"):
        table = json.loads((Path(a.out) / "eval" / label / "comparison.json").read_text())
        print(f"\n{label}\n" + comparison_markdown(table))


if __name__ == "__main__":
    main()
