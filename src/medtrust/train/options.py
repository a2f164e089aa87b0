"""Options every ``medtrust train`` command shares, the TRL config values they become, and the
steps after training (save, evaluate, report)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from medtrust.config import cli_field

if TYPE_CHECKING:  # pragma: no cover - the trainer helpers import transformers; the CLI reads the options only
    from medtrust.train.common import TrainableModel, TrainingRun


class EvalOptions(BaseModel):
    """What ``--eval`` evaluates before and after training (``train/evaluate.py`` has the defaults)."""

    model_config = ConfigDict(extra="forbid")

    dataset: str | None = Field(default=None, description="harmful set for --eval (default demo-harmful)")
    data_path: str | None = Field(default=None, description="its local folder")
    split: str | None = Field(default=None, description="its split (medsafetybench: test by default)")
    benign: str | None = Field(default=None, description="benign set for --eval (default demo-benign)")
    benign_path: str | None = Field(default=None, description="its local folder")
    limit: int | None = Field(default=None, ge=1, description="requests per side for --eval (vision models: also "
                              "held-out FigStep rows, default 100, and POPE images)")
    qa: str | None = Field(default=None, description="medical QA set for --eval (default demo-mcq)")
    qa_path: str | None = Field(default=None, description="its local folder")
    qa_limit: int | None = Field(default=None, ge=1, description="questions for --eval QA accuracy (vision "
                                 "models: demo-images test questions)")
    figstep_path: str | None = Field(default=None, description="FigStep folder for the vision --eval (default: "
                                     "--data-path with -d figstep, else $MEDTRUST_DATA_DIR/figstep)")
    cache: bool | None = Field(default=None, description="reuse cached generations in --eval (default on)",
                               json_schema_extra=cli_field(flag="--cache/--no-cache"))


class TrainOptions(BaseModel):
    """Options shared by ``train sft`` and ``train dpo`` (saved as the run's config.json); each
    field's description is its ``--help`` text."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = Field(default="embedded", description="embedded or hf/<hub id or local folder>",
                       json_schema_extra=cli_field("-m"))
    dataset: str = Field(default="medsafetybench", description="harmful requests with safe responses",
                         json_schema_extra=cli_field("-d"))
    data_path: str | None = Field(default=None, description="local folder of --dataset (e.g. ../shared/data/"
                                  "medsafetybench)")
    split: str | None = Field(default="train", description="split of --dataset")
    limit: int | None = Field(default=None, ge=1, description="use N harmful rows (a seeded random subset)")
    seed: int = Field(default=0, description="seed for data order and training")
    lora: bool = Field(default=False, description="train a LoRA adapter (PEFT) instead of all weights",
                       json_schema_extra=cli_field(flag="--lora/--full"))
    lora_r: int = Field(default=16, ge=1, description="LoRA rank")
    lora_alpha: int = Field(default=32, ge=1, description="LoRA alpha")
    lora_targets: str | None = Field(default=None, description="comma-separated module names (default all-linear)")
    merge_lora: bool = Field(default=True, description="save LoRA merged into the weights (default) or as an "
                             "adapter folder (also loads as hf/<folder>)",
                             json_schema_extra=cli_field(flag="--merge/--adapter"))
    epochs: float = Field(default=1.0, gt=0, description="passes over the data")
    lr: float | None = Field(default=None, gt=0, description="learning rate (default: 2e-5 full, 2e-4 LoRA for SFT; "
                             "5e-6 / 5e-5 for DPO)")
    max_steps: int | None = Field(default=None, ge=1, description="stop after N optimizer steps (overrides --epochs)")
    time_limit: float | None = Field(default=None, gt=0, description="stop training after this many minutes "
                                     "(checkpoint saved; the lr schedule follows --max-steps)")
    batch_size: int = Field(default=8, ge=1, description="rows per device step")
    grad_accum: int = Field(default=1, ge=1, description="gradient accumulation steps")
    max_length: int = Field(default=256, ge=16, description="tokens per training row, longer rows are cut")
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1, description="share of steps warming up the lr")
    logging_steps: int = Field(default=5, ge=1, description="log every N steps")
    save_steps: int = Field(default=50, ge=1, description="checkpoint every N steps for --resume")
    keep_checkpoints: bool = Field(default=False, description="keep checkpoints/ after the model is saved")
    gradient_checkpointing: bool = Field(default=False, description="trade compute for memory")
    device: str | None = Field(default=None, description="cuda, cuda:1, mps or cpu (default: the best available)")
    dtype: str | None = Field(default=None, description="float32, bfloat16 or float16 (default: float32 on CPU)")
    out: str | None = Field(default=None, description="run folder to write (default runs/<time>_train-<kind>_...)")
    runs_dir: str = Field(default="runs", description="where run folders are created")
    eval: bool = Field(default=False, description="evaluate the base and the trained model (safety study + "
                       "medical QA accuracy; vision-language models: FigStep on held-out images, over-refusal on "
                       "benign typographic and medical images, text safety, POPE, image QA) and add a before/after "
                       "table to the report")
    eval_args: EvalOptions = Field(default_factory=EvalOptions, json_schema_extra=cli_field(prefix="eval-"))


def trainer_kwargs(opts: TrainOptions, run: TrainingRun, lr: float, progress: bool) -> dict[str, Any]:
    """TrainingArguments values from the options: checkpoints in the run folder, no external
    loggers, bf16 only on GPUs that support it (TRL defaults to bf16), no gradient checkpointing
    unless asked (TRL's default; it slows small models down), and at least one logged loss when
    ``--max-steps`` is below ``--logging-steps``."""
    from medtrust.train.common import use_bf16
    return dict(output_dir=str(run.checkpoints_dir), per_device_train_batch_size=opts.batch_size,
                gradient_accumulation_steps=opts.grad_accum, learning_rate=lr, num_train_epochs=opts.epochs,
                max_steps=opts.max_steps or -1, max_length=opts.max_length, warmup_steps=opts.warmup_ratio,
                lr_scheduler_type="cosine",
                logging_steps=min(opts.logging_steps, opts.max_steps or opts.logging_steps), save_strategy="steps",
                save_steps=opts.save_steps, save_total_limit=1, report_to="none", seed=opts.seed,
                bf16=use_bf16(opts.dtype), fp16=False, gradient_checkpointing=opts.gradient_checkpointing,
                disable_tqdm=not progress, use_cpu=(opts.device == "cpu"), dataloader_num_workers=0)


def callbacks(opts: TrainOptions, run: TrainingRun) -> list:
    """The JSONL log, and the time limit when ``--time-limit`` is given."""
    from medtrust.train.common import JsonlLogCallback, TimeLimitCallback
    out = [JsonlLogCallback(run.log_path)]
    if opts.time_limit:
        out.append(TimeLimitCallback(opts.time_limit))
    return out


def finish_training(trainer, tm: TrainableModel, run: TrainingRun, opts: TrainOptions, title: str,
                    progress: bool) -> TrainingRun:
    """Save the trained model (merged or adapter), drop checkpoints, run ``--eval`` and write
    report.html."""
    from medtrust.train.common import remove_checkpoints, save_trained
    from medtrust.train.report import write_training_report
    save_trained(trainer.model, tm.processing_class, run.model_dir, merge_lora=opts.merge_lora)
    if not opts.keep_checkpoints:
        remove_checkpoints(run)
    if opts.eval:
        from medtrust.train.evaluate import evaluate_safety_alignment
        evaluate_safety_alignment(run, tm.model_string, f"hf/{run.model_dir.resolve()}",
                                  opts.eval_args.model_dump(exclude_none=True), progress,
                                  vision=tm.processor is not None)
    write_training_report(run, title)
    return run
