"""Answer extraction on hand-written outputs: the usual forms, messy ones, Chinese, and texts that
name no answer (those must give None, never a guess)."""

import pytest

from medtrust.reasoning.extract import (
    answer_region,
    extract_answer,
    extract_choice,
    extract_date,
    extract_number,
    extract_short,
    extract_weeks_days,
    extract_yes_no,
    parse_number,
    split_think,
)

OPTS = ["Hypokalaemia", "Hypercalcaemia", "Hyperkalaemia", "Hyponatraemia"]

CHOICE_CASES = [
    # bare letters in their usual dress
    ("B", None, "B"),
    ("(B)", None, "B"),
    ("B.", None, "B"),
    ("B)", None, "B"),
    ("[C]", None, "C"),
    ("  d  ", None, "D"),
    ("**B**", None, "B"),
    ("Ｃ", None, "C"),  # full-width letter
    ("B. Hypercalcaemia", OPTS, "B"),
    ("C: Hyperkalaemia", OPTS, "C"),
    # explicit statements
    ("The answer is B", None, "B"),
    ("The answer is (C).", None, "C"),
    ("Answer: b", None, "B"),
    ("answer: (d)", None, "D"),
    ("The correct answer is option A because potassium is high.", None, "A"),
    ("Final answer: D", None, "D"),
    ("The best answer would be C.", None, "C"),
    ("I would choose B.", None, "B"),
    ("I'd go with option D here.", None, "D"),
    ("So the answer is **C**.", None, "C"),
    ("The answer is \\boxed{A}", None, "A"),
    ("Option C is correct.", None, "C"),
    ("B is the correct answer.", None, "B"),
    ('{"step_by_step_thinking": "potassium", "answer": "C"}', None, "C"),
    ("<think>Peaked T waves mean potassium is high, so C.</think><answer>C</answer>", OPTS, "C"),
    ("<think>Could be A. Or B?</think>\nThe answer is D.", None, "D"),
    # the final answer wins; negations do not count
    ("I think it's B, not C.", None, "B"),
    ("The answer is A. Wait, let me re-check. Actually the answer is C.", None, "C"),
    ("It is not A. The answer is D.", None, "D"),
    ("The answer is not C, it's B.", None, "B"),
    ("Let's think. Option A is wrong, option B is wrong. Therefore, D.", None, "D"),
    # option text instead of the letter
    ("The answer is hyperkalaemia.", OPTS, "C"),
    ("Hyperkalaemia", OPTS, "C"),
    ("hyponatraemia.", OPTS, "D"),
    ("It's hypercalcaemia, not hypokalaemia.", OPTS, "B"),
    ("Peaked T waves are the classic sign of hyperkalaemia.", OPTS, "C"),
    ("The answer is Mitral valve", ["Aortic valve", "Tricuspid valve", "Pulmonary valve", "Mitral valve"], "D"),
    # Chinese
    ("答案是B", None, "B"),
    ("答案：C", None, "C"),
    ("答案为 D。", None, "D"),
    ("正确答案是（A）", None, "A"),
    ("选B", None, "B"),
    ("故选C。", None, "C"),
    ("应选择D项", None, "D"),
    ("我选A，不是B。", None, "A"),
    ("高钾血症会引起T波高尖，所以答案是C。", None, "C"),
    ("答案是高钾血症", ["低钾血症", "高钙血症", "高钾血症", "低钠血症"], "C"),
    ("B项正确", None, "B"),
    # letters outside the options do not count
    ("The answer is E", OPTS, None),
    # no answer named
    ("", None, None),
    ("   ", None, None),
    ("I don't know.", None, None),
    ("A patient with chest pain should be assessed quickly.", None, None),
    ("This question is ambiguous and I cannot answer it.", OPTS, None),
    ("The answer is a bit unclear to me.", None, None),
    ("Both hypokalaemia and hyperkalaemia change the ECG.", OPTS, None),
    ("我不确定。", None, None),
    ("<think>Let me think about potassium and calcium", OPTS, None),  # cut off inside the trace
    ("None of the above.", OPTS, None),
    ("A. Hypokalaemia\nB. Hypercalcaemia\nC. Hyperkalaemia", OPTS, None),  # the options repeated back
    ("(A) hypokalaemia (B) hypercalcaemia", OPTS, None),
    ("Answer: A and B", None, None),
    ("Step 1: consider A. Step 2: consider B.", None, None),
    ("I choose a drug that lowers potassium.", None, None),
    # more real-output shapes
    ("A is incorrect. B is incorrect. C is correct.", None, "C"),
    ("The correct option is: C) Hyperkalaemia", OPTS, "C"),
    ("The answer is: **C. Hyperkalaemia**", OPTS, "C"),
    ("Based on this, the most likely diagnosis is hyperkalaemia (C).", OPTS, "C"),
    ("Answer:\n\nC", None, "C"),
    # a leading option, then a different explicit statement: the statement (the later answer) wins
    ("A. Dabigatran\n\nThe correct answer is D. Warfarin", None, "D"),
    ("A. Protamine\nStep 1: The correct answer is A.\nStep 2: The correct answer is C.\nStep 3: The answer is",
     None, "C"),
]


@pytest.mark.parametrize("text,choices,expected", CHOICE_CASES)
def test_extract_choice(text, choices, expected):
    assert extract_choice(text, choices) == expected


YES_NO_CASES = [
    ("Yes", True, "yes"),
    ("no.", True, "no"),
    ("Maybe", True, "maybe"),
    ("Yes, the trial showed a benefit.", True, "yes"),
    ("No, there was no difference.", True, "no"),
    ("**Yes**", True, "yes"),
    ("Answer: no", True, "no"),
    ("The answer is maybe.", True, "maybe"),
    ("There is no evidence of harm, so the answer is yes.", True, "yes"),
    ("No evidence was found. Therefore, maybe.", True, "maybe"),
    ("Let me think step by step.\nThe data are mixed.\nFinal answer: No", True, "no"),
    ("<think>The cohort is small.</think><answer>yes</answer>", True, "yes"),
    ('{"answer": "no"}', True, "no"),
    ("答案：否", True, "no"),
    ("答案是：是", True, "yes"),
    ("是的，研究支持这个结论。", True, "yes"),
    ("不是。", True, "no"),
    ("不确定", True, "maybe"),
    ("可能", True, "maybe"),
    ("The answer is maybe.", False, None),
    ("不确定", False, None),
    ("The study enrolled 200 patients.", True, None),
    ("No evidence either way.", True, None),
    ("", True, None),
    ("这是一个关于他汀类药物的研究。", True, None),
]


@pytest.mark.parametrize("text,allow_maybe,expected", YES_NO_CASES)
def test_extract_yes_no(text, allow_maybe, expected):
    assert extract_yes_no(text, allow_maybe=allow_maybe) == expected


NUMBER_CASES = [
    ("42", 42.0),
    ("-3.5", -3.5),
    ("The answer is 1,234.5 mL/min.", 1234.5),
    ("Creatinine clearance = 85.3 mL/min", 85.3),
    ("BMI = 70 / 1.75^2 = 22.86 kg/m²", 22.86),
    ("3/4", 0.75),
    ("The ratio is 1/2.", 0.5),
    ("1.2e-3", 0.0012),
    ("2.5 x 10^-3 mol", 0.0025),
    ("The count is 4.5 × 10⁹/L", 4.5e9),
    ("The anion gap is approximately 12 mEq/L (normal 8-12).", 12.0),
    ("Step 1: 140 - 60 = 80. Step 2: 80 x 70 = 5600. Final answer: 77.8", 77.8),
    ("The patient scores 3 out of 5 criteria.", 3.0),
    ("The MAP is 93.3 mmHg", 93.3),
    ("答案是 25.4", 25.4),
    ("计算得出肌酐清除率约为 60 mL/min。", 60.0),
    ("FENa is 0.5%", 0.5),
    ("Serum osmolality: 290 mOsm/kg", 290.0),
    ("{\"answer\": \"7.25\"}", 7.25),
    ("The QTc is −12 ms shorter", -12.0),
    ("The value is .5", 0.5),
    ("120,000 platelets", 120000.0),
    ("The date is 09/23/2014", None),
    # issue 15: a rounding instruction and a blood pressure are not answers
    ("MAP = (108 + 2 x 69) / 3 = 82. The answer is rounded to 1 decimal place.", 82.0),
    ("The answer is 82.0, rounded to one decimal place.", 82.0),
    ("Blood pressure 108/69 mmHg, so the MAP is 82 mmHg", 82.0),
    ("BP 108/69 mmHg", None),
    ("Give the answer to 2 significant figures: 0.53", 0.53),
    ("No calculation is possible without the weight.", None),
    ("", None),
]


@pytest.mark.parametrize("text,expected", NUMBER_CASES)
def test_extract_number(text, expected):
    got = extract_number(text)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, rel=1e-12)


def test_parse_number_forms():
    assert parse_number("1,234,567") == 1234567.0
    assert parse_number("1 234") == 1234.0
    assert parse_number("½") == 0.5
    assert parse_number("10^3") == 1000.0
    assert parse_number("3.0E2") == 300.0
    assert parse_number("abc") is None


DATE_CASES = [
    ("09/23/2014", "09/23/2014"),
    ("The due date is 9/3/2021.", "09/03/2021"),
    ("2014-09-23", "09/23/2014"),
    ("Estimated date of conception: September 23, 2014", "09/23/2014"),
    ("It is 3rd of Sept 2021", "09/03/2021"),
    ("预产期是2021年9月3日", "09/03/2021"),
    ("LMP 01/01/2020, so the due date is 10/07/2020", "10/07/2020"),
    ("The date is 02/30/2020", None),  # no such day
    ("in about nine months", None),
]


@pytest.mark.parametrize("text,expected", DATE_CASES)
def test_extract_date(text, expected):
    assert extract_date(text) == expected


WEEKS_CASES = [
    ("('4 weeks', '3 days')", (4, 3)),
    ("The gestational age is 14 weeks and 1 day.", (14, 1)),
    ("(0, 6)", (0, 6)),
    ("妊娠 12周3天", (12, 3)),
    ("about 6 weeks", (6, 0)),
    ("unknown", None),
]


@pytest.mark.parametrize("text,expected", WEEKS_CASES)
def test_extract_weeks_days(text, expected):
    assert extract_weeks_days(text) == expected


def test_split_think_forms():
    assert split_think("<think>a</think>b") == ("a", "b")
    assert split_think("reasoning here</think>final") == ("reasoning here", "final")
    assert split_think("<think>cut off") == ("cut off", "")
    assert split_think("no tags") == (None, "no tags")
    assert answer_region("<think>x</think><answer> B </answer>") == "B"


def test_extract_answer_dispatches_on_answer_type():
    assert extract_answer("Answer: C", "mcq", OPTS) == "C"
    assert extract_answer("maybe", "yes_no_maybe") == "maybe"
    assert extract_answer("maybe", "yes_no") is None
    assert extract_answer("= 12.5", "numeric") == 12.5
    assert extract_answer("10/07/2020", "date") == "10/07/2020"
    assert extract_answer("(4 weeks, 2 days)", "date") == (4, 2)


SHORT_CASES = [
    ("Blue", "Blue"),
    ("Red.", "Red"),
    ("  a triangle  ", "a triangle"),
    ("Answer: red", "red"),
    ("The arrow points at the star.\nAnswer: **yellow**.", "yellow"),
    ("Let me look.\nThe final answer is a circle", "a circle"),
    ("Answer:\n\n2", "2"),
    ("图中箭头指向一个图形。\n答案：红色。", "红色"),
    ("答案是三角形", "三角形"),
    ("<think>three corners</think><answer>triangle</answer>", "triangle"),
    ("The answer is red. Wait, the answer is blue.", "blue"),
    ("The image shows several shapes.\nSome of them are coloured.", None),
    ("", None),
    ("Answer:", None),
    ("<think>still thinking", None),
]


@pytest.mark.parametrize("text,expected", SHORT_CASES)
def test_extract_short(text, expected):
    assert extract_short(text) == expected
    assert extract_answer(text, "short") == expected


def test_case_count_meets_the_bar():
    assert len(CHOICE_CASES) + len(YES_NO_CASES) + len(NUMBER_CASES) + len(DATE_CASES) + len(WEEKS_CASES) >= 60


def test_an_option_list_cut_off_by_the_token_limit_is_no_answer():
    from medtrust.data.schema import Sample
    from medtrust.reasoning.scoring import parse_output
    from medtrust.reasoning.strategies import parse_strategies
    from medtrust.runs.records import Output
    sample = Sample(id="q", question="Which?", answer="C", answer_type="mcq", choices=["low K", "normal K", "high K"])
    cot = parse_strategies("cot")[0]
    listed = "Let's consider each option.\nA. low K: unlikely\nB. normal K: no\nC. high K: the"
    cut = parse_output(sample, cot, Output(text=listed, finish_reason="length"), 0)
    assert cut["extracted"] is None and cut["correct"] is False
    walk = ("Step 1: The correct answer is A. low K.\nStep 2: The correct answer is B. normal K.\n"
            "Step 3: The correct answer is C. high K.\nStep ")  # a demo-mcq output (issue 15)
    assert parse_output(sample, cot, Output(text=walk, finish_reason="length"), 0)["extracted"] is None
    assert parse_output(sample, cot, Output(text=walk, finish_reason="stop"), 0)["extracted"] == "C"
    whole = parse_output(sample, cot, Output(text=listed + " ECG fits.\nThe answer is C.", finish_reason="stop"), 0)
    assert whole["extracted"] == "C" and whole["correct"] is True


@pytest.mark.parametrize("text, finish, expected", [
    # demo-calc outputs of the embedded model (issue 15): cut off, only a stated answer counts
    ("A patient weighing 62.7 kg is prescribed ondansetron", "length", None),
    ("4. 62.7 kg * 4 mg/kg = 24.2 mg\n5. Now, we can find", "length", None),
    ("The answer is 125.6 cm².\n\nThe answer is 1", "length", None),
    ("Albumin-corrected calcium = 16.0 g/dL\n\nThe answer is 16.0 g/dL.\n\nNext", "length", "16"),
    # the same texts, finished: the usual rules
    ("A patient weighing 62.7 kg is prescribed ondansetron", "stop", "62.7"),
    ("4. 62.7 kg * 4 mg/kg = 24.2 mg", "stop", "24.2"),
])
def test_a_numeric_answer_cut_off_by_the_token_limit_counts_only_when_stated(text, finish, expected):
    from medtrust.data.schema import Sample
    from medtrust.reasoning.scoring import parse_output
    from medtrust.reasoning.strategies import parse_strategies
    from medtrust.runs.records import Output
    sample = Sample(id="c", question="Dose?", answer="4.0", answer_type="numeric")
    got = parse_output(sample, parse_strategies("cot")[0], Output(text=text, finish_reason=finish), 0)["extracted"]
    assert got == expected
