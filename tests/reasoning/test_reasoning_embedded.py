"""The reasoning study on the real embedded model: a short CLI run with early answering in model
tokens, log-likelihood scores checked against a direct forward pass, and the demo step."""

import json

import pytest
import torch

from medtrust.reasoning.grading import from_key, is_correct
from medtrust.reasoning.study import ReasoningRecord
from medtrust.runs.folder import RunFolder

pytestmark = pytest.mark.integration


def only_run(folder):
    runs = [p for p in folder.iterdir() if p.is_dir()]
    assert len(runs) == 1
    return RunFolder(runs[0])


def test_cli_run_direct_and_cot(cli, tmp_path, embedded):
    code, out, err = cli("reasoning", "--model", "embedded", "--dataset", "demo-mcq", "--limit", "2",
                         "--strategies", "direct,cot", "--max-tokens", "24", "--early-max-tokens", "8",
                         "--runs-dir", str(tmp_path), "-q")
    assert code == 0, err
    assert "| direct | 2 |" in out and "| cot | 2 |" in out
    run = only_run(tmp_path)
    typed = run.records(ReasoningRecord)
    assert sorted(r.id for r in typed) == ["mcq-001::cot", "mcq-001::direct", "mcq-002::cot", "mcq-002::direct"]
    for t in typed:
        r = t.scores
        assert r["correct"] == is_correct(t.sample, from_key(t.sample, r["extracted"]))
        assert r["output_tokens"] == len(t.outputs[0].token_ids) <= (16 if t.variant == "direct" else 24)
        if r.get("early"):
            n_tokens = len(embedded.tokenizer(r["trace"], add_special_tokens=False)["input_ids"])
            kept = [p["kept"] for p in r["early"]["points"]]
            assert r["early"]["unit"] == "tokens" and kept[0] == 0 and kept[-1] == n_tokens == r["trace_tokens"]
            assert kept == [int(round(f * n_tokens)) for f in (0, 0.25, 0.5, 0.75, 1)]
    metrics = run.results["metrics"]
    acc = sum(t.scores["correct"] for t in typed if t.variant == "cot") / 2
    assert metrics["cot"]["accuracy"]["value"] == acc and metrics["cot"]["accuracy"]["n"] == 2
    html = run.report_path.read_text()
    assert "Accuracy by strategy" in html and "Trace browser" in html


def test_loglik_scores_match_a_direct_forward_pass(cli, tmp_path, data_root, embedded):
    code, out, err = cli("reasoning", "--model", "embedded", "--dataset", "medqa", "--data-path",
                         str(data_root / "medqa"), "--scoring", "loglik", "--limit", "2", "--runs-dir", str(tmp_path),
                         "--no-cache", "-q")
    assert code == 0, err
    records = only_run(tmp_path).records(ReasoningRecord)
    raw = [json.loads(line) for line in open(data_root / "medqa" / "us_4_options_test.jsonl")][:2]
    tok, model = embedded.tokenizer, embedded.model
    for typed, row in zip(records, raw):
        ll, rec = typed.extras.loglik, typed.scores
        options = "".join(f"{k}. {row['options'][k]}\n" for k in "ABCD")
        context = f"Question: {row['question']}\n{options}Answer:"
        assert ll.context == context
        for letter, score in zip("ABCD", ll.logprobs):
            ctx_ids = tok(context)["input_ids"]
            whole = tok(context + " " + letter)["input_ids"]
            cont = whole[len(ctx_ids):]
            with torch.inference_mode():
                logits = model(input_ids=torch.tensor([whole])).logits[0].float()
            lp = torch.log_softmax(logits, -1)
            expected = sum(float(lp[len(ctx_ids) - 1 + i, t]) for i, t in enumerate(cont))
            assert score == pytest.approx(expected, abs=2e-3)
        best = max(range(4), key=lambda i: ll.logprobs[i])
        assert rec["extracted"] == "ABCD"[best] and rec["correct"] == ("ABCD"[best] == row["answer_idx"])


def test_demo_step(tmp_path, embedded):
    from medtrust.reasoning.cli import demo
    reports = demo(tmp_path, 2, False)
    assert sorted(reports) == ["reasoning demo-calc", "reasoning demo-mcq"]
    for path in reports.values():
        assert path.exists()
        records = RunFolder(path.parent).records(ReasoningRecord)
        assert len(records) == 4 and {r.variant for r in records} == {"direct", "cot"}
