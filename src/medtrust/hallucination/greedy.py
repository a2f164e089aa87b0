"""Greedy requests shared by the image-hallucination studies (POPE, CHAIR, grounding, snowball):
each distinct conversation is sent once, and one record per unit holds its reply."""

from __future__ import annotations

from typing import Sequence

from medtrust.models.base import Backend, Completion, GenerationRequest, prompt_hash
from medtrust.runs.records import Output, SampleRecord


def ask_once(backend: Backend, conversations: list[list[dict]], max_tokens: int, seed: int) -> list[Completion]:
    """One greedy completion per conversation; a conversation repeated in the list is sent once."""
    distinct: dict[str, list[dict]] = {}
    for m in conversations:
        distinct.setdefault(prompt_hash(m), m)
    if not distinct:
        return []
    outs = backend.generate([GenerationRequest(messages=m, n=1, temperature=0.0, max_tokens=max_tokens, seed=seed)
                             for m in distinct.values()])
    replies = {h: o[0] for h, o in zip(distinct, outs)}
    return [replies[prompt_hash(m)] for m in conversations]


def question_records(study, backend: Backend, batch: Sequence, config) -> list[SampleRecord]:
    """Each unit's question (with its images) asked once, greedily: one record per unit."""
    from medtrust.prompts import user_message
    messages = [[user_message(u.sample.question, u.sample.images)] for u in batch]
    replies = ask_once(backend, messages, config.max_tokens, config.seed)
    return [study.record(u, prompt=m, prompt_hash=prompt_hash(m), outputs=[Output.of(c)])
            for u, m, c in zip(batch, messages, replies)]
