"""The whole study on the embedded model and demo-qa (small), re-scoring, the report and the CLI."""

from __future__ import annotations

import json

import pytest

from medtrust.hallucination.estimators import ESTIMATORS
from medtrust.hallucination.study import HallucinationConfig, HallucinationRecord, HallucinationStudy
from medtrust.pipeline import execute, rescore
from medtrust.runs.folder import RunFolder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, embedded):
    runs = tmp_path_factory.mktemp("hruns")
    cfg = HallucinationConfig(model="embedded", dataset="demo-qa", limit=4, samples=3, max_tokens=10,
                              probe_train_limit=6, runs_dir=str(runs), cache=False)
    return execute(HallucinationStudy(), cfg, progress=False, backend=embedded)


def test_saved_records_hold_what_the_issue_lists(small_run):
    records = small_run.records(HallucinationRecord)
    assert [r.extras.role for r in records].count("train") == 6 and len(records) == 10
    for r in records:
        x = r.extras
        assert r.sample.question and r.sample.answer_text() and x.low_t_answer.text is not None
        assert len(r.outputs) == 3 and len(x.clusters) == 3 and all(isinstance(c, int) for c in x.clusters)
        assert r.prompt and r.prompt[-1]["role"] == "user" and r.sample.question in r.prompt[-1]["content"]
        for a in [*r.outputs, x.low_t_answer]:
            assert len(a.token_logprobs) == len(a.token_ids)
        assert set(r.scores) == {"correct", *ESTIMATORS}
        assert (r.scores["verbalized_confidence"] is None) == (x.confidence is None)
        assert x.hidden and RunFolder(small_run.path).load_arrays(x.hidden)["slt"].shape == (31, 576)
        assert x.p_true_method == "loglik" and x.p_true_logprob < 0
    results = small_run.results["metrics"]
    assert results["questions"]["value"] == 4 and results["probe"]["train_rows"]["value"] == 6
    assert set(results["estimators"]) >= {"semantic_entropy", "sep", "p_true", "eigenvalue"}


def test_rescore_with_the_same_settings_reproduces_the_scores_exactly(small_run, tmp_path):
    again = rescore(HallucinationStudy(), str(small_run.path), {"runs_dir": str(tmp_path)}, progress=False)
    before = {r.id: r for r in small_run.records(HallucinationRecord)}
    for r in again.records(HallucinationRecord):
        assert r.scores == before[r.id].scores
        assert r.extras.clusters == before[r.id].extras.clusters
        assert r.outputs == before[r.id].outputs
    assert again.results["metrics"] == small_run.results["metrics"]


def test_rescore_with_another_entailment_through_the_cli(small_run, tmp_path, cli):
    code, out, err = cli("hallucination", "--rescore", str(small_run.path), "--entailment", "exact", "--lenient",
                         "--runs-dir", str(tmp_path), "-q")
    assert code == 0, err
    folder = RunFolder(out.strip().split("report: ")[1].rsplit("/", 1)[0])
    config = folder.config
    assert config["entailment"] == "exact" and config["lenient"] is True
    assert config["rescored_from"] == str(small_run.path)
    for r in folder.records(HallucinationRecord):
        texts = [a.text for a in r.outputs]
        from medtrust.text import normalize_answer
        # exact match: answers share a cluster exactly when their normalised texts are equal
        for i in range(len(texts)):
            for j in range(len(texts)):
                same = normalize_answer(texts[i]) == normalize_answer(texts[j])
                assert (r.extras.clusters[i] == r.extras.clusters[j]) == same
        assert r.extras.entailment_matrix["method"] == "exact" and r.extras.entailment == "exact"
    # the terminal gets accuracy and the estimator table, every cell as results.json holds it
    def cell(m):
        if m["value"] is None:
            return f"n/a ({m['note']})"
        count = f" ({m['count']}/{m['n']})" if "count" in m else ""  # a proportion shows k/n
        return f"{m['value']:.3f}{count}" + (f" [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}]" if m.get("ci") else "")
    metrics = folder.results["metrics"]
    lines = out.splitlines()
    assert f"accuracy {cell(metrics['accuracy'])}, n = 4" in lines
    for name, ms in metrics["estimators"].items():
        row = f"| {name} | {ms['auroc']['n']} | " + " | ".join(
            cell(ms[k]) for k in ("auroc", "aurac", "prr", "accuracy_at_90")) + " |"
        assert row in lines


def test_report_has_the_study_sections(small_run):
    html = small_run.report_path.read_text()
    for title in ("Estimators x metrics", "ROC curves", "Rejection-accuracy curves", "Answers by cluster"):
        assert title in html or ("ROC" in title and "every answer" in json.dumps(small_run.results))


def test_bad_options_give_one_clear_error(cli):
    code, _, err = cli("hallucination", "-d", "demo-qa", "--limit", "1", "--runs-dir",
                       "/tmp/medtrust-never", "--estimators", "semantic_entropy,foo")
    assert code == 2 and "Unknown estimator" in err
    code, _, err = cli("hallucination", "-d", "demo-qa", "--entailment", "bert", "--runs-dir", "/tmp/medtrust-never")
    assert code == 2 and "'bert' is not an entailment method" in err
