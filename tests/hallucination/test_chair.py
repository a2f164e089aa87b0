"""CHAIR: mention extraction on hand-labelled descriptions (plurals, synonyms, negations, colour
attributes, Chinese), vocabularies, the metrics against values worked out by hand, the report's
highlighting, and the study end to end on a tiny random LLaVA (run, --rescore)."""

from __future__ import annotations

import json

import pytest

from medtrust.hallucination.chair import (
    VocabularyError,
    chair_metrics,
    extract_mentions,
    load_vocabulary,
    plural,
    score_description,
    vocabulary_for,
)

DEMO = vocabulary_for("demo-images", ["circle", "square", "triangle", "star", "cross", "arrow"])

# (description, [(span text, object, negated, colour)]) labelled by hand
LABELLED = [
    ("A red circle and two blue squares.", [("circle", "circle", False, "red"), ("squares", "square", False, "blue")]),
    ("There is no arrow in the image.", [("arrow", "arrow", True, None)]),
    ("The image shows a yellow star-shaped figure next to a white plus sign.",
     [("star", "star", False, "yellow"), ("plus sign", "cross", False, "white")]),
    ("No triangle is visible; only a green disc.", [("triangle", "triangle", True, None),
                                                     ("disc", "circle", False, "green")]),
    ("A circle without a star.", [("circle", "circle", False, None), ("star", "star", True, None)]),
    ("Three crosses across the start of the outline.", [("crosses", "cross", False, None)]),
    ("I do not see any triangles, but there is a large red square.",
     [("triangles", "triangle", True, None), ("square", "square", False, "red")]),
    ("The arrow points at the blue circle. The star is not present.",
     [("arrow", "arrow", False, None), ("circle", "circle", False, "blue"), ("star", "star", True, None)]),
    ("A Plus-Sign and a RECTANGLE.", [("Plus-Sign", "cross", False, None), ("RECTANGLE", "square", False, None)]),
    ("Neither a star nor a cross appears.", [("star", "star", True, None), ("cross", "cross", True, None)]),
    ("There is no arrow pointing at the triangle.", [("arrow", "arrow", True, None),
                                                      ("triangle", "triangle", False, None)]),
    ("The pentagram is yellow and the dot is red.", [("pentagram", "star", False, None),
                                                      ("dot", "circle", False, None)]),
    ("The circle is not red; it is white.", [("circle", "circle", False, None)]),
    ("A red and blue circle.", [("circle", "circle", False, "blue")]),
    ("Two triangular shapes and one triangle.", [("triangular shapes", "triangle", False, None),
                                                 ("triangle", "triangle", False, None)]),
    ("The cross is missing, the discs aren't.", [("cross", "cross", True, None), ("discs", "circle", False, None)]),
    ("图中有一个红色的圆形和一个蓝色正方形，没有箭头。",
     [("圆形", "circle", False, "red"), ("正方形", "square", False, "blue"), ("箭头", "arrow", True, None)]),
    ("A dark field with a grey outline.", []),
]


@pytest.mark.parametrize("text, expected", LABELLED, ids=[t[:40] for t, _ in LABELLED])
def test_mentions_of_hand_labelled_descriptions(text, expected):
    found = extract_mentions(text, DEMO)
    assert [(m.text, m.object, m.negated, m.colour) for m in found] == expected
    assert all(text[m.start:m.end] == m.text for m in found)


def test_plurals_and_vocabularies():
    assert [plural(w) for w in ("circle", "cross", "box", "body", "day", "plus sign", "圆形")] == \
        ["circles", "crosses", "boxes", "bodies", "days", "plus signs", "圆形"]
    v = vocabulary_for("image-manifest", ["pleural effusion", "Nodule"])
    assert v.objects == ["nodule", "pleural effusion"]
    assert [(m.text, m.object) for m in extract_mentions("Two nodules and a small pleural effusion.", v)] == \
        [("nodules", "nodule"), ("pleural effusion", "pleural effusion")]
    # a file's synonyms replace the built-in vocabulary; annotated objects it lacks are added
    v = vocabulary_for("demo-images", ["circle", "arrow"], {"circle": ["ring"]})
    assert v.objects == ["arrow", "circle"] and v.canonical("rings") == "circle" and v.canonical("disc") is None


def test_vocabulary_files(tmp_path):
    (tmp_path / "v.json").write_text(json.dumps({"effusion": ["fluid"], "nodule": "mass"}))
    (tmp_path / "v.yaml").write_text("effusion: [fluid, pleural fluid]\ncardiomegaly:\n")
    (tmp_path / "list.yml").write_text("- effusion\n- nodule\n")
    assert load_vocabulary(tmp_path / "v.json") == {"effusion": ["fluid"], "nodule": ["mass"]}
    assert load_vocabulary(tmp_path / "v.yaml") == {"effusion": ["fluid", "pleural fluid"], "cardiomegaly": []}
    assert load_vocabulary(tmp_path / "list.yml") == {"effusion": [], "nodule": []}
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "nested.yaml").write_text("effusion: {a: 1}\n")
    for name, words in (("bad.json", "not valid JSON"), ("nested.yaml", "not a list of words"),
                        ("missing.yaml", "Cannot read")):
        with pytest.raises(VocabularyError, match=words) as e:
            load_vocabulary(tmp_path / name)
        assert e.value.fix
    with pytest.raises(VocabularyError, match="names both"):
        vocabulary_for("x", [], {"nodule": ["mass"], "tumour": ["mass"]})


def test_description_scores_keep_mentions_and_distinct_objects():
    s = score_description("A red circle and a star. There is no arrow. Another green circle.", ["circle", "arrow"],
                          DEMO, {"circle": ["red"], "arrow": ["white"]})
    assert [(m["text"], m["status"], m["colour_right"]) for m in s["mentions"]] == [
        ("circle", "right", True), ("star", "hallucinated", None), ("arrow", "negated", None),
        ("circle", "right", False)]
    assert s["mentioned"] == ["circle", "star"] and s["hallucinated"] == ["star"] and s["recalled"] == ["circle"]
    assert s["mention_count"] == 3 and s["hallucinated_mention_count"] == 1
    assert s["colour_checked"] == [["circle", "green"], ["circle", "red"]]
    assert s["colour_wrong"] == [["circle", "green"]]


def test_metrics_match_hand_computed_values():
    descriptions = [  # (truth, colours, text)
        (["circle", "arrow"], {"circle": ["red"]}, "A red circle and a star. There is no arrow. Another circle."),
        (["square", "triangle", "cross"], {"square": ["blue"]}, "A green square, a triangle and a cross."),
        (["star"], {}, "Two circles and a square and a circle."),
        (["triangle"], {}, "A dark image."),
    ]
    scores = [score_description(t, truth, DEMO, c) for truth, c, t in descriptions]
    m = chair_metrics(scores, ["a", "b", "c", "d"], seed=0)
    # distinct per description: mentioned {circle, star}, {square, triangle, cross}, {circle, square}, {}
    # hallucinated {star}, {}, {circle, square}, {}; recalled 1, 3, 0, 0 of 2, 3, 1, 1 annotated
    assert m["chair_i"]["value"] == pytest.approx(3 / 7) and (m["chair_i"]["count"], m["chair_i"]["n"]) == (3, 7)
    assert m["chair_s"]["value"] == pytest.approx(2 / 4) and m["chair_s"]["interval"] == "wilson"
    assert m["recall"]["value"] == pytest.approx(4 / 7) and m["recall"]["n"] == 7
    # every occurrence (the reference code): 1 of 3, 0 of 3, 3 of 3, 0 of 0
    assert m["chair_i_mentions"]["value"] == pytest.approx(4 / 9)
    # colour: (circle, red) right, (square, green) wrong
    assert m["colour_hallucination"]["value"] == pytest.approx(1 / 2)
    assert m["objects_per_description"]["value"] == pytest.approx(7 / 4)
    for name in ("chair_i", "chair_s", "recall", "chair_i_mentions"):
        low, high = m[name]["ci"]
        assert 0.0 <= low <= m[name]["value"] <= high <= 1.0
    # the Wilson interval of 2 of 4 at 90% (z = 1.6449): 0.5 -+ z sqrt(1/16 + z^2/64) / (1 + z^2/4)
    assert m["chair_s"]["ci"] == pytest.approx([0.1824, 0.8176], abs=1e-4)


def test_bootstrap_resamples_images_not_descriptions():
    s = [score_description("A star.", ["circle"], DEMO), score_description("A circle.", ["circle"], DEMO)]
    one_image = chair_metrics(s, ["a", "a"])
    assert one_image["chair_i"]["value"] == 0.5 and "ci" not in one_image["chair_i"]  # one cluster: no interval
    assert "ci" in chair_metrics(s, ["a", "b"])["chair_i"]
    empty = chair_metrics([score_description("Nothing here.", ["circle"], DEMO)], ["a"])
    assert empty["chair_i"]["value"] is None and empty["chair_i"]["note"] == "no object was mentioned"
    assert empty["chair_s"]["value"] == 0.0 and empty["recall"]["value"] == 0.0


def test_highlighting_escapes_and_colours():
    from medtrust.hallucination.chair_study import highlighted
    text = "<b>A</b> red circle & a star, no arrow."
    s = score_description(text, ["circle"], DEMO, {"circle": ["blue"]})
    out = highlighted(text, s["mentions"])
    assert out.startswith("&lt;b&gt;A&lt;/b&gt; red ") and "&amp; a " in out and "<b>" not in out
    assert 'class="chair-right"' in out and "underline wavy" in out  # a red circle where it is blue
    assert '<span class="chair-hallucinated" title="star: hallucinated" style="color:#cf222e' in out
    assert 'class="chair-negated"' in out and "line-through" in out


# ------------------------------------------------------------------------ the study, end to end
def test_chair_end_to_end_and_rescore(cli, tiny_vlm_path, tmp_path):
    from medtrust.data.registry import load_dataset
    from medtrust.hallucination.pope import annotated_images
    code, out, err = cli("hallucination", "--model", f"hf/{tiny_vlm_path}", "--dataset", "demo-images", "--chair",
                         "--limit", "3", "--max-tokens", "12", "--runs-dir", str(tmp_path / "a"), "--no-cache",
                         "--quiet")
    assert code == 0, out + err
    run = next((tmp_path / "a").iterdir())
    records = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    images = annotated_images(load_dataset("demo-images"))[:3]
    assert [r["sample"]["images"][0] for r in records] == [img.image for img in images]  # one per image
    for r, img in zip(records, images):
        assert r["prompt"][0]["content"][1]["text"] == "Please describe this image in detail."
        assert r["sample"]["metadata"]["objects"] == list(img.objects)
        again = score_description(r["outputs"][0]["text"], img.objects, DEMO, r["sample"]["metadata"]["colours"])
        assert r["scores"] == again
    results = json.loads((run / "results.json").read_text())
    assert results["study"] == "hallucination-chair" and results["status"] == "complete" and results["n"] == 3
    overall = results["metrics"]["overall"]
    assert set(overall) == {"chair_i", "chair_s", "recall", "chair_i_mentions", "colour_hallucination",
                            "objects_per_description"}
    assert overall["chair_s"]["n"] == 3 and overall["recall"]["n"] == sum(len(i.objects) for i in images)
    assert results["metrics"]["images"]["value"] == 3
    report = (run / "report.html").read_text()
    assert "CHAIR: metrics" in report and "Descriptions and their mentions" in report

    vocab = tmp_path / "vocabulary.yaml"
    vocab.write_text("circle: [disc]\n")
    code, out, err = cli("hallucination", "--rescore", str(run), "--runs-dir", str(tmp_path / "b"), "--quiet")
    assert code == 0, out + err
    rescored = next((tmp_path / "b").iterdir())
    assert json.loads((rescored / "results.json").read_text())["metrics"] == results["metrics"]
    code, out, err = cli("hallucination", "--rescore", str(run), "--vocabulary", str(vocab), "--runs-dir",
                         str(tmp_path / "c"), "--quiet")
    assert code == 0, out + err
    assert "vocabulary.yaml" in (next((tmp_path / "c").iterdir()) / "config.yaml").read_text()
    code, out, err = cli("hallucination", "--rescore", str(run), "--vocabulary", str(tmp_path / "none.yaml"),
                         "--runs-dir", str(tmp_path / "d"), "--quiet")
    assert code != 0 and "Cannot read the vocabulary file" in out + err


def test_clear_errors_for_a_text_model_and_a_dataset_without_objects(cli, tmp_path):
    code, out, err = cli("hallucination", "--model", "embedded", "--dataset", "demo-images", "--chair",
                         "--runs-dir", str(tmp_path), "--quiet")
    assert code != 0 and "needs the 'images' capability" in out + err
    code, out, err = cli("hallucination", "--model", "embedded", "--dataset", "demo-qa", "--chair",
                         "--runs-dir", str(tmp_path), "--quiet")
    assert code != 0 and "has no images with object annotations" in out + err
    code, out, err = cli("hallucination", "--dataset", "demo-images", "--chair", "--pope", "--runs-dir", str(tmp_path))
    assert code != 0 and "separate studies" in out + err
    code, out, err = cli("hallucination", "--dataset", "demo-images", "--pope", "--vocabulary", "v.yaml",
                         "--runs-dir", str(tmp_path))
    assert code != 0 and "--vocabulary is an option of --chair" in out + err
    assert not list(tmp_path.iterdir())
