"""The `generate` study: batched generation over a dataset with any backend (the base of every study)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any, Sequence

from pydantic import Field

from medtrust.config import RunConfig
from medtrust.data.schema import Sample
from medtrust.models.base import Backend, Capability, GenerationRequest
from medtrust.prompts import sample_messages
from medtrust.runs.execute import Study
from medtrust.runs.folder import RunFolder
from medtrust.stats import mean_metric, metric


class GenerateConfig(RunConfig):
    study: str = "generate"
    n: int = Field(default=1, ge=1, description="samples per question")
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=128, ge=1)
    logprobs: bool = True
    system: str | None = None
    instruction: str | None = None


def prompt_hash(messages: list[dict]) -> str:
    text = json.dumps(messages, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class GenerateStudy(Study):
    name = "generate"
    title = "Generation"
    config_class = GenerateConfig

    def needs(self, config: GenerateConfig) -> set[Capability]:
        return {Capability.LOGPROBS} if config.logprobs else set()

    def process(self, backend: Backend, samples: Sequence[Sample], config: GenerateConfig,
                run: RunFolder) -> list[dict[str, Any]]:
        messages = [sample_messages(s, config.instruction, config.system, config.lang) for s in samples]
        requests = [GenerationRequest(messages=m, n=config.n, temperature=config.temperature, top_p=config.top_p,
                                      max_tokens=config.max_tokens, seed=config.seed, logprobs=config.logprobs)
                    for m in messages]
        outputs = backend.generate(requests)
        return [{"id": s.id, "question": s.question, "gold": s.answer_text(), "answer_type": s.answer_type,
                 "images": s.images, "metadata": s.metadata, "prompt": m, "prompt_hash": prompt_hash(m),
                 "completions": [c.to_dict() for c in outs]}
                for s, m, outs in zip(samples, messages, outputs)]

    def summarize(self, records: list[dict], config: GenerateConfig) -> dict[str, Any]:
        comps = [c for r in records for c in r["completions"]]
        finish = Counter(c["finish_reason"] for c in comps)
        lengths = [len(c["token_ids"]) for c in comps if c.get("token_ids")]
        mean_lp = [sum(c["token_logprobs"]) / len(c["token_logprobs"]) for c in comps if c.get("token_logprobs")]
        return {
            "samples": metric(len(records)),
            "completions": metric(len(comps)),
            "output_tokens": mean_metric(lengths, seed=config.seed),
            "mean_token_logprob": mean_metric(mean_lp, seed=config.seed),
            "finished_by_length": metric(finish.get("length", 0) / max(1, len(comps)), n=len(comps)),
        }

    def report_sections(self, run: RunFolder, records: list[dict], results: dict) -> list:
        from medtrust.report.html import Section
        hist = _length_histogram(records)
        return [Section("Output lengths", hist)] if hist else []

    def browse_row(self, record: dict) -> dict[str, Any]:
        first = record["completions"][0] if record["completions"] else {}
        return {"id": record["id"], "question": record["question"], "gold": record.get("gold"),
                "output": first.get("text", ""), "finish": first.get("finish_reason", "")}


def _length_histogram(records: list[dict]):
    from medtrust.report.plots import figure_html, new_figure
    lengths = [len(c["token_ids"]) for r in records for c in r["completions"] if c.get("token_ids")]
    if not lengths:
        return None
    fig, ax = new_figure(6, 3.2)
    ax.hist(lengths, bins=min(30, max(5, len(set(lengths)))), color="#4c72b0")
    ax.set_xlabel("output tokens")
    ax.set_ylabel("completions")
    return figure_html(fig, "histogram of output lengths")
