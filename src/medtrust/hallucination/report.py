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
    rows = [[name, *[fmt_interval(vals.get(m)) for m in names], str(next(iter(vals.values()), {}).get("n", ""))]
            for name, vals in est.items()]
    return table_html(["estimator", *names, "n"], rows)


def _graded(records: list) -> list:
    return [r for r in records if r.extras.role == "eval" and r.scores.get("correct") is not None]


def _curves(records: list, kind: str) -> str | None:
    from medtrust.report.plots import figure_html, new_figure
    graded = _graded(records)
    correct = [float(r.scores["correct"]) for r in graded]
    if len(set(correct)) < 2 and kind == "roc":
        return None
    names = sorted({n for r in graded for n, v in r.scores.items() if v is not None and n != "correct"})
    import matplotlib
    fig, ax = new_figure(8, 4.6)
    colors = matplotlib.colormaps["tab20"]
    for k, name in enumerate(names):
        pairs = [(c, r.scores[name]) for c, r in zip(correct, graded) if r.scores.get(name) is not None]
        if len(pairs) < 2:
            continue
        cs, us = [p[0] for p in pairs], [p[1] for p in pairs]
        if kind == "roc":
            if len(set(cs)) < 2:
                continue
            x, y = roc_points(cs, us)
        else:
            x, y = rejection_curve(cs, us)
        ax.plot(x, y, label=name, linewidth=1.3, color=colors(k % 20), linestyle=("-", "--", ":")[k % 3])
    if kind == "roc":
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("false positive rate (right answers flagged)")
        ax.set_ylabel("true positive rate (wrong answers flagged)")
    else:
        ax.set_xlabel("share of questions answered (most uncertain rejected first)")
        ax.set_ylabel("accuracy on answered questions")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return figure_html(fig, "ROC curves" if kind == "roc" else "rejection-accuracy curves")


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
        fig = _curves(records, kind)
        if fig:
            out.append(Section(title, fig))
    shown = records[:MAX_QUESTIONS_SHOWN]
    note = f"<p>First {len(shown)} of {len(records)} questions.</p>" if len(records) > len(shown) else ""
    out.append(Section("Answers by cluster", note + "".join(question_html(r) for r in shown)))
    return out
