"""`medtrust hallucination --pope`: POPE-style object-hallucination probing of a vision-language
model on an image dataset with per-image object annotations (see hallucination/pope.py)."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any, Sequence

from pydantic import Field, field_validator

from medtrust.config import RunConfig
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.hallucination.greedy import question_records
from medtrust.hallucination.pope import (
    METRICS,
    PER_IMAGE,
    SPLITS,
    annotated_images,
    build_probes,
    pope_metrics,
    probe_sample,
    read_answer,
)
from medtrust.models.base import Backend, Capability
from medtrust.runs.records import SampleRecord
from medtrust.stats import metric
from medtrust.studies import Context, Study, Unit

POPE_STUDY = "hallucination-pope"


class PopeConfig(RunConfig):
    study: str = POPE_STUDY
    per_image: int = Field(default=PER_IMAGE, ge=1, description="positives (and negatives per split) per image")
    splits: list[str] = Field(default_factory=lambda: list(SPLITS), description="comma-separated: random, "
                              "popular, adversarial")
    max_tokens: int = Field(default=16, ge=1, description="new tokens per answer")

    @field_validator("splits", mode="before")
    @classmethod
    def _splits(cls, value):
        names = [x.strip() for x in value.split(",") if x.strip()] if isinstance(value, str) else list(value)
        unknown = [x for x in names if x not in SPLITS]
        if unknown:
            raise ValueError(f"unknown POPE split(s) {', '.join(unknown)}; use any of {', '.join(SPLITS)}")
        return names


class PopeStudy(Study):
    """Yes/no probes about objects in and not in each image; ``--limit`` counts images, while the
    vocabulary and the popular / adversarial statistics come from the whole split. The probe
    (image, object, split, label) is the record's sample (its metadata); ``scores`` hold the
    parsed answer and whether it is right."""

    name = POPE_STUDY
    title = "Object hallucination (POPE)"
    config_class = PopeConfig

    def needs(self, config: PopeConfig) -> set[Capability]:
        return {Capability.IMAGES}

    def load_samples(self, config: PopeConfig) -> list[Sample]:
        rows = self.rows(config)
        images = annotated_images(rows)
        if not images:
            raise MedtrustError(f"'{config.dataset}' has no images with object annotations, so POPE probes "
                                "cannot be built.", "use demo-images, or an image-manifest whose rows list "
                                "'objects' or 'findings'")
        chosen = images[:config.limit] if config.limit else images
        probes = build_probes(chosen, per_image=config.per_image, seed=config.seed, splits=config.splits,
                              statistics_from=images)
        if not probes:
            raise MedtrustError(f"No POPE probes: every image of '{config.dataset}' holds every object of the "
                                "vocabulary.", "use a dataset with a larger object vocabulary")
        return [probe_sample(p, "zh" if config.lang == "zh" else "en") for p in probes]

    def generate(self, backend: Backend, batch: Sequence[Unit], ctx: Context) -> list[SampleRecord]:
        return question_records(self, backend, batch, ctx.config)

    def score(self, records: list[SampleRecord], ctx: Context) -> list[SampleRecord]:
        """The answer read as yes / no / unparsed, and whether it is right (no model needed)."""
        for r in records:
            parsed = read_answer(r.outputs[0].text if r.outputs else "")
            r.scores = {"parsed": parsed, "correct": (parsed == "yes") == (r.sample.answer == "yes")}
        return records

    def summarize(self, records: list[SampleRecord], ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {"probes": metric(len(records)),
                               "images": metric(len({r.sample.images[0] for r in records}))}
        for split in [s for s in SPLITS if any(split_of(r) == s for r in records)]:
            rows = [r for r in records if split_of(r) == split]
            out[split] = pope_metrics([r.sample.answer for r in rows], [r.scores["parsed"] for r in rows],
                                      seed=ctx.config.seed)
        return out

    def report_sections(self, run, records: list[SampleRecord], results: dict) -> list:
        return pope_sections(records, results)

    def browse_row(self, record: SampleRecord) -> dict[str, Any]:
        m = record.sample.metadata
        return {"id": record.id, "split": m["split"], "object": m["object"], "label": record.sample.answer,
                "parsed": record.scores.get("parsed"), "response": response(record)[:120]}


def split_of(record: SampleRecord) -> str:
    return record.sample.metadata["split"]


def response(record: SampleRecord) -> str:
    return record.outputs[0].text if record.outputs else ""


def pope_sections(records: list[dict], results: dict) -> list:
    """The splits x metrics table (90% intervals) and the most common responses per split."""
    from medtrust.report.format import Section, fmt_interval, table_html
    metrics = results.get("metrics", {})
    splits = [s for s in SPLITS if s in metrics]
    rows = [[s, *[fmt_interval(metrics[s].get(m)) for m in METRICS], fmt_interval(metrics[s].get("unparsed")),
             str(metrics[s]["accuracy"].get("n", ""))] for s in splits]
    table = table_html(["split", *METRICS, "unparsed", "probes"], rows)
    note = ("<p>\"yes\" is the positive class; an unparsed answer counts as not saying yes. "
            "Each split holds the same positive probes and its own negatives.</p>")
    common = []
    for s in splits:
        top = Counter(response(r).strip()[:80] for r in records if split_of(r) == s).most_common(5)
        items = "".join(f"<li>{html.escape(t)!s} ({c})</li>" for t, c in top)
        common.append(f"<p><b>{s}</b></p><ul>{items}</ul>")
    return [Section("POPE: splits x metrics (90% bootstrap intervals)", note + table),
            Section("Most common responses", "".join(common))]
