"""Why embedded-vlm-reader's tower is a Swin: stage 1 of ``train vlm-reader`` (image tokens -> the
characters' embeddings) with the shipped Swin and with the first design, a 3-layer ViT on 24-px
patches, the same data, steps and optimiser; prints the validation curve of each.

    nice -n 19 .venv/bin/python bench/reader_towers.py --random 3000 --epochs 5 --lr 1e-3 --batch 32
"""

from __future__ import annotations

import argparse

DATA = "../shared/data"
#: the first design (replaced): ViT, hidden 192, 3 layers, 3 heads, 24-px patches, class token dropped
VIT = {"patch_size": 24, "num_channels": 3, "hidden_size": 192, "num_hidden_layers": 3, "num_attention_heads": 3,
       "intermediate_size": 384, "hidden_act": "gelu", "hidden_dropout_prob": 0.0,
       "attention_probs_dropout_prob": 0.0, "qkv_bias": True}


def build_vit(seed: int = 0):
    """The first reader: the same LLaVA with the ViT tower."""
    from transformers import CLIPImageProcessor, ViTConfig

    from medtrust.models.embedded_vlm import build_llava
    from medtrust.train.reader_data import HEIGHT, PATCH, WIDTH
    processor = CLIPImageProcessor(size={"height": HEIGHT, "width": WIDTH}, do_center_crop=False,
                                   crop_size={"height": HEIGHT, "width": WIDTH})
    return build_llava(ViTConfig(image_size=[HEIGHT, WIDTH], **VIT), processor, feature_layer=-1,
                       strategy="default", token_patch=PATCH, extra_tokens=1, seed=seed)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--random", type=int, default=3000, help="random instructions besides SafeBench and benign")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--towers", default="vit,swin")
    p.add_argument("--figstep", default=f"{DATA}/figstep")
    a = p.parse_args(argv)
    from medtrust.models.embedded_vlm_reader import build as build_swin
    from medtrust.train.reader_data import training_texts
    from medtrust.train.vlm_reader import RECIPE, pretrain_reader
    texts = training_texts(a.figstep, 0, a.random + 200)
    valid, extra = texts["random"][:200], texts["random"][200:]
    recipe = {**RECIPE, "vision_epochs": a.epochs, "vision_lr": a.lr, "vision_batch": a.batch,
              "vision_eval_every": 25}
    rows = []
    for name in a.towers.split(","):
        model, processor = {"vit": build_vit, "swin": build_swin}[name](0)
        out = pretrain_reader(model, processor.tokenizer, processor.image_processor,
                              texts["harmful"] + texts["benign"] + extra, valid, recipe)
        rows.append((name, out["curve"]))
    print(f"\nstage 1, {len(texts['harmful']) + len(texts['benign']) + len(extra)} training images, 200 validation "
          f"images, batch {a.batch}, lr {a.lr}, {a.epochs} epochs\n")
    print("| tower | step | letters right (nearest embedding) | letters right (top class) | blanks right | s |")
    print("|---|---|---|---|---|---|")
    for name, curve in rows:
        for point in curve[len(curve) // 4 - 1::len(curve) // 4]:
            print(f"| {name} | {point['step']} | {point['valid_chars']:.3f} | {point['valid_chars_top']:.3f} | "
                  f"{point['valid_blank']:.3f} | {point['seconds']:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
