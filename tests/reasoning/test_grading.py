"""MedCalc-Bench grading on real rows of ../shared/data/medcalc/test.parquet (gold, both limits,
values just outside), demo-calc's limits, and grading of the other answer types."""

import math

import pytest

from medtrust.data.registry import load_dataset
from medtrust.data.schema import Sample
from medtrust.reasoning.grading import (
    answer_key,
    extract_for,
    from_key,
    is_correct,
    medcalc_correct,
    parse_weeks_days,
)


@pytest.fixture(scope="module")
def medcalc(data_root):
    rows = load_dataset("medcalc", path=data_root / "medcalc", split="test")
    return {s.id: s for s in rows}


def by_type(medcalc, output_type, calculator=None):
    return [s for s in medcalc.values() if s.metadata["output_type"] == output_type
            and (calculator is None or s.metadata["calculator_id"] == calculator)]


def test_decimal_rows_inside_limits_and_just_outside(medcalc):
    rows = by_type(medcalc, "decimal")
    assert len(rows) == 627
    first = medcalc["medcalc-test-0001"]  # Cockcroft-Gault: 25.238 in [23.9761, 26.4999]
    assert (first.metadata["lower"], first.metadata["upper"]) == (23.9761, 26.4999)
    assert medcalc_correct(25.238, first) and medcalc_correct(23.9761, first) and medcalc_correct(26.4999, first)
    assert not medcalc_correct(23.9760, first) and not medcalc_correct(26.5, first)
    for s in rows:
        lo, hi, gold = s.metadata["lower"], s.metadata["upper"], float(s.answer)
        assert medcalc_correct(gold, s) and medcalc_correct(lo, s) and medcalc_correct(hi, s), s.id
        eps = max(1e-6, 1e-9 * abs(hi))
        assert not medcalc_correct(math.nextafter(lo, -math.inf) - eps, s), s.id
        assert not medcalc_correct(math.nextafter(hi, math.inf) + eps, s), s.id


def test_integer_rows_round_then_equal(medcalc):
    rows = [s for s in by_type(medcalc, "integer") if not s.answer.startswith("(")]
    assert len(rows) == 360
    s = medcalc["medcalc-test-0041"]  # calculator 4, gold 4
    assert s.answer == "4"
    assert medcalc_correct(4.0, s) and medcalc_correct(4.4, s) and medcalc_correct(3.5, s)  # round(3.5) == 4
    assert not medcalc_correct(4.6, s) and not medcalc_correct(3.0, s) and not medcalc_correct(5.0, s)
    assert not medcalc_correct(2.5, s)  # Python rounds half to even: round(2.5) == 2
    for s in rows:
        gold = int(s.answer)
        assert medcalc_correct(float(gold), s) and not medcalc_correct(gold + 1.0, s) \
            and not medcalc_correct(gold - 1.0, s), s.id


def test_date_rows_are_exact(medcalc):
    rows = by_type(medcalc, "date")
    assert len(rows) == 40
    s = medcalc["medcalc-test-0928"]
    assert s.answer == "09/23/2014"
    assert medcalc_correct("09/23/2014", s)
    assert medcalc_correct(extract_for(s, "The estimated due date is 9/23/2014."), s)
    assert medcalc_correct(extract_for(s, "September 23, 2014"), s)
    assert not medcalc_correct("09/24/2014", s) and not medcalc_correct("09/22/2014", s)
    assert not medcalc_correct(extract_for(s, "around 2014"), s)
    for s in rows:
        assert medcalc_correct(extract_for(s, f"Answer: {s.answer}"), s), s.id


def test_gestational_age_rows_compare_weeks_and_days(medcalc):
    rows = by_type(medcalc, "integer", calculator=69)
    assert len(rows) == 20 and all(s.answer_type == "date" for s in rows)
    s = medcalc["medcalc-test-1029"]
    assert s.answer == "('14 weeks', '1 days')" and parse_weeks_days(s.answer) == (14, 1)
    assert medcalc_correct((14, 1), s)
    assert medcalc_correct(extract_for(s, "The gestational age is 14 weeks and 1 day."), s)
    assert not medcalc_correct((14, 2), s) and not medcalc_correct((13, 1), s)
    for s in rows:
        w, d = parse_weeks_days(s.answer)
        assert medcalc_correct((w, d), s) and not medcalc_correct((w, d + 1), s), s.id


def test_no_answer_found_is_wrong(medcalc):
    for sid in ("medcalc-test-0001", "medcalc-test-0041", "medcalc-test-0928", "medcalc-test-1029"):
        s = medcalc[sid]
        assert extract_for(s, "I cannot compute this without more data.") is None
        assert not medcalc_correct(None, s) and not is_correct(s, None)


def test_extraction_and_grading_end_to_end_on_real_rows(medcalc):
    s = medcalc["medcalc-test-0001"]
    key = answer_key(extract_for(s, '{"step_by_step_thinking": "CrCl = ...", "answer": "25.9"}'))
    assert key == "25.9" and is_correct(s, from_key(s, key))
    key = answer_key(extract_for(s, "CrCl = (140 - 87) x 48 / (72 x 1.4) = 27.0 mL/min"))
    assert key == "27" and not is_correct(s, from_key(s, key))  # 27.0 > 26.4999


def test_demo_calc_rows_use_their_limits():
    rows = load_dataset("demo-calc", limit=20)
    for s in rows:
        lo, hi = s.metadata["lower"], s.metadata["upper"]
        assert is_correct(s, float(s.answer)) and is_correct(s, lo) and is_correct(s, hi)
        assert not is_correct(s, lo - 1e-6 * max(1, abs(lo))) and not is_correct(s, hi + 1e-6 * max(1, abs(hi)))
    bmi = rows[0]  # BMI 40.1, band [38.095, 42.105]
    assert (bmi.answer, bmi.metadata["lower"], bmi.metadata["upper"]) == ("40.1", 38.095, 42.105)
    assert is_correct(bmi, extract_for(bmi, "BMI = 125.5 / 1.77^2 = 40.06 kg/m²"))


def test_other_answer_types():
    mcq = Sample(id="q", question="?", answer="C", answer_type="mcq", choices=["a", "b", "c", "d"])
    assert is_correct(mcq, extract_for(mcq, "The answer is (C)")) and not is_correct(mcq, "B")
    yn = Sample(id="y", question="?", answer="maybe", answer_type="yes_no_maybe", choices=["yes", "no", "maybe"])
    assert extract_for(yn, "Answer: C") == "maybe"  # the option letter of a listed yes/no/maybe
    assert is_correct(yn, extract_for(yn, "The evidence is mixed, so the answer is maybe."))
    assert not is_correct(yn, extract_for(yn, "yes"))
    short = Sample(id="s", question="?", answer="Aspirin", answer_type="short", aliases=["acetylsalicylic acid"])
    assert is_correct(short, "aspirin.") and is_correct(short, "Acetylsalicylic acid") and not is_correct(short, "x")
    assert answer_key(12.0) == answer_key(12) == "12" and answer_key(None) is None
    assert answer_key((4, 3)) == "(4, 3)"
