"""Entailment methods for clustering answers: ``nli/<hub id or path>``, ``llm/<model>``,
``embedding[:threshold]`` and ``exact``, each batched over every pair of every question it is
given, with identical texts deduplicated first and results cached in memory for the run.

What each method sees (as the reference code does it): the NLI model gets "<question> <answer>"
on both sides (``condition_on_question``); the LLM prompt names the question; the embedding and
exact methods compare the answers alone (a shared question prefix would make every pair look alike).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from medtrust.errors import MedtrustError
from medtrust.hallucination.clustering import CONTRADICTION, ENTAILMENT, NEUTRAL, PairMatrix, unique_texts
from medtrust.text import normalize_answer, parse_yes_no

EMBEDDING_THRESHOLD = 0.75
"""Default cosine similarity above which two answers share a meaning under ``embedding``
(all-MiniLM-L6-v2; see docs/hallucination.md for the measurement behind it)."""

class Entailment:
    """Base: subclasses fill ``_batch(items)``, complete matrices over each (question, texts) item;
    a method that can ask single pairs (NLI) overrides ``complete`` to ask only the pairs needed."""

    name = ""

    def matrices(self, items: Sequence[tuple[str, Sequence[str]]], mode: str = "full") -> list[PairMatrix]:
        """One PairMatrix per (question, answers) item, over the item's unique answer texts,
        holding at least what ``mode`` (clustering.MATRIX_MODES) needs."""
        return self.complete([(q, PairMatrix.unasked(unique_texts(ts))) for q, ts in items], mode)

    def complete(self, items: Sequence[tuple[str, PairMatrix]], mode: str = "full") -> list[PairMatrix]:
        """Fill in place what each (question, matrix) item still needs for ``mode``; known pairs
        (e.g. from a saved run) are kept. Here: a whole matrix for every item that lacks a pair."""
        todo = [(q, m) for q, m in items if m.needed(mode)]
        if todo:
            labels, probs = self._batch([(q, m.texts) for q, m in todo])
            for (_, m), lab, p in zip(todo, labels, probs):
                m.fill(lab, p)
        return [m for _, m in items]

    def _batch(self, items):
        raise NotImplementedError


def _empty(n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.full((n, n), NEUTRAL, dtype=int)
    np.fill_diagonal(labels, ENTAILMENT)
    probs = np.zeros((n, n))
    np.fill_diagonal(probs, 1.0)
    return labels, probs


# ------------------------------------------------------------------------------------------ exact
class ExactEntailment(Entailment):
    """Two answers share a meaning when their SQuAD-normalised texts are equal."""

    name = "exact"

    def _batch(self, items):
        out_l, out_p = [], []
        for _, texts in items:
            labels, probs = _empty(len(texts))
            norm = [normalize_answer(t) for t in texts]
            same = np.array([[a == b for b in norm] for a in norm])
            labels[same] = ENTAILMENT
            probs[same] = 1.0
            out_l.append(labels)
            out_p.append(probs)
        return out_l, out_p


# -------------------------------------------------------------------------------------- embedding
class EmbeddingEntailment(Entailment):
    """Cosine similarity of sentence embeddings (the embedded all-MiniLM-L6-v2): at or above the
    threshold counts as entailment both ways, below as neutral; ``p_entail`` is the similarity
    clipped to [0, 1]. Every unique text of the batch is embedded in one call; vectors are cached."""

    def __init__(self, threshold: float = EMBEDDING_THRESHOLD):
        if not 0.0 < threshold <= 1.0:
            raise MedtrustError(f"Embedding threshold {threshold} is not in (0, 1].",
                                "use e.g. --entailment embedding:0.9")
        self.threshold = threshold
        self.name = f"embedding:{threshold:g}"
        self.cache: dict[str, np.ndarray] = {}

    def _batch(self, items):
        from medtrust.models.embedded import sentence_embedder
        new = unique_texts([t for _, ts in items for t in ts if t not in self.cache])
        if new:
            vectors = sentence_embedder().encode(new, batch_size=64, normalize_embeddings=True,
                                                 convert_to_numpy=True, show_progress_bar=False)
            self.cache.update(zip(new, vectors))
        out_l, out_p = [], []
        for _, texts in items:
            vecs = np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, 1))
            sim = np.clip(vecs @ vecs.T, 0.0, 1.0)
            np.fill_diagonal(sim, 1.0)
            labels = np.where(sim >= self.threshold, ENTAILMENT, NEUTRAL)
            out_l.append(labels)
            out_p.append(sim)
        return out_l, out_p


# -------------------------------------------------------------------------------------------- NLI
def nli_label_map(id2label: dict) -> dict[int, int]:
    """Class index of the model -> 0 contradiction / 1 neutral / 2 entailment, from the label
    names in its config ("not_entailment" counts as neutral). Fails clearly when none is entailment."""
    out = {}
    for idx, name in id2label.items():
        low = str(name).lower().replace("-", "_")
        if "contra" in low:
            out[int(idx)] = CONTRADICTION
        elif "entail" in low and not low.startswith(("not", "non", "no_")):
            out[int(idx)] = ENTAILMENT
        else:
            out[int(idx)] = NEUTRAL
    if ENTAILMENT not in out.values():
        raise MedtrustError(f"The NLI model's labels {dict(id2label)} name no entailment class.",
                            "use an MNLI-style classifier whose config.id2label has 'entailment'")
    return out


class PairwiseEntailment(Entailment, ABC):
    """A method asked about one ordered pair at a time ("<question> <answer i>" entails
    "<question> <answer j>"?): subclasses give ``classify(pairs)``; only the pairs the mode needs
    are asked."""

    @abstractmethod
    def classify(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[int, float]]:
        """(label, p_entail) of each (premise, hypothesis) pair, in order."""

    def complete(self, items: Sequence[tuple[str, PairMatrix]], mode: str = "full") -> list[PairMatrix]:
        """Ask only the pairs ``mode`` needs, in at most two batched rounds: each pair one way
        (both ways for "full"), then the other way where the first answer leaves it open."""
        while asks := [(q, m, i, j) for q, m in items for i, j in m.needed(mode)]:
            results = self.classify([(f"{q} {m.texts[i]}", f"{q} {m.texts[j]}") for q, m, i, j in asks])
            for (_, m, i, j), (label, p) in zip(asks, results):
                m.labels[i, j], m.p_entail[i, j] = label, p
        return [m for _, m in items]


class NLIEntailment(PairwiseEntailment):
    """An MNLI-style sequence classifier (e.g. microsoft/deberta-large-mnli): text 1 entails
    text 2 when the arg-max label is entailment; only the pairs the clustering needs are asked,
    batched, results cached."""

    def __init__(self, model: str, device: str | None = None, batch_size: int = 32, max_length: int = 256):
        from pathlib import Path

        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from medtrust.models.hf import pick_device
        self.name = f"nli/{model}"
        source = str(Path(model).expanduser()) if Path(model).expanduser().exists() else model
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source)
            self.model = AutoModelForSequenceClassification.from_pretrained(source)
        except OSError as e:
            raise MedtrustError(f"Could not load the NLI model '{model}': {str(e).splitlines()[0]}",
                                "give a local folder (nli/./models/deberta-large-mnli) or a downloaded hub id") from e
        self.device = pick_device(device)
        self.model.to(self.device).eval()
        self.label_map = nli_label_map(self.model.config.id2label)
        self.entail_index = [i for i, v in self.label_map.items() if v == ENTAILMENT][0]
        self.batch_size, self.max_length = batch_size, max_length
        self.cache: dict[tuple[str, str], tuple[int, float]] = {}
        self.calls = 0

    def classify(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[int, float]]:
        """(label, p_entail) of each (premise, hypothesis) pair; uncached pairs in batches of
        similar length (sorted by token count, so little padding is computed)."""
        import torch
        todo = [p for p in dict.fromkeys(pairs) if p not in self.cache]
        if not todo:
            return [self.cache[p] for p in pairs]
        ids = self.tokenizer([a for a, _ in todo], [b for _, b in todo], truncation=True,
                             max_length=self.max_length)["input_ids"]
        lengths = {p: len(x) for p, x in zip(todo, ids)}
        todo.sort(key=lambda p: lengths[p])
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start:start + self.batch_size]
            enc = self.tokenizer([a for a, _ in chunk], [b for _, b in chunk], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt").to(self.device)
            with torch.inference_mode():
                logits = self.model(**enc).logits.float()
            probs = torch.softmax(logits, dim=-1).cpu().numpy()
            self.calls += 1
            for pair, row in zip(chunk, probs):
                self.cache[pair] = (self.label_map[int(row.argmax())], float(row[self.entail_index]))
        return [self.cache[p] for p in pairs]


# -------------------------------------------------------------------------------------------- LLM
EQUIVALENCE_PROMPT = (
    'We are evaluating answers to the question "{question}"\n'
    "Here are two possible answers:\nPossible Answer 1: {a}\nPossible Answer 2: {b}\n"
    "Do the two answers mean the same thing? Respond only with yes or no.\nResponse:")


class LLMEntailment(Entailment):
    """A yes/no equivalence prompt to any medtrust backend, greedy, one request per unordered
    pair (the answer is symmetric): yes = entailment both ways, no = contradiction both ways,
    an unclear reply = neutral. All pairs of the batch go in one ``generate`` call. The backend
    is opened by the study (``models.open.open_model``) before anything is generated."""

    def __init__(self, model: str, backend):
        self.name = f"llm/{model}"
        self.model_string = model
        self.backend = backend
        self.cache: dict[tuple[str, str, str], str] = {}

    def ask(self, prompts: Sequence[str], max_tokens: int = 4) -> list[str]:
        from medtrust.models.base import GenerationRequest
        reqs = [GenerationRequest(messages=[{"role": "user", "content": p}], n=1, temperature=0.0,
                                  max_tokens=max_tokens) for p in prompts]
        return [outs[0].text for outs in self.backend.generate(reqs)] if reqs else []

    def _batch(self, items):
        keys = []
        for q, texts in items:
            keys += [(q, *sorted((texts[i], texts[j]))) for i in range(len(texts)) for j in range(i + 1, len(texts))]
        todo = [k for k in dict.fromkeys(keys) if k not in self.cache]
        replies = self.ask([EQUIVALENCE_PROMPT.format(question=q, a=a, b=b) for q, a, b in todo])
        self.cache.update(zip(todo, replies))
        out_l, out_p = [], []
        for q, texts in items:
            labels, probs = _empty(len(texts))
            for i in range(len(texts)):
                for j in range(i + 1, len(texts)):
                    verdict = parse_yes_no(self.cache[(q, *sorted((texts[i], texts[j])))])
                    lab = NEUTRAL if verdict is None else (ENTAILMENT if verdict == "yes" else CONTRADICTION)
                    labels[i, j] = labels[j, i] = lab
                    probs[i, j] = probs[j, i] = 0.5 if verdict is None else float(verdict == "yes")
            out_l.append(labels)
            out_p.append(probs)
        return out_l, out_p


# ----------------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class EntailmentMethod:
    """One way of deciding entailment: ``form`` as users write it, whether it needs a model
    string after the prefix, and a summary for ``--help``."""

    prefix: str
    form: str
    summary: str
    takes_model: bool = False


METHODS: dict[str, EntailmentMethod] = {m.prefix: m for m in [
    EntailmentMethod("embedding", "embedding[:threshold]", "cosine similarity of all-MiniLM-L6-v2 embeddings "
                     f"(default, threshold {EMBEDDING_THRESHOLD})"),
    EntailmentMethod("exact", "exact", "SQuAD-normalised texts are equal"),
    EntailmentMethod("nli", "nli/<hub id or local folder>", "an MNLI-style classifier (e.g. deberta-large-mnli)",
                     takes_model=True),
    EntailmentMethod("llm", "llm/<model string>", "a yes/no equivalence prompt to any model", takes_model=True),
]}
FORMS = ", ".join(m.form for m in METHODS.values())


def entailment_help() -> str:
    """The entailment methods for ``--help``, from the table."""
    return "; ".join(f"{m.form}: {m.summary}" for m in METHODS.values())


def parse_entailment(spec: str) -> tuple[EntailmentMethod, str]:
    """(method, what follows its prefix) of an ``--entailment`` value, or one clear error."""
    spec = (spec or "").strip()
    prefix, sep, rest = spec.partition("/") if "/" in spec else spec.partition(":")
    method = METHODS.get(prefix)
    if method is None or (method.takes_model and not rest) or (method.takes_model and sep != "/") \
            or (prefix == "exact" and sep) or (prefix == "embedding" and sep == "/"):
        raise MedtrustError(f"'{spec}' is not an entailment method.", f"use one of: {FORMS}")
    return method, rest


_LOADED: dict[str, Entailment] = {}


def resolve_entailment(spec: str, backend=None, nli_args: dict | None = None) -> Entailment:
    """The entailment method a string names, loaded once per process (the LLM method is given its
    ``backend``, opened by the study through ``open_model``)."""
    method, rest = parse_entailment(spec)
    spec = spec.strip()
    if method.prefix == "llm":
        if backend is None:
            raise ValueError("llm entailment needs the backend of its model")
        return LLMEntailment(rest, backend)
    if spec in _LOADED:
        return _LOADED[spec]
    if method.prefix == "exact":
        loaded: Entailment = ExactEntailment()
    elif method.prefix == "embedding":
        try:
            loaded = EmbeddingEntailment(float(rest) if rest else EMBEDDING_THRESHOLD)
        except ValueError:
            raise MedtrustError(f"'{spec}' has no number after 'embedding:'.", "write e.g. embedding:0.9") from None
    else:
        loaded = NLIEntailment(rest, **(nli_args or {}))
    _LOADED[spec] = loaded
    return loaded
