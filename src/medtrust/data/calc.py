"""demo-calc: seeded medical calculations with exact answers, in the style of MedCalc-Bench.

Each calculator is a small pure function; its docstring states the formula and units, a comment
names a reference. ``generate(split, seed, lang)`` draws patient values from physiologic ranges,
rounds them as a clinician would write them, and computes the answer from the rounded values.

Answers are the exact value formatted to the calculator's stated number of decimals.
Tolerance rule (``metadata['lower']``/``['upper']``): answer +- max(5% of |answer|, the
calculator's absolute floor). 5% is MedCalc-Bench's band for decimal outputs; the floor (e.g.
1 mEq/L for the anion gap, 2 mmHg for the A-a gradient) keeps the band sensible near zero.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

from medtrust.data.registry import malformed
from medtrust.data.schema import Sample
from medtrust.errors import DataError

SPLIT_SIZES = {"test": 100, "train": 500}
RELATIVE_TOLERANCE = 0.05


# --- calculators ----------------------------------------------------------------------------

# Quetelet; WHO, "Obesity: preventing and managing the global epidemic" (TRS 894, 2000).
def bmi(weight_kg: float, height_cm: float) -> float:
    """Body mass index in kg/m^2 = weight (kg) / height (m)^2."""
    return weight_kg / (height_cm / 100) ** 2


# Standard paediatric weight-based dosing with an adult cap (e.g. BNF for Children).
def weight_based_dose(weight_kg: float, mg_per_kg: float, max_mg: float) -> float:
    """Single dose in mg = min(mg/kg x weight (kg), maximum dose (mg))."""
    return min(mg_per_kg * weight_kg, max_mg)


# Cockcroft & Gault, Nephron 1976;16:31-41.
def cockcroft_gault(age: float, weight_kg: float, creatinine_mg_dl: float, female: bool) -> float:
    """Creatinine clearance in mL/min = (140 - age) x weight (kg) / (72 x SCr (mg/dL)), x 0.85 if female.

    Uses the weight it is given (the demo questions give actual body weight).
    """
    return (140 - age) * weight_kg / (72 * creatinine_mg_dl) * (0.85 if female else 1.0)


# Standard approximation, e.g. Guyton & Hall, Textbook of Medical Physiology.
def mean_arterial_pressure(sbp: float, dbp: float) -> float:
    """Mean arterial pressure in mmHg = (SBP + 2 x DBP) / 3."""
    return (sbp + 2 * dbp) / 3


# Emmett & Narins, Medicine 1977;56:38-54 (the form without potassium).
def anion_gap(sodium: float, chloride: float, bicarbonate: float) -> float:
    """Anion gap in mEq/L = Na - (Cl + HCO3), all in mEq/L; potassium is NOT included."""
    return sodium - (chloride + bicarbonate)


# Payne et al., BMJ 1973;4:643-646.
def corrected_calcium(calcium_mg_dl: float, albumin_g_dl: float, normal_albumin: float = 4.0) -> float:
    """Albumin-corrected calcium in mg/dL = Ca (mg/dL) + 0.8 x (4.0 - albumin (g/dL))."""
    return calcium_mg_dl + 0.8 * (normal_albumin - albumin_g_dl)


# Bazett, Heart 1920;7:353-370.
def qtc_bazett(qt_ms: float, heart_rate: float) -> float:
    """QTc in ms = QT (ms) / sqrt(RR (s)), RR = 60 / heart rate (beats/min)."""
    return qt_ms / math.sqrt(60 / heart_rate)


# Fridericia, Acta Med Scand 1920;53:469-486.
def qtc_fridericia(qt_ms: float, heart_rate: float) -> float:
    """QTc in ms = QT (ms) / RR (s)^(1/3), RR = 60 / heart rate (beats/min)."""
    return qt_ms / (60 / heart_rate) ** (1 / 3)


# Mosteller, N Engl J Med 1987;317:1098.
def bsa_mosteller(weight_kg: float, height_cm: float) -> float:
    """Body surface area in m^2 = sqrt(height (cm) x weight (kg) / 3600)."""
    return math.sqrt(height_cm * weight_kg / 3600)


# Friedewald, Levy & Fredrickson, Clin Chem 1972;18:499-502 (valid for TG < 400 mg/dL).
def ldl_friedewald(total_chol: float, hdl: float, triglycerides: float) -> float:
    """LDL cholesterol in mg/dL = total cholesterol - HDL - triglycerides / 5 (all mg/dL)."""
    return total_chol - hdl - triglycerides / 5


# Katz, N Engl J Med 1973;289:843-844 (1.6); Hillier et al., Am J Med 1999;106:399 use 2.4.
def corrected_sodium(sodium: float, glucose_mg_dl: float, factor: float = 1.6) -> float:
    """Corrected sodium in mEq/L = Na + factor x (glucose (mg/dL) - 100) / 100; Katz factor 1.6."""
    return sodium + factor * (glucose_mg_dl - 100) / 100


def total_body_water_fraction(age: float, female: bool) -> float:
    """Share of body weight that is water: child 0.6; adult man 0.6, woman 0.5; from 65: 0.5, 0.45."""
    if age < 18:
        return 0.6
    if age >= 65:
        return 0.45 if female else 0.5
    return 0.5 if female else 0.6


# Adrogue & Madias, N Engl J Med 2000;342:1493-1499 (hypernatremia).
def free_water_deficit(sodium: float, weight_kg: float, age: float, female: bool) -> float:
    """Free water deficit in L = TBW fraction x weight (kg) x (Na (mEq/L) / 140 - 1)."""
    return total_body_water_fraction(age, female) * weight_kg * (sodium / 140 - 1)


# Devine, Drug Intell Clin Pharm 1974;8:650-655.
def ideal_body_weight(height_cm: float, female: bool) -> float:
    """Ideal body weight in kg = 50 (men) or 45.5 (women) + 2.3 x (height (in) - 60); 1 in = 2.54 cm."""
    return (45.5 if female else 50.0) + 2.3 * (height_cm / 2.54 - 60)


# Standard dosing weight for obese patients, e.g. Pai & Paloucek, Ann Pharmacother 2000;34:1066.
def adjusted_body_weight(weight_kg: float, height_cm: float, female: bool) -> float:
    """Adjusted body weight in kg = IBW + 0.4 x (actual weight - IBW), IBW by Devine."""
    ibw = ideal_body_weight(height_cm, female)
    return ibw + 0.4 * (weight_kg - ibw)


# Holliday & Segar, Pediatrics 1957;19:823-832 (the hourly "4-2-1" form).
def maintenance_fluids(weight_kg: float) -> float:
    """Maintenance IV fluid in mL/h: 4 mL/kg/h for the first 10 kg, 2 for the next 10, 1 above 20."""
    if weight_kg <= 10:
        return 4 * weight_kg
    if weight_kg <= 20:
        return 40 + 2 * (weight_kg - 10)
    return 60 + (weight_kg - 20)


# Alveolar gas equation; West, Respiratory Physiology: The Essentials.
def aa_gradient(pao2: float, paco2: float, fio2: float, patm: float = 760.0, ph2o: float = 47.0,
                rq: float = 0.8) -> float:
    """A-a O2 gradient in mmHg = FiO2 x (Patm - PH2O) - PaCO2 / RQ - PaO2 (sea level, 47, 0.8)."""
    return fio2 * (patm - ph2o) - paco2 / rq - pao2


# Calculated serum osmolality; e.g. Rasouli, Clin Chem 2016;62:1427 (review).
def serum_osmolality(sodium: float, glucose_mg_dl: float, bun_mg_dl: float) -> float:
    """Serum osmolality in mOsm/kg = 2 x Na (mEq/L) + glucose (mg/dL) / 18 + BUN (mg/dL) / 2.8."""
    return 2 * sodium + glucose_mg_dl / 18 + bun_mg_dl / 2.8


# Sterling et al., Hepatology 2006;43:1317-1325.
def fib4(age: float, ast: float, alt: float, platelets_10e9_l: float) -> float:
    """FIB-4 index (no unit) = age x AST (U/L) / (platelets (10^9/L) x sqrt(ALT (U/L)))."""
    return age * ast / (platelets_10e9_l * math.sqrt(alt))


# --- question generation --------------------------------------------------------------------

TEMPLATES = Path(__file__).with_name("builtin") / "calc_templates.jsonl"
"""One row per calculator: title, unit, decimals, tolerance floor, formula, en and zh templates."""


def _u(rng: random.Random, lo: float, hi: float, nd: int = 1) -> float:
    return round(rng.uniform(lo, hi), nd)


def _person(rng: random.Random, lo: int = 18, hi: int = 90) -> dict:
    return {"age": rng.randint(lo, hi), "sex": rng.choice(["male", "female"])}


def _fem(x: dict) -> bool:
    return x["sex"] == "female"


DRUGS = [  # (English, Chinese, mg/kg per dose, maximum mg per dose)
    ("acetaminophen (paracetamol)", "对乙酰氨基酚", 15, 1000),
    ("ibuprofen", "布洛芬", 10, 400),
    ("ceftriaxone", "头孢曲松", 50, 2000),
    ("ondansetron", "昂丹司琼", 0.1, 4),
]


def _draw_dose(r):
    en, zh, per_kg, cap = r.choice(DRUGS)
    return {"drug": en, "drug_zh": zh, "weight_kg": _u(r, 4, 90), "mg_per_kg": per_kg, "max_mg": cap}


def _draw_map(r):
    sbp = r.randint(90, 190)
    return {**_person(r), "sbp": sbp, "dbp": r.randint(50, min(115, sbp - 25))}


def _draw_anion_gap(r):
    na, cl = r.randint(128, 150), r.randint(90, 115)
    return {"sodium": na, "chloride": cl, "bicarbonate": r.randint(8, min(30, na - cl - 4))}


def _draw_lipids(r):
    hdl, tg = r.randint(25, 95), r.randint(50, 390)
    return {"total_chol": r.randint(hdl + tg // 5 + 40, 320), "hdl": hdl, "triglycerides": tg}


def _draw_aa(r):
    fio2, paco2 = r.choice([0.21, 0.28, 0.3, 0.4, 0.5, 0.6]), r.randint(28, 60)
    alveolar = fio2 * 713 - paco2 / 0.8
    return {"fio2": fio2, "paco2": paco2, "pao2": r.randint(45, int(alveolar) - 3)}


def _draw_ecg(r):
    return {"heart_rate": r.randint(45, 150), "qt_ms": r.randint(150, 250) * 2}


def _draw_body(r):
    return {**_person(r), "height_cm": r.randint(150, 195), "weight_kg": _u(r, 45, 130)}


# name -> (compute from the inputs, draw inputs from an RNG); order = order in each split
RECIPES: dict[str, tuple[Callable[[dict], float], Callable[[random.Random], dict]]] = {
    "bmi": (lambda x: bmi(x["weight_kg"], x["height_cm"]), _draw_body),
    "weight_dose": (lambda x: weight_based_dose(x["weight_kg"], x["mg_per_kg"], x["max_mg"]), _draw_dose),
    "cockcroft_gault": (
        lambda x: cockcroft_gault(x["age"], x["weight_kg"], x["creatinine_mg_dl"], _fem(x)),
        lambda r: {**_person(r, 20, 90), "weight_kg": _u(r, 40, 120), "creatinine_mg_dl": _u(r, 0.5, 3.5)}),
    "map": (lambda x: mean_arterial_pressure(x["sbp"], x["dbp"]), _draw_map),
    "anion_gap": (lambda x: anion_gap(x["sodium"], x["chloride"], x["bicarbonate"]), _draw_anion_gap),
    "corrected_calcium": (
        lambda x: corrected_calcium(x["calcium_mg_dl"], x["albumin_g_dl"]),
        lambda r: {"calcium_mg_dl": _u(r, 6.5, 10.5), "albumin_g_dl": _u(r, 1.5, 4.0)}),
    "qtc_bazett": (lambda x: qtc_bazett(x["qt_ms"], x["heart_rate"]), _draw_ecg),
    "qtc_fridericia": (lambda x: qtc_fridericia(x["qt_ms"], x["heart_rate"]), _draw_ecg),
    "bsa_mosteller": (lambda x: bsa_mosteller(x["weight_kg"], x["height_cm"]), _draw_body),
    "ldl_friedewald": (lambda x: ldl_friedewald(x["total_chol"], x["hdl"], x["triglycerides"]), _draw_lipids),
    "corrected_sodium": (
        lambda x: corrected_sodium(x["sodium"], x["glucose_mg_dl"]),
        lambda r: {"sodium": r.randint(120, 145), "glucose_mg_dl": r.randint(150, 1200)}),
    "free_water_deficit": (
        lambda x: free_water_deficit(x["sodium"], x["weight_kg"], x["age"], _fem(x)),
        lambda r: {**_person(r), "weight_kg": _u(r, 45, 110), "sodium": r.randint(146, 175)}),
    "ideal_body_weight": (
        lambda x: ideal_body_weight(x["height_cm"], _fem(x)),
        lambda r: {**_person(r), "height_cm": r.randint(153, 200)}),
    "adjusted_body_weight": (
        lambda x: adjusted_body_weight(x["weight_kg"], x["height_cm"], _fem(x)),
        lambda r: {**_person(r), "height_cm": r.randint(153, 195), "weight_kg": _u(r, 85, 160)}),
    "maintenance_fluids": (lambda x: maintenance_fluids(x["weight_kg"]),
                           lambda r: {"weight_kg": _u(r, 3, 90)}),
    "aa_gradient": (lambda x: aa_gradient(x["pao2"], x["paco2"], x["fio2"]), _draw_aa),
    "serum_osmolality": (
        lambda x: serum_osmolality(x["sodium"], x["glucose_mg_dl"], x["bun_mg_dl"]),
        lambda r: {"sodium": r.randint(125, 155), "glucose_mg_dl": r.randint(60, 600),
                   "bun_mg_dl": r.randint(5, 80)}),
    "fib4": (
        lambda x: fib4(x["age"], x["ast"], x["alt"], x["platelets_10e9_l"]),
        lambda r: {**_person(r, 25, 80), "ast": r.randint(15, 300), "alt": r.randint(10, 300),
                   "platelets_10e9_l": r.randint(50, 400)}),
}


@dataclass(frozen=True)
class Calc:
    """One generated calculator: how to draw inputs, compute, and phrase the question."""

    name: str
    title: str
    compute: Callable[[dict], float]
    draw: Callable[[random.Random], dict]
    unit: str
    decimals: int
    floor: float
    formula: str
    en: str
    zh: str


@lru_cache(maxsize=1)
def calculators() -> tuple[Calc, ...]:
    """Every generated calculator, in the order of RECIPES, with its templates from TEMPLATES."""
    rows = {}
    with TEMPLATES.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                rows[row["calculator"]] = row
            except (ValueError, KeyError) as e:
                raise malformed(TEMPLATES, n, f"{type(e).__name__}: {e}") from e
    if set(rows) != set(RECIPES):
        raise malformed(TEMPLATES, "-", f"calculators {sorted(set(rows) ^ set(RECIPES))} lack a template "
                        "or a recipe")
    return tuple(Calc(name, t["title"], *RECIPES[name], t["unit"], t["decimals"], t["floor"], t["formula"],
                      t["en"], t["zh"]) for name, t in ((n, rows[n]) for n in RECIPES))


def get(name: str) -> Calc:
    """A generated calculator by name (e.g. "bmi")."""
    return {c.name: c for c in calculators()}[name]


def _suffix(c: Calc, lang: str) -> str:
    if lang == "zh":
        rounding = "取整数" if c.decimals == 0 else f"保留{c.decimals}位小数"
        return f"请以{c.unit}为单位作答，{rounding}。" if c.unit else f"请{rounding}作答。"
    places = f"to {c.decimals} decimal place" + ("s" if c.decimals > 1 else "")
    rounding = "to a whole number" if c.decimals == 0 else places
    unit = f" in {c.unit}" if c.unit else ""
    return f" Give the answer{unit}, rounded {rounding}."


def make_sample(c: Calc, inputs: dict, sample_id: str, lang: str) -> Sample:
    """One question in ``lang`` ("en" or "zh") for calculator ``c`` and its ``inputs``."""
    answer = f"{c.compute(inputs):.{c.decimals}f}"
    exact = float(answer)
    band = max(RELATIVE_TOLERANCE * abs(exact), c.floor)
    words = {"person": "woman" if _fem(inputs) else "man",
             "person_zh": "女性" if _fem(inputs) else "男性"} if "sex" in inputs else {}
    question = (c.zh if lang == "zh" else c.en).format(**inputs, **words) + _suffix(c, lang)
    return Sample(id=sample_id, question=question, answer=answer, answer_type="numeric", metadata={
        "language": lang, "calculator": c.name, "calculator_name": c.title, "inputs": dict(inputs),
        "unit": c.unit, "decimals": c.decimals, "lower": round(exact - band, c.decimals + 3),
        "upper": round(exact + band, c.decimals + 3), "formula": c.formula})


def _key(c: Calc, inputs: dict) -> tuple:
    return (c.name, tuple(sorted(inputs.items())))


def draw_rows(split: str, seed: int, exclude: frozenset = frozenset()) -> list[tuple[Calc, dict]]:
    """The (calculator, inputs) rows of a split: calculators in turn, values from a seeded RNG.

    The RNG is seeded with the split name and ``seed``; a row in ``exclude`` (or already drawn) is
    drawn again, so a split never repeats a row and train never repeats a test row.
    """
    if split not in SPLIT_SIZES:
        raise DataError(f"demo-calc has no split '{split}'.", f"use one of: {', '.join(SPLIT_SIZES)}")
    rng = random.Random(f"medtrust/demo-calc/{split}/{seed}")
    calcs, seen, rows = calculators(), set(exclude), []
    for i in range(SPLIT_SIZES[split]):
        c = calcs[i % len(calcs)]
        inputs = c.draw(rng)
        while _key(c, inputs) in seen:  # the value ranges are far larger than the splits
            inputs = c.draw(rng)
        seen.add(_key(c, inputs))
        rows.append((c, inputs))
    return rows


def generate(split: str, seed: int = 0, lang: str = "en") -> list[Sample]:
    """The demo-calc rows of ``split`` for ``seed``; ``lang`` "en", "zh" or "all" (English, then Chinese).

    English and Chinese rows share their values; Chinese ids end in "-zh".
    """
    langs = {"en": ["en"], "zh": ["zh"], "all": ["en", "zh"]}.get(lang)
    if langs is None:
        raise DataError(f"Unknown language '{lang}'.", "use en, zh or all")
    exclude = frozenset()
    if split == "train":
        exclude = frozenset(_key(c, x) for c, x in draw_rows("test", seed))
    rows = draw_rows(split, seed, exclude)
    return [make_sample(c, x, f"calc-{split}-{i:03d}" + ("-zh" if lg == "zh" else ""), lg)
            for lg in langs for i, (c, x) in enumerate(rows)]
