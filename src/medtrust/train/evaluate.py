"""Before/after evaluation of a trained model: the same study, with the same options, on the base
model and on the trained one, then a comparison table (metric, before with its 90% interval,
after with its interval, change = after - before).

The study runs exactly as its CLI verb would (``medtrust.pipeline.execute`` on the study's
config class), into ``<run>/eval/<label>/before`` and ``.../after`` (ordinary run folders with
their own report.html); an interrupted evaluation resumes where it stopped. The table is
written to ``<run>/eval/<label>/comparison.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from medtrust.report.format import Section, fmt, fmt_interval, table_html
from medtrust.train.common import TrainingRun

MetricSelector = Callable[[dict], dict[str, dict]]
"""Picks the compared metrics from a results.json: ``{label: {"value", "ci", "n"}}``."""


def safety_metrics(results: dict) -> dict[str, dict]:
    """Attack success, refusal on harmful and over-refusal on benign, per attack."""
    out = {}
    for attack, m in results.get("metrics", {}).get("by_attack", {}).items():
        for key in ("attack_success_rate", "refusal_rate_harmful", "over_refusal_rate", "mean_harmfulness"):
            if key in m:
                out[f"{key} ({attack})"] = m[key]
    return out


def reasoning_metrics(results: dict) -> dict[str, dict]:
    """Accuracy per strategy (and the share of answers that could not be read)."""
    out = {}
    for strategy, m in results.get("metrics", {}).items():
        if isinstance(m, dict) and "accuracy" in m:
            out[f"accuracy ({strategy})"] = m["accuracy"]
            if "extraction_failures" in m:
                out[f"extraction_failures ({strategy})"] = m["extraction_failures"]
    return out


SELECTORS: dict[str, MetricSelector] = {"safety": safety_metrics, "reasoning": reasoning_metrics}


def run_study(study_name: str, model: str, study_args: dict[str, Any], folder: Path, progress: bool = True) -> Path:
    """Run a study on ``model`` into ``folder`` (resuming it when it holds an unfinished run)."""
    from medtrust.pipeline import execute
    from medtrust.runs.folder import RunFolder
    from medtrust.studies import get_study
    study = get_study(study_name)
    run = RunFolder(folder)
    if run.results.get("status") == "complete":
        return folder
    if not (folder / "config.yaml").exists():
        config = study.config_class(**{**study_args, "model": model, "runs_dir": str(folder.parent)})
        folder.mkdir(parents=True, exist_ok=True)
        run.write_config(config.model_dump())
    execute(study, None, resume=str(folder), progress=progress)
    return folder


def compare(before: dict, after: dict, select: MetricSelector) -> list[dict[str, Any]]:
    """Rows ``{metric, before, after, change}`` for the metrics ``select`` finds in either run."""
    b, a = select(before), select(after)
    rows = []
    for name in list(dict.fromkeys([*b, *a])):
        vb, va = (b.get(name) or {}).get("value"), (a.get(name) or {}).get("value")
        change = None if vb is None or va is None else va - vb
        rows.append({"metric": name, "before": b.get(name), "after": a.get(name), "change": change})
    return rows


def evaluate_before_after(run: TrainingRun, study: str, base_model: str, trained_model: str,
                          study_args: dict[str, Any], select: MetricSelector | None = None,
                          label: str | None = None, progress: bool = True) -> Path:
    """Run ``study`` on both models and write ``eval/<label>/comparison.json``; returns its path.
    ``select`` defaults to the study's entry in SELECTORS."""
    select = select or SELECTORS.get(study)
    if select is None:
        raise ValueError(f"no metric selector for study '{study}': pass select=")
    folder = run.path / "eval" / (label or study)
    before = run_study(study, base_model, study_args, folder / "before", progress)
    after = run_study(study, trained_model, study_args, folder / "after", progress)
    res_b = json.loads((before / "results.json").read_text())
    res_a = json.loads((after / "results.json").read_text())
    table = {"label": label or study, "study": study, "base_model": base_model, "trained_model": trained_model,
             "study_args": study_args, "before_run": str(before), "after_run": str(after),
             "rows": compare(res_b, res_a, select)}
    path = folder / "comparison.json"
    path.write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def change_text(row: dict) -> str:
    """A comparison row's change (after - before), signed, or n/a."""
    return "n/a" if row["change"] is None else f"{row['change']:+.3f}"


def comparison_markdown(table: dict) -> str:
    """The comparison as a Markdown table (for notes and bench/RESULTS.md)."""
    lines = ["| metric | before | after | change |", "|---|---|---|---|"]
    lines += [f"| {r['metric']} | {fmt_interval(r['before'], 3)} | {fmt_interval(r['after'], 3)} | {change_text(r)} |"
              for r in table["rows"]]
    return "\n".join(lines)


def comparison_section(table: dict) -> Section:
    """A report section: the table and links to both runs' reports."""
    rows = [[r["metric"], fmt_interval(r["before"], 3), fmt_interval(r["after"], 3),
             change_text(r),
             fmt((r["after"] or {}).get("n"))] for r in table["rows"]]
    args = ", ".join(f"{k}={v}" for k, v in table.get("study_args", {}).items())
    html = (f"<p>{table['study']} study ({args}) on the base model <code>{table['base_model']}</code> and the "
            f"trained model. Values with 90% bootstrap intervals. Runs: "
            f"<a href=\"eval/{table['label']}/before/report.html\">before</a>, "
            f"<a href=\"eval/{table['label']}/after/report.html\">after</a>.</p>"
            + table_html(["metric", "before", "after", "change", "n"], rows))
    return Section(f"Before / after: {table['label']}", html)


# ------------------------------------------------------------------------- safety alignment
#: defaults of ``--eval`` for sft and dpo (built-in sets: work offline); override with --eval-*
SAFETY_EVAL_DEFAULTS = {"dataset": "demo-harmful", "data_path": None, "split": None, "benign": "demo-benign",
                        "benign_path": None, "limit": None, "max_tokens": 64}
QA_EVAL_DEFAULTS = {"qa": "demo-mcq", "qa_path": None, "qa_limit": None}


def text_safety_args(eval_args: dict[str, Any]) -> dict[str, Any]:
    """The text safety study's options for ``--eval``: SAFETY_EVAL_DEFAULTS under the --eval-* values."""
    args = {**SAFETY_EVAL_DEFAULTS, **{k: v for k, v in eval_args.items() if v is not None}}
    safety_args = {k: args[k] for k in SAFETY_EVAL_DEFAULTS if args[k] is not None}
    safety_args.update(attacks=["none"], cache=args.get("cache", True))
    return safety_args


def evaluate_safety_alignment(run: TrainingRun, base_model: str, trained_model: str,
                              eval_args: dict[str, Any], progress: bool = True, vision: bool = False) -> list[Path]:
    """The safety study (attack ``none``, keywords judge) and the reasoning study's ``direct``
    strategy on a medical QA set (what the alignment cost), before and after. With ``vision`` (a
    vision-language model) the image trade-off of ``vision_eval.evaluate_vision`` instead."""
    if vision:
        from medtrust.train.vision_eval import evaluate_vision
        return evaluate_vision(run, base_model, trained_model, eval_args, progress)
    args = {**QA_EVAL_DEFAULTS, **{k: v for k, v in eval_args.items() if v is not None}}
    qa_args = {"dataset": args["qa"], "strategies": "direct", "faithfulness": False, "cache": args.get("cache", True)}
    if args["qa_path"]:
        qa_args["data_path"] = args["qa_path"]
    if args["qa_limit"]:
        qa_args["limit"] = args["qa_limit"]
    return [evaluate_before_after(run, "safety", base_model, trained_model, text_safety_args(eval_args),
                                  progress=progress),
            evaluate_before_after(run, "reasoning", base_model, trained_model, qa_args, label="medical-qa",
                                  progress=progress)]
