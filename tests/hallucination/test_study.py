"""The whole study on the embedded model and demo-qa (small), re-scoring, the report and the CLI."""

from __future__ import annotations

import json

import pytest

from medtrust.hallucination.estimators import ESTIMATORS
from medtrust.hallucination.study import HallucinationConfig, HallucinationStudy
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
    records = small_run.samples()
    assert [r["role"] for r in records].count("train") == 6 and len(records) == 10
    for r in records:
        assert r["question"] and r["gold"] and "low_t_answer" in r and len(r["answers"]) == 3
        for a in r["answers"]:
            assert len(a["token_logprobs"]) == a["num_tokens"] and isinstance(a["cluster"], int)
        assert set(r["scores"]) == set(ESTIMATORS)
        assert (r["scores"]["verbalized_confidence"] is None) == (r.get("confidence") is None)
        assert r["hidden"] and RunFolder(small_run.path).load_arrays(r["hidden"])["slt"].shape == (31, 576)
        assert r["p_true_method"] == "loglik" and r["p_true_logprob"] < 0
    results = small_run.results["metrics"]
    assert results["questions"]["value"] == 4 and results["probe"]["train_rows"]["value"] == 6
    assert set(results["estimators"]) >= {"semantic_entropy", "sep", "p_true", "eigenvalue"}


def test_rescore_with_the_same_settings_reproduces_the_scores_exactly(small_run, tmp_path):
    again = rescore(HallucinationStudy(), str(small_run.path), {"runs_dir": str(tmp_path)}, progress=False)
    before = {r["id"]: r for r in small_run.samples()}
    for r in again.samples():
        assert r["scores"] == before[r["id"]]["scores"]
        assert [a["cluster"] for a in r["answers"]] == [a["cluster"] for a in before[r["id"]]["answers"]]
        assert r["correct"] == before[r["id"]]["correct"]
    assert again.results["metrics"]["estimators"] == small_run.results["metrics"]["estimators"]


def test_rescore_with_another_entailment_through_the_cli(small_run, tmp_path, cli):
    code, out, err = cli("hallucination", "--rescore", str(small_run.path), "--entailment", "exact", "--lenient",
                         "--runs-dir", str(tmp_path), "-q")
    assert code == 0, err
    folder = RunFolder(out.strip().split("report: ")[1].rsplit("/", 1)[0])
    config = folder.config
    assert config["entailment"] == "exact" and config["lenient"] is True
    assert config["rescored_from"] == str(small_run.path)
    for r in folder.samples():
        texts = [a["text"] for a in r["answers"]]
        from medtrust.hallucination.correctness import normalize_answer
        # exact match: answers share a cluster exactly when their normalised texts are equal
        for i in range(len(texts)):
            for j in range(len(texts)):
                same = normalize_answer(texts[i]) == normalize_answer(texts[j])
                assert (r["answers"][i]["cluster"] == r["answers"][j]["cluster"]) == same
        assert r["entailment_matrix"]["method"] == "exact"
    # the terminal gets accuracy and the estimator table, every cell as results.json holds it
    def cell(m):
        if m["value"] is None:
            return f"n/a ({m['note']})"
        return f"{m['value']:.3f}" + (f" [{m['ci'][0]:.3f}, {m['ci'][1]:.3f}]" if m.get("ci") else "")
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
    code, _, err = cli("hallucination", "-d", "demo-qa", "--entailment", "bert", "--limit", "1", "--runs-dir",
                       "/tmp/medtrust-never", "--estimators", "semantic_entropy,foo")
    assert code == 2 and "Unknown estimator" in err
