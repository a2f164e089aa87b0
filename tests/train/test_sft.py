"""Safety SFT: the data (refusal rows, benign mix with gold and self targets), one or two TRL steps
on a tiny random Llama (full and LoRA) that change the weights, the run folder, and the saved
model loading as ``hf/<path>`` and generating."""

from __future__ import annotations

import json

import pytest
import torch

from medtrust.data.schema import Sample
from medtrust.errors import DataError, MedtrustError
from medtrust.train.sft import (
    SFTOptions,
    benign_rows,
    gold_target,
    load_harmful,
    parse_mix,
    pick,
    refusal_rows,
    train_sft,
    whole_sentences,
)


def test_parse_mix_values_and_errors():
    assert parse_mix("demo-benign:0.5, pubmedqa:1") == [("demo-benign", 0.5), ("pubmedqa", 1.0)]
    assert parse_mix("") == []
    for bad in ("demo-benign", "demo-benign:x", "demo-benign:-1", ":0.5"):
        with pytest.raises(MedtrustError, match="NAME:RATIO"):
            parse_mix(bad)


def test_gold_targets_by_dataset_kind():
    mcq = Sample(id="m", question="Q?", answer="C", answer_type="mcq", choices=["a", "b", "Hyperkalaemia", "d"])
    assert gold_target(mcq) == "The answer is C: Hyperkalaemia."
    pubmed = Sample(id="p", question="Q?", answer="yes", answer_type="yes_no_maybe",
                    metadata={"long_answer": "It helps."})
    assert gold_target(pubmed) == "Yes. It helps."
    short = Sample(id="s", question="Q?", answer="vitamin C", answer_type="short")
    assert gold_target(short) == "vitamin C"
    request = Sample(id="r", question="Explain X.", answer=None, answer_type="request")
    assert gold_target(request) is None


def test_whole_sentences_and_pick():
    assert whole_sentences("One. Two three") == "One."
    assert whole_sentences("No end at all") == "No end at all"
    assert whole_sentences("Done!") == "Done!"
    drawn = pick([1, 2, 3], 7, seed=0)
    assert len(drawn) == 7 and sorted(drawn[:3]) == [1, 2, 3] and sorted(drawn[3:6]) == [1, 2, 3]


def test_refusal_rows_from_medsafetybench_train(data_root):
    samples = load_harmful("medsafetybench", str(data_root / "medsafetybench"), "train", None, 0)
    assert len(samples) == 900
    rows = refusal_rows(samples[:2])
    assert rows[0]["prompt"] == [{"role": "user", "content": samples[0].question}]
    assert rows[0]["completion"] == [{"role": "assistant", "content": samples[0].metadata["safe_response"]}]
    assert rows[0]["completion"][0]["content"].startswith("I'm sorry")


def test_harmful_set_without_safe_responses_is_one_data_error():
    with pytest.raises(DataError, match="no harmful requests with a safe response"):
        load_harmful("demo-benign", None, None, None, 0)


def test_benign_mix_counts_and_self_targets_match_the_model(tiny_llama_path):
    from medtrust.models.base import GenerationRequest
    from medtrust.models.registry import resolve
    model = f"hf/{tiny_llama_path}"
    rows = benign_rows([("demo-mcq", 0.5), ("demo-benign", 0.25)], 8, {}, "auto", model, seed=0)
    kinds = [(r["side"], r["target"]) for r in rows]
    assert kinds.count(("benign:demo-mcq", "gold")) == 4 and kinds.count(("benign:demo-benign", "self")) == 2
    selfs = [r for r in rows if r["target"] == "self"]
    backend = resolve(model)
    expected = backend.generate([GenerationRequest(messages=r["prompt"], temperature=0.0, max_tokens=128)
                                 for r in selfs])
    for r, out in zip(selfs, expected):
        text = out[0].text
        assert r["completion"][0]["content"] == (whole_sentences(text) if out[0].finish_reason == "length"
                                                 else text.strip())


def test_gold_targets_asked_of_a_set_without_answers_is_one_data_error(tiny_llama_path):
    with pytest.raises(DataError, match="no answers to use as gold targets"):
        benign_rows([("demo-benign", 1.0)], 2, {}, "gold", f"hf/{tiny_llama_path}", seed=0)


def sft_options(folder, data_root, tmp_path, **kw):
    return SFTOptions(model=f"hf/{folder}", data_path=str(data_root / "medsafetybench"), limit=4,
                      mix="demo-mcq:0.5", max_steps=2, batch_size=2, max_length=64, logging_steps=1,
                      out=str(tmp_path / "run"), runs_dir=str(tmp_path), **kw)


def test_full_sft_changes_weights_and_saved_model_generates(tiny_llama_path, data_root, tmp_path, read_weights):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medtrust.models.base import GenerationRequest
    from medtrust.models.registry import resolve
    run = train_sft(sft_options(tiny_llama_path, data_root, tmp_path, lr=1e-2), progress=False)
    before, after = read_weights(tiny_llama_path), read_weights(run.model_dir)
    assert set(before) == set(after)
    changed = [n for n in before if not torch.equal(before[n], after[n])]
    assert len(changed) == len(before)  # every weight of a full fine-tune moves with lr 1e-2
    log = [json.loads(line) for line in run.log_path.read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == [1, 2]
    assert all(r["loss"] > 0 for r in log if "loss" in r)
    assert json.loads((run.path / "data_summary.json").read_text()) == {
        "refuse / safe_response": 4, "benign:demo-mcq / gold": 2}
    assert json.loads((run.path / "config.json").read_text())["kind"] == "sft"
    assert not run.checkpoints_dir.exists()
    html = run.report_path.read_text()
    assert "Training curves" in html and "data:image/png;base64" in html
    # the saved folder loads as hf/<path> and generates what transformers itself generates greedily
    backend = resolve(f"hf/{run.model_dir}")
    out = backend.generate([GenerationRequest(messages=[{"role": "user", "content": "Hello"}], temperature=0.0,
                                              max_tokens=5)])[0][0]
    tok = AutoTokenizer.from_pretrained(run.model_dir)
    net = AutoModelForCausalLM.from_pretrained(run.model_dir)
    ids = tok(backend.render([{"role": "user", "content": "Hello"}]), return_tensors="pt",
              add_special_tokens=False)["input_ids"]
    ref = net.generate(ids, max_new_tokens=5, do_sample=False, pad_token_id=tok.eos_token_id)[0, ids.shape[1]:]
    assert out.token_ids == ref.tolist()


def test_lora_sft_adapter_changes_and_loads_as_hf_path(tiny_llama_path, data_root, tmp_path, read_weights):
    from medtrust.models.registry import resolve
    opts = sft_options(tiny_llama_path, data_root, tmp_path, lora=True, lora_r=4, merge_lora=False, lr=1e-2)
    run = train_sft(opts, progress=False)
    adapter = read_weights(run.model_dir)
    lora_b = [n for n in adapter if "lora_B" in n]
    assert lora_b and all(adapter[n].abs().sum() > 0 for n in lora_b)  # lora_B starts at zero
    assert (run.model_dir / "adapter_config.json").exists()
    assert "LoRA adapter" in (run.model_dir / "HOW_TO_LOAD.txt").read_text()
    base, tuned = resolve(f"hf/{tiny_llama_path}"), resolve(f"hf/{run.model_dir}")
    ids = torch.tensor([base.encode_prompt([{"role": "user", "content": "Hello"}])])
    with torch.no_grad():
        assert not torch.allclose(base.model(ids).logits, tuned.model(ids).logits)


def test_merged_lora_saves_plain_weights(tiny_llama_path, data_root, tmp_path, read_weights):
    run = train_sft(sft_options(tiny_llama_path, data_root, tmp_path, lora=True, lora_r=4, lr=1e-2),
                    progress=False)
    before, after = read_weights(tiny_llama_path), read_weights(run.model_dir)
    assert set(before) == set(after)  # no lora_* tensors: merged into the base weights
    changed = [n for n in before if not torch.equal(before[n], after[n])]
    assert changed and all("proj" in n for n in changed)  # only LoRA-targeted linear layers moved


@pytest.mark.parametrize("cuda, bf16_ok, dtype, expected", [
    (False, False, None, False),       # CPU: never bf16 (TRL's default would fail)
    (True, False, None, False),        # a GPU without bf16 (e.g. V100)
    (True, True, None, True),          # an Ampere+ GPU, nothing asked
    (True, True, "bfloat16", True),
    (True, True, "float32", False),    # another dtype asked for wins
])
def test_bf16_rule_shared_by_sft_dpo_grpo_and_the_cold_start(monkeypatch, cuda, bf16_ok, dtype, expected):
    from medtrust.train.common import use_bf16
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_ok)
    assert use_bf16(dtype) is expected


def test_sft_and_dpo_trainer_arguments_follow_the_rule_and_the_asked_dtype(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from medtrust.train.options import TrainOptions, trainer_kwargs
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    run = SimpleNamespace(checkpoints_dir=tmp_path)  # trainer_kwargs reads only this of the run folder
    assert trainer_kwargs(TrainOptions(), run, 1e-5, False)["bf16"] is True
    assert trainer_kwargs(TrainOptions(dtype="float32"), run, 1e-5, False)["bf16"] is False
