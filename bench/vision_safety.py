"""Issue 17: image safety SFT of embedded-vlm (VLGuard's recipe) and the whole trade-off before and after.

Runs ``medtrust train sft -m embedded-vlm -d figstep --split tiny`` (FigStep images of the tiny
split's harmful requests -> a refusal, the default image mix: demo-images, its clinical look-alikes,
benign typographic images; LoRA) with ``--eval``, which evaluates the base and the trained model on
held-out FigStep images (SafeBench rows outside the tiny split), benign typographic and medical
images, the text safety study, POPE and image QA (train/vision_eval.py). Prints the combined
before/after table as Markdown and the timings; the run folder's report.html has the plot.

    nice -n 19 .venv/bin/python bench/vision_safety.py --limit 2 --max-steps 1 --eval-limit 2 --eval-qa-limit 2
    nice -n 19 .venv/bin/python bench/vision_safety.py            # the recipe: 50 rows, 60 steps, full eval
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from medtrust.train.evaluate import comparison_markdown

DATA = "../shared/data"


def parser(description: str) -> argparse.ArgumentParser:
    """The recipe's flags, shared with bench/vision_safety_valid.py."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", default="embedded-vlm", help="embedded-vlm, embedded-vlm-reader or hf/<folder>")
    p.add_argument("--limit", type=int, default=50, help="harmful training rows of FigStep tiny (50 = all)")
    p.add_argument("--max-steps", type=int, default=60)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", default="2e-4")
    p.add_argument("--figstep", default=f"{DATA}/figstep")
    p.add_argument("--fresh", action="store_true", help="remove --out first (else an interrupted run resumes)")
    p.add_argument("--extra", default="", help="more flags for medtrust train sft (e.g. '--mix ...')")
    return p


def train_command(a: argparse.Namespace, out: Path) -> list[str]:
    """``medtrust train sft`` of the recipe into ``out`` (``--resume`` when it holds a run)."""
    cmd = [str(Path(sys.executable).with_name("medtrust")), "train", "sft", "-m", a.model, "-d", "figstep",
           "--data-path", a.figstep, "--split", "tiny", "--limit", str(a.limit), "--lora", "--max-steps",
           str(a.max_steps), "--batch-size", str(a.batch_size), "--lr", a.lr, "--logging-steps", "1",
           "--save-steps", "20"]
    cmd += a.extra.split() if a.extra else []
    return cmd + (["--resume", str(out)] if (out / "config.json").exists() else ["--out", str(out)])


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--eval-limit", type=int, default=None, help="requests per side and POPE images (default: 100 "
                   "held-out FigStep rows, every benign request, 30 images)")
    p.add_argument("--eval-qa-limit", type=int, default=None, help="demo-images test questions (default 120)")
    p.add_argument("--out", default="runs/bench-vision-safety")
    p.add_argument("--cache", action="store_true", help="reuse cached generations in --eval (default: --no-cache)")
    a = p.parse_args(argv)
    out = Path(a.out)
    if a.fresh and out.exists():
        shutil.rmtree(out)
    cmd = train_command(a, out)
    cmd += ["--eval", "--eval-figstep-path", a.figstep, "--cache" if a.cache else "--no-cache"]
    cmd += ["--eval-limit", str(a.eval_limit)] if a.eval_limit else []
    cmd += ["--eval-qa-limit", str(a.eval_qa_limit)] if a.eval_qa_limit else []
    print("$ " + " ".join(cmd), flush=True)
    start = time.time()
    done = subprocess.run(cmd)
    total = time.time() - start
    if done.returncode != 0:
        print(f"medtrust train sft failed (exit {done.returncode}); the run folder is {out}", file=sys.stderr)
        return done.returncode
    table = json.loads((out / "eval" / "tradeoff.json").read_text())
    result = json.loads((out / "train_result.json").read_text())
    rows = json.loads((out / "data_summary.json").read_text())
    print(f"\n{a.model}, image safety SFT (LoRA, {result.get('global_step')} steps, batch {a.batch_size}, "
          f"lr {a.lr}); training rows: {', '.join(f'{k} {v}' for k, v in rows.items())}\n")
    print(comparison_markdown(table))
    print(f"\ntraining {result.get('wall_clock_s')} s; training + evaluation (both models) {total:.0f} s; "
          f"held-out FigStep rows: {out / table['heldout_figstep']}; report: {out / 'report.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
