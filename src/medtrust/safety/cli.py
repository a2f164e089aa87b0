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

    @app.command(epilog=examples(
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
        "medtrust safety-compare runs/<run A> runs/<run B> --out tradeoff.html"))
    def safety(
            model: o.Model = None, model_arg: o.ModelArg = None, dataset: o.Dataset = None,
            data_path: o.DataPath = None, split: o.Split = None, limit: o.Limit = None, seed: o.Seed = None,
            shuffle: o.Shuffle = None, lang: o.Lang = None, config: o.ConfigFile = None,
            runs_dir: o.RunsDir = None, resume: o.Resume = None, cache: o.Cache = None,
            batch_size: o.BatchSize = None, quiet: o.Quiet = False,
            benign: Annotated[Optional[str], typer.Option(help="benign requests that should be answered "
                                                          "(default xstest: its 250 safe prompts)")] = None,
            benign_path: Annotated[Optional[str], typer.Option(help="local folder of the benign dataset, or "
                                                               "hf:<dataset id>")] = None,
            benign_split: Annotated[Optional[str], typer.Option(help="split of the benign dataset "
                                                                "(default: safe for xstest)")] = None,
            benign_kinds: Annotated[Optional[str], typer.Option(help="comma-separated question kinds kept from a "
                                                                "benign image dataset, or all (default for "
                                                                "demo-images: benign-clinical)")] = None,
            attacks: Annotated[Optional[str], typer.Option(help="comma-separated: none, roleplay, prefix, "
                                                           "refusal_suppression, hypothetical, educational, "
                                                           "translate_zh, figstep, figstep_text "
                                                           "(default none)")] = None,
            judge: Annotated[Optional[str], typer.Option(help="comma-separated: keywords (always run), "
                                                         "llm/<model>, llamaguard/<model>")] = None,
            judge_arg: Annotated[Optional[list[str]], typer.Option("--judge-arg", "-J", help="judge backend "
                                                                   "argument key=value (repeatable)")] = None,
            max_tokens: Annotated[Optional[int], typer.Option(help="tokens per response (default 64: a refusal "
                                                              "shows in the first sentences)")] = None,
            temperature: Annotated[Optional[float], typer.Option(help="default 0 (greedy)")] = None,
            system: Annotated[Optional[str], typer.Option(help="system prompt")] = None,
            harm_threshold: Annotated[Optional[int], typer.Option(help="llm harmfulness score counted as a "
                                                                  "successful attack (default 4)")] = None,
            rescore: Annotated[Optional[str], typer.Option(help="re-judge a saved run without the generator")] = None):
        """Safety: harmful compliance, jailbreaks (incl. typographic attacks) and over-refusal, judged."""
        from medtrust.models.registry import parse_model_args
        from medtrust.runs.execute import execute
        from medtrust.runs.execute import rescore as rescore_run
        from medtrust.safety.study import SafetyConfig, SafetyStudy

        flags = o.common(model, model_arg, dataset, data_path, split, limit, seed, shuffle, lang, runs_dir, cache,
                         batch_size)
        flags.update(benign=benign, benign_path=benign_path, benign_split=benign_split, benign_kinds=benign_kinds,
                     attacks=attacks, judge=judge, judge_args=parse_model_args(judge_arg), max_tokens=max_tokens,
                     temperature=temperature, system=system, harm_threshold=harm_threshold)
        if rescore:
            overrides = {k: v for k, v in flags.items()
                         if k in ("judge", "judge_args", "harm_threshold", "runs_dir", "cache", "batch_size")}
            run = rescore_run(SafetyStudy(), rescore, overrides, progress=not quiet)
        else:
            cfg = o.make_config(SafetyConfig, config, flags) if not resume else None
            run = execute(SafetyStudy(), cfg, resume=resume, progress=not quiet)
        echo(f"report: {run.report_path}")

    @app.command("safety-compare", epilog=examples(
        "medtrust safety-compare runs/<run A> runs/<run B> --out tradeoff.html"))
    def safety_compare(runs: Annotated[list[Path], typer.Argument(help="finished safety run folders")],
                       out: Annotated[Path, typer.Option(help="HTML file to write")] = Path("safety_tradeoff.html")):
        """One trade-off plot (over-refusal against attack success) of several safety runs: each model x attack."""
        from medtrust.safety.report import compare_runs
        echo(f"comparison: {compare_runs(runs, out)}")


def demo(runs_dir: str | Path, limit: int | None, progress: bool) -> dict[str, Path]:
    """The embedded model on demo-harmful and demo-benign (24 each unless --limit), attacks none and
    roleplay, responses of at most 48 tokens, judged by keywords."""
    from medtrust.runs.execute import execute
    from medtrust.safety.study import SafetyConfig, SafetyStudy
    cfg = SafetyConfig(model="embedded", dataset="demo-harmful", benign="demo-benign", limit=limit or DEMO_LIMIT,
                       runs_dir=str(runs_dir), attacks=DEMO_ATTACKS, max_tokens=DEMO_MAX_TOKENS)
    return {"safety": execute(SafetyStudy(), cfg, progress=progress).report_path}
