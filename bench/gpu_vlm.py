"""The LLaVA-style VLM shape of bench/gpu.py: a CLIP tower and the SmolLM2-135M text shape, built
from configs, saved with a processor and opened by medtrust's hf vision backend; image questions
from demo-images."""

from __future__ import annotations

from pathlib import Path

from gpu import TEXT_SHAPES, Memory, timed

from medtrust.models.base import GenerationRequest


def build_vlm(folder: Path, device: str, dtype: str):
    """A LLaVA-style VLM (CLIP tower 12 x 384, patch 14 at 224 px, SmolLM2-135M text shape), saved with
    its processor and opened by medtrust's hf vision backend."""
    from medtrust.models.hf_vision import HFVisionBackend
    from medtrust.models.random_vlm import build_random_llava
    vision = dict(hidden_size=384, intermediate_size=1536, num_hidden_layers=12, num_attention_heads=6,
                  image_size=224, patch_size=14)
    build_random_llava(folder, vision, TEXT_SHAPES["smollm2-135m"][1])
    return HFVisionBackend(str(folder), device=device, dtype=dtype)


def bench_vlm_generate(backend, a) -> dict:
    from medtrust.data.registry import load_dataset
    from medtrust.prompts import sample_messages
    rows = load_dataset("demo-images")
    msgs = [sample_messages(rows[i % len(rows)], "Answer in one sentence.") for i in range(a.questions)]
    reqs = [GenerationRequest(messages=m, n=a.samples, temperature=1.0, max_tokens=a.tokens, logprobs=True, seed=0)
            for m in msgs]
    with Memory() as mem:
        outs, secs = timed(lambda: backend.generate(reqs))
    tokens = sum(len(c.token_ids) for o in outs for c in o)
    return {"tokens": tokens, "seconds": secs, "tokens_per_s": tokens / secs, "peak_gib": mem.gib}
