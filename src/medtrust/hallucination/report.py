"""Report sections of the hallucination study: estimators x metrics with intervals, ROC curves,
rejection-accuracy curves, and each question's answers grouped by cluster with their log-probs."""

from __future__ import annotations

import html

from medtrust.hallucination.metrics import METRICS, rejection_curve, roc_points
from medtrust.report.format import Section, fmt, fmt_interval, table_html

MAX_QUESTIONS_SHOWN = 60


def metrics_table(results: dict) -> str:
    """Estimators as rows, metrics as columns, each cell 'value [90% CI]'."""
    est = results.get("metrics", {}).get("estimators", {})
    names = list(METRICS)
    rows = [[name, *[fmt_interval(vals.get(m), 2) for m in names], str(next(iter(vals.values()), {}).get("n", ""))]
            for name, vals in est.items()]
    return table_html(["estimator", *names, "n"], rows)


def _graded(records: list) -> list:
    return [r for r in records if r.extras.role == "eval" and r.scores.get("correct") is not None]


#: lines a reader can tell apart in one plot; the others are in the table (and behind a toggle)
MAX_LINES = 4
STYLES = [("#1f77b4", "-"), ("#d62728", "--"), ("#2ca02c", "-."), ("#9467bd", ":")]


def plotted(results: dict, names: list[str]) -> list[str]:
    """semantic_entropy, then the estimators with the highest AUROC, at most MAX_LINES."""
    est = results.get("metrics", {}).get("estimators", {})
    auroc = {n: (est.get(n, {}).get("auroc") or {}).get("value") for n in names}
    ranked = sorted(names, key=lambda n: -(auroc[n] if auroc[n] is not None else -1))
    first = [n for n in ("semantic_entropy",) if n in names]
    return (first + [n for n in ranked if n not in first])[:MAX_LINES]


def _curves(records: list, kind: str, results: dict, names: list[str] | None = None) -> str | None:
    from medtrust.report.plots import figure_html, new_figure
    graded = _graded(records)
    correct = [float(r.scores["correct"]) for r in graded]
    if len(set(correct)) < 2 and kind == "roc":
        return None
    every = sorted({n for r in graded for n, v in r.scores.items() if isinstance(v, (int, float)) and
                    not isinstance(v, bool) and n != "correct"})
    names = names or plotted(results, every)
    fig, ax = new_figure(8, 4.6)
    for k, name in enumerate(names):
        pairs = [(c, r.scores[name]) for c, r in zip(correct, graded) if r.scores.get(name) is not None]
        cs, us = [p[0] for p in pairs], [p[1] for p in pairs]
        if len(pairs) < 2 or (kind == "roc" and len(set(cs)) < 2):
            continue
        x, y = roc_points(cs, us) if kind == "roc" else rejection_curve(cs, us)
        color, style = STYLES[k % len(STYLES)]
        ax.plot(x, y, label=name.replace("_", " "), linewidth=1.8, color=color, linestyle=style)
    if kind == "roc":
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance (AUROC 0.5)")
        ax.set_xlabel("false positive rate: share of right answers flagged")
        ax.set_ylabel("true positive rate: share of wrong answers flagged")
    else:
        base = sum(correct) / len(correct) if correct else 0
        ax.axhline(base, color="grey", linestyle=":", linewidth=1, label=f"accuracy of all answers ({base:.2f})")
        ax.set_xlabel("share of questions answered (most uncertain rejected first)")
        ax.set_ylabel("accuracy on the answered questions")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return figure_html(fig, "ROC curves" if kind == "roc" else "rejection-accuracy curves")


def _all_curves(records: list, kind: str, results: dict) -> str:
    """Every estimator, four to a plot, behind a toggle."""
    graded = _graded(records)
    every = sorted({n for r in graded for n, v in r.scores.items() if isinstance(v, (int, float)) and
                    not isinstance(v, bool) and n != "correct"})
    rest = [n for n in every if n not in plotted(results, every)]
    parts = [_curves(records, kind, results, rest[i:i + MAX_LINES]) for i in range(0, len(rest), MAX_LINES)]
    parts = [p for p in parts if p]
    return (f"<details><summary>the other {len(rest)} estimators</summary>{''.join(parts)}</details>"
            if parts else "")


def question_html(r) -> str:
    """One question: the low-temperature answer, then the samples grouped by cluster with their
    mean token log-prob and sum."""
    from medtrust.hallucination.estimators import mean_loglik, sum_loglik
    e = html.escape
    x = r.extras
    low = x.low_t_answer
    mark = {True: "right", False: "wrong", None: "not graded"}[r.scores.get("correct")]
    scores = r.scores
    out = [f"<details><summary><b>{e(r.id)}</b> ({mark}; SE {fmt(scores.get('semantic_entropy'))}, "
           f"{fmt(scores.get('num_clusters'))} clusters) {e(r.sample.question[:160])}</summary>",
           f"<p>gold: {e(str(r.sample.answer_text()))}<br>low-T answer: <i>{e(low.text)}</i> "
           f"(cluster {x.low_t_cluster}, mean log-prob {fmt(mean_loglik(low.token_logprobs))})</p><ul>"]
    clusters: dict[int, list] = {}
    ids = x.clusters or [-1] * len(r.outputs)
    for a, c in zip(r.outputs, ids):
        clusters.setdefault(c, []).append(a)
    for cid in sorted(clusters):
        items = "".join(f"<li>{e(a.text)} <small>(mean {fmt(mean_loglik(a.token_logprobs))}, "
                        f"sum {fmt(sum_loglik(a.token_logprobs))})</small></li>" for a in clusters[cid])
        out.append(f"<li>cluster {cid} ({len(clusters[cid])} answers)<ul>{items}</ul></li>")
    out.append("</ul></details>")
    return "".join(out)


def sections(records: list, results: dict) -> list[Section]:
    out = [Section("Estimators x metrics (90% bootstrap intervals; wrong answer = positive)", metrics_table(results))]
    for kind, title in (("roc", "ROC curves"), ("rejection", "Rejection-accuracy curves")):
        fig = _curves(records, kind, results)
        if fig:
            out.append(Section(title, "<p>semantic entropy and the estimators with the highest AUROC; every "
                                      "estimator's numbers are in the table above.</p>" + fig
                               + _all_curves(records, kind, results)))
    shown = records[:MAX_QUESTIONS_SHOWN]
    note = f"<p>First {len(shown)} of {len(records)} questions.</p>" if len(records) > len(shown) else ""
    out.append(Section("Answers by cluster", note + "".join(question_html(r) for r in shown)))
    return out
