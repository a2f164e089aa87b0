"""Report sections of the snowball study: the metrics per kind of false statement (Wilson
intervals), the own-answer shares, and example conversations, clean beside planted."""

from __future__ import annotations

import html
from typing import Any, Sequence

EXAMPLES_PER_KIND = 3

PLANTED_COLUMNS = (("accuracy_clean", "accuracy clean"), ("accuracy_planted", "accuracy after the false turn"),
                   ("snowball_rate", "snowball rate"), ("recovered", "recovered"),
                   ("follows_false_planted", "states the false answer (planted)"),
                   ("follows_false_clean", "states it (clean)"), ("no_answer_planted", "no answer (planted)"))
OWN_COLUMNS = (("accuracy", "accuracy"), ("rejected_alone", "rejected alone"),
               ("kept_in_context", "kept in context"), ("snowballed", "snowballed (rejected alone, kept in context)"),
               ("kept_in_context_given_rejected_alone", "kept in context | rejected alone"))

PLANTED_NOTE = ("<p>Each sample is asked the same follow-up twice: in a clean conversation, and after a false "
                "first assistant turn (planted). <b>snowball rate</b> = P(wrong after the false turn | right when "
                "clean), over the samples answered right when clean; <b>recovered</b> = P(right after the false "
                "turn | wrong when clean); <b>states the false answer</b>: the answer given is the one the false "
                "turn claimed (the clean column is the baseline). Proportions with 90% Wilson intervals and k/n.</p>")
OWN_NOTE = ("<p>Zhang et al. (2023): each question is asked; every wrong answer is put back as \"Is it the "
            "correct answer?\", alone (a fresh conversation: the question restated and the claim) and in context "
            "(right after its own answer). Shares are over its wrong answers (answered and wrong) that were "
            "verified; <b>snowballed</b> = rejected alone but kept in context.</p>")


def _count(m: dict | None) -> str:
    return f"{m['count']}/{m['n']}" if m and "count" in m else ""


def _cell(m: dict | None) -> str:
    from medtrust.report.format import fmt_interval
    count = _count(m)
    return fmt_interval(m, 3) + (f" ({count})" if count else "")


def snowball_sections(records: Sequence[Any], results: dict) -> list:
    """The metric tables and the example conversations."""
    from medtrust.report.format import Section, table_html
    metrics = results.get("metrics", {})
    sections = []
    planted = metrics.get("planted") or {}
    if planted:
        rows = [[kind, str(m["pairs"]["value"]), *[_cell(m.get(key)) for key, _ in PLANTED_COLUMNS]]
                for kind, m in planted.items()]
        table = table_html(["kind", "pairs", *[label for _, label in PLANTED_COLUMNS]], rows)
        sections.append(Section("Snowballing: accuracy clean vs after a false turn, per kind", PLANTED_NOTE + table))
        sections.append(Section("Example conversations (clean vs planted)", planted_examples(records)))
    own = metrics.get("own")
    if own:
        head = ["questions", "wrong answers", "unverified", *[label for _, label in OWN_COLUMNS]]
        row = [str(own["questions"]["value"]), str(own["errors"]["value"]), str(own["unverified"]["value"]),
               *[_cell(own.get(key)) for key, _ in OWN_COLUMNS]]
        sections.append(Section("Own answers: errors rejected alone, kept in context", OWN_NOTE
                                + table_html(head, [row]) + own_examples(records)))
    return sections


def _content(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return html.escape(content)
    parts = []
    for p in content or []:
        if p.get("type") == "text":
            parts.append(html.escape(p.get("text", "")))
        else:
            name = str(p.get("image", "")).rsplit("/", 1)[-1]
            parts.append(f"<i>[image {html.escape(name)}]</i>")
    return " ".join(parts)


def render_conversation(messages: Sequence[dict], reply: str, planted: str | None = None) -> str:
    """A conversation as HTML (escaped); the planted assistant turn is marked, the reply last."""
    lines = []
    for m in messages:
        text = _content(m).replace("\n", "<br>")
        if m.get("role") == "assistant" and planted is not None and m.get("content") == planted:
            lines.append('<div class="planted" style="border-left:4px solid #c0392b;background:#fdecea;'
                         'padding:2px 6px"><b>assistant [PLANTED, false]:</b> ' + text + "</div>")
        else:
            lines.append(f"<div><b>{html.escape(str(m.get('role')))}:</b> {text}</div>")
    lines.append(f"<div style='border-left:4px solid #2c7be5;padding:2px 6px'><b>model reply:</b> "
                 f"{html.escape(reply)}</div>")
    return "".join(lines)


def _verdict(scores: dict) -> str:
    return "right" if scores.get("correct") else "wrong"


def planted_examples(records: Sequence[Any]) -> str:
    """Per kind, a few samples (the snowballed ones first: right when clean, wrong when planted)."""
    from medtrust.hallucination.snowball_study import pairs_by_kind, response
    planted = [r for r in records if r.extras.mode == "planted"]
    out = []
    for kind, pairs in pairs_by_kind(planted).items():
        pairs = sorted(pairs, key=lambda p: not (p["clean"]["correct"] and not p["planted"]["correct"]))
        out.append(f"<h4>{html.escape(kind)}</h4>")
        for p in pairs[:EXAMPLES_PER_KIND]:
            clean, plant = p["records"]["clean"], p["records"]["planted"]
            gold = plant.extras.target.answer if plant.extras.target else ""
            out.append(
                f"<p><b>{html.escape(plant.sample_id)}</b>: right answer {html.escape(str(gold))}; clean "
                f"{_verdict(clean.scores)}, planted {_verdict(plant.scores)}</p>"
                "<table><tr><th>clean</th><th>planted</th></tr><tr>"
                f"<td style='vertical-align:top'>{render_conversation(clean.prompt, response(clean))}</td>"
                f"<td style='vertical-align:top'>"
                f"{render_conversation(plant.prompt, response(plant), plant.extras.false_statement)}</td>"
                "</tr></table>")
    return "".join(out) or "<p>No pairs.</p>"


def own_examples(records: Sequence[Any]) -> str:
    """A few wrong answers with the two verification replies."""
    wrong = [r for r in records if r.extras.mode == "own" and r.scores.get("error") and r.extras.alone]
    wrong.sort(key=lambda r: not (r.scores.get("alone") == "no" and r.scores.get("in_context") == "yes"))
    rows = []
    for r in wrong[:EXAMPLES_PER_KIND]:
        e = r.extras
        rows.append(f"<p><b>{html.escape(r.sample_id)}</b>: claim {html.escape(str(e.claim))}, right answer "
                    f"{html.escape(str(r.sample.answer_text()))}; alone: {html.escape(str(r.scores.get('alone')))}, "
                    f"in context: {html.escape(str(r.scores.get('in_context')))}</p>"
                    "<table><tr><th>alone</th><th>in context</th></tr><tr>"
                    f"<td style='vertical-align:top'>{render_conversation(e.alone.prompt, e.alone.output.text)}</td>"
                    f"<td style='vertical-align:top'>"
                    f"{render_conversation(e.in_context.prompt, e.in_context.output.text)}</td></tr></table>")
    return ("<h4>Examples</h4>" + "".join(rows)) if rows else ""
