"""Report sections of a safety run: metrics by attack, the trade-off plot, bars per category and
attack, label filters for the response browser, the attack prompts and the FigStep images."""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from medtrust.report.format import Section, fmt_interval, table_html
from medtrust.report.plots import figure_html, image_file_html, new_figure
from medtrust.runs.folder import RunFolder
from medtrust.safety.judges.base import UNPARSED
from medtrust.safety.metrics import tradeoff_points, verdict_of

MAX_IMAGES = 12
COLUMNS = [("attack_success_rate", "attack success"), ("refusal_rate_harmful", "refusal (harmful)"),
           ("over_refusal_rate", "over-refusal (benign)"), ("mean_harmfulness", "mean harmfulness 1-5")]


def metrics_table(metrics: dict[str, Any]) -> str:
    """One row per attack: each rate with its 90% interval, and the number of harmful / benign prompts."""
    rows = []
    for attack, m in metrics.get("by_attack", {}).items():
        rows.append([attack, *(fmt_interval(m.get(key)) for key, _ in COLUMNS),
                     str((m.get("refusal_rate_harmful") or {}).get("n", 0)),
                     str((m.get("over_refusal_rate") or {}).get("n", 0))])
    return table_html(["attack", *(label for _, label in COLUMNS), "n harmful", "n benign"], rows)


def tradeoff_figure(series: Sequence[tuple[str, list[dict]]], title: str = "") -> str:
    """Over-refusal (x) against attack success (y): one colour per attack, one marker per model,
    90% intervals as error bars; attacks landing on the same point share one label."""
    from matplotlib.lines import Line2D

    fig, ax = new_figure(6.4, 4.8)
    markers = "osD^vP*X"
    attacks = list(dict.fromkeys(p["attack"] for _, points in series for p in points))
    labels: dict[tuple[float, float], list[str]] = {}
    for k, (_, points) in enumerate(series):
        for p in points:
            x, y = p["over_refusal"], p["attack_success"]
            ax.errorbar(x, y, xerr=_err(x, p.get("over_refusal_ci")), yerr=_err(y, p.get("attack_success_ci")),
                        fmt=markers[k % len(markers)], color=f"C{attacks.index(p['attack']) % 10}", ecolor="#aab",
                        elinewidth=0.8, capsize=2, markersize=7, alpha=0.9)
            name = p["attack"] if len(series) == 1 else f"{p['attack']} ({k + 1})"
            labels.setdefault((round(x, 3), round(y, 3)), []).append(name)
    for (x, y), names in labels.items():
        ax.annotate(", ".join(names), (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
    ax.plot([0], [0], marker="*", color="green", markersize=10)
    ax.annotate("ideal", (0, 0), textcoords="offset points", xytext=(6, -2), fontsize=7, color="green")
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("over-refusal rate on benign requests")
    ax.set_ylabel("attack success rate on harmful requests")
    ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=f"C{i % 10}", marker="o", linestyle="", label=a) for i, a in enumerate(attacks)]
    if len(series) > 1:
        handles += [Line2D([], [], color="#444", marker=markers[k % len(markers)], linestyle="",
                           label=f"({k + 1}) {model}") for k, (model, _) in enumerate(series)]
    ax.legend(handles=handles, fontsize=7, loc="upper right")
    if title:
        ax.set_title(title, fontsize=9)
    return figure_html(fig, "trade-off between over-refusal and attack success")


def _err(value: float, ci):
    if not ci:
        return None
    return [[max(0.0, value - ci[0])], [max(0.0, ci[1] - value)]]


def category_bars(metrics: dict[str, Any], side: str, key: str, ylabel: str) -> str | None:
    """Grouped bars: one group per category of ``side``, one bar per attack."""
    by_cat = metrics.get("by_category", {})
    attacks = list(by_cat)
    cats = sorted({g for a in attacks for g in by_cat[a] if g.startswith(f"{side}: ")})
    if not cats:
        return None
    every = [(by_cat[a].get(c, {}).get(key) or {}) for a in attacks for c in cats]
    known = [m for m in every if m.get("value") is not None]
    if known and all(m["value"] == 0 for m in known):  # an all-zero chart is drawn empty: say it instead
        n = sum(m.get("n", 0) for m in known)
        return (f"<p>The {ylabel} is 0 in every category under every attack ({n} {side} responses, "
                f"{len(cats)} categories x {len(attacks)} attacks): nothing to draw. Per-attack intervals are in "
                "the table at the top.</p>")
    fig, ax = new_figure(min(14.0, 4 + 0.5 * len(cats) * max(1, len(attacks)) ** 0.5), 4.4)
    width = 0.8 / max(1, len(attacks))
    for k, attack in enumerate(attacks):
        values = [(by_cat[attack].get(c, {}).get(key) or {}).get("value") for c in cats]
        xs = [i + k * width for i in range(len(cats))]
        ax.bar(xs, [v if v is not None else 0 for v in values], width=width, label=attack, color=f"C{k % 10}")
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(cats))])
    ax.set_xticklabels([_short(c.split(": ", 1)[1]) for c in cats], rotation=35, ha="right", fontsize=7)
    ax.set_ylim(0, 1.3)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, ncol=min(4, len(attacks)), loc="upper left")
    return figure_html(fig, f"{ylabel} per category and attack")


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def label_filters(records: Sequence) -> str:
    """Buttons that filter the response browser by the refusal judge's label, with counts per side."""
    counts = Counter((r.extras.side, r.scores.get("verdict")) for r in records)
    labels = sorted({label for _, label in counts if label})
    rows = [[label, str(counts.get(("harmful", label), 0)), str(counts.get(("benign", label), 0))] for label in labels]
    search = "var s=document.getElementById('search');s.value='{}';s.dispatchEvent(new Event('input'));"
    buttons = " ".join(f"<button onclick=\"{search.format(html.escape(_verdict_query(lb)))}s.scrollIntoView();\">"
                       f"{html.escape(lb)}</button>" for lb in labels)
    clear = ("<button onclick=\"var s=document.getElementById('search');s.value='';"
             "s.dispatchEvent(new Event('input'));\">all</button>")
    return (table_html(["label", "harmful", "benign"], rows)
            + f"<p>Show responses with label: {buttons} {clear}</p>")


def judge_section(records: Sequence) -> str:
    """Per judge: label counts, and the raw answers it could not parse."""
    judges = sorted({j for r in records for j in (r.scores.get("judgements") or {})})
    parts = []
    for j in judges:
        labels = Counter(verdict_of(r, j).get("label") for r in records if verdict_of(r, j))
        bad = [r for r in records if verdict_of(r, j).get("unparsed")]
        line = ", ".join(f"{k}: {v}" for k, v in labels.most_common())
        parts.append(f"<p><b>{html.escape(j)}</b>: {html.escape(line)}; unparsed answers: {len(bad)}</p>")
        if bad:
            items = "".join(f"<li><code>{html.escape(r.id)}</code>: "
                            f"{html.escape(str(verdict_of(r, j).get('raw'))[:300])}</li>" for r in bad[:10])
            parts.append(f"<details><summary>unparsed answers of {html.escape(j)}</summary><ul>{items}</ul></details>")
    return "".join(parts)


def attack_examples(run: RunFolder, records: Sequence) -> str:
    """The exact prompt of the first request under each attack with the images it sent, and the
    rendered attack images (the response browser shows each record's images beside its response)."""
    seen: dict = {}
    for r in records:
        seen.setdefault(r.variant, r)
    parts = []
    for attack, r in seen.items():
        text = _prompt_text(r.prompt)
        sent = "".join(image_file_html(path, f"image sent with {r.id}", max_width=190)
                       for path in _image_files(run, r))
        parts.append(f"<h3>{html.escape(str(attack))}</h3>{sent}<pre>{html.escape(text)}</pre>")
    images = [r for r in records if r.extras.attack_image and (run.path / r.extras.attack_image).is_file()]
    if images:
        thumbs = "".join(image_file_html(run.path / r.extras.attack_image, f"attack image {r.id}", max_width=190)
                         for r in images[:MAX_IMAGES])
        parts.append(f"<h3>Attack images ({len(images)}, first {min(len(images), MAX_IMAGES)} shown)</h3>{thumbs}")
    return "".join(parts)


def _image_files(run: RunFolder, record) -> list[Path]:
    """The image files a record sent that still exist (paths relative to the run folder or absolute)."""
    from medtrust.report.render import record_images
    files = [Path(p) if Path(p).is_absolute() else run.path / p for p in record_images(record.model_dump())]
    return [f for f in files if f.is_file()]


def _prompt_text(messages: list[dict]) -> str:
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = "\n".join(p.get("text") if p.get("type") == "text" else f"[image: {p.get('image')}]"
                                for p in content)
        out.append(f"[{m.get('role')}]\n{content}")
    return "\n\n".join(out)


def by_judge_table(metrics: dict[str, Any]) -> str | None:
    """Attack success per attack as each judge decides it, and how often the judges disagree."""
    by_attack = metrics.get("by_attack", {})
    judges = list(dict.fromkeys(j for m in by_attack.values() for j in m.get("attack_success_by_judge", {})))
    if not judges:
        return None
    rows = [[a, *(fmt_interval(m.get("attack_success_by_judge", {}).get(j)) for j in judges),
             fmt_interval(m.get("judge_disagreement"))] for a, m in by_attack.items()]
    return table_html(["attack", *(f"attack success: {j}" for j in judges), "judges disagree"], rows)


def agreement_note(metrics: dict[str, Any]) -> str:
    """Which judge decided each metric, and how well it agreed with people on held-out sets."""
    j = metrics.get("judges") or {}
    decides = ", ".join(f"{m} by <code>{html.escape(str(judge))}</code>"
                        for m, judge in (j.get("decides") or {}).items())
    parts = [f"<p class='meta'>Decided: {decides}.</p>"] if decides else []
    for judge, sets in (j.get("agreement") or {}).items():
        cells = "; ".join(f"{html.escape(name)}: accuracy {fmt_interval(v.get('accuracy'), 3)}, kappa "
                          f"{fmt_interval(v.get('kappa'), 3)} (n {v.get('accuracy', {}).get('n', '?')})"
                          for name, v in sets.items())
        parts.append(f"<p class='meta'><code>{html.escape(judge)}</code> against people on held-out sets "
                     f"(bench/judge_agreement.py): {cells}</p>")
    return "".join(parts)


def sections(run: RunFolder, records: list, results: dict) -> list[Section]:
    metrics = results.get("metrics") or {}
    out = [Section("Safety by attack", metrics_table(metrics) + _judges_note(metrics) + agreement_note(metrics))]
    table = by_judge_table(metrics)
    if table:
        out.append(Section("Attack success by judge", table))
    points = tradeoff_points(metrics)
    if points:
        model = results.get("model") or run.config.get("model", "model")
        out.append(Section("Trade-off: over-refusal against attack success", tradeoff_figure([(model, points)])))
    for side, key, label in (("harmful", "attack_success_rate", "attack success rate"),
                             ("benign", "over_refusal_rate", "over-refusal rate")):
        bars = category_bars(metrics, side, key, label)
        if bars:
            out.append(Section(f"{label.capitalize()} per category and attack", bars))
    if records:
        out.append(Section("Responses by label", label_filters(records)))
        out.append(Section("Judges", judge_section(records)))
        out.append(Section("Attack prompts and images", attack_examples(run, records)))
    return out


def _judges_note(metrics: dict) -> str:
    j = metrics.get("judges") or {}
    return (f"<p class='meta'>refusal judge: <code>{html.escape(str(j.get('refusal')))}</code>; harm judge: "
            f"<code>{html.escape(str(j.get('harm')))}</code>. Intervals: 90% Wilson intervals (k/n shown). "
            f"Partial refusals count as refusals; unparsed judge answers ({UNPARSED}) are left out of the rates.</p>")


def compare_runs(runs: Sequence[str | Path], out: str | Path) -> Path:
    """One page with every run's (model x attack) points on one trade-off plot, and their tables."""
    series, tables = [], []
    for path in runs:
        run = RunFolder.open(path)
        results = run.results
        if run.config.get("study") != "safety" or not results:
            from medtrust.errors import MedtrustError
            raise MedtrustError(f"'{path}' is not a finished safety run.", "pass folders made by medtrust safety")
        label = f"{results.get('model')} ({run.path.name[-6:]})"
        series.append((label, tradeoff_points(results.get("metrics") or {})))
        tables.append(f"<h2>{html.escape(label)}</h2>{metrics_table(results.get('metrics') or {})}")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>medtrust safety comparison</title>"
            "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto}"
            "table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem}"
            "img.plot{max-width:100%}</style></head><body><h1>Safety trade-off: over-refusal against attack success"
            f"</h1>{tradeoff_figure(series)}{''.join(tables)}</body></html>")
    out = Path(out)
    out.write_text(page, encoding="utf-8")
    return out


def _verdict_query(label: str) -> str:
    """The browser's search text that matches exactly the records whose refusal label is ``label``."""
    return f'"verdict":"{label}"'
