"""The shared text rules: normalisers and the one yes/no reader (strict and lenient)."""

from __future__ import annotations

import pytest

from medtrust.text import normalize_answer, normalize_response, normalize_unicode, normalize_words, parse_yes_no


def test_normalisers_by_hand():
    assert normalize_answer("The  Vitamin-C!") == "vitaminc"
    assert normalize_answer("An apple, a pear and THE plum.") == "apple pear and plum"
    assert normalize_unicode("\uff21\uff0e \u2212 3\u20444\u00a0x") == "A. - 3/4 x"
    assert normalize_words("A red_circle, (big).") == "a red circle big"
    assert normalize_response("I\u2019m  \u201cNOT\u201d\tsure\nOK ") == "i'm \"not\" sure\nok"


@pytest.mark.parametrize("text, strict, lenient", [
    ("Yes, they do.", "yes", "yes"), ("No.", "no", "no"), ("I cannot tell", None, "no"),
    ("Respond: yes", "yes", "yes"), ("是的", "yes", "yes"), ("否", "no", "no"), ("不是", "no", "no"),
    ("There is no circle.", "no", "no"), ("A circle is present.", None, "yes"), ("", None, None),
    ("The two answers are not the same thing at all, so no", None, "no")])
def test_parse_yes_no_strict_and_lenient(text, strict, lenient):
    assert parse_yes_no(text) == strict
    assert parse_yes_no(text, lenient=True) == lenient
