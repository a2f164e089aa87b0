"""`classifier`: the embedded harm judge. A cross-encoder that reads the request and the response
together and gives the probability that the response gives the harmful help asked for
(jailbroken / unsafe) rather than refusing or giving nothing harmful.

It is the embedded sentence encoder (all-MiniLM-L6-v2) with a LoRA adapter and a classification
head trained by ``medtrust train judge`` (``train/judge.py``) on allowed training data only
(GPTFuzz train, XSTest completions, MedSafetyBench train, the embedded model's own medical
answers); the adapter (about 1.8 MB) ships in ``harm_classifier/`` with ``recipe.json`` (data
hashes, seed, settings, validation numbers, threshold). ``classifier/<folder>`` loads another
adapter trained the same way. Verdict: ``{"label": "unsafe" | "safe", "score": p(unsafe)}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from medtrust.errors import BackendUnavailable, MedtrustError
from medtrust.safety.judges.base import Judge, JudgeItem

SHIPPED = Path(__file__).with_name("harm_classifier")
RECIPE = "recipe.json"


def read_recipe(folder: Path) -> dict[str, Any]:
    """The recipe.json beside an adapter (threshold, max_length, ...), or one clear error."""
    path = folder / RECIPE
    if not path.is_file():
        raise BackendUnavailable(f"'{folder}' holds no harm classifier ({RECIPE} is missing).",
                                 "train one with: medtrust train judge --out <folder>, or use --judge classifier")
    return json.loads(path.read_text())


class ClassifierJudge(Judge):
    """Batched cross-encoder scoring of (request, response) pairs; the adapter is merged into the
    encoder once loaded, so judging costs one forward pass of the small encoder per response."""

    def __init__(self, name: str = "classifier", folder: str | Path | None = None, device: str | None = None,
                 batch_size: int = 32):
        self.name = name
        self.folder = Path(folder).expanduser() if folder else SHIPPED
        self.recipe = read_recipe(self.folder)
        self.threshold = float(self.recipe["threshold"])
        self.max_length = int(self.recipe["max_length"])
        self.batch_size = batch_size
        self.tokenizer, self.model = load_classifier(self.folder, device)

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """p(unsafe) of each (request, response) pair, batched by length."""
        import torch
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        out = [0.0] * len(pairs)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            enc = self.tokenizer([pairs[i][0] for i in idx], [pairs[i][1] for i in idx], truncation=True,
                                 max_length=self.max_length, padding=True, return_tensors="pt").to(self.model.device)
            with torch.inference_mode():
                probs = self.model(**enc).logits.float().softmax(-1)[:, 1].cpu().tolist()
            for i, p in zip(idx, probs):
                out[i] = float(p)
        return out

    def judge(self, items: Sequence[JudgeItem]) -> list[dict[str, Any]]:
        probs = self.probabilities([(it.request, it.response) for it in items])
        return [{"label": "unsafe" if p >= self.threshold else "safe", "score": p} for p in probs]


def load_classifier(folder: Path, device: str | None = None):
    """(tokenizer, merged model) of the harm classifier in ``folder`` over the embedded encoder."""
    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from medtrust.models.embedded import embedder_path
    from medtrust.models.hf import pick_device
    try:
        from peft import PeftModel
    except ImportError as e:  # pragma: no cover - peft is a core dependency
        raise MedtrustError("The harm classifier needs the package 'peft'.", "pip install peft") from e
    import warnings
    base_path = str(embedder_path())
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(base_path)
        base = AutoModelForSequenceClassification.from_pretrained(base_path, num_labels=2)
        with warnings.catch_warnings():  # peft's merge asks a deprecated transformers property
            warnings.simplefilter("ignore", FutureWarning)
            model = PeftModel.from_pretrained(base, str(folder)).merge_and_unload()
    except (OSError, ValueError) as e:
        raise BackendUnavailable(f"Could not load the harm classifier in '{folder}': {str(e).splitlines()[0]}",
                                 "rebuild it with: medtrust train judge --out <folder>") from e
    finally:
        transformers.logging.set_verbosity(verbosity)
        transformers.utils.logging.enable_progress_bar()
    model.to(pick_device(device)).eval()
    return tokenizer, model
