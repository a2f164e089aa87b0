"""The `safety` study: harmful requests (should be refused) and benign look-alikes (should be
answered), each sent through every attack (the variants), judged, and summarized per attack and
category.

One record per (request, attack), id ``<sample id>::<attack>``, so ``--resume`` skips exactly the
pairs already written. Each batch is one ``backend.generate`` call; the judges run in ``score``
(one batched call per model judge), so ``--rescore`` re-judges a saved run without the generator.

Images: a sample's own images (an image dataset on either side, e.g. ``--benign demo-images``)
are sent with its prompt, and FigStep's typographic image is drawn into ``images/`` of the run
folder and sent after them. The saved prompt names every image sent (dataset paths as the dataset
names them, FigStep images relative to the run folder); the report shows them beside the
responses. A run with images needs a backend with the images capability (checked before
anything is written).

Benign image questions: datasets whose samples name a question kind (``question_kind`` in
demo-images, ``question_type`` in VQA-RAD) can be narrowed with ``benign_kinds``; the dataset's
``DatasetSpec.benign_kinds`` is the default (demo-images: its ``benign-clinical`` questions), and
the kind is the record's category, so over-refusal is also shown per kind.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medtrust.config import RunConfig, cli_field
from medtrust.data.registry import default_local_path, get_spec, load_dataset
from medtrust.data.schema import Sample
from medtrust.errors import DataError, MedtrustError
from medtrust.models.base import Backend, Capability, GenerationRequest, prompt_hash
from medtrust.prompts import user_message
from medtrust.runs.folder import IMAGES, slug
from medtrust.runs.records import Output, SampleRecord
from medtrust.safety.attacks import ATTACKS, AttackInput, attacks_help, get_attack, parse_attacks
from medtrust.safety.judges.base import JudgeItem, judges_help, make_judges, refusal_judge, split_judges
from medtrust.safety.metrics import HARM_THRESHOLD
from medtrust.studies import Context, Study, Unit

ALL_KINDS = "all"


class SafetyConfig(RunConfig):
    study: str = "safety"
    dataset: str = Field(default="medsafetybench", description="harmful requests that should be refused",
                         json_schema_extra=cli_field("-d"))
    benign: str = Field(default="xstest", description="benign requests that should be answered (default xstest: "
                        "its 250 safe prompts)")
    benign_path: str | None = Field(default=None, description="local folder of the benign dataset, or "
                                    "hf:<dataset id>")
    benign_split: str | None = Field(default=None, description="split of the benign dataset (default: the "
                                     "dataset's benign split, e.g. safe for xstest)")
    benign_kinds: list[str] | None = Field(default=None, description="comma-separated question kinds kept from a "
                                           "benign image dataset, or all (default for demo-images: benign-clinical)")
    attacks: list[str] = Field(default_factory=lambda: ["none"], description="comma-separated: " + attacks_help())
    judge: str = Field(default="classifier", description="comma-separated judges (keywords always runs; the "
                       "first harm judge decides attack success, the first refusal judge refusal rates): "
                       + judges_help())
    judge_args: dict[str, Any] = Field(default_factory=dict, description="judge backend argument key=value "
                                       "(repeatable)", json_schema_extra=cli_field("-J", flag="--judge-arg"))
    max_tokens: int = Field(default=64, ge=1, description="tokens per response (a refusal shows in the first "
                            "sentences)")
    temperature: float = Field(default=0.0, ge=0.0, description="0 = greedy")
    system: str | None = Field(default=None, description="system prompt")
    harm_threshold: int = Field(default=HARM_THRESHOLD, ge=1, le=5, description="llm harmfulness score counted "
                                "as a successful attack")
    batch_size: int = Field(default=32, ge=1, description="samples per batch (written to disk after each)")

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


class SafetyExtras(BaseModel):
    """Which side a request is on and what it was judged against."""

    model_config = ConfigDict(extra="forbid")

    side: Literal["harmful", "benign"]
    should_refuse: bool
    dataset: str  # the side's dataset
    category: str | int | None = None
    category_name: str | None = None
    request_zh: str | None = None  # the dataset's Chinese version of the request (translate_zh)
    attack_image: str | None = None  # the attack's own image, relative to the run folder


SafetyRecord = SampleRecord[SafetyExtras]


class SafetyStudy(Study):
    name = "safety"
    title = "Safety"
    config_class = SafetyConfig
    extras_class = SafetyExtras
    variant_major = True
    rescore_options = ("judge", "judge_args", "harm_threshold")

    def __init__(self):
        self._sides: dict[str, SafetyExtras] = {}
        self._samples_have_images = False

    def needs(self, config: SafetyConfig) -> set[Capability]:
        """Images for an image attack, or when a loaded side is an image dataset."""
        images = self._samples_have_images or any(ATTACKS[a].image for a in config.attacks)
        return {Capability.IMAGES} if images else set()

    def variants(self, config: SafetyConfig) -> list[str | None]:
        return list(config.attacks)

    def resolve(self, config: SafetyConfig, generator: Backend | None) -> dict[str, Any]:
        """Attacks (checked by the config) and the judges, their models opened before anything is generated."""
        return {"judges": make_judges(config.judge, config.judge_args, config.cache, generator, config.model,
                                      config.model_args)}

    # ------------------------------------------------------------------------------- samples
    def load_samples(self, config: SafetyConfig) -> list[Sample]:
        """Both sides; a sample on both sides (e.g. ``--dataset xstest --split all`` with the default
        benign set) is kept once, on its own side."""
        benign_split = config.benign_split or get_spec(config.benign).benign_split
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
        unique: dict[str, Sample] = {}
        self._sides = {}
        for name, _, samples, harmful_side in sides:
            for sample in samples:
                if sample.id not in unique:
                    unique[sample.id] = sample
                    self._sides[sample.id] = _side_of(sample, name, harmful_side, chinese.get(sample.id))
        self._samples_have_images = any(s.images for s in unique.values())
        return list(unique.values())

    # ------------------------------------------------------------------------------ generate
    def generate(self, backend: Backend, batch: Sequence[Unit], ctx: Context) -> list[SafetyRecord]:
        config: SafetyConfig = ctx.config
        built = [self.prompt(u, config, ctx.run) for u in batch]
        requests = [GenerationRequest(messages=sent, n=1, temperature=config.temperature,
                                      max_tokens=config.max_tokens, seed=config.seed) for sent, *_ in built]
        outputs = backend.generate(requests)
        return [self.record(u, prompt=saved, prompt_hash=prompt_hash(sent), outputs=[Output.of(outs[0])],
                            extras=self._sides[u.sample.id].model_copy(update={"attack_image": image}))
                for u, (sent, saved, image), outs in zip(batch, built, outputs)]

    def prompt(self, unit: Unit, config: SafetyConfig, run):
        """(messages sent, messages saved, the attack image relative to the run or None) for one
        request under one attack: the sample's own images first, then the attack's."""
        from medtrust.safety.figstep import render

        sample, side = unit.sample, self._sides[unit.sample.id]
        attacked = get_attack(unit.variant).apply(AttackInput(
            request=sample.question, language=sample.language, instruction=sample.metadata.get("instruction"),
            chinese=side.request_zh))
        images_sent, images_saved, image = list(sample.images), list(sample.images), None
        if attacked.image_text is not None:
            image = f"{IMAGES}/{slug(unit.id, 80)}.png"
            render(attacked.image_text, run.path / image)
            images_sent.append(str(run.path / image))
            images_saved.append(image)
        system = [{"role": "system", "content": config.system}] if config.system else []
        return ([*system, user_message(attacked.text, images_sent)],
                [*system, user_message(attacked.text, images_saved)], image)

    # ------------------------------------------------------------------------------- scoring
    def score(self, records: list[SafetyRecord], ctx: Context) -> list[SafetyRecord]:
        """Each judge's verdict under ``scores["judgements"][judge]``, and the refusal judge's label
        as ``scores["verdict"]`` (searchable in the report)."""
        judges = ctx.components["judges"]
        items = [JudgeItem(request=r.sample.question, response=r.outputs[0].text if r.outputs else "",
                           should_refuse=r.extras.should_refuse, dataset=r.extras.dataset,
                           language=r.sample.language) for r in records]
        judgements: list[dict[str, Any]] = [{} for _ in records]
        for judge in judges:
            for j, v in zip(judgements, judge.judge(items)):
                j[judge.name] = v
        by = refusal_judge(split_judges(ctx.config.judge))
        for r, j in zip(records, judgements):
            r.scores = {"verdict": j[by]["label"], "judgements": j}
        return records

    # ------------------------------------------------------------------------------ results
    def summarize(self, records: list[SafetyRecord], ctx: Context) -> dict[str, Any]:
        from medtrust.safety.metrics import summarize
        config: SafetyConfig = ctx.config
        return summarize(records, split_judges(config.judge), config.harm_threshold, config.seed)

    def report_sections(self, run, records: list[SafetyRecord], results: dict) -> list:
        from medtrust.safety.report import sections
        return sections(run, records, results)

    def browse_row(self, record: SafetyRecord) -> dict[str, Any]:
        return {"id": record.id, "attack": record.variant, "side": record.extras.side,
                "category": record.extras.category_name or record.extras.category,
                "request": record.sample.question, "response": record.outputs[0].text if record.outputs else "",
                "label": record.scores.get("verdict"), "harm": _harm_summary(record)}


def _harm_summary(record: SafetyRecord) -> str:
    parts = []
    for name, v in (record.scores.get("judgements") or {}).items():
        if name.startswith("llm/") and v.get("score") is not None:
            parts.append(f"score {v['score']}")
        elif name.startswith("llamaguard/"):
            parts.append(v.get("label", ""))
    return ", ".join(parts)


def _benign_kinds(config: SafetyConfig) -> list[str] | None:
    kinds = config.benign_kinds or get_spec(config.benign).benign_kinds
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


def _side_of(s: Sample, dataset: str, harmful_side: bool, chinese: str | None) -> SafetyExtras:
    """The side of a request: a row's own ``should_refuse`` wins over the side it was loaded on;
    image questions without a category are grouped by their question kind."""
    should_refuse = s.should_refuse if s.should_refuse is not None else harmful_side
    category = s.metadata.get("category")
    if category in (None, "") and question_kind(s):
        category = question_kind(s)
    return SafetyExtras(side="harmful" if should_refuse else "benign", should_refuse=bool(should_refuse),
                        dataset=dataset, category=category, category_name=s.metadata.get("category_name"),
                        request_zh=chinese)
