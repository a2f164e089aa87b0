"""OpenAI-compatible chat servers (OpenAI, vLLM serve, llama.cpp server, DeepSeek, DashScope...).

Uses the official ``openai`` SDK's async client: up to ``concurrency`` requests in flight, each
attempt under a whole-request deadline (``timeout``), retried ``max_retries`` times with backoff on
timeouts, refused connections, 429, 5xx and malformed replies; Ctrl-C cancels what is in flight.
SDK errors become :class:`~medtrust.errors.MedtrustError` subclasses with one message that names
the fix.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from medtrust.errors import BackendUnavailable, CapabilityError, MedtrustError
from medtrust.models.base import Backend, Capability, Completion, GenerationRequest, ProgressFn, server_seed
from medtrust.models.images import has_images, to_openai_messages

OPENAI_URL = "https://api.openai.com/v1"


class OpenAIBackend(Backend):
    """A model behind an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    Backend arguments (``-M key=value``): ``timeout`` (seconds per whole request attempt, default 300),
    ``max_retries`` (retries with backoff, default 3), ``concurrency`` (requests in flight,
    default 8), ``logprobs`` (ask for token log-probs, default true), ``images`` (the model accepts
    images, default false). ``extra_<key>=value`` sends ``<key>`` in the request body as is
    (e.g. ``-M extra_enable_thinking=false`` for DashScope).
    """

    def __init__(self, model: str, name: str | None = None, base_url: str | None = None,
                 api_key: str | None = None, env_prefix: str = "OPENAI", timeout: float = 300.0,
                 max_retries: int = 3, concurrency: int = 8, logprobs: bool = True, images: bool = False,
                 **extra: Any):
        import openai

        unknown = [k for k in extra if not k.startswith("extra_")]
        if unknown:
            raise MedtrustError(
                f"Unknown argument(s) for the OpenAI-compatible backend: {', '.join(unknown)}.",
                "use -M timeout=, max_retries=, concurrency=, logprobs=, images=, or extra_<key>= "
                "to send <key> in the request body")
        self.model = model
        self.name = name or f"openai/{model}"
        self.env_prefix = env_prefix
        if not base_url:
            if env_prefix != "OPENAI":
                raise BackendUnavailable(
                    f"No server address for '{self.name}': {env_prefix}_BASE_URL is not set.",
                    f"export {env_prefix}_BASE_URL=http://host:port/v1  "
                    "(the server's OpenAI-compatible API root)")
            base_url = OPENAI_URL
            if not api_key:
                raise BackendUnavailable(
                    "The OpenAI API needs a key, and OPENAI_API_KEY is not set.",
                    "export OPENAI_API_KEY=sk-...  (or set OPENAI_BASE_URL to a local server)")
        self.base_url = base_url.rstrip("/")
        self.shown_url = redact_url(self.base_url)  # what is written and printed: no user:password
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.concurrency = int(concurrency)
        if self.concurrency < 1:
            raise MedtrustError(f"concurrency must be at least 1, got {concurrency}.", "use -M concurrency=8")
        self.extra_body = {k[len("extra_"):]: v for k, v in extra.items()}
        self.want_logprobs = bool(logprobs)
        self._n_supported: bool | None = None  # None: not tried yet; False: the server ignores n
        self.api_key = api_key or "EMPTY"
        self.client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key,  # list_models only
                                    timeout=self.timeout, max_retries=self.max_retries)
        self.capabilities = self.capabilities_for({"logprobs": logprobs, "images": images})

    CAPABILITIES = frozenset({Capability.LOGPROBS, Capability.IMAGES})

    @classmethod
    def capabilities_for(cls, args: dict[str, Any]) -> frozenset[Capability]:
        """Log-probs unless ``-M logprobs=false``; images only with ``-M images=true``."""
        caps = set()
        if args.get("logprobs", True):
            caps.add(Capability.LOGPROBS)
        if args.get("images", False):
            caps.add(Capability.IMAGES)
        return frozenset(caps)

    # ---------------------------------------------------------------------------- generate
    def generate(self, requests: Sequence[GenerationRequest],
                 progress: ProgressFn | None = None) -> list[list[Completion]]:
        """n completions per request; up to ``concurrency`` requests in flight, order kept.

        Requests run on the SDK's async client, so Ctrl-C and ``-M timeout`` (a deadline on each
        whole attempt, however slowly the server trickles) cancel requests in flight. On an error or
        Ctrl-C the completions that had arrived travel on the exception as ``partial_results``
        (``{request index: completions}``), so the generation cache keeps them."""
        if Capability.IMAGES not in self.capabilities and any(has_images(r.messages) for r in requests):
            raise CapabilityError(
                f"The prompt holds an image, but '{self.name}' is not marked as accepting images.",
                "add -M images=true if the served model is a vision-language model")
        if not requests:
            return []
        results: dict[int, list[Completion]] = {}
        try:
            _run(self._generate_all(requests, results, progress))
        except (KeyboardInterrupt, MedtrustError) as e:
            e.partial_results = dict(results)  # type: ignore[union-attr]
            raise
        return [results[i] for i in range(len(requests))]

    async def _generate_all(self, requests: Sequence[GenerationRequest], results: dict[int, list[Completion]],
                            progress: ProgressFn | None) -> None:
        import asyncio

        import openai
        client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout,
                                    max_retries=0)
        slots = asyncio.Semaphore(self.concurrency)

        async def one(index: int, req: GenerationRequest) -> None:
            async with slots:
                results[index] = await self._sample(client, req)
            if progress:
                progress(1)
        tasks = [asyncio.ensure_future(one(i, r)) for i, r in enumerate(requests)]
        try:
            await asyncio.gather(*tasks)
        except BaseException:  # the first error, or Ctrl-C: cancel what is still in flight
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            await client.close()

    async def _sample(self, client, req: GenerationRequest) -> list[Completion]:
        """The n completions of one request: one call with n, or repeated calls if the server ignores n."""
        messages = to_openai_messages(req.messages)
        indices = req.sample_indices()
        choices: list[Any] = []
        n_rejected = False
        if req.n > 1 and self._n_supported is not False:
            try:
                resp = await self._create(client, messages, req, n=req.n, seed=self._seed(req, indices[0]))
            except BadRequestForN:
                n_rejected = True  # confirmed below if the same request with n=1 succeeds
            else:
                choices.extend(sorted(resp.choices, key=lambda c: c.index)[:req.n])
                if len(choices) < req.n:
                    self._n_supported = False
                elif self._n_supported is None:
                    self._n_supported = True
        while len(choices) < req.n:
            resp = await self._create(client, messages, req, n=1, seed=self._seed(req, indices[len(choices)]))
            choices.extend(resp.choices[:1])
            if n_rejected:
                self._n_supported = n_rejected = False
        return [self._completion(c, req) for c in choices]

    @staticmethod
    def _seed(req: GenerationRequest, index: int) -> int | None:
        """The seed sent for sample ``index``: its own (``server_seed``), so a server that honours
        seeds gives each sample the same text whatever else is asked; none when greedy."""
        if req.seed is None:
            return None
        return server_seed(req, index) if req.temperature > 0 else req.seed

    def _body(self, messages: list[dict], req: GenerationRequest, n: int, seed: int | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": req.temperature,
                                  "top_p": req.top_p, "max_tokens": req.max_tokens}
        if n > 1:
            kwargs["n"] = n
        if req.stop:
            kwargs["stop"] = list(req.stop)
        if seed is not None:
            kwargs["seed"] = seed
        if req.logprobs and self.want_logprobs:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = 1  # llama.cpp's server returns chat logprobs only with top_logprobs >= 1
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        return kwargs

    async def _create(self, client, messages: list[dict], req: GenerationRequest, n: int, seed: int | None):
        """One chat completion: each attempt within ``timeout`` seconds; timeouts, refused
        connections, 429, 5xx and malformed replies retried ``max_retries`` times with backoff."""
        import asyncio

        import openai
        kwargs = self._body(messages, req, n, seed)
        last: BaseException | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                await asyncio.sleep(min(8.0, 0.5 * 2 ** (attempt - 1)))
            try:
                resp = await asyncio.wait_for(client.chat.completions.create(**kwargs), self.timeout)
                check_reply(resp)
                return resp
            except (openai.BadRequestError, openai.UnprocessableEntityError) as e:
                if n > 1:
                    raise BadRequestForN() from None
                raise self._error(e) from None
            except (asyncio.TimeoutError, openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError,
                    openai.InternalServerError, openai.APIResponseValidationError, MalformedReply, ValueError) as e:
                last = e  # ValueError: a body that is not JSON (an HTML page, a proxy's error text)
            except openai.OpenAIError as e:
                raise self._error(e) from None
        raise self._error(last) from None

    def _completion(self, choice: Any, req: GenerationRequest) -> Completion:
        message = choice.message
        text = message.content or ""
        logprobs = None
        if req.logprobs and self.want_logprobs:
            content = getattr(choice.logprobs, "content", None) if choice.logprobs is not None else None
            if content is None and text:
                raise BackendUnavailable(
                    f"The server at {self.shown_url} returned no token log-probs although they were "
                    "asked for.",
                    "serve the model with a server that returns chat logprobs (vLLM, llama.cpp with "
                    "--logits_all true, OpenAI), or add -M logprobs=false and use a study that does "
                    "not need them")
            logprobs = [float(t.logprob) for t in content or []]
        return Completion(text=text, token_ids=[], token_logprobs=logprobs,
                          finish_reason=choice.finish_reason or "stop", reasoning=_reasoning(message))

    # ------------------------------------------------------------------------------ errors
    def _error(self, e: Exception) -> MedtrustError:
        """One clear MedtrustError for an SDK error (no SDK traceback reaches the user)."""
        import asyncio

        import openai

        url, prefix = self.shown_url, self.env_prefix
        if isinstance(e, (MalformedReply, ValueError, openai.APIResponseValidationError)):
            return BackendUnavailable(
                f"The server at {url} sent replies that are not chat completions ({self.redact(str(e))[:200]}; "
                f"{self.max_retries + 1} tries).",
                f"check that {prefix}_BASE_URL is the API root of an OpenAI-compatible server (it often ends "
                "in /v1) and read the server's log; -M max_retries=... tries more often")
        if isinstance(e, (asyncio.TimeoutError, TimeoutError, openai.APITimeoutError)):
            return BackendUnavailable(
                f"The OpenAI-compatible server at {url} did not finish a reply within {self.timeout:g} s "
                f"({self.max_retries + 1} tries; -M timeout is the deadline of each whole request).",
                "raise -M timeout=..., lower -M concurrency=..., or check the server's load")
        if isinstance(e, openai.APIConnectionError):
            reason = self.redact(_root_cause(e))
            return BackendUnavailable(
                f"Cannot reach the OpenAI-compatible server at {url} ({reason})",
                f"start the server, or set {prefix}_BASE_URL to the address it listens on")
        if isinstance(e, (openai.AuthenticationError, openai.PermissionDeniedError)):
            return BackendUnavailable(
                f"The server at {url} refused the API key ({e.status_code}: {_server_text(e)}).",
                f"set {prefix}_API_KEY to a valid key for this server")
        if isinstance(e, openai.NotFoundError):
            models = self.list_models()
            fix = (f"use one of the server's models: {', '.join(models)}" if models else
                   f"check the model name, and that {prefix}_BASE_URL is the API root (it often ends in /v1)")
            return BackendUnavailable(
                f"The server at {url} has no model '{self.model}' (404: {_server_text(e)}).", fix)
        if isinstance(e, (openai.BadRequestError, openai.UnprocessableEntityError)):
            return MedtrustError(
                f"The server at {url} rejected the request ({e.status_code}): {_server_text(e)}",
                "check the sampling settings and backend arguments this model accepts")
        if isinstance(e, openai.RateLimitError):
            return BackendUnavailable(f"The server at {url} kept refusing requests for rate limits "
                                      f"(429, after {self.max_retries} retries): {_server_text(e)}",
                                      "lower -M concurrency=... or raise -M max_retries=...")
        if isinstance(e, openai.APIStatusError):
            return BackendUnavailable(f"The server at {url} failed ({e.status_code}): {_server_text(e)}",
                                      "check the server's log; the request was retried "
                                      f"{self.max_retries} times (-M max_retries=...)")
        return MedtrustError(f"The OpenAI-compatible backend at {url} failed: {self.redact(str(e))}",
                             "check the server and backend arguments")

    def redact(self, text: str) -> str:
        """``text`` with the server address's credentials replaced."""
        return text.replace(self.base_url, self.shown_url) if self.shown_url != self.base_url else text

    def list_models(self) -> list[str]:
        """The model ids the server offers ([] if it cannot say)."""
        try:
            return sorted(m.id for m in self.client.models.list())
        except Exception:  # noqa: BLE001 - only used to improve an error message
            return []

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "openai", "model": self.model, "base_url": self.shown_url}

    def close(self) -> None:
        self.client.close()


class BadRequestForN(Exception):
    """The server rejected a request that asked for n > 1 choices (internal signal)."""


class MalformedReply(Exception):
    """A 200 reply that is not a chat completion (no choices, a choice without a message)."""


def check_reply(resp: Any) -> None:
    """Raise MalformedReply unless ``resp`` has choices that each carry a message."""
    choices = getattr(resp, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise MalformedReply(f"no choices in {type(resp).__name__}: {str(resp)[:120]!r}")
    for c in choices:
        if getattr(c, "message", None) is None:
            raise MalformedReply(f"choice {getattr(c, 'index', '?')} has no message")


def _run(coro) -> None:
    """Run ``coro`` to its end: on this thread, or on a new one when an event loop already runs here
    (a notebook)."""
    import asyncio
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


def _reasoning(message: Any) -> str | None:
    """A separately returned reasoning trace (DeepSeek's ``reasoning_content``, vLLM's ``reasoning``)."""
    extra = getattr(message, "model_extra", None) or {}
    for key in ("reasoning_content", "reasoning"):
        value = getattr(message, key, None) or extra.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _root_cause(e: BaseException) -> str:
    """The innermost operating-system reason of a connection error ("Connection refused", "Name or
    service not known"), else the first cause's text."""
    x: BaseException | None = e
    reason = str(e.__cause__ or e)
    for _ in range(10):
        if x is None:
            break
        if isinstance(x, OSError) and (x.errno or x.strerror):
            reason = os.strerror(x.errno) if x.errno else x.strerror
        x = x.__cause__ or x.__context__
    return reason


def _server_text(e: Any, limit: int = 600) -> str:
    """The server's own error text, shortened."""
    body = getattr(e, "body", None)
    text = None
    if isinstance(body, dict):
        err = body.get("error")
        text = (body.get("message") or (err.get("message") if isinstance(err, dict) else err)
                or body.get("detail"))
    text = str(text or body or getattr(e, "message", None) or e).strip()
    return text if len(text) <= limit else text[:limit] + " ..."


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@`` (for results.json, logs and errors)."""
    from urllib.parse import urlsplit, urlunsplit
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
