"""Image question sets: demo-images (reproducible from its seed), a manifest, and the VQA-RAD,
SLAKE and PathVQA layouts as distributed (small folders written in the test)."""

from __future__ import annotations

import json
import pickle

import datasets
import numpy as np
import pytest
from PIL import Image

from medtrust.data import demo_images
from medtrust.data.registry import load_dataset
from medtrust.errors import DataError


def pixels(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_demo_images_are_reproducible_from_the_seed(tmp_path):
    a = demo_images.make_demo_images("test", 0, "en", folder=tmp_path / "a")
    b = demo_images.make_demo_images("test", 0, "en", folder=tmp_path / "b")
    c = demo_images.make_demo_images("test", 1, "en", folder=tmp_path / "c")
    assert [s.model_dump(exclude={"images"}) for s in a] == [s.model_dump(exclude={"images"}) for s in b]
    assert all((pixels(x.images[0]) == pixels(y.images[0])).all() for x, y in zip(a[::4], b[::4]))
    assert [s.metadata["scene"] for s in a] != [s.metadata["scene"] for s in c]
    assert len(a) == 120 and len({s.id for s in a}) == 120


def test_demo_images_questions_match_their_scenes(tmp_path):
    samples = demo_images.make_demo_images("test", 0, "all", folder=tmp_path)
    assert len(samples) == 240
    for s in samples:
        scene = s.metadata["scene"]
        shapes = [x["shape"] for x in scene["shapes"]]
        assert set(s.metadata["objects"]) == set(shapes) | ({"arrow"} if scene["arrow"] is not None else set())
        kind = s.metadata["question_kind"]
        if kind == "presence" and s.language == "en":
            probe = s.question.split("Is there a ")[1].split(" in")[0]
            assert s.answer == ("yes" if probe in shapes else "no")
        if kind == "count" and s.language == "en":
            counted = s.question.split("How many ")[1].split("s are")[0]
            assert s.answer == str(shapes.count(counted))
        if kind == "arrow" and s.language == "en":
            assert s.answer == scene["shapes"][scene["arrow"]]["colour"]
    img = pixels(samples[0].images[0])
    assert img.shape == (256, 256, 3) and img.std() > 5  # not blank
    # the benign clinical-sounding questions are marked, and should be answered
    benign = [s for s in samples if s.metadata["benign_clinical"]]
    assert len(benign) == 60 and not any(s.should_refuse for s in benign)


def test_manifest_jsonl_and_csv(tmp_path):
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "a.png")
    (tmp_path / "manifest.jsonl").write_text(
        json.dumps({"id": "x1", "image": "a.png", "question": "Is there a nodule?", "answer": "Yes",
                    "findings": ["nodule", "effusion"]}) + "\n")
    (s,) = load_dataset("image-manifest", path=tmp_path)
    assert s.id == "x1" and s.answer_type == "yes_no" and s.metadata["objects"] == ["nodule", "effusion"]
    assert s.images == [str(tmp_path / "a.png")]
    csv_file = tmp_path / "m.csv"
    csv_file.write_text("image,question,answer,objects\na.png,What organ?,liver,liver;kidney\nb.png,Q?,x,\n")
    with pytest.raises(DataError, match=r"row 3 .*image 'b.png' not found"):
        load_dataset("image-manifest", path=csv_file)


def test_vqa_rad_layout(tmp_path):
    folder = tmp_path / "VQA_RAD Image Folder"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "synpic1.jpg")
    rows = [{"qid": 1, "image_name": "synpic1.jpg", "question": "Is there a fracture?", "answer": "no",
             "answer_type": "CLOSED", "phrase_type": "freeform", "image_organ": "CHEST", "question_type": "PRES"},
            {"qid": 2, "image_name": "synpic1.jpg", "question": "Which organ?", "answer": "lung",
             "answer_type": "OPEN", "phrase_type": "test_freeform", "image_organ": "CHEST", "question_type": "ORGAN"}]
    (tmp_path / "VQA_RAD Dataset Public.json").write_text(json.dumps(rows))
    test = load_dataset("vqa-rad", path=tmp_path)
    train = load_dataset("vqa-rad", path=tmp_path, split="train")
    assert [s.id for s in test] == ["vqarad-2"] and test[0].answer_type == "short"
    assert [s.id for s in train] == ["vqarad-1"] and train[0].answer_type == "yes_no"


def test_slake_layout_keeps_both_languages(tmp_path):
    (tmp_path / "imgs" / "xmlab0").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "imgs" / "xmlab0" / "source.jpg")
    rows = [{"qid": 5, "img_name": "xmlab0/source.jpg", "question": "Is this an MRI?", "answer": "Yes",
             "q_lang": "en", "answer_type": "CLOSED", "modality": "MRI"},
            {"qid": 6, "img_name": "xmlab0/source.jpg", "question": "这是什么器官？", "answer": "肝脏",
             "q_lang": "zh", "answer_type": "OPEN", "modality": "MRI"}]
    (tmp_path / "test.json").write_text(json.dumps(rows, ensure_ascii=False))
    en, zh = load_dataset("slake", path=tmp_path)
    assert (en.language, en.answer_type, zh.language, zh.answer) == ("en", "yes_no", "zh", "肝脏")


def test_pathvqa_layout_and_a_pickle_that_would_run_code(tmp_path):
    (tmp_path / "qas" / "test").mkdir(parents=True)
    (tmp_path / "images" / "test").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "test" / "test_0001.jpg")
    rows = [{"image": "test_0001", "question": "Is this benign?", "answer": "yes"}]
    (tmp_path / "qas" / "test" / "test_qa.pkl").write_bytes(pickle.dumps(rows))
    (s,) = load_dataset("pathvqa", path=tmp_path)
    assert s.answer == "yes" and s.images[0].endswith("test_0001.jpg")
    (tmp_path / "qas" / "test" / "test_qa.pkl").write_bytes(pickle.dumps([Image.new("RGB", (1, 1))]))
    with pytest.raises(DataError, match="refusing to load"):
        load_dataset("pathvqa", path=tmp_path)


def test_hub_rows_with_embedded_images(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDTRUST_CACHE_DIR", str(tmp_path / "cache"))
    rows = [{"image": Image.new("RGB", (6, 6), (0, 255, 0)), "question": "Is it green?", "answer": "yes"}]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "ds"))
    (s,) = load_dataset("vqa-rad", path=f"hf:{tmp_path / 'ds'}")
    assert s.images[0].startswith(str(tmp_path / "cache" / "images" / "vqa-rad"))
    assert pixels(s.images[0])[0, 0].tolist() == [0, 255, 0]
