"""`medtrust reasoning` and the reasoning step of `medtrust demo`."""

from __future__ import annotations

from pathlib import Path

import typer

from medtrust import cli_options as o

#: the demo: demo-mcq and demo-calc, 12 questions each, direct and cot with short chains of thought
#: (about a minute and a half for both on 2 CPU cores, measured; see the study's tests)
DEMO_LIMIT = 12
DEMO_MAX_TOKENS = 96
DEMO_STRATEGIES = "direct,cot"


def register(app: typer.Typer) -> None:
    from medtrust.reasoning.study import ReasoningStudy

    o.register_study_verb(app, ReasoningStudy, examples=(
        "medtrust reasoning --model embedded --dataset demo-mcq --strategies direct,cot --limit 20",
        "medtrust reasoning -m embedded -d medqa --data-path ../shared/data/medqa --strategies direct,cot,sc:5 "
        "--limit 100",
        "medtrust reasoning -m embedded -d demo-calc --strategies direct,cot,few-shot-cot --lang zh",
        "medtrust reasoning -m embedded -d medcalc --data-path ../shared/data/medcalc --strategies cot --limit 50",
        "medtrust reasoning -m embedded -d pubmedqa --data-path ../shared/data/pubmedqa --split test "
        "--scoring loglik",
        "medtrust reasoning -m openai-api/deepseek/deepseek-reasoner -d medqa --data-path data/medqa "
        "--strategies direct,think --limit 50",
        "medtrust reasoning -m hf/llava-hf/llava-1.5-7b-hf -d demo-images --strategies direct,cot --limit 40",
        "medtrust reasoning --rescore runs/<run folder>",
        "medtrust reasoning --resume runs/<run folder>"),
        doc="Reasoning: direct vs chain of thought vs self-consistency vs think-format, answer extraction, "
            "MedCalc-Bench grading, lm-eval style log-likelihood scoring, faithfulness by early answering.",
        after=lambda run: results_table(run.results))


def results_table(results: dict) -> str:
    """A plain-text table of accuracy per strategy (printed after a run)."""
    from medtrust.report.format import fmt
    lines = ["| strategy | n | accuracy | 90% CI | no answer | tokens/answer | early-answering AOC |",
             "|---|---|---|---|---|---|---|"]
    for name, m in results.get("metrics", {}).items():
        if not isinstance(m, dict) or "accuracy" not in m:
            continue
        acc = m["accuracy"]
        ci = acc.get("ci")
        aoc = m.get("early_answering", {}).get("aoc", {}).get("value")
        lines.append(f"| {name} | {acc.get('n', '')} | {fmt(acc['value'])} | "
                     f"{f'[{fmt(ci[0])}, {fmt(ci[1])}]' if ci else ''} | {fmt(m['extraction_failures']['value'])} | "
                     f"{fmt(m.get('tokens_per_answer', {}).get('value'))} | {fmt(aoc) if aoc is not None else ''} |")
    return "\n".join(lines)


def demo(runs_dir: str | Path, limit: int | None, progress: bool) -> dict[str, Path]:
    """The embedded model on demo-mcq and demo-calc (12 questions each unless --limit), strategies
    direct and cot, chains of thought of at most 96 tokens."""
    from medtrust.pipeline import execute
    from medtrust.reasoning.study import ReasoningConfig, ReasoningStudy
    reports = {}
    for dataset in ("demo-mcq", "demo-calc"):
        cfg = ReasoningConfig(model="embedded", dataset=dataset, limit=limit or DEMO_LIMIT, runs_dir=str(runs_dir),
                              strategies=DEMO_STRATEGIES, max_tokens=DEMO_MAX_TOKENS)
        reports[f"reasoning {dataset}"] = execute(ReasoningStudy(), cfg, progress=progress).report_path
    return reports
