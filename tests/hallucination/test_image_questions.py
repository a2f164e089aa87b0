"""Semantic entropy on open questions about images: the study sends each sample's image to a
vision-language model (a tiny random LLaVA) and scores the answers as for text."""

from __future__ import annotations

import math

from medtrust.hallucination.study import HallucinationConfig, HallucinationStudy
from medtrust.models.base import Backend
from medtrust.pipeline import execute


class Recording(Backend):
    """The real tiny VLM backend, keeping every request it was sent."""

    def __init__(self, inner: Backend):
        self.inner, self.requests = inner, []
        self.name, self.capabilities = inner.name, inner.capabilities

    def generate(self, requests, progress=None):
        self.requests.extend(requests)
        return self.inner.generate(requests, progress)

    def info(self):
        return self.inner.info()


def test_semantic_entropy_on_image_questions_sends_the_images(tiny_vlm_path, tmp_path):
    from medtrust.models.registry import resolve
    backend = Recording(resolve(f"hf/{tiny_vlm_path}"))
    cfg = HallucinationConfig(model=f"hf/{tiny_vlm_path}", dataset="demo-images", limit=3, samples=3, max_tokens=4,
                              estimators=["semantic_entropy", "discrete_semantic_entropy", "num_clusters"],
                              runs_dir=str(tmp_path), cache=False)
    study = HallucinationStudy()
    run = execute(study, cfg, progress=False, backend=backend)
    records = run.records(study.record_type)
    assert len(records) == 3
    answer_requests = [r for r in backend.requests if r.logprobs and r.max_tokens == 4]
    assert len(answer_requests) == 6  # per question: the low-temperature answer and the 3 samples
    for req in answer_requests:
        parts = req.messages[-1]["content"]
        images = [p["image"] for p in parts if p["type"] == "image"]
        assert len(images) == 1 and images[0].endswith(".png")
    asked = {req.messages[-1]["content"][0]["image"] for req in answer_requests}
    from medtrust.data.registry import load_dataset
    assert asked == {s.images[0] for s in load_dataset("demo-images", limit=3)} == \
        {r.sample.images[0] for r in records}
    for r in records:
        assert r.prompt[-1]["content"][0]["image"] == r.sample.images[0]
        assert len(r.outputs) == 3 and all(len(a.token_logprobs) == len(a.token_ids) for a in r.outputs)
        clusters = r.extras.clusters
        assert r.scores["num_clusters"] == len(set(clusters))
        counts = [clusters.count(c) / 3 for c in set(clusters)]
        assert math.isclose(r.scores["discrete_semantic_entropy"], -sum(p * math.log(p) for p in counts))
        assert r.scores["semantic_entropy"] >= 0.0
