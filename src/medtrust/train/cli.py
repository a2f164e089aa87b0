"""`medtrust train sft|dpo|grpo|report`: the `train` sub-app. Heavy imports stay inside commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

train_app = typer.Typer(no_args_is_help=True, rich_markup_mode="markdown",
                        help="Fine-tune a model with TRL (safety SFT, DPO, GRPO); each run writes a run folder.")

Opt = typer.Option
ModelO = Annotated[Optional[str], Opt("--model", "-m", help="embedded or hf/<hub id or local folder> "
                                      "(default embedded)")]
DatasetO = Annotated[Optional[str], Opt("--dataset", "-d", help="harmful requests with safe responses "
                                        "(default medsafetybench)")]
DataPathO = Annotated[Optional[str], Opt("--data-path", help="local folder of --dataset (e.g. ../shared/data/"
                                         "medsafetybench)")]
SplitO = Annotated[Optional[str], Opt("--split", help="split of --dataset (default train)")]
LimitO = Annotated[Optional[int], Opt("--limit", help="use N harmful rows (a seeded random subset)")]
SeedO = Annotated[Optional[int], Opt("--seed", help="seed for data order and training (default 0)")]
LoraO = Annotated[Optional[bool], Opt("--lora/--full", help="train a LoRA adapter (PEFT) instead of all weights")]
LoraRO = Annotated[Optional[int], Opt("--lora-r", help="LoRA rank (default 16)")]
LoraAlphaO = Annotated[Optional[int], Opt("--lora-alpha", help="LoRA alpha (default 32)")]
LoraTargetsO = Annotated[Optional[str], Opt("--lora-targets", help="comma-separated module names "
                                            "(default all-linear)")]
MergeO = Annotated[Optional[bool], Opt("--merge/--adapter", help="save LoRA merged into the weights (default) "
                                       "or as an adapter folder (also loads as hf/<folder>)")]
EpochsO = Annotated[Optional[float], Opt("--epochs", help="passes over the data (default 1)")]
LrO = Annotated[Optional[float], Opt("--lr", help="learning rate")]
MaxStepsO = Annotated[Optional[int], Opt("--max-steps", help="stop after N optimizer steps (overrides --epochs)")]
TimeLimitO = Annotated[Optional[float], Opt("--time-limit", help="stop training after this many minutes "
                                            "(checkpoint saved; the lr schedule follows --max-steps)")]
BatchO = Annotated[Optional[int], Opt("--batch-size", help="rows per device step (default 8)")]
AccumO = Annotated[Optional[int], Opt("--grad-accum", help="gradient accumulation steps (default 1)")]
MaxLenO = Annotated[Optional[int], Opt("--max-length", help="tokens per training row, longer rows are cut "
                                       "(default 256)")]
LogStepsO = Annotated[Optional[int], Opt("--logging-steps", help="log every N steps (default 5)")]
SaveStepsO = Annotated[Optional[int], Opt("--save-steps", help="checkpoint every N steps for --resume (default 50)")]
KeepO = Annotated[Optional[bool], Opt("--keep-checkpoints", help="keep checkpoints/ after the model is saved")]
DeviceO = Annotated[Optional[str], Opt("--device", help="cuda, cuda:1, mps or cpu (default: the best available)")]
DtypeO = Annotated[Optional[str], Opt("--dtype", help="float32, bfloat16 or float16 (default: float32 on CPU)")]
OutO = Annotated[Optional[str], Opt("--out", help="run folder to write (default runs/<time>_train-<kind>_...)")]
RunsDirO = Annotated[Optional[str], Opt("--runs-dir", help="where run folders are created (default runs)")]
ResumeO = Annotated[Optional[str], Opt("--resume", help="continue an interrupted training run folder from its "
                                       "last checkpoint")]
QuietO = Annotated[bool, Opt("--quiet", "-q", help="no progress bars")]
EvalO = Annotated[Optional[bool], Opt("--eval", help="evaluate the base and the trained model (safety study + "
                                      "medical QA accuracy) and add a before/after table to the report")]
EvalDatasetO = Annotated[Optional[str], Opt("--eval-dataset", help="harmful set for --eval (default demo-harmful)")]
EvalDataPathO = Annotated[Optional[str], Opt("--eval-data-path", help="its local folder")]
EvalSplitO = Annotated[Optional[str], Opt("--eval-split", help="its split (medsafetybench: test by default)")]
EvalBenignO = Annotated[Optional[str], Opt("--eval-benign", help="benign set for --eval (default demo-benign)")]
EvalBenignPathO = Annotated[Optional[str], Opt("--eval-benign-path", help="its local folder")]
EvalLimitO = Annotated[Optional[int], Opt("--eval-limit", help="requests per side for --eval")]
EvalQaO = Annotated[Optional[str], Opt("--eval-qa", help="medical QA set for --eval (default demo-mcq)")]
EvalQaPathO = Annotated[Optional[str], Opt("--eval-qa-path", help="its local folder")]
EvalQaLimitO = Annotated[Optional[int], Opt("--eval-qa-limit", help="questions for --eval QA accuracy")]
EvalCacheO = Annotated[Optional[bool], Opt("--cache/--no-cache", help="reuse cached generations in --eval "
                                           "(default on)")]


def common_flags(**flags: Any) -> dict[str, Any]:
    """Options given on the command line (None = not given), with the --eval-* ones nested."""
    eval_keys = {"eval_dataset": "dataset", "eval_data_path": "data_path", "eval_split": "split",
                 "eval_benign": "benign", "eval_benign_path": "benign_path", "eval_limit": "limit",
                 "eval_qa": "qa", "eval_qa_path": "qa_path", "eval_qa_limit": "qa_limit", "cache": "cache"}
    eval_args = {eval_keys[k]: v for k, v in flags.items() if k in eval_keys and v is not None}
    out = {k: v for k, v in flags.items() if k not in eval_keys and v is not None}
    if eval_args:
        out["eval_args"] = eval_args
    return out


def build_options(cls, flags: dict[str, Any], resume: str | None, kind: str):
    """Options from the flags, or from the interrupted run's config.json with ``--resume``."""
    from pydantic import ValidationError

    from medtrust.errors import MedtrustError
    from medtrust.train.common import load_run_config
    values = dict(flags)
    if resume:
        values = {k: v for k, v in load_run_config(resume, kind).items() if k != "kind"}
    try:
        return cls(**values)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise MedtrustError(f"Invalid training options: {problems}.", "fix the flag") from e


def examples(*lines: str) -> str:
    from medtrust.cli import examples as cli_examples
    return cli_examples(*lines)


@train_app.command(epilog=examples(
    "medtrust train sft --model embedded --dataset medsafetybench --data-path ../shared/data/medsafetybench "
    "--mix demo-benign:0.5,demo-qa:0.5 --max-steps 200 --eval",
    "medtrust train sft -m embedded -d medsafetybench --data-path ../shared/data/medsafetybench --mix "
    "pubmedqa:1 --mix-path pubmedqa=../shared/data/pubmedqa --lora --adapter --epochs 1",
    "medtrust train sft -m hf/Qwen/Qwen2.5-0.5B-Instruct -d medsafetybench --data-path data/medsafetybench "
    "--lora --device cuda --batch-size 16 --eval --eval-dataset medsafetybench --eval-data-path "
    "data/medsafetybench --eval-benign xstest --eval-benign-path data/xstest --eval-limit 100",
    "medtrust train sft --resume runs/20260101T000000Z_train-sft_embedded_ab12cd"))
def sft(model: ModelO = None, dataset: DatasetO = None, data_path: DataPathO = None, split: SplitO = None,
        limit: LimitO = None, seed: SeedO = None,
        mix: Annotated[Optional[str], Opt("--mix", help="benign data: NAME:RATIO,... = RATIO benign rows per "
                                          "refusal row from each set (default demo-benign:0.5,demo-qa:0.5)")] = None,
        mix_path: Annotated[Optional[list[str]], Opt("--mix-path", help="NAME=PATH: local folder of a --mix "
                                                     "dataset (repeatable)")] = None,
        benign_targets: Annotated[Optional[str], Opt("--benign-targets", help="auto (gold answers where the set "
                                                     "has them, else the base model's own), gold or self")] = None,
        lora: LoraO = None, lora_r: LoraRO = None, lora_alpha: LoraAlphaO = None, lora_targets: LoraTargetsO = None,
        merge: MergeO = None, epochs: EpochsO = None, lr: LrO = None, max_steps: MaxStepsO = None,
        time_limit: TimeLimitO = None,
        batch_size: BatchO = None, grad_accum: AccumO = None, max_length: MaxLenO = None,
        logging_steps: LogStepsO = None, save_steps: SaveStepsO = None, keep_checkpoints: KeepO = None,
        device: DeviceO = None, dtype: DtypeO = None, out: OutO = None, runs_dir: RunsDirO = None,
        resume: ResumeO = None, quiet: QuietO = False, eval: EvalO = None, eval_dataset: EvalDatasetO = None,
        eval_data_path: EvalDataPathO = None, eval_split: EvalSplitO = None, eval_benign: EvalBenignO = None,
        eval_benign_path: EvalBenignPathO = None, eval_limit: EvalLimitO = None, eval_qa: EvalQaO = None,
        eval_qa_path: EvalQaPathO = None, eval_qa_limit: EvalQaLimitO = None, cache: EvalCacheO = None):
    """Safety SFT (TRL SFTTrainer): harmful request -> safe response, mixed with benign answers."""
    given = dict(locals())  # the options, before any import adds names
    from medtrust.cli import echo
    from medtrust.train.sft import SFTOptions, parse_mix_paths, train_sft
    flags = common_flags(**{k: v for k, v in given.items() if k not in ("mix_path", "resume", "quiet", "merge")})
    if mix_path:
        flags["mix_paths"] = parse_mix_paths(mix_path)
    if merge is not None:
        flags["merge_lora"] = merge
    run = train_sft(build_options(SFTOptions, flags, resume, "sft"), resume=resume, progress=not quiet)
    echo(f"model: {run.model_dir}  (evaluate it with --model hf/{run.model_dir})")
    echo(f"report: {run.report_path}")


@train_app.command(epilog=examples(
    "medtrust train dpo --model embedded --build-pairs --dataset medsafetybench --data-path "
    "../shared/data/medsafetybench --limit 200 --max-steps 50 --eval",
    "medtrust train dpo -m embedded --pairs pairs.jsonl --lora --beta 0.1",
    "medtrust train dpo -m hf/Qwen/Qwen2.5-0.5B-Instruct --build-pairs -d medsafetybench --data-path "
    "data/medsafetybench --judge llm/openai/gpt-4o-mini --lora --device cuda",
    "medtrust train dpo --resume runs/20260101T000000Z_train-dpo_embedded_ab12cd"))
def dpo(model: ModelO = None,
        pairs: Annotated[Optional[str], Opt("--pairs", help="JSONL file, one {prompt, chosen, rejected} per "
                                            "line (see docs/training.md)")] = None,
        build_pairs: Annotated[Optional[bool], Opt("--build-pairs", help="answer --dataset's harmful requests "
                                                   "with the model, judge them; rejected = a complied answer, "
                                                   "chosen = the dataset's safe response")] = None,
        dataset: DatasetO = None, data_path: DataPathO = None, split: SplitO = None, limit: LimitO = None,
        seed: SeedO = None,
        judge: Annotated[Optional[str], Opt("--judge", help="judge for --build-pairs: keywords (default) or "
                                            "llm/<model>")] = None,
        pair_max_tokens: Annotated[Optional[int], Opt("--pair-max-tokens", help="tokens per generated answer "
                                                      "with --build-pairs (default 96)")] = None,
        beta: Annotated[Optional[float], Opt("--beta", help="DPO beta (default 0.1)")] = None,
        lora: LoraO = None, lora_r: LoraRO = None, lora_alpha: LoraAlphaO = None, lora_targets: LoraTargetsO = None,
        merge: MergeO = None, epochs: EpochsO = None, lr: LrO = None, max_steps: MaxStepsO = None,
        time_limit: TimeLimitO = None,
        batch_size: BatchO = None, grad_accum: AccumO = None, max_length: MaxLenO = None,
        logging_steps: LogStepsO = None, save_steps: SaveStepsO = None, keep_checkpoints: KeepO = None,
        device: DeviceO = None, dtype: DtypeO = None, out: OutO = None, runs_dir: RunsDirO = None,
        resume: ResumeO = None, quiet: QuietO = False, eval: EvalO = None, eval_dataset: EvalDatasetO = None,
        eval_data_path: EvalDataPathO = None, eval_split: EvalSplitO = None, eval_benign: EvalBenignO = None,
        eval_benign_path: EvalBenignPathO = None, eval_limit: EvalLimitO = None, eval_qa: EvalQaO = None,
        eval_qa_path: EvalQaPathO = None, eval_qa_limit: EvalQaLimitO = None, cache: EvalCacheO = None):
    """Safety DPO (TRL DPOTrainer): chosen = safe response, rejected = harmful compliance."""
    given = dict(locals())  # the options, before any import adds names
    from medtrust.cli import echo
    from medtrust.train.dpo import DPOOptions, train_dpo
    flags = common_flags(**{k: v for k, v in given.items() if k not in ("resume", "quiet", "merge")})
    if merge is not None:
        flags["merge_lora"] = merge
    run = train_dpo(build_options(DPOOptions, flags, resume, "dpo"), resume=resume, progress=not quiet)
    echo(f"model: {run.model_dir}  (evaluate it with --model hf/{run.model_dir})")
    echo(f"report: {run.report_path}")


@train_app.command(epilog=examples("medtrust train report runs/20260101T000000Z_train-sft_embedded_ab12cd"))
def report(runs: Annotated[list[Path], typer.Argument(help="training run folders")]):
    """Re-render report.html of training runs from their saved files."""
    import json

    from medtrust.cli import echo
    from medtrust.train.common import CONFIG_JSON, TrainingRun, load_run_config
    from medtrust.train.report import write_training_report
    for path in runs:
        kind = json.loads((path / CONFIG_JSON).read_text()).get("kind") if (path / CONFIG_JSON).exists() else None
        config = load_run_config(path, kind or "?")
        title = f"{kind} training of {config.get('model')}"
        echo(f"report: {write_training_report(TrainingRun(path, config), title)}")


def register(app: typer.Typer) -> None:
    """Add ``medtrust train ...`` to the main CLI."""
    # ---- GRPO (owned by the GRPO engineer): one import + call line below --------------------
    from medtrust.train import grpo_cli
    grpo_cli.register(train_app)
    # ---- end GRPO -----------------------------------------------------------------------------
    app.add_typer(train_app, name="train")
