"""demo-calc: every calculator against hand arithmetic and MedCalc-Bench, and the seeded generator."""

import ast
import math
import os
import re
from pathlib import Path

import pytest

from medtrust.data import calc
from medtrust.errors import DataError

DATA = Path(os.environ.get("MEDTRUST_TEST_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
MEDCALC = DATA / "medcalc" / "test.parquet"
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- each calculator against arithmetic written out by hand ------------------------------------

def test_bmi():
    assert calc.bmi(70, 175) == pytest.approx(22.857, abs=1e-3)  # 70 / 1.75^2 = 70 / 3.0625


def test_weight_based_dose_and_cap():
    assert calc.weight_based_dose(12, 15, 1000) == 180  # 12 kg x 15 mg/kg = 180 mg < 1000
    assert calc.weight_based_dose(80, 15, 1000) == 1000  # 80 x 15 = 1200 mg, capped at 1000


def test_cockcroft_gault_with_sex_factor():
    assert calc.cockcroft_gault(60, 72, 1.0, female=False) == pytest.approx(80.0)  # (140-60) x 72 / (72 x 1.0)
    assert calc.cockcroft_gault(60, 72, 1.0, female=True) == pytest.approx(68.0)  # 80 x 0.85
    # MedCalc-Bench row 1 explanation: ((140 - 87) * 48.0 * 1) / (1.4 * 72) = 25.238
    assert calc.cockcroft_gault(87, 48.0, 1.4, female=False) == pytest.approx(25.238, abs=1e-3)


def test_mean_arterial_pressure():
    assert calc.mean_arterial_pressure(120, 80) == pytest.approx(93.333, abs=1e-3)  # (120 + 160) / 3


def test_anion_gap_without_potassium():
    assert calc.anion_gap(140, 104, 24) == 12  # 140 - (104 + 24)


def test_corrected_calcium():
    assert calc.corrected_calcium(8.0, 2.5) == pytest.approx(9.2)  # 8.0 + 0.8 x (4.0 - 2.5) = 8.0 + 1.2


def test_qtc_bazett_and_fridericia():
    assert calc.qtc_bazett(400, 60) == pytest.approx(400)  # RR = 1 s
    assert calc.qtc_fridericia(400, 60) == pytest.approx(400)
    # HR 90: RR = 0.6667 s; sqrt = 0.81650 -> 489.90; cube root = 0.87358 -> 457.89
    assert calc.qtc_bazett(400, 90) == pytest.approx(489.90, abs=0.01)
    assert calc.qtc_fridericia(400, 90) == pytest.approx(457.89, abs=0.01)


def test_bsa_mosteller():
    assert calc.bsa_mosteller(80, 180) == pytest.approx(2.0)  # sqrt(180 x 80 / 3600) = sqrt(4)


def test_ldl_friedewald():
    assert calc.ldl_friedewald(200, 50, 150) == pytest.approx(120)  # 200 - 50 - 150/5


def test_corrected_sodium_katz_and_hillier():
    assert calc.corrected_sodium(130, 600) == pytest.approx(138.0)  # 130 + 1.6 x 500 / 100 = 130 + 8
    # MedCalc-Bench uses 2.4 (Hillier): 141 + 0.024 x (110 - 100) = 141.24
    assert calc.corrected_sodium(141, 110, factor=2.4) == pytest.approx(141.24)


def test_free_water_deficit_by_age_and_sex():
    assert calc.free_water_deficit(154, 70, 40, female=False) == pytest.approx(4.2)  # 0.6 x 70 x 0.1
    assert calc.free_water_deficit(161, 60, 70, female=True) == pytest.approx(4.05)  # 0.45 x 60 x 0.15
    assert calc.free_water_deficit(154, 70, 70, female=False) == pytest.approx(3.5)  # 0.5 x 70 x 0.1
    assert calc.free_water_deficit(168, 50, 30, female=True) == pytest.approx(5.0)  # 0.5 x 50 x 0.2
    assert calc.total_body_water_fraction(10, female=True) == 0.6


def test_ideal_and_adjusted_body_weight():
    # 180 cm / 2.54 = 70.866 in; 50 + 2.3 x 10.866 = 74.992
    assert calc.ideal_body_weight(180, female=False) == pytest.approx(74.992, abs=1e-3)
    # 160 cm = 62.992 in; 45.5 + 2.3 x 2.992 = 52.382
    assert calc.ideal_body_weight(160, female=True) == pytest.approx(52.382, abs=1e-3)
    # 52.382 + 0.4 x (100 - 52.382) = 52.382 + 19.047 = 71.429
    assert calc.adjusted_body_weight(100, 160, female=True) == pytest.approx(71.429, abs=1e-3)


def test_maintenance_fluids_4_2_1():
    assert calc.maintenance_fluids(8) == 32  # 4 x 8
    assert calc.maintenance_fluids(15) == 50  # 40 + 2 x 5
    assert calc.maintenance_fluids(70) == 110  # 40 + 20 + 50


def test_aa_gradient():
    # PAO2 = 0.21 x (760 - 47) - 40 / 0.8 = 149.73 - 50 = 99.73; A-a = 99.73 - 90 = 9.73
    assert calc.aa_gradient(90, 40, 0.21) == pytest.approx(9.73)


def test_serum_osmolality():
    assert calc.serum_osmolality(140, 90, 14) == pytest.approx(290)  # 280 + 90/18 + 14/2.8 = 280 + 5 + 5


def test_fib4():
    assert calc.fib4(50, 40, 25, 200) == pytest.approx(2.0)  # 50 x 40 / (200 x sqrt(25)) = 2000 / 1000


# --- cross-check against MedCalc-Bench's published worked answers ------------------------------

def _v(e, key):
    return e[key][0]


# (MedCalc calculator name, row numbers whose inputs are in our units, our function of the entities)
MEDCALC_ROWS = [
    ("Creatinine Clearance (Cockcroft-Gault Equation)", [1, 2, 6, 7],  # rows where actual weight is used
     lambda e: calc.cockcroft_gault(_v(e, "age"), _v(e, "weight"), _v(e, "creatinine"), e["sex"] == "Female")),
    ("Body Mass Index (BMI)", [81, 82, 83, 84], lambda e: calc.bmi(_v(e, "weight"), _v(e, "height"))),
    ("Mean Arterial Pressure (MAP)", [61, 62, 63, 64],
     lambda e: calc.mean_arterial_pressure(_v(e, "Systolic Blood Pressure"), _v(e, "Diastolic Blood Pressure"))),
    ("Anion Gap", [487, 488, 489, 490], lambda e: calc.anion_gap(_v(e, "Sodium"), _v(e, "Chloride"),
                                                               _v(e, "Bicarbonate"))),
    ("QTc Bazett Calculator", [180, 181, 182, 183],
     lambda e: calc.qtc_bazett(_v(e, "QT interval"), _v(e, "Heart Rate or Pulse"))),
    ("QTc Fridericia Calculator", [608, 609, 610, 611],
     lambda e: calc.qtc_fridericia(_v(e, "QT interval"), _v(e, "Heart Rate or Pulse"))),
    ("Body Surface Area Calculator", [683, 685, 688, 689],
     lambda e: calc.bsa_mosteller(_v(e, "weight"), _v(e, "height"))),
    ("LDL Calculated", [512, 514, 515, 516], lambda e: calc.ldl_friedewald(
        _v(e, "Total cholesterol"), _v(e, "high-density lipoprotein cholesterol"), _v(e, "Triglycerides"))),
    ("Sodium Correction for Hyperglycemia", [365, 366, 367, 368],
     lambda e: calc.corrected_sodium(_v(e, "Sodium"), _v(e, "Glucose"), factor=2.4)),
    ("Ideal Body Weight", [160, 161, 162, 163],
     lambda e: calc.ideal_body_weight(_v(e, "height"), e["sex"] == "Female")),
    ("Adjusted Body Weight", [708, 709, 710, 711],
     lambda e: calc.adjusted_body_weight(_v(e, "weight"), _v(e, "height"), e["sex"] == "Female")),
    ("Maintenance Fluids Calculations", [320, 321, 322, 323], lambda e: calc.maintenance_fluids(_v(e, "weight"))),
    ("Calcium Correction for Hypoalbuminemia", [101, 102, 103, 104],
     lambda e: calc.corrected_calcium(_v(e, "Calcium"), _v(e, "Albumin"))),
    ("Serum Osmolality", [405, 406, 407, 408], lambda e: calc.serum_osmolality(
        _v(e, "Sodium"), _v(e, "Glucose"), _v(e, "Blood Urea Nitrogen (BUN)"))),
    ("Fibrosis-4 (FIB-4) Index for Liver Fibrosis", [280, 281, 282, 283], lambda e: calc.fib4(
        _v(e, "age"), _v(e, "Aspartate aminotransferase"), _v(e, "Alanine aminotransferase"),
        _v(e, "Platelet count") / 1000)),  # MedCalc gives platelets per µL
]


@pytest.mark.usefixtures("data_root")
@pytest.mark.parametrize("name,rows,fn", MEDCALC_ROWS, ids=[r[0] for r in MEDCALC_ROWS])
def test_matches_medcalc_bench_ground_truth(name, rows, fn):
    import pandas as pd

    df = pd.read_parquet(MEDCALC)
    picked = df[df["Row Number"].isin(rows)]
    assert list(picked["Calculator Name"]) == [name] * len(rows)
    for _, r in picked.iterrows():
        entities = ast.literal_eval(r["Relevant Entities"])
        assert fn(entities) == pytest.approx(float(r["Ground Truth Answer"]), rel=2e-3, abs=2e-3), r["Row Number"]


@pytest.mark.usefixtures("data_root")
def test_free_water_deficit_matches_medcalc_row_467():
    # MedCalc-Bench: 142 lb x 0.453592 = 64.41 kg; 0.6 x 64.41 x (137/140 - 1) = -0.828 L
    assert calc.free_water_deficit(137, 142 * 0.453592, 23, female=False) == pytest.approx(-0.828, abs=1e-3)


# --- the generator -----------------------------------------------------------------------------

def test_split_sizes_and_every_calculator_used():
    test = calc.generate("test", 0)
    assert len(test) == 100 and len(calc.generate("train", 0)) == 500
    assert {s.metadata["calculator"] for s in test} == set(calc.RECIPES) and len(calc.RECIPES) == 18


def test_first_row_is_pinned():
    s = calc.generate("test", 0)[0]
    assert s.id == "calc-test-000" and s.metadata["calculator"] == "bmi"
    assert s.metadata["inputs"] == {"age": 77, "sex": "male", "height_cm": 177, "weight_kg": 125.5}
    assert s.answer == "40.1"  # 125.5 / 1.77^2 = 125.5 / 3.1329 = 40.059
    assert (s.metadata["lower"], s.metadata["upper"]) == (38.095, 42.105)  # 40.1 -+ 5% (2.005)
    assert s.question.startswith("A 77-year-old man is 177 cm tall and weighs 125.5 kg.")


def test_same_seed_same_rows_other_seed_other_rows():
    a, b = calc.generate("test", 3), calc.generate("test", 3)
    assert [s.model_dump() for s in a] == [s.model_dump() for s in b]
    c = calc.generate("test", 4)
    assert [s.metadata["inputs"] for s in a] != [s.metadata["inputs"] for s in c]


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_train_and_test_never_share_rows(seed):
    def keys(split):
        return {(s.metadata["calculator"], tuple(sorted(s.metadata["inputs"].items())))
                for s in calc.generate(split, seed)}
    test, train = keys("test"), keys("train")
    assert len(test) == 100 and len(train) == 500 and not test & train


def test_answers_recompute_and_lie_in_their_band():
    for s in calc.generate("train", 0):
        c = calc.get(s.metadata["calculator"])
        x, m = float(s.answer), s.metadata
        assert s.answer == f"{c.compute(m['inputs']):.{c.decimals}f}"
        assert m["lower"] <= x <= m["upper"]
        band = max(0.05 * abs(x), c.floor)
        assert m["upper"] - x == pytest.approx(band, abs=1e-3) and x - m["lower"] == pytest.approx(band, abs=1e-3)
        assert math.isfinite(x) and s.answer_type == "numeric" and m["formula"] and "unit" in m


def test_vignette_states_every_value_and_values_are_physiologic():
    for s in calc.generate("test", 0):
        for key, value in s.metadata["inputs"].items():
            if key not in ("sex", "drug_zh"):
                assert str(value) in s.question, (key, value, s.question)
        x = s.metadata["inputs"]
        assert 18 <= x.get("age", 50) <= 90
        assert 120 <= x.get("sodium", 140) <= 175
        assert 3 <= x.get("weight_kg", 70) <= 160


def test_chinese_rows_share_values_with_english():
    en, zh = calc.generate("test", 0, "en"), calc.generate("test", 0, "zh")
    for e, z in zip(en, zh):
        assert z.id == e.id + "-zh" and z.answer == e.answer and z.metadata["inputs"] == e.metadata["inputs"]
        assert CJK.search(z.question) and not CJK.search(e.question)
        assert z.metadata["language"] == "zh" and e.metadata["language"] == "en"
    both = calc.generate("test", 0, "all")
    assert [s.id for s in both] == [s.id for s in en] + [s.id for s in zh]


def test_question_states_units_and_rounding():
    s = next(s for s in calc.generate("test", 0) if s.metadata["calculator"] == "anion_gap")
    assert s.question.endswith("Give the answer in mEq/L, rounded to a whole number.")
    z = next(s for s in calc.generate("test", 0, "zh") if s.metadata["calculator"] == "fib4")
    assert z.question.endswith("请保留2位小数作答。")


def test_bad_split_or_language_is_a_clear_error():
    with pytest.raises(DataError, match="no split 'dev'"):
        calc.generate("dev", 0)
    with pytest.raises(DataError, match="Unknown language 'fr'"):
        calc.generate("test", 0, "fr")
