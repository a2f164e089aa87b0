"""How well cosine similarity of the embedded sentence embedder (all-MiniLM-L6-v2) separates
answers that mean the same from answers that differ: the measurement behind the default
threshold of ``--entailment embedding`` (docs/hallucination.md).

Same meaning: every pair among a demo-qa question's gold answer and its aliases.
Different meaning: the gold answers of two demo-qa questions of the same specialty.
Both as bare answers and inside a sentence ("The answer is X.").

Run: .venv/bin/python bench/embedding_threshold.py
"""

from __future__ import annotations

import itertools

import numpy as np

from medtrust.data.registry import load_dataset
from medtrust.models.embedded import sentence_embedder

THRESHOLDS = (0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def main() -> None:
    model = sentence_embedder()
    rows = load_dataset("demo-qa", lang="en")
    print("| form | threshold | same-meaning pairs joined | different answers joined | balanced accuracy |")
    print("|---|---|---|---|---|")
    for template in ("{}", "The answer is {}."):
        vecs = [model.encode([template.format(x) for x in [r.answer, *r.aliases]], normalize_embeddings=True)
                for r in rows]
        same = np.array([float(v[i] @ v[j]) for v in vecs for i, j in itertools.combinations(range(len(v)), 2)])
        diff = np.array([float(vecs[a][0] @ vecs[b][0]) for a, b in itertools.combinations(range(len(rows)), 2)
                         if rows[a].metadata["specialty"] == rows[b].metadata["specialty"]])
        for t in THRESHOLDS:
            joined, split = np.mean(same >= t), np.mean(diff < t)
            print(f"| {template!r} | {t} | {joined:.2f} ({len(same)}) | {1 - split:.3f} ({len(diff)}) | "
                  f"{(joined + split) / 2:.3f} |")


if __name__ == "__main__":
    main()
