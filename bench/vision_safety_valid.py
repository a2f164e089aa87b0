"""Issue 17 part 4: choose an image safety SFT recipe on validation rows, never on the test sets.

Trains the recipe of bench/vision_safety.py (same flags, no ``--eval``), then asks the base and the
trained model, greedy, with FigStep's prompt and image:

- **validation harmful images**: FigStep SafeBench rows outside the tiny split that the vision
  ``--eval`` never measures (``vision_eval.heldout_order`` after its first FIGSTEP_EVAL_ROWS test rows);
- **validation benign typographic images**: FigStep's 49 benign sentences with a third set of fills
  (``image_rows.VALID_FILLS``), never the training fills (``BENIGN_FILLS``) nor the test's
  (``figstep_benign.EVAL_FILLS``).

Refusal is the keywords judge (``safety.judges.keywords``), the refusal judge of the ``--eval``. Prints
refusal of harmful and over-refusal of benign validation images, before and after, with 90% Wilson
intervals; every answer goes to ``<out>/validation.jsonl``.

    # recipe D of bench/RESULTS.md (80 steps, ~19 min on 2 cores)
    nice -n 19 .venv/bin/python bench/vision_safety_valid.py --model embedded-vlm-reader --out /tmp/vs-d \\
        --max-steps 80 --extra "--mix demo-images:0.5,demo-images-clinical:0.25,figstep-benign:1.0 \\
        --target-model embedded --max-length 512 --read-first"
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from vision_safety import parser, train_command  # noqa: E402  (bench/vision_safety.py)


def validation_items(run: Path, figstep: str, harmful: int) -> list[dict]:
    """The validation requests: ``harmful`` SafeBench rows after the test rows (the order the
    ``--eval`` of this run would draw, trained rows left out), and the 49 benign typographic
    sentences with their validation fills (``image_rows.VALID_FILLS``)."""
    from medtrust.train.common import TrainingRun
    from medtrust.train.image_rows import VALID_FILLS, figstep_benign_items, figstep_prompt
    from medtrust.train.vision_eval import FIGSTEP_EVAL_ROWS, heldout_order, trained_requests
    items = []
    order = heldout_order(figstep, *trained_requests(TrainingRun(run)))
    for s in order[FIGSTEP_EVAL_ROWS:FIGSTEP_EVAL_ROWS + harmful]:
        text, image_text = figstep_prompt(s.metadata["instruction"])
        items.append({"id": s.id, "side": "harmful", "text": text, "image_text": image_text,
                      "instruction": s.metadata["instruction"]})
    for it in figstep_benign_items(figstep, VALID_FILLS, "valid-benign"):
        items.append({"id": it.id, "side": "benign", "text": it.text, "image_text": it.image_text,
                      "instruction": it.self_prompt})
    return items


def answers(model: str, items: list[dict], images: Path, max_tokens: int) -> list[str]:
    """Greedy answers of ``model`` to each item's FigStep prompt and image."""
    from medtrust.models.base import GenerationRequest
    from medtrust.models.open import open_model
    from medtrust.prompts import user_message
    from medtrust.train.image_rows import draw
    paths = [images / draw(it["image_text"], images, f"valid-{it['id']}") for it in items]
    backend = open_model(model)
    out = backend.generate([GenerationRequest(messages=[user_message(it["text"], [str(p)])], n=1, temperature=0.0,
                                              max_tokens=max_tokens) for it, p in zip(items, paths)])
    return [a[0].text for a in out]


def rate(verdicts: list[bool]) -> str:
    """``k/n = value [90% Wilson interval]``."""
    from medtrust.stats import rate_metric
    m = rate_metric(verdicts)
    return f"{m['count']}/{m['n']} = {m['value']:.3f} [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}]"


def main(argv: list[str] | None = None) -> int:
    from medtrust.data.loaders.figstep_splits import FIGSTEP_VALID_ROWS
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--out", default="runs/bench-vision-safety-valid")
    p.add_argument("--harmful", type=int, default=FIGSTEP_VALID_ROWS, help="validation harmful images (rows "
                   "after the test rows; beyond the default they meet the train split)")
    p.add_argument("--max-tokens", type=int, default=64, help="as the --eval's default")
    a = p.parse_args(argv)
    from medtrust.safety.judges.keywords import classify
    out = Path(a.out)
    if a.fresh and out.exists():
        shutil.rmtree(out)
    start = time.time()
    cmd = train_command(a, out)
    print("$ " + " ".join(cmd), flush=True)
    if subprocess.run(cmd).returncode != 0:
        print(f"medtrust train sft failed; the run folder is {out}", file=sys.stderr)
        return 1
    trained_s = time.time() - start
    items = validation_items(out, a.figstep, a.harmful)
    records = []
    for name, model in (("before", a.model), ("after", f"hf/{(out / 'model').resolve()}")):
        for it, text in zip(items, answers(model, items, out / "validation", a.max_tokens)):
            records.append({**it, "model": name, "answer": text, "refused": classify(text).refused})
    (out / "validation.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    print(f"\n{a.model}, recipe: {' '.join(cmd[2:])}\n")
    print("| validation measure (keywords refusal judge) | before | after |\n|---|---|---|")
    for side, name in (("harmful", "refusal, harmful FigStep images"), ("benign", "over-refusal, benign typographic")):
        cells = [rate([r["refused"] for r in records if r["side"] == side and r["model"] == m])
                 for m in ("before", "after")]
        print(f"| {name} | {cells[0]} | {cells[1]} |")
    print(f"\ntraining {trained_s:.0f} s; in all {time.time() - start:.0f} s; answers: {out / 'validation.jsonl'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
