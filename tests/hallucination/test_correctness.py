"""Correctness: SQuAD normalisation and F1 against hand-computed values, aliases, letters, yes/no,
and the parsers of the self-assessment replies."""

from __future__ import annotations

import math

import pytest

from medtrust.hallucination.correctness import (
    contains_answer,
    judge_prompt,
    normalize_answer,
    rule_correct,
    short_answer_correct,
    squad_f1,
)
from medtrust.hallucination.prompts import parse_confidence
from medtrust.hallucination.sampling import p_true_from_token
from medtrust.models.base import Completion


def test_normalize_answer_as_squad():
    assert normalize_answer("The  Vitamin-C!") == "vitaminc"
    assert normalize_answer("An apple, a pear and THE plum.") == "apple pear and plum"
    assert normalize_answer("  ") == ""


def test_squad_f1_by_hand():
    # "vitamin c deficiency" vs "vitamin c": 2 shared, P = 2/3, R = 1 -> F1 = 0.8
    assert squad_f1("The vitamin C deficiency", "vitamin C") == pytest.approx(0.8)
    # "b1" shared of pred [thiamine, vitamin, b1] and gold [vitamin, b1]: P = 2/3, R = 1 -> 0.8
    assert squad_f1("thiamine (vitamin B1)", "vitamin B1") == pytest.approx(0.8)
    # one of four predicted tokens, one of one gold: P = 1/4, R = 1 -> 0.4
    assert squad_f1("it is niacin deficiency", "niacin") == pytest.approx(0.4)
    assert squad_f1("", "") == 1.0 and squad_f1("x", "") == 0.0
    assert squad_f1("liver", "kidney") == 0.0


def test_squad_f1_counts_chinese_characters():
    # 维 生 素 c vs 维 生 素 c 缺 乏: P = 4/6, R = 1 -> 0.8
    assert squad_f1("维生素C缺乏", "维生素C") == pytest.approx(0.8)
    assert squad_f1("维生素C。", "维生素C") == pytest.approx(1.0)


def test_containment_and_short_answers_with_aliases():
    assert contains_answer("Scurvy is caused by a lack of vitamin C.", "vitamin C")
    assert not contains_answer("vitamin CD", "vitamin C")  # whole words only
    assert contains_answer("坏血病是由缺乏维生素C引起的。", "维生素C")
    long = "A deficiency of ascorbic acid in the diet over many months leads to the disease"
    assert short_answer_correct(long, ["vitamin C", "ascorbic acid"])
    # F1("vitamin D", "vitamin C") = 0.5 reaches the reference's threshold: a known weakness of F1
    assert short_answer_correct("vitamin D", ["vitamin C"])
    assert not short_answer_correct("calciferol", ["vitamin C", "ascorbic acid"])
    assert short_answer_correct("Thiamine.", ["thiamine"])
    assert not short_answer_correct("The liver produces insulin", ["pancreas"])


def test_rule_correct_by_answer_type():
    assert rule_correct("short", "vit C", "vitamin C", aliases=["vit C"]) is True
    assert rule_correct("short", "vitamin C", None) is None  # no gold: not graded
    assert rule_correct("open", "anything", "x") is None
    assert rule_correct("mcq", "The answer is B.", "B", choices=["liver", "pancreas", "lung"]) is True
    assert rule_correct("mcq", "The answer is C.", "B", choices=["liver", "pancreas", "lung"]) is False
    assert rule_correct("yes_no_maybe", "Yes, it does.", "yes") is True
    assert rule_correct("yes_no_maybe", "No.", "maybe") is False


def test_judge_prompt_is_the_reference_wording():
    p = judge_prompt("Which vitamin?", ["vitamin C"], "ascorbic acid")
    assert "The expected answer is: vitamin C." in p and p.endswith("Respond only with yes or no.\nResponse:")
    assert "any of the expected answers" in judge_prompt("Q", ["a", "b"], "c")


@pytest.mark.parametrize("reply, value", [("85", 85.0), ("I am 90% sure", 90.0), ("0.7", 70.0),
                                          ("Confidence: 7/10", 70.0), ("none", None), ("150", None),
                                          ("100", 100.0), ("1", 1.0)])
def test_parse_confidence(reply, value):
    assert parse_confidence(reply) == value


def test_p_true_from_one_generated_token():
    assert p_true_from_token(Completion("A", [1], [math.log(0.7)])) == pytest.approx(math.log(0.7))
    assert p_true_from_token(Completion(" B", [1], [math.log(0.6)])) == pytest.approx(math.log(0.4))
    assert p_true_from_token(Completion("Maybe", [1], [-0.1])) is None
