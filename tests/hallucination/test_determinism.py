"""A question's sampled answers depend only on what defines them (model, prompt, sampling settings,
seed, sample index): not on --limit, --batch-size, or what the generation cache holds."""

from __future__ import annotations

import pytest

from medtrust.hallucination.study import HallucinationConfig, HallucinationRecord, HallucinationStudy
from medtrust.models.cache import CachedBackend, GenerationCache
from medtrust.pipeline import execute

pytestmark = pytest.mark.integration


def answers(tmp_path, backend, **kw) -> dict[str, tuple]:
    """{question id: (low-temperature answer, sampled answers, their summed log-probs)} of one run."""
    cfg = HallucinationConfig(model="embedded", dataset="demo-qa", samples=3, max_tokens=8, seed=0,
                              estimators=["semantic_entropy", "num_clusters"], runs_dir=str(tmp_path), **kw)
    run = execute(HallucinationStudy(), cfg, progress=False, backend=backend)
    return {r.sample_id: (r.extras.low_t_answer.text, tuple(o.text for o in r.outputs),
                          tuple(round(o.logprob, 3) for o in r.outputs))
            for r in run.records(HallucinationRecord)}


def test_samples_do_not_depend_on_limit_batch_size_or_the_cache(tmp_path, embedded):
    small = answers(tmp_path / "a", embedded, limit=2, batch_size=16, cache=False)
    large = answers(tmp_path / "b", embedded, limit=8, batch_size=1, cache=False)
    cache = GenerationCache(tmp_path / "cache.sqlite")
    warm = CachedBackend(embedded, cache)
    partly = answers(tmp_path / "c", warm, limit=4, batch_size=16, cache=True)  # fills the cache for 4 questions
    mixed_backend = CachedBackend(embedded, cache)
    mixed = answers(tmp_path / "d", mixed_backend, limit=8, batch_size=4, cache=True)  # 4 from the cache, 4 drawn
    assert mixed_backend.hits == 4 * (1 + 3) and mixed_backend.misses == 4 * (1 + 3)
    assert len(large) == len(mixed) == 8 and len({a[1] for a in large.values()}) > 1
    for qid, value in small.items():
        assert large[qid] == value == partly[qid] == mixed[qid], qid
    for qid, value in large.items():
        assert mixed[qid] == value, qid
