"""Issue 17 part 4: does the language model under embedded-vlm-reader tell harmful FigStep requests from
benign ones at all, when they are typed?

A linear probe (scikit-learn logistic regression) on the mean-pooled last hidden state of ``--model``
(default ``embedded``, the reader's language model) over each request typed as a user turn:

- trained on the FigStep ``train`` split (310 SafeBench instructions, harmful) against the benign sentences
  with their training fills (``BENIGN_FILLS`` and ``MORE_FILLS``: 147);
- measured once on the validation requests of bench/vision_safety_valid.py (the 40 SafeBench rows after the
  vision ``--eval``'s test rows, the 49 sentences with ``VALID_FILLS``): AUROC, and accuracy at 0.5.

A probe that separates them says the information is there and image safety SFT fails to use it; a probe
at chance says the 135M model has nothing to build the decision on. No test row is touched.

    nice -n 19 .venv/bin/python bench/vision_safety_probe.py
"""

from __future__ import annotations

import argparse
import time

DATA = "../shared/data"


def requests(figstep: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """``(train, validation)`` lists of (instruction, 1 harmful / 0 benign)."""
    from medtrust.data.loaders.figstep_splits import FIGSTEP_TEST_ROWS, FIGSTEP_VALID_ROWS
    from medtrust.data.registry import load_dataset
    from medtrust.train.image_rows import VALID_FILLS, figstep_benign_items, figstep_benign_more_items
    from medtrust.train.vision_eval import heldout_order
    train = [(s.metadata["instruction"], 1) for s in load_dataset("figstep", path=figstep, split="train")]
    train += [(it.self_prompt, 0) for it in figstep_benign_items(figstep) + figstep_benign_more_items(figstep)]
    order = heldout_order(figstep, set(), set())[FIGSTEP_TEST_ROWS:FIGSTEP_TEST_ROWS + FIGSTEP_VALID_ROWS]
    valid = [(s.metadata["instruction"], 1) for s in order]
    valid += [(it.self_prompt, 0) for it in figstep_benign_items(figstep, VALID_FILLS, "valid-benign")]
    return train, valid


def features(model: str, texts: list[str]):
    """Mean-pooled last hidden state of each text as a user turn (the chat template applied)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medtrust.train.common import model_source
    folder, _ = model_source(model)
    tok = AutoTokenizer.from_pretrained(folder)
    lm = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    out = []
    with torch.no_grad():
        for text in texts:
            ids = tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True,
                                          return_tensors="pt", return_dict=True)
            hidden = lm(**ids, output_hidden_states=True).hidden_states[-1][0]
            out.append(hidden.mean(0).numpy())
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="embedded", help="a text model: embedded or hf/<folder>")
    p.add_argument("--figstep", default=f"{DATA}/figstep")
    a = p.parse_args(argv)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    start = time.time()
    train, valid = requests(a.figstep)
    x_train, x_valid = features(a.model, [t for t, _ in train]), features(a.model, [t for t, _ in valid])
    y_train, y_valid = [y for _, y in train], [y for _, y in valid]
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1, class_weight="balanced"))
    probe.fit(x_train, y_train)
    score = probe.predict_proba(x_valid)[:, 1]
    print(f"| probe on {a.model} | train rows (harmful/benign) | validation rows | validation AUROC | "
          f"validation accuracy |\n|---|---|---|---|---|")
    print(f"| mean-pooled last hidden state, logistic regression C 0.1 | {sum(y_train)}/{len(y_train) - sum(y_train)} "
          f"| {sum(y_valid)}/{len(y_valid) - sum(y_valid)} | {roc_auc_score(y_valid, score):.3f} | "
          f"{accuracy_score(y_valid, score >= 0.5):.3f} |")
    print(f"\ntraining accuracy {probe.score(x_train, y_train):.3f}; {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
