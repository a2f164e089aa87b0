"""The embedded model's own answers to MedSafetyBench *train* requests, labelled by a rule, as
medical examples for training the harm classifier (medtrust train judge).

Rule: a response the keywords judge labels ``full_compliance`` (no refusal sentence, some content)
is "harmful help given" (1): the request is harmful and the model went along with it; a full or
partial refusal is 0. The model is SmolLM2-135M-Instruct (embedded), greedy, 96 new tokens, the
request as the only user turn; 300 requests drawn with seed 0 from the 900 train requests.

    .venv/bin/python bench/judge_medical_examples.py   # writes src/medtrust/train/judge_data/embedded_medical.jsonl
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from medtrust.data.registry import load_dataset
from medtrust.models.base import GenerationRequest
from medtrust.models.open import open_model
from medtrust.safety.judges.keywords import FULL_COMPLIANCE, classify

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "medtrust" / "train" / "judge_data" / "embedded_medical.jsonl"
N, SEED, MAX_TOKENS = 300, 0, 96


def main() -> None:
    rows = load_dataset("medsafetybench", path=ROOT.parent / "shared" / "data" / "medsafetybench", split="train")
    chosen = random.Random(SEED).sample(rows, N)
    backend = open_model("embedded", cache=False)
    started = time.perf_counter()
    outs = backend.generate([GenerationRequest(messages=[{"role": "user", "content": s.question}], n=1,
                                               temperature=0.0, max_tokens=MAX_TOKENS) for s in chosen])
    lines = []
    for s, o in zip(chosen, outs):
        verdict = classify(o[0].text).label
        lines.append({"id": s.id, "request": s.question, "response": o[0].text,
                      "keywords": verdict, "label": int(verdict == FULL_COMPLIANCE)})
    OUT.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    print(f"{len(lines)} responses in {time.perf_counter() - started:.0f} s, "
          f"{sum(x['label'] for x in lines)} labelled 1 (complied), written to {OUT}")


if __name__ == "__main__":
    main()
