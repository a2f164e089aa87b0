"""Cold start before GRPO (DeepSeek-R1's "cold-start data"): a few supervised steps on
think-format answers built from the training rows, so that a small model that never writes
``<think>...</think><answer>...</answer>`` by itself gives GRPO's format reward something to compare.

The worked reasoning of a row is its dataset's own explanation (MedCalc-Bench's "Ground Truth
Explanation", MedMCQA's explanation) or, for demo-calc, the calculator's formula and the inputs;
rows with neither are left out. The answer is written as the reasoning study's gold text. The
steps are TRL's SFTTrainer on the policy itself (loss on the completion only), logged to
``warmup_log.jsonl`` in the run folder; GRPO then starts from the warmed-up weights.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from medtrust.data.schema import Sample
from medtrust.errors import DataError
from medtrust.reasoning.strategies import gold_text
from medtrust.train.grpo import think_messages

WARMUP_LOG = "warmup_log.jsonl"


def worked_reasoning(sample: Sample) -> str | None:
    """The row's own explanation, else its formula with the inputs, else None.

    >>> s = Sample(id="c", question="BMI?", answer="22.9", answer_type="numeric",
    ...            metadata={"formula": "BMI = weight (kg) / height (m)^2",
    ...                      "inputs": {"height_cm": 175, "weight_kg": 70}})
    >>> worked_reasoning(s)
    'BMI = weight (kg) / height (m)^2, with height_cm = 175, weight_kg = 70.'
    """
    explanation = str(sample.metadata.get("explanation") or "").strip()
    if explanation:
        return explanation
    formula = str(sample.metadata.get("formula") or "").strip()
    if not formula:
        return None
    inputs = sample.metadata.get("inputs") or {}
    given = ", ".join(f"{k} = {v}" for k, v in inputs.items())
    return f"{formula}, with {given}." if given else f"{formula}."


def warmup_rows(samples: list[Sample], lang: str = "en") -> list[dict[str, Any]]:
    """Conversational prompt/completion rows: the think prompt GRPO uses -> ``<think>\\n{reasoning}\\n</think>
    \\n<answer>{gold}</answer>``; rows without a worked reasoning are skipped."""
    rows = []
    for s in samples:
        reasoning = worked_reasoning(s)
        if reasoning is None or s.answer is None:
            continue
        target = f"<think>\n{reasoning}\n</think>\n<answer>{gold_text(s, lang)}</answer>"
        rows.append({"prompt": think_messages(s, lang),
                     "completion": [{"role": "assistant", "content": target}]})
    return rows


def run_warmup(trainable, samples: list[Sample], opts, run_dir: Path, progress: bool = True) -> dict[str, Any]:
    """``opts.warmup_steps`` SFT steps (batch 4, ``opts.warmup_lr``) on :func:`warmup_rows`, in place
    on ``trainable.model``. Returns TRL's train metrics; one DataError when no row has a reasoning."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from medtrust.train.common import JsonlLogCallback, use_bf16
    rows = warmup_rows(samples, opts.lang)
    if not rows:
        raise DataError(f"No row of '{opts.dataset}' has a worked explanation or formula to warm up on.",
                        "drop --warmup-steps, or use demo-calc or medcalc (they carry formulas / explanations)")
    args = SFTConfig(output_dir=str(Path(run_dir) / "warmup"), max_steps=opts.warmup_steps,
                     learning_rate=opts.warmup_lr, per_device_train_batch_size=4, logging_steps=1,
                     save_strategy="no", report_to="none", seed=opts.seed, max_length=1024,
                     completion_only_loss=True, lr_scheduler_type="constant", disable_tqdm=not progress,
                     bf16=use_bf16(), fp16=False)
    trainer = SFTTrainer(model=trainable.model, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=trainable.tokenizer,
                         callbacks=[JsonlLogCallback(Path(run_dir) / WARMUP_LOG)])
    metrics = dict(trainer.train().metrics)
    shutil.rmtree(args.output_dir, ignore_errors=True)  # nothing is saved there (save_strategy "no")
    return metrics
