"""POPE probing: negatives of each split on a handmade vocabulary, answer parsing, metrics against
hand-computed values and scikit-learn, and the whole study on a tiny random LLaVA."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score

from medtrust.data.schema import Sample
from medtrust.hallucination.pope import (
    AnnotatedImage,
    Probe,
    annotated_images,
    build_probes,
    draw_negatives,
    object_statistics,
    pope_metrics,
    probe_sample,
    read_answer,
)

# frequency: car 2, cat 2, dog 2, bird 1, tree 1
# co-occurrence: cat-dog 1, cat-car 1, dog-car 1, dog-tree 1, car-tree 1
IMAGES = [AnnotatedImage("a.png", "a", ("cat", "dog")), AnnotatedImage("b.png", "b", ("car", "cat")),
          AnnotatedImage("c.png", "c", ("car", "dog", "tree")), AnnotatedImage("d.png", "d", ("bird",))]


def negatives_of(probes, image_id, split):
    return sorted(p.object for p in probes if p.image_id == image_id and p.split == split and p.label == "no")


def test_statistics_of_the_handmade_vocabulary():
    frequency, cooccur = object_statistics(IMAGES)
    assert frequency == Counter({"car": 2, "cat": 2, "dog": 2, "bird": 1, "tree": 1})
    assert cooccur["dog"] == Counter({"cat": 1, "car": 1, "tree": 1}) and "bird" not in cooccur["cat"]


def test_popular_negatives_are_the_most_frequent_absent_objects():
    probes = build_probes(IMAGES, per_image=3, seed=0)
    assert negatives_of(probes, "a", "popular") == ["bird", "car"]  # car (2), then bird/tree (1): by name
    assert negatives_of(probes, "b", "popular") == ["bird", "dog"]
    assert negatives_of(probes, "c", "popular") == ["bird", "cat"]
    assert negatives_of(probes, "d", "popular") == ["car"]  # car/cat/dog tie at 2: by name


def test_adversarial_negatives_are_the_most_co_occurring_absent_objects():
    probes = build_probes(IMAGES, per_image=3, seed=0)
    assert negatives_of(probes, "a", "adversarial") == ["car", "tree"]  # car: 1+1, tree: 0+1, bird: 0
    assert negatives_of(probes, "b", "adversarial") == ["dog", "tree"]  # dog 2, tree 1 (popular takes bird)
    assert negatives_of(probes, "c", "adversarial") == ["bird", "cat"]
    assert negatives_of(probes, "d", "adversarial") == ["car"]  # bird co-occurs with nothing: ties by name


def test_random_negatives_are_uniform_over_absent_objects_and_seeded():
    frequency, cooccur = object_statistics(IMAGES)
    import random
    drawn = Counter()
    for seed in range(3000):
        neg = draw_negatives(("cat", "dog"), "random", 2, sorted(frequency), frequency, cooccur, random.Random(seed))
        assert len(set(neg)) == 2 and not set(neg) & {"cat", "dog"}
        drawn.update(neg)
    assert set(drawn) == {"bird", "car", "tree"}
    assert all(abs(drawn[o] / 3000 - 2 / 3) < 0.04 for o in drawn)  # each of 3 candidates in 2 of 3 draws
    assert build_probes(IMAGES, seed=7) == build_probes(IMAGES, seed=7)
    assert any(build_probes(IMAGES, seed=s) != build_probes(IMAGES, seed=0) for s in range(1, 6))


def test_counts_are_balanced_and_positives_shared_by_the_splits():
    probes = build_probes(IMAGES, per_image=3, seed=0)
    # k per image = min(3, objects, absent objects) = 2, 2, 2, 1 -> 7 yes and 7 no per split
    for split in ("random", "popular", "adversarial"):
        labels = Counter(p.label for p in probes if p.split == split)
        assert labels == Counter({"yes": 7, "no": 7})
    positives = {split: sorted((p.image_id, p.object) for p in probes if p.split == split and p.label == "yes")
                 for split in ("random", "popular", "adversarial")}
    assert positives["random"] == positives["popular"] == positives["adversarial"]
    assert all(p.object in next(i.objects for i in IMAGES if i.image_id == p.image_id)
               for p in probes if p.label == "yes")
    one = build_probes(IMAGES, per_image=1, seed=0)
    assert len(one) == 4 * 2 * 3
    assert len(build_probes(IMAGES, splits=["popular"])) == 14


def test_images_are_collected_from_rows_and_probes_become_samples():
    rows = [Sample(id="q1", question="?", images=["x.png"], metadata={"objects": ["Nodule", "effusion"]}),
            Sample(id="q2", question="?", images=["x.png"], metadata={"objects": ["nodule"], "image_id": "x"}),
            Sample(id="q3", question="?", images=["y.png"], metadata={"objects": []}),
            Sample(id="q4", question="?", metadata={"objects": ["nodule"]})]
    images = annotated_images(rows)
    assert images == [AnnotatedImage("x.png", "q1", ("effusion", "nodule"))]
    s = probe_sample(Probe("x.png", "q1", "pleural effusion", "adversarial", "no"))
    assert s.question == "Is there a pleural effusion in the image?" and s.answer == "no"
    assert s.id == "pope-adversarial-q1-pleural_effusion" and s.images == ["x.png"]
    assert s.metadata["object"] == "pleural effusion" and s.metadata["split"] == "adversarial"
    assert probe_sample(Probe("x.png", "q1", "结节", "random", "yes"), "zh").question == "图中有结节吗？"
    assert probe_sample(Probe("x.png", "q1", "arrow", "random", "yes")).question == "Is there an arrow in the image?"


@pytest.mark.parametrize("text, expected", [
    ("Yes", "yes"), ("yes, there is a circle.", "yes"), ("No.", "no"), ("no", "no"), ("Nope", "no"),
    ("There is a red star in the image.", "yes"), ("There is no star in the image.", "no"),
    ("There isn't a cross.", "no"), ("I don't see a square.", "no"), ("I see no square here", "no"),
    ("The image shows a circle, not a star.", "no"), ("A star is present in the upper left.", "yes"),
    ("The image does not contain a triangle.", "no"), ("  **Yes**", "yes"), ("是的，有。", "yes"),
    ("没有", "no"), ("否", "no"), ("", "unparsed"), ("circle circle circle", "unparsed"),
    ("Nothing like it", "unparsed"), ("The star is visible.", "yes"), ("The star is not visible", "no"),
    ("Not in this image", "no")])
def test_answers_are_parsed(text, expected):
    assert read_answer(text) == expected


def test_metrics_match_hand_computed_values_and_sklearn():
    labels = ["yes", "yes", "yes", "no", "no", "no", "yes", "no"]
    parsed = ["yes", "no", "unparsed", "yes", "no", "no", "yes", "unparsed"]
    m = pope_metrics(labels, parsed, seed=0)
    # tp = 2 (rows 0, 6), fp = 1 (row 3), fn = 2 (rows 1, 2: unparsed is not a yes), tn = 3
    expected = {"accuracy": 5 / 8, "precision": 2 / 3, "recall": 2 / 4, "f1": 4 / 7, "yes_ratio": 3 / 8}
    for name, value in expected.items():
        assert m[name]["value"] == pytest.approx(value) and m[name]["n"] == 8
        low, high = m[name]["ci"]
        assert 0.0 <= low <= value <= high <= 1.0
    assert m["unparsed"]["value"] == pytest.approx(2 / 8)
    t = np.array([lab == "yes" for lab in labels])
    p = np.array([x == "yes" for x in parsed])
    assert m["accuracy"]["value"] == pytest.approx(accuracy_score(t, p))
    assert m["precision"]["value"] == pytest.approx(precision_score(t, p))
    assert m["recall"]["value"] == pytest.approx(recall_score(t, p))
    assert m["f1"]["value"] == pytest.approx(f1_score(t, p))


def test_metrics_against_sklearn_on_random_answers():
    rng = np.random.default_rng(3)
    labels = list(rng.choice(["yes", "no"], 200))
    parsed = list(rng.choice(["yes", "no", "unparsed"], 200, p=[0.5, 0.4, 0.1]))
    m = pope_metrics(labels, parsed)
    t = np.array([x == "yes" for x in labels])
    p = np.array([x == "yes" for x in parsed])
    assert m["precision"]["value"] == pytest.approx(precision_score(t, p))
    assert m["recall"]["value"] == pytest.approx(recall_score(t, p))
    assert m["f1"]["value"] == pytest.approx(f1_score(t, p))
    assert m["yes_ratio"]["value"] == pytest.approx(p.mean())


def test_a_model_that_never_says_yes_gets_a_note_not_nan():
    m = pope_metrics(["yes", "no", "yes", "no"], ["no", "no", "unparsed", "no"])
    assert m["precision"]["value"] is None and m["precision"]["note"] == "the model never said yes"
    assert m["recall"]["value"] == 0.0 and m["f1"]["value"] == 0.0 and m["accuracy"]["value"] == 0.5
    assert m["yes_ratio"]["value"] == 0.0


# ------------------------------------------------------------------------ the study, end to end
def test_pope_end_to_end_on_a_tiny_vlm(cli, tiny_vlm_path, tmp_path):
    from medtrust.data.registry import load_dataset
    code, out, err = cli("hallucination", "--model", f"hf/{tiny_vlm_path}", "--dataset", "demo-images", "--pope",
                         "--limit", "3", "--runs-dir", str(tmp_path), "--no-cache", "--quiet")
    assert code == 0, err
    run = next(tmp_path.iterdir())
    records = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    images = annotated_images(load_dataset("demo-images"))[:3]
    vocabulary = {o for img in annotated_images(load_dataset("demo-images")) for o in img.objects}
    ks = [min(3, len(img.objects), len(vocabulary - set(img.objects))) for img in images]
    assert len(records) == 3 * 2 * sum(ks)
    for r in records:
        meta, parsed = r["sample"]["metadata"], r["scores"]["parsed"]
        assert set(meta) >= {"image_id", "object", "split", "label"} and r["variant"] is None
        assert parsed in ("yes", "no", "unparsed") and parsed == read_answer(r["outputs"][0]["text"])
        assert r["prompt"][0]["content"][0] == {"type": "image", "image": r["sample"]["images"][0]}
        objects = next(img.objects for img in images if img.image == r["sample"]["images"][0])
        assert (meta["object"] in objects) == (r["sample"]["answer"] == "yes") == (meta["label"] == "yes")
    results = json.loads((run / "results.json").read_text())["metrics"]
    for split in ("random", "popular", "adversarial"):
        rows = [r for r in records if r["sample"]["metadata"]["split"] == split]
        again = pope_metrics([r["sample"]["answer"] for r in rows], [r["scores"]["parsed"] for r in rows])
        assert results[split]["accuracy"] == again["accuracy"]
        assert results[split]["yes_ratio"]["value"] == pytest.approx(
            np.mean([r["scores"]["parsed"] == "yes" for r in rows]))
    report = (run / "report.html").read_text()
    assert "POPE: splits x metrics" in report and "adversarial" in report


def test_clear_errors_for_a_text_model_and_a_dataset_without_objects(cli, tmp_path):
    code, out, err = cli("hallucination", "--model", "embedded", "--dataset", "demo-images", "--pope",
                         "--runs-dir", str(tmp_path), "--quiet")
    assert code != 0 and "needs the 'images' capability" in out + err
    code, out, err = cli("hallucination", "--model", "embedded", "--dataset", "demo-qa", "--pope",
                         "--runs-dir", str(tmp_path), "--quiet")
    assert code != 0 and "has no images with object annotations" in out + err and "image-manifest" in out + err
    assert not list(tmp_path.iterdir())  # nothing was started
