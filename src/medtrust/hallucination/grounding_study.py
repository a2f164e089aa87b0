"""`medtrust hallucination --grounding`: ask a vision-language model for the bounding box of
objects that are in the image (positives, scored by IoU against the true boxes) and of objects
that are not (negatives, drawn as POPE draws them: random, popular, adversarial); a box given for
an absent object is a hallucinated box. Box parsing and scales: hallucination/boxes.py.

Positives are k = min(per_image, objects with true boxes, absent objects) of the image's objects
that have true boxes (drawn once per image, shared by the splits); the k negatives per split come
from ``pope.draw_negatives`` over the vocabulary of every annotated object (with or without
boxes), with POPE's seeds, so they are POPE's negatives wherever k is the same.
"""

from __future__ import annotations

import html
import random
import re
from pathlib import Path
from typing import Any, Literal, Sequence

from pydantic import Field, field_validator

from medtrust.config import RunConfig
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.hallucination.boxes import best_iou, parse_box
from medtrust.hallucination.greedy import question_records
from medtrust.hallucination.pope import PER_IMAGE, SPLITS, AnnotatedImage, draw_negatives, object_statistics
from medtrust.hallucination.vision_prompts import grounding_prompt
from medtrust.models.base import Backend, Capability
from medtrust.runs.records import SampleRecord
from medtrust.stats import mean_metric, metric, rate_metric
from medtrust.studies import Context, Study, Unit

GROUNDING_STUDY = "hallucination-grounding"
IOU_HIT = 0.5
DRAWN = 12  # requests drawn with their boxes in the report


class GroundingConfig(RunConfig):
    study: str = GROUNDING_STUDY
    per_image: int = Field(default=PER_IMAGE, ge=1, description="positives (and negatives per split) per image")
    splits: list[str] = Field(default_factory=lambda: list(SPLITS), description="comma-separated: random, "
                              "popular, adversarial")
    max_tokens: int = Field(default=48, ge=1, description="new tokens per reply")
    box_format: Literal["auto", "pixels", "normalised", "1000"] = Field(
        default="auto", description="scale of the boxes in replies: auto, pixels, normalised (0-1) or 1000")

    @field_validator("splits", mode="before")
    @classmethod
    def _splits(cls, value):
        names = [x.strip() for x in value.split(",") if x.strip()] if isinstance(value, str) else list(value)
        unknown = [x for x in names if x not in SPLITS]
        if unknown:
            raise ValueError(f"unknown split(s) {', '.join(unknown)}; use any of {', '.join(SPLITS)}")
        return names


def boxed_images(rows: Sequence[Sample]) -> list[tuple[AnnotatedImage, dict[str, list], tuple[int, int] | None]]:
    """The distinct images (first image of each row) with all their objects, their true boxes
    (metadata["boxes"], normalised) and their size in pixels, in order of first appearance."""
    seen: dict[str, dict[str, Any]] = {}
    for s in rows:
        if not s.images:
            continue
        e = seen.setdefault(s.images[0], {"objects": set(), "boxes": {}, "id": str(s.metadata.get("image_id") or s.id)})
        e["objects"] |= {str(o).strip().lower() for o in s.metadata.get("objects") or [] if str(o).strip()}
        for obj, boxes in (s.metadata.get("boxes") or {}).items():
            e["objects"].add(obj.strip().lower())
            e["boxes"].setdefault(obj.strip().lower(), [list(b) for b in boxes])
    return [(AnnotatedImage(p, e["id"], tuple(sorted(e["objects"]))), e["boxes"], image_size(p))
            for p, e in seen.items() if e["objects"]]


def image_size(path: str) -> tuple[int, int] | None:
    """(width, height) of an image file (None when it cannot be read)."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, ValueError):
        return None


def grounding_samples(images, chosen: int | None, per_image: int = PER_IMAGE, seed: int = 0,
                      splits: Sequence[str] = SPLITS, lang: str = "en") -> list[Sample]:
    """The requests of the first ``chosen`` images (module docstring: positives and negatives);
    statistics and vocabulary come from all ``images``."""
    frequency, cooccur = object_statistics([img for img, _, _ in images])
    vocabulary = sorted(frequency)
    out = []
    for img, boxes, size in images[:chosen] if chosen else images:
        boxed = sorted(o for o in img.objects if boxes.get(o))
        k = min(per_image, len(boxed), len([o for o in vocabulary if o not in img.objects]))
        if k == 0:
            continue
        positives = random.Random(f"pope/{seed}/{img.image_id}/positives").sample(boxed, k)
        for split in splits:
            negatives = draw_negatives(img.objects, split, k, vocabulary, frequency, cooccur,
                                       random.Random(f"pope/{seed}/{img.image_id}/{split}"))
            for obj, label in [(o, "present") for o in positives] + [(o, "absent") for o in negatives]:
                slug = re.sub(r"[^a-z0-9]+", "_", obj.lower()).strip("_") or "object"
                out.append(Sample(id=f"grounding-{split}-{img.image_id}-{slug}", question=grounding_prompt(obj, lang),
                                  answer_type="open", images=[img.image],
                                  metadata={"language": lang, "image_id": img.image_id, "object": obj, "split": split,
                                            "label": label, "truth_boxes": boxes.get(obj, []) if label == "present"
                                            else [], "image_size": list(size) if size else None}))
    return out


def score_reply(text: str, label: str, truth_boxes: Sequence[Sequence[float]], box_format: str = "auto",
                image_size: Sequence[int] | None = None) -> dict[str, Any]:
    """The reply's box (normalised, or None), whether it gave one, and on a positive its best IoU
    over the true boxes (no box = 0) and whether that is >= 0.5."""
    parsed = parse_box(text, box_format, tuple(image_size) if image_size else None)
    out: dict[str, Any] = {"gave_box": parsed is not None, "box": list(parsed.box) if parsed and parsed.box else None,
                           "raw": list(parsed.raw) if parsed else None, "scale": parsed.scale if parsed else None,
                           "format": parsed.source if parsed else None}
    if label == "present":
        out["iou"] = best_iou(parsed.box if parsed else None, truth_boxes)
        out["hit"] = out["iou"] >= IOU_HIT
    return out


METRICS = ("mean_iou", "accuracy_iou50", "no_box_rate", "hallucinated_box_rate")


def grounding_metrics(rows: Sequence[tuple[str, dict]], seed: int = 0) -> dict[str, Any]:
    """From (label, scores) pairs: mean IoU, accuracy at IoU >= 0.5 and the no-box share on
    positives, the hallucinated-box rate (absent objects given a box) on negatives."""
    pos = [s for label, s in rows if label == "present"]
    neg = [s for label, s in rows if label == "absent"]
    return {"mean_iou": mean_metric([s["iou"] for s in pos], seed=seed) if pos else metric(None, n=0, note="no "
                                                                                          "positives"),
            "accuracy_iou50": rate_metric([s["hit"] for s in pos]),
            "no_box_rate": rate_metric([not s["gave_box"] for s in pos]),
            "hallucinated_box_rate": rate_metric([s["gave_box"] for s in neg])}


class GroundingStudy(Study):
    """One greedy box request per (image, object, split); ``--limit`` counts images. ``score``
    reads the boxes (no model needed, so ``--rescore`` reruns it, also with another
    ``--box-format``)."""

    name = GROUNDING_STUDY
    title = "Grounding and hallucinated boxes"
    config_class = GroundingConfig
    rescore_options = ("box_format",)

    def needs(self, config: GroundingConfig) -> set[Capability]:
        return {Capability.IMAGES}

    def load_samples(self, config: GroundingConfig) -> list[Sample]:
        rows = self.rows(config)
        images = boxed_images(rows)
        if not any(boxes for _, boxes, _ in images):
            raise MedtrustError(f"'{config.dataset}' has no images with true boxes, so grounding cannot be scored.",
                                "use demo-images, or an image-manifest whose rows give 'boxes' "
                                '({"object": [[x1, y1, x2, y2]]})')
        samples = grounding_samples(images, config.limit, config.per_image, config.seed, config.splits,
                                    "zh" if config.lang == "zh" else "en")
        if not samples:
            raise MedtrustError(f"No grounding requests: no image of '{config.dataset}' has both a boxed object and "
                                "an absent one.", "use a dataset with a larger object vocabulary")
        return samples

    def generate(self, backend: Backend, batch: Sequence[Unit], ctx: Context) -> list[SampleRecord]:
        return question_records(self, backend, batch, ctx.config)

    def score(self, records: list[SampleRecord], ctx: Context) -> list[SampleRecord]:
        """Each reply's box and, on positives, its IoU (no model needed)."""
        for r in records:
            m = r.sample.metadata
            r.scores = score_reply(response(r), m["label"], m.get("truth_boxes") or [], ctx.config.box_format,
                                   m.get("image_size"))
        return records

    def summarize(self, records: list[SampleRecord], ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {"requests": metric(len(records)),
                               "images": metric(len({r.sample.images[0] for r in records}))}
        for split in [s for s in SPLITS if any(r.sample.metadata["split"] == s for r in records)]:
            rows = [(r.sample.metadata["label"], r.scores) for r in records if r.sample.metadata["split"] == split]
            out[split] = grounding_metrics(rows, seed=ctx.config.seed)
        return out

    def report_sections(self, run, records: list[SampleRecord], results: dict) -> list:
        return grounding_sections(records, results)

    def browse_row(self, record: SampleRecord) -> dict[str, Any]:
        m, s = record.sample.metadata, record.scores or {}
        return {"id": record.id, "split": m["split"], "object": m["object"], "label": m["label"],
                "iou": s.get("iou"), "gave_box": s.get("gave_box"), "reply": response(record)[:120]}


def response(record: SampleRecord) -> str:
    return record.outputs[0].text if record.outputs else ""


def box_svg(image: str | None, predicted: Sequence[float] | None, truths: Sequence[Sequence[float]],
            size: Sequence[int] | None = None, side: int = 220) -> str:
    """An inline SVG: the image (a JPEG thumbnail, base64) with the true boxes in green and the
    predicted one in red; ``size`` (width, height) keeps the image's aspect ratio."""
    from medtrust.report.plots import thumbnail_data_url
    href = thumbnail_data_url(image, max_side=2 * side) if image and Path(image).is_file() else None
    width, height = (side, max(1, round(side * size[1] / size[0]))) if size and size[0] else (side, side)

    def rect(b, colour: str) -> str:
        return (f'<rect x="{b[0]:.4f}" y="{b[1]:.4f}" width="{max(0.0, b[2] - b[0]):.4f}" '
                f'height="{max(0.0, b[3] - b[1]):.4f}" fill="none" stroke="{colour}" stroke-width="2" '
                'vector-effect="non-scaling-stroke"/>')
    img = (f'<image href="{href}" x="0" y="0" width="1" height="1" preserveAspectRatio="none"/>' if href
           else '<rect x="0" y="0" width="1" height="1" fill="#333"/>')
    boxes = "".join(rect(b, "#2da44e") for b in truths) + (rect(predicted, "#cf222e") if predicted else "")
    return (f'<svg class="grounding" width="{width}" height="{height}" viewBox="0 0 1 1" preserveAspectRatio="none" '
            f'xmlns="http://www.w3.org/2000/svg">{img}{boxes}</svg>')


def drawn_records(records: Sequence[SampleRecord], k: int = DRAWN) -> list[SampleRecord]:
    """A fixed sample to draw: distinct requests, positives and negatives alternating."""
    seen, pos, neg = set(), [], []
    for r in records:
        if r.prompt_hash in seen or not r.scores:
            continue
        seen.add(r.prompt_hash)
        (pos if r.sample.metadata["label"] == "present" else neg).append(r)
    out = []
    for a, b in zip(pos + [None] * len(neg), neg + [None] * len(pos)):
        out += [x for x in (a, b) if x is not None]
    return out[:k]


def grounding_sections(records: Sequence[SampleRecord], results: dict) -> list:
    """The splits x metrics table and a sample of requests drawn with their boxes."""
    from medtrust.report.format import Section, fmt_interval, table_html
    metrics = results.get("metrics", {})
    splits = [s for s in SPLITS if s in metrics]
    rows = [[s, *[fmt_interval(metrics[s].get(m)) for m in METRICS]] for s in splits]
    note = ("<p>Positives (objects in the image, the same in every split): mean IoU of the reply's box with the "
            "best-matching true box (no box = 0), accuracy at IoU >= 0.5 and the share with no box. Negatives "
            "(absent objects drawn as POPE draws them): the hallucinated-box rate, the share given a box.</p>")
    cells = []
    for r in drawn_records(records):
        m, s = r.sample.metadata, r.scores
        what = (f"IoU {s['iou']:.2f}" if m["label"] == "present" else
                ("hallucinated box" if s["gave_box"] else "no box (right)"))
        drawing = box_svg(r.sample.images[0] if r.sample.images else None, s.get("box"), m.get("truth_boxes") or [],
                          m.get("image_size"))
        cells.append(f'<figure style="display:inline-block;margin:6px;vertical-align:top;max-width:230px">{drawing}'
                     f"<figcaption><b>{html.escape(m['object'])}</b> ({m['label']}): {what}<br>"
                     f"<small>{html.escape(response(r)[:160])}</small></figcaption></figure>")
    legend = ('<p>True boxes <span style="color:#2da44e">green</span>, the reply\'s box '
              '<span style="color:#cf222e">red</span>.</p>')
    return [Section("Grounding: splits x metrics (90% intervals)", note + table_html(["split", *METRICS], rows)),
            Section("Requests with their boxes", legend + "".join(cells))]
