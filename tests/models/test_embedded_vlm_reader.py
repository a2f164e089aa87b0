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


READ_FLOOR = 0.45


def test_stage1_is_kept_and_reused_only_with_the_same_settings(tmp_path):
    """A rebuild that stopped after stage 1 resumes with its weights; other settings retrain."""
    import torch

    from medtrust.models.embedded_vlm import vision_state
    from medtrust.models.embedded_vlm_reader import build
    from medtrust.train.vlm_reader import RECIPE, cached_stage1
    model, _ = build(0)

    def train():
        with torch.no_grad():
            model.model.vision_tower.embeddings.patch_embeddings.projection.weight.add_(1.0)
        return {"curve": [{"step": 1}], "seconds": 0.0, "steps": 1}
    assert cached_stage1(model, tmp_path, RECIPE, train)["steps"] == 1
    trained = {k: v.clone() for k, v in vision_state(model).items()}
    fresh, _ = build(0)
    assert cached_stage1(fresh, tmp_path, RECIPE, lambda: pytest.fail("stage 1 ran again")) == \
        {"curve": [{"step": 1}], "seconds": 0.0, "steps": 1}
    assert all(torch.equal(trained[k], v) for k, v in vision_state(fresh).items())
    calls = []
    other, _ = build(0)
    cached_stage1(other, tmp_path, {**RECIPE, "vision_lr": 5e-4}, lambda: calls.append(1) or {"steps": 2})
    assert calls == [1]


def test_stage2_folder_keeps_checkpoints_of_the_same_recipe_only(tmp_path):
    from medtrust.train.vlm_reader import RECIPE, stage2_folder
    folder = stage2_folder(tmp_path, RECIPE)
    (folder / "sft" / "checkpoint-40").mkdir(parents=True)
    assert stage2_folder(tmp_path, dict(RECIPE)) == folder and (folder / "sft" / "checkpoint-40").is_dir()
    assert stage2_folder(tmp_path, {**RECIPE, "sft_steps": 80}) == folder and not (folder / "sft").exists()


def test_text_answers_are_kept_and_only_the_new_ones_asked(tmp_path):
    """The embedded model's greedy answers to the figstep_text prompt, written as they come;
    a second call asks only for the instruction it has not seen."""
    import json

    from medtrust.train.vlm_reader import cached_answers
    first = cached_answers(tmp_path, ["Steps to make a cake.", "Steps to bake bread."], 6)
    lines = (tmp_path / "text_answers.jsonl").read_text().splitlines()
    assert [json.loads(x)["instruction"] for x in lines] == ["Steps to make a cake.", "Steps to bake bread."]
    assert all(a.strip() for a in first)
    again = cached_answers(tmp_path, ["Steps to bake bread.", "Steps to plant a tree.", "Steps to make a cake."], 6)
    lines = (tmp_path / "text_answers.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[2])["instruction"] == "Steps to plant a tree."
    assert again[0] == first[1] and again[2] == first[0]


@pytest.fixture(scope="module")
def reader():
    from medtrust.models.open import open_model
    return open_model("embedded-vlm-reader")


def test_shipped_reader_loads_and_is_small(reader):
    from medtrust.models.embedded_vlm import assembled_dir
    from medtrust.models.embedded_vlm_reader import NAME, SHIPPED
    assert reader.info()["backend"] == "hf-vision"
    assert (assembled_dir(SHIPPED, NAME) / "config.json").exists()
    size = sum(p.stat().st_size for p in SHIPPED.rglob("*") if p.is_file())
    assert size <= 10 * 2 ** 20, f"shipped weights are {size / 2 ** 20:.1f} MB"


@pytest.mark.integration
def test_shipped_reader_transcribes_held_out_figstep_images(reader, data_root, tmp_path):
    """The first 12 FigStep-tiny instructions (never drawn in training), drawn by the figstep attack's
    renderer and transcribed greedily: mean word accuracy at least READ_FLOOR. Measured
    (bench/vlm_reader.py, 2026-12-03, the 560-step build): 0.597 on these 12, 0.642 on all 50 (7 of 49
    exact; the build before read 0.158). The floor sits below the measured level so a regression shows
    across machines; it is not the target."""
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
    assert (tmp_path / "w" / "stage2" / "sft" / "checkpoint-2").is_dir() and not recipe["sft"]["resumed"]
    # the same command again resumes stage 2 from its last checkpoint: nothing left to train, same adapter
    adapter = (tmp_path / "w" / "adapter" / "adapter_model.safetensors").read_bytes()
    code, out, err = cli("train", "vlm-reader", "--data-dir", str(data_root / "figstep"), "--out",
                         str(tmp_path / "w"), "--quick", "--quiet")
    assert code == 0, err
    assert json.loads((tmp_path / "w" / "recipe.json").read_text())["sft"]["resumed"]
    assert (tmp_path / "w" / "adapter" / "adapter_model.safetensors").read_bytes() == adapter


def test_train_vlm_reader_without_figstep_files_says_where(cli, tmp_path):
    code, out, err = cli("train", "vlm-reader", "--data-dir", str(tmp_path), "--out", str(tmp_path / "w"))
    assert code != 0 and "safebench.csv" in err and "--data-dir" in err and not (tmp_path / "w").exists()
