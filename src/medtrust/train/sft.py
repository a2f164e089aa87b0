"""Safety SFT with TRL's SFTTrainer: harmful requests -> their safe (refusing) responses, mixed
with benign requests that must still be answered.

Training rows are conversational prompt/completion pairs (``{"prompt": [user message],
"completion": [assistant message]}``), rendered by the tokenizer's chat template; the loss is on
the completion only (TRL ``completion_only_loss``).

- **Refusal side**: every row of ``--dataset`` (default MedSafetyBench train) that has a
  ``metadata['safe_response']``; the request is the prompt, the safe response the target.
- **Benign side** (``--mix NAME:RATIO,...``): RATIO benign rows per refusal row from each named
  dataset (rows repeat when a dataset is smaller). Targets (``--benign-targets``):
  ``gold`` = the dataset's own answer (multiple choice: ``"The answer is C: <option>."``,
  PubMedQA: ``"Yes. <long answer>"``, short answers as written); ``self`` = the base model's own
  greedy answer, generated once before training (keeps its helpful behaviour: self-distillation);
  ``auto`` (default) = gold where the dataset has answers, else self (demo-benign, xstest).
- **Image rows** (``image_rows.py``, VLGuard's recipe): ``--harmful-images`` draws the harmful
  requests as FigStep typographic images (by default for ``-d figstep``), and image sets in
  ``--mix`` (``demo-images``, ``demo-images-clinical``, ``figstep-benign``, image datasets) add
  benign image instructions; with image requests and no ``--mix`` the mix is ``DEFAULT_IMAGE_MIX``.
  They need a vision-language model (``embedded-vlm``, ``hf/<vision-language model>``), trained
  through TRL with its processor.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from medtrust.config import cli_field
from medtrust.data.schema import Sample
from medtrust.errors import DataError, MedtrustError
from medtrust.train.options import TrainOptions

DEFAULT_MIX = "demo-benign:0.5,demo-qa:0.5"
TRAIN_DATA = "train_data.jsonl"
SELF_TARGET_TOKENS = 128


class SFTOptions(TrainOptions):
    mix: str = Field(default=DEFAULT_MIX, description="benign data: NAME:RATIO,... = RATIO benign rows per refusal "
                     "row from each set (any dataset; for image rows also demo-images, demo-images-clinical, "
                     "figstep-benign, figstep-benign-more)")
    mix_paths: dict[str, str] = Field(default_factory=dict, description="NAME=PATH: local folder of a --mix dataset "
                                      "(repeatable)", json_schema_extra=cli_field(flag="--mix-path", raw_keys=True))
    benign_targets: Literal["auto", "gold", "self"] = Field(default="auto", description="auto (gold answers where "
                                                            "the set has them, else the base model's own), gold or "
                                                            "self")
    target_model: str | None = Field(default=None, description="the model whose greedy answers are the self "
                                     "targets (default: the model trained); e.g. -m embedded-vlm-reader with "
                                     "--target-model embedded, its own language model before the reader's LoRA")
    read_first: bool = Field(default=False, description="FigStep image targets start with what the image asks "
                             "('The image asks for ...'), then refuse or answer: the decision follows the reading")
    answer_prefix: str = Field(default="", description="words that open every benign typographic image's answer "
                               "(after the reading with --read-first), e.g. 'Here is my answer:', so answering "
                               "starts with one fixed word as refusing does and greedy decoding weighs the two")
    harmful_images: Literal["auto", "figstep", "none"] = Field(
        default="auto", description="figstep: draw the harmful requests as FigStep typographic images -> a refusal "
        "(vision-language models); none: text; auto: figstep for -d figstep, else text. With image requests the "
        "default --mix is demo-images:0.5,demo-images-clinical:0.25,figstep-benign:0.25")

    @field_validator("mix")
    @classmethod
    def _mix(cls, value: str) -> str:
        parse_mix(value)
        return value


# ------------------------------------------------------------------------------------- mix
def parse_mix(spec: str) -> list[tuple[str, float]]:
    """``"demo-benign:0.5,pubmedqa:1"`` -> ``[("demo-benign", 0.5), ("pubmedqa", 1.0)]``.

    An empty string means no benign rows.

    >>> parse_mix("demo-benign:0.5, demo-qa:0.25")
    [('demo-benign', 0.5), ('demo-qa', 0.25)]
    """
    out = []
    for part in [p.strip() for p in (spec or "").split(",") if p.strip()]:
        name, sep, ratio = part.rpartition(":")
        try:
            value = float(ratio)
        except ValueError:
            value = -1.0
        if not sep or not name or value < 0:
            raise MedtrustError(f"--mix part '{part}' is not NAME:RATIO with RATIO >= 0.",
                                "write e.g. --mix demo-benign:0.5,pubmedqa:0.5 (benign rows per refusal row)")
        out.append((name.strip(), value))
    return out


# ------------------------------------------------------------------------------ refusal rows
def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


def load_harmful(dataset: str, path: str | None, split: str | None, limit: int | None, seed: int,
                 need_safe_response: bool = True) -> list[Sample]:
    """Harmful requests that carry a safe response (``metadata['safe_response']``; any harmful
    request when not ``need_safe_response``), shuffled with ``seed`` when ``limit`` takes a subset;
    one DataError when there are none."""
    from medtrust.data.registry import load_dataset
    samples = load_dataset(dataset, path=path, split=split, seed=seed, shuffle=limit is not None)
    samples = [s for s in samples if s.metadata.get("should_refuse")
               and (s.metadata.get("safe_response") or not need_safe_response)]
    if not samples:
        what = "harmful requests with a safe response" if need_safe_response else "harmful requests"
        raise DataError(f"Dataset '{dataset}' (split {split or 'default'}) has no {what} to train on.",
                        "use --dataset medsafetybench --data-path <MedSafetyBench datasets folder> --split train")
    return samples[:limit] if limit else samples


def refusal_rows(samples: list[Sample]) -> list[dict[str, Any]]:
    """One SFT row per harmful request: the request -> its safe response."""
    return [{"prompt": [user(s.question)], "completion": [assistant(s.metadata["safe_response"])],
             "id": s.id, "side": "refuse", "target": "safe_response"} for s in samples]


# ------------------------------------------------------------------------------- benign rows
def gold_target(sample: Sample) -> str | None:
    """The dataset's own answer as a reply, or None when it has none (see the module docstring)."""
    if sample.choices and sample.answer in [chr(65 + i) for i in range(len(sample.choices))]:
        return f"The answer is {sample.answer}: {sample.choices[ord(sample.answer) - 65]}."
    long_answer = sample.metadata.get("long_answer")
    if long_answer:
        return f"{str(sample.answer).capitalize()}. {long_answer}" if sample.answer else long_answer
    if sample.answer and sample.answer_type != "request":
        return str(sample.answer)
    return None


def benign_prompt(sample: Sample) -> str:
    from medtrust.prompts import sample_text
    return sample_text(sample, with_context=False) if sample.choices else sample.question


def pick(samples: list, count: int, seed: int) -> list:
    """``count`` items drawn without repeats until every item is used, then again (seeded)."""
    rng = random.Random(seed)
    out: list = []
    while len(out) < count and samples:
        order = list(samples)
        rng.shuffle(order)
        out.extend(order[:count - len(out)])
    return out


def benign_rows(mix: list[tuple[str, float]], n_refusal: int, paths: dict[str, str], targets: str,
                model: str, seed: int, progress: bool = False) -> list[dict[str, Any]]:
    """The benign side of the mix (see the module docstring); self targets are generated with
    ``model`` once per distinct question."""
    from medtrust.data.registry import load_dataset
    chosen: list[tuple[str, Sample]] = []
    for i, (name, ratio) in enumerate(mix):
        count = round(ratio * n_refusal)
        if count == 0:
            continue
        samples = [s for s in load_dataset(name, path=paths.get(name)) if not s.metadata.get("should_refuse")
                   and not s.images]
        if not samples:
            raise DataError(f"The benign dataset '{name}' has no text requests that should be answered.",
                            "use e.g. --mix demo-benign:0.5,demo-qa:0.5")
        if targets == "gold" and not any(gold_target(s) for s in samples):
            raise DataError(f"The benign dataset '{name}' has no answers to use as gold targets.",
                            "use --benign-targets auto or self (the model's own answers)")
        chosen += [(name, s) for s in pick(samples, count, seed + i)]
    need_self = sorted({s.id: s for _, s in chosen
                        if targets == "self" or gold_target(s) is None}.values(), key=lambda s: s.id)
    generated = self_targets(model, [benign_prompt(s) for s in need_self], progress) if need_self else []
    own = dict(zip([s.id for s in need_self], generated))
    rows = []
    for name, s in chosen:
        target, kind = (own[s.id], "self") if s.id in own else (gold_target(s), "gold")
        rows.append({"prompt": [user(benign_prompt(s))], "completion": [assistant(target)],
                     "id": s.id, "side": f"benign:{name}", "target": kind})
    return rows


def self_targets(model: str, prompts: list[str], progress: bool = False) -> list[str]:
    """The model's greedy answers (at most SELF_TARGET_TOKENS tokens, cut back to the last full
    sentence when the budget ran out), through the generation cache."""
    from medtrust.models.base import GenerationRequest
    from medtrust.models.open import open_model
    if progress:
        print(f"medtrust: generating the base model's own answers to {len(prompts)} benign prompts...", flush=True)
    backend = open_model(model, purpose="Self targets of SFT")
    requests = [GenerationRequest(messages=[user(p)], n=1, temperature=0.0, max_tokens=SELF_TARGET_TOKENS)
                for p in prompts]
    outs = backend.generate(requests)
    return [whole_sentences(o[0].text) if o[0].finish_reason == "length" else o[0].text.strip() for o in outs]


def whole_sentences(text: str) -> str:
    """Text cut after its last sentence end (the text itself if it has none).

    >>> whole_sentences("Insulin is needed. It keeps glucose in ra")
    'Insulin is needed.'
    """
    text = text.strip()
    cut = max(text.rfind(". "), text.rfind(".\n"), text.rfind("! "), text.rfind("? "))
    if text.endswith((".", "!", "?")) or cut < 0:
        return text
    return text[:cut + 1]


# --------------------------------------------------------------------------------- the data
def effective_mix(opts: SFTOptions) -> list[tuple[str, float]]:
    """``--mix``, or DEFAULT_IMAGE_MIX when the harmful rows are images and no --mix was given."""
    from medtrust.train.image_rows import DEFAULT_IMAGE_MIX, harmful_as_images
    if "mix" not in opts.model_fields_set and harmful_as_images(opts.harmful_images, opts.dataset):
        return parse_mix(DEFAULT_IMAGE_MIX)
    return parse_mix(opts.mix)


def image_parts(opts: SFTOptions) -> list[str]:
    """What in the options makes image rows (empty for text-only training)."""
    from medtrust.train.image_rows import harmful_as_images, is_image_set
    parts = [f"FigStep images of {opts.dataset}"] if harmful_as_images(opts.harmful_images, opts.dataset) else []
    return parts + [f"--mix {name}" for name, ratio in effective_mix(opts) if ratio > 0 and is_image_set(name)]


def sft_rows(opts: SFTOptions, model_string: str, progress: bool = False,
             root: Path | None = None) -> list[dict[str, Any]]:
    """Refusal rows plus the benign mix, shuffled with the seed; image rows draw their images
    into ``<root>/images`` (the run folder)."""
    from medtrust.train.image_rows import benign_image_rows, harmful_as_images, harmful_image_rows, is_image_set
    if harmful_as_images(opts.harmful_images, opts.dataset):
        samples = load_harmful(opts.dataset, opts.data_path, opts.split, opts.limit, opts.seed, False)
        harmful = harmful_image_rows(samples, Path(root or "."), opts.read_first)
    else:
        harmful = refusal_rows(load_harmful(opts.dataset, opts.data_path, opts.split, opts.limit, opts.seed))
    mix = effective_mix(opts)
    writer = opts.target_model or model_string  # who writes the self targets
    text_mix = [(n, r) for n, r in mix if not is_image_set(n)]
    image_mix = [(n, r) for n, r in mix if is_image_set(n)]
    benign = benign_rows(text_mix, len(harmful), opts.mix_paths, opts.benign_targets, writer, opts.seed, progress)
    if image_mix:
        figstep = opts.data_path if opts.dataset == "figstep" else None
        benign += benign_image_rows(image_mix, len(harmful), opts.mix_paths, opts.benign_targets, writer,
                                    opts.seed, Path(root or "."), figstep, progress, opts.read_first,
                                    opts.answer_prefix)
    rows = harmful + benign
    random.Random(opts.seed).shuffle(rows)
    return rows


def save_rows(rows: list[dict], path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def load_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def data_summary(rows: list[dict]) -> dict[str, int]:
    """Rows per side and target kind, e.g. ``{"refuse / safe_response": 900, "benign:demo-qa / gold": 450}``."""
    out: dict[str, int] = {}
    for r in rows:
        key = f"{r['side']} / {r['target']}"
        out[key] = out.get(key, 0) + 1
    return out


# ------------------------------------------------------------------------------- training
def train_sft(opts: SFTOptions, resume: str | None = None, progress: bool = True):
    """Build (or, on resume, reread) the training rows, fine-tune with SFTTrainer, save the model
    into ``<run>/model``, optionally evaluate before/after, and write report.html."""
    from medtrust.train.common import (
        load_for_training,
        model_source,
        open_training_run,
        require_train_extra,
        run_trainer,
    )
    from medtrust.train.options import callbacks, finish_training, trainer_kwargs

    require_train_extra("medtrust train sft")
    from medtrust.train.common import is_vision_model
    from medtrust.train.image_rows import require_vision
    _, model_string = model_source(opts.model)
    vision = is_vision_model(opts.model)
    parts = image_parts(opts)
    if parts:
        require_vision(opts.model, vision, ", ".join(parts))
    run = open_training_run("sft", opts.model_dump(), resume or opts.out, opts.runs_dir)
    data_file = run.path / TRAIN_DATA
    if resume and data_file.exists():
        rows = load_rows(data_file)
    else:
        rows = sft_rows(opts, model_string, progress, run.path)
        save_rows(rows, data_file)
    run.write_json("data_summary.json", data_summary(rows))

    from trl import SFTConfig
    tm = load_for_training(opts.model, lora=opts.lora, lora_r=opts.lora_r, lora_alpha=opts.lora_alpha,
                           lora_targets=opts.lora_targets, dtype=opts.dtype, device=opts.device)
    lr = opts.lr or (2e-4 if opts.lora else 2e-5)
    args = SFTConfig(**trainer_kwargs(opts, run, lr, progress), completion_only_loss=True)
    if tm.processor is not None:
        from medtrust.train.image_rows import cut_warning, row_lengths
        lengths = row_lengths(tm.processor, rows, run.path)
        run.write_json("row_lengths.json", {"max_length": opts.max_length, "prompt_completion": lengths})
        if warning := cut_warning(lengths, opts.max_length):
            print(warning, file=sys.stderr, flush=True)
    trainer = sft_trainer(tm, rows, args, run.path, callbacks(opts, run))
    if len(trainer.train_dataset) == 0:
        raise DataError(f"No training row keeps any completion token within --max-length {opts.max_length} "
                        "(TRL drops rows whose completion is cut off entirely).",
                        "raise --max-length (the chat template's system prompt and the request come first)")
    run_trainer(trainer, run, "medtrust train sft", resume=bool(resume))
    return finish_training(trainer, tm, run, opts, f"Safety SFT of {opts.model}", progress)


def sft_trainer(tm, rows: list[dict], args, root: Path, callbacks: list | None = None):
    """TRL's SFTTrainer on the rows: with a vision-language model its processor and an ``images``
    column (TRL's vision collator: placeholders, pixel values, prompt masked), else the tokenizer."""
    from trl import SFTTrainer

    from medtrust.train.image_rows import trl_dataset
    vision = tm.processor is not None
    dataset = trl_dataset(rows, ("prompt", "completion"), images=vision, root=root)
    return SFTTrainer(model=tm.model, args=args, train_dataset=dataset, processing_class=tm.processing_class,
                      callbacks=callbacks)
