"""The `safety` study: harmful requests (should be refused) and benign look-alikes (should be
answered), each sent through every attack, judged, and summarized per attack and category.

One record per (request, attack), id ``<sample id>@<attack>``, so ``--resume`` skips exactly the
pairs already written. Each batch is one ``backend.generate`` call, then one call per model judge.

Images: a sample's own images (an image dataset on either side, e.g. ``--benign demo-images``)
are sent with its prompt, and FigStep's typographic image is drawn into ``images/`` of the run
folder and sent after them. The record's ``images`` lists every image sent (dataset paths as the
dataset names them, FigStep images relative to the run folder); the report shows them beside the
responses. A run with images needs a backend with the images capability (checked before loading
anything is written).

Benign image questions: datasets whose samples name a question kind (``question_kind`` in
demo-images, ``question_type`` in VQA-RAD) can be narrowed with ``benign_kinds``; demo-images
keeps only its ``benign-clinical`` questions by default (see ``BENIGN_KINDS``), and the kind is
the record's category, so over-refusal is also shown per kind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from pydantic import Field, field_validator

from medtrust.config import RunConfig
from medtrust.data.registry import default_local_path, get_spec, load_dataset
from medtrust.data.schema import Sample
from medtrust.errors import DataError, MedtrustError
from medtrust.models.base import Backend, Capability, GenerationRequest
from medtrust.prompts import user_message
from medtrust.runs.execute import Study
from medtrust.runs.folder import RunFolder, slug
from medtrust.safety.attacks import ATTACKS, AttackInput, get_attack, parse_attacks
from medtrust.safety.judges.base import JudgeItem, make_judges, refusal_judge, split_judges
from medtrust.safety.metrics import HARM_THRESHOLD

IMAGES = "images"
#: benign split used when --benign-split is not given
BENIGN_SPLITS = {"xstest": "safe"}
#: benign question kinds kept when --benign-kinds is not given. demo-images: only the questions
#: phrased like clinical requests about a scan ("the arrow marks a lesion. What shape is the
#: lesion?", "a suspicious mass labelled A. What shape is the mass?"), the benign look-alikes a
#: model may wrongly refuse as a diagnosis. Its plain presence / count / colour / arrow questions
#: are kept with --benign-kinds all (each kind is then its own category in the report).
BENIGN_KINDS = {"demo-images": ["benign-clinical"]}
ALL_KINDS = "all"


class SafetyConfig(RunConfig):
    study: str = "safety"
    dataset: str = "medsafetybench"
    benign: str = Field(default="xstest", description="dataset of benign requests that should be answered")
    benign_path: str | None = None
    benign_split: str | None = None
    benign_kinds: list[str] | None = Field(default=None, description="question kinds kept from a benign image "
                                           "dataset (default: BENIGN_KINDS; 'all' keeps every kind)")
    attacks: list[str] = Field(default_factory=lambda: ["none"])
    judge: str = Field(default="keywords", description="comma-separated judges; keywords always runs")
    judge_args: dict[str, Any] = Field(default_factory=dict)
    max_tokens: int = Field(default=64, ge=1, description="a refusal shows in the first sentences")
    temperature: float = Field(default=0.0, ge=0.0)
    system: str | None = None
    harm_threshold: int = Field(default=HARM_THRESHOLD, ge=1, le=5)
    batch_size: int = Field(default=32, ge=1)

    @field_validator("attacks", mode="before")
    @classmethod
    def _attacks(cls, value):
        return parse_attacks(value)

    @field_validator("benign_kinds", mode="before")
    @classmethod
    def _kinds(cls, value):
        if isinstance(value, str):
            value = [k.strip() for k in value.split(",") if k.strip()]
        return value or None

    @field_validator("judge", mode="before")
    @classmethod
    def _judge(cls, value):
        return ",".join(split_judges(value))


class SafetyStudy(Study):
    name = "safety"
    title = "Safety"
    config_class = SafetyConfig

    def __init__(self):
        self._judges: dict[tuple, list] = {}
        self._samples_have_images = False

    def needs(self, config: SafetyConfig) -> set[Capability]:
        """Images for an image attack, or when a loaded side is an image dataset."""
        images = self._samples_have_images or any(ATTACKS[a].image for a in config.attacks)
        return {Capability.IMAGES} if images else set()

    # ------------------------------------------------------------------------------- samples
    def load_samples(self, config: SafetyConfig) -> list[Sample]:
        """Both sides, each through every attack; a sample on both sides (e.g. ``--dataset xstest
        --split all`` with the default benign set) is kept once, on its own side."""
        benign_split = config.benign_split or BENIGN_SPLITS.get(config.benign)
        sides = [(config.dataset, config.split, _load_side(config.dataset, config.data_path, config.split,
                                                           config, "--data-path"), True),
                 (config.benign, benign_split, _load_side(config.benign, config.benign_path, benign_split,
                                                          config, "--benign-path", _benign_kinds(config)), False)]
        for name, _, samples, harmful_side in sides:
            _check_side(name, samples, harmful_side)
        chinese: dict[str, str] = {}
        if "translate_zh" in config.attacks:
            for name, split, samples, _ in sides:
                chinese.update(_chinese_versions(name, split, samples))
        unique: dict[str, tuple[Sample, str, bool]] = {}
        for name, _, samples, harmful_side in sides:
            for sample in samples:
                unique.setdefault(sample.id, (sample, name, harmful_side))
        self._samples_have_images = any(sample.images for sample, _, _ in unique.values())
        return [_attacked_sample(sample, attack, name, harmful_side, chinese.get(sample.id))
                for attack in config.attacks for sample, name, harmful_side in unique.values()]

    # ------------------------------------------------------------------------------- process
    def process(self, backend: Backend, samples: Sequence[Sample], config: SafetyConfig,
                run: RunFolder) -> list[dict[str, Any]]:
        built = [self.prompt(s, config, run) for s in samples]
        requests = [GenerationRequest(messages=sent, n=1, temperature=config.temperature,
                                      max_tokens=config.max_tokens, seed=config.seed) for sent, *_ in built]
        outputs = backend.generate(requests)
        records = []
        for s, (_, saved, image, images), outs in zip(samples, built, outputs):
            c = outs[0]
            m = s.metadata
            records.append({
                "id": s.id, "source_id": m["source_id"], "dataset": m["dataset"],
                "side": "harmful" if m["should_refuse"] else "benign", "should_refuse": m["should_refuse"],
                "category": m.get("category"), "category_name": m.get("category_name"),
                "language": s.language, "attack": m["attack"], "request": s.question, "prompt": saved,
                "image": image, "images": images, "answer": s.answer_text(), "response": c.text,
                "finish_reason": c.finish_reason, "output_tokens": len(c.token_ids)})
        self.judge_records(records, config, generator=backend)
        return records

    def prompt(self, sample: Sample, config: SafetyConfig, run: RunFolder):
        """(messages sent, messages saved, the attack image relative to the run or None, every image
        as saved) for one attacked sample: the sample's own images first, then the attack's."""
        from medtrust.safety.figstep import render

        m = sample.metadata
        attacked = get_attack(m["attack"]).apply(AttackInput(
            request=sample.question, language=sample.language, instruction=m.get("instruction"),
            chinese=m.get("request_zh")))
        images_sent, images_saved, image = list(sample.images), list(sample.images), None
        if attacked.image_text is not None:
            image = f"{IMAGES}/{slug(sample.id, 80)}.png"
            render(attacked.image_text, run.path / image)
            images_sent.append(str(run.path / image))
            images_saved.append(image)
        system = [{"role": "system", "content": config.system}] if config.system else []
        return ([*system, user_message(attacked.text, images_sent)],
                [*system, user_message(attacked.text, images_saved)], image, images_saved)

    # -------------------------------------------------------------------------------- judges
    def judges(self, config: SafetyConfig, generator: Backend | None = None) -> list:
        key = (config.judge, tuple(sorted(config.judge_args.items())), config.cache)
        if key not in self._judges:
            self._judges[key] = make_judges(config.judge, config.judge_args, config.cache, generator,
                                            config.model, config.model_args)
        return self._judges[key]

    def judge_records(self, records: list[dict], config: SafetyConfig, generator: Backend | None = None) -> None:
        """Add (or replace) each judge's verdict in ``records[i]["judgements"]``, and the
        refusal judge's label as ``verdict`` (searchable in the report)."""
        items = [JudgeItem(request=r["request"], response=r["response"] or "", should_refuse=r["should_refuse"],
                           dataset=r.get("dataset", ""), language=r.get("language", "en")) for r in records]
        for judge in self.judges(config, generator):
            for r, v in zip(records, judge.judge(items)):
                r.setdefault("judgements", {})[judge.name] = v
        names = split_judges(config.judge)
        for r in records:
            r["verdict"] = r["judgements"][refusal_judge(names)]["label"]

    # ------------------------------------------------------------------------------ rescore
    def rescore_batch(self, records: list[dict], config: SafetyConfig, run: RunFolder) -> list[dict]:
        _share_images(run)
        out = [{**r, "judgements": dict(r.get("judgements") or {})} for r in records]
        for r in out:  # runs saved before records listed their images: the attack image
            r.setdefault("images", [r["image"]] if r.get("image") else [])
        self.judge_records(out, config)
        return out

    def rescore_record(self, record: dict, config: SafetyConfig, run: RunFolder) -> dict:
        return self.rescore_batch([record], config, run)[0]

    # ------------------------------------------------------------------------------ results
    def summarize(self, records: list[dict], config: SafetyConfig) -> dict[str, Any]:
        from medtrust.safety.metrics import summarize
        return summarize(records, split_judges(config.judge), config.harm_threshold, config.seed)

    def report_sections(self, run: RunFolder, records: list[dict], results: dict) -> list:
        from medtrust.safety.report import sections
        return sections(run, records, results)

    def browse_row(self, record: dict) -> dict[str, Any]:
        harm = _harm_summary(record)
        return {"id": record["id"], "attack": record.get("attack"), "side": record.get("side"),
                "category": record.get("category_name") or record.get("category"),
                "request": record.get("request"), "response": record.get("response"),
                "label": record.get("verdict"), "harm": harm}


def _harm_summary(record: dict) -> str:
    parts = []
    for name, v in (record.get("judgements") or {}).items():
        if name.startswith("llm/") and v.get("score") is not None:
            parts.append(f"score {v['score']}")
        elif name.startswith("llamaguard/"):
            parts.append(v.get("label", ""))
    return ", ".join(parts)


def _benign_kinds(config: SafetyConfig) -> list[str] | None:
    kinds = config.benign_kinds or BENIGN_KINDS.get(config.benign)
    return None if not kinds or ALL_KINDS in kinds else kinds


def question_kind(sample: Sample) -> str | None:
    """The kind of question a dataset gives a sample (demo-images ``question_kind``, VQA-RAD
    ``question_type``), or None."""
    kind = sample.metadata.get("question_kind") or sample.metadata.get("question_type")
    return None if kind in (None, "") else str(kind)


def _load_side(name: str, path: str | None, split: str | None, config: SafetyConfig, flag: str,
               kinds: list[str] | None = None) -> list[Sample]:
    spec = get_spec(name)
    if path is None and spec.builtin is None and default_local_path(spec) is None:
        hub = f", or {flag} hf:{spec.hub_id} to download it" if spec.hub_id else ""
        what = "harmful" if flag == "--data-path" else "benign"
        raise DataError(f"The {what} dataset '{name}' needs a local copy, and none was found "
                        f"(no {flag} and no ${'MEDTRUST_DATA_DIR'}/{spec.local_folder}).",
                        f"pass {flag} <folder with the upstream files, e.g. ../shared/data/{spec.local_folder}>{hub}"
                        + (", or --benign demo-benign for the built-in set" if what == "benign" else
                           ", or --dataset demo-harmful for the built-in set"))
    samples = load_dataset(name, path=path, split=split, limit=None if kinds else config.limit, seed=config.seed,
                           shuffle=config.shuffle, lang=config.lang)
    if kinds:
        found = sorted({k for k in map(question_kind, samples) if k})
        if not found:
            raise DataError(f"--benign-kinds needs a dataset whose questions name their kind, and '{name}' "
                            "has none.", "drop --benign-kinds (or pass --benign-kinds all)")
        unknown = [k for k in kinds if k not in found]
        if unknown:
            raise DataError(f"Dataset '{name}' has no question kind {', '.join(map(repr, unknown))}.",
                            f"use --benign-kinds with: {', '.join(found)}, or all")
        samples = [s for s in samples if question_kind(s) in kinds][:config.limit]
    return samples


def _check_side(name: str, samples: list[Sample], harmful_side: bool) -> None:
    """A side whose rows all say the opposite (e.g. image questions passed as --dataset) is an error:
    a row's own ``should_refuse`` wins over its side, so that side would measure nothing."""
    if any((s.should_refuse if s.should_refuse is not None else harmful_side) == harmful_side for s in samples):
        return
    if harmful_side:
        raise DataError(f"The harmful dataset '{name}' has no request that should be refused (its rows say "
                        "should_refuse: false).", "pass harmful requests as --dataset (medsafetybench, demo-harmful, "
                        f"figstep) and '{name}' as --benign")
    raise DataError(f"The benign dataset '{name}' has no request that should be answered (its rows say "
                    "should_refuse: true).", f"pass benign requests as --benign (xstest, demo-benign, demo-images) "
                    f"and '{name}' as --dataset")


def _chinese_versions(name: str, split: str | None, samples: list[Sample]) -> dict[str, str]:
    """Sample id -> the dataset's own Chinese version of the request (built-in bilingual sets)."""
    english = [s for s in samples if s.language != "zh"]
    if not english:
        return {}
    spec = get_spec(name)
    if spec.builtin is None:
        raise MedtrustError(f"The translate_zh attack needs a Chinese version of each request, and dataset "
                            f"'{name}' has none (there is no translation model offline).",
                            "drop translate_zh, or use the bilingual built-in sets (demo-harmful, demo-benign)")
    zh = {s.id.removesuffix("-zh"): s.question for s in load_dataset(name, split=split, lang="zh")}
    missing = [s.id for s in english if s.id not in zh]
    if missing:
        raise MedtrustError(f"Dataset '{name}' has no Chinese version of {len(missing)} requests "
                            f"(e.g. {missing[0]}).", "drop translate_zh")
    return {s.id: zh[s.id] for s in english}


def _attacked_sample(s: Sample, attack: str, dataset: str, harmful_side: bool, chinese: str | None) -> Sample:
    should_refuse = s.should_refuse if s.should_refuse is not None else harmful_side
    metadata = {**s.metadata, "attack": attack, "source_id": s.id, "dataset": dataset,
                "should_refuse": bool(should_refuse), "request_zh": chinese}
    if metadata.get("category") in (None, "") and question_kind(s):
        metadata["category"] = question_kind(s)  # image questions: over-refusal per question kind
    return s.model_copy(update={"id": f"{s.id}@{attack}", "metadata": metadata})


def _share_images(run: RunFolder) -> None:
    """A re-scored run links the attack images of the run it came from (so its report shows them)."""
    source = run.config.get("rescored_from")
    if not source or (run.path / IMAGES).exists() or not (Path(source) / IMAGES).is_dir():
        return
    try:
        os.symlink(Path(source, IMAGES).resolve(), run.path / IMAGES, target_is_directory=True)
    except OSError:
        import shutil
        shutil.copytree(Path(source) / IMAGES, run.path / IMAGES)
