"""The `generate` study: batched generation over a dataset with any backend (the simplest study:
one variant, the outputs are the record, nothing to score)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from pydantic import Field

from medtrust.config import RunConfig, cli_field
from medtrust.models.base import Backend, Capability, GenerationRequest, prompt_hash
from medtrust.prompts import sample_messages
from medtrust.runs.records import Output, SampleRecord
from medtrust.stats import mean_metric, metric
from medtrust.studies import Context, Study, Unit


class GenerateConfig(RunConfig):
    study: str = "generate"
    n: int = Field(default=1, ge=1, description="completions per question",
                   json_schema_extra=cli_field("-n", flag="--samples"))
    temperature: float = Field(default=0.0, ge=0.0, description="0 = greedy")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="nucleus sampling mass")
    max_tokens: int = Field(default=128, ge=1, description="new tokens per completion")
    logprobs: bool = Field(default=True, description="keep token log-probs")
    system: str | None = Field(default=None, description="system prompt")
    instruction: str | None = Field(default=None, description="text appended after each question")


class GenerateStudy(Study):
    name = "generate"
    title = "Generation"
    config_class = GenerateConfig

    def needs(self, config: GenerateConfig) -> set[Capability]:
        return {Capability.LOGPROBS} if config.logprobs else set()

    def generate(self, backend: Backend, batch: Sequence[Unit], ctx: Context) -> list[SampleRecord]:
        config: GenerateConfig = ctx.config
        messages = [sample_messages(u.sample, config.instruction, config.system, config.lang) for u in batch]
        requests = [GenerationRequest(messages=m, n=config.n, temperature=config.temperature, top_p=config.top_p,
                                      max_tokens=config.max_tokens, seed=config.seed, logprobs=config.logprobs)
                    for m in messages]
        outputs = backend.generate(requests)
        return [self.record(u, prompt=m, prompt_hash=prompt_hash(m), outputs=[Output.of(c) for c in outs])
                for u, m, outs in zip(batch, messages, outputs)]

    def summarize(self, records: list[SampleRecord], ctx: Context) -> dict[str, Any]:
        seed = ctx.config.seed
        comps = [c for r in records for c in r.outputs]
        finish = Counter(c.finish_reason for c in comps)
        lengths = [len(c.token_ids) for c in comps if c.token_ids]
        mean_lp = [sum(c.token_logprobs) / len(c.token_logprobs) for c in comps if c.token_logprobs]
        return {
            "samples": metric(len(records)),
            "completions": metric(len(comps)),
            "output_tokens": mean_metric(lengths, seed=seed),
            "mean_token_logprob": mean_metric(mean_lp, seed=seed),
            "finished_by_length": metric(finish.get("length", 0) / max(1, len(comps)), n=len(comps)),
        }

    def report_sections(self, run, records: list[SampleRecord], results: dict) -> list:
        from medtrust.report.format import Section
        hist = _length_histogram(records)
        return [Section("Output lengths", hist)] if hist else []

    def browse_row(self, record: SampleRecord) -> dict[str, Any]:
        first = record.outputs[0] if record.outputs else None
        return {"id": record.id, "question": record.sample.question, "gold": record.sample.answer_text(),
                "output": first.text if first else "", "finish": first.finish_reason if first else ""}


def _length_histogram(records: list[SampleRecord]):
    from medtrust.report.plots import figure_html, new_figure
    lengths = [len(c.token_ids) for r in records for c in r.outputs if c.token_ids]
    if not lengths:
        return None
    fig, ax = new_figure(6, 3.2)
    ax.hist(lengths, bins=min(30, max(5, len(set(lengths)))), color="#4c72b0")
    ax.set_xlabel("output tokens")
    ax.set_ylabel("completions")
    return figure_html(fig, "histogram of output lengths")
