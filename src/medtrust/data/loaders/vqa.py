"""Image question sets: a manifest of your own, and VQA-RAD, SLAKE and PathVQA as distributed.

- ``image-manifest``: JSONL or CSV with ``image`` (path, relative to the manifest), ``question``,
  ``answer``, optional ``id``, ``objects`` / ``findings`` (list, or ``;``-separated),
  ``answer_type``, and ``boxes`` ({object: [[x1, y1, x2, y2], ...]}, JSON text in a CSV) with
  ``box_format`` ``normalised`` (0-1, the default) or ``pixels`` (divided by the image's size).
  Objects feed POPE probing and CHAIR, boxes the grounding study.
- ``vqa-rad``: ``VQA_RAD Dataset Public.json`` + ``VQA_RAD Image Folder/`` (OSF release); test =
  the ``test_*`` phrase types, train = the rest. Hub: flaviagiammarino/vqa-rad.
- ``slake``: ``Slake1.0/{train,validate,test}.json`` + ``imgs/``; English and Chinese questions
  (``q_lang``). Hub rows must carry the image (column ``image``).
- ``pathvqa``: ``qas/<split>/<split>_qa.pkl`` + ``images/<split>/`` (UCSD-AI4H release), read
  with a pickle reader that only accepts plain lists, dicts and strings. Hub: flaviagiammarino/path-vqa.

Hub rows hold PIL images; they are written once to ``<cache>/images/<dataset>/<sha>.png`` so a
Sample always names image files.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import pickle
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Iterator

from medtrust.data.loaders._common import find_file, read_csv, read_json, read_jsonl
from medtrust.data.registry import DatasetSpec, malformed, register
from medtrust.data.schema import Sample
from medtrust.errors import DataError
from medtrust.paths import cache_dir

YES_NO = {"yes", "no"}


def _answer_type(answer: str, closed: bool | None = None) -> str:
    if answer.strip().lower() in YES_NO and closed is not False:
        return "yes_no"
    return "short"


def _objects(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(";") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


#: image paths of a manifest may leave its folder only when the user says so (--allow-outside-images)
ALLOW_OUTSIDE: ContextVar[bool] = ContextVar("allow_outside_images", default=False)


def _image(root: Path, name: str, where, n) -> str:
    path = (root / name).expanduser()
    if not ALLOW_OUTSIDE.get() and not path.resolve().is_relative_to(root.resolve()):
        raise DataError(f"Row {n} of {where}: image '{name}' is outside the folder {root} "
                        "(a manifest's images must lie in its folder).",
                        "move the image into that folder, or pass --allow-outside-images if you trust this file")
    if not path.is_file():
        raise malformed(where, n, f"image '{name}' not found at {path}")
    return str(path)


def saved_image(image: Any, dataset: str) -> str:
    """Write a hub row's image (PIL, or {"bytes": ...}) once to the cache; its path."""
    from PIL import Image
    if isinstance(image, dict) and image.get("bytes"):
        image = Image.open(io.BytesIO(image["bytes"]))
    if not hasattr(image, "save"):
        raise DataError(f"A {dataset} row holds no image.", "use a hub dataset whose rows carry the image")
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG")
    data = buf.getvalue()
    folder = cache_dir() / "images" / dataset
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:20]}.png"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return str(path)


# --- your own manifest ---------------------------------------------------------------------------
BOX_FORMATS = ("normalised", "pixels")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _boxes(row: dict, n: int, where, image: str) -> dict[str, list[list[float]]]:
    """A row's ``boxes`` as {object: [[x1, y1, x2, y2], ...]} normalised 0-1 (x right, y down)."""
    value = row.get("boxes")
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise malformed(where, n, "'boxes' is not JSON ({\"object\": [[x1, y1, x2, y2], ...]})") from None
    fmt = str(row.get("box_format") or "normalised").strip().lower()
    if fmt not in BOX_FORMATS:
        raise malformed(where, n, f"box_format '{fmt}' is not one of {', '.join(BOX_FORMATS)}")
    if not isinstance(value, dict):
        raise malformed(where, n, "'boxes' must map each object to a list of [x1, y1, x2, y2] boxes")
    size = None
    if fmt == "pixels":
        from PIL import Image
        try:
            with Image.open(image) as img:
                size = img.size
        except (OSError, ValueError):
            raise malformed(where, n, f"the image {image} cannot be read for its size (pixel boxes)") from None
    out: dict[str, list[list[float]]] = {}
    for obj, boxes in value.items():
        if isinstance(boxes, list) and len(boxes) == 4 and all(_number(v) for v in boxes):
            boxes = [boxes]  # one box given without the outer list
        if not isinstance(boxes, list):
            raise malformed(where, n, f"the boxes of '{obj}' are not a list of [x1, y1, x2, y2]")
        for box in boxes:
            if not (isinstance(box, list) and len(box) == 4 and all(_number(v) for v in box)):
                raise malformed(where, n, f"box {box!r} of '{obj}' is not four numbers [x1, y1, x2, y2]")
            x1, y1, x2, y2 = (box[0] / size[0], box[1] / size[1], box[2] / size[0], box[3] / size[1]) if size \
                else box
            if not (0 <= x1 <= x2 <= 1 and 0 <= y1 <= y2 <= 1):
                scale = (f"inside the image ({size[0]}x{size[1]} pixels)" if size else
                         "in 0-1 (set box_format to pixels for pixel boxes)")
                raise malformed(where, n, f"box {box!r} of '{obj}' must have x1 <= x2, y1 <= y2, {scale}")
            out.setdefault(str(obj).strip().lower(), []).append([round(float(v), 6) for v in (x1, y1, x2, y2)])
    return out


def manifest_row(row: dict, n: int, where, root: Path) -> Sample:
    for col in ("image", "question"):
        if not row.get(col):
            raise malformed(where, n, f"missing '{col}'")
    answer = str(row.get("answer", "") or "")
    objects = _objects(row.get("objects", row.get("findings")))
    image = _image(root, str(row["image"]), where, n)
    boxes = _boxes(row, n, where, image)
    objects += [o for o in boxes if o not in {x.lower() for x in objects}]
    extra = {"boxes": boxes, "box_format": "xyxy-normalised"} if boxes else {}
    return Sample(id=str(row.get("id") or f"manifest-{n:05d}"), question=str(row["question"]),
                  answer=answer or None,
                  answer_type=row.get("answer_type") or (_answer_type(answer) if answer else "open"),
                  choices=["yes", "no"] if _answer_type(answer) == "yes_no" else None,
                  images=[image],
                  metadata={"language": row.get("language", "en"), "objects": objects,
                            "should_refuse": bool(row.get("should_refuse", False)), **extra})


def read_manifest(path: Path, split: str) -> Iterator[Sample]:
    """A JSONL or CSV manifest; image paths are relative to its folder."""
    file = find_file(path, ["manifest.jsonl", "manifest.csv"], "image-manifest")
    rows = read_jsonl(file) if file.suffix == ".jsonl" else read_csv(file, required=["image", "question"])
    for n, row in rows:
        yield manifest_row(row, n, file, file.parent)


# --- VQA-RAD -------------------------------------------------------------------------------------
def read_vqa_rad(path: Path, split: str) -> Iterator[Sample]:
    file = find_file(path, ["VQA_RAD Dataset Public.json", "VQA_RAD_Dataset_Public.json"], "vqa-rad")
    folder = next((p for p in (file.parent / "VQA_RAD Image Folder", file.parent / "VQA_RAD_Image_Folder",
                               file.parent / "images") if p.is_dir()), None)
    if folder is None:
        raise DataError(f"No 'VQA_RAD Image Folder' next to {file}.", "keep the images folder as distributed")
    rows = read_json(file)
    for n, row in enumerate(rows, 1):
        is_test = str(row.get("phrase_type", "")).startswith("test")
        if split != "all" and (split == "test") != is_test:
            continue
        answer = str(row.get("answer", "")).strip()
        closed = str(row.get("answer_type", "")).upper() == "CLOSED"
        yield Sample(id=f"vqarad-{row.get('qid', n)}", question=str(row["question"]), answer=answer,
                     answer_type=_answer_type(answer, closed), choices=["yes", "no"] if answer.lower() in YES_NO
                     else None, images=[_image(folder, row["image_name"], file, n)],
                     metadata={"language": "en", "organ": row.get("image_organ"),
                               "question_type": row.get("question_type"), "closed": closed, "objects": []})


def vqa_rad_hub_row(row: dict, index: int, split: str) -> Sample:
    answer = str(row["answer"]).strip()
    return Sample(id=f"vqarad-{split}-{index:05d}", question=row["question"], answer=answer,
                  answer_type=_answer_type(answer), choices=["yes", "no"] if answer.lower() in YES_NO else None,
                  images=[saved_image(row["image"], "vqa-rad")], metadata={"language": "en", "objects": []})


# --- SLAKE ---------------------------------------------------------------------------------------
def read_slake(path: Path, split: str) -> Iterator[Sample]:
    file = find_file(path, [f"{split}.json"], "slake")
    images = file.parent / "imgs"
    for n, row in enumerate(read_json(file), 1):
        answer = str(row.get("answer", "")).strip()
        lang = "zh" if row.get("q_lang") == "zh" else "en"
        closed = str(row.get("answer_type", "")).upper() == "CLOSED"
        yield Sample(id=f"slake-{row.get('qid', n)}", question=str(row["question"]), answer=answer,
                     answer_type=_answer_type(answer, closed),
                     images=[_image(images, row["img_name"], file, n)],
                     metadata={"language": lang, "modality": row.get("modality"), "location": row.get("location"),
                               "content_type": row.get("content_type"), "closed": closed, "objects": []})


def slake_hub_row(row: dict, index: int, split: str) -> Sample:
    answer = str(row["answer"]).strip()
    return Sample(id=f"slake-{row.get('qid', index)}", question=row["question"], answer=answer,
                  answer_type=_answer_type(answer), images=[saved_image(row.get("image"), "slake")],
                  metadata={"language": "zh" if row.get("q_lang") == "zh" else "en", "objects": []})


# --- PathVQA -------------------------------------------------------------------------------------
class _PlainUnpickler(pickle.Unpickler):
    """Only builtin containers and strings: a dataset file cannot run code."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a dataset file")


def read_pathvqa(path: Path, split: str) -> Iterator[Sample]:
    names = [f"qas/{split}/{split}_qa.pkl", f"{split}/{split}_qa.pkl", f"{split}_qa.pkl"]
    file = find_file(path, names, "pathvqa")
    try:
        rows = _PlainUnpickler(io.BytesIO(file.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError) as e:
        raise malformed(file, "?", f"not a plain pickle of question rows ({e})") from None
    base = path if path.is_dir() else file.parent
    candidates = [base / "images" / split, file.parent / "images" / split, file.parent.parent.parent / "images" / split]
    root = next((p for p in candidates if p.is_dir()), base)
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or "image" not in row or "question" not in row:
            raise malformed(file, n, "expected a dict with image, question and answer")
        name = str(row["image"])
        image = next((root / f"{name}{ext}" for ext in ("", ".jpg", ".png") if (root / f"{name}{ext}").is_file()),
                     root / name)
        answer = str(row.get("answer", "")).strip()
        yield Sample(id=f"pathvqa-{split}-{n:05d}", question=str(row["question"]), answer=answer,
                     answer_type=_answer_type(answer), choices=["yes", "no"] if answer.lower() in YES_NO else None,
                     images=[_image(root, image.name, file, n)], metadata={"language": "en", "objects": []})


def pathvqa_hub_row(row: dict, index: int, split: str) -> Sample:
    answer = str(row["answer"]).strip()
    return Sample(id=f"pathvqa-{split}-{index:05d}", question=row["question"], answer=answer,
                  answer_type=_answer_type(answer), choices=["yes", "no"] if answer.lower() in YES_NO else None,
                  images=[saved_image(row["image"], "pathvqa")], metadata={"language": "en", "objects": []})


register(DatasetSpec(
    name="image-manifest", description="Your own image questions: a JSONL/CSV manifest (image, question, "
    "answer, objects/findings)", source="your files", splits={"all": None}, default_split="all",
    read_local=read_manifest, tags=["vision"]))
register(DatasetSpec(
    name="vqa-rad", description="VQA-RAD: radiology images, clinician-written questions (Lau et al. 2018)",
    source="OSF release (VQA_RAD Dataset Public.json), CC0", splits={"train": None, "test": None, "all": None},
    default_split="test", local_folder="vqa_rad", read_local=read_vqa_rad, hub_id="flaviagiammarino/vqa-rad",
    hub_row=vqa_rad_hub_row, hub_splits={"all": "train"}, tags=["vision", "vqa"]))
register(DatasetSpec(
    name="slake", description="SLAKE: bilingual (EN/ZH) radiology VQA with semantic labels (Liu et al. 2021)",
    source="Slake1.0 release, CC BY 4.0", splits={"train": None, "validate": None, "test": None},
    default_split="test", local_folder="slake", read_local=read_slake, hub_id="BoKelvin/SLAKE",
    hub_row=slake_hub_row, hub_splits={"validate": "validation"}, tags=["vision", "vqa", "zh"]))
register(DatasetSpec(
    name="pathvqa", description="PathVQA: pathology images with yes/no and open questions (He et al. 2020)",
    source="UCSD-AI4H/PathVQA release, MIT", splits={"train": None, "val": None, "test": None},
    default_split="test", local_folder="pathvqa", read_local=read_pathvqa, hub_id="flaviagiammarino/path-vqa",
    hub_row=pathvqa_hub_row, hub_splits={"val": "validation"}, tags=["vision", "vqa"]))
