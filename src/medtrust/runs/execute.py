"""Running a study: load data, check capabilities, generate in batches into a run folder,
summarize, report. Interrupted runs keep their samples and finish with ``--resume``."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, ClassVar, Sequence

from medtrust.config import RunConfig
from medtrust.data.registry import load_dataset
from medtrust.data.schema import Sample
from medtrust.errors import Interrupted, MedtrustError
from medtrust.models.base import Backend, Capability
from medtrust.models.capabilities import require
from medtrust.runs.folder import RunFolder

STUDIES: dict[str, type["Study"]] = {}


class Study:
    """One verb of the CLI. Subclasses set ``name`` and ``config_class`` and fill in the steps."""

    name: ClassVar[str]
    config_class: ClassVar[type[RunConfig]] = RunConfig
    title: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if getattr(cls, "name", None):
            STUDIES[cls.name] = cls

    def needs(self, config: RunConfig) -> set[Capability]:
        """Capabilities the backend must have (checked before any generation)."""
        return set()

    def load_samples(self, config: RunConfig) -> list[Sample]:
        return load_dataset(config.dataset, path=config.data_path, split=config.split, limit=config.limit,
                            seed=config.seed, shuffle=config.shuffle, lang=config.lang)

    def process(self, backend: Backend, samples: Sequence[Sample], config: RunConfig,
                run: RunFolder) -> list[dict[str, Any]]:
        """Generate for a batch of samples; one JSON-ready record per sample (with its "id")."""
        raise NotImplementedError

    def summarize(self, records: list[dict[str, Any]], config: RunConfig) -> dict[str, Any]:
        """Metrics from the saved records (no model needed)."""
        return {}

    def postprocess(self, records: list[dict[str, Any]], config: RunConfig,
                    run: RunFolder) -> list[dict[str, Any]] | None:
        """After all samples are written: return updated records to rewrite samples.jsonl with
        (e.g. scores that need the whole run, like a probe trained on a training split), or None."""
        return None

    def rescore_record(self, record: dict[str, Any], config: RunConfig, run: RunFolder) -> dict[str, Any]:
        """Recompute a saved record's derived fields under ``config`` without the generator
        (``--rescore``). Studies that support re-scoring override this."""
        raise MedtrustError(f"The {self.name} study cannot re-score saved runs.", "run the study again instead")

    def rescore_batch(self, records: list[dict[str, Any]], config: RunConfig, run: RunFolder) -> list[dict[str, Any]]:
        """Re-score a batch of saved records (``config.batch_size`` at a time); studies whose scoring
        calls a model override this to batch those calls. Default: ``rescore_record`` on each."""
        return [self.rescore_record(r, config, run) for r in records]

    def report_sections(self, run: RunFolder, records: list[dict], results: dict) -> list:
        """Extra report sections (plots, tables) for this study."""
        return []

    def browse_row(self, record: dict) -> dict[str, Any]:
        """The short columns shown for a record in the report's sample browser."""
        return {"id": record["id"], "question": record.get("question", "")}


def get_study(name: str) -> Study:
    from medtrust.studies import load_studies
    load_studies()
    if name not in STUDIES:
        raise MedtrustError(f"Unknown study '{name}'.", f"use one of: {', '.join(sorted(STUDIES))}")
    return STUDIES[name]()


def open_backend(config: RunConfig, needs: set[Capability], purpose: str) -> Backend:
    """Resolve the model string (capabilities checked before and after loading) and add the cache."""
    from medtrust.models.registry import declared_capabilities, resolve
    from medtrust.paths import generation_cache_path
    from medtrust.runs.cache import CachedBackend, GenerationCache

    require_declared = declared_capabilities(config.model, config.model_args)
    if require_declared is not None:
        _require_set(config.model, require_declared, needs, purpose)
    backend = resolve(config.model, **config.model_args)
    require(backend, needs, purpose)
    if config.cache:
        backend = CachedBackend(backend, GenerationCache(generation_cache_path()))
    return backend


def _require_set(model: str, have: set[Capability], needs: set[Capability], purpose: str) -> None:
    class _Declared(Backend):
        name = model
        capabilities = frozenset(have)

        def generate(self, requests, progress=None):  # pragma: no cover - never called
            return []
    require(_Declared(), needs, purpose)


def execute(study: Study, config: RunConfig, resume: str | None = None, progress: bool = True,
            backend: Backend | None = None) -> RunFolder:
    """Run ``study`` with ``config`` (or finish the run folder ``resume``); returns the run folder."""
    if resume:
        run = RunFolder.open(resume)
        config = study.config_class(**run.config)
    samples = study.load_samples(config)
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        raise MedtrustError(f"Dataset '{config.dataset}' has repeated sample ids.", "make the ids unique")
    purpose = f"The {study.name} study"
    needs = study.needs(config) | ({Capability.IMAGES} if any(s.images for s in samples) else set())
    if Capability.IMAGES in needs and not study.needs(config) >= {Capability.IMAGES}:
        purpose = f"The {study.name} study on '{config.dataset}' (a dataset of images)"
    backend = backend or open_backend(config, needs, purpose)
    if not resume:
        run = RunFolder.create(config.runs_dir, study.name, config.model, config.model_dump())
    done = run.done_ids()
    todo = [s for s in samples if s.id not in done]
    started = time.time()
    bar = _progress_bar(len(samples), len(samples) - len(todo), study.name, progress)
    try:
        for start in range(0, len(todo), config.batch_size):
            batch = todo[start:start + config.batch_size]
            run.append(study.process(backend, batch, config, run))
            bar.update(len(batch))
    except KeyboardInterrupt:
        bar.close()
        raise Interrupted(f"Interrupted. {len(run.done_ids())} of {len(samples)} samples are saved in {run.path}.",
                            f"finish it with: medtrust {study.name} --resume {run.path}") from None
    except MedtrustError as e:
        bar.close()
        resume_hint = f"finish with: medtrust {study.name} --resume {run.path}"
        raise MedtrustError(f"{e.problem}\n{len(run.done_ids())} of {len(samples)} samples are saved in {run.path}.",
                            (e.fix + "; then " if e.fix else "") + resume_hint) from e
    bar.close()
    finish(study, run, config, backend, started, len(samples))
    return run


def finish(study: Study, run: RunFolder, config: RunConfig, backend: Backend | None, started: float,
           expected: int) -> None:
    """Summarize the saved records into results.json and render report.html."""
    from medtrust.environment import git_commit, versions
    from medtrust.report.html import render_report

    records = run.samples()
    updated = study.postprocess(records, config, run)
    if updated is not None:
        run.rewrite_samples(updated)
        records = updated
    results = {"study": study.name, "model": config.model, "dataset": config.dataset,
               "n": len(records), "expected": expected, "seed": config.seed,
               "metrics": study.summarize(records, config)}
    previous = run.results
    results.update({
        "backend": backend.info() if backend is not None else previous.get("backend"),
        "cache": {"hits": getattr(backend, "hits", None), "misses": getattr(backend, "misses", None)},
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(time.time() - started, 2),
        "versions": versions(), "git_commit": git_commit(), "format_version": 1,
    })
    run.write_results(results)
    render_report(run)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress_bar(total: int, done: int, label: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=done, desc=label, unit="sample", dynamic_ncols=True)


def rescore(study: Study, source: str, overrides: dict[str, Any], progress: bool = True) -> RunFolder:
    """A new run folder holding a saved run's records re-scored under ``overrides`` (e.g. another
    entailment method or judge), without loading the generator. The source run is not changed."""
    src = RunFolder.open(source)
    values = {**src.config, **{k: v for k, v in overrides.items() if v is not None and v != {}}}
    config = study.config_class(**values)
    if src.config.get("study") != study.name:
        raise MedtrustError(f"'{source}' is a {src.config.get('study')} run, not a {study.name} run.",
                            f"re-score it with: medtrust {src.config.get('study')} --rescore {source}")
    records = src.samples()
    if not records:
        raise MedtrustError(f"'{source}' holds no samples to re-score.", "run the study first")
    run = RunFolder.create(config.runs_dir, study.name, config.model,
                           {**config.model_dump(), "rescored_from": str(src.path)})
    _link_arrays(src, run)
    started = time.time()
    bar = _progress_bar(len(records), 0, f"{study.name} rescore", progress)
    out = []
    for start in range(0, len(records), config.batch_size):
        batch = records[start:start + config.batch_size]
        out.extend(study.rescore_batch(batch, config, run))
        bar.update(len(batch))
    bar.close()
    run.append(out)
    finish(study, run, config, None, started, len(records))
    return run


def _link_arrays(src: RunFolder, dst: RunFolder) -> None:
    """Saved arrays (hidden states) are shared with the re-scored run by a symlink, or copied."""
    import shutil

    from medtrust.runs.folder import ARRAYS
    if (src.path / ARRAYS).exists():
        try:
            (dst.path / ARRAYS).symlink_to((src.path / ARRAYS).resolve(), target_is_directory=True)
        except OSError:
            shutil.copytree(src.path / ARRAYS, dst.path / ARRAYS)
