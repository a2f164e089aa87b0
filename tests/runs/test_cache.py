"""The content-addressed generation cache, on the real embedded model."""

from __future__ import annotations

from medtrust.models.base import GenerationRequest, LoglikRequest
from medtrust.models.cache import CachedBackend, GenerationCache, completion_key, identity


def ask(q):
    return [{"role": "user", "content": q}]


def test_keys_depend_on_messages_sampling_and_index(embedded):
    ident = identity(embedded)
    r = GenerationRequest(messages=ask("a"), n=2, temperature=1.0, seed=0)
    keys = {completion_key(ident, r, 0), completion_key(ident, r, 1),
            completion_key(ident, GenerationRequest(messages=ask("b"), temperature=1.0, seed=0), 0),
            completion_key(ident, GenerationRequest(messages=ask("a"), temperature=0.5, seed=0), 0),
            completion_key(ident, GenerationRequest(messages=ask("a"), temperature=1.0, seed=1), 0)}
    assert len(keys) == 5
    # n is not part of a sample's key: sample 0 of n=2 is sample 0 of n=5
    assert completion_key(ident, r, 0) == completion_key(ident, GenerationRequest(
        messages=ask("a"), n=5, temperature=1.0, seed=0), 0)
    assert "batch_size" not in ident


def test_cached_completions_come_back_identical_and_only_missing_ones_are_drawn(tmp_path, embedded, monkeypatch):
    cache = GenerationCache(tmp_path / "c.sqlite")
    backend = CachedBackend(embedded, cache)
    req = GenerationRequest(messages=ask("Name a beta blocker."), n=2, temperature=1.0, max_tokens=8,
                            logprobs=True, seed=5)
    first = backend.generate([req])[0]
    assert (backend.hits, backend.misses) == (0, 2) and len(cache) == 2
    asked = []
    real = embedded.generate
    monkeypatch.setattr(embedded, "generate", lambda reqs, progress=None: asked.extend(r.n for r in reqs)
                        or real(reqs, progress))
    again = CachedBackend(embedded, cache).generate([req])[0]
    assert asked == []
    assert [c.to_dict() for c in again] == [c.to_dict() for c in first]
    more = CachedBackend(embedded, cache).generate([GenerationRequest(**{**req.__dict__, "n": 5})])[0]
    assert asked == [3]  # samples 2, 3, 4 only
    assert [c.text for c in more[:2]] == [c.text for c in first]


def test_hidden_states_survive_the_cache(tmp_path, embedded):
    backend = CachedBackend(embedded, GenerationCache(tmp_path / "c.sqlite"))
    req = GenerationRequest(messages=ask("What is anemia?"), temperature=0.0, max_tokens=6, hidden_states=True)
    first = backend.generate([req])[0][0]
    second = backend.generate([req])[0][0]
    assert backend.hits == 1
    assert (first.hidden["slt"] == second.hidden["slt"]).all()
    assert second.hidden["tbg"].shape == first.hidden["tbg"].shape


def test_loglik_is_cached(tmp_path, embedded):
    backend = CachedBackend(embedded, GenerationCache(tmp_path / "c.sqlite"))
    req = LoglikRequest("Question: Is aspirin an NSAID?\nAnswer:", (" yes", " no"))
    a = backend.loglik([req])[0]
    b = CachedBackend(embedded, GenerationCache(tmp_path / "c.sqlite")).loglik([req])[0]
    assert [vars(x) for x in a] == [vars(x) for x in b]
