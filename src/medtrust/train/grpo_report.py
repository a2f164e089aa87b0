"""What a GRPO run reports: the reward and format-rate table by step (first vs last window and
every N steps), the before/after reasoning study of ``--eval`` with the think-format rate, and
report.html (the shared training report plus these sections)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from medtrust.report.format import Section, table_html
from medtrust.train.common import TrainingRun

#: the per-step keys the table shows (TRL's names; format_rate is logged by the format reward)
TABLE_KEYS = ("reward", "format_rate", "rewards/accuracy_reward/mean", "rewards/format_reward/mean", "kl",
              "completions/mean_length")


def step_rows(rows: Sequence[dict]) -> list[dict]:
    """One logged row per training step (the last when a resumed run logged a step twice),
    without the end-of-training summary row."""
    by_step: dict[int, dict] = {}
    for r in rows:
        if r.get("step") is not None and "reward" in r:
            by_step[int(r["step"])] = r
    return [by_step[k] for k in sorted(by_step)]


def _mean(rows: Sequence[dict], key: str) -> float | None:
    values = [float(r[key]) for r in rows if isinstance(r.get(key), (int, float))]
    return sum(values) / len(values) if values else None


def reward_table(rows: Sequence[dict], window: int = 10, every: int = 10) -> dict[str, Any]:
    """Means of TABLE_KEYS over the first and the last ``window`` steps, and over each block of
    ``every`` steps: ``{"first": {...}, "last": {...}, "blocks": [{"steps": "1-10", ...}], "steps": n}``.

    >>> log = [{"step": i, "reward": float(i), "format_rate": i / 20} for i in range(1, 21)]
    >>> t = reward_table(log)
    >>> (t["first"]["reward"], t["last"]["reward"], t["last"]["format_rate"], [b["steps"] for b in t["blocks"]])
    (5.5, 15.5, 0.775, ['1-10', '11-20'])
    """
    steps = step_rows(rows)

    def block(part: Sequence[dict]) -> dict[str, Any]:
        out: dict[str, Any] = {"steps": f"{part[0]['step']}-{part[-1]['step']}" if part else "-"}
        out.update({k: _mean(part, k) for k in TABLE_KEYS})
        return out

    blocks = [block(steps[i:i + every]) for i in range(0, len(steps), every)]
    return {"steps": len(steps), "first": block(steps[:window]), "last": block(steps[-window:]), "blocks": blocks}


def _cell(value: Any) -> str:
    return "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def reward_table_rows(table: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows: first window, last window, then every block."""
    header = ["steps", *TABLE_KEYS]
    body = [[f"first {table['first']['steps']}", *(_cell(table["first"][k]) for k in TABLE_KEYS)],
            [f"last {table['last']['steps']}", *(_cell(table["last"][k]) for k in TABLE_KEYS)]]
    body += [[b["steps"], *(_cell(b[k]) for k in TABLE_KEYS)] for b in table["blocks"]]
    return header, body


def reward_table_markdown(table: dict[str, Any]) -> str:
    """The reward table as Markdown (bench/RESULTS.md)."""
    header, body = reward_table_rows(table)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines)


# --------------------------------------------------------------------------- before / after
def think_format_rate(run_dir: Path) -> dict | None:
    """The share of think-strategy outputs in exact ``<think>..</think><answer>..</answer>``
    format in a reasoning run folder, with its bootstrap 90% interval."""
    from medtrust.reasoning.metrics import rate
    from medtrust.reasoning.rewards import is_think_format
    from medtrust.reasoning.study import ReasoningRecord
    from medtrust.runs.folder import RunFolder
    flags = [is_think_format(r.outputs[0].text if r.outputs else "")
             for r in RunFolder(run_dir).records(ReasoningRecord) if r.variant == "think" and not r.error]
    return rate(flags) if flags else None


def evaluate_grpo(run: TrainingRun, opts, base_model: str, progress: bool = True) -> Path:
    """The reasoning study (think and direct, the same think prompt and token budget as training)
    on the base and the trained model; the think-format rate is added to the comparison."""
    from medtrust.train.evaluate import compare, evaluate_before_after
    args: dict[str, Any] = {"dataset": opts.dataset, "strategies": "think,direct", "faithfulness": False,
                            "max_tokens": opts.max_completion_length, "lang": opts.lang, "seed": opts.seed}
    for key, value in (("data_path", opts.data_path), ("split", opts.eval_split), ("limit", opts.eval_limit)):
        if value is not None:
            args[key] = value
    path = evaluate_before_after(run, "reasoning", base_model, f"hf/{run.model_dir.resolve()}", args,
                                 label="reasoning", progress=progress)
    table = json.loads(path.read_text())
    before, after = think_format_rate(Path(table["before_run"])), think_format_rate(Path(table["after_run"]))
    fmt_rows = compare({"f": before}, {"f": after}, lambda r: {"format_rate (think)": r["f"]} if r["f"] else {})
    table["rows"] = [r for r in table["rows"] if r["metric"] != "format_rate (think)"] + fmt_rows
    path.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------- report
def write_grpo_report(run: TrainingRun, opts) -> Path:
    """report.html: the shared training report (reward, rewards/<name>, kl, length curves; the
    before/after table) plus the reward table by step; ``reward_table.json`` beside it."""
    from medtrust.train.report import write_training_report
    table = reward_table(run.read_log())
    run.write_json("reward_table.json", table)
    header, body = reward_table_rows(table)
    note = (f"<p>Mean over logged steps ({table['steps']} steps). <code>reward</code> is the weighted sum of "
            f"the rewards ({opts.rewards}); <code>format_rate</code> is the share of completions in exact "
            "think format.</p>")
    return write_training_report(run, f"GRPO of {opts.model} on {opts.dataset}",
                                 [Section("Reward and format rate by step", note + table_html(header, body))])
