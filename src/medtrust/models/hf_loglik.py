"""Log-likelihood scoring of continuations, the way lm-evaluation-harness's ``hf`` model does it.

Context and continuation are encoded together and split (trailing spaces of the context move
to the continuation), the sequence is truncated from the left to the model's length, and the
continuation's token log-probs are summed; ``is_greedy`` says whether every continuation token
is the arg-max.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from medtrust.models.base import LoglikRequest, LoglikResult

if TYPE_CHECKING:  # pragma: no cover
    from medtrust.models.hf import HFBackend


def encode_pair(backend: "HFBackend", context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Token ids of (context, continuation) as lm-evaluation-harness's ``_encode_pair``."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]
    whole = _encode(backend, context + continuation)
    context_ids = _encode(backend, context) if context else [_prefix_token(backend)]
    if not context:
        return context_ids, whole
    return context_ids, whole[len(context_ids):]


def _encode(backend: "HFBackend", text: str) -> list[int]:
    return backend.tokenizer(text, add_special_tokens=backend.add_bos_token)["input_ids"]


def _prefix_token(backend: "HFBackend") -> int:
    tok = backend.tokenizer
    return tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id


def score_loglik(backend: "HFBackend", requests: Sequence[LoglikRequest],
                 batch_size: int | None = None) -> list[list[LoglikResult]]:
    """Scores for every continuation of every request, batched by length (longest first); identical
    inputs (one-token options of one question) are computed once."""
    import torch

    items = []  # (request index, continuation index, input ids, continuation length)
    for i, req in enumerate(requests):
        for j, cont in enumerate(req.continuations):
            ctx, cont_ids = encode_pair(backend, req.context, cont)
            whole = (ctx + cont_ids)[-(backend.max_length + 1):]
            items.append((i, j, whole[:-1], whole[1:], len(cont_ids)))
    # Identical inputs share one forward pass (as lm-evaluation-harness does): the options " A" ... " D"
    # of a multiple-choice question are one-token continuations of the same context.
    groups: dict[tuple[int, ...], list[tuple]] = {}
    for it in items:
        groups.setdefault(tuple(it[2]), []).append(it)
    inputs_by_length = sorted(groups, key=lambda ids: -len(ids))
    results: list[list[LoglikResult | None]] = [[None] * len(r.continuations) for r in requests]
    size = batch_size or max(1, backend.batch_size // 2)
    model = backend.model
    for start in range(0, len(inputs_by_length), size):
        batch = inputs_by_length[start:start + size]
        width = len(batch[0])
        inputs = torch.full((len(batch), width), backend.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(inputs)
        for row, ids in enumerate(batch):  # right padding: positions stay 0..n-1
            inputs[row, :len(ids)] = torch.tensor(ids)
            mask[row, :len(ids)] = 1
        with torch.inference_mode():
            logits = model(input_ids=inputs.to(model.device), attention_mask=mask.to(model.device)).logits
        for row, ids in enumerate(batch):
            for i, j, inp, target, n_cont in groups[ids]:
                end = len(inp)  # log-softmax over the continuation's positions only
                span = torch.log_softmax(logits[row, end - n_cont:end].float(), dim=-1).cpu()
                wanted = torch.tensor(target[-n_cont:])
                picked = span.gather(1, wanted[:, None]).squeeze(1)
                greedy = bool((span.argmax(dim=-1) == wanted).all())
                results[i][j] = LoglikResult(logprob=float(picked.sum()), is_greedy=greedy, num_tokens=n_cont)
    return results  # type: ignore[return-value]
