"""Images in the safety study: FigStep sent as an image and benign image questions (demo-images)
on the tiny random LLaVA through the CLI (request payloads, saved records, images on disk, report
thumbnails), over-refusal on image questions from a scripted vision backend, the question-kind
filter, and the capability error for text-only models."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from medtrust.data.registry import load_dataset
from medtrust.errors import DataError
from medtrust.models.base import Backend, Capability, Completion
from medtrust.models.hf_vision import HFVisionBackend, hf_chat_messages
from medtrust.models.images import to_openai_messages
from medtrust.safety.attacks import FIGSTEP_PROMPT
from medtrust.safety.judges.keywords import is_refusal
from medtrust.safety.study import SafetyConfig, SafetyStudy

pytestmark = pytest.mark.integration

LIMIT = 2


def lines(folder: Path) -> list:
    from medtrust.safety.study import SafetyRecord
    return [SafetyRecord.model_validate_json(x) for x in (folder / "samples.jsonl").read_text().splitlines()]


def sent_images(record) -> list[str]:
    """The images a record's prompt sent, as saved (the report's thumbnails)."""
    from medtrust.report.render import record_images
    return record_images(record.model_dump())


def benign_clinical(limit: int) -> list:
    return [s for s in load_dataset("demo-images") if s.metadata["question_kind"] == "benign-clinical"][:limit]


@pytest.fixture(scope="module")
def vlm_run(tmp_path_factory, tiny_vlm_path):
    """2 harmful + 2 benign image questions x (none, figstep) on the tiny LLaVA, 4 new tokens; the
    requests the backend got and the tensors its processor built are recorded."""
    from medtrust.cli import main
    runs = tmp_path_factory.mktemp("runs")
    sent, batches = [], []
    real_generate, real_inputs = HFVisionBackend.generate, HFVisionBackend._inputs

    def generate(self, requests, progress=None):
        sent.extend(requests)
        return real_generate(self, requests, progress)

    def inputs(self, prepared):
        out = real_inputs(self, prepared)
        batches.append((prepared, out, self.processor))
        return out

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(HFVisionBackend, "generate", generate)
        mp.setattr(HFVisionBackend, "_inputs", inputs)
        try:
            main(["safety", "--model", f"hf/{tiny_vlm_path}", "--dataset", "demo-harmful", "--benign", "demo-images",
                  "--attacks", "none,figstep", "--limit", str(LIMIT), "--max-tokens", "4", "--no-cache",
                  "--runs-dir", str(runs), "-q"])
        except SystemExit as e:
            assert not e.code, e.code
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    return folder, sent, batches


def test_records_name_every_image_sent_and_figstep_images_are_in_the_run_folder(vlm_run):
    folder, _, _ = vlm_run
    records = {r.id: r for r in lines(folder)}
    harmful = load_dataset("demo-harmful", limit=LIMIT)
    benign = benign_clinical(LIMIT)
    assert sorted(records) == sorted(f"{s.id}::{a}" for s in harmful + benign for a in ("none", "figstep"))
    for s in harmful:
        plain, fig = records[f"{s.id}::none"], records[f"{s.id}::figstep"]
        assert sent_images(plain) == [] and plain.prompt == [{"role": "user", "content": s.question}]
        assert sent_images(fig) == [f"images/{s.id}-figstep.png"] == [fig.extras.attack_image]
        assert fig.prompt[0]["content"] == [{"type": "image", "image": fig.extras.attack_image},
                                            {"type": "text", "text": FIGSTEP_PROMPT["en"]}]
    for s in benign:
        scan = s.images[0]
        plain, fig = records[f"{s.id}::none"], records[f"{s.id}::figstep"]
        for r in (plain, fig):
            x = r.extras
            assert (x.side, x.should_refuse, x.dataset, x.category) == ("benign", False, "demo-images",
                                                                        "benign-clinical")
            assert r.sample == s
        assert sent_images(plain) == [scan] and plain.extras.attack_image is None
        assert plain.prompt[0]["content"] == [{"type": "image", "image": scan}, {"type": "text", "text": s.question}]
        assert sent_images(fig) == [scan, f"images/{s.id}-figstep.png"]
        assert [p.get("image") for p in fig.prompt[0]["content"]] == [*sent_images(fig), None]
    for r in records.values():
        if r.extras.attack_image:
            with Image.open(folder / r.extras.attack_image) as img:
                assert img.size == (760, 760) and img.convert("L").getextrema()[0] < 128  # text drawn


def test_the_backend_gets_the_images_as_files_and_its_processor_turns_each_into_pixels(vlm_run):
    folder, sent, batches = vlm_run
    records = {r.id: r for r in lines(folder)}
    assert len(sent) == len(records) == 4 * LIMIT
    for req in sent:
        parts = req.messages[0]["content"]
        if isinstance(parts, str):
            continue
        paths = [p["image"] for p in parts if p["type"] == "image"]
        assert all(Path(p).is_absolute() and Path(p).is_file() for p in paths)
        figstep = [p for p in paths if Path(p).parent == folder / "images"]
        assert len(figstep) == (FIGSTEP_PROMPT["en"] == parts[-1]["text"])
        # the OpenAI-compatible backend sends the same files as data URLs
        openai_parts = to_openai_messages(req.messages)[0]["content"]
        urls = [p["image_url"]["url"] for p in openai_parts if p["type"] == "image_url"]
        for url, path in zip(urls, paths):
            decoded = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
            with Image.open(path) as original:
                assert decoded.size == original.size and decoded.tobytes() == original.convert(decoded.mode).tobytes()
    with_images = [b for b in batches if "pixel_values" in b[1]]
    assert len(with_images) == 1 and len(batches) == 2  # the harmful prompts without images go separately
    prepared, tensors, processor = with_images[0]
    images = [img for _, imgs in prepared for img in imgs]
    assert len(images) == LIMIT + LIMIT + 2 * LIMIT  # benign@none: 1 scan; harmful@figstep: 1; benign@figstep: 2
    expected = processor.image_processor(images, return_tensors="pt")["pixel_values"]
    assert torch.allclose(tensors["pixel_values"], expected.to(tensors["pixel_values"].dtype))
    image_token = processor.tokenizer.convert_tokens_to_ids("<image>")
    per_row = (tensors["input_ids"] == image_token).sum(dim=1).tolist()
    per_image = per_row[0]  # the first row holds one scan
    assert per_image > 0 and per_row == [per_image * len(imgs) for _, imgs in prepared]
    for (_, imgs), req in zip(prepared, [r for r in sent if not isinstance(r.messages[0]["content"], str)]):
        assert len(imgs) == len(hf_chat_messages(req.messages)[1])


def test_metrics_come_from_the_judged_labels_and_the_report_shows_images_beside_responses(vlm_run):
    folder, _, _ = vlm_run
    records = lines(folder)
    metrics = json.loads((folder / "results.json").read_text())["metrics"]
    for attack in ("none", "figstep"):
        benign = [r.scores for r in records if r.variant == attack and r.extras.side == "benign"]
        harmful = [r.scores for r in records if r.variant == attack and r.extras.side == "harmful"]
        over = sum(is_refusal(r["verdict"]) for r in benign) / LIMIT
        m = metrics["by_attack"][attack]
        assert m["over_refusal_rate"]["value"] == pytest.approx(over) and m["over_refusal_rate"]["n"] == LIMIT
        refused = sum(is_refusal(r["verdict"]) for r in harmful)
        assert m["refusal_rate_harmful"]["value"] == pytest.approx(refused / LIMIT)
        by_kind = metrics["by_category"][attack]["benign: benign-clinical"]["over_refusal_rate"]
        assert by_kind["value"] == pytest.approx(over)
    page = (folder / "report.html").read_text()
    thumbs = json.loads(page.split('<script type="application/json" id="thumbs-data">')[1].split("</script>")[0])
    assert set(thumbs) == {p for r in records for p in sent_images(r)}  # FigStep images and scans, per response
    assert all(url.startswith("data:image/jpeg;base64,") for url in thumbs.values())
    examples = page.split("<h2>Attack prompts and images</h2>")[1]
    assert examples.count('alt="image sent with ') == 1  # the figstep example's image; the none example has none


class ScriptedVisionModel(Backend):
    """Refuses every question about a lesion or a mass that comes with an image; answers the rest.
    Records the messages it gets."""

    name = "scripted-vision"
    capabilities = frozenset({Capability.IMAGES})

    def __init__(self):
        self.seen: list = []

    def generate(self, requests, progress=None):
        out = []
        for r in requests:
            self.seen.append(r.messages)
            parts = r.messages[-1]["content"]
            text = parts if isinstance(parts, str) else " ".join(p.get("text", "") for p in parts)
            has_image = not isinstance(parts, str) and any(p["type"] == "image" for p in parts)
            refuse = has_image and ("lesion" in text or "mass" in text)
            reply = ("I'm sorry, but I can't help with interpreting medical images." if refuse
                     else "The shape is a circle.")
            out.append([Completion(text=reply, token_ids=[1, 2, 3])])
        return out


def test_over_refusal_on_benign_image_questions_per_question_kind(tmp_path):
    from medtrust.pipeline import execute
    model = ScriptedVisionModel()
    config = SafetyConfig(model="scripted-vision", dataset="demo-harmful", benign="demo-images", benign_kinds="all",
                          limit=8, runs_dir=str(tmp_path))
    run = execute(SafetyStudy(), config, progress=False, backend=model)
    records = [r for r in lines(run.path) if r.extras.side == "benign"]
    questions = load_dataset("demo-images", limit=8)  # every kind of the first two images
    assert [r.sample_id for r in records] == [s.id for s in questions]
    assert all(sent_images(r) == s.images and Path(s.images[0]).is_file() for r, s in zip(records, questions))
    kinds = [s.metadata["question_kind"] for s in questions]
    refused = [k == "benign-clinical" for k in kinds]
    assert [is_refusal(r.scores["verdict"]) for r in records] == refused
    metrics = run.results["metrics"]
    assert metrics["by_attack"]["none"]["over_refusal_rate"]["value"] == pytest.approx(2 / 8)
    by_cat = metrics["by_category"]["none"]
    for kind in set(kinds):
        expected = sum(r for r, k in zip(refused, kinds) if k == kind) / kinds.count(kind)
        assert by_cat[f"benign: {kind}"]["over_refusal_rate"]["value"] == pytest.approx(expected)
    assert sum(isinstance(m[-1]["content"], list) for m in model.seen) == 8  # every benign question had its image


def test_demo_images_keep_the_benign_clinical_questions_by_default_and_limit_counts_after_the_filter():
    study = SafetyStudy()
    samples = study.load_samples(SafetyConfig(dataset="demo-harmful", benign="demo-images", limit=6))
    benign = [s for s in samples if study._sides[s.id].side == "benign"]
    assert [s.id for s in benign] == [s.id for s in benign_clinical(6)]
    assert study.needs(SafetyConfig(dataset="demo-harmful", benign="demo-images")) == {Capability.IMAGES}
    study = SafetyStudy()
    picked = study.load_samples(SafetyConfig(dataset="demo-harmful", benign="demo-images", limit=3,
                                             benign_kinds="count,arrow"))
    expected = [s.id for s in load_dataset("demo-images") if s.metadata["question_kind"] in ("count", "arrow")][:3]
    assert [s.id for s in picked if not study._sides[s.id].should_refuse] == expected
    with pytest.raises(DataError, match="no question kind 'lesion'") as e:
        SafetyStudy().load_samples(SafetyConfig(dataset="demo-harmful", benign="demo-images", benign_kinds="lesion"))
    assert "benign-clinical" in e.value.fix and "presence" in e.value.fix
    with pytest.raises(DataError, match="'demo-benign' has none"):
        SafetyStudy().load_samples(SafetyConfig(dataset="demo-harmful", benign="demo-benign", benign_kinds="count"))


def test_image_questions_passed_as_the_harmful_side_are_one_clear_error():
    with pytest.raises(DataError, match="harmful dataset 'demo-images' has no request that should be refused") as e:
        SafetyStudy().load_samples(SafetyConfig(dataset="demo-images", benign="demo-benign", limit=2))
    assert "--benign" in e.value.fix
    with pytest.raises(DataError, match="benign dataset 'demo-harmful' has no request that should be answered"):
        SafetyStudy().load_samples(SafetyConfig(dataset="demo-harmful", benign="demo-harmful", limit=2))


@pytest.mark.parametrize("args", [["--benign", "demo-benign", "--attacks", "none,figstep"],
                                  ["--benign", "demo-images", "--attacks", "none"]])
def test_a_text_only_model_with_images_stops_before_writing_and_names_vision_backends(cli, tmp_path, args):
    code, out, err = cli("safety", "--model", "embedded", "--dataset", "demo-harmful", *args, "--limit", "2",
                         "--runs-dir", str(tmp_path))
    assert code == 2
    assert "'images' capability" in err and "backend 'embedded'" in err
    assert "hf/<vision-language model>" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())
