"""Batched sampling with transformers: chunk planning, one generate call per chunk, and
token log-probs recorded while they are produced; finished rows leave the batch between segments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np

from medtrust.models.base import Completion, GenerationRequest, row_seed
from medtrust.models.hf_processors import InverseCDFSampler, LogprobRecorder, row_uniforms

if TYPE_CHECKING:  # pragma: no cover
    from medtrust.models.hf import HFBackend


@dataclass
class GenerationChunk:
    """Rows for one ``generate`` call: every row is one sample of one request.

    ``slots[i]`` is (request index, position among its n samples) of row i and ``seeds[i]`` the
    row's own seed (``row_seed``); all rows share one sampling setting. ``requests_finished``
    counts the requests whose last sample is in this chunk.
    """

    request: GenerationRequest  # the sampling settings (messages are not used)
    slots: list[tuple[int, int]] = field(default_factory=list)
    prompts: list[list[int]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    requests_finished: int = 0


def plan_chunks(requests: Sequence[GenerationRequest], prompts: Sequence[list[int]],
                batch_size: int) -> list[GenerationChunk]:
    """Group requests by sampling settings, longest prompts first, at most ``batch_size`` rows a chunk.

    A request's n samples stay in one chunk unless n alone exceeds ``batch_size``.
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, r in enumerate(requests):
        if r.n < 1:
            raise ValueError(f"n must be at least 1, got {r.n}")
        groups[r.sampling_key()].append(i)
    chunks: list[GenerationChunk] = []
    for indices in groups.values():
        indices.sort(key=lambda i: -len(prompts[i]))
        current: GenerationChunk | None = None
        for i in indices:
            req = requests[i]
            indices = req.sample_indices()
            start = 0
            while start < req.n:
                room = batch_size - len(current.slots) if current else 0
                if current is None or room <= 0 or (room < req.n - start and req.n - start <= batch_size):
                    current = GenerationChunk(request=req)
                    chunks.append(current)
                    room = batch_size
                take = min(room, req.n - start)
                current.slots.extend((i, k) for k in range(start, start + take))
                current.prompts.extend([list(prompts[i])] * take)
                if req.temperature > 0:
                    current.seeds.extend(row_seed(req, indices[k]) for k in range(start, start + take))
                start += take
            current.requests_finished += 1
    return chunks


def run_chunk(backend: "HFBackend", chunk: GenerationChunk) -> list[Completion]:
    """One ``model.generate`` call over the chunk's rows; completions in row order."""
    import torch

    model = backend.model
    width = max(len(p) for p in chunk.prompts)
    input_ids = torch.full((len(chunk.prompts), width), backend.tokenizer.pad_token_id, dtype=torch.long)
    attention = torch.zeros_like(input_ids)
    for row, ids in enumerate(chunk.prompts):
        input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
        attention[row, width - len(ids):] = 1
    input_ids, attention = input_ids.to(model.device), attention.to(model.device)
    extra = shared_prefix_cache(model, input_ids, attention, chunk.slots) if width > 1 else {}
    return generate_rows(backend, chunk.request, {"input_ids": input_ids, "attention_mask": attention},
                         chunk.seeds, extra)


SEGMENT_TOKENS = (8, 64)
"""Least and most new tokens per ``generate`` call when finished rows are dropped between calls."""


def segment_length(req: GenerationRequest, inputs: dict, num_return_sequences: int = 1) -> int:
    """New tokens per ``generate`` call: a quarter of ``max_tokens`` within SEGMENT_TOKENS, so rows
    whose answer has ended are dropped (with their key/value cache) at most a segment later. One
    call for everything when hidden states are asked for, the inputs hold more than token ids
    (images) or one input gives several sequences."""
    if req.hidden_states or num_return_sequences > 1 or set(inputs) - {"input_ids", "attention_mask"}:
        return req.max_tokens
    least, most = SEGMENT_TOKENS
    return max(least, min(most, req.max_tokens // 4))


def generate_rows(backend: "HFBackend", req: GenerationRequest, inputs: dict, seeds: Sequence[int],
                  extra: dict | None = None, num_return_sequences: int = 1) -> list[Completion]:
    """``model.generate`` on prepared (left-padded) inputs; one Completion per output row.

    Sampled tokens are drawn by ``InverseCDFSampler`` from each output row's own stream
    (``seeds``, one per output row: input-major when one input gives several sequences).
    Generation runs in segments (``segment_length``); after each, rows that reached an end token
    or stop string leave the batch and the rest continue from their cache. Token log-probs are
    recorded while generating; text is cut at end tokens and stop strings.
    """
    import torch
    from transformers import GenerationConfig, LogitsProcessorList

    tok, model = backend.tokenizer, backend.model
    pad_id = tok.pad_token_id
    eos_ids = end_token_ids(backend)
    ends = set(eos_ids) | {pad_id}
    sample = req.temperature > 0
    # Our sampler draws every sampled token and leaves one finite score per row. With one row per
    # sequence generate takes its greedy step; several sequences per input (images) need
    # generate's sampling mode (greedy decoding refuses them), a no-op draw over that one token.
    hf_sample = sample and num_return_sequences > 1
    config = GenerationConfig(
        max_new_tokens=req.max_tokens, do_sample=hf_sample, num_return_sequences=num_return_sequences,
        temperature=1.0 if hf_sample else None, top_p=1.0 if hf_sample else None,
        top_k=0 if hf_sample else None, pad_token_id=pad_id, eos_token_id=eos_ids,
        return_dict_in_generate=True, output_hidden_states=req.hidden_states,
        stop_strings=list(req.stop) if req.stop else None)
    segment = segment_length(req, inputs, num_return_sequences)
    sampler = InverseCDFSampler(req.temperature, req.top_p, row_uniforms(seeds, req.max_tokens)) if sample else None
    kwargs, done = {**inputs, **(extra or {})}, 0
    token_rows: list[list[int]] = []
    logprob_rows: list[list[float]] = []
    alive: list[int] = []  # output row of each row still in the batch
    while True:
        config.max_new_tokens = min(segment, req.max_tokens - done)
        recorder = LogprobRecorder() if req.logprobs else None
        if sampler is not None:
            sampler.select(alive or list(range(len(seeds))), done)
        processors = [p for p in (recorder, sampler) if p]
        width = kwargs["input_ids"].shape[1]
        with torch.inference_mode():
            out = model.generate(**kwargs, generation_config=config, logits_processor=LogitsProcessorList(processors),
                                 tokenizer=tok if req.stop else None)
        new_tokens = out.sequences[:, width:]
        logprobs = recorder.finish(new_tokens).cpu().tolist() if recorder else None
        if not token_rows:
            token_rows, logprob_rows = [[] for _ in new_tokens], [[] for _ in new_tokens]
            alive = list(range(len(new_tokens)))
        keep = []
        for r, (row, ids) in enumerate(zip(alive, new_tokens.cpu().tolist())):
            token_rows[row] += ids
            logprob_rows[row] += logprobs[r] if logprobs else []
            if not _ended(tok, token_rows[row], ends, req.stop):
                keep.append(r)
        done += config.max_new_tokens
        if done >= req.max_tokens or not keep:
            break
        cache = getattr(out, _CACHE_KWARG, None)
        if not hasattr(cache, "batch_select_indices"):  # rows cannot leave this cache: finish in one call
            keep, segment = list(range(len(alive))), req.max_tokens  # (text after an end is cut below)
        index = torch.tensor(keep, device=out.sequences.device)
        if len(keep) < len(alive):
            cache.batch_select_indices(index)
        mask = torch.cat([kwargs["attention_mask"], torch.ones_like(new_tokens)], dim=1)
        kwargs = {"input_ids": out.sequences[index], "attention_mask": mask[index],
                  **({_CACHE_KWARG: cache} if cache is not None else {})}
        alive = [alive[r] for r in keep]
    completions = []
    for row, ids in enumerate(token_rows):
        length = next((k for k, t in enumerate(ids) if t in ends), None)
        finish = "stop" if length is not None else "length"
        ids = ids[:length] if length is not None else ids
        text = tok.decode(ids, skip_special_tokens=True)
        if req.stop:
            text, ids, stopped = _cut_at_stop(tok, text, ids, req.stop)
            finish = "stop" if stopped else finish
        lps = [float(x) for x in logprob_rows[row][:len(ids)]] if req.logprobs else None
        completion = Completion(text=text, token_ids=ids, token_logprobs=lps, finish_reason=finish)
        if req.hidden_states:
            completion.hidden = _hidden_at(out.hidden_states, row, len(ids))
        completions.append(completion)
    return completions


def _ended(tok, ids: list[int], ends: set[int], stop: Sequence[str] | None) -> bool:
    """Has this answer reached an end token or a stop string?"""
    if any(t in ends for t in ids):
        return True
    return bool(stop) and any(s and s in tok.decode(ids, skip_special_tokens=True) for s in stop)


def shared_prefix_cache(model, input_ids, attention, slots: list[tuple[int, int]]) -> dict:
    """When rows repeat a prompt (the n samples of a request), run each distinct prompt once and
    copy its key/value cache to its rows; ``generate`` then only processes the last prompt token.

    Returns the keyword argument for ``generate`` (empty when no prompt repeats or the model's
    cache cannot be copied row-wise). Positions follow ``generate``'s own rule for left padding.
    """
    import torch
    from transformers import DynamicCache

    firsts = [i for i, (req, _) in enumerate(slots) if i == 0 or slots[i - 1][0] != req]
    if len(firsts) == len(slots):
        return {}
    starts = torch.zeros(len(slots), dtype=torch.long)
    starts[firsts] = 1
    owner = (starts.cumsum(0) - 1).to(input_ids.device)  # row -> index of its distinct prompt
    ids, mask = input_ids[firsts, :-1], attention[firsts, :-1]
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
    cache = getattr(out, _CACHE_KWARG, None)
    if not isinstance(cache, DynamicCache) or not hasattr(cache, "batch_select_indices"):
        return {}
    cache.batch_select_indices(owner)
    return {_CACHE_KWARG: cache}


def _cache_kwarg() -> str:
    import transformers
    return "cache" if int(transformers.__version__.split(".")[0]) >= 5 else "past_key_values"


_CACHE_KWARG = _cache_kwarg()


def end_token_ids(backend: "HFBackend") -> list[int]:
    """Every token id that ends an answer (the generation config's and the tokenizer's EOS)."""
    ids = backend.model.generation_config.eos_token_id
    ids = list(ids) if isinstance(ids, (list, tuple)) else ([ids] if ids is not None else [])
    if backend.tokenizer.eos_token_id is not None and backend.tokenizer.eos_token_id not in ids:
        ids.append(backend.tokenizer.eos_token_id)
    return ids


def _cut_at_stop(tok, text: str, ids: list[int], stops: Sequence[str]) -> tuple[str, list[int], bool]:
    """Cut text before the first stop string; keep the tokens that lie wholly before it."""
    positions = [p for p in (text.find(s) for s in stops if s) if p >= 0]
    if not positions:
        return text, ids, False
    cut = min(positions)
    kept = text[:cut]
    n = 0
    while n < len(ids) and len(tok.decode(ids[:n + 1], skip_special_tokens=True)) <= cut \
            and kept.startswith(tok.decode(ids[:n + 1], skip_special_tokens=True)):
        n += 1
    return kept, ids[:n], True


def _hidden_at(hidden_steps, row: int, answer_tokens: int) -> dict[str, np.ndarray]:
    """Hidden states (layers + 1, size) of one row at two positions, as the semantic-entropy code takes them.

    "tbg": the last prompt token (token before generation). "slt": the input position of step
    answer_tokens - 1, i.e. the second-last answer token (its output predicts the last one).
    """
    import torch

    def at(step: int) -> np.ndarray:
        return torch.stack([layer[row, -1, :] for layer in hidden_steps[step]]).float().cpu().numpy()

    step = min(max(answer_tokens - 1, 0), len(hidden_steps) - 1)
    return {"tbg": at(0), "slt": at(step)}
