"""GRPO reward functions: their doctests, hand-made completions, and real MedCalc-Bench rows
graded through the dataset columns the trainer passes (values worked out by hand)."""

from __future__ import annotations

import doctest

import pytest

from medtrust.data.registry import load_dataset
from medtrust.reasoning import rewards
from medtrust.reasoning.rewards import (
    accuracy_reward,
    format_reward,
    grading_columns,
    is_think_format,
    length_reward,
)


def columns(samples, repeat=1):
    """The trainer's keyword lists for ``samples``, each row repeated ``repeat`` times (generations)."""
    rows = [grading_columns(s) for s in samples for _ in range(repeat)]
    return {k: [r[k] for r in rows] for k in rows[0]}


def test_docstring_examples():
    result = doctest.testmod(rewards)
    assert result.attempted >= 15 and result.failed == 0


def test_format_reward_exact_and_partial_credit():
    cases = {
        "<think>BMI = w/h^2 = 34.6</think><answer>34.6</answer>": 1.0,
        "  <think>\nx\n</think>\n\n<answer>\nB\n</answer>\n": 1.0,  # whitespace around the parts is fine
        "<think>x</think><answer>B</answer> extra text": 0.8,  # text outside the tags: 4 tags in order
        "<think>x</think><answer>B": 0.6,  # cut off before </answer>
        "<think>x</think>The answer is B.": 0.4,
        "<think>x <think>y</think><answer>B</answer>": 0.0,  # <think> twice: the in-order run breaks at once
        "<answer>B</answer><think>x</think>": 0.4,  # <think>, </think>, then <answer> comes too early
        "<think>\n<answer>4</answer> more": 0.2,  # skips </think>: only the opening tag counts
        "<think> </think><answer>B</answer>": 0.8,  # empty reasoning
        "The answer is B.": 0.0,
        "": 0.0,
    }
    assert format_reward(list(cases)) == list(cases.values())
    assert [is_think_format(t) for t in cases] == [v == 1.0 for v in cases.values()]


def test_format_reward_reads_conversational_completions_and_logs_the_rate():
    logged = []
    completions = [[{"role": "assistant", "content": "<think>a</think><answer>b</answer>"}],
                   [{"role": "assistant", "content": "b"}],
                   [{"role": "assistant", "content": "<think>a</think><answer>c</answer>"}],
                   [{"role": "assistant", "content": "<think>a"}]]
    assert format_reward(completions, log_metric=lambda k, v: logged.append((k, v))) == [1.0, 0.0, 1.0, 0.2]
    assert logged == [("format_rate", 0.5)]


def test_accuracy_reward_on_real_medcalc_rows(data_root):
    rows = {s.id: s for s in load_dataset("medcalc", path=data_root / "medcalc", split="test")}
    decimal = rows["medcalc-test-0001"]  # Cockcroft-Gault 25.238, limits [23.9761, 26.4999]
    integer = rows["medcalc-test-0041"]  # gold 4, graded by rounding
    date = rows["medcalc-test-0928"]  # due date 09/23/2014, exact
    weeks = rows["medcalc-test-1029"]  # gestational age ('14 weeks', '1 days')
    cols = columns([decimal] * 4 + [integer] * 3 + [date] * 2 + [weeks] * 2)
    completions = [
        "<think>(140-87)*48/(1.4*72)</think><answer>25.24 mL/min</answer>",
        "<think>...</think><answer>26.4999</answer>",  # the upper limit is inside
        "<think>...</think><answer>26.5</answer>",  # just outside
        "CrCl = 25.2 mL/min",  # no tags: the whole output is read
        "<think>score</think><answer>4.4</answer>",  # rounds to 4
        "<think>score</think><answer>3.5</answer>",  # round(3.5) == 4
        "<think>score</think><answer>4.6</answer>",
        "<think>LMP + 280 days</think><answer>09/23/2014</answer>",
        "<think>LMP + 280 days</think><answer>09/24/2014</answer>",
        "<think>days since LMP</think><answer>14 weeks and 1 day</answer>",
        "<think>days since LMP</think><answer>14 weeks and 2 days</answer>",
    ]
    assert accuracy_reward(completions, **cols) == [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert cols["lower"][:1] == [23.9761] and cols["lower"][7] is None  # dates carry no numeric limits
    assert cols["output_type"][4] == "integer"


def test_accuracy_reward_reads_the_answer_tag_not_the_reasoning():
    s = load_dataset("demo-calc", limit=1)[0]  # BMI 40.1, band [38.095, 42.105]
    assert (s.answer, s.metadata["lower"], s.metadata["upper"]) == ("40.1", 38.095, 42.105)
    cols = columns([s], repeat=4)
    completions = ["<think>125.5/1.77^2 = 40.06</think><answer>12</answer>",  # the tag wins over the trace
                   "<think>125.5/1.77^2 = 40.06</think><answer>40</answer>",
                   "<think>125.5/1.77^2 = 40.06</think>",  # no answer after the reasoning: no answer found
                   "<think>125.5/1.77^2 = 40.06</think><answer>about forty</answer>"]
    assert accuracy_reward(completions, **cols) == [0.0, 1.0, 0.0, 0.0]


def test_accuracy_reward_multiple_choice_yes_no_short_and_unverifiable():
    from medtrust.data.schema import Sample
    mcq = Sample(id="m", question="?", answer="C", answer_type="mcq", choices=["Hypokalaemia", "Hyponatraemia",
                                                                              "Hyperkalaemia", "Hypercalcaemia"])
    yn = Sample(id="y", question="?", answer="no", answer_type="yes_no_maybe", choices=["yes", "no", "maybe"])
    short = Sample(id="s", question="?", answer="Aspirin", answer_type="short", aliases=["acetylsalicylic acid"])
    opened = Sample(id="o", question="?", answer=None, answer_type="open")
    cols = columns([mcq, mcq, mcq, yn, yn, short, short, opened])
    completions = ["<think>peaked T</think><answer>(C)</answer>", "<think>x</think><answer>Hyperkalaemia</answer>",
                   "<think>x</think><answer>A</answer>", "<think>x</think><answer>否</answer>",
                   "<think>x</think><answer>maybe</answer>", "<answer>acetylsalicylic acid</answer>",
                   "<answer>ibuprofen</answer>", "<answer>anything</answer>"]
    assert accuracy_reward(completions, **cols) == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, None]


def test_length_reward_budget_and_tokens():
    words = ["a " * 10, "a " * 11, "a " * 15, "a " * 40]
    assert length_reward(words, budget=10) == [0.0, -0.1, -0.5, -1.0]
    ids = [[0] * 256, [0] * 320, [0] * 1000]
    assert length_reward(["x"] * 3, completion_ids=ids) == [0.0, -0.25, -1.0]  # default budget 256 tokens
    with pytest.raises(ValueError):
        length_reward(["x"], budget=0)
