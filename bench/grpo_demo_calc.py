"""GRPO of the embedded model on demo-calc (issue 6 check b): seconds per step, the reward and
format-rate table (first 10 steps vs the last 10, and every 10 steps), and the report path.

Run (the CPU is shared: take the lock):
    flock /tmp/medtrust-cpu.lock .venv/bin/python bench/grpo_demo_calc.py --max-steps 50 \
        --num-generations 4 --max-completion-length 48 --lr 1e-5 --out runs/bench-grpo

Any option of ``medtrust train grpo`` can be given as ``--name value`` (see --help there); the
defaults below are the ones the measured run in bench/RESULTS.md used unless stated there.
"""

from __future__ import annotations

import argparse
import json
import time

from medtrust.train.grpo import GRPOOptions, train_grpo
from medtrust.train.grpo_report import reward_table, reward_table_markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--dataset", default="demo-calc")
    parser.add_argument("--max-steps", type=int, default=50)
    parser.add_argument("--num-generations", type=int, default=4)
    parser.add_argument("--prompts-per-step", type=int, default=1)
    parser.add_argument("--max-completion-length", type=int, default=48)
    parser.add_argument("--lr", type=float, default=1e-5)
    parser.add_argument("--beta", type=float, default=0.0)
    parser.add_argument("--warmup-steps", type=int, default=0, help="cold-start SFT steps before GRPO")
    parser.add_argument("--warmup-lr", type=float, default=1e-4)
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--prefill", default="", help="e.g. '<think>\\n' (a literal \\\\n becomes a newline)")
    parser.add_argument("--rewards", default="accuracy,format")
    parser.add_argument("--reward-weights", default=None, help="e.g. 1,2")
    parser.add_argument("--out", default=None)
    parser.add_argument("--eval-limit", type=int, default=None, help="also run --eval on this many test questions")
    args = parser.parse_args()
    weights = [float(x) for x in args.reward_weights.split(",")] if args.reward_weights else None
    opts = GRPOOptions(model=args.model, dataset=args.dataset, max_steps=args.max_steps,
                       num_generations=args.num_generations, prompts_per_step=args.prompts_per_step,
                       max_completion_length=args.max_completion_length, lr=args.lr, beta=args.beta,
                       temperature=args.temperature, prefill=args.prefill,
                       rewards=args.rewards, reward_weights=weights, out=args.out,
                       warmup_steps=args.warmup_steps, warmup_lr=args.warmup_lr,
                       save_steps=max(args.max_steps, 1), eval=args.eval_limit is not None,
                       eval_limit=args.eval_limit)
    started = time.time()
    run = train_grpo(opts, progress=False)
    wall = time.time() - started
    result = json.loads((run.path / "train_result.json").read_text())
    table = reward_table(run.read_log())
    print(f"run: {run.path}")
    print(f"report: {run.report_path}")
    print("| steps | train_runtime s | s/step | steps/s | whole command s |")
    print("|---|---|---|---|---|")
    steps = result.get("global_step") or table["steps"]
    runtime = result.get("train_runtime") or result.get("wall_clock_s")
    print(f"| {steps} | {runtime:.1f} | {runtime / steps:.2f} | {steps / runtime:.4f} | {wall:.1f} |")
    print()
    print(reward_table_markdown(table))
    comparison = run.path / "eval" / "reasoning" / "comparison.json"
    if comparison.exists():
        from medtrust.train.evaluate import comparison_markdown
        print()
        print(comparison_markdown(json.loads(comparison.read_text())))


if __name__ == "__main__":
    main()
