"""Issue 6, attempt 8: the DPO pairs used on top of a safety-SFT run (bench/RESULTS.md).

- Benign pairs: every distinct benign prompt of the SFT run's training file
  (``<run>/train_data.jsonl``), chosen = the answer trained on there (the base model's own),
  rejected = the refusal opener the SFT model over-uses. No XSTest prompt is involved.
- Harmful pairs: ``medtrust.train.pairs.build_pairs`` (what ``--build-pairs`` does): the base
  model answers MedSafetyBench *train* requests, the keywords judge keeps the compliances,
  chosen = the safe response, rejected = the compliance.

Run: .venv/bin/python bench/safety_dpo_pairs.py --sft-run runs/issue6-sft4 --harmful 150 --out pairs.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from medtrust.data.registry import load_dataset
from medtrust.train.pairs import build_pairs, write_pairs

REFUSAL_OPENER = "I'm sorry, but I cannot assist with that request."


def benign_pairs(sft_run: Path) -> list[dict]:
    """One pair per distinct benign prompt of the SFT run's training rows."""
    chosen: dict[str, str] = {}
    for line in (sft_run / "train_data.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["side"].startswith("benign:"):
            chosen.setdefault(row["prompt"][0]["content"], row["completion"][0]["content"])
    return [{"prompt": p, "chosen": c, "rejected": REFUSAL_OPENER} for p, c in chosen.items()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sft-run", default="runs/issue6-sft4")
    ap.add_argument("--harmful", type=int, default=150, help="MedSafetyBench train requests to answer")
    ap.add_argument("--data-path", default="../shared/data/medsafetybench")
    ap.add_argument("--model", default="embedded", help="the model whose compliances are rejected")
    ap.add_argument("--out", default="pairs.jsonl")
    a = ap.parse_args()
    harm = [s for s in load_dataset("medsafetybench", path=a.data_path, split="train", limit=a.harmful, seed=0)
            if s.metadata.get("safe_response")]
    harmful, stats = build_pairs(a.model, harm, max_tokens=96)
    benign = benign_pairs(Path(a.sft_run))
    write_pairs(harmful + benign, a.out)
    print(f"{stats}; harmful pairs {len(harmful)}, benign pairs {len(benign)} -> {a.out}")


if __name__ == "__main__":
    main()
