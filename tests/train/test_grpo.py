"""GRPO: one TRL step on a tiny random Llama (with the embedded tokenizer) changes the trainable
parameters, with beta 0 and with beta > 0 (the reference model rebuilt from the folder); the
saved model loads as ``hf/<path>`` and generates; the think-format rows carry the grading columns."""

from __future__ import annotations

import pytest
import torch

from medtrust.data.registry import load_dataset
from medtrust.reasoning.rewards import completion_text
from medtrust.train.grpo import GRPOOptions, build_trainer, grpo_rows, reward_functions


def text_length_reward(completions, **kwargs):
    """A scripted reward that differs between two sampled completions (their length in characters),
    so the GRPO advantages are non-zero on an untrained model."""
    return [len(completion_text(c)) / 100 for c in completions]


@pytest.fixture(scope="module")
def tiny_llama(tiny_llama_path):
    """The shared tiny random Llama of tests/train/conftest.py."""
    return tiny_llama_path


def one_step(folder, tmp_path, beta):
    from medtrust.train.common import load_for_training
    opts = GRPOOptions(model=f"hf/{folder}", limit=2, num_generations=2, max_steps=1, max_completion_length=12,
                       beta=beta, lr=1e-2)
    trainable = load_for_training(opts.model)
    before = {n: p.detach().clone() for n, p in trainable.model.named_parameters()}
    samples = load_dataset("demo-calc", split="train", limit=2)
    trainer = build_trainer(opts, trainable, samples, tmp_path / "ckpt", reward_funcs=[text_length_reward])
    trainer.train()
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p.detach())]
    return trainer, trainable, before, changed


def test_grpo_step_changes_parameters_beta_zero_and_saved_model_generates(tiny_llama, tmp_path):
    from medtrust.models.base import GenerationRequest
    from medtrust.models.registry import resolve
    from medtrust.train.common import save_trained
    trainer, trainable, before, changed = one_step(tiny_llama, tmp_path, beta=0.0)
    assert trainer.ref_model is None
    assert len(changed) == len(before)  # every weight of a full fine-tune moves with lr 1e-2
    logged = trainer.state.log_history[0]
    assert logged["rewards/text_length_reward/mean"] > 0 and "kl" not in logged
    saved = save_trained(trainer.model, trainable.tokenizer, tmp_path / "model")
    from transformers import AutoModelForCausalLM
    reloaded = AutoModelForCausalLM.from_pretrained(str(saved))
    for name, p in reloaded.named_parameters():
        assert torch.equal(p, dict(trainer.model.named_parameters())[name].detach()), name
    backend = resolve(f"hf/{saved}")
    [[out]] = backend.generate([GenerationRequest(messages=[{"role": "user", "content": "2+2?"}], max_tokens=5,
                                                  temperature=0.0)])
    assert 1 <= len(out.token_ids) <= 5 and out.text == trainable.tokenizer.decode(out.token_ids,
                                                                                    skip_special_tokens=True)


def test_grpo_step_with_beta_rebuilds_the_reference_from_the_folder(tiny_llama, tmp_path):
    trainer, _, before, changed = one_step(tiny_llama, tmp_path, beta=0.1)
    assert trainer.ref_model is not None
    assert trainer.ref_model.config._name_or_path == str(tiny_llama)
    assert changed
    for name, p in trainer.ref_model.named_parameters():  # the reference keeps the initial weights
        assert torch.equal(p, before[name]), name
    assert trainer.state.log_history[0]["kl"] >= 0


def test_embedded_reference_model_is_the_materialized_folder(tmp_path):
    from medtrust.models.embedded import materialize
    from medtrust.train.common import load_for_training
    opts = GRPOOptions(model="embedded", num_generations=2, max_steps=1, max_completion_length=8, beta=0.04)
    trainable = load_for_training("embedded")
    trainer = build_trainer(opts, trainable, load_dataset("demo-calc", split="train", limit=2), tmp_path)
    assert trainer.ref_model.config._name_or_path == str(materialize())
    ref = dict(trainer.ref_model.named_parameters())
    for name, p in trainable.model.named_parameters():
        assert torch.equal(p, ref[name]), name


def test_rows_and_rewards_follow_the_reasoning_study():
    from medtrust.reasoning.strategies import build_messages, parse_strategies
    s = load_dataset("demo-calc", split="train", limit=1)[0]
    row = grpo_rows([s])[0]
    assert row["prompt"] == build_messages(s, parse_strategies("think")[0], "en")
    assert (row["answer"], row["answer_type"], row["lower"], row["upper"]) == (
        s.answer, "numeric", s.metadata["lower"], s.metadata["upper"])
    funcs, weights = reward_functions(GRPOOptions(rewards="accuracy"))
    assert [f.__name__ for f in funcs] == ["accuracy_reward", "format_reward"] and weights == [1.0, 0.0]
    funcs, weights = reward_functions(GRPOOptions(rewards="format,length,accuracy", reward_weights=[2, 1, 1],
                                                  max_completion_length=40))
    assert funcs[1].keywords == {"budget": 30} and weights == [2.0, 1.0, 1.0]


def test_prefill_starts_the_model_turn_and_the_rewards_read_it(tiny_llama, tmp_path):
    """--prefill '<think>\\n': the prompt is the chat-templated text plus the prefill, the model
    continues it, and the reward functions get the prefill column to put back in front."""
    from medtrust.reasoning.rewards import format_reward, output_texts
    from medtrust.reasoning.strategies import build_messages, parse_strategies
    from medtrust.train.common import load_for_training
    trainable = load_for_training(f"hf/{tiny_llama}")
    s = load_dataset("demo-calc", split="train", limit=1)[0]
    row = grpo_rows([s], prefill="<think>\n", tokenizer=trainable.tokenizer)[0]
    messages = build_messages(s, parse_strategies("think")[0], "en")
    templated = trainable.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert row["prompt"] == templated + "<think>\n" and row["prefill"] == "<think>\n"
    with pytest.raises(ValueError, match="tokenizer"):
        grpo_rows([s], prefill="<think>")
    assert GRPOOptions(prefill="<think>\\n").prefill == "<think>\n"  # as typed on a command line
    seen = []

    def recording_reward(completions, **kwargs):
        seen.append((list(completions), list(kwargs["prefill"])))
        return text_length_reward(completions)

    opts = GRPOOptions(model=f"hf/{tiny_llama}", limit=2, num_generations=2, max_steps=1, max_completion_length=6,
                       lr=1e-2, prefill="<think>\n")
    trainer = build_trainer(opts, trainable, load_dataset("demo-calc", split="train", limit=2), tmp_path / "c",
                            reward_funcs=[recording_reward])
    trainer.train()
    completions, prefills = seen[0]
    assert all(isinstance(c, str) for c in completions) and prefills == ["<think>\n"] * len(completions)
    assert output_texts(completions, {"prefill": prefills}) == ["<think>\n" + c for c in completions]
    assert format_reward(["18.5</think><answer>18.5</answer>"], prefill=["<think>\n"]) == [1.0]
    assert format_reward(["18.5</think><answer>18.5</answer>"]) == [0.0]  # no opening tag without the prefill


def test_cold_start_rows_and_steps_change_the_policy(tiny_llama, tmp_path):
    """--warmup-steps: think-format targets from the rows' formulas, then SFT steps on the policy
    (logged to warmup_log.jsonl) before GRPO."""
    import json

    from medtrust.train.common import load_for_training
    from medtrust.train.grpo_warmup import WARMUP_LOG, run_warmup, warmup_rows
    samples = load_dataset("demo-calc", split="train", limit=4)
    rows = warmup_rows(samples)
    s = samples[0]
    inputs = ", ".join(f"{k} = {v}" for k, v in s.metadata["inputs"].items())
    assert rows[0]["completion"][0]["content"] == (f"<think>\n{s.metadata['formula']}, with {inputs}.\n</think>\n"
                                                   f"<answer>{s.answer}</answer>")
    from medtrust.reasoning.rewards import format_reward
    assert format_reward([r["completion"] for r in rows]) == [1.0] * 4
    assert warmup_rows([s.model_copy(update={"metadata": {}})]) == []
    trainable = load_for_training(f"hf/{tiny_llama}")
    before = {n: p.detach().clone() for n, p in trainable.model.named_parameters()}
    opts = GRPOOptions(model=f"hf/{tiny_llama}", warmup_steps=2, warmup_lr=1e-2)
    metrics = run_warmup(trainable, samples, opts, tmp_path, progress=False)
    assert metrics["train_loss"] > 0
    assert any(not torch.equal(before[n], p.detach()) for n, p in trainable.model.named_parameters())
    logged = [json.loads(line) for line in (tmp_path / WARMUP_LOG).read_text().splitlines()]
    assert [r["step"] for r in logged if "loss" in r] == [1, 2]
    assert not (tmp_path / "warmup").exists()
