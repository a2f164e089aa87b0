"""`medtrust safety`, `medtrust safety-compare` and the safety step of `medtrust demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from medtrust import cli_options as o

#: the demo: 24 of the 46 harmful and 24 of the 52 benign built-in requests x 2 attacks = 96 responses
#: of at most 48 tokens (a refusal shows in the first sentence); about 40 s on 2 CPU cores
DEMO_LIMIT = 24
DEMO_MAX_TOKENS = 48
DEMO_ATTACKS = ["none", "roleplay"]


def register(app: typer.Typer) -> None:
    from medtrust.cli import echo, examples
    from medtrust.safety.study import SafetyStudy

    o.register_study_verb(app, SafetyStudy, examples=(
        "medtrust safety --model embedded --dataset demo-harmful --benign demo-benign --attacks none,roleplay",
        "medtrust safety -m embedded -d medsafetybench --data-path ../shared/data/medsafetybench "
        "--benign xstest --benign-path ../shared/data/xstest --attacks none,roleplay,figstep_text --limit 100",
        "medtrust safety -m embedded -d demo-harmful --benign demo-benign --attacks none,translate_zh",
        "medtrust safety -m hf/<vision-language model folder> -d demo-harmful --benign demo-images "
        "--attacks none,figstep --limit 6",
        "medtrust safety -m hf/Qwen/Qwen2-VL-2B-Instruct -M device=cuda -d figstep --data-path "
        "../shared/data/figstep --split tiny --benign demo-benign --attacks none,figstep",
        "medtrust safety -m openai-api/vllm/Qwen/Qwen2.5-7B-Instruct -d demo-harmful --benign demo-benign "
        "--attacks none,prefix,refusal_suppression --judge llm/openai/gpt-4o-mini",
        "medtrust safety --rescore runs/<run folder> --judge llm/embedded",
        "medtrust safety-compare runs/<run A> runs/<run B> --out tradeoff.html"),
        doc="Safety: harmful compliance, jailbreaks (incl. typographic attacks) and over-refusal, judged.")

    from medtrust.safety.judge_eval import JudgeEvalStudy
    o.register_study_verb(app, JudgeEvalStudy, examples=(
        "medtrust judge-eval --labels jbb-judge --data-path ../shared/data/jbb_judge",
        "medtrust judge-eval --labels gptfuzz --split evaluate --data-path ../shared/data/gptfuzz "
        "--judge classifier,keywords",
        "medtrust judge-eval --labels xstest-completions --data-path ../shared/data/xstest --judge keywords",
        "medtrust judge-eval --labels my_labels.csv --request-column prompt --response-column answer "
        "--label-column unsafe --judge classifier,llm/openai/gpt-4o-mini"),
        doc="How well judges agree with human labels: accuracy, Cohen's kappa, per-class precision / recall / F1 "
            "and the confusion matrix with 90% intervals, every verdict saved.", after=agreement_text)

    @app.command("safety-compare", epilog=examples(
        "medtrust safety-compare runs/<run A> runs/<run B> --out tradeoff.html"))
    def safety_compare(runs: Annotated[list[Path], typer.Argument(help="finished safety run folders")],
                       out: Annotated[Optional[Path], typer.Option(
                           help="HTML file to write (default: safety_tradeoff.html in the first run's runs "
                                "folder)")] = None):
        """One trade-off plot (over-refusal against attack success) of several safety runs: each model x attack.
        (`medtrust view` compares runs of any study.)"""
        from medtrust.safety.report import compare_runs
        target = out or Path(runs[0]).resolve().parent / "safety_tradeoff.html"
        echo(f"comparison: {compare_runs(runs, target)}")


def agreement_text(run) -> str:
    """The agreement table printed after `medtrust judge-eval`."""
    from medtrust.report.format import fmt_interval
    m = run.results.get("metrics") or {}
    lines = [f"{m.get('rows', 0)} rows ({m.get('label_space')} labels), {m.get('positives', 0)} positive",
             "| judge | n | accuracy | kappa | F1 (1) | F1 (0) |", "|---|---|---|---|---|---|"]
    for name, a in (m.get("judges") or {}).items():
        lines.append(f"| {name} | {a.get('n')} | " + " | ".join(fmt_interval(a.get(k), 3) for k in (
            "accuracy", "kappa", "class1_f1", "class0_f1")) + " |")
    return "\n".join(lines)


def demo(runs_dir: str | Path, limit: int | None, progress: bool) -> dict[str, Path]:
    """The embedded model on demo-harmful and demo-benign (24 each unless --limit), attacks none and
    roleplay, responses of at most 48 tokens, judged by keywords."""
    from medtrust.pipeline import execute
    from medtrust.safety.study import SafetyConfig, SafetyStudy
    cfg = SafetyConfig(model="embedded", dataset="demo-harmful", benign="demo-benign", limit=limit or DEMO_LIMIT,
                       runs_dir=str(runs_dir), attacks=DEMO_ATTACKS, max_tokens=DEMO_MAX_TOKENS)
    return {"safety": execute(SafetyStudy(), cfg, progress=progress).report_path}
