"""POPE-style object-hallucination probing (Li et al., EMNLP 2023, "Evaluating Object
Hallucination in Large Vision-Language Models"): yes/no questions "Is there a {object} in the
image?" about objects that are in an image (answer yes) and objects that are not (answer no).

For each image the positives are annotated objects; the negatives are objects NOT in the image,
drawn in three ways (one split each), as many as there are positives:

- ``random``: uniformly (seeded) from the vocabulary of every object annotated in the dataset;
- ``popular``: the objects annotated on the most images of the dataset;
- ``adversarial``: the objects that co-occur most often (number of images holding both) with the
  image's own objects, summed over them.

Ties in the popular and adversarial rankings are broken by name, so every split is reproducible.
Metrics treat "yes" as the positive class; an answer that says neither yes nor no is kept as
"unparsed" and counts as not saying yes (so it is wrong on a positive, right on a negative).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.stats import bootstrap_ci, metric
from medtrust.text import parse_yes_no

SPLITS = ("random", "popular", "adversarial")
TEMPLATES = {"en": "Is there {article} {object} in the image?", "zh": "图中有{object}吗？"}
PER_IMAGE = 3  # POPE: three ground-truth objects (and three absent ones) per image


@dataclass(frozen=True)
class AnnotatedImage:
    """An image file and the objects annotated in it."""

    image: str
    image_id: str
    objects: tuple[str, ...]


@dataclass(frozen=True)
class Probe:
    """One yes/no question about one object in one image."""

    image: str
    image_id: str
    object: str
    split: str
    label: str  # "yes" (the object is in the image) or "no"


# ---------------------------------------------------------------------------------- vocabulary
def annotated_images(samples: Iterable[Sample]) -> list[AnnotatedImage]:
    """The distinct images of ``samples`` (first image of each row) with the union of their rows'
    ``metadata["objects"]``, in order of first appearance; images without objects are left out."""
    objects: dict[str, set[str]] = {}
    ids: dict[str, str] = {}
    for s in samples:
        if not s.images:
            continue
        path = s.images[0]
        found = [str(o).strip().lower() for o in s.metadata.get("objects") or [] if str(o).strip()]
        objects.setdefault(path, set()).update(found)
        ids.setdefault(path, str(s.metadata.get("image_id") or s.id))
    return [AnnotatedImage(p, ids[p], tuple(sorted(objs))) for p, objs in objects.items() if objs]


def object_statistics(images: Sequence[AnnotatedImage]) -> tuple[Counter, dict[str, Counter]]:
    """How many images hold each object, and for each object how many images hold it together
    with each other object."""
    frequency: Counter = Counter()
    cooccur: dict[str, Counter] = {}
    for img in images:
        frequency.update(img.objects)
        for a in img.objects:
            cooccur.setdefault(a, Counter()).update(b for b in img.objects if b != a)
    return frequency, cooccur


def draw_negatives(objects: Sequence[str], split: str, k: int, vocabulary: Sequence[str], frequency: Counter,
                   cooccur: dict[str, Counter], rng: random.Random) -> list[str]:
    """``k`` objects not in ``objects``, drawn the way ``split`` defines (module docstring)."""
    present = set(objects)
    candidates = sorted(o for o in vocabulary if o not in present)
    if split == "random":
        return rng.sample(candidates, k)
    if split == "popular":
        return sorted(candidates, key=lambda o: (-frequency[o], o))[:k]
    if split == "adversarial":
        score = {o: sum(cooccur.get(p, Counter())[o] for p in present) for o in candidates}
        return sorted(candidates, key=lambda o: (-score[o], o))[:k]
    raise MedtrustError(f"Unknown POPE split '{split}'.", f"use any of: {', '.join(SPLITS)}")


def build_probes(images: Sequence[AnnotatedImage], per_image: int = PER_IMAGE, seed: int = 0,
                 splits: Sequence[str] = SPLITS, statistics_from: Sequence[AnnotatedImage] | None = None
                 ) -> list[Probe]:
    """The probes of every image and split: k = min(per_image, objects in the image, objects not
    in it) positives (drawn once per image, shared by the splits, as in POPE) and k negatives per
    split. Vocabulary and statistics come from ``statistics_from`` (default: ``images``)."""
    pool = list(statistics_from if statistics_from is not None else images)
    frequency, cooccur = object_statistics(pool)
    vocabulary = sorted(frequency)
    probes = []
    for img in images:
        k = min(per_image, len(img.objects), len([o for o in vocabulary if o not in img.objects]))
        if k == 0:
            continue
        positives = random.Random(f"pope/{seed}/{img.image_id}/positives").sample(sorted(img.objects), k)
        for split in splits:
            rng = random.Random(f"pope/{seed}/{img.image_id}/{split}")
            negatives = draw_negatives(img.objects, split, k, vocabulary, frequency, cooccur, rng)
            probes += [Probe(img.image, img.image_id, o, split, "yes") for o in positives]
            probes += [Probe(img.image, img.image_id, o, split, "no") for o in negatives]
    return probes


def probe_sample(p: Probe, lang: str = "en") -> Sample:
    """The probe as a dataset row (a yes/no question about the image)."""
    slug = re.sub(r"[^a-z0-9]+", "_", p.object.lower()).strip("_")
    article = "an" if p.object[:1].lower() in "aeiou" else "a"
    question = TEMPLATES["zh" if lang == "zh" else "en"].format(article=article, object=p.object)
    return Sample(id=f"pope-{p.split}-{p.image_id}-{slug}", question=question, answer=p.label,
                  answer_type="yes_no", choices=["yes", "no"], images=[p.image],
                  metadata={"language": lang, "image_id": p.image_id, "object": p.object, "split": p.split,
                            "label": p.label})


# ------------------------------------------------------------------------------------- answers
UNPARSED = "unparsed"


def read_answer(text: str) -> str:
    """"yes", "no" or "unparsed": the answer read leniently (``medtrust.text.parse_yes_no``)."""
    return parse_yes_no(text, lenient=True) or UNPARSED


# ------------------------------------------------------------------------------------- metrics
def _prf(y_true: np.ndarray, y_pred: np.ndarray, which: str) -> float:
    """One metric from 0/1 arrays (1 = yes), written out from the counts so the 1,000 bootstrap
    resamples stay fast; tests check it against scikit-learn. NaN where undefined."""
    tp = int(np.sum((y_true == 1) & (y_pred == 1)))
    if which == "accuracy":
        return float(np.mean(y_true == y_pred))
    if which == "yes_ratio":
        return float(np.mean(y_pred))
    said_yes, are_yes = int(np.sum(y_pred)), int(np.sum(y_true))
    precision = tp / said_yes if said_yes else float("nan")
    recall = tp / are_yes if are_yes else float("nan")
    if which == "precision":
        return precision
    if which == "recall":
        return recall
    return 2 * tp / (said_yes + are_yes) if said_yes + are_yes else float("nan")


METRICS = ("accuracy", "precision", "recall", "f1", "yes_ratio")
NOTES = {"precision": "the model never said yes", "recall": "no positive probes",
         "f1": "precision and recall are both undefined or zero"}


def pope_metrics(labels: Sequence[str], parsed: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 ("yes" = positive class) and yes-ratio, each with a 90%
    bootstrap interval, plus the share of unparsed answers; ``labels`` are "yes"/"no"."""
    y_true = np.array([lab == "yes" for lab in labels], dtype=int)
    y_pred = np.array([p == "yes" for p in parsed], dtype=int)
    n = len(y_true)
    out: dict[str, Any] = {}
    for name in METRICS:
        if n == 0:
            out[name] = metric(None, n=0, note="no probes")
            continue
        value = _prf(y_true, y_pred, name)
        ci = bootstrap_ci([y_true, y_pred], lambda t, p, w=name: _prf(t, p, w), seed=seed)
        out[name] = metric(value, ci, n=n, note=NOTES.get(name) if np.isnan(value) else None)
    unparsed = [float(p == UNPARSED) for p in parsed]
    out["unparsed"] = metric(float(np.mean(unparsed)) if n else None, n=n)
    return out
