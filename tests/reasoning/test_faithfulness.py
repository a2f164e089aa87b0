"""Early answering (Lanham et al. 2023) on a scripted backend, and self-correction counts."""

import pytest

from medtrust.pipeline import execute
from medtrust.reasoning.faithfulness import (
    aoc,
    count_self_corrections,
    early_answering_result,
    plan_truncations,
    reasoning_trace,
)
from medtrust.reasoning.study import ReasoningConfig, ReasoningStudy

TRACE = "The ECG shows peaked T waves. This means potassium is high. So it is hyperkalaemia."


def test_reasoning_trace_drops_the_answer_line():
    assert reasoning_trace(TRACE + "\nAnswer: C") == TRACE
    assert reasoning_trace("Step 1.\n**Final answer:** B") == "Step 1."
    assert reasoning_trace("推理过程。\n答案：C") == "推理过程。"
    assert reasoning_trace("No answer line here.") == "No answer line here."


def test_truncation_points_in_words():
    texts, kept, unit = plan_truncations(TRACE, [0, 0.25, 0.5, 0.75, 1])
    assert unit == "words" and kept == [0, 4, 8, 11, 15]  # 15 words; round(3.75)=4, round(7.5)=8, round(11.25)=11
    assert texts[0] == "" and texts[1] == "The ECG shows peaked"
    assert texts[3] == "The ECG shows peaked T waves. This means potassium is high." and texts[4] == TRACE


def test_aoc_by_hand():
    assert aoc([0, 0.25, 0.5, 0.75, 1], [0, 0, 0, 1, 1]) == pytest.approx(0.625)
    assert aoc([0, 0.25, 0.5, 0.75, 1], [1, 1, 1, 1, 1]) == 0.0  # answer never depends on the reasoning
    assert aoc([0, 1], [0, 1]) == pytest.approx(0.5)
    r = early_answering_result([0, 1], [0, 3], ["a", "b"], ["A", "C"], "C", "words")
    assert [p["same"] for p in r["points"]] == [False, True] and r["aoc"] == pytest.approx(0.5)
    assert early_answering_result([0, 1], [0, 3], ["a", "b"], ["A", "C"], None, "words")["aoc"] is None


def test_early_answering_on_a_scripted_backend(tmp_path, scripted):
    backend = scripted()
    cfg = ReasoningConfig(dataset="demo-mcq", limit=2, strategies="cot", runs_dir=str(tmp_path), cache=False)
    run = execute(ReasoningStudy(), cfg, backend=backend, progress=False)
    from medtrust.reasoning.study import ReasoningRecord
    recs = run.records(ReasoningRecord)
    assert [r.id for r in recs] == ["mcq-001::cot", "mcq-002::cot"]
    saved = recs[0].extras.early  # what generate saved: the cut points and the forced answers
    assert [p["kept"] for p in saved["points"]] == [0, 4, 8, 11, 15] and set(saved["points"][0]) == {
        "fraction", "kept", "output"}
    early = recs[0].scores["early"]  # what score made of them
    assert early["unit"] == "words" and early["full_answer"] == "C"
    assert [p["kept"] for p in early["points"]] == [0, 4, 8, 11, 15]
    assert [p["answer"] for p in early["points"]] == ["A", "A", "A", "C", "C"]
    assert [p["same"] for p in early["points"]] == [False, False, False, True, True]
    assert early["aoc"] == pytest.approx(0.625)
    forced = [r for r in backend.requests if "Stop reasoning" in r.messages[-1]["content"]]
    assert len(forced) == 2 * 5
    assert all(r.temperature == 0.0 and r.max_tokens == 16 and r.n == 1 for r in forced)
    assert forced[3].messages[-2] == {"role": "assistant",
                                      "content": "The ECG shows peaked T waves. This means potassium is high."}
    m = run.results["metrics"]["cot"]["early_answering"]
    assert m["aoc"]["value"] == pytest.approx(0.625)
    assert m["changed_at_0%"]["value"] == 1.0 and m["changed_at_75%"]["value"] == 0.0


def test_self_correction_counts():
    text = ("Wait, that is odd. Let me re-check the potassium. Actually it is high. Hmm. "
            "等等，让我再检查一下。其实不对。")
    assert count_self_corrections(text) == {"wait": 1, "let me re-check": 1, "actually": 1, "hmm": 1,
                                            "等等": 1, "让我再检查": 1, "不对": 1, "实际上": 1}
    assert count_self_corrections("The answer is B.") == {}
    assert count_self_corrections(None) == {}


def test_early_limit_counts_chains_per_strategy_across_batches_and_resume(tmp_path, scripted):
    cfg = ReasoningConfig(dataset="demo-mcq", limit=5, strategies="cot", runs_dir=str(tmp_path), cache=False,
                          batch_size=2, early_limit=3)
    run = execute(ReasoningStudy(), cfg, backend=scripted(), progress=False)
    with_early = [r["id"] for r in run.samples() if r["extras"].get("early")]
    assert with_early == ["mcq-001::cot", "mcq-002::cot", "mcq-003::cot"]
    assert run.results["metrics"]["cot"]["early_answering"]["aoc"]["n"] == 3
    from medtrust.reasoning.study import early_limit
    assert early_limit(ReasoningConfig()) == 32 and early_limit(ReasoningConfig(model="openai/x")) == 0
    assert early_limit(ReasoningConfig(early_limit=0)) == 0
