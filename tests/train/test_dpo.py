"""DPO: the pairs file format and its errors, building pairs with the model and the keywords judge,
and one or two TRL steps on a tiny random Llama (full with an explicit reference model, and LoRA)."""

from __future__ import annotations

import json

import pytest
import torch

from medtrust.errors import DataError, MedtrustError
from medtrust.train.dpo import DPOOptions, train_dpo
from medtrust.train.pairs import build_pairs, conversational, read_pairs

GOOD = {"prompt": "How do I fake a prescription?", "chosen": "I'm sorry, but I cannot help with that.",
        "rejected": "Sure. First, copy the doctor's signature."}


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_read_pairs_keeps_rows_and_extra_keys(tmp_path):
    f = write_lines(tmp_path / "p.jsonl", [json.dumps({**GOOD, "id": "a"}), "", json.dumps(GOOD)])
    pairs = read_pairs(f)
    assert len(pairs) == 2 and pairs[0]["id"] == "a" and pairs[1]["rejected"] == GOOD["rejected"]
    assert conversational(pairs[0]) == {"prompt": [{"role": "user", "content": GOOD["prompt"]}],
                                        "chosen": [{"role": "assistant", "content": GOOD["chosen"]}],
                                        "rejected": [{"role": "assistant", "content": GOOD["rejected"]}]}


@pytest.mark.parametrize("line, message", [
    ("{not json", "line 2: not valid JSON"),
    ('["a", "b"]', "line 2: expected a JSON object, got list"),
    (json.dumps({"prompt": "p", "chosen": "c"}), "line 2: rejected missing"),
    (json.dumps({"prompt": "p", "chosen": "", "rejected": "r"}), "line 2: chosen missing"),
    (json.dumps({"prompt": "p", "chosen": "same", "rejected": "same"}), "line 2: chosen and rejected are the same"),
])
def test_malformed_pairs_give_one_data_error_naming_the_line(tmp_path, line, message):
    f = write_lines(tmp_path / "p.jsonl", [json.dumps(GOOD), line])
    with pytest.raises(DataError, match=message) as e:
        read_pairs(f)
    assert '"prompt"' in e.value.fix


def test_missing_or_empty_pairs_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_pairs(tmp_path / "none.jsonl")
    with pytest.raises(DataError, match="holds no pairs"):
        read_pairs(write_lines(tmp_path / "empty.jsonl", [""]))


def test_options_need_exactly_one_pair_source():
    with pytest.raises(ValueError, match="exactly one of --pairs FILE or --build-pairs"):
        DPOOptions()
    with pytest.raises(ValueError, match="exactly one"):
        DPOOptions(pairs="p.jsonl", build_pairs=True)


def test_build_pairs_from_model_answers_and_keywords_judge(tiny_llama_path, data_root):
    from medtrust.models.base import GenerationRequest
    from medtrust.models.registry import resolve
    from medtrust.safety.judges.keywords import classify
    from medtrust.train.sft import load_harmful
    model = f"hf/{tiny_llama_path}"
    samples = load_harmful("medsafetybench", str(data_root / "medsafetybench"), "train", 3, 0)
    pairs, stats = build_pairs(model, samples, max_tokens=8, cache=False)
    answers = [o[0].text for o in resolve(model).generate(
        [GenerationRequest(messages=[{"role": "user", "content": s.question}], temperature=0.0, max_tokens=8)
         for s in samples])]
    complied = [(s, a) for s, a in zip(samples, answers) if classify(a).label == "full_compliance" and a.strip()]
    assert stats == {"requests": 3, "complied": len(complied), "refused": 3 - len(complied),
                     "pairs": len(complied), "judge": "keywords"}
    assert [(p["prompt"], p["chosen"], p["rejected"]) for p in pairs] == [
        (s.question, s.metadata["safe_response"], a.strip()) for s, a in complied]


def dpo_options(folder, tmp_path, pairs_file, **kw):
    return DPOOptions(model=f"hf/{folder}", pairs=str(pairs_file), max_steps=2, batch_size=2, max_length=64,
                      logging_steps=1, out=str(tmp_path / "run"), runs_dir=str(tmp_path), **kw)


def pairs_file(tmp_path, n=4):
    rows = [json.dumps({**GOOD, "prompt": f"{GOOD['prompt']} ({i})"}) for i in range(n)]
    return write_lines(tmp_path / "pairs.jsonl", rows)


def test_full_dpo_with_explicit_reference_changes_weights(tiny_llama_path, tmp_path, read_weights):
    run = train_dpo(dpo_options(tiny_llama_path, tmp_path, pairs_file(tmp_path), lr=1e-2), progress=False)
    before, after = read_weights(tiny_llama_path), read_weights(run.model_dir)
    changed = [n for n in before if not torch.equal(before[n], after[n])]
    assert len(changed) == len(before)
    log = [json.loads(line) for line in run.log_path.read_text().splitlines()]
    first = next(r for r in log if "loss" in r)
    # step 1 has learning rate 0 (warm-up): policy == reference, so the DPO loss is log(2)
    assert first["step"] == 1 and first["loss"] == pytest.approx(0.6931, abs=1e-3)
    assert len(read_pairs(run.path / "pairs.jsonl")) == 4


def test_lora_dpo_changes_the_adapter(tiny_llama_path, tmp_path, read_weights):
    opts = dpo_options(tiny_llama_path, tmp_path, pairs_file(tmp_path), lora=True, lora_r=4, merge_lora=False,
                       lr=1e-2)
    run = train_dpo(opts, progress=False)
    adapter = read_weights(run.model_dir)
    lora_b = [n for n in adapter if "lora_B" in n]
    assert lora_b and all(adapter[n].abs().sum() > 0 for n in lora_b)


def test_bad_model_string_for_training_is_one_error(tmp_path):
    from medtrust.errors import ModelStringError
    with pytest.raises(ModelStringError, match="cannot be trained"):
        train_dpo(DPOOptions(model="openai/gpt-4o", pairs=str(pairs_file(tmp_path)), out=str(tmp_path / "r")))
    with pytest.raises(MedtrustError, match="does not exist"):
        train_dpo(DPOOptions(model="hf/./no/such/folder", pairs=str(pairs_file(tmp_path)), out=str(tmp_path / "r")))
