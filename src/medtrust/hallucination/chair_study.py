"""`medtrust hallucination --chair`: CHAIR object hallucination of a vision-language model's
detailed descriptions (hallucination/chair.py has the vocabulary, mention and metric rules)."""

from __future__ import annotations

import html
from typing import Any, Sequence

from pydantic import Field

from medtrust.config import RunConfig
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.hallucination.chair import (
    CHAIR_METRICS,
    chair_metrics,
    load_vocabulary,
    score_description,
    vocabulary_for,
)
from medtrust.hallucination.greedy import question_records
from medtrust.hallucination.vision_prompts import CAPTION_PROMPT
from medtrust.models.base import Backend, Capability
from medtrust.runs.records import SampleRecord
from medtrust.stats import metric
from medtrust.studies import Context, Study, Unit

CHAIR_STUDY = "hallucination-chair"
MAX_SHOWN = 200  # descriptions shown highlighted in the report


class ChairConfig(RunConfig):
    study: str = CHAIR_STUDY
    max_tokens: int = Field(default=96, ge=1, description="new tokens per description")
    vocabulary: str | None = Field(default=None, description="JSON or YAML file {object: [synonym, ...]} "
                                   "replacing the dataset's object vocabulary")


def truth_colours(sample: Sample) -> dict[str, list[str]]:
    """The colours of the image's objects where the dataset knows them: metadata["colours"], or a
    demo-images scene (each shape's colour, the arrow's colour)."""
    if sample.metadata.get("colours"):
        return {str(k): list(v) for k, v in sample.metadata["colours"].items()}
    scene = sample.metadata.get("scene") or {}
    out: dict[str, list[str]] = {}
    for s in scene.get("shapes") or []:
        out.setdefault(s["shape"], []).append(s["colour"])
    if scene.get("arrow") is not None and scene.get("arrow_colour"):
        out["arrow"] = [scene["arrow_colour"]]
    return out


def description_samples(rows: Sequence[Sample], limit: int | None) -> list[Sample]:
    """One description request per distinct image (and language) with the union of its rows'
    objects; ``limit`` counts images. Images without objects are left out."""
    images: dict[str, dict[str, Any]] = {}
    for s in rows:
        if not s.images:
            continue
        found = {str(o).strip().lower() for o in s.metadata.get("objects") or [] if str(o).strip()}
        entry = images.setdefault(s.images[0], {"objects": set(), "languages": [], "first": s})
        entry["objects"] |= found
        if s.language not in entry["languages"]:
            entry["languages"].append(s.language)
    chosen = [(p, e) for p, e in images.items() if e["objects"]]
    vocabulary = sorted({o for _, e in chosen for o in e["objects"]})
    out = []
    for path, e in chosen[:limit] if limit else chosen:
        first = e["first"]
        image_id = str(first.metadata.get("image_id") or first.id)
        for lang in e["languages"]:
            zh = lang == "zh"
            out.append(Sample(id=f"chair-{image_id}" + ("-zh" if zh else ""), question=CAPTION_PROMPT["zh" if zh
                              else "en"], answer_type="open", images=[path],
                              metadata={"language": "zh" if zh else "en", "image_id": image_id,
                                        "objects": sorted(e["objects"]), "colours": truth_colours(first),
                                        "dataset_objects": vocabulary}))
    return out


class ChairStudy(Study):
    """One greedy detailed description per image; ``score`` finds the objects it mentions and
    judges each against the image's objects (no model needed, so ``--rescore`` reruns it, also
    with another ``--vocabulary``)."""

    name = CHAIR_STUDY
    title = "Object hallucination in descriptions (CHAIR)"
    config_class = ChairConfig
    rescore_options = ("vocabulary",)

    def needs(self, config: ChairConfig) -> set[Capability]:
        return {Capability.IMAGES}

    def load_samples(self, config: ChairConfig) -> list[Sample]:
        rows = self.rows(config)
        samples = description_samples(rows, config.limit)
        if not samples:
            raise MedtrustError(f"'{config.dataset}' has no images with object annotations, so CHAIR cannot "
                                "judge descriptions.", "use demo-images, or an image-manifest whose rows list "
                                "'objects' or 'findings'")
        return samples

    def resolve(self, config: ChairConfig, generator: Backend | None) -> dict[str, Any]:
        """The vocabulary file, read (and checked) before anything is generated."""
        return {"synonyms": load_vocabulary(config.vocabulary) if config.vocabulary else None}

    def generate(self, backend: Backend, batch: Sequence[Unit], ctx: Context) -> list[SampleRecord]:
        return question_records(self, backend, batch, ctx.config)

    def score(self, records: list[SampleRecord], ctx: Context) -> list[SampleRecord]:
        """The mentions of each description (span, object, right / hallucinated / negated, colour)."""
        synonyms = ctx.components.get("synonyms")
        vocabularies: dict[tuple, Any] = {}
        for r in records:
            m = r.sample.metadata
            key = tuple(m.get("dataset_objects") or m.get("objects") or [])
            if key not in vocabularies:
                vocabularies[key] = vocabulary_for(ctx.config.dataset, key, synonyms)
            r.scores = score_description(response(r), m.get("objects") or [], vocabularies[key], m.get("colours"))
        return records

    def summarize(self, records: list[SampleRecord], ctx: Context) -> dict[str, Any]:
        images = [r.sample.metadata["image_id"] for r in records]
        out: dict[str, Any] = {"descriptions": metric(len(records)), "images": metric(len(set(images))),
                               "overall": chair_metrics([r.scores for r in records], images, seed=ctx.config.seed)}
        languages = sorted({r.sample.language for r in records})
        if len(languages) > 1:
            out["by_language"] = {}
            for lang in languages:
                rows = [r for r in records if r.sample.language == lang]
                out["by_language"][lang] = chair_metrics([r.scores for r in rows],
                                                         [r.sample.metadata["image_id"] for r in rows],
                                                         seed=ctx.config.seed)
        return out

    def report_sections(self, run, records: list[SampleRecord], results: dict) -> list:
        return chair_sections(records, results)

    def browse_row(self, record: SampleRecord) -> dict[str, Any]:
        s = record.scores or {}
        return {"id": record.id, "objects": ", ".join(record.sample.metadata.get("objects") or []),
                "hallucinated": ", ".join(s.get("hallucinated") or []), "description": response(record)[:120]}


def response(record: SampleRecord) -> str:
    return record.outputs[0].text if record.outputs else ""


COLOURS = {"right": "#1a7f37", "hallucinated": "#cf222e", "negated": "#6e7781"}


def highlighted(text: str, mentions: Sequence[dict]) -> str:
    """The description as HTML (escaped), each mention coloured: right green, hallucinated red,
    negated grey struck through; a wrong colour word is underlined."""
    parts, at = [], 0
    for m in sorted(mentions, key=lambda m: m["start"]):
        parts.append(html.escape(text[at:m["start"]]))
        style = f"color:{COLOURS[m['status']]};font-weight:bold"
        if m["status"] == "negated":
            style += ";text-decoration:line-through"
        elif m.get("colour_right") is False:
            style += ";text-decoration:underline wavy"
        title = f"{m['object']}: {m['status']}" + (f", colour {m['colour']} wrong" if m.get("colour_right") is False
                                                  else "")
        parts.append(f'<span class="chair-{m["status"]}" title="{html.escape(title)}" style="{style}">'
                     f"{html.escape(text[m['start']:m['end']])}</span>")
        at = m["end"]
    parts.append(html.escape(text[at:]))
    return "".join(parts)


def chair_sections(records: Sequence[SampleRecord], results: dict) -> list:
    """The metrics table (90% intervals, n) and every description with its mentions highlighted."""
    from medtrust.report.format import Section, fmt_interval, table_html
    metrics = results.get("metrics", {})
    groups = [("all", metrics.get("overall") or {})] + list((metrics.get("by_language") or {}).items())
    rows = [[name, *[fmt_interval(ms.get(k)) for k in CHAIR_METRICS],
             fmt_interval(ms.get("objects_per_description"))] for name, ms in groups if ms]
    table = table_html(["descriptions", *CHAIR_METRICS, "objects / description"], rows)
    note = ("<p>CHAIR_i: distinct hallucinated objects / distinct objects mentioned, per description, summed; "
            "CHAIR_s: share of descriptions with a hallucinated object (Wilson); recall: annotated objects "
            "mentioned / annotated objects; chair_i_mentions: CHAIR_i over every occurrence (the reference "
            "code's count); colour_hallucination: (object, colour) pairs of present objects with a wrong colour. "
            "Ratios have percentile bootstrap intervals over images. Negated mentions (\"no arrow\") are not "
            "counted.</p>")
    items = []
    for r in list(records)[:MAX_SHOWN]:
        s = r.scores or {}
        truth = ", ".join(s.get("truth") or [])
        wrong = "; ".join(f"{c} {o}" for o, c in s.get("colour_wrong") or [])
        items.append(f"<li><b>{html.escape(r.id)}</b> (objects: {html.escape(truth)}"
                     + (f"; wrong colours: {html.escape(wrong)}" if wrong else "") + ")<br>"
                     + highlighted(response(r), s.get("mentions") or []) + "</li>")
    legend = (f'<p><span style="color:{COLOURS["right"]}">right</span>, '
              f'<span style="color:{COLOURS["hallucinated"]}">hallucinated</span>, '
              f'<span style="color:{COLOURS["negated"]};text-decoration:line-through">negated</span>'
              + (f"; the first {MAX_SHOWN} of {len(records)}" if len(records) > MAX_SHOWN else "") + "</p>")
    return [Section("CHAIR: metrics (90% intervals)", note + table),
            Section("Descriptions and their mentions", legend + "<ol>" + "".join(items) + "</ol>")]
