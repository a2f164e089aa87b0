"""The OpenAI-compatible backend against a misbehaving local server: malformed replies are
retried and then named, -M timeout is a whole-request deadline, 5xx is retried."""

from __future__ import annotations

import time

import pytest

from medtrust.errors import BackendUnavailable
from medtrust.models.base import GenerationRequest
from medtrust.models.openai_api import OpenAIBackend

QUESTION = [{"role": "user", "content": "Is water wet?"}]


def backend(url: str, **kw) -> OpenAIBackend:
    return OpenAIBackend("m", base_url=url, env_prefix="LOCAL", **{"max_retries": 1, **kw})


@pytest.mark.parametrize("mode, phrase", [("garbage", "codec can't decode"), ("html", "Bad gateway"),
                                          ("null-message", "choice 0 has no message")])
def test_a_malformed_reply_is_retried_then_named(fault_server, mode, phrase):
    server, url = fault_server
    server.mode = mode
    with pytest.raises(BackendUnavailable) as err:
        backend(url, max_retries=2).generate([GenerationRequest(QUESTION, max_tokens=4, logprobs=False)])
    assert server.count == 3 and f"The server at {url}" in str(err.value) and "3 tries" in str(err.value)
    assert "not chat completions" in str(err.value) and phrase in str(err.value)
    assert "/v1" in err.value.fix


def test_a_server_error_then_success_is_retried(fault_server):
    server, url = fault_server
    server.mode = "500-then-ok"
    (out,) = backend(url).generate([GenerationRequest(QUESTION, max_tokens=4, logprobs=False)])
    assert out[0].text == "An answer." and server.count == 2


@pytest.mark.parametrize("mode", ["hang", "trickle"])
def test_timeout_is_a_deadline_on_the_whole_request(fault_server, mode):
    server, url = fault_server
    server.mode = mode
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="did not finish a reply within 1 s"):
        backend(url, timeout=1, max_retries=1).generate([GenerationRequest(QUESTION, max_tokens=4)])
    assert time.monotonic() - started < 5  # two attempts of 1 s and one backoff of 0.5 s
    assert server.count == 2


def test_429_names_the_fix(fault_server):
    server, url = fault_server
    server.mode = "429"
    with pytest.raises(BackendUnavailable, match="rate limits") as err:
        backend(url).generate([GenerationRequest(QUESTION, max_tokens=4)])
    assert "-M concurrency" in err.value.fix and server.count == 2
