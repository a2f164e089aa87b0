"""Safety DPO with TRL's DPOTrainer on preference pairs (chosen = safe response, rejected = a
harmful compliance), from a pairs file or built with the model itself (``pairs.py``).

Pairs may carry ``images`` (``pairs.py``): with a vision-language model TRL's DPOTrainer gets its
processor and an ``images`` column (placeholders, pixel values, the prompt out of the loss).

TRL 1.16 rebuilds the reference model from the policy's config path when it gets an in-memory
model and no ``ref_model``; for ``embedded`` that name is not a folder, so full fine-tuning
passes an explicit reference model (a second copy loaded from the same source). With LoRA no
copy is needed: the reference is the base model with the adapter disabled.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from medtrust.errors import MedtrustError
from medtrust.train.options import TrainOptions
from medtrust.train.pairs import PAIRS_FILE, build_pairs, conversational, read_pairs, write_pairs


class DPOOptions(TrainOptions):
    pairs: str | None = Field(default=None, description="JSONL file, one {prompt, chosen, rejected} per line "
                              "(see docs/training.md)")
    build_pairs: bool = Field(default=False, description="answer --dataset's harmful requests with the model, judge "
                              "them; rejected = a complied answer, chosen = the dataset's safe response")
    judge: str = Field(default="keywords", description="judge for --build-pairs: keywords or llm/<model>")
    pair_max_tokens: int = Field(default=96, ge=1, description="tokens per generated answer with --build-pairs")
    beta: float = Field(default=0.1, gt=0, description="DPO beta")
    max_length: int = Field(default=320, ge=16, description="tokens per training row, longer rows are cut")
    batch_size: int = Field(default=4, ge=1, description="rows per device step")
    harmful_images: Literal["auto", "figstep", "none"] = Field(
        default="auto", description="with --build-pairs: figstep asks the model with FigStep images of the "
        "requests (chosen = a refusal); none: text; auto: figstep for -d figstep, else text")

    @model_validator(mode="after")
    def _one_source(self):
        if bool(self.pairs) == bool(self.build_pairs):
            raise ValueError("give exactly one of --pairs FILE or --build-pairs")
        return self


def dpo_pairs(opts: DPOOptions, model_string: str, run, progress: bool) -> list[dict]:
    """The pairs to train on: reread from the run (resume), read from --pairs, or built."""
    saved = run.path / PAIRS_FILE
    if saved.exists():
        return read_pairs(saved)
    if opts.pairs:
        pairs = read_pairs(opts.pairs)
        pairs = pairs[:opts.limit] if opts.limit else pairs
    else:
        from medtrust.train.image_rows import harmful_as_images, harmful_image_rows
        from medtrust.train.sft import load_harmful
        images = harmful_as_images(opts.harmful_images, opts.dataset)
        samples = load_harmful(opts.dataset, opts.data_path, opts.split, opts.limit, opts.seed, not images)
        rows = None
        if images:
            rows = [{**r, "images": [str(run.path / p) for p in r["images"]]}
                    for r in harmful_image_rows(samples, run.path)]
        pairs, stats = build_pairs(model_string, samples, opts.judge, opts.pair_max_tokens,
                                   cache=opts.eval_args.cache is not False, progress=progress, image_rows=rows)
        run.write_json("pairs_summary.json", stats)
    write_pairs(pairs, saved)
    return pairs


def train_dpo(opts: DPOOptions, resume: str | None = None, progress: bool = True):
    """Pairs -> DPOTrainer -> ``<run>/model`` (+ ``--eval`` before/after) -> report.html."""
    from medtrust.train.common import (
        load_for_training,
        model_source,
        open_training_run,
        require_train_extra,
        run_trainer,
    )
    from medtrust.train.options import callbacks, finish_training, trainer_kwargs

    require_train_extra("medtrust train dpo")
    from medtrust.train.common import is_vision_model
    from medtrust.train.image_rows import harmful_as_images, require_vision
    _, model_string = model_source(opts.model)
    vision = is_vision_model(opts.model)
    if opts.build_pairs and not opts.pairs and harmful_as_images(opts.harmful_images, opts.dataset):
        require_vision(opts.model, vision, f"FigStep images of {opts.dataset}")
    run = open_training_run("dpo", opts.model_dump(), resume or opts.out, opts.runs_dir)
    pairs = dpo_pairs(opts, model_string, run, progress)
    with_images = sum(bool(p.get("images")) for p in pairs)
    if with_images:
        require_vision(opts.model, vision, f"{with_images} of {len(pairs)} pairs have images")

    from trl import DPOConfig
    tm = load_for_training(opts.model, lora=opts.lora, lora_r=opts.lora_r, lora_alpha=opts.lora_alpha,
                           lora_targets=opts.lora_targets, dtype=opts.dtype, device=opts.device)
    ref = None
    if not opts.lora:
        ref = load_for_training(opts.model, dtype=opts.dtype, device=opts.device).model
        ref.eval()
    tm.tokenizer.padding_side = "left"
    lr = opts.lr or (5e-5 if opts.lora else 5e-6)
    args = DPOConfig(**trainer_kwargs(opts, run, lr, progress), beta=opts.beta)
    try:
        trainer = dpo_trainer(tm, ref, pairs, args, callbacks(opts, run))
    except ValueError as e:  # TRL's own checks of the data and options
        raise MedtrustError(f"DPO could not start: {e}", "check the pairs and the options") from e
    run_trainer(trainer, run, "medtrust train dpo", resume=bool(resume))
    return finish_training(trainer, tm, run, opts, f"Safety DPO of {opts.model}", progress)


def dpo_trainer(tm, ref, pairs: list[dict], args, callbacks: list | None = None):
    """TRL's DPOTrainer on the pairs: with a vision-language model its processor and an ``images``
    column (absolute paths, empty for text pairs), else the tokenizer."""
    from trl import DPOTrainer

    from medtrust.train.image_rows import trl_dataset
    rows = [{**conversational(p), "images": p.get("images", [])} for p in pairs]
    dataset = trl_dataset(rows, ("prompt", "chosen", "rejected"), images=tm.processor is not None)
    return DPOTrainer(model=tm.model, ref_model=ref, args=args, train_dataset=dataset,
                      processing_class=tm.processing_class, callbacks=callbacks)
