"""Grounding: requests drawn as POPE draws its probes, replies scored by IoU, the metrics by hand,
the report's drawings, the image-manifest `boxes` field, and the study end to end (run, --rescore)."""

from __future__ import annotations

import json

import pytest

from medtrust.data.schema import Sample
from medtrust.hallucination.grounding_study import (
    METRICS,
    box_svg,
    boxed_images,
    grounding_metrics,
    grounding_samples,
    score_reply,
)
from medtrust.hallucination.pope import AnnotatedImage, build_probes

POPE_IMAGES = [AnnotatedImage("a.png", "a", ("cat", "dog")), AnnotatedImage("b.png", "b", ("car", "cat")),
               AnnotatedImage("c.png", "c", ("car", "dog", "tree")), AnnotatedImage("d.png", "d", ("bird",))]
B = [0.1, 0.1, 0.4, 0.4]
# every object boxed but the tree of c
IMAGES = [(img, {o: [B] for o in img.objects if o != "tree"}, (100, 100)) for img in POPE_IMAGES]


def of(samples, image_id, split, label):
    return sorted(s.metadata["object"] for s in samples if (s.metadata["image_id"], s.metadata["split"],
                                                            s.metadata["label"]) == (image_id, split, label))


def test_negatives_are_popes_and_positives_have_boxes():
    samples = grounding_samples(IMAGES, None, per_image=3, seed=0)
    probes = build_probes(POPE_IMAGES, per_image=3, seed=0)
    for img in POPE_IMAGES:  # k is POPE's on every image here, so the negatives are POPE's
        for split in ("random", "popular", "adversarial"):
            pope = sorted(p.object for p in probes if p.image_id == img.image_id and p.split == split
                          and p.label == "no")
            assert of(samples, img.image_id, split, "absent") == pope
    assert of(samples, "c", "random", "present") == ["car", "dog"]  # the tree has no box: never asked for
    assert all("tree" not in of(samples, "c", s, "absent") for s in ("random", "popular", "adversarial"))
    assert of(samples, "a", "popular", "absent") == ["bird", "car"]
    s = next(x for x in samples if x.id == "grounding-popular-a-cat")
    assert s.question == ("Return the bounding box of the cat in the image as [x1, y1, x2, y2] with coordinates "
                          "from 0 to 1.")
    assert s.metadata["truth_boxes"] == [B] and s.metadata["image_size"] == [100, 100] and s.images == ["a.png"]
    assert next(x for x in samples if x.id == "grounding-popular-a-bird").metadata["truth_boxes"] == []
    assert len(grounding_samples(IMAGES, 1)) == 3 * 2 * 2  # --limit 1: the first image, 2 + 2 per split
    zh = grounding_samples(IMAGES, 1, lang="zh")[0]
    assert zh.question.startswith("请以[x1, y1, x2, y2]") and zh.metadata["language"] == "zh"


def test_images_collect_objects_and_boxes_from_rows(tmp_path):
    from PIL import Image
    Image.new("RGB", (40, 20)).save(tmp_path / "x.png")
    x = str(tmp_path / "x.png")
    rows = [Sample(id="q1", question="?", images=[x], metadata={"objects": ["Nodule"], "boxes": {"Nodule": [B]}}),
            Sample(id="q2", question="?", images=[x], metadata={"objects": ["effusion"]}),
            Sample(id="q3", question="?", images=["y.png"], metadata={"objects": []})]
    assert boxed_images(rows) == [(AnnotatedImage(x, "q1", ("effusion", "nodule")), {"nodule": [B]}, (40, 20))]


def test_replies_are_scored_by_iou():
    truth = [[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]]
    s = score_reply("[0.25, 0.25, 0.75, 0.75]", "present", truth)
    assert s["gave_box"] and s["box"] == [0.25, 0.25, 0.75, 0.75] and s["iou"] == pytest.approx(1 / 7)
    assert not s["hit"] and s["scale"] == "normalised"
    s = score_reply('{"bbox_2d": [500, 500, 1000, 1000]}', "present", truth, "1000")
    assert s["iou"] == 1.0 and s["hit"] and s["format"] == "json"
    s = score_reply("[64, 64, 128, 128]", "present", truth, "auto", [128, 128])
    assert s["iou"] == 1.0 and s["scale"] == "pixels"
    s = score_reply("There is no cat in the image.", "present", truth)
    assert s == {"gave_box": False, "box": None, "raw": None, "scale": None, "format": None, "iou": 0.0,
                 "hit": False}
    assert score_reply("There is no cat in the image.", "absent", [])["gave_box"] is False
    assert score_reply("[0.1, 0.1, 0.2, 0.2]", "absent", [])["gave_box"] is True


def test_metrics_match_hand_computed_values():
    rows = [("present", {"iou": 0.8, "hit": True, "gave_box": True}),
            ("present", {"iou": 0.3, "hit": False, "gave_box": True}),
            ("present", {"iou": 0.0, "hit": False, "gave_box": False}),
            ("present", {"iou": 0.5, "hit": True, "gave_box": True}),
            ("absent", {"gave_box": True}), ("absent", {"gave_box": False}), ("absent", {"gave_box": False})]
    m = grounding_metrics(rows, seed=0)
    assert set(m) == set(METRICS)
    assert m["mean_iou"]["value"] == pytest.approx(1.6 / 4) and m["mean_iou"]["n"] == 4
    assert 0.0 <= m["mean_iou"]["ci"][0] <= 0.4 <= m["mean_iou"]["ci"][1] <= 0.8
    assert (m["accuracy_iou50"]["value"], m["accuracy_iou50"]["count"]) == (0.5, 2)
    assert m["accuracy_iou50"]["ci"] == pytest.approx([0.1824, 0.8176], abs=1e-4)  # Wilson, 2 of 4, 90%
    assert (m["no_box_rate"]["value"], m["no_box_rate"]["count"]) == (0.25, 1)
    assert m["hallucinated_box_rate"]["value"] == pytest.approx(1 / 3) and m["hallucinated_box_rate"]["n"] == 3
    assert m["hallucinated_box_rate"]["interval"] == "wilson"
    empty = grounding_metrics([("absent", {"gave_box": False})])
    assert empty["mean_iou"]["value"] is None and empty["mean_iou"]["note"] == "no positives"
    assert empty["hallucinated_box_rate"]["value"] == 0.0


def test_drawings_put_the_boxes_where_they_are(tmp_path):
    from PIL import Image
    Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "i.png")
    svg = box_svg(str(tmp_path / "i.png"), [0.25, 0.25, 0.75, 0.5], [[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]],
                  (200, 100))
    assert 'href="data:image/jpeg;base64,' in svg and 'width="220" height="110"' in svg
    assert '<rect x="0.2500" y="0.2500" width="0.5000" height="0.2500" fill="none" stroke="#cf222e"' in svg
    assert svg.count('stroke="#2da44e"') == 2 and '<rect x="0.5000" y="0.5000" width="0.5000"' in svg
    assert "#cf222e" not in box_svg(None, None, [[0, 0, 1, 1]]) and 'fill="#333"' in box_svg(None, None, [])


# ----------------------------------------------------------------------- the manifest's boxes
def write_manifest(folder, rows, name="manifest.jsonl"):
    from PIL import Image
    Image.new("RGB", (200, 100)).save(folder / "a.png")
    if name.endswith(".csv"):
        import csv
        with open(folder / name, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    else:
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / name


def test_manifest_boxes_normalised_and_pixels(tmp_path):
    from medtrust.data.registry import load_dataset
    rows = [{"image": "a.png", "question": "q", "answer": "yes", "objects": ["nodule"],
             "boxes": {"nodule": [[0.1, 0.2, 0.5, 0.6]]}},
            {"image": "a.png", "question": "q", "boxes": {"Effusion": [[20, 10, 100, 50], [0, 0, 200, 100]]},
             "box_format": "pixels"},
            {"image": "a.png", "question": "q", "boxes": {"mass": [0, 0, 1, 1]}},
            {"image": "a.png", "question": "q", "objects": ["nodule"]}]
    samples = load_dataset("image-manifest", path=str(write_manifest(tmp_path, rows)))
    assert samples[0].metadata["boxes"] == {"nodule": [[0.1, 0.2, 0.5, 0.6]]}
    assert samples[1].metadata["boxes"] == {"effusion": [[0.1, 0.1, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0]]}
    assert samples[1].metadata["objects"] == ["effusion"] and samples[1].metadata["box_format"] == "xyxy-normalised"
    assert samples[2].metadata["boxes"] == {"mass": [[0.0, 0.0, 1.0, 1.0]]}
    assert "boxes" not in samples[3].metadata
    csv_rows = [{"image": "a.png", "question": "q", "objects": "nodule",
                 "boxes": json.dumps({"nodule": [[20, 10, 100, 50]]}), "box_format": "pixels"}]
    (tmp_path / "c").mkdir()
    samples = load_dataset("image-manifest", path=str(write_manifest(tmp_path / "c", csv_rows, "manifest.csv")))
    assert samples[0].metadata["boxes"] == {"nodule": [[0.1, 0.1, 0.5, 0.5]]}


@pytest.mark.parametrize("boxes, fmt, words", [
    ({"nodule": [[0.5, 0.2, 0.1, 0.6]]}, None, "must have x1 <= x2, y1 <= y2, in 0-1 (set box_format to pixels"),
    ({"nodule": [[0.1, 0.2, 0.5]]}, None, "is not four numbers"),
    ({"nodule": [[10, 20, 50, 60]]}, None, "set box_format to pixels"),
    ({"nodule": [[10, 20, 250, 60]]}, "pixels", "inside the image (200x100 pixels)"),
    ({"nodule": [[0.1, 0.2, 0.5, 0.6]]}, "percent", "box_format 'percent' is not one of normalised, pixels"),
    ({"nodule": "0.1 0.2 0.5 0.6"}, None, "are not a list of [x1, y1, x2, y2]"),
    ([[0.1, 0.2, 0.5, 0.6]], None, "'boxes' must map each object"),
    ("{nodule: [[0.1", None, "'boxes' is not JSON"),
])
def test_malformed_manifest_boxes_name_the_row_and_the_problem(tmp_path, boxes, fmt, words):
    from medtrust.data.registry import load_dataset
    from medtrust.errors import DataError
    rows = [{"image": "a.png", "question": "q", "objects": ["nodule"]},
            {"image": "a.png", "question": "q", "boxes": boxes, **({"box_format": fmt} if fmt else {})}]
    with pytest.raises(DataError) as e:
        load_dataset("image-manifest", path=str(write_manifest(tmp_path, rows)))
    assert e.value.problem.startswith("Malformed row 2 in ") and words in e.value.problem and e.value.fix


# ------------------------------------------------------------------------ the study, end to end
def test_grounding_end_to_end_and_rescore(cli, tiny_vlm_path, tmp_path):
    from medtrust.data.demo_images import scene_boxes
    from medtrust.data.registry import load_dataset
    code, out, err = cli("hallucination", "--model", f"hf/{tiny_vlm_path}", "--dataset", "demo-images", "--grounding",
                         "--limit", "2", "--max-tokens", "8", "--runs-dir", str(tmp_path / "a"), "--no-cache",
                         "--quiet")
    assert code == 0, out + err
    run = next((tmp_path / "a").iterdir())
    records = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    rows = load_dataset("demo-images")
    scenes = {s.images[0]: s.metadata for s in rows}
    first_two = list(dict.fromkeys(s.images[0] for s in rows))[:2]
    assert {r["sample"]["images"][0] for r in records} == set(first_two)
    ks = [min(3, len(scene_boxes(scenes[p]["scene"])), 6 - len(scenes[p]["objects"])) for p in first_two]
    assert len(records) == 3 * 2 * sum(ks)  # 3 splits x (k present + k absent) per image
    for r in records:
        meta, scene = r["sample"]["metadata"], scenes[r["sample"]["images"][0]]
        assert meta["image_size"] == [256, 256]
        if meta["label"] == "present":
            assert meta["truth_boxes"] == scene_boxes(scene["scene"])[meta["object"]] and "iou" in r["scores"]
        else:
            assert meta["object"] not in scene["objects"] and "iou" not in r["scores"]
        assert r["scores"] == score_reply(r["outputs"][0]["text"], meta["label"], meta["truth_boxes"], "auto",
                                          [256, 256])
    results = json.loads((run / "results.json").read_text())
    assert results["study"] == "hallucination-grounding" and results["status"] == "complete"
    for split in ("random", "popular", "adversarial"):
        assert set(results["metrics"][split]) == set(METRICS)
        mine = [(r["sample"]["metadata"]["label"], r["scores"]) for r in records
                if r["sample"]["metadata"]["split"] == split]
        assert results["metrics"][split] == grounding_metrics(mine)
        assert results["metrics"][split]["hallucinated_box_rate"]["n"] == sum(ks)
    report = (run / "report.html").read_text()
    assert "Grounding: splits x metrics" in report and "<svg" in report

    code, out, err = cli("hallucination", "--rescore", str(run), "--runs-dir", str(tmp_path / "b"), "--quiet")
    assert code == 0, out + err
    assert json.loads((next((tmp_path / "b").iterdir()) / "results.json").read_text())["metrics"] == results["metrics"]
    code, out, err = cli("hallucination", "--rescore", str(run), "--box-format", "1000", "--runs-dir",
                         str(tmp_path / "c"), "--quiet")
    assert code == 0, out + err
    assert "box_format: '1000'" in (next((tmp_path / "c").iterdir()) / "config.yaml").read_text()
    code, out, err = cli("hallucination", "--rescore", str(run), "--box-format", "percent", "--runs-dir",
                         str(tmp_path / "d"), "--quiet")
    assert code != 0 and "Unknown --box-format 'percent'" in out + err


def test_a_dataset_without_boxes_is_a_clear_error(cli, tmp_path):
    code, out, err = cli("hallucination", "--model", "embedded", "--dataset", "demo-qa", "--grounding",
                         "--runs-dir", str(tmp_path), "--quiet")
    assert code != 0 and "has no images with true boxes" in out + err and "image-manifest" in out + err
    code, out, err = cli("hallucination", "--dataset", "demo-images", "--chair", "--box-format", "1000",
                         "--runs-dir", str(tmp_path))
    assert code != 0 and "--box-format is an option of --grounding" in out + err
    assert not list(tmp_path.iterdir())
