"""Loading PubMedQA PQA-L from its upstream files for the local lm-eval task (no hub access)."""

import json
from pathlib import Path

import datasets


def load_pubmedqa(data_dir: str, **_) -> datasets.DatasetDict:
    """The 500 test questions of test_ground_truth.json as rows (QUESTION, CONTEXTS, final_decision)."""
    folder = Path(data_dir)
    records = json.loads((folder / "ori_pqal.json").read_text(encoding="utf-8"))
    truth = json.loads((folder / "test_ground_truth.json").read_text(encoding="utf-8"))
    rows = [{"pubid": pid, "QUESTION": records[pid]["QUESTION"], "CONTEXTS": records[pid]["CONTEXTS"],
             "final_decision": records[pid]["final_decision"]} for pid in truth]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def pubmedqa_doc_to_text(doc) -> str:
    """lm_eval/tasks/pubmedqa/preprocess_pubmedqa.py: doc_to_text."""
    ctxs = "\n".join(doc["CONTEXTS"])
    return "Abstract: {}\nQuestion: {}\nAnswer:".format(ctxs, doc["QUESTION"])


def as_text(value) -> str:
    """CSV cells stay text (pandas would turn "5" into 5 and "None" into NaN)."""
    return str(value)
