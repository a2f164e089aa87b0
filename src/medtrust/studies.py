"""The study contract every study implements, and the table of studies.

A study is ``variants(config)`` (attacks, strategies; one default), ``generate(backend, batch,
ctx)`` (model calls only, returns one ``SampleRecord`` per unit of the batch) and
``score(records, ctx)`` (no generator: the same code serves a run and ``--rescore``). The
runner (``medtrust.pipeline``) expands sample x variant, writes what ``generate`` returns, then
scores, summarises and renders; docs/architecture.md walks through it.

``STUDY_MODULES`` lists the modules that define a ``Study`` subclass (importing registers it);
``CLI_MODULES`` the modules with ``register(app)`` adding the study's verb(s) and optionally
``demo(runs_dir, limit, progress) -> dict[str, Path]`` run by ``medtrust demo`` (in list order).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar, Sequence

from medtrust.config import RunConfig
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.models.base import Backend, Capability
from medtrust.runs.folder import RunFolder
from medtrust.runs.records import NoExtras, SampleRecord, record_id

STUDY_MODULES = [
    "medtrust.generate",
    "medtrust.safety.study",
    "medtrust.hallucination.study",
    "medtrust.hallucination.pope_study",
    "medtrust.hallucination.snowball_study",
    "medtrust.hallucination.chair_study",
    "medtrust.hallucination.grounding_study",
    "medtrust.reasoning.study",
    "medtrust.safety.judge_eval",
]

CLI_MODULES: list[str] = [
    "medtrust.safety.cli",
    "medtrust.hallucination.cli",
    "medtrust.reasoning.cli",
    "medtrust.train.cli",
]


@dataclass(frozen=True)
class Unit:
    """One sample under one variant: what the runner hands ``generate``."""

    sample: Sample
    variant: str | None = None

    @property
    def id(self) -> str:
        return record_id(self.sample.id, self.variant)


@dataclass
class Context:
    """What ``generate`` and ``score`` see besides their inputs: the config, the run folder, the
    components ``Study.resolve`` opened (judges, entailment methods, ...) and whether to show progress."""

    config: RunConfig
    run: RunFolder
    components: dict[str, Any] = field(default_factory=dict)
    progress: bool = False
    generator: Backend | None = None


class Study:
    """One verb of the CLI. Subclasses set ``name``, ``config_class`` and ``extras_class`` and fill
    in the steps; the runner calls them in the order they are written here."""

    name: ClassVar[str]
    title: ClassVar[str] = ""
    config_class: ClassVar[type[RunConfig]] = RunConfig
    extras_class: ClassVar[type] = NoExtras
    variant_major: ClassVar[bool] = False
    """Expand variant-major (every sample under the first variant, then the next) instead of
    sample-major; a batch holds ``batch_size`` samples either way."""
    rescore_options: ClassVar[tuple[str, ...]] = ()
    """Config fields ``--rescore`` may change (they act in ``score`` only)."""
    needs_generator: ClassVar[bool] = True
    """False for a study that only judges saved texts (judge-eval): no generator is opened."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "name", None):
            STUDIES[cls.name] = cls

    @property
    def record_type(self) -> type[SampleRecord]:
        return SampleRecord[self.extras_class]

    def run_label(self, config: RunConfig) -> str:
        """What names the run folder after the study (the model string)."""
        return config.model

    def resolve(self, config: RunConfig, generator: Backend | None) -> dict[str, Any]:
        """Resolve every named component (estimators, judges, attacks, strategies, entailment)
        and open the models they need, before anything is generated; returns them by name.
        ``generator`` is None when re-scoring."""
        return {}

    def needs(self, config: RunConfig) -> set[Capability]:
        """Capabilities the generator must have (checked before it is loaded)."""
        return set()

    def load_samples(self, config: RunConfig) -> list[Sample]:
        return self.rows(config, limit=config.limit)

    def rows(self, config: RunConfig, limit: int | None = None, lang: str | None = None) -> list[Sample]:
        """The dataset rows the config names (studies that limit by image take them all)."""
        from medtrust.data.registry import load_dataset
        return load_dataset(config.dataset, path=config.data_path, split=config.split, limit=limit,
                            seed=config.seed, shuffle=config.shuffle, lang=lang or config.lang,
                            allow_outside_images=config.allow_outside_images)

    def variants(self, config: RunConfig) -> list[str | None]:
        """The variants every sample runs under; ``[None]`` when the study has no variant axis."""
        return [None]

    def generate(self, backend: Backend, batch: Sequence[Unit], ctx: Context) -> list[SampleRecord]:
        """Model calls for a batch of units; one unscored record per unit, in order."""
        raise NotImplementedError

    def score(self, records: list[SampleRecord], ctx: Context) -> list[SampleRecord]:
        """Scores of every record of the run (no generator; also what ``--rescore`` runs)."""
        return records

    def summarize(self, records: list[SampleRecord], ctx: Context) -> dict[str, Any]:
        """Metrics from the scored records."""
        return {}

    def report_sections(self, run: RunFolder, records: list[SampleRecord], results: dict) -> list:
        """Extra report sections (plots, tables) for this study."""
        return []

    def browse_row(self, record: SampleRecord) -> dict[str, Any]:
        """The short columns shown for a record in the report's sample browser."""
        return {"id": record.id, "question": record.sample.question}

    # ----------------------------------------------------------------------------- helpers
    def record(self, unit: Unit, **fields: Any) -> SampleRecord:
        """A record of this study for ``unit`` (its id, sample and variant filled in)."""
        extras = fields.pop("extras", None)
        return self.record_type(id=unit.id, sample_id=unit.sample.id, variant=unit.variant, sample=unit.sample,
                                extras=extras if extras is not None else self.extras_class(), **fields)


def open_component(model: str, args: dict[str, Any] | None, purpose: str, generator: Backend | None = None,
                   generator_model: str = "", generator_args: dict[str, Any] | None = None, cache: bool = True,
                   needs: set[Capability] | None = None) -> Backend:
    """The model of a judge or an entailment method, through the one door (``open_model``): the
    generator itself when it names the same model string and no arguments of its own are given."""
    from medtrust.models.open import open_model, require
    args = dict(args or {})
    if model.strip() == generator_model and (not args or args == dict(generator_args or {})):
        if generator is not None:
            require(generator.name, generator.capabilities, needs or set(), purpose)
            return generator
        args = dict(generator_args or {})
    return open_model(model, args, needs or set(), purpose, cache=cache)


STUDIES: dict[str, type[Study]] = {}


def load_studies() -> None:
    """Import every study module (registers the studies)."""
    for name in STUDY_MODULES:
        importlib.import_module(name)


def get_study(name: str) -> Study:
    """A study by name, or one clear error listing the names."""
    load_studies()
    if name not in STUDIES:
        raise MedtrustError(f"Unknown study '{name}'.", f"use one of: {', '.join(sorted(STUDIES))}")
    return STUDIES[name]()


def cli_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in CLI_MODULES]
