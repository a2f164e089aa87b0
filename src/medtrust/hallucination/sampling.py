"""Sampling for a batch of questions in as few backend calls as possible.

Call 1 (``backend.generate``): for every question one low-temperature answer (T=0.1, the graded
one; hidden states when the probe needs them) and N samples (T=1.0), token log-probs kept; the hf
backend batches across requests and groups them by sampling settings.
Call 2 (``backend.generate``): every question's verbalised-confidence request (greedy), and the
P(True) question where the backend cannot score log-likelihoods.
Call 3 (``backend.loglik``): P(True) as the log-prob of " A", when the backend can (CHOICE_LOGLIK).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from medtrust.data.schema import Sample
from medtrust.hallucination import prompts as P
from medtrust.models.base import Backend, Capability, Completion, GenerationRequest, LoglikRequest


@dataclass
class SamplingPlan:
    """What to sample (from the study config)."""

    samples: int = 10
    temperature: float = 1.0
    low_temperature: float = 0.1
    max_tokens: int | None = None
    style: str = "brief"
    lang: str = "en"
    seed: int = 0
    hidden_states: bool = False
    p_true: bool = True
    verbalized: bool = True
    max_context_chars: int = 6000


CLOSED_TYPES = ("mcq", "yes_no", "yes_no_maybe")


def answer_tokens(sample: Sample, plan: SamplingPlan) -> int:
    """New-token limit: ``plan.max_tokens`` if set, else 16 for a brief option letter or
    yes/no/maybe, 32 for another brief answer, 64 for a sentence."""
    if plan.max_tokens:
        return plan.max_tokens
    if plan.style == "sentence":
        return 64
    return 16 if sample.answer_type in CLOSED_TYPES else 32


def stop_strings(style: str) -> tuple[str, ...]:
    """Brief answers end at the first line break (the reference stops at '\\n'); sentences at a blank line."""
    return ("\n",) if style == "brief" else ("\n\n",)


def answer_text(c: Completion) -> Completion:
    """The completion with its text stripped (an answer as it is clustered and graded)."""
    from dataclasses import replace
    return replace(c, text=c.text.strip())


def sample_batch(backend: Backend, samples: Sequence[Sample], plan: SamplingPlan,
                 examples: Sequence[Sample] = ()) -> list[dict[str, Any]]:
    """Sample answers for ``samples``; per sample a dict with "messages", "low_t_answer" and
    "answers" (stripped Completions), "hidden" (arrays of the low-T answer, when asked), and the
    P(True) log-prob and confidence reply (see ``_self_assessment``)."""
    messages = [P.answer_messages(s, plan.style, plan.lang, examples, plan.max_context_chars) for s in samples]
    stop = stop_strings(plan.style)
    requests = []
    for s, m in zip(samples, messages):
        limit = answer_tokens(s, plan)
        requests.append(GenerationRequest(messages=m, n=1, temperature=plan.low_temperature, max_tokens=limit,
                                          stop=stop, seed=plan.seed, logprobs=True, hidden_states=plan.hidden_states))
        requests.append(GenerationRequest(messages=m, n=plan.samples, temperature=plan.temperature,
                                          max_tokens=limit, stop=stop, seed=plan.seed, logprobs=True))
    outputs = backend.generate(requests)
    records = []
    for i, m in enumerate(messages):
        low, high = outputs[2 * i][0], outputs[2 * i + 1]
        rec = {"messages": m, "low_t_answer": answer_text(low), "answers": [answer_text(c) for c in high]}
        if low.hidden is not None:
            rec["hidden"] = {k: np.asarray(v, dtype=np.float32) for k, v in low.hidden.items()}
        records.append(rec)
    _self_assessment(backend, samples, records, plan)
    return records


def _self_assessment(backend: Backend, samples: Sequence[Sample], records: list[dict], plan: SamplingPlan) -> None:
    """Fill "p_true_logprob" and "confidence" (with the raw replies) into the records."""
    lgs = [P.language(s, plan.lang) for s in samples]
    gen_requests: list[tuple[str, int, GenerationRequest]] = []
    loglik = Capability.CHOICE_LOGLIK in backend.capabilities
    if plan.p_true:
        prompts = [P.p_true_prompt(s.question, [a.text for a in r["answers"]], r["low_t_answer"].text)
                   for s, r in zip(samples, records)]
        if loglik:
            results = backend.loglik([LoglikRequest(context=p, continuations=(" A",)) for p in prompts])
            for r, res in zip(records, results):
                r["p_true_logprob"] = float(res[0].logprob)
                r["p_true_method"] = "loglik"
        else:
            for i, p in enumerate(prompts):
                gen_requests.append(("p_true", i, GenerationRequest(
                    messages=[{"role": "user", "content": p}], n=1, temperature=0.0, max_tokens=1, logprobs=True)))
    if plan.verbalized:
        for i, (s, r) in enumerate(zip(samples, records)):
            gen_requests.append(("confidence", i, GenerationRequest(
                messages=P.confidence_messages(s.question, r["low_t_answer"].text, lgs[i]), n=1,
                temperature=0.0, max_tokens=8)))
    if not gen_requests:
        return
    outputs = backend.generate([req for _, _, req in gen_requests])
    for (kind, i, _), outs in zip(gen_requests, outputs):
        c = outs[0]
        if kind == "confidence":
            records[i]["confidence_reply"] = c.text
            records[i]["confidence"] = P.parse_confidence(c.text)
        else:
            records[i]["p_true_logprob"] = p_true_from_token(c)
            records[i]["p_true_method"] = "generation"
            records[i]["p_true_reply"] = c.text


def p_true_from_token(c: Completion) -> float | None:
    """log p(True) from one greedy token with its log-prob, for backends without log-likelihood
    scoring: "A"/"True" gives log p, "B"/"False" gives log(1 - p); anything else gives None."""
    if not c.token_logprobs:
        return None
    token = c.text.strip().strip(").:").lower()
    lp = float(c.token_logprobs[0])
    if token in ("a", "true"):
        return lp
    if token in ("b", "false"):
        return float(np.log1p(-min(np.exp(lp), 1 - 1e-12)))
    return None
