"""In-process vLLM engine (``vllm/<hub id or path>``; pip install 'medtrust[vllm]', GPU only).

The translations between our types and vLLM's are pure functions over plain attributes
(:func:`sampling_params_kwargs`, :func:`completions_from_output`, :func:`loglik_from_prompt_logprobs`)
so they can be tested where vLLM cannot be installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from medtrust.errors import MedtrustError, missing_extra
from medtrust.models.base import (
    Backend,
    Capability,
    Completion,
    GenerationRequest,
    LoglikRequest,
    LoglikResult,
    ProgressFn,
    server_seed,
)
from medtrust.models.images import to_openai_messages

SAMPLING_EPS = 1e-5  # vLLM treats a lower temperature as greedy


def is_greedy(request: GenerationRequest) -> bool:
    """Whether vLLM samples this request greedily (temperature ~ 0)."""
    return request.temperature < SAMPLING_EPS


def split_samples(request: GenerationRequest) -> list[GenerationRequest]:
    """A sampled request as one request per sample (n=1, its own index), so each sample gets its own
    seed; vLLM's prefix cache computes the shared prompt once. Greedy requests stay whole."""
    if is_greedy(request) or request.n == 1:
        return [request]
    return [replace(request, n=1, indices=(i,)) for i in request.sample_indices()]


def sampling_params_kwargs(request: GenerationRequest) -> dict[str, Any]:
    """Keyword arguments of ``vllm.SamplingParams`` for a request.

    Greedy requests ask for one sample (vLLM refuses n > 1 when greedy; the copies are made
    afterwards). A sampled one-sample request is seeded with its own ``row_seed``.
    ``logprobs=0`` makes vLLM return the log-prob of each sampled token only.
    """
    kw: dict[str, Any] = {"n": 1 if is_greedy(request) else request.n,
                          "temperature": 0.0 if is_greedy(request) else request.temperature,
                          "top_p": 1.0 if is_greedy(request) else request.top_p,
                          "max_tokens": request.max_tokens}
    if request.stop:
        kw["stop"] = list(request.stop)
    if request.seed is not None:
        kw["seed"] = server_seed(request, request.sample_indices()[0]) \
            if not is_greedy(request) and request.n == 1 else request.seed
    if request.logprobs:
        kw["logprobs"] = 0
    return kw


def _logprob_value(entry: Any) -> float:
    """A ``Logprob`` object's value (older vLLM versions stored plain floats)."""
    return float(getattr(entry, "logprob", entry))


def completion_from_output(output: Any, want_logprobs: bool,
                           stop_token_ids: Iterable[int] = ()) -> Completion:
    """A Completion from a vLLM ``CompletionOutput`` (text, token_ids, logprobs, finish_reason, stop_reason).

    A final end-of-sequence or stop token (one of ``stop_token_ids``, or the ``stop_reason`` id)
    is left out of ``token_ids`` and ``token_logprobs``, as the Completion contract says. (After a
    stop *string*, vLLM cuts the text but may keep the tokens that produced it.)
    """
    token_ids = list(output.token_ids)
    stop_reason = getattr(output, "stop_reason", None)
    ends = set(stop_token_ids) | ({stop_reason} if isinstance(stop_reason, int) else set())
    finish = output.finish_reason or "stop"
    keep = len(token_ids) - 1 if finish == "stop" and token_ids and token_ids[-1] in ends else len(token_ids)
    logprobs = None
    if want_logprobs:
        if output.logprobs is None:
            raise MedtrustError("vLLM returned no token log-probs although they were asked for.",
                                "report this with your vLLM version")
        logprobs = [_logprob_value(step[tok]) for step, tok in zip(output.logprobs[:keep], token_ids[:keep])]
    return Completion(text=output.text, token_ids=token_ids[:keep], token_logprobs=logprobs,
                      finish_reason=finish)


def completions_from_output(request_output: Any, request: GenerationRequest,
                            stop_token_ids: Iterable[int] = ()) -> list[Completion]:
    """The n Completions of a request from a vLLM ``RequestOutput`` (greedy ones copied n times)."""
    stop_ids = set(stop_token_ids)
    outs = sorted(request_output.outputs, key=lambda o: getattr(o, "index", 0))
    comps = [completion_from_output(o, request.logprobs, stop_ids) for o in outs]
    if is_greedy(request) and comps:
        first = comps[0]
        logprobs = first.token_logprobs
        comps = [first] + [replace(first, token_ids=list(first.token_ids),
                                   token_logprobs=None if logprobs is None else list(logprobs))
                           for _ in range(request.n - 1)]
    if len(comps) != request.n:
        raise MedtrustError(f"vLLM returned {len(comps)} samples where {request.n} were asked for.",
                            "report this with your vLLM version")
    return comps


def encode_pair(tokenizer: Any, context: str, continuation: str,
                add_bos_token: bool = False) -> tuple[list[int], list[int]]:
    """Token ids of (context, continuation) as lm-evaluation-harness's ``_encode_pair``.

    Trailing spaces of the context move to the continuation; the pair is encoded together and
    split, so token merges across the boundary count as the harness counts them.
    """
    spaces = len(context) - len(context.rstrip())
    if spaces:
        continuation = context[-spaces:] + continuation
        context = context[:-spaces]

    def enc(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=add_bos_token)["input_ids"])

    whole = enc(context + continuation)
    if not context:
        prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        return [prefix], whole
    context_ids = enc(context)
    return context_ids, whole[len(context_ids):]


def loglik_from_prompt_logprobs(prompt_token_ids: Sequence[int], prompt_logprobs: Sequence[Any],
                                num_continuation_tokens: int) -> LoglikResult:
    """Score the last ``num_continuation_tokens`` prompt tokens from vLLM's ``prompt_logprobs``.

    ``prompt_logprobs[i]`` maps token ids to ``Logprob`` for position i (None at position 0) and
    holds the actual token plus the top-k; the continuation is greedy when no other token beats it.
    """
    n = num_continuation_tokens
    if n < 1 or n >= len(prompt_token_ids):
        raise MedtrustError(f"Cannot score {n} continuation tokens of a "
                            f"{len(prompt_token_ids)}-token prompt.",
                            "give each choice a non-empty continuation and a context")
    total, greedy = 0.0, True
    for tok, step in zip(prompt_token_ids[-n:], list(prompt_logprobs)[-n:]):
        value = _logprob_value(step[tok])
        total += value
        greedy = greedy and all(_logprob_value(v) <= value for k, v in step.items() if k != tok)
    return LoglikResult(logprob=total, is_greedy=greedy, num_tokens=n)


class VLLMBackend(Backend):
    """A model run in-process by vLLM.

    Backend arguments (``-M key=value``) go to ``vllm.LLM``: ``tensor_parallel_size``,
    ``gpu_memory_utilization``, ``max_model_len``, ``dtype``, ``revision``, ``trust_remote_code``,
    ``logprobs_mode`` (vLLM >= 0.10.2; the default, raw logprobs, matches the Completion contract)...
    Ours: ``chunk_size`` (requests per ``LLM.chat`` call, for progress; default 512), ``images``
    (override the multimodal detection), ``add_bos_token`` (log-likelihood scoring).
    """

    CAPABILITIES = frozenset({Capability.LOGPROBS, Capability.CHOICE_LOGLIK, Capability.IMAGES})  # images: VLMs

    @classmethod
    def capabilities_for(cls, args: dict[str, Any]) -> frozenset[Capability]:
        """Without ``-M images=...`` vLLM tells after loading whether the model takes images."""
        return cls.CAPABILITIES if args.get("images", True) else cls.CAPABILITIES - {Capability.IMAGES}

    def __init__(self, model: str, name: str | None = None, chunk_size: int = 512, images: bool | None = None,
                 add_bos_token: bool = False, **engine_kwargs: Any):
        try:
            import vllm
        except ImportError:
            raise missing_extra("vllm", "vllm", "The vllm/ backend") from None
        self.model_id = model
        self.name = name or f"vllm/{model}"
        self.chunk_size = max(1, int(chunk_size))
        self.add_bos_token = add_bos_token
        self.engine_kwargs = dict(engine_kwargs)
        self.vllm_version = getattr(vllm, "__version__", "?")
        self._sampling_params = vllm.SamplingParams
        self.llm = vllm.LLM(model=model, **engine_kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.stop_token_ids = {t for t in [getattr(self.tokenizer, "eos_token_id", None)] if t is not None}
        self.max_model_len = getattr(_model_config(self.llm), "max_model_len", None)
        if images is None:
            images = bool(getattr(_model_config(self.llm), "is_multimodal_model", False))
        self.capabilities = self.CAPABILITIES if images else self.CAPABILITIES - {Capability.IMAGES}

    def generate(self, requests: Sequence[GenerationRequest],
                 progress: ProgressFn | None = None) -> list[list[Completion]]:
        """n completions per request; vLLM schedules each chunk of requests itself."""
        results: list[list[Completion]] = []
        for start in range(0, len(requests), self.chunk_size):
            chunk = requests[start:start + self.chunk_size]
            parts = [split_samples(r) for r in chunk]
            flat = [p for ps in parts for p in ps]
            conversations = [to_openai_messages(p.messages) for p in flat]
            params = [self._sampling_params(**sampling_params_kwargs(p)) for p in flat]
            outputs = iter(self.llm.chat(conversations, params, use_tqdm=False))
            for ps in parts:
                results.append([c for p in ps for c in completions_from_output(next(outputs), p, self.stop_token_ids)])
            if progress:
                progress(len(chunk))
        return results

    def loglik(self, requests: Sequence[LoglikRequest]) -> list[list[LoglikResult]]:
        """Sum of continuation log-probs from vLLM's prompt log-probs (raw text, no chat template)."""
        items = []  # (request index, prompt ids, continuation length)
        for i, req in enumerate(requests):
            for cont in req.continuations:
                ctx, cont_ids = encode_pair(self.tokenizer, req.context, cont, self.add_bos_token)
                whole = ctx + cont_ids
                if self.max_model_len:
                    whole = whole[-self.max_model_len:]
                items.append((i, whole, len(cont_ids)))
        params = self._sampling_params(max_tokens=1, temperature=0.0, prompt_logprobs=1)
        prompts = [{"prompt_token_ids": ids} for _, ids, _ in items]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        results: list[list[LoglikResult]] = [[] for _ in requests]
        for (i, ids, n), out in zip(items, outputs):
            results[i].append(loglik_from_prompt_logprobs(ids, out.prompt_logprobs, n))
        return results

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "vllm", "model": self.model_id, "vllm": self.vllm_version,
                "engine_args": self.engine_kwargs}

    def close(self) -> None:
        import gc
        del self.llm
        gc.collect()
        try:
            import torch
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass


def _model_config(llm: Any) -> Any:
    engine = getattr(llm, "llm_engine", None)
    return getattr(engine, "model_config", None)
