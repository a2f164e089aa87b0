"""The reasoning study end to end on a scripted backend: records per (question, strategy),
self-consistency votes, think traces, few-shot prompts, resume, log-likelihood scoring, re-scoring."""

import json

import pytest

from medtrust.errors import Interrupted
from medtrust.models.base import Completion
from medtrust.pipeline import execute, rescore
from medtrust.reasoning.study import ReasoningConfig, ReasoningRecord, ReasoningStudy
from medtrust.runs.folder import RunFolder

GOLD = {"mcq-001": "C", "mcq-002": "D", "mcq-003": "D", "mcq-004": "A"}


def run_study(tmp_path, backend, **kw):
    cfg = ReasoningConfig(dataset=kw.pop("dataset", "demo-mcq"), runs_dir=str(tmp_path), cache=False, **kw)
    return execute(ReasoningStudy(), cfg, backend=backend, progress=False)


def records(run) -> list[ReasoningRecord]:
    return run.records(ReasoningRecord)


def test_records_per_question_and_strategy(tmp_path, scripted):
    backend = scripted(sc_script=[("C", -1.0), ("B", -2.0), ("C", -3.0)])
    run = run_study(tmp_path, backend, limit=4, strategies="direct,cot,sc:3")
    recs = {r.id: r for r in records(run)}
    assert sorted(recs) == sorted(f"{q}::{s}" for q in GOLD for s in ("direct", "cot", "sc:3"))
    for q, gold in GOLD.items():
        d, c, sc = recs[f"{q}::direct"], recs[f"{q}::cot"], recs[f"{q}::sc:3"]
        assert (d.variant, d.sample_id, d.sample.answer) == ("direct", q, gold)
        assert d.outputs[0].text == "C" and d.extras.kind == "direct" and d.prompt[-1]["role"] == "user"
        d, c, sc = d.scores, c.scores, sc.scores
        assert (d["extracted"], d["correct"]) == ("C", gold == "C")
        assert d["trace"] is None and d["output_tokens"] == 1
        assert c["trace"] == "The ECG shows peaked T waves. This means potassium is high. So it is hyperkalaemia."
        assert c["trace_tokens"] == 15 and c["output_tokens"] == 25 and c["logprob"] == pytest.approx(-7.5)
        assert sc["vote"]["votes"] == {"C": 2, "B": 1} and sc["extracted"] == "C"
        assert sc["vote"]["agreement"] == pytest.approx(2 / 3) and sc["output_tokens"] == 30
        assert [s["extracted"] for s in sc["samples"]] == ["C", "B", "C"]
        assert sc["self_corrections"] == {"wait": 3}
    m = run.results["metrics"]
    assert m["direct"]["accuracy"]["value"] == 0.25 and m["direct"]["accuracy"]["n"] == 4
    assert m["sc:3"]["sc_agreement"]["value"] == pytest.approx(2 / 3)
    assert m["sc:3"]["sc_sample_accuracy"]["value"] == pytest.approx(2 / 12)
    assert m["cot"]["tokens_per_answer"]["value"] == 25.0
    sc_requests = [r for r in backend.requests if r.n == 3]
    assert len(sc_requests) == 4 and all(r.temperature == 0.7 and r.max_tokens == 128 for r in sc_requests)
    direct = [r for r in backend.requests if r.max_tokens == 16 and "Reply with" in r.messages[-1]["content"]]
    assert len(direct) == 4 and all(r.temperature == 0.0 for r in direct)
    assert run.report_path.exists() and "Self-consistency" in run.report_path.read_text()


def test_self_consistency_tie_is_broken_by_log_probability_and_reported(tmp_path, scripted):
    backend = scripted(sc_script=[("A", -5.0), ("C", -2.0)])
    run = run_study(tmp_path, backend, limit=1, strategies="sc:2", faithfulness=False)
    rec = records(run)[0].scores
    assert rec["vote"]["tie"] is True and rec["vote"]["tie_break"] == "logprob"
    assert rec["vote"]["tie_logprobs"] == pytest.approx({"A": -5.0, "C": -2.0})
    assert rec["extracted"] == "C" and rec["correct"] is True
    assert run.results["metrics"]["sc:2"]["sc_ties"]["value"] == 1


def test_think_strategy_and_provider_reasoning_field(tmp_path, scripted):
    run = run_study(tmp_path, scripted(), limit=1, strategies="think")
    rec = records(run)[0].scores
    assert rec["trace"] == "Peaked T waves: potassium is high." and rec["extracted"] == "C"
    assert rec["early"]["full_answer"] == "C"

    class Reasoner(scripted):
        def generate(self, requests, progress=None):
            return [[Completion(text="The answer is D.", reasoning="Rheumatic fever scars the mitral valve.")]
                    for _ in requests]
    run = run_study(tmp_path, Reasoner(), limit=2, strategies="cot", faithfulness=False)
    rec = records(run)[1]
    assert rec.outputs[0].reasoning == "Rheumatic fever scars the mitral valve."
    rec = rec.scores
    assert rec["trace"] == "Rheumatic fever scars the mitral valve." and rec["extracted"] == "D" and rec["correct"]


def test_few_shot_cot_uses_the_train_split(tmp_path, scripted):
    backend = scripted()
    run = run_study(tmp_path, backend, limit=1, strategies="few-shot-cot", shots=2, faithfulness=False)
    rec = records(run)[0]
    assert rec.extras.few_shot_source == "train split"
    roles = [m["role"] for m in rec.prompt]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    assert "Which blood cells are primarily responsible" in rec.prompt[0]["content"]
    assert rec.prompt[1]["content"].endswith("Platelets does.\nAnswer: D")
    assert rec.prompt[3]["content"].endswith("Answer: B")


def test_chinese_prompts_and_answers(tmp_path, scripted):
    run = run_study(tmp_path, scripted(), limit=1, strategies="direct,cot", lang="zh", faithfulness=False)
    recs = {r.variant: r for r in records(run)}
    assert recs["cot"].prompt[-1]["content"].endswith(
        "请逐步思考，然后在最后一行以\"答案：<正确选项的字母>\"的形式给出最终答案。")
    assert recs["cot"].scores["extracted"] == "C" and recs["cot"].scores["correct"]
    assert recs["cot"].scores["self_corrections"] == {"等等": 1}
    assert recs["direct"].prompt[-1]["content"].endswith("只回答正确选项的字母，不要解释。")


class StopAfter:
    """Wraps a scripted backend: raises KeyboardInterrupt on call number ``calls`` + 1."""

    def __init__(self, inner, calls):
        self.inner, self.calls, self.name, self.capabilities = inner, calls, inner.name, inner.capabilities

    def generate(self, requests, progress=None):
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        return self.inner.generate(requests)


def test_resume_asks_only_what_is_missing(tmp_path, scripted):
    cfg = ReasoningConfig(dataset="demo-mcq", limit=4, strategies="direct,cot", runs_dir=str(tmp_path), cache=False,
                          batch_size=2, faithfulness=False)
    with pytest.raises(Interrupted):
        execute(ReasoningStudy(), cfg, backend=StopAfter(scripted(), 1), progress=False)
    folder = next(tmp_path.iterdir())
    assert sorted(RunFolder(folder).done_ids()) == ["mcq-001::cot", "mcq-001::direct", "mcq-002::cot",
                                                    "mcq-002::direct"]
    # a half-finished question: only its missing strategy is asked again
    lines = (folder / "samples.jsonl").read_text().splitlines()
    extra = json.loads(lines[0])
    assert extra["id"] == "mcq-001::direct"
    extra.update(id="mcq-003::direct", sample_id="mcq-003")
    (folder / "samples.jsonl").write_text("\n".join(lines + [json.dumps(extra)]) + "\n")
    backend = scripted()
    run = execute(ReasoningStudy(), cfg, resume=str(folder), backend=backend, progress=False)
    asked = [(r.messages[-1]["content"].split("\n")[0], "step by step" in r.messages[-1]["content"])
             for r in backend.requests]
    assert len(asked) == 3 and sum(cot for _, cot in asked) == 2  # mcq-003 cot, mcq-004 direct + cot
    assert len(records(run)) == 8


def test_loglik_scoring(tmp_path, scripted):
    backend = scripted(loglik_script={4: [-3.0, -1.0, -2.0, -4.0]})
    run = run_study(tmp_path, backend, limit=4, scoring="loglik")
    recs = records(run)
    assert [r.id for r in recs] == [f"{q}::loglik" for q in GOLD]
    r, ll = recs[0].scores, recs[0].extras.loglik
    assert ll.continuations == [" A", " B", " C", " D"] and r["extracted"] == "B" and r["extracted_norm"] == "B"
    assert ll.logprobs == [-3.0, -1.0, -2.0, -4.0] and not recs[0].outputs
    assert ll.context.startswith("Question: Which electrolyte abnormality") and ll.context.endswith("\nAnswer:")
    assert [x.scores["correct"] for x in recs] == [False, False, False, False]
    m = run.results["metrics"]["loglik"]
    assert m["accuracy"]["value"] == 0.0 and m["accuracy_norm"]["value"] == 0.0
    assert not [q for q in backend.requests if hasattr(q, "messages")]  # nothing generated


def test_loglik_needs_the_capability_before_anything_runs(cli, tmp_path):
    code, out, err = cli("reasoning", "--model", "openai/gpt-4o-mini", "--dataset", "demo-mcq", "--scoring", "loglik",
                         "--runs-dir", str(tmp_path))
    assert code == 2 and "choice_loglik" in err and "Fix:" in err
    assert not list(tmp_path.iterdir())


def test_bad_strategy_is_one_clear_error(cli, tmp_path):
    code, out, err = cli("reasoning", "--dataset", "demo-mcq", "--strategies", "direct,tot", "--runs-dir",
                         str(tmp_path))
    assert code == 2 and "Unknown strategy 'tot'" in err and "sc:N" in err
    code, out, err = cli("reasoning", "--dataset", "demo-mcq", "--strategies", "sc:1", "--runs-dir", str(tmp_path))
    assert code == 2 and "at least 2 samples" in err


def test_rescore_extracts_again_without_the_model(tmp_path, scripted):
    run = run_study(tmp_path, scripted(), limit=2, strategies="direct", faithfulness=False)
    saved = records(run)
    saved[1].outputs[0].text = "I think it's D, not C."
    saved[1].scores["correct"] = False
    run.rewrite_samples(saved)
    new = rescore(ReasoningStudy(), str(run.path), {"runs_dir": str(tmp_path / "re")}, progress=False)
    rec = {r.id: r for r in records(new)}["mcq-002::direct"].scores
    assert rec["extracted"] == "D" and rec["correct"] is True
    assert new.results["metrics"]["direct"]["accuracy"]["value"] == 1.0


def test_default_token_budgets_depend_on_the_model():
    from medtrust.reasoning.strategies import default_max_tokens, parse_strategies
    from medtrust.reasoning.study import _max_tokens
    sc, direct = parse_strategies("sc:5,direct")
    assert default_max_tokens("cot", "embedded") == 128 and default_max_tokens("cot", "hf/Qwen/Qwen2.5-7B") == 1024
    assert _max_tokens(sc, ReasoningConfig(model="openai/gpt-4o")) == 1024
    assert _max_tokens(direct, ReasoningConfig(model="openai/gpt-4o")) == 32
    assert _max_tokens(sc, ReasoningConfig(max_tokens=300)) == 300
    assert _max_tokens(direct, ReasoningConfig(max_tokens=300)) == 16  # --max-tokens is for chains of thought
    assert _max_tokens(direct, ReasoningConfig(direct_max_tokens=8)) == 8
