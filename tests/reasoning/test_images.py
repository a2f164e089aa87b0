"""The reasoning strategies on image questions (demo-images): the image goes with every request
(early answering included), yes/no, option-letter and short answers are graded, records name
their images so the report shows thumbnails; log-likelihood scoring refuses image questions."""

import json

from medtrust.data.registry import load_dataset
from medtrust.models.base import Backend, Capability, Completion
from medtrust.pipeline import execute
from medtrust.reasoning.grading import short_answer_matches
from medtrust.reasoning.study import ReasoningConfig, ReasoningStudy

# The first 4 demo-images questions (seed 0, test split) are about img-000: presence of a triangle
# (gold "yes"), number of triangles (gold "1"), colour the arrow points at (gold "blue") and the
# lesion's shape (gold "triangle").
GOLD = {"img-test-000-presence": "yes", "img-test-000-count": "1", "img-test-000-arrow": "blue",
        "img-test-000-benign-clinical": "triangle"}
# (direct output, chain-of-thought output) per question kind, and whether each is right
SCRIPT = {"presence": ("B", "I can see a triangle in the picture.\nAnswer: A"),
          "count": ("one", "Counting the triangles one by one.\nAnswer: 2 triangles"),
          "arrow": ("Blue.", "The arrow points at a shape filled with colour.\nAnswer: **blue**"),
          "benign-clinical": ("a circle", "The lesion has three corners.\nThe final answer is a triangle.")}
RIGHT = {("presence", "direct"): False, ("presence", "cot"): True, ("count", "direct"): True,
         ("count", "cot"): False, ("arrow", "direct"): True, ("arrow", "cot"): True,
         ("benign-clinical", "direct"): False, ("benign-clinical", "cot"): True}


def _images(message: dict) -> list[str]:
    content = message["content"]
    return [p["image"] for p in content if p["type"] == "image"] if isinstance(content, list) else []


class ScriptedVision(Backend):
    """Answers from SCRIPT by question kind; early answering (after a cut trace) says "Answer: no"."""

    name = "scripted-vision"
    capabilities = frozenset({Capability.IMAGES})

    def __init__(self):
        self.requests = []

    def generate(self, requests, progress=None):
        self.requests.extend(requests)
        out = []
        for r in requests:
            if "Stop reasoning" in r.messages[-1]["content"]:
                out.append([Completion(text="Answer: no", token_ids=[1, 2])])
                continue
            text = next(p["text"] for p in r.messages[-1]["content"] if p["type"] == "text")
            kind = next(k for k in SCRIPT if _kind_of(text) == k)
            reply = SCRIPT[kind][0 if "step by step" not in text else 1]
            out.append([Completion(text=reply, token_ids=list(range(len(reply.split()))))])
        return out


def _kind_of(text: str) -> str:
    if text.startswith("Question: Is there"):
        return "presence"
    if "How many" in text:
        return "count"
    return "arrow" if "colour" in text else "benign-clinical"


def test_image_questions_are_asked_with_the_image_and_graded(tmp_path):
    samples = {s.id: s for s in load_dataset("demo-images", limit=4)}
    assert {i: s.answer for i, s in samples.items()} == GOLD
    backend = ScriptedVision()
    cfg = ReasoningConfig(dataset="demo-images", limit=4, strategies="direct,cot", runs_dir=str(tmp_path),
                          cache=False)
    run = execute(ReasoningStudy(), cfg, backend=backend, progress=False)
    from medtrust.reasoning.study import ReasoningRecord
    typed = {r.id: r for r in run.records(ReasoningRecord)}
    records = {i: r.scores for i, r in typed.items()}
    assert len(records) == 8
    for rec in typed.values():
        kind = rec.sample_id.removeprefix("img-test-000-")
        assert rec.sample.images == samples[rec.sample_id].images and rec.sample.images[0].endswith("img-000.png")
        assert _images(rec.prompt[-1]) == rec.sample.images
        assert rec.scores["correct"] is RIGHT[(kind, rec.variant)], rec.id
    # option letters of the yes/no question map to its choices; short answers read the answer line
    assert records["img-test-000-presence::direct"]["extracted"] == "no"
    assert records["img-test-000-presence::cot"]["extracted"] == "yes"
    assert records["img-test-000-count::cot"]["extracted"] == "2 triangles"
    assert records["img-test-000-benign-clinical::cot"]["extracted"] == "a triangle"
    # every request, the 4 chains x 5 early-answering cuts included, carries the image
    early = [q for q in backend.requests if "Stop reasoning" in q.messages[-1]["content"]]
    assert len(backend.requests) == 8 + 4 * 5 and len(early) == 20
    assert all(_images(q.messages[0]) == [samples[next(iter(samples))].images[0]] for q in backend.requests)
    assert [p["answer"] for p in records["img-test-000-presence::cot"]["early"]["points"]] == ["no"] * 5
    assert run.results["metrics"]["cot"]["accuracy"]["value"] == 0.75
    assert run.results["metrics"]["direct"]["accuracy"]["value"] == 0.5


def test_short_answers_of_demo_images_by_hand():
    assert short_answer_matches("Blue.", ["blue"]) and short_answer_matches("a blue star", ["blue"])
    assert not short_answer_matches("not blue", ["blue"]) and not short_answer_matches("blue or red", ["red"])
    assert short_answer_matches("one", ["1"]) and short_answer_matches("There is 1 triangle", ["1"])
    assert short_answer_matches("none", ["0"]) and short_answer_matches("no circles", ["0"])
    assert not short_answer_matches("2 or 3", ["2"]) and not short_answer_matches("12", ["2"])
    assert short_answer_matches("蓝色。", ["蓝色"]) and short_answer_matches("两个", ["2"])
    assert not short_answer_matches("不是蓝色", ["蓝色"]) and short_answer_matches("两个十字形", ["2"])
    assert not short_answer_matches("The lesion in this scan drawing is shaped like a triangle", ["triangle"])


def test_tiny_vision_model_end_to_end_with_thumbnails(cli, tmp_path, tiny_vlm_path):
    code, out, err = cli("reasoning", "--model", f"hf/{tiny_vlm_path}", "--dataset", "demo-images", "--strategies",
                         "direct,cot", "--limit", "4", "--max-tokens", "6", "--direct-max-tokens", "4",
                         "--runs-dir", str(tmp_path), "--no-cache")
    assert code == 0, err
    (run,) = tmp_path.iterdir()
    records = [json.loads(line) for line in (run / "samples.jsonl").read_text().splitlines()]
    assert sorted(r["variant"] for r in records) == ["cot"] * 4 + ["direct"] * 4
    image = records[0]["sample"]["images"][0]
    for r in records:
        s, gold = r["scores"], r["sample"]["answer"]
        assert r["sample"]["images"] == [image] and _images(r["prompt"][-1]) == [image]
        assert 1 <= s["output_tokens"] <= (4 if r["variant"] == "direct" else 6)
        # the random model's outputs are graded by the same rules as any text
        if r["sample"]["answer_type"] == "yes_no":
            assert s["correct"] == (s["extracted"] == gold)
        else:
            assert s["correct"] == (s["extracted"] is not None and short_answer_matches(s["extracted"], [gold]))
    thumbs = json.loads((run / "report.html").read_text().split('id="thumbs-data">')[1].split("</script>")[0])
    assert list(thumbs) == [image] and thumbs[image].startswith("data:image/")


def test_loglik_scoring_refuses_image_questions(cli, tmp_path, tiny_vlm_path):
    code, out, err = cli("reasoning", "--model", f"hf/{tiny_vlm_path}", "--dataset", "demo-images", "--scoring",
                         "loglik", "--limit", "4", "--runs-dir", str(tmp_path))
    assert code == 2 and "image questions" in err and "--scoring generate" in err
    assert not list(tmp_path.iterdir())
