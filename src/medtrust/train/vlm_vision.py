"""Stage 1 of ``medtrust train vlm``: the LeViT vision tower (from scratch) and LLaVA's projector,
trained together without the language model so that the 16 image tokens become the language
model's own input embeddings of a 16-word scene description (``vlm_data.scene_words``: each
shape's colour, name and centre digits in reading order, then the arrow and its target).

The projector's second layer is fixed to the (frozen) embeddings of the words of
``vlm_data.WORDS`` (its first ``len(WORDS)`` inputs; the others are zero), so an image token is
``gelu(h) @ E``: a mixture of word embeddings at the embeddings' own scale. The loss is a
classifier over ``h`` (cross-entropy) plus the squared gap between ``gelu(h)`` and the one-hot
target, so a trained token *is* its word's embedding and the language model reads the image as
words it already knows. Only a language model fine-tune (stage 2) then has to learn to answer.
(The first recipe, a prototype classifier on free tokens, ended nearest the right words but at
norm ~17 against ~2.4: the language model could not read them; bench/RESULTS.md, embedded-vlm.)
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from medtrust.train.vlm_data import WORDS, draw, scene_words


def pixel_batches(scenes: Sequence, image_processor, chunk: int = 256, painter: Callable = draw):
    """The processor's pixel values of every scene as ``painter`` draws it (float16 tensor, N x 3 x H x W)."""
    import numpy as np
    import torch
    out = []
    for start in range(0, len(scenes), chunk):
        images = [painter(s) for s in scenes[start:start + chunk]]
        values = image_processor(images=images, return_tensors="np")["pixel_values"]
        out.append(torch.from_numpy(np.asarray(values)).to(torch.float16))
    return torch.cat(out)


def word_targets(scenes: Sequence[dict]):
    """The index in ``WORDS`` of every description word of every scene (N x 16)."""
    import torch
    return torch.tensor([[WORDS.index(w) for w in scene_words(s)] for s in scenes])


def word_embeddings(model, tokenizer, words: Sequence[str] = WORDS):
    """The language model's input embeddings of ``words`` (each one token), frozen."""
    ids = []
    for w in words:
        tokens = tokenizer.encode(w, add_special_tokens=False)
        if len(tokens) != 1:
            raise ValueError(f"'{w}' is {len(tokens)} tokens for this tokenizer; the taught words must be one")
        ids.append(tokens[0])
    return model.get_input_embeddings().weight[ids].detach().clone()


def image_tokens(model, pixels, with_logits: bool = False, vocabulary: int = len(WORDS)):
    """What the language model receives for the images: LLaVA's own image features (N x tokens x d);
    with ``with_logits`` also the projector's word logits (its first layer's first ``vocabulary``
    outputs, N x tokens x vocabulary)."""
    import torch
    config = model.config
    captured = []
    hook = model.model.multi_modal_projector.linear_1.register_forward_hook(
        lambda module, args, output: captured.append(output[..., :vocabulary]))
    try:
        tokens = torch.stack(model.model.get_image_features(
            pixel_values=pixels, vision_feature_layer=config.vision_feature_layer,
            vision_feature_select_strategy=config.vision_feature_select_strategy).pooler_output)
    finally:
        hook.remove()
    return (tokens, captured[0].reshape(*tokens.shape[:-1], vocabulary)) if with_logits else tokens


def fix_word_layer(model, prototypes) -> None:
    """Set the projector's second layer to the word embeddings (module docstring) and freeze it."""
    import torch
    layer = model.model.multi_modal_projector.linear_2
    with torch.no_grad():
        layer.weight.zero_()
        layer.weight[:, :len(prototypes)] = prototypes.T.to(layer.weight.dtype)
        layer.bias.zero_()
    for p in layer.parameters():
        p.requires_grad = False


def word_loss(logits, targets) -> tuple[Any, float]:
    """Cross-entropy of the word classifier plus the squared gap of ``gelu(logits)`` to the
    one-hot target (summed over words), and the share of tokens whose top word is right."""
    import torch.nn.functional as F
    flat = logits.reshape(-1, logits.shape[-1])
    target = targets.reshape(-1)
    onehot = F.one_hot(target, flat.shape[-1]).to(flat.dtype)
    loss = F.cross_entropy(flat, target) + (F.gelu(flat) - onehot).pow(2).sum(-1).mean()
    return loss, (flat.argmax(-1) == target).float().mean().item()


def slot_accuracy(tokens, targets, prototypes) -> dict[str, float]:
    """Nearest-word accuracy per kind of slot (colour, shape, digits, arrow target) where a shape is."""
    import torch
    nearest = torch.cdist(tokens.reshape(-1, tokens.shape[-1]), prototypes).argmin(-1).view(targets.shape)
    right = nearest == targets
    none = WORDS.index(" none")
    out = {}
    for name, cols in {"colour": [0, 4, 8], "shape": [1, 5, 9], "digits": [2, 3, 6, 7, 10, 11],
                       "arrow_target": [13, 14]}.items():
        keep = targets[:, cols] != none
        out[name] = round(right[:, cols][keep].float().mean().item(), 4) if keep.any() else 1.0
    out["all"] = round(right.float().mean().item(), 4)
    wanted = prototypes[targets.reshape(-1)]
    out["distance"] = round((tokens.reshape(-1, tokens.shape[-1]) - wanted).norm(dim=-1).mean().item(), 4)
    out["word_norm"] = round(wanted.norm(dim=-1).mean().item(), 4)
    return out


def pretrain_vision(model, tokenizer, image_processor, scenes: Sequence[dict], valid: Sequence[dict],
                    recipe: dict, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train ``model``'s vision tower and projector on the word alignment; returns the curves."""
    start = time.time()
    pixels, targets = pixel_batches(scenes, image_processor), word_targets(scenes)
    v_pixels, v_targets = pixel_batches(valid, image_processor), word_targets(valid)
    prototypes = word_embeddings(model, tokenizer)
    log(f"stage 1: {len(scenes)} scenes drawn in {time.time() - start:.0f} s")
    return align_tokens(model, pixels, targets, prototypes, recipe, start, log,
                        validate=lambda: slot_accuracy(image_tokens(model, v_pixels.float()), v_targets, prototypes))


def align_tokens(model, pixels, targets, prototypes, recipe: dict, start: float, log: Callable[[str], None],
                 validate: Callable[[], dict[str, float]]) -> dict[str, Any]:
    """Stage 1's loop: the projector's second layer fixed to ``prototypes`` (``fix_word_layer``),
    tower and first layer trained with ``word_loss`` to ``targets`` (N x tokens, indices into
    ``prototypes``), AdamW + one-cycle; ``validate`` (no grad, tower in eval mode) every
    ``vision_eval_every`` steps. Returns the curve."""
    import torch
    torch.manual_seed(recipe["seed"])
    fix_word_layer(model, prototypes)
    params = [*model.model.vision_tower.parameters(), *model.model.multi_modal_projector.linear_1.parameters()]
    bs, epochs = recipe["vision_batch"], recipe["vision_epochs"]
    steps = epochs * (len(pixels) // bs)
    opt = torch.optim.AdamW(params, lr=recipe["vision_lr"], weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe["vision_lr"], total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(recipe["seed"])
    curve, step = [], 0
    model.model.vision_tower.train()
    for _ in range(epochs):
        order = torch.randperm(len(pixels), generator=gen)
        for k in range(len(pixels) // bs):
            idx = order[k * bs:(k + 1) * bs]
            logits = image_tokens(model, pixels[idx].float(), with_logits=True, vocabulary=len(prototypes))[1]
            loss, acc = word_loss(logits, targets[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % recipe["vision_eval_every"] == 0 or step == steps:
                model.model.vision_tower.eval()
                with torch.no_grad():
                    valid_acc = validate()
                model.model.vision_tower.train()
                point = {"step": step, "loss": round(loss.item(), 4), "accuracy": round(acc, 4),
                         **{f"valid_{k}": v for k, v in valid_acc.items()}, "seconds": round(time.time() - start, 1)}
                curve.append(point)
                log(f"stage 1 step {step}/{steps} " + " ".join(f"{k} {v}" for k, v in point.items() if k != "step"))
    model.model.vision_tower.eval()
    return {"curve": curve, "seconds": round(time.time() - start, 1), "steps": steps}
