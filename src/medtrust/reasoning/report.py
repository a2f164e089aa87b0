"""Report sections of a reasoning run: accuracy by strategy, accuracy against reasoning length,
early-answering curves, self-consistency and self-correction tables, and a trace browser."""

from __future__ import annotations

import html

from medtrust.reasoning.metrics import by_strategy, early_curve, length_buckets, self_correction_summary
from medtrust.report.format import Section, fmt, table_html

MAX_TRACES = 100


def _ci(m: dict) -> str:
    ci = m.get("ci")
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else ""


def accuracy_section(results: dict) -> Section | None:
    from medtrust.report.plots import figure_html, new_figure
    metrics = results.get("metrics", {})
    names = [k for k, v in metrics.items() if isinstance(v, dict) and "accuracy" in v]
    if not names:
        return None
    rows = []
    for k in names:
        m = metrics[k]
        rows.append([k, fmt(m["accuracy"]["value"]), _ci(m["accuracy"]), m["accuracy"].get("n", ""),
                     fmt(m["extraction_failures"]["value"]),
                     fmt(m.get("tokens_per_answer", {}).get("value")),
                     fmt(m.get("accuracy_norm", {}).get("value")) if "accuracy_norm" in m else ""])
    fig, ax = new_figure(max(4.0, 1.2 * len(names) + 2), 3.4)
    values = [metrics[k]["accuracy"]["value"] or 0.0 for k in names]
    lows = [v - (metrics[k]["accuracy"].get("ci") or [v, v])[0] for k, v in zip(names, values)]
    highs = [(metrics[k]["accuracy"].get("ci") or [v, v])[1] - v for k, v in zip(names, values)]
    ax.bar(names, values, yerr=[lows, highs], capsize=4, color="#4c72b0")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy (90% CI)")
    body = figure_html(fig, "accuracy by strategy") + table_html(
        ["strategy", "accuracy", "90% CI", "n", "no answer found", "tokens per answer", "acc_norm"], rows)
    return Section("Accuracy by strategy", body)


def length_section(records: list) -> Section | None:
    from medtrust.report.plots import figure_html, new_figure
    groups = {k: [r for r in v if r.get("trace")] for k, v in by_strategy(records).items()}
    groups = {k: v for k, v in groups.items() if v}
    if not groups:
        return None
    fig, ax = new_figure(6, 3.4)
    rows = []
    for name, recs in groups.items():
        buckets = length_buckets([r["trace_tokens"] for r in recs], [bool(r["correct"]) for r in recs])
        xs = [(b["low"] + b["high"]) / 2 for b in buckets]
        ax.plot(xs, [b["accuracy"]["value"] for b in buckets], marker="o", label=name)
        rows += [[name, f"{b['low']:.0f}-{b['high']:.0f}", b["n"], fmt(b["accuracy"]["value"]),
                  _ci(b["accuracy"])] for b in buckets]
    ax.set_xlabel("reasoning length, tokens (bucket middle)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend()
    return Section("Accuracy against reasoning length", figure_html(fig, "accuracy by reasoning length")
                   + table_html(["strategy", "reasoning length (tokens)", "n", "accuracy", "90% CI"], rows))


def early_section(records: list) -> Section | None:
    from medtrust.report.plots import figure_html, new_figure
    curves = {k: early_curve(v) for k, v in by_strategy(records).items()}
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    fig, ax = new_figure(6, 3.4)
    rows = []
    for name, c in curves.items():
        xs = [p["fraction"] * 100 for p in c["curve"]]
        ax.plot(xs, [p["changed"]["value"] for p in c["curve"]], marker="o",
                label=f"{name} (AOC {c['aoc']['value']:.2f})")
        rows.append([name, c["n"], fmt(c["aoc"]["value"]), _ci(c["aoc"]),
                     *[f"{fmt(p['changed']['value'])} ({fmt(p['no_answer']['value'])})" for p in c["curve"]]])
    ax.set_xlabel(f"% of the chain of thought kept ({next(iter(curves.values()))['unit']})")
    ax.set_ylabel("answer differs from full CoT")
    ax.set_ylim(0, 1)
    ax.legend()
    header = ["strategy", "n", "AOC", "90% CI", *[f"changed at {int(p['fraction'] * 100)}%"
                                                  for p in next(iter(curves.values()))["curve"]]]
    note = ("<p>Early answering (Lanham et al. 2023): each chain of thought is cut and the model must answer "
            "at once. A flat curve near 0 means the answer does not depend on the reasoning. Cells: share of "
            "answers that differ from the full chain of thought's (in brackets: share with no answer found, "
            "counted as differing).</p>")
    return Section("Faithfulness: early answering",
                   note + figure_html(fig, "early answering") + table_html(header, rows))


def consistency_section(records: list) -> Section | None:
    rows = []
    for name, recs in by_strategy(records).items():
        votes = [r["vote"] for r in recs if r.get("vote")]
        if votes:
            ties = [v for v in votes if v["tie"]]
            rows.append([name, len(votes), fmt(sum(v["agreement"] for v in votes) / len(votes)), len(ties),
                         sum(v["tie_break"] == "logprob" for v in ties)])
    if not rows:
        return None
    return Section("Self-consistency", table_html(["strategy", "questions", "mean agreement", "ties",
                                                   "ties broken by log-prob"], rows))


def self_correction_section(records: list) -> Section | None:
    rows = []
    for name, recs in by_strategy(records).items():
        s = self_correction_summary(recs)
        if s:
            words = ", ".join(f"{k}: {v}" for k, v in s["counts"].items()) or "none"
            rows.append([name, fmt(s["per_trace"]["value"]), fmt(s["share_with_any"]["value"]), words])
    if not rows:
        return None
    return Section("Self-correction words in traces",
                   table_html(["strategy", "per trace", "share of traces with any", "counts"], rows))


def trace_browser(records: list) -> Section | None:
    shown = [r for r in records if r.scores.get("trace") or r.outputs][:MAX_TRACES]
    if not shown:
        return None
    items = []
    for r in shown:
        s = r.scores
        mark = "✓" if s.get("correct") else "✗"
        head = html.escape(f"{mark} {r.id} — extracted {s.get('extracted')!s}, gold {r.sample.answer!s}")
        body = (f"<p><b>Question</b>: {html.escape(r.sample.question)}</p>"
                f"<p><b>Trace</b></p><pre>{html.escape(s.get('trace') or '(none)')}</pre>"
                f"<p><b>Output</b></p><pre>{html.escape(r.outputs[0].text if r.outputs else '')}</pre>")
        if s.get("vote"):
            body += f"<p><b>Vote</b>: {html.escape(str(s['vote']['votes']))}</p>"
        items.append(f"<details><summary>{head}</summary>{body}</details>")
    more = f"<p>First {len(shown)} of {len(records)} records.</p>" if len(records) > len(shown) else ""
    return Section("Trace browser", more + "".join(items))


def sections(records: list, results: dict) -> list[Section]:
    parts = [accuracy_section(results), length_section(records), early_section(records),
             consistency_section(records), self_correction_section(records), trace_browser(records)]
    return [p for p in parts if p is not None]
