"""`medtrust hallucination --pope`: POPE-style object-hallucination probing of a vision-language
model on an image dataset with per-image object annotations (see hallucination/pope.py)."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any, Sequence

from pydantic import Field

from medtrust.config import RunConfig
from medtrust.data.registry import load_dataset
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.hallucination.pope import (
    METRICS,
    PER_IMAGE,
    SPLITS,
    annotated_images,
    build_probes,
    parse_yes_no,
    pope_metrics,
    probe_sample,
)
from medtrust.models.base import Backend, Capability, GenerationRequest
from medtrust.runs.execute import Study
from medtrust.runs.folder import RunFolder
from medtrust.runs.generate import prompt_hash
from medtrust.stats import metric

POPE_STUDY = "hallucination-pope"


class PopeConfig(RunConfig):
    study: str = POPE_STUDY
    per_image: int = Field(default=PER_IMAGE, ge=1, description="positives (and negatives per split) per image")
    splits: list[str] = Field(default_factory=lambda: list(SPLITS))
    max_tokens: int = Field(default=16, ge=1)


class PopeStudy(Study):
    """Yes/no probes about objects in and not in each image; ``--limit`` counts images, while the
    vocabulary and the popular / adversarial statistics come from the whole split."""

    name = POPE_STUDY
    title = "Object hallucination (POPE)"
    config_class = PopeConfig

    def needs(self, config: PopeConfig) -> set[Capability]:
        return {Capability.IMAGES}

    def load_samples(self, config: PopeConfig) -> list[Sample]:
        unknown = [s for s in config.splits if s not in SPLITS]
        if unknown:
            raise MedtrustError(f"Unknown POPE split(s): {', '.join(unknown)}.", f"use any of: {', '.join(SPLITS)}")
        rows = load_dataset(config.dataset, path=config.data_path, split=config.split, seed=config.seed,
                            shuffle=config.shuffle, lang=config.lang)
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

    def process(self, backend: Backend, samples: Sequence[Sample], config: PopeConfig,
                run: RunFolder) -> list[dict[str, Any]]:
        from medtrust.prompts import user_message
        messages = [[user_message(s.question, s.images)] for s in samples]
        distinct: dict[str, list] = {}  # a positive probe is the same question in every split: asked once
        for m in messages:
            distinct.setdefault(prompt_hash(m), m)
        outputs = backend.generate([GenerationRequest(messages=m, n=1, temperature=0.0, max_tokens=config.max_tokens,
                                                      seed=config.seed) for m in distinct.values()])
        replies = {h: outs[0].text for h, outs in zip(distinct, outputs)}
        records = []
        for s, m in zip(samples, messages):
            h = prompt_hash(m)
            response = replies[h]
            parsed = parse_yes_no(response)
            records.append({"id": s.id, "image": s.images[0], "images": list(s.images),
                            "image_id": s.metadata["image_id"], "object": s.metadata["object"],
                            "split": s.metadata["split"], "label": s.answer, "question": s.question,
                            "prompt_hash": h, "response": response, "parsed": parsed,
                            "correct": (parsed == "yes") == (s.answer == "yes")})
        return records

    def summarize(self, records: list[dict], config: PopeConfig) -> dict[str, Any]:
        out: dict[str, Any] = {"probes": metric(len(records)),
                               "images": metric(len({r["image"] for r in records}))}
        for split in [s for s in SPLITS if any(r["split"] == s for r in records)]:
            rows = [r for r in records if r["split"] == split]
            out[split] = pope_metrics([r["label"] for r in rows], [r["parsed"] for r in rows], seed=config.seed)
        return out

    def rescore_record(self, record: dict[str, Any], config: PopeConfig, run: RunFolder) -> dict[str, Any]:
        """Parse the saved response again (no model needed)."""
        parsed = parse_yes_no(record["response"])
        return {**record, "parsed": parsed, "correct": (parsed == "yes") == (record["label"] == "yes")}

    def report_sections(self, run: RunFolder, records: list[dict], results: dict) -> list:
        return pope_sections(records, results)

    def browse_row(self, record: dict) -> dict[str, Any]:
        return {"id": record["id"], "split": record["split"], "object": record["object"], "label": record["label"],
                "parsed": record["parsed"], "response": record["response"][:120]}


def pope_sections(records: list[dict], results: dict) -> list:
    """The splits x metrics table (90% intervals) and the most common responses per split."""
    from medtrust.report.html import Section, fmt_interval, table_html
    metrics = results.get("metrics", {})
    splits = [s for s in SPLITS if s in metrics]
    rows = [[s, *[fmt_interval(metrics[s].get(m)) for m in METRICS], fmt_interval(metrics[s].get("unparsed")),
             str(metrics[s]["accuracy"].get("n", ""))] for s in splits]
    table = table_html(["split", *METRICS, "unparsed", "probes"], rows)
    note = ("<p>\"yes\" is the positive class; an unparsed answer counts as not saying yes. "
            "Each split holds the same positive probes and its own negatives.</p>")
    common = []
    for s in splits:
        top = Counter(r["response"].strip()[:80] for r in records if r["split"] == s).most_common(5)
        items = "".join(f"<li>{html.escape(t)!s} ({c})</li>" for t, c in top)
        common.append(f"<p><b>{s}</b></p><ul>{items}</ul>")
    return [Section("POPE: splits x metrics (90% bootstrap intervals)", note + table),
            Section("Most common responses", "".join(common))]
