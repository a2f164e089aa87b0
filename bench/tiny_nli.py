"""A randomly initialised DeBERTa (v1) NLI classifier, MiniLM-sized (6 layers, 384 wide), with the
embedded model's BPE vocabulary: the same entailment model for medtrust and LM-Polygraph in
bench/hallucination.py when no MNLI weights can be downloaded (offline). Its decisions are
meaningless; its compute cost per pair is that of a small real NLI model.

Run: .venv/bin/python bench/tiny_nli.py OUT_FOLDER
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def build(out: str | Path) -> Path:
    import torch
    from transformers import DebertaConfig, DebertaForSequenceClassification, DebertaTokenizer

    from medtrust.models.embedded import materialize
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = json.loads((materialize() / "tokenizer.json").read_text())
    (out / "vocab.json").write_text(json.dumps(source["model"]["vocab"]))
    merges = ["#version: 0.2"] + [m if isinstance(m, str) else " ".join(m) for m in source["model"]["merges"]]
    (out / "merges.txt").write_text("\n".join(merges) + "\n")
    tok = DebertaTokenizer(str(out / "vocab.json"), str(out / "merges.txt"))
    tok.save_pretrained(out)
    labels = {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}
    config = DebertaConfig(vocab_size=len(tok), hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                           intermediate_size=1536, max_position_embeddings=512, num_labels=3, id2label=labels,
                           label2id={v: k for k, v in labels.items()}, pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    DebertaForSequenceClassification(config).eval().save_pretrained(out)
    return out


if __name__ == "__main__":
    print(build(sys.argv[1]))
