"""Options every ``medtrust train`` command shares, the TRL config values they become, and the
steps after training (save, evaluate, report)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from medtrust.train.common import (
    JsonlLogCallback,
    TimeLimitCallback,
    TrainableModel,
    TrainingRun,
    remove_checkpoints,
    save_trained,
    use_bf16,
)


class TrainOptions(BaseModel):
    """Options shared by ``train sft`` and ``train dpo`` (saved as the run's config.json)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = "embedded"
    dataset: str = "medsafetybench"
    data_path: str | None = None
    split: str | None = "train"
    limit: int | None = Field(default=None, ge=1)
    seed: int = 0
    lora: bool = False
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_targets: str | None = None
    merge_lora: bool = True
    epochs: float = Field(default=1.0, gt=0)
    lr: float | None = Field(default=None, gt=0, description="default: 2e-5 full, 2e-4 LoRA (SFT); 1e-6 / 1e-5 (DPO)")
    max_steps: int | None = Field(default=None, ge=1)
    time_limit: float | None = Field(default=None, gt=0, description="stop training after this many minutes")
    batch_size: int = Field(default=8, ge=1)
    grad_accum: int = Field(default=1, ge=1)
    max_length: int = Field(default=256, ge=16)
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1, description="share of steps warming up the lr")
    logging_steps: int = Field(default=5, ge=1)
    save_steps: int = Field(default=50, ge=1)
    keep_checkpoints: bool = False
    gradient_checkpointing: bool = False
    device: str | None = None
    dtype: str | None = None
    out: str | None = None
    runs_dir: str = "runs"
    eval: bool = False
    eval_args: dict[str, Any] = Field(default_factory=dict)


def trainer_kwargs(opts: TrainOptions, run: TrainingRun, lr: float, progress: bool) -> dict[str, Any]:
    """TrainingArguments values from the options: checkpoints in the run folder, no external
    loggers, bf16 only on GPUs that support it (TRL defaults to bf16), no gradient checkpointing
    unless asked (TRL's default; it slows small models down)."""
    return dict(output_dir=str(run.checkpoints_dir), per_device_train_batch_size=opts.batch_size,
                gradient_accumulation_steps=opts.grad_accum, learning_rate=lr, num_train_epochs=opts.epochs,
                max_steps=opts.max_steps or -1, max_length=opts.max_length, warmup_steps=opts.warmup_ratio,
                lr_scheduler_type="cosine", logging_steps=opts.logging_steps, save_strategy="steps",
                save_steps=opts.save_steps, save_total_limit=1, report_to="none", seed=opts.seed,
                bf16=use_bf16(opts.dtype), fp16=False, gradient_checkpointing=opts.gradient_checkpointing,
                disable_tqdm=not progress, use_cpu=(opts.device == "cpu"), dataloader_num_workers=0)


def callbacks(opts: TrainOptions, run: TrainingRun) -> list:
    """The JSONL log, and the time limit when ``--time-limit`` is given."""
    out = [JsonlLogCallback(run.log_path)]
    if opts.time_limit:
        out.append(TimeLimitCallback(opts.time_limit))
    return out


def finish_training(trainer, tm: TrainableModel, run: TrainingRun, opts: TrainOptions, title: str,
                    progress: bool) -> TrainingRun:
    """Save the trained model (merged or adapter), drop checkpoints, run ``--eval`` and write
    report.html."""
    from medtrust.train.report import write_training_report
    save_trained(trainer.model, tm.tokenizer, run.model_dir, merge_lora=opts.merge_lora)
    if not opts.keep_checkpoints:
        remove_checkpoints(run)
    if opts.eval:
        from medtrust.train.evaluate import evaluate_safety_alignment
        evaluate_safety_alignment(run, tm.model_string, f"hf/{run.model_dir.resolve()}", opts.eval_args, progress)
    write_training_report(run, title)
    return run
