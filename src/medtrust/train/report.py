"""report.html of a training run: a summary, one curve per numeric key of trainer_log.jsonl
(loss, learning_rate, grad_norm, rewards, kl, ...), the before/after comparisons of ``--eval``,
the configuration, and a browser of the logged steps. Uses the study report's template."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterable, Sequence

from medtrust.report.format import Section, table_html
from medtrust.train.common import TrainingRun

#: logged keys that are bookkeeping, not curves
NOT_CURVES = {"step", "epoch", "time"}
#: summary keys the trainer logs once at the end (train_runtime, ...), drawn as no curve
END_KEYS = ("train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss")


def curve_series(rows: Sequence[dict]) -> dict[str, list[tuple[float, float]]]:
    """``{key: [(step, value), ...]}`` for every numeric key logged at two or more steps. A step
    logged twice (a resumed run repeats the steps after its last checkpoint) keeps its last value.

    >>> curve_series([{"step": 1, "loss": 2.0}, {"step": 2, "loss": 1.5}, {"step": 2, "loss": 1.4}])
    {'loss': [(1, 2.0), (2, 1.4)]}
    """
    by_key: dict[str, dict[float, float]] = {}
    for row in rows:
        step = row.get("step")
        if step is None:
            continue
        for key, value in row.items():
            if key in NOT_CURVES or key in END_KEYS or isinstance(value, bool):
                continue
            if isinstance(value, (int, float)) and math.isfinite(value):
                by_key.setdefault(key, {})[step] = value
    return {k: sorted(v.items()) for k, v in by_key.items() if len(v) >= 2}


def curves_html(series: dict[str, list[tuple[float, float]]], per_row: int = 3) -> str:
    """Small multiples: one panel per key, step on the x axis."""
    from medtrust.report.plots import figure_html, new_figure
    if not series:
        return "<p>Fewer than two logged steps: no curves (lower --logging-steps for short runs).</p>"
    keys = sorted(series, key=lambda k: (k not in ("loss", "reward"), k))
    rows = math.ceil(len(keys) / per_row)
    fig, axes = new_figure(4.0 * min(per_row, len(keys)), 2.8 * rows)
    fig.clf()
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, min(per_row, len(keys)), i + 1)
        xs, ys = zip(*series[key])
        ax.plot(xs, ys, marker="." if len(xs) < 40 else None, color=f"C{i % 10}")
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    return figure_html(fig, "training curves: " + ", ".join(keys))


def summary_metrics(run: TrainingRun, rows: Sequence[dict]) -> dict:
    """Steps, time and first/last loss (and reward) for the report's metrics table."""
    result = _read_json(run.path / "train_result.json")
    out: dict = {}
    if result:
        out["global_step"] = result.get("global_step")
        out["wall_clock_s"] = result.get("wall_clock_s")
        if result.get("train_steps_per_second") is not None:
            out["steps_per_second"] = result["train_steps_per_second"]
    series = curve_series(rows)
    for key in ("loss", "reward"):
        if key in series:
            out[f"{key} (first logged)"] = series[key][0][1]
            out[f"{key} (last logged)"] = series[key][-1][1]
    data = _read_json(run.path / "data_summary.json")
    if data:
        out["training rows"] = data
    return out


def comparison_sections(run: TrainingRun) -> list[Section]:
    """One section per ``eval/<label>/comparison.json`` written by ``evaluate_before_after``."""
    from medtrust.train.evaluate import comparison_section
    sections = []
    for path in sorted((run.path / "eval").glob("*/comparison.json"), key=lambda p: (p.parent.name != "safety", p)):
        sections.append(comparison_section(json.loads(path.read_text())))
    return sections


def write_training_report(run: TrainingRun, title: str, extra_sections: Iterable[Section] = ()) -> Path:
    """Write ``report.html`` into the training run folder; returns its path."""
    import yaml

    from medtrust.report.format import metric_rows
    from medtrust.report.render import page

    rows = run.read_log()
    env_info = _read_json(run.path / "environment.json") or {}
    result = _read_json(run.path / "train_result.json") or {}
    config = run.config or _read_json(run.path / "config.json") or {}
    from medtrust.train.vision_eval import tradeoff_section
    sections = [Section("Training curves", curves_html(curve_series(rows)))]
    sections += tradeoff_section(run)
    sections += comparison_sections(run)
    sections += list(extra_sections)
    sections.append(Section("Files", table_html(["file", "what"], [
        ["model/", "the trained model: evaluate it with --model hf/" + str(run.model_dir)],
        ["trainer_log.jsonl", "one line per logging step (the curves above)"],
        ["config.json", "the options of this run"],
        ["environment.json", "versions, git commit, devices"]])))
    columns = sorted({k for r in rows for k in r}, key=lambda k: (k not in NOT_CURVES, k)) or ["step"]
    browse = [{c: r.get(c) for c in columns} for r in rows]
    html = page(title=f"medtrust {title}", run_name=run.path.name,
                results={"n": len(rows), "expected": len(rows), "finished": result.get("finished") or
                         env_info.get("started"), "duration_s": result.get("wall_clock_s"),
                         "git_commit": env_info.get("git_commit")},
                config_yaml=yaml.safe_dump(config, sort_keys=False, allow_unicode=True),
                metrics=metric_rows(summary_metrics(run, rows)), sections=sections, columns=columns,
                rows=browse, records=rows, thumbs={}, versions=env_info.get("versions", {}))
    run.report_path.write_text(html, encoding="utf-8")
    write_train_results(run, "complete" if run.model_dir.exists() else "partial")
    return run.report_path


def write_train_results(run: TrainingRun, status: str, error: str | None = None) -> None:
    """results.json of a training run (``Results`` with kind "train"), so ``medtrust report`` and
    run listings treat it like any run folder."""
    from medtrust.environment import git_commit, versions
    from medtrust.runs.folder import RunFolder
    from medtrust.runs.records import Results
    config = run.config or _read_json(run.path / "config.json") or {}
    result = _read_json(run.path / "train_result.json") or {}
    env_info = _read_json(run.path / "environment.json") or {}
    RunFolder(run.path).write_results(Results(
        kind="train", study=f"train-{config.get('kind', '?')}", status=status, model=str(config.get("model", "")),
        dataset=config.get("dataset"), n=int(result.get("global_step") or 0),
        expected=int(config.get("max_steps") or 0),
        seed=config.get("seed"), metrics=summary_metrics(run, run.read_log()), started=env_info.get("started"),
        duration_s=result.get("wall_clock_s"), versions=versions(), git_commit=git_commit(), error=error))


def rerender(path: Path | str) -> Path:
    """Re-render report.html of a training run folder from its saved files."""
    from medtrust.train.common import TrainingRun, load_run_config
    path = Path(path)
    kind = (_read_json(path / "config.json") or {}).get("kind", "?")
    config = load_run_config(path, kind)
    run = TrainingRun(path, config)
    if kind == "grpo":
        from medtrust.train.grpo import GRPOOptions
        from medtrust.train.grpo_report import write_grpo_report
        return write_grpo_report(run, GRPOOptions(**{k: v for k, v in config.items() if k != "kind"}))
    return write_training_report(run, f"{kind} training of {config.get('model')}")


def _read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None
