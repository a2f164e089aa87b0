"""embedded-vlm-reader: its model string, 198 image tokens on the 9 x 22 reading grid, the shipped
weights reading held-out FigStep-tiny images, and `medtrust train vlm-reader --quick` end to end."""

from __future__ import annotations

import pytest

from medtrust.train.reader_data import COLS, ROWS


def test_model_string_and_backend_kind():
    from medtrust.models.registry import backend_kind, split_model_string
    assert split_model_string("embedded-vlm-reader") == ("embedded-vlm-reader", "embedded-vlm-reader")
    assert backend_kind("embedded-vlm-reader").cls == "medtrust.models.hf_vision:HFVisionBackend"


def test_one_image_token_per_grid_cell():
    """The processor's <image> placeholders, the tower's tokens and the reading grid agree: 9 x 22."""
    import torch

    from medtrust.models.embedded_vlm_reader import build
    from medtrust.train.reader_data import draw_reader_image
    model, processor = build(0)
    chat = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Read it."}]}]
    enc = processor(text=processor.apply_chat_template(chat, add_generation_prompt=True),
                    images=[draw_reader_image("Steps to make a cake.")], return_tensors="pt")
    assert int((enc["input_ids"] == model.config.image_token_id).sum()) == ROWS * COLS == 198
    assert tuple(enc["pixel_values"].shape[-2:]) == (216, 528)
    with torch.no_grad():
        features = model.model.get_image_features(pixel_values=enc["pixel_values"], vision_feature_layer=-1,
                                                  vision_feature_select_strategy="full").pooler_output
    assert features[0].shape == (198, model.config.text_config.hidden_size)


@pytest.fixture(scope="module")
def reader():
    from medtrust.models.open import open_model
    return open_model("embedded-vlm-reader")


def test_shipped_reader_loads_and_is_small(reader):
    from medtrust.models.embedded_vlm_reader import SHIPPED
    assert reader.info()["backend"] == "hf-vision"
    size = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file())
    assert size <= 10 * 2 ** 20, f"shipped weights are {size / 2 ** 20:.1f} MB"


@pytest.mark.integration
def test_shipped_reader_transcribes_held_out_figstep_images(reader, data_root, tmp_path):
    """The first 12 FigStep-tiny instructions (never drawn in training), drawn by the figstep attack's
    renderer and transcribed greedily: mean word accuracy at least READ_FLOOR. Measured on all 50
    (bench/vlm_reader.py, 2026-12-03): 0.158: the image tokens are the right letters (0.959) but the
    language model reads only the opening ("Steps to ...") and makes up the rest; this floor records
    that level so a regression shows, it is not the target."""
    from medtrust.models.base import GenerationRequest
    from medtrust.prompts import user_message
    from medtrust.train.reader_data import TRANSCRIBE_PROMPT, draw_reader_image, safebench_instructions, word_accuracy
    _, tiny = safebench_instructions(data_root / "figstep")
    paths = []
    for k, text in enumerate(tiny[:12]):
        paths.append(tmp_path / f"{k}.png")
        draw_reader_image(text).save(paths[-1])
    out = reader.generate([GenerationRequest(messages=[user_message(TRANSCRIBE_PROMPT, [str(p)])], n=1,
                                             temperature=0.0, max_tokens=48) for p in paths])
    scores = [word_accuracy(t, o[0].text) for t, o in zip(tiny, out)]
    assert sum(scores) / len(scores) >= READ_FLOOR, [(t, o[0].text) for t, o in zip(tiny, out)]


READ_FLOOR = 0.08


@pytest.mark.integration
def test_train_vlm_reader_quick_end_to_end(cli, data_root, tmp_path):
    import json
    code, out, err = cli("train", "vlm-reader", "--data-dir", str(data_root / "figstep"), "--out",
                         str(tmp_path / "w"), "--quick", "--quiet")
    assert code == 0, err
    recipe = json.loads((tmp_path / "w" / "recipe.json").read_text())
    assert recipe["recipe"]["sft_steps"] == 2 and recipe["vision"]["curve"] and set(recipe["files"]) == {
        "vision_projector.safetensors", "adapter/adapter_model.safetensors", "adapter/adapter_config.json"}
    assert "use it with --model hf/" in out
    # what a stopped rebuild resumes from: stage 1 and the 8 text answers (4 harmful, 4 benign)
    assert (tmp_path / "w" / "stage1" / "weights.safetensors").exists()
    answers = (tmp_path / "w" / "text_answers.jsonl").read_text().splitlines()
    assert len(answers) == 8 and all(json.loads(a)["max_new_tokens"] == 8 for a in answers)


def test_train_vlm_reader_without_figstep_files_says_where(cli, tmp_path):
    code, out, err = cli("train", "vlm-reader", "--data-dir", str(tmp_path), "--out", str(tmp_path / "w"))
    assert code != 0 and "safebench.csv" in err and "--data-dir" in err and not (tmp_path / "w").exists()
