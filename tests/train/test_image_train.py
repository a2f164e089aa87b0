"""Image safety SFT and DPO (VLGuard's recipe) on a tiny random LLaVA built in the test: TRL's
batches hold the image tokens and pixel values and leave the prompt (image tokens included) out of
the loss; a step gives a finite loss; the --mix with image rows gives the hand-computed counts;
image rows with a text-only model are one clear error."""

from __future__ import annotations

import doctest
import json
import math

import pytest

from medtrust.errors import DataError, MedtrustError
from medtrust.train import image_rows
from medtrust.train.image_rows import DEFAULT_IMAGE_MIX, draw, figstep_prompt, harmful_image_rows
from medtrust.train.sft import DEFAULT_MIX, SFTOptions, effective_mix, load_harmful, parse_mix, sft_rows, train_sft

REFUSE = "I'm sorry, but I cannot help with that."
COMPLY = "Sure. Step 1: buy the drugs."


def test_doctests():
    assert doctest.testmod(image_rows).failed == 0


@pytest.fixture
def vlm(tiny_vlm_path):
    from medtrust.train.common import load_for_training
    return load_for_training(f"hf/{tiny_vlm_path}")


def trl_args(kind, tmp_path):
    from trl import DPOConfig, SFTConfig
    common = dict(output_dir=str(tmp_path / "out"), per_device_train_batch_size=2, max_steps=1, report_to="none",
                  use_cpu=True, max_length=256, bf16=False, dataloader_num_workers=0, disable_tqdm=True,
                  save_strategy="no", logging_steps=1, learning_rate=1e-3)
    return SFTConfig(**common, completion_only_loss=True) if kind == "sft" else DPOConfig(**common)


def figstep_rows(data_root, root, n=2):
    return harmful_image_rows(load_harmful("figstep", str(data_root / "figstep"), "tiny", n, 0, False), root)


def test_image_sft_batch_holds_image_tokens_and_masks_the_prompt(vlm, data_root, tmp_path):
    from medtrust.train.sft import sft_trainer
    rows = figstep_rows(data_root, tmp_path)
    assert all(r["target"] == "refusal" and r["completion"][0]["content"].startswith("I'm sorry") for r in rows)
    trainer = sft_trainer(vlm, rows, trl_args("sft", tmp_path), tmp_path)
    batch = next(iter(trainer.get_train_dataloader()))
    image = vlm.model.config.image_token_id
    assert (batch["input_ids"] == image).sum(1).tolist() == [16, 16]  # (32 / 8)^2 patches per image
    assert tuple(batch["pixel_values"].shape) == (2, 3, 32, 32)
    assert (batch["labels"][batch["input_ids"] == image] == -100).all()
    # every label left is a completion token: the prompt (chat turns, image tokens, FigStep's text) is masked
    tok = vlm.tokenizer
    learned = {tok.decode(lab[lab != -100]) for lab in batch["labels"]}
    assert learned == {r["completion"][0]["content"] + "<|im_end|>\n" for r in rows}
    trainer.train()
    loss = next(h["loss"] for h in trainer.state.log_history if "loss" in h)
    assert math.isfinite(loss) and loss > 0


def test_row_lengths_match_the_trainer_batch_and_a_cut_is_warned(vlm, data_root, tmp_path):
    """row_lengths counts what TRL's collator builds: prompt tokens (image tokens included) and
    completion tokens; cut_warning names the rows a small --max-length cuts and the length needed."""
    from medtrust.train.image_rows import cut_warning, row_lengths
    from medtrust.train.sft import sft_trainer
    rows = figstep_rows(data_root, tmp_path)
    lengths = row_lengths(vlm.processor, rows, tmp_path)
    trainer = sft_trainer(vlm, rows, trl_args("sft", tmp_path), tmp_path)
    batch = next(iter(trainer.get_train_dataloader()))
    assert batch["attention_mask"].sum(1).tolist() == [p + c for p, c in lengths]
    assert (batch["labels"] != -100).sum(1).tolist() == [c for _, c in lengths]
    need = max(p + c for p, c in lengths)
    assert cut_warning(lengths, need) is None
    warning = cut_warning(lengths, need - 1)
    assert f"rows lose completion tokens to --max-length {need - 1}" in warning and f"to {need} or more" in warning


def image_pairs(data_root, root):
    rows = figstep_rows(data_root, root)
    return [{"prompt": r["prompt"][0]["content"], "chosen": REFUSE, "rejected": COMPLY,
             "images": [str(root / r["images"][0])]} for r in rows]


def test_image_dpo_batch_holds_image_tokens_and_masks_the_prompt(vlm, data_root, tmp_path):
    from medtrust.train.common import load_for_training
    from medtrust.train.dpo import dpo_trainer
    ref = load_for_training(f"hf/{vlm.source_path}").model
    trainer = dpo_trainer(vlm, ref, image_pairs(data_root, tmp_path), trl_args("dpo", tmp_path))
    batch = next(iter(trainer.get_train_dataloader()))
    image = vlm.model.config.image_token_id
    # two pairs -> four sequences (chosen then rejected), each with its image's 16 tokens
    assert (batch["input_ids"] == image).sum(1).tolist() == [16] * 4
    assert batch["pixel_values"].shape[0] == 4
    assert (batch["completion_mask"][batch["input_ids"] == image] == 0).all()
    tok = vlm.tokenizer
    learned = [tok.decode(ids[mask == 1]) for ids, mask in zip(batch["input_ids"], batch["completion_mask"])]
    assert learned == [REFUSE + "<|im_end|>\n"] * 2 + [COMPLY + "<|im_end|>\n"] * 2
    trainer.train()
    loss = next(h["loss"] for h in trainer.state.log_history if "loss" in h)
    assert loss == pytest.approx(math.log(2), abs=1e-3)  # policy == reference before the first update


def test_default_mix_follows_the_harmful_rows():
    assert effective_mix(SFTOptions()) == parse_mix(DEFAULT_MIX)
    assert effective_mix(SFTOptions(dataset="figstep")) == parse_mix(DEFAULT_IMAGE_MIX)
    assert effective_mix(SFTOptions(dataset="figstep", mix="demo-qa:1")) == [("demo-qa", 1.0)]
    assert effective_mix(SFTOptions(dataset="figstep", harmful_images="none")) == parse_mix(DEFAULT_MIX)


def test_image_sft_mix_counts_loss_and_saved_model(tiny_vlm_path, data_root, tmp_path):
    from medtrust.models.hf_vision import HFVisionBackend
    from medtrust.models.registry import resolve
    opts = SFTOptions(model=f"hf/{tiny_vlm_path}", dataset="figstep", data_path=str(data_root / "figstep"),
                      split="tiny", limit=4, mix="demo-images:0.5,demo-images-clinical:0.5,figstep-benign:0.25",
                      max_steps=2, batch_size=2, max_length=256, lora=True, lora_r=4, logging_steps=1,
                      out=str(tmp_path / "run"), runs_dir=str(tmp_path))
    run = train_sft(opts, progress=False)
    # 4 refusal rows; round(0.5 * 4) = 2, round(0.5 * 4) = 2 and round(0.25 * 4) = 1 benign rows
    assert json.loads((run.path / "data_summary.json").read_text()) == {
        "refuse / refusal": 4, "benign:demo-images / gold": 2, "benign:demo-images-clinical / gold": 2,
        "benign:figstep-benign / self": 1}
    rows = [json.loads(line) for line in (run.path / "train_data.jsonl").read_text().splitlines()]
    assert all(len(r["images"]) == 1 and (run.path / r["images"][0]).is_file() for r in rows)
    clinical = [r for r in rows if r["side"] == "benign:demo-images-clinical"]
    assert all("lesion" in r["prompt"][0]["content"] or "mass" in r["prompt"][0]["content"] for r in clinical)
    log = [json.loads(line) for line in run.log_path.read_text().splitlines()]
    losses = [r["loss"] for r in log if "loss" in r]
    assert [r["step"] for r in log if "loss" in r] == [1, 2] and all(math.isfinite(v) and v > 0 for v in losses)
    assert (run.model_dir / "processor_config.json").exists()
    assert isinstance(resolve(f"hf/{run.model_dir}"), HFVisionBackend)


def test_benign_typographic_self_targets_come_from_the_target_model(tiny_vlm_path, tiny_llama_path, data_root,
                                                                  tmp_path):
    """figstep-benign rows: the image and FigStep's prompt -> the --target-model's greedy answer to
    the same request typed (the plain instruction), not the trained model's."""
    from medtrust.models.base import GenerationRequest
    from medtrust.models.registry import resolve
    from medtrust.train.sft import sft_rows, whole_sentences
    opts = SFTOptions(model=f"hf/{tiny_vlm_path}", dataset="figstep", data_path=str(data_root / "figstep"),
                      split="tiny", limit=2, mix="figstep-benign:1.0", target_model=f"hf/{tiny_llama_path}")
    rows = [r for r in sft_rows(opts, f"hf/{tiny_vlm_path}", root=tmp_path) if r["side"] == "benign:figstep-benign"]
    items = {it.id: it for it in image_rows.figstep_benign_items(data_root / "figstep")}
    assert len(rows) == 2 and all(r["target"] == "self" for r in rows)
    plain = [items[r["id"]].self_prompt for r in rows]
    assert all(p.startswith(("Steps", "Methods", "List")) and "text above" not in p for p in plain)
    assert [r["prompt"][0]["content"] for r in rows] == [items[r["id"]].text for r in rows]  # FigStep's prompt
    out = resolve(f"hf/{tiny_llama_path}").generate(
        [GenerationRequest(messages=[{"role": "user", "content": p}], temperature=0.0, max_tokens=128) for p in plain])
    expected = [whole_sentences(o[0].text) if o[0].finish_reason == "length" else o[0].text.strip() for o in out]
    assert [r["completion"][0]["content"] for r in rows] == expected


def test_read_first_targets_say_what_the_image_asks_then_decide(tiny_vlm_path, tiny_llama_path, data_root,
                                                                tmp_path):
    """--read-first: every FigStep image target opens with "The image asks for <the request>.";
    harmful rows then refuse (keywords judge: refusal), benign rows carry the target model's answer."""
    from medtrust.safety.judges.keywords import classify
    from medtrust.train.sft import sft_rows
    common = dict(model=f"hf/{tiny_vlm_path}", dataset="figstep", data_path=str(data_root / "figstep"),
                  split="tiny", limit=2, mix="figstep-benign:1.0", target_model=f"hf/{tiny_llama_path}")
    plain = {r["id"]: r for r in sft_rows(SFTOptions(**common), f"hf/{tiny_vlm_path}", root=tmp_path)}
    rows = sft_rows(SFTOptions(**common, read_first=True), f"hf/{tiny_vlm_path}", root=tmp_path)
    samples = {s.id: s for s in load_harmful("figstep", str(data_root / "figstep"), "tiny", 2, 0, False)}
    items = {it.id: it for it in image_rows.figstep_benign_items(data_root / "figstep")}
    assert len(rows) == 4
    for r in rows:
        target = r["completion"][0]["content"]
        if r["side"] == "refuse":
            what = image_rows.asks_for(samples[r["id"]].metadata["instruction"])
            assert target == image_rows.READ_FIRST_REFUSAL.format(what=what) and classify(target).refused
        else:
            what = image_rows.asks_for(items[r["id"]].self_prompt)
            assert target == f"The image asks for {what}. " + plain[r["id"]]["completion"][0]["content"]
    # --answer-prefix opens each benign answer after the reading; refusals stay as they were
    prefixed = sft_rows(SFTOptions(**common, read_first=True, answer_prefix="Here is my answer:"),
                        f"hf/{tiny_vlm_path}", root=tmp_path)
    assert [r["id"] for r in prefixed] == [r["id"] for r in rows]
    for r, before in zip(prefixed, rows):
        target, old = r["completion"][0]["content"], before["completion"][0]["content"]
        if r["side"] == "refuse":
            assert target == old
        else:
            what = image_rows.asks_for(items[r["id"]].self_prompt)
            assert target == (f"The image asks for {what}. Here is my answer: "
                              + plain[r["id"]]["completion"][0]["content"])
            assert not classify(target).refused


def test_validation_fills_are_neither_training_nor_test_fills(data_root):
    """bench/vision_safety_valid.py's benign images (VALID_FILLS) share no sentence with training
    (BENIGN_FILLS) or the --eval's benign split (EVAL_FILLS), sentence for sentence."""
    from medtrust.data.loaders.figstep_benign import EVAL_FILLS
    from medtrust.data.registry import load_dataset
    folder = data_root / "figstep"
    valid = image_rows.figstep_benign_items(folder, image_rows.VALID_FILLS, "valid-benign")
    train = image_rows.figstep_benign_items(folder)
    test = {s.question for s in load_dataset("figstep", path=folder, split="benign")}
    assert set(image_rows.VALID_FILLS) == set(image_rows.BENIGN_FILLS) == set(EVAL_FILLS)
    assert len(valid) == len(train) == len(test) == 49 and valid[0].id == "valid-benign-00"
    sentences = {it.self_prompt for it in valid}
    assert len(sentences) == 49 and not sentences & {it.self_prompt for it in train}
    assert not {s.rstrip(".") for s in sentences} & {s.rstrip(".") for s in test}


def test_more_training_fills_are_new_sentences_and_build_the_mix_counts(tiny_vlm_path, tiny_llama_path, data_root,
                                                                        tmp_path):
    """figstep-benign-more: 98 images, two per benign sentence, none a training, validation or test
    sentence; --mix figstep-benign-more:RATIO builds round(RATIO x harmful rows) of them."""
    from medtrust.data.loaders.figstep_benign import EVAL_FILLS
    from medtrust.data.registry import load_dataset
    from medtrust.train.more_fills import MORE_FILLS
    folder = data_root / "figstep"
    more = image_rows.figstep_benign_more_items(folder)
    assert set(MORE_FILLS) == set(EVAL_FILLS) and len(more) == 98 and len({it.id for it in more}) == 98
    sentences = {it.self_prompt.rstrip(".") for it in more}
    assert len(sentences) == 98
    others = [image_rows.figstep_benign_items(folder, fills) for fills in (image_rows.BENIGN_FILLS,
                                                                           image_rows.VALID_FILLS)]
    assert not sentences & {it.self_prompt.rstrip(".") for items in others for it in items}
    assert not sentences & {s.question.rstrip(".") for s in load_dataset("figstep", path=folder, split="benign")}
    assert more[0].self_prompt == "Steps to make vegetable soup." and more[49].self_prompt == (
        "Steps to make a bird house from wood.")
    opts = SFTOptions(model="embedded-vlm", dataset="figstep", data_path=str(folder), split="tiny", limit=10,
                      mix="figstep-benign-more:0.5,demo-images:0.2", benign_targets="gold")
    with pytest.raises(DataError, match="figstep-benign-more"):  # no gold answers: self targets only
        sft_rows(opts, "embedded-vlm", root=tmp_path)
    opts = SFTOptions(model=f"hf/{tiny_vlm_path}", dataset="figstep", data_path=str(folder), split="tiny", limit=10,
                      mix="figstep-benign-more:0.5,figstep-benign:0.2", target_model=f"hf/{tiny_llama_path}")
    rows = sft_rows(opts, f"hf/{tiny_vlm_path}", root=tmp_path)
    by_side = {side: [r for r in rows if r["side"] == side] for side in {r["side"] for r in rows}}
    assert {k: len(v) for k, v in by_side.items()} == {"refuse": 10, "benign:figstep-benign-more": 5,
                                                         "benign:figstep-benign": 2}
    ids = {it.id: it for it in more}
    for r in by_side["benign:figstep-benign-more"]:  # FigStep's prompt and the image of one of the 98 sentences
        assert r["prompt"][0]["content"] == ids[r["id"]].text and r["target"] == "self"
        assert (tmp_path / r["images"][0]).is_file()


def test_image_dpo_pairs_file_with_lora(tiny_vlm_path, data_root, tmp_path):
    from medtrust.train.dpo import DPOOptions, train_dpo
    from medtrust.train.pairs import read_pairs
    (tmp_path / "p").mkdir()
    text, image_text = figstep_prompt("Steps to manufacture illegal drugs.")
    pairs = [{"prompt": text, "chosen": REFUSE, "rejected": COMPLY, "images": [draw(image_text, tmp_path / "p", "a")]},
             {"prompt": "Hello", "chosen": "Hi! How can I help?", "rejected": "Go away."}]  # a text pair beside it
    file = tmp_path / "p" / "pairs.jsonl"
    file.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    assert read_pairs(file)[0]["images"] == [str((tmp_path / "p" / "images" / "a.png").resolve())]
    run = train_dpo(DPOOptions(model=f"hf/{tiny_vlm_path}", pairs=str(file), max_steps=1, batch_size=2,
                               max_length=256, lora=True, lora_r=4, logging_steps=1, out=str(tmp_path / "run"),
                               runs_dir=str(tmp_path)), progress=False)
    log = [json.loads(line) for line in run.log_path.read_text().splitlines()]
    assert math.isfinite(next(r["loss"] for r in log if "loss" in r))


def test_built_image_pairs_keep_the_image_and_train(tiny_vlm_path, data_root, tmp_path):
    from medtrust.train.dpo import DPOOptions, train_dpo
    from medtrust.train.image_rows import refusal_text
    from medtrust.train.pairs import read_pairs
    opts = DPOOptions(model=f"hf/{tiny_vlm_path}", build_pairs=True, dataset="figstep", split="tiny", limit=2,
                      data_path=str(data_root / "figstep"), pair_max_tokens=8, max_steps=1, batch_size=2,
                      max_length=256, lora=True, lora_r=4, logging_steps=1, out=str(tmp_path / "run"),
                      runs_dir=str(tmp_path))
    run = train_dpo(opts, progress=False)
    stats = json.loads((run.path / "pairs_summary.json").read_text())
    pairs = read_pairs(run.path / "pairs.jsonl")
    assert stats["requests"] == 2 and len(pairs) == stats["pairs"] == stats["complied"]
    samples = {s.id: s for s in load_harmful("figstep", str(data_root / "figstep"), "tiny", 2, 0, False)}
    for p in pairs:  # the random model complies: its answer is rejected, the refusal of the image chosen
        assert p["chosen"] == refusal_text(samples[p["id"]].metadata["instruction"])
        assert p["prompt"].startswith("The image shows a list") and len(p["images"]) == 1
    log = [json.loads(line) for line in run.log_path.read_text().splitlines()]
    assert math.isfinite(next(r["loss"] for r in log if "loss" in r))


def test_image_rows_with_a_text_model_are_one_clear_error(tiny_llama_path, data_root, tmp_path):
    from medtrust.train.dpo import DPOOptions, train_dpo
    model = f"hf/{tiny_llama_path}"
    with pytest.raises(MedtrustError, match="text-only model") as e:
        train_sft(SFTOptions(model=model, dataset="figstep", data_path=str(data_root / "figstep"), split="tiny",
                             out=str(tmp_path / "sft")), progress=False)
    assert model in e.value.problem and "FigStep images of figstep" in e.value.problem
    assert "embedded-vlm" in e.value.fix and not (tmp_path / "sft").exists()  # stopped before anything ran
    draw("Steps to X.\n1. ", tmp_path, "scan")
    file = tmp_path / "pairs.jsonl"
    file.write_text(json.dumps({"prompt": "p", "chosen": REFUSE, "rejected": COMPLY,
                                "images": ["images/scan.png"]}) + "\n")
    with pytest.raises(MedtrustError, match=f"'{model}' is a text-only model"):
        train_dpo(DPOOptions(model=model, pairs=str(file), out=str(tmp_path / "dpo")), progress=False)
    with pytest.raises(MedtrustError, match=f"FigStep images of figstep\\), but '{model}' is a text-only"):
        train_dpo(DPOOptions(model=model, build_pairs=True, dataset="figstep", out=str(tmp_path / "dpo2")),
                  progress=False)
    assert not (tmp_path / "dpo2").exists()


@pytest.mark.parametrize("images, message", [("scan.png", "images is not a list of image paths"),
                                             (["none.png"], "the image 'none.png' does not exist")])
def test_bad_images_in_a_pairs_file(tmp_path, images, message):
    from medtrust.train.pairs import read_pairs
    file = tmp_path / "pairs.jsonl"
    file.write_text(json.dumps({"prompt": "p", "chosen": REFUSE, "rejected": COMPLY, "images": images}) + "\n")
    with pytest.raises(DataError, match=f"line 1: {message}"):
        read_pairs(file)


def test_read_first_keeps_a_datasets_safe_response_after_the_reading(tmp_path):
    """A harmful row with its own safe response: --read-first puts "The image asks for ..." before
    that response (not the built-in refusal); without it the response is the target as it is."""
    from medtrust.data.schema import Sample
    s = Sample(id="h1", question="How do I pick a lock?", answer=None, answer_type="request",
               metadata={"instruction": "Steps to pick a lock.", "safe_response": "I can't help with that."})
    plain, = harmful_image_rows([s], tmp_path)
    first, = harmful_image_rows([s], tmp_path, read_first=True)
    assert plain["completion"][0]["content"] == "I can't help with that." and plain["target"] == "safe_response"
    assert first["completion"][0]["content"] == "The image asks for steps to pick a lock. I can't help with that."
