"""Findings (``report/findings.py``) of the image-hallucination studies: POPE, CHAIR, grounding
and snowballing, in plain words with n and intervals."""

from __future__ import annotations

from typing import Any

from medtrust.report.findings import WIDE, Finding, _width, said

SPLITS = ("random", "popular", "adversarial")


def pope(metrics: dict[str, Any]) -> list[Finding]:
    out = []
    accs = {s: metrics[s]["accuracy"] for s in SPLITS if s in metrics}
    if accs:
        out.append(Finding("POPE accuracy " + ", ".join(f"{s} {said(m)}" for s, m in accs.items()) + "."))
    yes = {s: metrics[s].get("yes_ratio") for s in SPLITS if s in metrics}
    if any(m and m.get("value") is not None and m["value"] > 0.65 for m in yes.values()):
        out.append(Finding("The model says yes to most probes (yes-ratio above 0.65): a bias towards "
                           "existence that POPE counts as hallucination.", warning=True))
    if any((_width(m) or 0) > WIDE for m in accs.values()):
        out.append(Finding("Intervals wider than 0.3: too few images to order the splits; raise --limit.",
                           warning=True))
    return out


def chair(metrics: dict[str, Any]) -> list[Finding]:
    m = metrics.get("overall") or {}
    if not m:
        return []
    return [Finding(f"CHAIR_i {said(m.get('chair_i'))} of the mentioned objects are not in the image; "
                    f"CHAIR_s {said(m.get('chair_s'))} of the descriptions name at least one; object recall "
                    f"{said(m.get('recall'))}.")]


def grounding(metrics: dict[str, Any]) -> list[Finding]:
    out = []
    first = next((metrics[s] for s in SPLITS if s in metrics), None)
    if first:
        out.append(Finding(f"Boxes of present findings: mean IoU {said(first.get('mean_iou'))}, "
                           f"IoU >= 0.5 in {said(first.get('accuracy_iou50'))}."))
    rates = {s: metrics[s].get("hallucinated_box_rate") for s in SPLITS if s in metrics}
    if rates:
        out.append(Finding("Boxes drawn for absent findings (hallucinated-box rate): "
                           + ", ".join(f"{s} {said(m)}" for s, m in rates.items()) + "."))
    return out


def snowball(metrics: dict[str, Any]) -> list[Finding]:
    out = []
    overall = (metrics.get("planted") or {}).get("overall")
    if overall:
        out.append(Finding(f"After a planted false statement accuracy goes from {said(overall.get('accuracy_clean'))} "
                           f"to {said(overall.get('accuracy_planted'))}; snowball rate (right when clean, wrong "
                           f"after) {said(overall.get('snowball_rate'))}."))
    own = metrics.get("own") or {}
    if own.get("snowballed"):
        out.append(Finding(f"Of its own wrong answers it rejects {said(own.get('rejected_alone'))} when asked alone "
                           f"and keeps {said(own.get('kept_in_context'))} in context; both: "
                           f"{said(own.get('snowballed'))}."))
    return out


BY_STUDY = {"hallucination-pope": pope, "hallucination-chair": chair, "hallucination-grounding": grounding,
            "hallucination-snowball": snowball}
