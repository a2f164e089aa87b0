"""The hf backend on the real embedded model (and a tiny random GPT-2 for the no-chat-template path)."""

from __future__ import annotations

import pytest
import torch

from medtrust.models.base import Capability, GenerationRequest, LoglikRequest
from medtrust.models.hf_generation import plan_chunks

QUESTIONS = [
    "Which vitamin deficiency causes scurvy? Answer briefly.",
    "What is the normal adult resting heart rate?",
    "Name the bone in the upper arm.",
    "What does the abbreviation MI stand for in cardiology? Give a very long and detailed explanation please.",
    "Which organ produces insulin?",
]


def ask(q: str) -> list[dict]:
    return [{"role": "user", "content": q}]


def forward_logprobs(backend, messages, token_ids) -> list[float]:
    """Log-probs of token_ids after the prompt, from one separate full forward pass."""
    prompt = backend.encode_prompt(messages)
    ids = torch.tensor([prompt + list(token_ids)])
    with torch.no_grad():
        logits = backend.model(ids).logits[0].float()
    lp = torch.log_softmax(logits, dim=-1)
    return [lp[len(prompt) - 1 + k, t].item() for k, t in enumerate(token_ids)]


def test_capabilities_and_info(embedded):
    assert embedded.capabilities == {Capability.LOGPROBS, Capability.HIDDEN_STATES, Capability.CHOICE_LOGLIK,
                                     Capability.TRAINABLE}
    info = embedded.info()
    assert info["name"] == "embedded" and info["device"] == "cpu" and info["dtype"] == "float32"


def test_sampled_token_logprobs_equal_a_separate_forward_pass(embedded):
    reqs = [GenerationRequest(messages=ask(q), n=3, temperature=1.0, max_tokens=24, logprobs=True, seed=1)
            for q in QUESTIONS[:3]]
    outs = embedded.generate(reqs)
    checked = 0
    for req, comps in zip(reqs, outs):
        assert len(comps) == 3
        for c in comps:
            assert len(c.token_logprobs) == len(c.token_ids) > 0
            ref = forward_logprobs(embedded, req.messages, c.token_ids)
            assert max(abs(a - b) for a, b in zip(ref, c.token_logprobs)) < 1e-4
            checked += 1
    assert checked == 9


def test_greedy_batched_equals_one_by_one(embedded):
    reqs = [GenerationRequest(messages=ask(q), n=1, temperature=0.0, max_tokens=20, logprobs=True)
            for q in QUESTIONS]
    batched = [c[0] for c in embedded.generate(reqs)]
    single = [embedded.generate([r])[0][0] for r in reqs]
    assert [c.text for c in batched] == [c.text for c in single]
    assert [c.token_ids for c in batched] == [c.token_ids for c in single]
    for b, s in zip(batched, single):
        assert max(abs(x - y) for x, y in zip(b.token_logprobs, s.token_logprobs)) < 1e-4


def count_generate_rows(backend, monkeypatch) -> list[int]:
    """The number of input rows of each ``model.generate`` call, appended as calls happen."""
    calls = []
    real = backend.model.generate

    def counting(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(backend.model, "generate", counting)
    return calls


def test_n_samples_of_a_request_come_from_one_generate_call(embedded, monkeypatch):
    calls = count_generate_rows(embedded, monkeypatch)
    reqs = [GenerationRequest(messages=ask(q), n=4, temperature=1.0, max_tokens=8) for q in QUESTIONS[:3]]
    outs = embedded.generate(reqs)
    assert calls == [12]  # 3 requests x 4 samples, one call
    assert [len(o) for o in outs] == [4, 4, 4]


def test_finished_rows_leave_the_batch_and_nothing_changes(embedded, monkeypatch):
    """Greedy answers of mixed length, generated in segments of 10 tokens with ended rows dropped,
    equal the answers of one uninterrupted generate call (tokens, text, finish, log-probs)."""
    from medtrust.models import hf_generation
    calls = count_generate_rows(embedded, monkeypatch)
    reqs = [GenerationRequest(messages=ask(q), n=2, temperature=0.0, max_tokens=40, logprobs=True, stop=["."])
            for q in QUESTIONS]
    segmented = [c for cs in embedded.generate(reqs) for c in cs]
    assert calls[0] == 10 and 1 < len(calls) <= 4  # 40 tokens in segments of 10, stopped once all ended
    assert calls == sorted(calls, reverse=True) and calls[-1] < 10  # answers that ended left the batch
    calls.clear()
    monkeypatch.setattr(hf_generation, "SEGMENT_TOKENS", (40, 40))
    whole = [c for cs in embedded.generate(reqs) for c in cs]
    assert calls == [10]
    assert [c.token_ids for c in segmented] == [c.token_ids for c in whole]
    assert [(c.text, c.finish_reason) for c in segmented] == [(c.text, c.finish_reason) for c in whole]
    for a, b in zip(segmented, whole):
        assert len(a.token_logprobs) == len(a.token_ids)
        assert max((abs(x - y) for x, y in zip(a.token_logprobs, b.token_logprobs)), default=0.0) < 1e-4
    # a cache that cannot drop rows: the first segment, then the rest in one call, same answers
    from transformers import DynamicCache
    monkeypatch.setattr(hf_generation, "SEGMENT_TOKENS", (10, 10))
    owner = next(k for k in DynamicCache.__mro__ if "batch_select_indices" in vars(k))
    monkeypatch.delattr(owner, "batch_select_indices")
    calls.clear()
    fallback = [c for cs in embedded.generate(reqs) for c in cs]
    assert calls == [10, 10]
    assert [(c.token_ids, c.text, c.finish_reason) for c in fallback] == [(c.token_ids, c.text, c.finish_reason)
                                                                          for c in whole]


def test_a_samples_text_depends_only_on_its_request_and_index(embedded, tmp_path):
    """Sampled rows draw from their own seeds (seed, prompt, settings, sample index): the same
    request's samples are the same alone, among other requests, split over small chunks, and when
    the generation cache hands out some of them and the rest are drawn."""
    from dataclasses import replace

    from medtrust.models.cache import CachedBackend, GenerationCache
    target = GenerationRequest(messages=ask(QUESTIONS[0]), n=4, temperature=1.0, max_tokens=12, seed=3,
                               logprobs=True)
    others = [GenerationRequest(messages=ask(q), n=3, temperature=1.0, max_tokens=12, seed=3) for q in QUESTIONS[1:]]
    alone = embedded.generate([target])[0]
    among = embedded.generate([*others, target])[-1]
    old = embedded.batch_size
    try:
        embedded.batch_size = 3  # the 4 samples are split over two generate calls
        split = embedded.generate([target, *others[:2]])[0]
    finally:
        embedded.batch_size = old
    assert len({c.text for c in alone}) > 1  # real samples, not one sample four times
    for run in (among, split):
        assert [c.text for c in run] == [c.text for c in alone]
        for a, b in zip(run, alone):
            assert max(abs(x - y) for x, y in zip(a.token_logprobs, b.token_logprobs)) < 1e-4
    # samples 2 and 3 alone (what a partly cached request asks for) are samples 2 and 3 of the whole
    assert [c.text for c in embedded.generate([replace(target, n=2, indices=(2, 3))])[0]] == \
        [c.text for c in alone[2:]]
    cached = CachedBackend(embedded, GenerationCache(tmp_path / "cache.sqlite"))
    cached.generate([replace(target, n=2)])  # caches samples 0 and 1
    assert [c.text for c in cached.generate([target])[0]] == [c.text for c in alone]
    assert (cached.hits, cached.misses) == (2, 4)
    # a new seed or another sampling setting draws other samples
    assert [c.text for c in embedded.generate([replace(target, seed=4)])[0]] != [c.text for c in alone]


def test_chunk_plan_keeps_a_requests_samples_together():
    reqs = [GenerationRequest(messages=ask(str(i)), n=n, temperature=1.0) for i, n in enumerate([3, 3, 3, 7])]
    prompts = [[1] * k for k in (5, 9, 2, 4)]
    chunks = plan_chunks(reqs, prompts, batch_size=6)
    # longest prompt first; a request's 3 samples never split; n=7 > 6 must split
    assert [[s for s in c.slots] for c in chunks] == [
        [(1, 0), (1, 1), (1, 2), (0, 0), (0, 1), (0, 2)],
        [(3, 0), (3, 1), (3, 2), (3, 3), (3, 4), (3, 5)],
        [(3, 6), (2, 0), (2, 1), (2, 2)],
    ]
    assert [c.requests_finished for c in chunks] == [2, 0, 2]
    greedy = GenerationRequest(messages=ask("x"), n=1, temperature=0.0)
    mixed = plan_chunks([reqs[0], greedy], [[1], [1]], batch_size=64)
    assert len(mixed) == 2  # different sampling settings never share a call


def test_hidden_states_match_a_forward_pass(embedded):
    req = GenerationRequest(messages=ask(QUESTIONS[0]), n=1, temperature=0.0, max_tokens=12, hidden_states=True)
    c = embedded.generate([req])[0][0]
    layers = embedded.model.config.num_hidden_layers + 1
    size = embedded.model.config.hidden_size
    assert c.hidden["tbg"].shape == (layers, size) and c.hidden["slt"].shape == (layers, size)
    prompt = embedded.encode_prompt(req.messages)
    ids = torch.tensor([prompt + c.token_ids])
    with torch.no_grad():
        hs = embedded.model(ids, output_hidden_states=True).hidden_states
    full = torch.stack([h[0] for h in hs]).numpy()  # (layers, seq, size)
    assert abs(full[:, len(prompt) - 1] - c.hidden["tbg"]).max() < 1e-3
    # slt: the input position of the second-last answer token
    pos = len(prompt) - 1 + max(len(c.token_ids) - 1, 0)
    assert abs(full[:, pos] - c.hidden["slt"]).max() < 1e-3


def test_shared_prompt_prefill_gives_the_same_hidden_states_and_greedy_text(embedded):
    """n > 1 runs each distinct prompt once and copies its cache; results equal the plain path."""
    reqs = [GenerationRequest(messages=ask(q), n=3, temperature=0.0, max_tokens=10, hidden_states=True,
                              logprobs=True) for q in QUESTIONS[:2]]
    shared = embedded.generate(reqs)
    plain = [embedded.generate([GenerationRequest(messages=r.messages, temperature=0.0, max_tokens=10,
                                                  hidden_states=True, logprobs=True)])[0][0] for r in reqs]
    for comps, ref in zip(shared, plain):
        for c in comps:
            assert c.token_ids == ref.token_ids
            assert max(abs(a - b) for a, b in zip(c.token_logprobs, ref.token_logprobs)) < 1e-4
            assert abs(c.hidden["tbg"] - ref.hidden["tbg"]).max() < 1e-3
            assert abs(c.hidden["slt"] - ref.hidden["slt"]).max() < 1e-3


def test_stop_strings_cut_text_and_tokens(embedded):
    req = GenerationRequest(messages=ask("List three symptoms of flu, one per line."), n=1, temperature=0.0,
                            max_tokens=40, stop=("\n",), logprobs=True)
    c = embedded.generate([req])[0][0]
    full = embedded.generate([GenerationRequest(messages=req.messages, temperature=0.0, max_tokens=40)])[0][0]
    assert "\n" in full.text, "the greedy answer should span several lines for this check to mean anything"
    assert c.text == full.text.split("\n")[0]
    assert c.finish_reason == "stop"
    assert embedded.tokenizer.decode(c.token_ids, skip_special_tokens=True) == c.text
    assert len(c.token_logprobs) == len(c.token_ids)


def test_loglik_equals_manual_sum(embedded):
    context = "Question: Which organ produces insulin?\nAnswer:"
    conts = (" pancreas", " liver", " the spleen")
    res = embedded.loglik([LoglikRequest(context, conts)])[0]
    tok = embedded.tokenizer
    for cont, r in zip(conts, res):
        ctx_ids = tok(context, add_special_tokens=False)["input_ids"]
        whole = tok(context + cont, add_special_tokens=False)["input_ids"]
        cont_ids = whole[len(ctx_ids):]
        with torch.no_grad():
            lp = torch.log_softmax(embedded.model(torch.tensor([whole])).logits[0].float(), -1)
        manual = sum(lp[len(ctx_ids) - 1 + k, t].item() for k, t in enumerate(cont_ids))
        greedy = all(lp[len(ctx_ids) - 1 + k].argmax().item() == t for k, t in enumerate(cont_ids))
        assert r.num_tokens == len(cont_ids)
        assert r.logprob == pytest.approx(manual, abs=1e-4)
        assert r.is_greedy == greedy


def test_loglik_moves_trailing_space_to_the_continuation(embedded):
    from medtrust.models.hf_loglik import encode_pair
    ctx, cont = encode_pair(embedded, "Answer: ", "yes")
    tok = embedded.tokenizer
    assert ctx == tok("Answer:", add_special_tokens=False)["input_ids"]
    assert tok.decode(cont) == " yes"


def test_dtype_override(embedded):
    from medtrust.models.hf import HFBackend
    b = HFBackend(embedded.model_id, dtype="bfloat16", device="cpu")
    assert b.model.dtype == torch.bfloat16 and b.info()["dtype"] == "bfloat16"
    out = b.generate([GenerationRequest(messages=ask(QUESTIONS[4]), temperature=0.0, max_tokens=6)])
    assert out[0][0].text


def test_bad_dtype_and_missing_folder_give_clear_errors(tmp_path, embedded):
    from medtrust.errors import BackendUnavailable, MedtrustError
    from medtrust.models.hf import HFBackend
    with pytest.raises(MedtrustError, match="Unknown dtype 'float8'"):
        HFBackend(embedded.model_id, dtype="float8")
    with pytest.raises(BackendUnavailable, match="does not exist"):
        HFBackend(str(tmp_path / "no-such-model"))


def test_tiny_random_gpt2_without_chat_template(tmp_path, embedded):
    """A different architecture and a tokenizer with no chat template go through the same path."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from medtrust.models.registry import resolve
    tok = embedded.tokenizer
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=len(tok), n_positions=256, n_embd=32, n_layer=2, n_head=2,
                                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").unlink(missing_ok=True)
    backend = resolve(f"hf/{tmp_path}")
    assert not backend.tokenizer.chat_template
    assert backend.render(ask("Is water wet?")).endswith("Is water wet?\n\nAnswer:")
    reqs = [GenerationRequest(messages=ask(q), n=2, temperature=1.0, max_tokens=5, logprobs=True, seed=3)
            for q in QUESTIONS[:2]]
    outs = backend.generate(reqs)
    for req, comps in zip(reqs, outs):
        for c in comps:
            ref = forward_logprobs(backend, req.messages, c.token_ids)
            assert max(abs(a - b) for a, b in zip(ref, c.token_logprobs)) < 1e-4
