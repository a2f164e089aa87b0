"""`medtrust train vlm`: rebuild ``embedded-vlm`` (``models/embedded_vlm.py``) offline and reproducibly.

Two stages, both on scenes from the generator's own seed (``train/vlm_data.py``, never a
demo-images scene):

1. the LeViT vision tower from scratch and the projector, aligned to the language model's word
   embeddings of a 16-word scene description (``train/vlm_vision.py``; no language model pass);
2. TRL's ``SFTTrainer`` with the LLaVA processor on chats about drawn images (presence, counts,
   colours, the arrow, labels, descriptions, boxes), loss on the assistant turns only; trained: a
   LoRA adapter on the language model's attention; tower and projector stay frozen (the tower in
   eval mode: its batch norms keep the statistics of stage 1).

Writes ``vision_projector.safetensors``, ``adapter/`` (float16) and ``recipe.json`` (the
settings, seed, the SHA-256 of every written file, the curves of both stages, the seconds of each)
into the output folder; the shipped copy is ``src/medtrust/models/embedded_vlm/``.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path
from typing import Any, Callable

RECIPE: dict[str, Any] = {
    "seed": 0,
    "generator": "medtrust.train.vlm_data.training_scenes (random.Random('embedded-vlm/<seed>'), demo-images "
                 "drawing code; demo-images scenes of seeds 0-9 excluded)",
    "vision_scenes": 22400, "vision_valid_scenes": 300, "vision_epochs": 4, "vision_batch": 128,
    "vision_lr": 3e-3, "vision_eval_every": 50,
    "sft_images": 640, "sft_max_turns": 4, "sft_batch": 8, "sft_steps": 100, "sft_lr": 1e-3,
    "sft_warmup_steps": 5, "lora_r": 8, "lora_alpha": 16,
    "lora_targets": r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj)",
}
QUICK = {"vision_scenes": 256, "vision_valid_scenes": 32, "vision_epochs": 1, "vision_batch": 64,
         "vision_eval_every": 2, "sft_images": 16, "sft_steps": 2, "sft_batch": 4}


def sft_dataset(scenes, seed: int, max_turns: int):
    """The chats of stage 2 as a ``datasets.Dataset`` of ``messages`` and ``images``."""
    from datasets import Dataset

    from medtrust.train.vlm_data import conversation, draw
    rng = random.Random(f"embedded-vlm/{seed}/chats")
    return Dataset.from_dict({"messages": [conversation(s, rng, max_turns) for s in scenes],
                              "images": [[draw(s)] for s in scenes]})


def sft_stage(model, processor, dataset, recipe: dict, work: Path, log: Callable[[str], None]) -> tuple[Any, dict]:
    """Stage 2 (module docstring) on ``dataset`` (``messages`` and ``images``); returns the PEFT
    model and the curve. With ``recipe["sft_save_steps"]`` a checkpoint is kept in ``work/sft``
    every that many steps and a checkpoint already there is resumed (a stopped build goes on)."""
    from peft import LoraConfig, get_peft_model
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from medtrust.train.common import keep_in_eval
    start = time.time()
    keep_in_eval(model.model.vision_tower)
    for p in model.model.multi_modal_projector.parameters():
        p.requires_grad = False
    peft_model = get_peft_model(model, LoraConfig(r=recipe["lora_r"], lora_alpha=recipe["lora_alpha"],
                                                  target_modules=recipe["lora_targets"], lora_dropout=0.0))

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                log(f"stage 2 step {state.global_step}/{recipe['sft_steps']} loss {logs['loss']:.4f} "
                    f"token accuracy {logs.get('mean_token_accuracy', float('nan')):.4f} "
                    f"({time.time() - start:.1f} s)")

    save_steps = recipe.get("sft_save_steps")
    args = SFTConfig(output_dir=str(work / "sft"), per_device_train_batch_size=recipe["sft_batch"],
                     max_steps=recipe["sft_steps"], learning_rate=recipe["sft_lr"], lr_scheduler_type="cosine",
                     warmup_steps=recipe["sft_warmup_steps"], logging_steps=5, report_to=[],
                     save_strategy="steps" if save_steps else "no", save_steps=save_steps or 500,
                     save_total_limit=1, use_cpu=True, seed=recipe["seed"], data_seed=recipe["seed"],
                     assistant_only_loss=True, max_length=None, gradient_checkpointing=False,
                     dataloader_num_workers=0, bf16=False, disable_tqdm=True, remove_unused_columns=False)
    trainer = SFTTrainer(model=peft_model, args=args, processing_class=processor, callbacks=[Progress()],
                         train_dataset=dataset)
    from transformers.trainer_utils import get_last_checkpoint
    last = get_last_checkpoint(str(work / "sft")) if save_steps and (work / "sft").is_dir() else None
    state = json.loads((Path(last) / "trainer_state.json").read_text()) if last else None
    if state and state["global_step"] >= recipe["sft_steps"]:
        # finished before the weights were written: the Trainer would train one step more, so load it
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file
        log(f"stage 2 had finished: its weights from {last}")
        set_peft_model_state_dict(peft_model, load_file(Path(last) / "adapter_model.safetensors"))
        history = state["log_history"]
    else:
        if last:
            log(f"stage 2 resumes from {last}")
        trainer.train(resume_from_checkpoint=last)
        history = trainer.state.log_history
    curve = [{"step": e["step"], "loss": round(e["loss"], 4),
              "token_accuracy": round(e.get("mean_token_accuracy", float("nan")), 4)}
             for e in history if "loss" in e]
    return peft_model, {"curve": curve, "seconds": round(time.time() - start, 1), "steps": recipe["sft_steps"],
                        "resumed": last is not None}


def save_weights(peft_model, out: Path) -> dict[str, str]:
    """Vision tower + projector and the adapter, float16, into ``out``; their SHA-256."""
    import torch
    from safetensors.torch import load_file, save_file

    from medtrust.models.embedded_vlm import vision_state
    out.mkdir(parents=True, exist_ok=True)
    base = peft_model.get_base_model()
    state = {k: v.detach().to(torch.float16).contiguous() if v.is_floating_point() else v.contiguous()
             for k, v in vision_state(base).items()}
    save_file(state, out / "vision_projector.safetensors")
    peft_model.save_pretrained(out / "adapter")
    adapter = out / "adapter" / "adapter_model.safetensors"
    save_file({k: v.to(torch.float16).contiguous() for k, v in load_file(adapter).items()}, adapter)
    files = [out / "vision_projector.safetensors", adapter, out / "adapter" / "adapter_config.json"]
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def train_vlm(out: Path | str, seed: int = 0, quick: bool = False, log: Callable[[str], None] = print) -> Path:
    """Both stages with ``RECIPE`` (``quick``: a few steps, for tests); the weights and recipe.json in ``out``."""
    import tempfile

    import torch

    from medtrust.models.embedded_vlm import build
    from medtrust.train.vlm_data import training_scenes
    from medtrust.train.vlm_vision import pretrain_vision
    recipe = {**RECIPE, **(QUICK if quick else {}), "seed": seed}
    out = Path(out)
    start = time.time()
    torch.manual_seed(seed)
    model, processor = build(seed)
    n1, nv, n2 = recipe["vision_scenes"], recipe["vision_valid_scenes"], recipe["sft_images"]
    scenes = training_scenes(seed, n1 + nv + n2)
    stage1 = pretrain_vision(model, processor.tokenizer, processor.image_processor, scenes[:n1],
                             scenes[n1:n1 + nv], recipe, log)
    with tempfile.TemporaryDirectory() as work:
        dataset = sft_dataset(scenes[n1 + nv:], recipe["seed"], recipe["sft_max_turns"])
        peft_model, stage2 = sft_stage(model, processor, dataset, recipe, Path(work), log)
    hashes = save_weights(peft_model, out)
    meta = {"recipe": recipe, "seconds": round(time.time() - start, 1), "torch_threads": torch.get_num_threads(),
            "vision": stage1, "sft": stage2, "files": hashes,
            "note": "rebuild with `medtrust train vlm --out <folder>`; the same seed gives the same data"}
    (out / "recipe.json").write_text(json.dumps(meta, indent=1) + "\n")
    log(f"embedded-vlm trained in {meta['seconds']:.0f} s into {out}")
    return out
