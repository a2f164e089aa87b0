"""VLLMBackend: the pure translations to and from vLLM, and the install hint.

vLLM needs a GPU and cannot be installed here, so its output objects are stand-ins with the
attribute names of vllm's ``RequestOutput`` / ``CompletionOutput`` / ``Logprob``, and the
backend wiring runs on a stand-in ``vllm`` module that records what it was given.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass, field

import pytest
from PIL import Image

from medtrust.errors import MedtrustError
from medtrust.models.base import Capability, GenerationRequest, LoglikRequest, server_seed
from medtrust.models.images import data_url_to_image
from medtrust.models.registry import resolve
from medtrust.models.vllm import (
    VLLMBackend,
    completions_from_output,
    encode_pair,
    loglik_from_prompt_logprobs,
    sampling_params_kwargs,
)

Q = [{"role": "user", "content": "Is aspirin an NSAID?"}]
EOS = 2


@dataclass
class Logprob:  # vllm.sequence.Logprob
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class CompletionOutput:  # vllm.outputs.CompletionOutput
    index: int
    text: str
    token_ids: list[int]
    logprobs: list[dict[int, Logprob]] | None = None
    finish_reason: str | None = "stop"
    stop_reason: int | str | None = None
    cumulative_logprob: float | None = None


@dataclass
class RequestOutput:  # vllm.outputs.RequestOutput
    outputs: list[CompletionOutput]
    prompt_token_ids: list[int] = field(default_factory=list)
    prompt_logprobs: list | None = None


# ----------------------------------------------------------------------- request -> params
def test_greedy_request_asks_for_one_sample():
    req = GenerationRequest(Q, n=5, temperature=0.0, top_p=0.9, max_tokens=32)
    assert sampling_params_kwargs(req) == {"n": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 32}


def test_sampled_request_with_logprobs():
    req = GenerationRequest(Q, n=10, temperature=1.0, top_p=0.95, max_tokens=64, logprobs=True)
    assert sampling_params_kwargs(req) == {"n": 10, "temperature": 1.0, "top_p": 0.95, "max_tokens": 64,
                                           "logprobs": 0}


def test_stop_strings_and_seed():
    req = GenerationRequest(Q, n=2, temperature=0.7, max_tokens=8, stop=("\n\n", "Question:"), seed=1234)
    assert sampling_params_kwargs(req) == {"n": 2, "temperature": 0.7, "top_p": 1.0, "max_tokens": 8,
                                           "stop": ["\n\n", "Question:"], "seed": 1234}
    assert "stop" not in sampling_params_kwargs(GenerationRequest(Q, stop=()))


# ----------------------------------------------------------------------- output -> completions
def _steps(pairs):
    """Per-step logprob dicts: the chosen token, plus a better-ranked rival where given."""
    steps = []
    for tok, lp, rival in pairs:
        step = {tok: Logprob(lp)}
        if rival is not None:
            step[rival[0]] = Logprob(rival[1])
        steps.append(step)
    return steps


def test_output_translation_drops_the_eos_token():
    out = CompletionOutput(0, "Yes.", [9805, 30, EOS], _steps([(9805, -0.1, None), (30, -0.5, (11, -0.2)),
                                                                (EOS, -0.05, None)]))
    req = GenerationRequest(Q, temperature=1.0, logprobs=True)
    [c] = completions_from_output(RequestOutput([out]), req, stop_token_ids={EOS})
    assert c.text == "Yes." and c.finish_reason == "stop"
    assert c.token_ids == [9805, 30]
    assert c.token_logprobs == [-0.1, -0.5]  # the chosen token's log-prob, not the better rival's
    assert c.hidden is None and c.reasoning is None


def test_output_translation_length_stop_token_and_no_logprobs():
    cut = CompletionOutput(1, "Aspirin is", [5, 6, EOS], None, finish_reason="length")
    # stopped by one of stop_token_ids: vLLM reports that id as stop_reason
    stopped = CompletionOutput(0, "No", [7, 99], None, finish_reason="stop", stop_reason=99)
    req = GenerationRequest(Q, n=2, temperature=1.0)
    first, second = completions_from_output(RequestOutput([cut, stopped]), req, stop_token_ids={EOS})
    assert (first.text, first.token_ids, first.token_logprobs) == ("No", [7], None)  # ordered by index
    # cut by length: a final EOS id is a generated token like any other
    assert (second.finish_reason, second.token_ids) == ("length", [5, 6, EOS])


def test_greedy_output_is_copied_n_times():
    out = CompletionOutput(0, "Yes", [9805, EOS], _steps([(9805, -0.3, None), (EOS, -0.1, None)]))
    req = GenerationRequest(Q, n=3, temperature=0.0, logprobs=True)
    comps = completions_from_output(RequestOutput([out]), req, stop_token_ids={EOS})
    assert [c.text for c in comps] == ["Yes"] * 3 and [c.token_logprobs for c in comps] == [[-0.3]] * 3
    comps[0].token_logprobs.append(0.0)
    assert comps[1].token_logprobs == [-0.3]  # copies, not one shared list


def test_missing_samples_or_logprobs_raise():
    with pytest.raises(MedtrustError, match="returned 1 samples where 4"):
        completions_from_output(RequestOutput([CompletionOutput(0, "a", [1])]), GenerationRequest(Q, n=4))
    with pytest.raises(MedtrustError, match="no token log-probs"):
        completions_from_output(RequestOutput([CompletionOutput(0, "a", [1])]),
                                GenerationRequest(Q, logprobs=True))


# ----------------------------------------------------------------------------- loglik
def test_loglik_from_prompt_logprobs():
    ids = [1, 21350, 42, 9805, 30]  # context: 3 tokens, continuation: 2
    plp = [None, {21350: Logprob(-3.0)}, {42: Logprob(-1.0)},
           {9805: Logprob(-0.7), 1079: Logprob(-0.9)}, {30: Logprob(-0.2)}]
    r = loglik_from_prompt_logprobs(ids, plp, 2)
    assert r.logprob == pytest.approx(-0.9) and r.is_greedy and r.num_tokens == 2
    plp[4] = {30: Logprob(-1.5), 28: Logprob(-0.4)}  # another token beats the continuation's
    r = loglik_from_prompt_logprobs(ids, plp, 2)
    assert r.logprob == pytest.approx(-2.2) and not r.is_greedy
    with pytest.raises(MedtrustError):
        loglik_from_prompt_logprobs(ids, plp, 5)


@pytest.fixture(scope="module")
def tokenizer():
    """The embedded SmolLM2 tokenizer (real), from the materialized folder or the GGUF file."""
    from transformers import AutoTokenizer

    from medtrust.models.embedded import gguf_path, materialized_dir
    folder = materialized_dir()
    if (folder / "tokenizer.json").exists():
        return AutoTokenizer.from_pretrained(folder)
    gguf = gguf_path()
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


def test_encode_pair_moves_trailing_space_to_continuation(tokenizer):
    ctx, cont = encode_pair(tokenizer, "Answer: ", "yes")
    assert ctx == tokenizer("Answer:", add_special_tokens=False)["input_ids"]
    assert ctx + cont == tokenizer("Answer: yes", add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(cont) == " yes"
    ctx, cont = encode_pair(tokenizer, "", "Paris")
    assert ctx == [tokenizer.bos_token_id] and tokenizer.decode(cont) == "Paris"


# ---------------------------------------------------------------------------- the backend
@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_missing_vllm_gives_the_install_hint():
    with pytest.raises(MedtrustError) as err:
        VLLMBackend("Qwen/Qwen2.5-0.5B-Instruct")
    assert "The vllm/ backend needs the package 'vllm'" in str(err.value)
    assert err.value.fix.startswith("pip install 'medtrust[vllm]'")
    with pytest.raises(MedtrustError, match="pip install 'medtrust\\[vllm\\]'"):
        resolve("vllm/Qwen/Qwen2.5-0.5B-Instruct", tensor_parallel_size=1)


class _StandInLLM:
    """Records LLM(...) and chat(...) calls; answers every request with its index as text."""

    def __init__(self, model, **kwargs):
        self.model, self.kwargs, self.calls = model, kwargs, []
        self.llm_engine = types.SimpleNamespace(
            model_config=types.SimpleNamespace(max_model_len=4096, is_multimodal_model=True))

    def get_tokenizer(self):
        return types.SimpleNamespace(eos_token_id=EOS)

    def chat(self, conversations, params, use_tqdm=True):
        self.calls.append((conversations, params))
        return [RequestOutput([CompletionOutput(k, f"answer {len(self.calls)}.{i}", [10 + i, EOS],
                                                _steps([(10 + i, -0.5, None), (EOS, -0.1, None)]))
                               for k in range(p["n"])]) for i, p in enumerate(params)]


@pytest.fixture
def stand_in_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams, module.__version__ = _StandInLLM, dict, "0.0-stand-in"
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


def test_backend_wiring(stand_in_vllm):
    backend = resolve("vllm/org/model", tensor_parallel_size=2, gpu_memory_utilization=0.8, chunk_size=2)
    assert backend.llm.model == "org/model"
    assert backend.llm.kwargs == {"tensor_parallel_size": 2, "gpu_memory_utilization": 0.8}
    assert backend.capabilities == {Capability.LOGPROBS, Capability.CHOICE_LOGLIK, Capability.IMAGES}
    img = Image.new("RGB", (3, 2), (200, 10, 10))
    requests = [GenerationRequest([{"role": "user", "content": [{"type": "text", "text": "Lesion?"},
                                                                 {"type": "image", "image": img}]}],
                                  temperature=0, logprobs=True),
                GenerationRequest(Q, n=3, temperature=1.0, seed=5),
                GenerationRequest(Q, n=2, temperature=0)]
    done = []
    out = backend.generate(requests, progress=done.append)
    assert done == [2, 1]  # chunks of 2 requests
    # a sampled request is sent as one request per sample, each with its own seed (greedy ones stay whole)
    assert [[c.text for c in cs] for cs in out] == [["answer 1.0"], ["answer 1.1", "answer 1.2", "answer 1.3"],
                                                    ["answer 2.0"] * 2]
    assert out[0][0].token_ids == [10] and out[0][0].token_logprobs == [-0.5]
    (conversations, params), _ = backend.llm.calls
    seeds = [server_seed(requests[1], k) for k in range(3)]
    assert params[1:4] == [{"n": 1, "temperature": 1.0, "top_p": 1.0, "max_tokens": 256, "seed": s} for s in seeds]
    assert len(set(seeds)) == 3 and "seed" not in params[0]
    part = conversations[0][0]["content"][1]
    assert part["type"] == "image_url"
    assert data_url_to_image(part["image_url"]["url"]).getpixel((0, 0)) == (200, 10, 10)
    assert backend.info() == {"name": "vllm/org/model", "backend": "vllm", "model": "org/model",
                              "vllm": "0.0-stand-in",
                              "engine_args": {"tensor_parallel_size": 2, "gpu_memory_utilization": 0.8}}


def test_backend_loglik_wiring(stand_in_vllm, tokenizer):
    backend = VLLMBackend("org/model")
    backend.tokenizer = tokenizer
    seen = []

    def generate(prompts, params, use_tqdm=True):  # prompt log-probs: -1 per token, all greedy
        seen.append(params)
        outs = []
        for p in prompts:
            ids = p["prompt_token_ids"]
            outs.append(RequestOutput([], ids, [None] + [{t: Logprob(-1.0)} for t in ids[1:]]))
        return outs

    backend.llm.generate = generate
    [[yes, no]] = backend.loglik([LoglikRequest("Is aspirin an NSAID? Answer:", (" yes", " no"))])
    assert seen == [{"max_tokens": 1, "temperature": 0.0, "prompt_logprobs": 1}]
    n_yes = len(encode_pair(tokenizer, "Is aspirin an NSAID? Answer:", " yes")[1])
    assert (yes.num_tokens, yes.logprob, yes.is_greedy) == (n_yes, -1.0 * n_yes, True)
    assert no.num_tokens == len(encode_pair(tokenizer, "Is aspirin an NSAID? Answer:", " no")[1])
