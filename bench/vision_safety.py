"""Issue 17: image safety SFT of embedded-vlm (VLGuard's recipe) and the whole trade-off before and after.

Runs ``medtrust train sft -m embedded-vlm -d figstep --split tiny`` (FigStep images of the tiny
split's harmful requests -> a refusal, the default image mix: demo-images, its clinical look-alikes,
benign typographic images; LoRA) with ``--eval``, which evaluates the base and the trained model on
held-out FigStep images (SafeBench rows outside the tiny split), benign typographic and medical
images, the text safety study, POPE and image QA (train/vision_eval.py). Prints the combined
before/after table as Markdown and the timings; the run folder's report.html has the plot.

    nice -n 19 .venv/bin/python bench/vision_safety.py --limit 2 --max-steps 1 --eval-limit 2 --eval-qa-limit 2
    nice -n 19 .venv/bin/python bench/vision_safety.py            # the recipe: 50 rows, 60 steps, full eval
    # the test measurement of a recipe bench/vision_safety_valid.py trained and validated (no retraining)
    nice -n 19 .venv/bin/python bench/vision_safety.py --model embedded-vlm-reader --out /tmp/vs-d --evaluate
"""

from __future__ import annotations

import argparse
import json
import shlex
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
    p.add_argument("--split", default="tiny", help="FigStep split of the harmful training rows: tiny (50) or train "
                   "(the ~310 SafeBench rows the vision --eval never measures, neither test nor validation)")
    p.add_argument("--limit", type=int, default=50, help="harmful training rows of --split (a seeded subset)")
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
           "--data-path", a.figstep, "--split", a.split, "--limit", str(a.limit), "--lora", "--max-steps",
           str(a.max_steps), "--batch-size", str(a.batch_size), "--lr", a.lr, "--logging-steps", "1",
           "--save-steps", "20"]
    cmd += shlex.split(a.extra) if a.extra else []
    return cmd + (["--resume", str(out)] if (out / "config.json").exists() else ["--out", str(out)])


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--eval-limit", type=int, default=None, help="requests per side and POPE images (default: 100 "
                   "held-out FigStep rows, every benign request, 30 images)")
    p.add_argument("--eval-qa-limit", type=int, default=None, help="demo-images test questions (default 120)")
    p.add_argument("--out", default="runs/bench-vision-safety")
    p.add_argument("--cache", action="store_true", help="reuse cached generations in --eval (default: --no-cache)")
    p.add_argument("--evaluate", action="store_true", help="--out holds a finished run of the recipe (e.g. the "
                   "one bench/vision_safety_valid.py chose): run only its --eval, without training again")
    a = p.parse_args(argv)
    out = Path(a.out)
    if a.evaluate:
        start = time.time()
        evaluate_only(out, a)
        return report(out, a, time.time() - start)
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
    return report(out, a, total)


def evaluate_only(out: Path, a: argparse.Namespace) -> None:
    """The vision ``--eval`` of a finished run folder (its saved model against the base), as
    ``train sft --eval`` runs it after training, then report.html again."""
    from medtrust.train.common import TrainingRun, model_source
    from medtrust.train.evaluate import evaluate_safety_alignment
    from medtrust.train.options import EvalOptions
    from medtrust.train.report import write_training_report
    config = json.loads((out / "config.json").read_text())
    if config["model"] != a.model or not (out / "model" / "config.json").exists():
        raise SystemExit(f"{out} holds no finished training run of {a.model} (its config: {config['model']})")
    run = TrainingRun(out, config)
    args = EvalOptions(figstep_path=a.figstep, cache=a.cache, limit=a.eval_limit, qa_limit=a.eval_qa_limit)
    evaluate_safety_alignment(run, model_source(a.model)[1], f"hf/{run.model_dir.resolve()}",
                              args.model_dump(exclude_none=True), vision=True)
    write_training_report(run, f"Safety SFT of {a.model}")


def report(out: Path, a: argparse.Namespace, total: float) -> int:
    """Print the before/after table of the run's eval/tradeoff.json and the timings."""
    table = json.loads((out / "eval" / "tradeoff.json").read_text())
    result = json.loads((out / "train_result.json").read_text())
    rows = json.loads((out / "data_summary.json").read_text())
    print(f"\n{a.model}, image safety SFT (LoRA, {result.get('global_step')} steps, batch {a.batch_size}, "
          f"lr {a.lr}, {a.extra or 'default mix'}); training rows: {', '.join(f'{k} {v}' for k, v in rows.items())}\n")
    print(comparison_markdown(table))
    print(f"\ntraining {result.get('wall_clock_s')} s; {'evaluation' if a.evaluate else 'training + evaluation'} "
          f"(both models) {total:.0f} s; "
          f"held-out FigStep rows: {out / table['heldout_figstep']}; report: {out / 'report.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
