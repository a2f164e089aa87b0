"""`medtrust hallucination` and the hallucination step of `medtrust demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from medtrust import cli_options as o

DEMO_LIMIT = 12
DEMO_SAMPLES = 6
DEMO_MAX_TOKENS = 24


def register(app: typer.Typer) -> None:
    from medtrust.cli import echo, examples

    @app.command(epilog=examples(
        "medtrust hallucination --model embedded --dataset demo-qa --limit 20",
        "medtrust hallucination -m embedded -d pubmedqa --data-path ../shared/data/pubmedqa --limit 200",
        "medtrust hallucination -m hf/Qwen/Qwen2.5-7B-Instruct -M device=cuda -d demo-qa --lang zh "
        "--entailment nli/microsoft/deberta-large-mnli --prompt sentence",
        "medtrust hallucination --rescore runs/<run folder> --entailment exact --lenient",
        "medtrust hallucination --rescore runs/<run folder> --judge llm/embedded",
        "medtrust hallucination --model hf/llava-hf/llava-1.5-7b-hf --dataset demo-images --pope",
        "medtrust hallucination -m hf/./my-vlm -d image-manifest --data-path scans/manifest.jsonl --pope --limit 100"))
    def hallucination(
            model: o.Model = None, model_arg: o.ModelArg = None, dataset: o.Dataset = None,
            data_path: o.DataPath = None, split: o.Split = None, limit: o.Limit = None, seed: o.Seed = None,
            shuffle: o.Shuffle = None, lang: o.Lang = None, config: o.ConfigFile = None,
            runs_dir: o.RunsDir = None, resume: o.Resume = None, cache: o.Cache = None,
            batch_size: o.BatchSize = None, quiet: o.Quiet = False,
            samples: Annotated[Optional[int], typer.Option("--samples", help="high-temperature samples per "
                                                           "question (default 10)")] = None,
            temperature: Annotated[Optional[float], typer.Option(help="sampling temperature (default 1.0)")] = None,
            low_temperature: Annotated[Optional[float], typer.Option(help="temperature of the graded answer "
                                                                     "(default 0.1)")] = None,
            max_tokens: Annotated[Optional[int], typer.Option(help="16 letter/yes-no, 32 brief, 64 sentence")] = None,
            prompt: Annotated[Optional[str], typer.Option(help="brief or sentence")] = None,
            entailment: Annotated[Optional[str], typer.Option(help="nli/<hub id or path>, llm/<model>, "
                                                              "embedding[:threshold] (default), exact")] = None,
            lenient: Annotated[Optional[bool], typer.Option("--lenient/--strict", help="same meaning when neither "
                                                            "direction contradicts (default: both entail)")] = None,
            judge: Annotated[Optional[str], typer.Option(help="grade with llm/<model> instead of rules")] = None,
            few_shot: Annotated[Optional[int], typer.Option(help="worked examples from the train split")] = None,
            estimators: Annotated[Optional[str], typer.Option(help="comma-separated subset (default: all)")] = None,
            probe_position: Annotated[Optional[str], typer.Option(help="slt or tbg (SEP features)")] = None,
            probe_layers: Annotated[Optional[str], typer.Option(help="mid, last or a:b (SEP layers)")] = None,
            rescore: Annotated[Optional[str], typer.Option(help="re-score a saved run without the generator")] = None,
            pope: Annotated[bool, typer.Option("--pope", help="POPE object probing of a vision-language model "
                                               "(random/popular/adversarial negatives); --limit: images")] = False,
            pope_per_image: Annotated[Optional[int], typer.Option(help="POPE: positives (and negatives per split) "
                                                                  "per image (default 3)")] = None):
        """Hallucination detection: semantic entropy and its rivals, with AUROC, AURAC, PRR and intervals."""
        from medtrust.hallucination.study import HallucinationConfig, HallucinationStudy
        from medtrust.runs.execute import execute
        from medtrust.runs.execute import rescore as rescore_run

        flags = o.common(model, model_arg, dataset, data_path, split, limit, seed, shuffle, lang, runs_dir, cache,
                         batch_size)
        if pope or any(p and _is_pope_run(p) for p in (rescore, resume)):
            run = _pope(flags, config, resume, rescore, quiet, pope_per_image, max_tokens)
            echo(f"report: {run.report_path}")
            return
        flags.update(samples=samples, temperature=temperature, low_temperature=low_temperature,
                     max_tokens=max_tokens, prompt=prompt, entailment=entailment, lenient=lenient, judge=judge,
                     few_shot=few_shot, probe_position=probe_position, probe_layers=probe_layers,
                     estimators=[e.strip() for e in estimators.split(",") if e.strip()] if estimators else None)
        if rescore:
            overrides = {k: v for k, v in flags.items()
                         if k in ("entailment", "lenient", "judge", "estimators", "runs_dir", "probe_position",
                                  "probe_layers") and v is not None}
            run = rescore_run(HallucinationStudy(), rescore, overrides, progress=not quiet)
        else:
            cfg = o.make_config(HallucinationConfig, config, flags) if not resume else None
            run = execute(HallucinationStudy(), cfg, resume=resume, progress=not quiet)
        echo(results_table(run.results))
        echo(f"report: {run.report_path}")


TABLE_METRICS = ("auroc", "aurac", "prr", "accuracy_at_90")


def results_table(results: dict) -> str:
    """A plain-text table printed after a run: accuracy, then estimators x (AUROC, AURAC, PRR,
    accuracy at 90% answered), each value with its 90% interval, or the note that replaced it."""
    from medtrust.report.html import fmt_interval
    metrics = results.get("metrics", {})
    accuracy = metrics.get("accuracy") or {}
    lines = [f"accuracy {fmt_interval(accuracy, 3)}, n = {accuracy.get('n', 0)}",
             "| estimator | n | " + " | ".join(TABLE_METRICS) + " |", "|---" * (len(TABLE_METRICS) + 2) + "|"]
    for name, ms in (metrics.get("estimators") or {}).items():  # every metric of an estimator has the same n
        lines.append(f"| {name} | {ms['auroc'].get('n', '')} | "
                     + " | ".join(fmt_interval(ms.get(k), 3) for k in TABLE_METRICS) + " |")
    return "\n".join(lines)


def _is_pope_run(path: str) -> bool:
    from medtrust.hallucination.pope_study import POPE_STUDY
    from medtrust.runs.folder import RunFolder
    return RunFolder.open(path).config.get("study") == POPE_STUDY


def _pope(flags: dict, config, resume, rescore, quiet: bool, per_image, max_tokens):
    """Run (or re-parse) the POPE probing study."""
    from medtrust.hallucination.pope_study import PopeConfig, PopeStudy
    from medtrust.runs.execute import execute
    from medtrust.runs.execute import rescore as rescore_run
    if rescore:
        return rescore_run(PopeStudy(), rescore, {"runs_dir": flags.get("runs_dir")}, progress=not quiet)
    flags = {**flags, "per_image": per_image, "max_tokens": max_tokens}
    cfg = o.make_config(PopeConfig, config, flags) if not resume else None
    return execute(PopeStudy(), cfg, resume=resume, progress=not quiet)


def demo(runs_dir: str | Path, limit: int | None, progress: bool) -> dict[str, Path]:
    """The embedded model on demo-qa: 12 questions (plus the 12-row train split for the probe),
    6 samples each, answers of at most 24 tokens, so it stays well under the demo's time budget."""
    from medtrust.hallucination.study import HallucinationConfig, HallucinationStudy
    from medtrust.runs.execute import execute
    cfg = HallucinationConfig(model="embedded", dataset="demo-qa", limit=limit or DEMO_LIMIT, runs_dir=str(runs_dir),
                              samples=DEMO_SAMPLES, max_tokens=DEMO_MAX_TOKENS)
    return {"hallucination": execute(HallucinationStudy(), cfg, progress=progress).report_path}
