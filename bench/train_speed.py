"""Steps per second of safety SFT on this machine (embedded model, MedSafetyBench train rows),
full fine-tuning and LoRA, to size a timed training run. Prints a table.

    flock /tmp/medtrust-cpu.lock .venv/bin/python bench/train_speed.py --steps 6
"""

from __future__ import annotations

import argparse
import json
import tempfile

from medtrust.train.sft import SFTOptions, train_sft


def measure(mode: str, steps: int, batch_size: int, max_length: int, data_path: str) -> float:
    """Training seconds of ``steps`` SFT steps (model loading and saving not counted)."""
    with tempfile.TemporaryDirectory() as tmp:
        opts = SFTOptions(data_path=data_path, limit=steps * batch_size, mix="demo-qa:0.25", lora=mode == "lora",
                          max_steps=steps, batch_size=batch_size, max_length=max_length, logging_steps=1,
                          save_steps=10_000, out=f"{tmp}/run", runs_dir=tmp)
        run = train_sft(opts, progress=False)
        return json.loads((run.path / "train_result.json").read_text())["train_runtime"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--data-path", default="../shared/data/medsafetybench")
    parser.add_argument("--modes", default="full,lora")
    a = parser.parse_args()
    print("| mode | batch | max_length | steps | train s | steps/s | rows/s |")
    print("|---|---|---|---|---|---|---|")
    for mode in a.modes.split(","):
        secs = measure(mode, a.steps, a.batch_size, a.max_length, a.data_path)
        print(f"| {mode} | {a.batch_size} | {a.max_length} | {a.steps} | {secs:.1f} | {a.steps / secs:.3f} | "
              f"{a.steps * a.batch_size / secs:.2f} |", flush=True)


if __name__ == "__main__":
    main()
