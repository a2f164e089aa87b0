"""What a run found, in plain words: the headline numbers with their n and intervals, and a
warning when the intervals are too wide to order what was compared. The report opens with these,
`medtrust demo` prints them, and `medtrust view` shows the first one.

Each study's function takes the ``metrics`` of results.json and returns ``Finding``s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from medtrust.report.format import fmt_interval

#: an interval wider than this cannot order numbers a few points apart
WIDE = 0.3


@dataclass
class Finding:
    text: str
    warning: bool = False


def said(m: dict | None, decimals: int = 2) -> str:
    """A metric as words: "0.25 (3/12) [0.10, 0.50]" or "n/a (why)"."""
    return fmt_interval(m, decimals)


def _width(m: dict | None) -> float | None:
    ci = (m or {}).get("ci")
    return None if not ci else ci[1] - ci[0]


def overlapping(ms: list[dict]) -> bool:
    """True when every pair of intervals overlaps (nothing can be ordered)."""
    cis = [m["ci"] for m in ms if m and m.get("ci")]
    return len(cis) >= 2 and max(lo for lo, _ in cis) <= min(hi for _, hi in cis)


def hallucination(metrics: dict[str, Any]) -> list[Finding]:
    out = [Finding(f"Accuracy of the graded answers: {said(metrics.get('accuracy'))}.")]
    estimators = metrics.get("estimators") or {}
    ranked = sorted(((name, m.get("auroc") or {}) for name, m in estimators.items()),
                    key=lambda x: -(x[1].get("value") if x[1].get("value") is not None else -1))
    shown = [x for x in ranked if x[0] == "semantic_entropy"] + [x for x in ranked[:2] if x[0] != "semantic_entropy"]
    for k, (name, auroc) in enumerate(shown):
        why = " (0.5 is chance, 1.0 ranks every wrong answer above every right one)" if k == 0 else ""
        out.append(Finding(f"{name.replace('_', ' ')}: AUROC {said(auroc)} on {auroc.get('n', '?')} questions{why}."))
    aurocs = [m for _, m in ranked if m.get("value") is not None]
    if aurocs and (any((_width(m) or 1.0) > WIDE for m in aurocs) or overlapping(aurocs)):
        n = aurocs[0].get("n", "?")
        out.append(Finding(f"The AUROC intervals are too wide to rank the estimators on {n} questions: run more "
                           "(e.g. --limit 200 on pubmedqa or medqa).", warning=True))
    return out


def safety(metrics: dict[str, Any]) -> list[Finding]:
    judges = metrics.get("judges") or {}
    decides = judges.get("decides") or {}
    agreement = judges.get("agreement") or {}
    out = []
    for attack, m in (metrics.get("by_attack") or {}).items():
        parts = []
        if "attack_success_rate" in m:
            parts.append(f"attack success {said(m['attack_success_rate'])}")
        if "over_refusal_rate" in m:
            parts.append(f"over-refusal of benign requests {said(m['over_refusal_rate'])}")
        if parts:
            out.append(Finding(f"Attack '{attack}': " + "; ".join(parts) + "."))
    for what, judge in decides.items():
        if what not in ("attack_success_rate", "over_refusal_rate"):
            continue
        measured = agreement.get(judge) or {}
        held_out = [f"{s} {a['accuracy']['value']:.2f}" for s, a in measured.items()
                    if s != "XSTest (refusal)" or judge == "keywords"]
        words = f" (agreement with people on held-out sets: {', '.join(held_out)})" if held_out else ""
        out.append(Finding(f"{what.replace('_', ' ')} is decided by the {judge} judge{words}."))
    rates = [m.get("attack_success_rate") for m in (metrics.get("by_attack") or {}).values()]
    rates = [r for r in rates if r and r.get("value") is not None]
    if len(rates) >= 2 and overlapping(rates):
        out.append(Finding("The attacks' success intervals all overlap: these attacks cannot be ordered at this n.",
                           warning=True))
    return out


def reasoning(metrics: dict[str, Any]) -> list[Finding]:
    out = []
    accs = []
    for strategy, m in metrics.items():
        if not isinstance(m, dict) or "accuracy" not in m:
            continue
        accs.append(m["accuracy"])
        extra = ""
        cut = (m.get("cut_by_max_tokens") or {}).get("value")
        if cut:
            extra = f"; {cut:.0%} of its answers were cut by the token limit"
        out.append(Finding(f"Strategy '{strategy}': accuracy {said(m['accuracy'])}{extra}."))
    if len(accs) >= 2 and overlapping(accs):
        out.append(Finding("The strategies' accuracy intervals all overlap: they cannot be ordered at this n.",
                           warning=True))
    return out


def generate(metrics: dict[str, Any]) -> list[Finding]:
    n = (metrics.get("samples") or {}).get("value")
    by_length = metrics.get("finished_by_length") or {}
    out = [Finding(f"{n:.0f} samples generated; mean token log-prob {said(metrics.get('mean_token_logprob'))}.")] \
        if n is not None else []
    if by_length.get("value"):
        out.append(Finding(f"{by_length['value']:.0%} of the completions stopped at the token limit "
                           "(raise --max-tokens if answers are cut).", warning=by_length["value"] > 0.2))
    return out


BY_STUDY: dict[str, Callable[[dict[str, Any]], list[Finding]]] = {
    "hallucination": hallucination, "safety": safety, "reasoning": reasoning, "generate": generate}


def findings(study: str, metrics: dict[str, Any]) -> list[Finding]:
    """The findings of a run of ``study`` (none for a study without a function here)."""
    from medtrust.report.findings_vision import BY_STUDY as VISION
    fn = BY_STUDY.get(study) or VISION.get(study)
    return fn(metrics) if fn and metrics else []


GLOSSARY = {
    "AUROC": "area under the ROC curve of an uncertainty score predicting a wrong answer: 0.5 is chance, 1.0 "
             "ranks every wrong answer above every right one.",
    "AURAC": "area under the rejection-accuracy curve: mean accuracy when answering only the most confident "
             "x% of questions, over x; higher is better, the accuracy of all answers is its floor.",
    "PRR": "prediction-rejection ratio: how much of the gap between random rejection and perfect rejection the "
           "score closes (0 = random, 1 = perfect).",
    "accuracy at x% answered": "accuracy on the x% of questions the score is most confident about.",
    "SEP": "semantic-entropy probe: logistic regression on the model's hidden states, trained on a train split "
           "to predict high semantic entropy, so one forward pass replaces sampling.",
    "probe threshold": "the semantic-entropy value that splits the probe's train questions into high and low "
                       "uncertainty (chosen on the train split).",
    "CHAIR": "share of the objects a caption mentions that are not in the image (per object, per caption).",
    "ASR (attack success rate)": "share of harmful requests whose response gives the harmful help asked for, "
                                 "as the harm judge decides.",
    "over-refusal": "share of benign look-alike requests the model refuses (XSTest's sense).",
    "AOC (early answering)": "area over the 'same answer' curve when the chain of thought is cut at 0-100% and "
                             "an answer forced: near 0 means the answer was fixed before the reasoning.",
    "POPE": "yes/no probes 'Is there a <object> in the image?' about objects in the image and absent ones drawn "
            "at random, among the most frequent (popular) or among those that co-occur with the image's objects "
            "(adversarial); yes is the positive class.",
    "CHAIR_i / CHAIR_s": "hallucinated objects / objects mentioned (per description, distinct objects), and "
                         "descriptions with at least one hallucinated object / descriptions (Rohrbach et al. 2018).",
    "hallucinated-box rate": "share of box requests for an absent finding that got a box anyway.",
    "IoU": "intersection over union of the predicted and the true box (0 = no overlap, 1 = the same box).",
    "snowball rate": "of the follow-ups answered right in a clean conversation, the share answered wrong after a "
                     "false first assistant turn.",
    "interval": "90% intervals: Wilson score intervals for proportions (k/n), percentile bootstrap (1,000 "
                "resamples) for every other number.",
}

GLOSSARY_BY_STUDY = {
    "hallucination": ["AUROC", "AURAC", "PRR", "accuracy at x% answered", "SEP", "probe threshold", "CHAIR",
                      "interval"],
    "safety": ["ASR (attack success rate)", "over-refusal", "interval"],
    "reasoning": ["AOC (early answering)", "interval"],
    "hallucination-pope": ["POPE", "interval"],
    "hallucination-chair": ["CHAIR_i / CHAIR_s", "interval"],
    "hallucination-grounding": ["IoU", "hallucinated-box rate", "POPE", "interval"],
    "hallucination-snowball": ["snowball rate", "interval"],
}


def glossary(study: str) -> list[tuple[str, str]]:
    """(term, meaning) pairs for a study's report."""
    return [(t, GLOSSARY[t]) for t in GLOSSARY_BY_STUDY.get(study, ["interval"])]
