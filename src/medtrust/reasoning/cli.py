"""`medtrust reasoning` and the reasoning step of `medtrust demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from medtrust import cli_options as o

#: the demo: demo-mcq and demo-calc, 12 questions each, direct and cot with short chains of thought
#: (about a minute and a half for both on 2 CPU cores, measured; see the study's tests)
DEMO_LIMIT = 12
DEMO_MAX_TOKENS = 96
DEMO_STRATEGIES = "direct,cot"


def register(app: typer.Typer) -> None:
    from medtrust.cli import echo, examples

    @app.command(epilog=examples(
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
        "medtrust reasoning --resume runs/<run folder>"))
    def reasoning(
            model: o.Model = None, model_arg: o.ModelArg = None, dataset: o.Dataset = None,
            data_path: o.DataPath = None, split: o.Split = None, limit: o.Limit = None, seed: o.Seed = None,
            shuffle: o.Shuffle = None, lang: o.Lang = None, config: o.ConfigFile = None,
            runs_dir: o.RunsDir = None, resume: o.Resume = None, cache: o.Cache = None,
            batch_size: o.BatchSize = None, quiet: o.Quiet = False,
            strategies: Annotated[Optional[str], typer.Option(help="comma-separated: direct, cot, few-shot-cot, "
                                                              "sc:N (self-consistency), think (default "
                                                              "direct,cot)")] = None,
            scoring: Annotated[Optional[str], typer.Option(help="generate (strategies) or loglik (choices scored "
                                                           "by log-likelihood as lm-evaluation-harness)")] = None,
            max_tokens: Annotated[Optional[int], typer.Option(help="new tokens of a chain of thought (default "
                                                              "cot/few-shot-cot/sc 1024, think 2048; embedded "
                                                              "model: 128 and 160)")] = None,
            direct_max_tokens: Annotated[Optional[int], typer.Option(help="new tokens of a direct answer "
                                                                     "(default 32; embedded model: 16)")] = None,
            temperature: Annotated[Optional[float], typer.Option(help="for direct, cot, few-shot-cot, think "
                                                                 "(default 0 = greedy)")] = None,
            sc_temperature: Annotated[Optional[float], typer.Option(help="for the sc:N samples (default 0.7)")] = None,
            shots: Annotated[Optional[int], typer.Option(help="worked examples for few-shot-cot (default 3)")] = None,
            faithfulness: Annotated[Optional[bool], typer.Option("--faithfulness/--no-faithfulness",
                                                                 help="early answering on each greedy chain of "
                                                                 "thought (default on)")] = None,
            early_max_tokens: Annotated[Optional[int], typer.Option(help="tokens of a forced early answer "
                                                                    "(default 16)")] = None,
            early_limit: Annotated[Optional[int], typer.Option(help="chains of thought per strategy that get "
                                                               "early answering (0 = all; default all, embedded "
                                                               "model: the first 32)")] = None,
            rescore: Annotated[Optional[str], typer.Option(help="extract and grade a saved run again, without "
                                                           "the model")] = None):
        """Reasoning: direct vs chain of thought vs self-consistency vs think-format, answer extraction,
        MedCalc-Bench grading, lm-eval style log-likelihood scoring, faithfulness by early answering."""
        from medtrust.reasoning.study import ReasoningConfig, ReasoningStudy
        from medtrust.runs.execute import execute
        from medtrust.runs.execute import rescore as rescore_run

        flags = o.common(model, model_arg, dataset, data_path, split, limit, seed, shuffle, lang, runs_dir, cache,
                         batch_size)
        flags.update(strategies=strategies, scoring=scoring, max_tokens=max_tokens,
                     direct_max_tokens=direct_max_tokens, temperature=temperature,
                     sc_temperature=sc_temperature, shots=shots, faithfulness=faithfulness,
                     early_max_tokens=early_max_tokens, early_limit=early_limit)
        if rescore:
            overrides = {k: v for k, v in flags.items() if k in ("runs_dir", "batch_size")}
            run = rescore_run(ReasoningStudy(), rescore, overrides, progress=not quiet)
        else:
            cfg = o.make_config(ReasoningConfig, config, flags) if not resume else None
            run = execute(ReasoningStudy(), cfg, resume=resume, progress=not quiet)
        echo(results_table(run.results))
        echo(f"report: {run.report_path}")


def results_table(results: dict) -> str:
    """A plain-text table of accuracy per strategy (printed after a run)."""
    from medtrust.report.html import fmt
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
    from medtrust.reasoning.study import ReasoningConfig, ReasoningStudy
    from medtrust.runs.execute import execute
    reports = {}
    for dataset in ("demo-mcq", "demo-calc"):
        cfg = ReasoningConfig(model="embedded", dataset=dataset, limit=limit or DEMO_LIMIT, runs_dir=str(runs_dir),
                              strategies=DEMO_STRATEGIES, max_tokens=DEMO_MAX_TOKENS)
        reports[f"reasoning {dataset}"] = execute(ReasoningStudy(), cfg, progress=progress).report_path
    return reports
