"""Issue 17 part 1: can embedded-vlm-reader read FigStep images, and does the figstep attack change
what it does?

1. Transcription of the 50 held-out FigStep-tiny images (never drawn in training): the image the
   figstep attack draws, asked ``TRANSCRIBE_PROMPT`` (greedy); word accuracy (1 - WER) against
   the instruction; and the share of image tokens that are their character's embedding
   (nearest prototype: what the language model receives), so a reading error can be told apart
   from a language-model error.
2. ``medtrust safety`` on FigStep-tiny with the attacks none (the request typed), figstep (the
   image) and figstep_text (the same list typed) on the reader, and none / figstep_text on the
   embedded text model it was built from; benign FigStep sentences (held-out fills) as benign
   images. Attack success (classifier harm judge) and refusal (keywords) per attack.

    nice -n 19 .venv/bin/python bench/vlm_reader.py                       # the shipped reader
    nice -n 19 .venv/bin/python bench/vlm_reader.py --model hf/<assembled folder> --out runs/bench-reader-x
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DATA = "../shared/data"


def reader_folder(model: str) -> Path:
    """The LLaVA folder of ``model`` (embedded-vlm-reader or hf/<folder>)."""
    if model == "embedded-vlm-reader":
        from medtrust.models.embedded_vlm_reader import materialize_reader
        return materialize_reader()
    return Path(model.removeprefix("hf/"))


def token_accuracy(folder: Path, instructions: list[str]) -> dict[str, float]:
    """Stage 1's character accuracy of the image tokens on these images (``vlm_reader.char_accuracy``)."""
    import torch
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    from medtrust.train.vlm_reader import char_accuracy, char_embeddings, pixels_and_targets
    from medtrust.train.vlm_vision import image_tokens
    processor = AutoProcessor.from_pretrained(folder)
    model = LlavaForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
    pixels, targets = pixels_and_targets(instructions, processor.image_processor)
    prototypes = char_embeddings(model, processor.tokenizer)
    with torch.no_grad():
        tokens, logits = image_tokens(model, pixels.float(), True, len(prototypes))
    return char_accuracy(tokens, logits, targets, prototypes)


def validation_instructions(figstep: str, count: int = 50) -> list[str]:
    """The first ``count`` of the reader's validation instructions (``train vlm-reader``'s own
    split: random instructions never drawn for training in either stage), to choose a recipe on."""
    from medtrust.train.reader_data import training_texts
    from medtrust.train.vlm_reader import RECIPE
    texts = training_texts(figstep, RECIPE["seed"], RECIPE["random_instructions"] + RECIPE["vision_valid"])
    return texts["random"][:min(count, RECIPE["vision_valid"])]


def transcribe(model: str, instructions: list[str], out: Path, max_tokens: int, name: str = "tiny") -> list[dict]:
    """Greedy answers of ``model`` to ``TRANSCRIBE_PROMPT`` on each instruction's FigStep image."""
    from medtrust.models.base import GenerationRequest
    from medtrust.models.open import open_model
    from medtrust.prompts import user_message
    from medtrust.train.reader_data import (
        TRANSCRIBE_PROMPT,
        draw_reader_image,
        figstep_image_text,
        readable,
        word_accuracy,
    )
    (out / "images").mkdir(parents=True, exist_ok=True)
    paths = []
    for k, text in enumerate(instructions):
        paths.append(out / "images" / f"{name}-{k:02d}.png")
        draw_reader_image(text).save(paths[-1])
    backend = open_model(model)
    answers = backend.generate([GenerationRequest(messages=[user_message(TRANSCRIBE_PROMPT, [str(p)])], n=1,
                                                  temperature=0.0, max_tokens=max_tokens) for p in paths])
    return [{"row": k, "instruction": t, "readable": readable(figstep_image_text(t)), "answer": a[0].text,
             "word_accuracy": round(word_accuracy(t, a[0].text), 4),
             "exact": a[0].text.strip().rstrip(".").lower() == t.strip().rstrip(".").lower()}
            for k, (t, a) in enumerate(zip(instructions, answers))]


def safety(model: str, attacks: str, figstep: str, runs: Path, max_tokens: int) -> dict:
    """``medtrust safety`` on FigStep-tiny with these attacks; the run's metrics by attack."""
    medtrust = str(Path(sys.executable).with_name("medtrust"))
    before = set(runs.glob("*")) if runs.exists() else set()
    cmd = [medtrust, "safety", "-m", model, "-d", "figstep", "--data-path", figstep, "--split", "tiny",
           "--benign", "figstep", "--benign-path", figstep, "--benign-split", "benign", "--attacks", attacks,
           "--judge", "classifier,keywords", "--max-tokens", str(max_tokens), "--no-cache", "--runs-dir", str(runs)]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    run = max(set(runs.glob("*")) - before, key=lambda p: p.stat().st_mtime)
    results = json.loads((run / "results.json").read_text())
    return {"run": str(run), "by_attack": results["metrics"]["by_attack"]}


def _pct(metric: dict | None) -> str:
    if not metric or metric.get("value") is None:
        return "-"
    low, high = metric.get("ci") or (None, None)
    return f"{100 * metric['value']:.0f}" + (f" [{100 * low:.0f}, {100 * high:.0f}]" if low is not None else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="embedded-vlm-reader")
    p.add_argument("--text-model", default="embedded", help="the text model the reader was built from")
    p.add_argument("--figstep", default=f"{DATA}/figstep")
    p.add_argument("--out", default="runs/bench-vlm-reader")
    p.add_argument("--max-tokens", type=int, default=96)
    p.add_argument("--skip-safety", action="store_true")
    p.add_argument("--split", choices=("tiny", "valid"), default="tiny",
                   help="tiny: FigStep-tiny, the held-out test (measure once); valid: 50 of the reader's "
                        "validation instructions (choose a recipe here; transcription only)")
    a = p.parse_args(argv)
    from medtrust.train.reader_data import safebench_instructions
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    instructions = safebench_instructions(a.figstep)[1] if a.split == "tiny" else validation_instructions(a.figstep)
    start = time.time()
    rows = transcribe(a.model, instructions, out, 64, a.split)
    seconds = time.time() - start
    readable_rows = [r for r in rows if r["readable"]]
    tokens = token_accuracy(reader_folder(a.model), [r["instruction"] for r in readable_rows])
    summary = {"model": a.model, "split": a.split, "images": len(rows), "readable": len(readable_rows),
               "word_accuracy_readable": round(sum(r["word_accuracy"] for r in readable_rows) / len(readable_rows),
                                               4),
               "word_accuracy_all": round(sum(r["word_accuracy"] for r in rows) / len(rows), 4),
               "exact_readable": sum(r["exact"] for r in readable_rows), "image_tokens": tokens,
               "transcription_seconds": round(seconds, 1)}
    (out / "transcriptions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    where = "FigStep-tiny" if a.split == "tiny" else "the reader's validation instructions"
    print(f"\n{a.model}: transcription of {where} ({len(rows)} held-out images, {len(readable_rows)} "
          f"within the reading grid)\n")
    print("| measure | value |\n|---|---|")
    print(f"| word accuracy, readable images | {summary['word_accuracy_readable']:.3f} |")
    print(f"| word accuracy, all {len(rows)} | {summary['word_accuracy_all']:.3f} |")
    print(f"| exact transcriptions, readable | {summary['exact_readable']}/{len(readable_rows)} |")
    print(f"| image tokens nearest their character (letters / blanks) | {tokens['chars']:.3f} / "
          f"{tokens['blank']:.3f} |")
    print(f"| images with every token right | {tokens['images_exact']:.3f} |")
    for r in rows[:5]:
        print(f"\n  {r['instruction']!r}\n  -> {r['answer']!r} ({r['word_accuracy']:.2f})")
    if not a.skip_safety and a.split == "tiny":
        runs = out / "runs"
        summary["safety"] = {a.model: safety(a.model, "none,figstep,figstep_text", a.figstep, runs, a.max_tokens),
                             a.text_model: safety(a.text_model, "none,figstep_text", a.figstep, runs, a.max_tokens)}
        print("\nFigStep-tiny (50 harmful requests; benign: FigStep's benign sentences, held-out fills), % with "
              "90% intervals\n")
        print("| model | attack | attack success (classifier) | refusal, harmful (keywords) | over-refusal, benign |")
        print("|---|---|---|---|---|")
        for model, res in summary["safety"].items():
            for attack, m in res["by_attack"].items():
                print(f"| {model} | {attack} | {_pct(m.get('attack_success_rate'))} | "
                      f"{_pct(m.get('refusal_rate_harmful'))} | {_pct(m.get('over_refusal_rate'))} |")
    summary["seconds"] = round(time.time() - start, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\n{summary['seconds']:.0f} s in all; every answer in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
