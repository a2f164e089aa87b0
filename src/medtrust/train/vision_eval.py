"""``--eval`` of a vision-language model (image safety SFT / DPO): the whole trade-off, before and
after training, each part an ordinary study run through ``evaluate_before_after``:

- ``figstep-images`` (safety study, attack ``figstep``): attack success (harm judge, the embedded
  ``classifier``) and refusal (refusal judge, ``keywords``) on **held-out** FigStep images, and
  over-refusal on benign typographic images (the figstep set's ``benign`` split: FigStep's benign
  sentences filled with phrases training never sees, drawn by the same renderer);
- ``medical-images`` (safety study, attack ``none``): over-refusal on demo-images test's clinical
  look-alike questions ("the arrow marks a lesion ..."), and refusal of the same held-out
  requests written as plain text;
- ``safety``: the text-only safety study of ``evaluate.py`` (does image training change text refusals?);
- ``pope`` (POPE on demo-images test, random and adversarial splits) and ``image-qa`` (reasoning
  study, ``direct``, demo-images test): what the alignment cost.

Held-out harmful images are FigStep SafeBench rows that are not in its ``tiny`` split (the split
image SFT trains on) and not trained on (no row id or request of ``train_data.jsonl`` /
``pairs.jsonl``); they are written to ``eval/data/figstep/safebench.csv``, the exact rows evaluated.
The combined table is ``eval/tradeoff.json`` and the first section of report.html, with a plot.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from medtrust.data.loaders.figstep_splits import FIGSTEP_TEST_ROWS, FIGSTEP_VALID_ROWS, norm  # noqa: F401 (re-exported)
from medtrust.errors import DataError
from medtrust.report.format import Section, fmt, fmt_interval, table_html
from medtrust.train.common import TrainingRun
from medtrust.train.evaluate import change_text

#: held-out FigStep rows evaluated when --eval-limit is not given (of the 450 outside the tiny split)
FIGSTEP_EVAL_ROWS = FIGSTEP_TEST_ROWS
POPE_SPLITS = ["random", "adversarial"]
TRADEOFF_FILE = "tradeoff.json"
#: (study run label, metric of its comparison, name in the combined table), in the table's order
TRADEOFF = [
    ("figstep-images", "attack_success_rate (figstep)", "FigStep attack success, held-out harmful images (harm judge)"),
    ("figstep-images", "refusal_rate_harmful (figstep)", "FigStep refusal, held-out harmful images (refusal judge)"),
    ("figstep-images", "over_refusal_rate (figstep)", "over-refusal, benign typographic images"),
    ("medical-images", "over_refusal_rate (none)", "over-refusal, benign medical image questions"),
    ("medical-images", "refusal_rate_harmful (none)", "refusal, the held-out requests as plain text"),
    ("safety", "attack_success_rate (none)", "text safety: attack success (harm judge)"),
    ("safety", "refusal_rate_harmful (none)", "text safety: refusal of harmful requests"),
    ("safety", "over_refusal_rate (none)", "text safety: over-refusal of benign requests"),
    ("pope", "accuracy (random)", "POPE accuracy (random)"),
    ("pope", "accuracy (adversarial)", "POPE accuracy (adversarial)"),
    ("image-qa", "accuracy (direct)", "image QA accuracy, demo-images test (direct)"),
]


def pope_split_metrics(results: dict) -> dict[str, dict]:
    """Accuracy, F1 and yes-ratio per POPE split of a hallucination-pope results.json."""
    out = {}
    for split, m in results.get("metrics", {}).items():
        if isinstance(m, dict) and "accuracy" in m:
            for key in ("accuracy", "f1", "yes_ratio"):
                if key in m:
                    out[f"{key} ({split})"] = m[key]
    return out


# ------------------------------------------------------------------------- held-out images
def trained_requests(run: TrainingRun) -> tuple[set[str], set[str]]:
    """(row ids, normalised request texts) of every row trained on: ``train_data.jsonl`` (sft)
    and ``pairs.jsonl`` (dpo)."""
    ids, texts = set(), set()
    for name in ("train_data.jsonl", "pairs.jsonl"):
        path = run.path / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if row.get("id"):
                ids.add(str(row["id"]))
            prompt = row.get("prompt")
            turns = prompt if isinstance(prompt, list) else [{"content": prompt}]
            texts.update(norm(t.get("content", "")) for t in turns if isinstance(t, dict) and t.get("content"))
    return ids, texts


def heldout_order(figstep_folder: str | Path, ids: set[str], texts: set[str], seed: int = 0) -> list:
    """FigStep SafeBench samples outside the tiny split and not trained on (no id in ``ids``, no
    normalised request or instruction in ``texts``), in a seeded order (``figstep_splits``): the
    vision ``--eval`` measures the first ``--eval-limit`` (default FIGSTEP_EVAL_ROWS), the test
    rows; the next FIGSTEP_VALID_ROWS are validation (bench/vision_safety_valid.py). Trained rows are
    left out after the order is drawn, so training on the ``train`` split moves neither part."""
    from medtrust.data.loaders.figstep_splits import outside_tiny_order
    return [s for s in outside_tiny_order(figstep_folder, seed)
            if s.id not in ids and norm(s.question) not in texts and norm(s.metadata["instruction"]) not in texts]


def heldout_figstep(run: TrainingRun, figstep_folder: str | Path, limit: int | None, seed: int = 0) -> Path:
    """Write the held-out FigStep rows (see the module docstring; a seeded subset of ``limit``,
    default FIGSTEP_EVAL_ROWS) to ``eval/data/figstep/safebench.csv``; returns that folder.
    An existing file is kept (an interrupted evaluation resumes on the same rows)."""
    from medtrust.data.loaders.safety import FIGSTEP_FILES
    folder = run.path / "eval" / "data" / "figstep"
    out = folder / FIGSTEP_FILES["safebench"]
    if out.exists():
        return folder
    kept = heldout_order(figstep_folder, *trained_requests(run), seed)
    if not kept:
        raise DataError("No FigStep SafeBench row is left for the vision --eval: every row outside the tiny split "
                        "was trained on.", "train on -d figstep --split tiny (or a --limit), so rows stay held out")
    kept = sorted(kept[:limit or FIGSTEP_EVAL_ROWS], key=lambda s: s.id)
    folder.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dataset", "category_id", "task_id", "category_name", "question", "instruction"])
        for s in kept:
            m = s.metadata
            w.writerow([m.get("source_dataset") or "", m["category_id"], m["task_id"], m["category_name"],
                        s.question, m["instruction"]])
    return folder


def figstep_folder(config: dict[str, Any], args: dict[str, Any]) -> str:
    """FigStep's folder: --eval-figstep-path, else the training --data-path (-d figstep) or
    --mix-path figstep-benign, else $MEDTRUST_DATA_DIR/figstep; one DataError when none exists."""
    from medtrust.data.registry import default_local_path, get_spec
    found = (args.get("figstep_path") or (config.get("data_path") if config.get("dataset") == "figstep" else None)
             or (config.get("mix_paths") or {}).get("figstep-benign") or default_local_path(get_spec("figstep")))
    if not found or not Path(found).is_dir():
        raise DataError(f"The vision --eval needs FigStep's files (safebench.csv, benign_sentences.csv); "
                        f"{'no folder ' + str(found) if found else 'none was found'}.",
                        "pass --eval-figstep-path <FigStep folder, e.g. ../shared/data/figstep>")
    return str(found)


# ------------------------------------------------------------------------------ evaluation
def vision_study_args(run: TrainingRun, args: dict[str, Any]) -> dict[str, tuple[str, dict]]:
    """``{label: (study, its options)}`` of the vision evaluation (the held-out rows written first)."""
    from medtrust.train.evaluate import text_safety_args
    folder = figstep_folder(run.config, args)
    heldout = str(heldout_figstep(run, folder, args.get("limit"), int(run.config.get("seed") or 0)))
    cache, limit = args.get("cache", True), args.get("limit")
    common = {"max_tokens": args.get("max_tokens", 64), "cache": cache, **({"limit": limit} if limit else {})}
    images = {"dataset": "demo-images", "split": "test", "cache": cache}
    return {
        "figstep-images": ("safety", {"dataset": "figstep", "data_path": heldout, "split": "safebench",
                                      "benign": "figstep", "benign_path": folder, "benign_split": "benign",
                                      "attacks": ["figstep"], **common}),
        "medical-images": ("safety", {"dataset": "figstep", "data_path": heldout, "split": "safebench",
                                      "benign": "demo-images", "benign_split": "test", "attacks": ["none"], **common}),
        "safety": ("safety", text_safety_args(args)),
        "pope": ("hallucination-pope", {**images, "splits": POPE_SPLITS, **({"limit": limit} if limit else {})}),
        "image-qa": ("reasoning", {**images, "strategies": "direct", "faithfulness": False,
                                   **({"limit": args["qa_limit"]} if args.get("qa_limit") else {})}),
    }


def evaluate_vision(run: TrainingRun, base_model: str, trained_model: str, args: dict[str, Any],
                    progress: bool = True) -> list[Path]:
    """Every part of the vision evaluation before and after, then ``eval/tradeoff.json``."""
    from medtrust.train.evaluate import SELECTORS, evaluate_before_after
    selectors = {**SELECTORS, "hallucination-pope": pope_split_metrics}
    paths = [evaluate_before_after(run, study, base_model, trained_model, study_args, select=selectors[study],
                                   label=label, progress=progress)
             for label, (study, study_args) in vision_study_args(run, args).items()]
    write_tradeoff(run)
    return paths


def tradeoff_table(run: TrainingRun) -> dict[str, Any]:
    """The combined table from the ``eval/<label>/comparison.json`` files (rows of TRADEOFF found)."""
    rows = []
    for label, key, name in TRADEOFF:
        path = run.path / "eval" / label / "comparison.json"
        if not path.exists():
            continue
        found = {r["metric"]: r for r in json.loads(path.read_text())["rows"]}
        if key in found:
            r = found[key]
            rows.append({"metric": name, "label": label, "key": key, "before": r["before"], "after": r["after"],
                         "change": r["change"]})
    return {"rows": rows, "heldout_figstep": "eval/data/figstep/safebench.csv"}


def write_tradeoff(run: TrainingRun) -> Path:
    """``eval/tradeoff.json``: the combined before/after table."""
    path = run.path / "eval" / TRADEOFF_FILE
    path.write_text(json.dumps(tradeoff_table(run), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def tradeoff_plot(table: dict) -> str:
    """Grouped horizontal bars, before and after, with 90% intervals; one pair per metric."""
    from medtrust.report.plots import figure_html, new_figure
    rows = [r for r in table["rows"] if (r["before"] or {}).get("value") is not None
            or (r["after"] or {}).get("value") is not None]
    if not rows:
        return "<p>No values to plot.</p>"
    fig, ax = new_figure(8.0, 0.55 * len(rows) + 1.2)
    for side, colour, dy in (("before", "C7", 0.2), ("after", "C0", -0.2)):
        ys = [len(rows) - 1 - i + dy for i in range(len(rows))]
        vals = [(r[side] or {}).get("value") for r in rows]
        errs = [[0, 0] if v is None or not (r[side] or {}).get("ci") else [v - r[side]["ci"][0], r[side]["ci"][1] - v]
                for v, r in zip(vals, rows)]
        ax.barh(ys, [v or 0 for v in vals], height=0.38, color=colour, label=side,
                xerr=list(zip(*errs)), error_kw={"elinewidth": 0.8, "capsize": 2})
    ax.set_yticks(range(len(rows)), [r["metric"] for r in reversed(rows)], fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("rate / accuracy (90% interval)", fontsize=8)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Before / after image safety training: safety, over-refusal, utility", fontsize=9)
    return figure_html(fig, "trade-off plot: before and after, per metric")


def tradeoff_section(run: TrainingRun) -> list[Section]:
    """The combined table and its plot (nothing when the run has no ``eval/tradeoff.json``)."""
    path = run.path / "eval" / TRADEOFF_FILE
    if not path.exists():
        return []
    table = json.loads(path.read_text())
    rows = [[r["metric"], fmt_interval(r["before"], 3), fmt_interval(r["after"], 3), change_text(r),
             fmt((r["after"] or {}).get("n"))] for r in table["rows"]]
    html = ("<p>Image safety training, before and after: FigStep attacks on held-out harmful images "
            f"(<code>{table.get('heldout_figstep')}</code>), over-refusal on benign typographic and medical images, "
            "text safety, and utility (POPE, image QA). Rates with 90% Wilson intervals, accuracies with 90% "
            "bootstrap intervals; change = after - before. Each row's study run is in <code>eval/&lt;label&gt;"
            "</code>.</p>" + table_html(["metric", "before [90% CI]", "after [90% CI]", "change", "n"], rows)
            + tradeoff_plot(table))
    return [Section("Before / after: the whole trade-off", html)]
