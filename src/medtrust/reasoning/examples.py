"""Worked examples for few-shot chain of thought: from the dataset's training split when it has
one (the rationale from the row's explanation, or built from its calculator inputs), else a few
written ones (English and Chinese) per answer format."""

from __future__ import annotations

from medtrust.data.schema import Sample
from medtrust.reasoning.strategies import ANSWER_WORD, answer_slot, gold_text, language


def _answer_line(sample: Sample, lang: str) -> str:
    lg = language(sample, lang)
    sep = "：" if lg == "zh" else ": "
    return f"{ANSWER_WORD[lg]}{sep}{gold_text(sample, lang)}"


def worked_answer(sample: Sample, lang: str) -> str:
    """A short chain of thought ending in the gold answer, from what the row itself holds."""
    lg = language(sample, lang)
    meta = sample.metadata
    explanation = meta.get("explanation")
    if explanation:
        reasoning = str(explanation).strip()
    elif meta.get("formula") and meta.get("inputs"):
        values = ", ".join(f"{k.replace('_', ' ')} = {v}" for k, v in meta["inputs"].items())
        unit = f" {meta['unit']}" if meta.get("unit") else ""
        if lg == "zh":
            reasoning = f"使用公式：{meta['formula']}。已知：{values}。代入计算得 {sample.answer}{unit}。"
        else:
            reasoning = (f"Use the formula {meta['formula']}. The values are: {values}. "
                         f"Substituting them gives {sample.answer}{unit}.")
    elif sample.answer_type == "mcq" and sample.choices and sample.answer:
        right = sample.answer_text()
        others = [c for c in sample.choices if c != right]
        if lg == "zh":
            reasoning = f"逐一分析选项：{'、'.join(others)}都不符合题意；{right}符合题意。"
        else:
            reasoning = (f"Go through the options: {', '.join(others)} do not fit the question; "
                         f"{right} does.")
    else:
        reasoning = ""
    return f"{reasoning}\n{_answer_line(sample, lang)}".strip()


def _written(slot: str, lg: str) -> list[tuple[Sample, str]]:
    rows = WRITTEN[lg].get(slot, [])  # no written examples for dates: few-shot-cot runs zero-shot there
    return [(Sample(**{**row["sample"], "metadata": {"language": lg}}), row["worked"]) for row in rows]


def few_shot_examples(train: list[Sample] | None, sample: Sample, lang: str, k: int = 3) -> list[tuple[Sample, str]]:
    """Up to ``k`` (example, worked answer) pairs with the same answer format as ``sample``:
    the first such rows of ``train`` when given, else written examples."""
    slot = answer_slot(sample)
    lg = language(sample, lang)
    if train:
        same = [s for s in train if answer_slot(s) == slot and language(s, lang) == lg][:k]
        if same:
            return [(s, worked_answer(s, lang)) for s in same]
    return _written(slot, lg)[:k]


_MCQ = ["Hypokalaemia", "Hyperkalaemia", "Hypocalcaemia", "Hypernatraemia"]
WRITTEN: dict[str, dict[str, list[dict]]] = {
    "en": {
        "letter": [
            {"sample": {"id": "ex-en-1", "question": "A 70-year-old man taking furosemide has muscle weakness and "
                        "U waves on the ECG. Which electrolyte disorder is most likely?",
                        "answer": "A", "answer_type": "mcq", "choices": _MCQ},
             "worked": "Furosemide is a loop diuretic that wastes potassium. Muscle weakness and U waves are the "
                       "classic signs of low potassium, so the disorder is hypokalaemia.\nAnswer: A"},
            {"sample": {"id": "ex-en-2", "question": "Which drug reverses an opioid overdose?", "answer": "C",
                        "answer_type": "mcq", "choices": ["Flumazenil", "Atropine", "Naloxone", "Protamine"]},
             "worked": "Flumazenil reverses benzodiazepines, atropine treats bradycardia and protamine reverses "
                       "heparin. Naloxone is the opioid receptor antagonist.\nAnswer: C"},
            {"sample": {"id": "ex-en-3", "question": "Which vitamin deficiency causes scurvy?", "answer": "B",
                        "answer_type": "mcq", "choices": ["Vitamin A", "Vitamin C", "Vitamin D", "Vitamin K"]},
             "worked": "Scurvy comes from impaired collagen synthesis, which needs vitamin C (ascorbic acid) "
                       "for hydroxylation.\nAnswer: B"},
        ],
        "yes_no_maybe": [
            {"sample": {"id": "ex-en-4", "question": "Does regular aerobic exercise lower resting blood pressure "
                        "in adults with hypertension?", "answer": "yes", "answer_type": "yes_no_maybe",
                        "choices": ["yes", "no", "maybe"]},
             "worked": "Randomised trials and meta-analyses show that aerobic training lowers systolic and "
                       "diastolic pressure by several mmHg in hypertensive adults.\nAnswer: yes"},
            {"sample": {"id": "ex-en-5", "question": "Do antibiotics shorten the common cold?", "answer": "no",
                        "answer_type": "yes_no_maybe", "choices": ["yes", "no", "maybe"]},
             "worked": "The common cold is caused by viruses, and antibiotics act on bacteria; trials show no "
                       "shorter illness.\nAnswer: no"},
        ],
        "number": [
            {"sample": {"id": "ex-en-6", "question": "A man weighs 80 kg and is 200 cm tall. What is his body mass "
                        "index in kg/m²?", "answer": "20", "answer_type": "numeric"},
             "worked": "BMI = weight / height². Height is 2.00 m, so height² = 4.00 m². 80 / 4.00 = 20.\nAnswer: 20"},
            {"sample": {"id": "ex-en-7", "question": "Blood pressure is 120/90 mmHg. What is the mean arterial "
                        "pressure in mmHg?", "answer": "100", "answer_type": "numeric"},
             "worked": "MAP = (SBP + 2 x DBP) / 3 = (120 + 180) / 3 = 300 / 3 = 100.\nAnswer: 100"},
        ],
    },
    "zh": {
        "letter": [
            {"sample": {"id": "ex-zh-1", "question": "70岁男性服用呋塞米，出现肌无力，心电图见U波。"
                        "最可能的电解质紊乱是？", "answer": "A", "answer_type": "mcq",
                        "choices": ["低钾血症", "高钾血症", "低钙血症", "高钠血症"]},
             "worked": "呋塞米是袢利尿剂，会导致钾丢失。肌无力和U波是低钾的典型表现，"
                       "所以是低钾血症。\n答案：A"},
            {"sample": {"id": "ex-zh-2", "question": "哪种药物可逆转阿片类药物过量？", "answer": "C",
                        "answer_type": "mcq", "choices": ["氟马西尼", "阿托品", "纳洛酮", "鱼精蛋白"]},
             "worked": "氟马西尼逆转苯二氮䓬类，阿托品治疗心动过缓，鱼精蛋白逆转肝素；"
                       "纳洛酮是阿片受体拮抗剂。\n答案：C"},
        ],
        "yes_no_maybe": [
            {"sample": {"id": "ex-zh-3", "question": "规律的有氧运动能降低高血压成人的静息血压吗？", "answer": "yes",
                        "answer_type": "yes_no_maybe", "choices": ["yes", "no", "maybe"]},
             "worked": "随机试验和荟萃分析显示，有氧训练可使高血压成人的收缩压和舒张压下降数毫米汞柱。\n答案：是"},
        ],
        "number": [
            {"sample": {"id": "ex-zh-4", "question": "男性体重80 kg，身高200 cm。其体重指数（kg/m²）是多少？",
                        "answer": "20", "answer_type": "numeric"},
             "worked": "BMI = 体重 / 身高²。身高2.00 m，身高² = 4.00 m²。80 / 4.00 = 20。\n答案：20"},
        ],
    },
}
