"""Report sections of `medtrust judge-eval`: judges x agreement numbers with 90% intervals, each
judge's confusion matrix, how often judges disagree, and the rows the first judge got wrong."""

from __future__ import annotations

import html
from typing import Any

from medtrust.report.format import Section, fmt_interval, table_html
from medtrust.safety.agreement import CLASS_NAMES, as_binary

COLUMNS = [("accuracy", "accuracy"), ("kappa", "Cohen's kappa"), ("class1_precision", "precision (1)"),
           ("class1_recall", "recall (1)"), ("class1_f1", "F1 (1)"), ("class0_f1", "F1 (0)")]
MAX_ERRORS = 40


def agreement_table(metrics: dict[str, Any]) -> str:
    """One row per judge: the agreement numbers with their 90% intervals, n and undecided rows."""
    rows = [[name, *(fmt_interval(m.get(key), 3) for key, _ in COLUMNS), str(m.get("n", 0)),
             str(m.get("undecided", 0))] for name, m in (metrics.get("judges") or {}).items()]
    return table_html(["judge", *(label for _, label in COLUMNS), "n", "undecided"], rows)


def confusion(name: str, m: dict[str, Any], space: str) -> str:
    neg, pos = CLASS_NAMES[space]
    cell = {k: fmt_interval(m.get(k), 0) for k in ("tn", "fp", "fn", "tp")}
    return (f"<p><b>{html.escape(name)}</b></p>" + table_html(
        ["people \\ judge", neg, pos], [[neg, cell["tn"], cell["fp"]], [pos, cell["fn"], cell["tp"]]]))


def sections(records: list, results: dict) -> list[Section]:
    metrics = results.get("metrics") or {}
    space = metrics.get("label_space", "harm")
    neg, pos = CLASS_NAMES[space]
    note = (f"<p>{metrics.get('rows', 0)} labelled rows, {metrics.get('positives', 0)} of them {pos}. Class 1 is "
            f"<i>{pos}</i>, class 0 <i>{neg}</i>; intervals are 90% bootstrap intervals over the rows. A judge's "
            "undecided rows (unparsed, or no verdict in this label space) are left out of its numbers.</p>")
    out = [Section("Agreement with people", note + agreement_table(metrics))]
    out.append(Section("Confusion matrices", "".join(confusion(n, m, space)
                                                      for n, m in (metrics.get("judges") or {}).items())))
    pairs = metrics.get("disagreement") or {}
    if pairs:
        rows = [[k, fmt_interval(v, 3), str(v.get("n", ""))] for k, v in pairs.items()]
        out.append(Section("How often judges disagree", table_html(["judges", "share of rows", "n"], rows)))
    wrong = [r for r in records if r.scores.get("verdict") is not None
             and as_binary(r.scores["verdict"], space) != as_binary(r.scores.get("gold"), space)]
    if wrong:
        items = "".join(f"<li>row {r.scores['row']}: people {html.escape(str(r.scores['gold']))}, judge "
                        f"{html.escape(str(r.scores['verdict']))}<br><small>{html.escape(r.sample.question[:200])}"
                        f"</small><br>{html.escape((r.outputs[0].text if r.outputs else '')[:400])}</li>"
                        for r in wrong[:MAX_ERRORS])
        out.append(Section(f"Rows the first judge got wrong ({len(wrong)}, first {min(len(wrong), MAX_ERRORS)})",
                           f"<ul>{items}</ul>"))
    return out
