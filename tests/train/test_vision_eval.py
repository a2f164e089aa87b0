"""The vision --eval (train/vision_eval.py): held-out FigStep rows and benign typographic requests
never trained on, the combined before/after table from saved study runs against hand-computed
values, and report.html holding the table and the trade-off plot."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser

import pytest

from medtrust.runs.folder import RunFolder
from medtrust.safety.metrics import summarize
from medtrust.train.common import open_training_run
from medtrust.train.evaluate import comparison_markdown
from medtrust.train.image_rows import figstep_benign_items, figstep_prompt
from medtrust.train.sft import SFTOptions, save_rows, sft_rows
from medtrust.train.vision_eval import (
    FIGSTEP_EVAL_ROWS,
    evaluate_vision,
    heldout_figstep,
    heldout_order,
    trained_requests,
    vision_study_args,
)


def figstep_ids(folder, split):
    from medtrust.data.registry import load_dataset
    return {s.id for s in load_dataset("figstep", path=folder, split=split)}


def training_run(tmp_path, data_root, **opts):
    """A training run folder holding the SFT rows of ``opts`` (FigStep images, demo-images gold answers)."""
    o = SFTOptions(model="embedded-vlm", dataset="figstep", data_path=str(data_root / "figstep"),
                   mix="demo-images:0.5", **opts)
    run = open_training_run("sft", o.model_dump(), tmp_path / "run", tmp_path)
    rows = sft_rows(o, "embedded-vlm", root=run.path)
    save_rows(rows, run.path / "train_data.jsonl")
    return run, rows


def test_heldout_figstep_rows_are_never_training_rows(tmp_path, data_root):
    from medtrust.safety.study import SafetyConfig, SafetyStudy
    folder = data_root / "figstep"
    run, rows = training_run(tmp_path, data_root, split="tiny", limit=8)
    trained = {r["id"] for r in rows if r["side"] == "refuse"}
    assert len(trained) == 8 and trained <= figstep_ids(folder, "tiny")
    args = vision_study_args(run, {"figstep_path": str(folder)})
    study, figstep_args = args["figstep-images"]
    assert study == "safety" and figstep_args["attacks"] == ["figstep"]
    assert figstep_args["data_path"] == str(run.path / "eval" / "data" / "figstep")
    assert args["medical-images"][1]["data_path"] == figstep_args["data_path"]  # the same held-out requests, as text
    # what the safety study would send: 100 held-out SafeBench rows, none in the tiny split, none trained on
    samples = SafetyStudy().load_samples(SafetyConfig(model="embedded-vlm", **figstep_args))
    harmful = {s.id for s in samples if s.metadata["should_refuse"]}
    assert len(harmful) == 100 and harmful <= figstep_ids(folder, "safebench")
    assert not harmful & figstep_ids(folder, "tiny") and not harmful & trained
    # ... and the 49 benign typographic requests, none drawn as a training image
    benign = [s for s in samples if not s.metadata["should_refuse"]]
    assert len(benign) == 49 and {s.metadata["category"] for s in benign} == {"benign typographic"}
    eval_images = {figstep_prompt(s.metadata["instruction"])[1] for s in benign}
    train_images = {it.image_text for it in figstep_benign_items(folder)}
    # all 49 sentences train too (the "$50,000" one, its comma unquoted upstream, read whole by both)
    assert len(train_images) == 49 and not eval_images & train_images
    assert any("$50,000" in t for t in train_images)
    # benign medical image questions: demo-images test, never a training image (those are its train split)
    medical = SafetyStudy().load_samples(SafetyConfig(model="embedded-vlm", **args["medical-images"][1]))
    clinical = [s for s in medical if not s.metadata["should_refuse"]]
    assert len(clinical) == 30 and {s.metadata["question_kind"] for s in clinical} == {"benign-clinical"}
    trained_images = {str(run.path / p) for r in rows for p in r["images"]} | {p for r in rows for p in r["images"]}
    assert not {p for s in clinical for p in s.images} & trained_images


def test_heldout_figstep_leaves_out_rows_trained_from_safebench_and_pairs(tmp_path, data_root):
    folder = data_root / "figstep"
    run, rows = training_run(tmp_path, data_root, split="safebench", limit=40)
    trained = {r["id"] for r in rows if r["side"] == "refuse"}
    outside_tiny = trained - figstep_ids(folder, "tiny")
    assert outside_tiny  # a seeded subset of all 500 rows reaches beyond the tiny split
    # a DPO pairs file naming a SafeBench question as its text prompt (no id) is left out too
    from medtrust.data.registry import load_dataset
    extra = next(s for s in load_dataset("figstep", path=folder) if s.id not in trained | figstep_ids(folder, "tiny"))
    (run.path / "pairs.jsonl").write_text(json.dumps({"prompt": extra.question, "chosen": "No.", "rejected": "Ok"})
                                          + "\n")
    ids, texts = trained_requests(run)
    assert trained <= ids and " ".join(extra.question.lower().split()) in texts
    held = figstep_ids(heldout_figstep(run, folder, limit=500), "safebench")
    assert held == figstep_ids(folder, "safebench") - figstep_ids(folder, "tiny") - trained - {extra.id}
    assert len(held) == 500 - 50 - len(outside_tiny) - 1


def test_validation_rows_follow_the_test_rows_and_never_meet_them(tmp_path, data_root):
    """bench/vision_safety_valid.py chooses a recipe on heldout_order's rows after the first
    FIGSTEP_EVAL_ROWS; the --eval measures exactly those first rows (its test set)."""
    folder = data_root / "figstep"
    run, rows = training_run(tmp_path, data_root, split="tiny", limit=8)
    order = heldout_order(folder, *trained_requests(run))
    assert [s.id for s in order] == [s.id for s in heldout_order(folder, *trained_requests(run))]  # seeded
    assert len(order) == 450  # the tiny split's 50 rows are never evaluated, trained or not
    test = figstep_ids(heldout_figstep(run, folder, limit=None), "safebench")
    assert test == {s.id for s in order[:FIGSTEP_EVAL_ROWS]}
    valid = {s.id for s in order[FIGSTEP_EVAL_ROWS:]}
    assert len(valid) == 350 and not valid & test and not valid & figstep_ids(folder, "tiny")
    # a different seed is a different order of the same rows
    other = heldout_order(folder, *trained_requests(run), seed=1)
    assert {s.id for s in other} == {s.id for s in order} and [s.id for s in other] != [s.id for s in order]


def test_the_train_split_leaves_the_test_and_validation_rows_where_they_were(tmp_path, data_root):
    """-d figstep --split train: the SafeBench rows after the test and validation rows of the
    seeded order, none repeating their requests; a run trained on it is measured on the same test
    rows and validated on the same validation rows as a run trained on the tiny split."""
    from medtrust.data.loaders.figstep_splits import FIGSTEP_VALID_ROWS, outside_tiny_order, request_texts
    from medtrust.data.registry import get_spec, load_dataset
    folder = data_root / "figstep"
    order = outside_tiny_order(folder)
    held = order[:FIGSTEP_EVAL_ROWS + FIGSTEP_VALID_ROWS]
    train = load_dataset("figstep", path=folder, split="train")
    assert len(train) == get_spec("figstep").splits["train"] == 310
    assert [s.id for s in train] == sorted(s.id for s in train)  # file order, not the shuffled one
    assert not {s.id for s in train} & ({s.id for s in held} | figstep_ids(folder, "tiny"))
    assert not request_texts(train) & request_texts(held)
    assert {s.id for s in train} <= {s.id for s in order[FIGSTEP_EVAL_ROWS + FIGSTEP_VALID_ROWS:]}
    tiny_run, _ = training_run(tmp_path / "a", data_root, split="tiny")
    train_run, rows = training_run(tmp_path / "b", data_root, split="train", limit=60)
    assert len({r["id"] for r in rows if r["side"] == "refuse"} & {s.id for s in train}) == 60
    first = len(held)
    a, b = heldout_order(folder, *trained_requests(tiny_run)), heldout_order(folder, *trained_requests(train_run))
    assert [s.id for s in a[:first]] == [s.id for s in b[:first]] == [s.id for s in held]
    assert len(a) == 450 and len(b) == 450 - 60
    test = figstep_ids(heldout_figstep(train_run, folder, limit=None), "safebench")
    assert test == {s.id for s in held[:FIGSTEP_EVAL_ROWS]}


# ------------------------------------------------------------------ the table by hand
def safety_records(variant, harmful, benign):
    """Safety records; ``harmful`` holds (refused by keywords, unsafe by the classifier) per request."""
    from medtrust.data.schema import Sample
    from medtrust.safety.study import SafetyExtras, SafetyRecord
    out = []
    cases = [("harmful", h) for h in harmful] + [("benign", (b, False)) for b in benign]
    for i, (side, (refused, unsafe)) in enumerate(cases):
        label = "full_refusal" if refused else "full_compliance"
        out.append(SafetyRecord(id=f"{side}-{i}::{variant}", sample_id=f"{side}-{i}", variant=variant,
                                sample=Sample(id=f"{side}-{i}", question="q"),
                                scores={"verdict": label, "judgements": {
                                    "keywords": {"label": label},
                                    "classifier": {"label": "unsafe" if unsafe else "safe"}}},
                                extras=SafetyExtras(side=side, should_refuse=side == "harmful", dataset="d")))
    return out


def saved_run(folder, study, metrics):
    folder.mkdir(parents=True)
    run = RunFolder(folder)
    run.write_config({"study": study})
    run.write_results({"study": study, "status": "complete", "metrics": metrics})


def saved_eval(run, before: bool):
    """Every part of the vision evaluation as a finished run folder (before: the base model)."""
    from medtrust.hallucination.pope import pope_metrics
    from medtrust.stats import rate_metric
    side = "before" if before else "after"
    eval_dir = run.path / "eval"
    # FigStep images, 4 harmful: before 3 unsafe and 1 refused, after 1 unsafe and 3 refused;
    # benign typographic 5: before 0 refused, after 2
    harmful = [(False, True)] * 3 + [(True, False)] if before else [(False, True)] + [(True, False)] * 3
    benign = [False] * 5 if before else [True, True, False, False, False]
    saved_run(eval_dir / "figstep-images" / side, "safety",
              summarize(safety_records("figstep", harmful, benign), ["classifier", "keywords"]))
    # medical image questions, 4 benign: before 1 refused, after 2; the requests as text: 2 of 4 refused, then 4
    text = [(True, False)] * 2 + [(False, False)] * 2 if before else [(True, False)] * 4
    medical = [True, False, False, False] if before else [True, True, False, False]
    saved_run(eval_dir / "medical-images" / side, "safety",
              summarize(safety_records("none", text, medical), ["classifier", "keywords"]))
    saved_run(eval_dir / "safety" / side, "safety", summarize(safety_records(
        "none", [(True, False), (False, False)], [False, False]), ["classifier", "keywords"]))
    # POPE, 4 probes yes, yes, no, no: before answers yes, yes, yes, no (3/4), after yes, no, no, no (3/4)
    answers = ["yes", "yes", "yes", "no"] if before else ["yes", "no", "no", "no"]
    saved_run(eval_dir / "pope" / side, "hallucination-pope",
              {"random": pope_metrics(["yes", "yes", "no", "no"], answers)})
    qa = [True, True, False, False, False] if before else [True, False, False, False, False]
    saved_run(eval_dir / "image-qa" / side, "reasoning", {"direct": {"accuracy": rate_metric(qa)}})


class Cells(HTMLParser):
    """Rows of every table and the plots of an HTML page."""

    def __init__(self):
        super().__init__()
        self.rows, self.imgs, self._row, self._cell = [], [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "img":
            self.imgs.append(dict(attrs))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr":
            self.rows.append(self._row)
            self._row = None


def test_tradeoff_table_and_report_by_hand(tmp_path, data_root):
    from PIL import Image

    from medtrust.train.report import write_training_report
    run, _ = training_run(tmp_path, data_root, split="tiny", limit=2)
    saved_eval(run, True)
    saved_eval(run, False)
    paths = evaluate_vision(run, "embedded-vlm", "hf/trained", {"figstep_path": str(data_root / "figstep")},
                            progress=False)
    assert [p.parent.name for p in paths] == ["figstep-images", "medical-images", "safety", "pope", "image-qa"]
    table = json.loads((run.path / "eval" / "tradeoff.json").read_text())
    rows = {r["metric"]: r for r in table["rows"]}
    expect = {  # metric: (before, after)
        "FigStep attack success, held-out harmful images (harm judge)": (0.75, 0.25),
        "FigStep refusal, held-out harmful images (refusal judge)": (0.25, 0.75),
        "over-refusal, benign typographic images": (0.0, 0.4),
        "over-refusal, benign medical image questions": (0.25, 0.5),
        "refusal, the held-out requests as plain text": (0.5, 1.0),
        "text safety: attack success (harm judge)": (0.0, 0.0),
        "text safety: refusal of harmful requests": (0.5, 0.5),
        "text safety: over-refusal of benign requests": (0.0, 0.0),
        "POPE accuracy (random)": (0.75, 0.75),
        "image QA accuracy, demo-images test (direct)": (0.4, 0.2),
    }
    assert list(rows) == list(expect)  # in TRADEOFF's order; no adversarial POPE split was saved
    for name, (b, a) in expect.items():
        assert (rows[name]["before"]["value"], rows[name]["after"]["value"]) == pytest.approx((b, a)), name
        assert rows[name]["change"] == pytest.approx(a - b), name
    lo, hi = rows["FigStep refusal, held-out harmful images (refusal judge)"]["after"]["ci"]
    assert lo < 0.75 < hi and rows["over-refusal, benign typographic images"]["after"]["n"] == 5
    md = comparison_markdown(table)
    assert "| FigStep refusal, held-out harmful images (refusal judge) | 0.250 (1/4) [" in md and "| +0.500 |" in md
    assert "| image QA accuracy, demo-images test (direct) | 0.400 (2/5) [" in md and "| -0.200 |" in md

    write_training_report(run, "vision test")
    html = run.report_path.read_text()
    assert "Before / after: the whole trade-off" in html
    parsed = Cells()
    parsed.feed(html)
    header = next(r for r in parsed.rows if r and r[0] == "metric" and "before [90% CI]" in r)
    assert header == ["metric", "before [90% CI]", "after [90% CI]", "change", "n"]
    cells = {r[0]: r for r in parsed.rows if r and r[0] in expect}
    assert set(cells) == set(expect)
    typographic = cells["over-refusal, benign typographic images"]
    assert typographic[1].startswith("0.000 (0/5) [") and typographic[2].startswith("0.400 (2/5) [")
    assert typographic[3:] == ["+0.400", "5"]
    plot = next(i for i in parsed.imgs if i.get("alt", "").startswith("trade-off plot"))
    png = base64.b64decode(plot["src"].split(",", 1)[1])
    assert Image.open(io.BytesIO(png)).size[0] > 400
    assert html.index("Before / after: the whole trade-off") < html.index("Before / after: figstep-images")


def test_train_sft_eval_of_a_vision_model_runs_the_vision_set(tiny_vlm_path, data_root, tmp_path, monkeypatch):
    from medtrust.train import vision_eval
    from medtrust.train.options import EvalOptions
    from medtrust.train.sft import train_sft
    calls = []
    monkeypatch.setattr(vision_eval, "evaluate_vision", lambda run, base, trained, args, progress=True:
                        calls.append((base, trained, args)) or [])
    opts = SFTOptions(model=f"hf/{tiny_vlm_path}", dataset="figstep", data_path=str(data_root / "figstep"),
                      split="tiny", limit=2, mix="demo-images:0.5", max_steps=1, batch_size=2, max_length=256,
                      lora=True, lora_r=4, out=str(tmp_path / "run"), runs_dir=str(tmp_path), eval=True,
                      eval_args=EvalOptions(limit=3, qa_limit=4))
    run = train_sft(opts, progress=False)
    assert calls == [(f"hf/{tiny_vlm_path}", f"hf/{run.model_dir.resolve()}", {"limit": 3, "qa_limit": 4})]
