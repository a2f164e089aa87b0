"""`medtrust hallucination` and the hallucination step of `medtrust demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from medtrust import cli_options as o
from medtrust.config import RunConfig

DEMO_LIMIT = 12
DEMO_SAMPLES = 6
DEMO_MAX_TOKENS = 24


def register(app: typer.Typer) -> None:
    import inspect

    from medtrust.hallucination.study import HallucinationStudy

    extra = [
        inspect.Parameter("pope", inspect.Parameter.KEYWORD_ONLY, default=False,
                          annotation=Annotated[bool, typer.Option(
                              "--pope", help="POPE object probing of a vision-language model (random/popular/"
                              "adversarial negatives); --limit: images")]),
        inspect.Parameter("pope_per_image", inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=Annotated[Optional[int], typer.Option(
                              help="POPE / grounding: positives (and negatives per split) per image (default 3)")]),
        inspect.Parameter("chair", inspect.Parameter.KEYWORD_ONLY, default=False,
                          annotation=Annotated[bool, typer.Option(
                              "--chair", help="CHAIR: hallucinated objects in a vision-language model's detailed "
                              "descriptions (CHAIR_i, CHAIR_s, recall); --limit: images")]),
        inspect.Parameter("vocabulary", inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=Annotated[Optional[str], typer.Option(
                              help="CHAIR: JSON or YAML file {object: [synonym, ...]} (default: the dataset's "
                              "objects; demo-images has its own)")]),
        inspect.Parameter("grounding", inspect.Parameter.KEYWORD_ONLY, default=False,
                          annotation=Annotated[bool, typer.Option(
                              "--grounding", help="grounding: boxes for present objects (IoU) and absent ones "
                              "(hallucinated-box rate); --limit: images")]),
        inspect.Parameter("box_format", inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=Annotated[Optional[str], typer.Option(
                              help="grounding: scale of the replies' boxes: auto, pixels, normalised or 1000 "
                              "(default auto)")]),
        inspect.Parameter("snowball", inspect.Parameter.KEYWORD_ONLY, default=False,
                          annotation=Annotated[bool, typer.Option(
                              "--snowball", help="hallucination snowballing: a planted false turn before a "
                              "follow-up (clean vs planted), and own wrong answers checked alone / in context")]),
        inspect.Parameter("snowball_modes", inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=Annotated[Optional[str], typer.Option(
                              help="snowball: planted, own or planted,own (default both)")]),
        inspect.Parameter("snowball_kinds", inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=Annotated[Optional[str], typer.Option(
                              help="snowball: false statements, comma-separated: absent-object, wrong-colour, "
                              "wrong-count (images), wrong-option, wrong-answer (text) (default: all that fit)")]),
    ]
    o.register_study_verb(app, HallucinationStudy, examples=(
        "medtrust hallucination --model embedded --dataset demo-qa --limit 20",
        "medtrust hallucination -m embedded -d pubmedqa --data-path ../shared/data/pubmedqa --limit 200",
        "medtrust hallucination -m hf/Qwen/Qwen2.5-7B-Instruct -M device=cuda -d demo-qa --lang zh "
        "--entailment nli/microsoft/deberta-large-mnli --prompt sentence",
        "medtrust hallucination --rescore runs/<run folder> --entailment exact --lenient",
        "medtrust hallucination --rescore runs/<run folder> --judge llm/embedded",
        "medtrust hallucination --model hf/llava-hf/llava-1.5-7b-hf --dataset demo-images --pope",
        "medtrust hallucination -m hf/./my-vlm -d image-manifest --data-path scans/manifest.jsonl --pope --limit 100",
        "medtrust hallucination -m hf/llava-hf/llava-1.5-7b-hf -d demo-images --chair --limit 30",
        "medtrust hallucination --rescore runs/<chair run> --vocabulary my_vocabulary.yaml",
        "medtrust hallucination -m hf/Qwen/Qwen2-VL-2B-Instruct -d demo-images --grounding --box-format 1000",
        "medtrust hallucination -m embedded -d demo-mcq --snowball --limit 20",
        "medtrust hallucination -m hf/llava-hf/llava-1.5-7b-hf -d demo-images --snowball --snowball-modes planted"),
        doc="Hallucination detection: semantic entropy and its rivals, with AUROC, AURAC, PRR and intervals.",
        extra=extra, handle=_maybe_vision, after=_after)


def _after(run) -> str | None:
    results = run.results
    return results_table(results) if results.get("study") == "hallucination" else None


def _maybe_vision(flags: dict, extra: dict, control: dict):
    """The image-hallucination studies: POPE, CHAIR or grounding, when flagged or resumed / re-scored."""
    from medtrust.errors import MedtrustError
    given = [f"--{k}" for k in ("pope", "chair", "grounding", "snowball") if extra[k]]
    if len(given) > 1:
        raise MedtrustError(f"{' and '.join(given)} are separate studies.", "run one of them at a time")
    runs = [_study_of(p) for p in (control["rescore"], control["resume"]) if p]
    kinds = {g[2:] for g in given} | {s.split("-", 1)[1] for s in runs if s and s.startswith("hallucination-")}
    for option, study in (("vocabulary", "chair"), ("box_format", "grounding"), ("snowball_modes", "snowball"),
                           ("snowball_kinds", "snowball")):
        if extra[option] is not None and study not in kinds:
            raise MedtrustError(f"--{option.replace('_', '-')} is an option of --{study}.",
                                f"add --{study}, or drop it")
    for handle in (_maybe_pope, _maybe_chair, _maybe_grounding, _maybe_snowball):
        run = handle(flags, extra, control)
        if run is not None:
            return run
    return None


def _study_of(path: str) -> str | None:
    from medtrust.runs.folder import RunFolder
    return RunFolder.open(path).config.get("study")


def _given_run_of(control: dict, study: str) -> bool:
    return any(p and _study_of(p) == study for p in (control["rescore"], control["resume"]))


def _maybe_chair(flags: dict, extra: dict, control: dict):
    """``--chair`` (or a CHAIR run given to --resume / --rescore) runs the CHAIR study."""
    from medtrust.hallucination.chair_study import CHAIR_STUDY, ChairStudy
    if not (extra["chair"] or _given_run_of(control, CHAIR_STUDY)):
        return None
    common = set(RunConfig.model_fields) | {"max_tokens"}
    return o.run_study_verb(ChairStudy, {**{k: v for k, v in flags.items() if k in common},
                                         "vocabulary": extra["vocabulary"]}, **control)


def _maybe_grounding(flags: dict, extra: dict, control: dict):
    """``--grounding`` (or a grounding run given to --resume / --rescore) runs the grounding study."""
    from medtrust.hallucination.grounding_study import GROUNDING_STUDY, GroundingStudy
    if not (extra["grounding"] or _given_run_of(control, GROUNDING_STUDY)):
        return None
    from medtrust.hallucination.boxes import BOX_FORMATS
    if extra["box_format"] is not None and extra["box_format"] not in BOX_FORMATS:
        from medtrust.errors import MedtrustError
        raise MedtrustError(f"Unknown --box-format '{extra['box_format']}'.", f"use one of: {', '.join(BOX_FORMATS)}")
    common = set(RunConfig.model_fields) | {"max_tokens"}
    return o.run_study_verb(GroundingStudy, {**{k: v for k, v in flags.items() if k in common},
                                             "per_image": extra["pope_per_image"], "box_format": extra["box_format"]},
                            **control)


def _maybe_snowball(flags: dict, extra: dict, control: dict):
    """``--snowball`` (or a snowball run given to --resume / --rescore) runs the snowball study."""
    from medtrust.hallucination.snowball_study import SNOWBALL_STUDY, SnowballStudy
    if not (extra["snowball"] or _given_run_of(control, SNOWBALL_STUDY)):
        return None
    common = set(RunConfig.model_fields) | {"max_tokens"}
    return o.run_study_verb(SnowballStudy, {**{k: v for k, v in flags.items() if k in common},
                                            "modes": extra["snowball_modes"], "kinds": extra["snowball_kinds"]},
                            **control)


def _maybe_pope(flags: dict, extra: dict, control: dict):
    """``--pope`` (or a POPE run given to --resume / --rescore) runs the POPE probing study."""
    from medtrust.hallucination.pope_study import PopeStudy
    if not (extra["pope"] or any(p and _is_pope_run(p) for p in (control["rescore"], control["resume"]))):
        return None
    common = set(RunConfig.model_fields) | {"max_tokens"}
    pope_flags = {k: v for k, v in flags.items() if k in common}
    pope_flags["per_image"] = extra["pope_per_image"]
    return o.run_study_verb(PopeStudy, pope_flags, **control)


TABLE_METRICS = ("auroc", "aurac", "prr", "accuracy_at_90")


def results_table(results: dict) -> str:
    """A plain-text table printed after a run: accuracy, then estimators x (AUROC, AURAC, PRR,
    accuracy at 90% answered), each value with its 90% interval, or the note that replaced it."""
    from medtrust.report.format import fmt_interval
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


def demo(runs_dir: str | Path, limit: int | None, progress: bool) -> dict[str, Path]:
    """The embedded model on demo-qa: 12 questions (plus the 12-row train split for the probe),
    6 samples each, answers of at most 24 tokens, so it stays well under the demo's time budget."""
    from medtrust.hallucination.study import HallucinationConfig, HallucinationStudy
    from medtrust.pipeline import execute
    cfg = HallucinationConfig(model="embedded", dataset="demo-qa", limit=limit or DEMO_LIMIT, runs_dir=str(runs_dir),
                              samples=DEMO_SAMPLES, max_tokens=DEMO_MAX_TOKENS)
    reports = {"hallucination": execute(HallucinationStudy(), cfg, progress=progress).report_path}
    return {**reports, **image_demo(runs_dir, limit, progress)}


DEMO_IMAGES = 8


def image_demo(runs_dir: str | Path, limit: int | None, progress: bool) -> dict[str, Path]:
    """POPE on the project's own vision-language model (embedded-vlm), 8 held-out demo-images scenes."""
    from medtrust.hallucination.pope_study import PopeConfig, PopeStudy
    from medtrust.pipeline import execute
    cfg = PopeConfig(model="embedded-vlm", dataset="demo-images", limit=min(limit or DEMO_IMAGES, DEMO_IMAGES),
                     runs_dir=str(runs_dir))
    return {"hallucination-pope": execute(PopeStudy(), cfg, progress=progress).report_path}
