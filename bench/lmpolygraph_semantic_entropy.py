"""LM-Polygraph 0.7.0's SemanticEntropy on given prompts, for bench/hallucination.py.

Runs in a separate virtual environment holding ``lm-polygraph==0.7.0`` (it pins its own
dependencies; it must not touch the project's .venv), offline: the generator and the NLI model are
local folders. Reads a JSON job on stdin, prints one JSON line: seconds and the estimates.

  python3 -m venv /tmp/lmpoly-venv && /tmp/lmpoly-venv/bin/pip install lm-polygraph==0.7.0
  echo '{"model": ..., "nli": ..., "prompts": [...], "samples": 10, "max_new_tokens": 32,
         "batch_size": 16}' | HF_HUB_OFFLINE=1 /tmp/lmpoly-venv/bin/python bench/lmpolygraph_semantic_entropy.py
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    job = json.load(sys.stdin)
    import torch
    from lm_polygraph.defaults.register_default_stat_calculators import register_default_stat_calculators
    from lm_polygraph.estimators import SemanticEntropy
    from lm_polygraph.utils.builder_enviroment_stat_calculator import BuilderEnvironmentStatCalculator
    from lm_polygraph.utils.dataset import Dataset
    from lm_polygraph.utils.generation_parameters import GenerationParameters
    from lm_polygraph.utils.manager import UEManager
    from lm_polygraph.utils.model import WhiteboxModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(job["model"], padding_side="left")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    net = AutoModelForCausalLM.from_pretrained(job["model"], attn_implementation="eager").eval()
    params = GenerationParameters(temperature=1.0, top_k=0, do_sample=True, max_new_tokens=job["max_new_tokens"],
                                  stop_strings=["\n"], allow_newlines=True)
    model = WhiteboxModel(net, tok, model_path=job["model"], generation_parameters=params)
    calculators = register_default_stat_calculators("Whitebox")
    for c in calculators:
        if "nli_model" in c.cfg:
            c.cfg.nli_model.deberta_path = job["nli"]
            c.cfg.nli_model.device = "cpu"
        if c.name == "SamplingGenerationCalculator":
            c.cfg.samples_n = job["samples"]
    data = Dataset(job["prompts"], [""] * len(job["prompts"]), batch_size=job["batch_size"])
    estimator = SemanticEntropy()
    manager = UEManager(data, model, [estimator], builder_env_stat_calc=BuilderEnvironmentStatCalculator(model),
                        available_stat_calculators=calculators, generation_metrics=[], ue_metrics=[],
                        processors=[], ignore_exceptions=False, verbose=False,
                        max_new_tokens=job["max_new_tokens"])
    start = time.perf_counter()  # generation, NLI and the estimator; loading is not timed
    manager()
    seconds = time.perf_counter() - start
    values = [float(v) for v in manager.estimations[estimator.level, str(estimator)]]
    print(json.dumps({"seconds": seconds, "questions": len(job["prompts"]), "semantic_entropy": values}))


if __name__ == "__main__":
    main()
