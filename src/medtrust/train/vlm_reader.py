"""`medtrust train vlm-reader`: rebuild ``embedded-vlm-reader`` (``models/embedded_vlm_reader.py``)
offline and reproducibly, by the two stages of ``train vlm`` on FigStep typographic images
(``train/reader_data.py``):

1. the Swin tower from scratch and the projector, aligned so that every image token is the language
   model's embedding of the character drawn in its patch (a space, or the zero vector inside a
   word), with the projector's second layer fixed to those embeddings (``vlm_vision.align_tokens``);
2. TRL's ``SFTTrainer`` with the processor, LoRA on the language model's attention and MLPs (joining
   one-letter tokens into words is new to it; the earlier recipe, 160 steps with LoRA on attention
   only, read 0.080 of the validation words, this one 0.378; which change mattered was not
   separated), tower and projector frozen, a checkpoint every 40 steps, on two kinds of chat about
   each training image: ``TRANSCRIBE_PROMPT`` -> the instruction drawn, and FigStep's own prompt ->
   the embedded language model's answer to the same instruction written as text (FigStep's text
   prompt). So the reader does with the image what the language model does with the text: the
   figstep attack becomes a real attack, and whatever the text model refuses or complies with
   carries over.

No FigStep-tiny instruction (the held-out test of the figstep attack) and no held-out benign fill
is ever drawn for training.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any, Callable

from medtrust.train.reader_data import CHARS, TRANSCRIBE_PROMPT
from medtrust.train.vlm import RECIPE as VLM_RECIPE

RECIPE: dict[str, Any] = {
    "seed": 0,
    "texts": "medtrust.train.reader_data.training_texts: SafeBench without FigStep-tiny, FigStep benign "
             "sentences with the training fills, random instructions from their words "
             "(random.Random('embedded-vlm-reader/<seed>'))",
    "random_instructions": 4000, "vision_valid": 200, "vision_epochs": 8, "vision_batch": 32,
    "vision_lr": 1e-3, "vision_eval_every": 50,
    "answer_max_new_tokens": 48, "sft_images": 1400, "sft_batch": 4, "sft_steps": 560, "sft_lr": 1e-3,
    "sft_save_steps": 40,
    **{k: VLM_RECIPE[k] for k in ("sft_warmup_steps", "lora_r", "lora_alpha")},
    # the MLPs too: joining one-letter tokens into words is new to the language model
    "lora_targets": r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)",
}
QUICK = {"random_instructions": 60, "vision_valid": 8, "vision_epochs": 1, "vision_batch": 16, "vision_eval_every": 2,
         "answer_max_new_tokens": 8, "sft_images": 8, "sft_steps": 2, "sft_batch": 4, "sft_save_steps": 1}


def char_embeddings(model, tokenizer):
    """The language model's embeddings of ``CHARS`` (each one token), the zero vector for ``GAP``."""
    import torch

    from medtrust.train.vlm_vision import word_embeddings
    drawn = word_embeddings(model, tokenizer, CHARS[1:]).float()
    return torch.cat([torch.zeros(1, drawn.shape[1]), drawn])


def pixels_and_targets(instructions: list[str], image_processor):
    """The processor's pixel values (float16) of every instruction's FigStep image and the index in
    ``CHARS`` of every image token's character (N x 198)."""
    import torch

    from medtrust.train.reader_data import draw_reader_image, figstep_image_text, reading_grid
    from medtrust.train.vlm_vision import pixel_batches
    targets = torch.tensor([[CHARS.index(c) for c in reading_grid(figstep_image_text(t))] for t in instructions])
    return pixel_batches(instructions, image_processor, chunk=128, painter=draw_reader_image), targets


def char_accuracy(tokens, logits, targets, prototypes) -> dict[str, float]:
    """Accuracy of the image tokens read as their nearest prototype (what the language model
    gets): on drawn characters, on spaces and gaps, whole images right; and of the classifier's
    top character on drawn characters."""
    import torch
    nearest = torch.cdist(tokens.reshape(-1, tokens.shape[-1]), prototypes).argmin(-1).view(targets.shape)
    right = nearest == targets
    drawn = targets > CHARS.index(" ")
    return {"chars": round(right[drawn].float().mean().item(), 4),
            "blank": round(right[~drawn].float().mean().item(), 4),
            "images_exact": round(right.all(-1).float().mean().item(), 4),
            "chars_top": round((logits.argmax(-1) == targets)[drawn].float().mean().item(), 4)}


def pretrain_reader(model, tokenizer, image_processor, train: list[str], valid: list[str], recipe: dict,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Stage 1 (module docstring); returns the curve."""
    from medtrust.train.vlm_vision import align_tokens, image_tokens
    start = time.time()
    pixels, targets = pixels_and_targets(train, image_processor)
    v_pixels, v_targets = pixels_and_targets(valid, image_processor)
    prototypes = char_embeddings(model, tokenizer)
    log(f"stage 1: {len(train)} images drawn in {time.time() - start:.0f} s")
    return align_tokens(model, pixels, targets, prototypes, recipe, start, log,
                        validate=lambda: char_accuracy(*image_tokens(model, v_pixels.float(), True, len(prototypes)),
                                                       v_targets, prototypes))


def text_answers(backend, instructions: list[str], max_new_tokens: int) -> list[str]:
    """``backend``'s greedy answers to each instruction as the figstep_text attack writes it (the
    list in text, FigStep's text prompt): the targets of the image chats."""
    from medtrust.models.base import GenerationRequest
    from medtrust.prompts import user_message
    from medtrust.safety.attacks import ATTACKS, AttackInput
    attack = ATTACKS["figstep_text"]
    out = backend.generate([GenerationRequest(
        messages=[user_message(attack.apply(AttackInput(request=t, instruction=t)).text)], n=1, temperature=0.0,
        max_tokens=max_new_tokens) for t in instructions])
    return [o[0].text.strip() for o in out]


def sft_dataset(transcribe: list[str], follow: list[str], answers: list[str]):
    """Stage 2's chats, one turn each, as a ``datasets.Dataset`` of ``messages`` and ``images``:
    ``TRANSCRIBE_PROMPT`` -> the instruction for ``transcribe``, FigStep's prompt -> the text
    answer for ``follow``."""
    from datasets import Dataset

    from medtrust.safety.attacks import FIGSTEP_PROMPT
    from medtrust.train.reader_data import draw_reader_image

    def chat(question: str, answer: str) -> list[dict]:
        return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]},
                {"role": "assistant", "content": [{"type": "text", "text": answer}]}]
    messages = [chat(TRANSCRIBE_PROMPT, t) for t in transcribe] + \
        [chat(FIGSTEP_PROMPT["en"], a) for a in answers]
    images = [[draw_reader_image(t)] for t in transcribe + follow]
    return Dataset.from_dict({"messages": messages, "images": images})


def _stage_key(recipe: dict, keys: tuple[str, ...]) -> str:
    return json.dumps({k: recipe[k] for k in keys}, sort_keys=True)


def _holds(marker: Path, key: str) -> bool | None:
    """Whether the stage folder's ``marker`` file names this ``key`` (None: no marker yet)."""
    return json.loads(marker.read_text())["key"] == key if marker.exists() else None


STAGE1_KEYS = ("seed", "random_instructions", "vision_valid", "vision_epochs", "vision_batch", "vision_lr")
STAGE2_KEYS = (*STAGE1_KEYS, "answer_max_new_tokens", "sft_images", "sft_batch", "sft_steps", "sft_lr",
               "sft_save_steps", "sft_warmup_steps", "lora_r", "lora_alpha", "lora_targets")


def stage2_folder(out: Path, recipe: dict) -> Path:
    """``out/stage2``, where stage 2 keeps its checkpoints; emptied when it holds another recipe's."""
    import shutil
    folder, key = out / "stage2", _stage_key(recipe, STAGE2_KEYS)
    if _holds(folder / "stage2.json", key) is False:
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stage2.json").write_text(json.dumps({"key": key}) + "\n")
    return folder


def cached_stage1(model, out: Path, recipe: dict, run: Callable[[], dict]) -> dict:
    """Stage 1's weights and curve from ``out/stage1/`` when an earlier build with the same
    settings wrote them (a stopped rebuild resumes there), else ``run()`` and write them."""
    from safetensors.torch import load_file, save_file

    from medtrust.models.embedded_vlm import vision_state
    folder, key = out / "stage1", _stage_key(recipe, STAGE1_KEYS)
    if _holds(folder / "stage1.json", key):
        model.load_state_dict(load_file(folder / "weights.safetensors"), strict=False)  # float32, as trained
        model.model.vision_tower.eval()
        return json.loads((folder / "stage1.json").read_text())["stage1"]
    result = run()
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in vision_state(model).items()}, folder / "weights.safetensors")
    (folder / "stage1.json").write_text(json.dumps({"key": key, "stage1": result}) + "\n")
    return result


def cached_answers(out: Path, follow: list[str], max_new_tokens: int) -> list[str]:
    """The embedded language model's ``text_answers``, kept in ``out/text_answers.jsonl`` as each
    batch of 64 ends (greedy, so a resumed build reuses them and asks only for the rest)."""
    path = out / "text_answers.jsonl"
    known = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["max_new_tokens"] == max_new_tokens:
                known[row["instruction"]] = row["answer"]
    todo = [t for t in dict.fromkeys(follow) if t not in known]
    if not todo:
        return [known[t] for t in follow]
    from medtrust.models.open import open_model
    backend = open_model("embedded")
    out.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        for start in range(0, len(todo), 64):
            chunk = todo[start:start + 64]
            for t, a in zip(chunk, text_answers(backend, chunk, max_new_tokens)):
                known[t] = a
                f.write(json.dumps({"instruction": t, "max_new_tokens": max_new_tokens, "answer": a}) + "\n")
            f.flush()
    return [known[t] for t in follow]


def train_vlm_reader(out: Path | str, data_dir: Path | str, seed: int = 0, quick: bool = False,
                     log: Callable[[str], None] = print) -> Path:
    """Both stages with ``RECIPE`` (``quick``: a few steps, for tests) on the FigStep files in
    ``data_dir``; the weights and recipe.json in ``out``. Stage 1 and the text answers are kept
    in ``out`` as they finish, and stage 2's checkpoints in ``out/stage2``: the same command on the
    same ``out`` resumes where it stopped."""
    import torch

    from medtrust.models.embedded_vlm_reader import build
    from medtrust.train.reader_data import training_texts
    from medtrust.train.vlm import save_weights, sft_stage
    recipe = {**RECIPE, **(QUICK if quick else {}), "seed": seed}
    out, start = Path(out), time.time()
    torch.manual_seed(seed)
    texts = training_texts(data_dir, seed, recipe["random_instructions"] + recipe["vision_valid"])
    valid, extra = texts["random"][:recipe["vision_valid"]], texts["random"][recipe["vision_valid"]:]
    harmful, benign = texts["harmful"], texts["benign"]
    if quick:
        harmful, benign = harmful[:4], benign[:4]
    model, processor = build(seed)
    stage1 = cached_stage1(model, out, recipe, lambda: pretrain_reader(
        model, processor.tokenizer, processor.image_processor, harmful + benign + extra, valid, recipe, log))
    follow = harmful + benign
    answers = cached_answers(out, follow, recipe["answer_max_new_tokens"])
    log(f"stage 2: {len(answers)} text answers of the language model in {time.time() - start:.0f} s")
    rng = random.Random(f"embedded-vlm-reader/{seed}/sft")
    transcribe = follow + rng.sample(extra, min(len(extra), max(0, recipe["sft_images"] - len(follow))))
    peft_model, stage2 = sft_stage(model, processor, sft_dataset(transcribe, follow, answers), recipe,
                                   stage2_folder(out, recipe), log)
    hashes = save_weights(peft_model, out)
    meta = {"recipe": recipe, "seconds": round(time.time() - start, 1), "torch_threads": torch.get_num_threads(),
            "data": {k: len(v) for k, v in texts.items()}, "vision": stage1, "sft": stage2, "files": hashes,
            "note": "rebuild with `medtrust train vlm-reader --out <folder>`; the same seed gives the same data"}
    (out / "recipe.json").write_text(json.dumps(meta, indent=1) + "\n")
    log(f"embedded-vlm-reader trained in {meta['seconds']:.0f} s into {out}")
    return out
