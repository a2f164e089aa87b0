"""lm-evaluation-harness prompt formats and choice picking (strings written out by hand from the
harness's task configs), and PubMedQA abstracts rebuilt exactly from the real file."""

import json

import pytest

from medtrust.data.registry import load_dataset
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.reasoning.harness import abstract_text, gold_index, harness_request, pick

MCQ = Sample(id="x", question="Which ion?", answer="B", answer_type="mcq", choices=["Na", "K", "Ca", "Mg"],
             metadata={"subject": "clinical_knowledge"})


def test_medqa_format():
    ctx, choices = harness_request(MCQ, "medqa")
    assert ctx == "Question: Which ion?\nA. Na\nB. K\nC. Ca\nD. Mg\nAnswer:"
    assert choices == ["A", "B", "C", "D"]


def test_medmcqa_format():
    ctx, _ = harness_request(MCQ, "medmcqa")
    assert ctx == "Question: Which ion?\nChoices:\nA. Na\nB. K\nC. Ca\nD. Mg\nAnswer:"


def test_mmlu_format_has_the_subject_description():
    q = MCQ.model_copy(update={"question": "  Which ion?\n"})
    from medtrust.data.registry import get_spec
    assert get_spec("mmlu-medical").harness_task == "mmlu" and get_spec("medqa").harness_metrics == ("acc", "acc_norm")
    ctx, _ = harness_request(q, get_spec("mmlu-medical").harness_task)
    assert ctx == ("The following are multiple choice questions (with answers) about clinical knowledge.\n\n"
                   "Which ion?\nA. Na\nB. K\nC. Ca\nD. Mg\nAnswer:")


def test_pubmedqa_format_and_choices():
    s = Sample(id="p", question="Does it work?", answer="no", answer_type="yes_no_maybe",
               choices=["yes", "no", "maybe"], context="BACKGROUND: First part.\nRESULTS: Second: part.",
               metadata={"section_labels": ["BACKGROUND", "RESULTS"]})
    ctx, choices = harness_request(s, "pubmedqa")
    assert ctx == "Abstract: First part.\nSecond: part.\nQuestion: Does it work?\nAnswer:"
    assert choices == ["yes", "no", "maybe"] and gold_index(s, choices) == 1


def test_pubmedqa_abstracts_match_the_upstream_contexts(data_root):
    raw = json.loads((data_root / "pubmedqa" / "ori_pqal.json").read_text())
    samples = load_dataset("pubmedqa", path=data_root / "pubmedqa", split="all")
    assert len(samples) == 1000
    for s in samples:
        rec = raw[s.metadata["pubid"]]
        assert s.metadata["section_labels"] == rec["LABELS"]
        assert abstract_text(s.context, s.metadata["section_labels"]) == "\n".join(rec["CONTEXTS"]), s.id
    assert abstract_text("no labels here", []) == "no labels here"
    assert abstract_text("X: a\nY: b", ["X", "Z"]) == "X: a\nY: b"  # not the loader's layout: unchanged


def test_pick_acc_and_acc_norm():
    # acc: highest sum; acc_norm: highest sum / len(choice) in characters
    assert pick([-1.0, -2.0, -3.0], ["yes", "no", "maybe"]) == (0, 0)  # -1/3, -2/2, -3/5: yes both ways
    assert pick([-6.0, -4.0, -7.5], ["yes", "no", "maybe"]) == (1, 2)  # -2.0, -2.0, -1.5 -> maybe
    assert pick([-2.0, -2.0], ["A", "B"]) == (0, 0)  # ties go to the first, as numpy's argmax


def test_open_questions_are_refused():
    s = Sample(id="n", question="BMI?", answer="20", answer_type="numeric")
    with pytest.raises(MedtrustError, match="--scoring generate"):
        harness_request(s, "demo-calc")
