"""Running a study: resolve everything named, expand sample x variant, generate in batches into
a run folder (each batch written as it arrives), then score, summarise and render. Interrupted
runs keep their samples and finish with ``--resume``; ``rescore`` scores a saved run again
without the generator. The steps are the ``Study`` contract's (``medtrust.studies``)."""

from __future__ import annotations

import time
from contextlib import ExitStack, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

from medtrust.config import RunConfig
from medtrust.data.schema import Sample
from medtrust.errors import Interrupted, MedtrustError, from_os_error
from medtrust.models.base import Backend, Capability
from medtrust.runs.folder import RunFolder
from medtrust.runs.records import Results, SampleRecord
from medtrust.runs.resume import check_data, record_data, resumed_config
from medtrust.studies import Context, Study, Unit

RESCORED_FROM = "rescored_from"


def expand(samples: Sequence[Sample], variants: Sequence[str | None], variant_major: bool = False) -> list[Unit]:
    """Every sample under every variant, sample-major (or variant-major)."""
    if variant_major:
        return [Unit(s, v) for v in variants for s in samples]
    return [Unit(s, v) for s in samples for v in variants]


def batches(units: Sequence[Unit], size: int) -> Iterator[list[Unit]]:
    """Consecutive units, at most ``size`` distinct samples a batch (a sample's variants travel together)."""
    batch: list[Unit] = []
    seen: set[str] = set()
    for u in units:
        if u.sample.id not in seen and len(seen) >= size:
            yield batch
            batch, seen = [], set()
        batch.append(u)
        seen.add(u.sample.id)
    if batch:
        yield batch


def config_of(study: Study, run: RunFolder) -> RunConfig:
    """The saved config of a run folder as the study's config (one clear error for another study's run)."""
    saved = {k: v for k, v in run.config.items() if k != RESCORED_FROM}
    kind = saved.get("study")
    if kind != study.name:
        verb = _verb_of(kind)
        raise MedtrustError(f"'{run.path}' is a {kind} run, not a {study.name} run.",
                            f"use: medtrust {verb} --resume/--rescore {run.path}")
    try:
        return study.config_class(**saved)
    except Exception as e:  # pydantic ValidationError: a config from another version or edited by hand
        raise MedtrustError(f"The config.yaml of '{run.path}' is not a valid {study.name} config: "
                            f"{str(e).splitlines()[0]}", "fix config.yaml, or start a new run") from e


def _purpose(study: Study, config: RunConfig, needs: set[Capability], samples: Sequence[Sample]) -> str:
    if Capability.IMAGES in needs and Capability.IMAGES not in study.needs(config):
        return f"The {study.name} study on '{config.dataset}' (a dataset of images)"
    return f"The {study.name} study"


def open_generator(study: Study, config: RunConfig, samples: Sequence[Sample], backend: Backend | None = None,
                   check_only: bool = False) -> Backend | None:
    """The generator (capabilities checked before and after loading), or ``backend`` when given;
    with ``check_only`` only the capabilities its backend class declares are checked (nothing loads)."""
    from medtrust.models.open import open_model, require
    from medtrust.models.registry import declared_capabilities
    needs = study.needs(config) | ({Capability.IMAGES} if any(s.images for s in samples) else set())
    purpose = _purpose(study, config, needs, samples)
    if backend is not None:
        require(backend.name, backend.capabilities, needs, purpose)
        return backend
    if check_only:
        require(config.model, declared_capabilities(config.model, config.model_args), needs, purpose)
        return None
    return open_model(config.model, config.model_args, needs, purpose, cache=config.cache)


def execute(study: Study, config: RunConfig | None = None, resume: str | None = None, progress: bool = True,
            backend: Backend | None = None, given: dict[str, Any] | None = None) -> RunFolder:
    """Run ``study`` with ``config`` (or finish the run folder ``resume``, where ``given`` flags may
    change only operational options); returns the run folder. Nothing is written before every
    named component is resolved and the generator is open; the folder is locked while written."""
    with ExitStack() as stack:
        run = RunFolder.open(resume) if resume else None
        if run is not None:
            stack.enter_context(run.lock())
            run.check_schema()
            config = resumed_config(config_of(study, run), given or {}, run.path)
        assert config is not None, "execute needs a config or a run folder to resume"
        samples = study.load_samples(config)
        ids = [s.id for s in samples]
        if len(set(ids)) != len(ids):
            raise MedtrustError(f"Dataset '{config.dataset}' has repeated sample ids.", "make the ids unique")
        if run is not None:
            check_data(run, samples, config.dataset)
        units = expand(samples, study.variants(config), study.variant_major)
        if study.needs_generator:
            open_generator(study, config, samples, backend, check_only=True)  # a backend that cannot do it stops here
        components = study.resolve(config, backend)  # judges and entailment models before the generator
        generator = open_generator(study, config, samples, backend) if study.needs_generator else None
        if run is None:
            run = RunFolder.create(config.runs_dir, study.name, study.run_label(config), config.model_dump())
            stack.enter_context(run.lock())
            record_data(run, samples)
        ctx = Context(config, run, components, progress, generator)
        started = _generate_all(study, ctx, units)
        order = {u.id: i for i, u in enumerate(units)}
        records = sorted(run.records(study.record_type), key=lambda r: order.get(r.id, len(order)))
        finish(study, ctx, records, started, len(units), backend=generator)
        return run


def _generate_all(study: Study, ctx: Context, units: list[Unit]) -> float:
    """Generate every unit not yet saved, batch by batch; Ctrl-C and errors keep what is saved.
    Returns when generation started."""
    run, config = ctx.run, ctx.config
    started = time.time()
    done = run.done_ids()
    todo = [u for u in units if u.id not in done]
    _write_status(run, study, config, "running", len(units) - len(todo), len(units), started)
    bar = progress_bar(len(units), len(units) - len(todo), study.name, ctx.progress)
    try:
        for batch in batches(todo, config.batch_size):
            run.append(study.generate(ctx.generator, batch, ctx))
            bar.update(len(batch))
    except KeyboardInterrupt:
        bar.close()
        saved = len(run.done_ids())
        with suppress(OSError):  # a full disk may refuse the status too; the samples are what counts
            _write_status(run, study, config, "partial", saved, len(units), started)
        raise Interrupted(f"Interrupted. {saved} of {len(units)} samples are saved in {run.path} (answers that had "
                          "arrived for the others are in the generation cache).",
                          f"finish it with: medtrust {_verb(study)} --resume {run.path}") from None
    except (MedtrustError, OSError) as e:
        bar.close()
        if isinstance(e, OSError):
            e = from_os_error(e, "Writing the run stopped")
        saved = len(run.done_ids())
        with suppress(OSError):
            _write_status(run, study, config, "failed", saved, len(units), started, error=e.problem)
        hint = f"finish with: medtrust {_verb(study)} --resume {run.path}"
        if "-M " in (e.fix or ""):
            hint += " and the -M options you changed"
        raise MedtrustError(f"{e.problem}\n{saved} of {len(units)} samples are saved in {run.path}.",
                            (e.fix + "; then " if e.fix else "") + hint) from e
    bar.close()
    return started


def finish(study: Study, ctx: Context, records: list[SampleRecord], started: float, expected: int,
           backend: Backend | None = None, rescored_from: str | None = None,
           backend_info: dict[str, Any] | None = None) -> None:
    """Score the records (no generator), rewrite samples.jsonl with them, write results.json, render."""
    from medtrust.environment import git_commit, versions
    from medtrust.report.render import render_report

    run, config = ctx.run, ctx.config
    ok = [r for r in records if r.error is None]
    try:
        scored = study.score(ok, ctx)
    except MedtrustError as e:
        _write_status(run, study, config, "failed", len(ok), expected, started, error=e.problem)
        how = (f"re-score with: medtrust {_verb(study)} --rescore {rescored_from}" if rescored_from else
               f"finish with: medtrust {_verb(study)} --resume {run.path}")
        raise MedtrustError(f"{e.problem}\nEvery generation is saved in {run.path}; scoring stopped.",
                            (e.fix + "; then " if e.fix else "") + how) from e
    failed = [r for r in records if r.error is not None]
    run.rewrite_samples([*scored, *failed])
    status = "complete" if len(scored) == expected and not failed else "partial"
    results = Results(study=study.name, status=status, model=study.run_label(config), dataset=config.dataset,
                      n=len(scored),
                      expected=expected, seed=config.seed, metrics=study.summarize(scored, ctx),
                      backend=backend.info() if backend is not None else backend_info,
                      cache=_cache_counts(backend), started=_iso(started), finished=_iso(time.time()),
                      duration_s=round(time.time() - started, 2), versions=versions(), git_commit=git_commit(),
                      rescored_from=rescored_from)
    run.write_results(results)
    render_report(run)


def rescore(study: Study, source: str, overrides: dict[str, Any], progress: bool = True) -> RunFolder:
    """A new run folder holding a saved run's records scored again under ``overrides`` (e.g. another
    entailment method or judge), without loading the generator. The source run is not changed."""
    src = RunFolder.open(source)
    src.check_schema()
    base = config_of(study, src)
    config = study.config_class(**{**base.model_dump(), **{k: v for k, v in overrides.items()
                                                           if v is not None and v != {}}})
    records = src.records(study.record_type)
    if not records:
        raise MedtrustError(f"'{source}' holds no samples to re-score.", "run the study first")
    components = study.resolve(config, None)
    run = RunFolder.create(config.runs_dir, study.name, study.run_label(config),
                           {**config.model_dump(), RESCORED_FROM: str(src.path)})
    run.share_files_of(src)
    ctx = Context(config, run, components, progress)
    started = time.time()
    saved = src.read_results()
    # a run that stopped (or a cut-off last line) re-scores as partial: n < the samples it meant to have
    expected = max(len(records), saved.expected) if saved is not None and saved.expected else len(records)
    finish(study, ctx, records, started, expected, rescored_from=str(src.path),
           backend_info=src.results.get("backend"))
    return run


def _verb(study: Study) -> str:
    return _verb_of(study.name)


def _verb_of(study: str) -> str:
    """The command of a study: "hallucination-pope" -> "hallucination --pope" (also --chair, --grounding)."""
    return study.replace("hallucination-", "hallucination --", 1) if study.startswith("hallucination-") else study


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds")


def _cache_counts(backend: Backend | None) -> dict[str, Any] | None:
    if backend is None:
        return None
    return {"hits": getattr(backend, "hits", None), "misses": getattr(backend, "misses", None)}


def _write_status(run: RunFolder, study: Study, config: RunConfig, status: str, n: int, expected: int,
                  started: float, error: str | None = None) -> None:
    """results.json while a run is going (or after it stopped): status and counts, no metrics yet."""
    run.write_results(Results(study=study.name, status=status, model=study.run_label(config), dataset=config.dataset,
                              n=n,
                              expected=expected, seed=config.seed, started=_iso(started), error=error))


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def progress_bar(total: int, done: int, label: str, enabled: bool):
    """A tqdm bar (or one that shows nothing)."""
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=done, desc=label, unit="sample", dynamic_ncols=True)


def render(path: str | Path) -> Path:
    """Re-render report.html of a study's or a training run's folder from its saved files."""
    from medtrust.report.render import render_report
    run = RunFolder.open(path)
    results = run.read_results()
    if (results is not None and results.kind == "train") or (Path(path) / "config.json").exists():
        from medtrust.train.report import rerender
        return rerender(run.path)
    return render_report(run)
