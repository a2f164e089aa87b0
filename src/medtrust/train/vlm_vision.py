"""Stage 1 of ``medtrust train vlm``: the CLIP vision tower trained from scratch on drawn scenes,
with small heads that read what the language model will later be asked about (presence of each
shape and the arrow, colours, boxes, the labels A-C, the arrow's target, the count, and which
shape sits under each patch). The heads are thrown away; the tower's last hidden states are what
LLaVA's projector sees (``vision_feature_layer=-1``, patch tokens only)."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from medtrust.train.vlm_data import draw, scene_targets

N_SHAPES, N_COLOURS = 5, 5


def pixel_batches(scenes: Sequence[dict], image_processor, chunk: int = 256):
    """The processor's pixel values of every scene (float16 tensor, N x 3 x H x W)."""
    import numpy as np
    import torch
    out = []
    for start in range(0, len(scenes), chunk):
        images = [draw(s) for s in scenes[start:start + chunk]]
        values = image_processor(images=images, return_tensors="np")["pixel_values"]
        out.append(torch.from_numpy(np.asarray(values)).to(torch.float16))
    return torch.cat(out)


def patch_targets(spec: dict, grid: int) -> list[int]:
    """Per patch (row-major): 1 + the index of the shape whose centre lies in it, else 0."""
    from medtrust.data.demo_images import SHAPES, SIZE
    cells = [0] * (grid * grid)
    for s in spec["shapes"]:
        row, col = min(grid - 1, int(s["y"] * grid / SIZE)), min(grid - 1, int(s["x"] * grid / SIZE))
        cells[row * grid + col] = 1 + SHAPES.index(s["shape"])
    return cells


def target_tensors(scenes: Sequence[dict], grid: int) -> dict[str, Any]:
    """``scene_targets`` of every scene stacked into tensors (plus the patch targets)."""
    import torch
    rows = [scene_targets(s) for s in scenes]
    out = {k: torch.tensor([r[k] for r in rows]) for k in rows[0]}
    out["patch"] = torch.tensor([patch_targets(s, grid) for s in scenes])
    return out


class SceneHeads:
    """Linear/MLP heads on the tower's patch tokens (built lazily: torch is imported inside)."""

    def __new__(cls, hidden: int):
        import torch.nn as nn

        class _Heads(nn.Module):
            def __init__(self):
                super().__init__()
                self.pool = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, 384), nn.GELU())
                sizes = {"present": N_SHAPES + 1, "colour": N_SHAPES * N_COLOURS, "box": N_SHAPES * 4,
                         "label_colour": 3 * N_COLOURS, "label_shape": 3 * N_SHAPES, "arrow_colour": N_COLOURS,
                         "arrow_shape": N_SHAPES, "count": 3}
                self.heads = nn.ModuleDict({k: nn.Linear(384, n) for k, n in sizes.items()})
                self.patch = nn.Linear(hidden, N_SHAPES + 1)

            def forward(self, tokens):
                pooled = self.pool(tokens.mean(dim=1))
                return {**{k: h(pooled) for k, h in self.heads.items()}, "patch": self.patch(tokens)}

        return _Heads()


def features(tower, pixels):
    """What LLaVA's projector reads: the tower's hidden state ``FEATURE_LAYER`` (strategy ``full``)."""
    from medtrust.models.embedded_vlm import FEATURE_LAYER
    return tower(pixel_values=pixels, output_hidden_states=True).hidden_states[FEATURE_LAYER]


def scene_loss(out: dict, t: dict) -> tuple[Any, dict[str, float]]:
    """The summed loss of every head (masked where a target is absent) and per-head accuracies."""
    import torch
    import torch.nn.functional as F
    b = t["present"].shape[0]
    losses = {"present": F.binary_cross_entropy_with_logits(out["present"], t["present"].float())}
    accs = {"present": ((out["present"] > 0) == (t["present"] > 0.5)).float().mean().item()}
    groups = {"colour": (N_SHAPES, N_COLOURS), "label_colour": (3, N_COLOURS), "label_shape": (3, N_SHAPES)}
    for key, (k, n) in groups.items():
        logits, target = out[key].view(b * k, n), t[key].view(b * k)
        losses[key] = F.cross_entropy(logits, target, ignore_index=-1)
        keep = target >= 0
        accs[key] = (logits.argmax(-1)[keep] == target[keep]).float().mean().item()
    for key in ("arrow_colour", "arrow_shape", "count"):
        target = t[key]
        keep = target >= 0
        losses[key] = F.cross_entropy(out[key][keep], target[keep]) if keep.any() else out[key].sum() * 0
        accs[key] = (out[key].argmax(-1)[keep] == target[keep]).float().mean().item() if keep.any() else 1.0
    mask = (t["present"][:, :N_SHAPES] > 0.5).unsqueeze(-1)
    box_err = (torch.sigmoid(out["box"].view(b, N_SHAPES, 4)) - t["box"].float()).abs() * mask
    losses["box"] = box_err.sum() / mask.sum().clamp(min=1) / 4 * 10
    accs["box_l1"] = (box_err.sum() / mask.sum().clamp(min=1) / 4).item()
    patch = out["patch"].reshape(-1, N_SHAPES + 1)
    losses["patch"] = F.cross_entropy(patch, t["patch"].reshape(-1))
    return sum(losses.values()), accs


def pretrain_vision(tower, image_processor, scenes: Sequence[dict], valid: Sequence[dict], recipe: dict,
                    log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train ``tower`` (a CLIPVisionModel-like module) with the scene heads; returns the curves."""
    import torch
    torch.manual_seed(recipe["seed"])
    start = time.time()
    grid = recipe["patch_grid"]
    pixels, targets = pixel_batches(scenes, image_processor), target_tensors(scenes, grid)
    v_pixels, v_targets = pixel_batches(valid, image_processor), target_tensors(valid, grid)
    log(f"stage 1: {len(scenes)} scenes drawn in {time.time() - start:.0f} s")
    heads = SceneHeads(tower.config.hidden_size)
    params = [*tower.parameters(), *heads.parameters()]
    bs, epochs = recipe["vision_batch"], recipe["vision_epochs"]
    steps = epochs * (len(scenes) // bs)
    opt = torch.optim.AdamW(params, lr=recipe["vision_lr"], weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe["vision_lr"], total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(recipe["seed"])
    curve, step = [], 0
    tower.train()
    for _ in range(epochs):
        order = torch.randperm(len(scenes), generator=gen)
        for k in range(len(scenes) // bs):
            idx = order[k * bs:(k + 1) * bs]
            tokens = features(tower, pixels[idx].float())
            loss, _ = scene_loss(heads(tokens), {key: v[idx] for key, v in targets.items()})
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % recipe["vision_eval_every"] == 0 or step == steps:
                point = {"step": step, "loss": round(loss.item(), 4), **_validate(tower, heads, v_pixels, v_targets)}
                curve.append(point)
                log(f"stage 1 step {step}/{steps} " + " ".join(f"{k} {v}" for k, v in point.items() if k != "step"))
    tower.eval()
    return {"curve": curve, "seconds": round(time.time() - start, 1), "steps": steps}


def _validate(tower, heads, pixels, targets) -> dict[str, float]:
    import torch
    with torch.no_grad():
        tokens = features(tower, pixels.float())
        loss, accs = scene_loss(heads(tokens), targets)
    return {"valid_loss": round(loss.item(), 4), **{f"valid_{k}": round(v, 4) for k, v in accs.items()}}
