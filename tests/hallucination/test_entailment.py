"""Entailment methods: the NLI path on a tiny randomly initialised DeBERTa-v2 classifier built here
(label order from its config), the embedding path on the embedded model, exact, the LLM parser."""

from __future__ import annotations

import re

import numpy as np
import pytest

from medtrust.errors import MedtrustError
from medtrust.hallucination.clustering import CONTRADICTION, ENTAILMENT, NEUTRAL
from medtrust.hallucination.entailment import (
    EmbeddingEntailment,
    ExactEntailment,
    NLIEntailment,
    nli_label_map,
    resolve_entailment,
)


def tiny_deberta(folder, id2label, seed=0):
    """A 2-layer DeBERTa-v2 sequence classifier with the embedded embedder's WordPiece tokenizer."""
    import torch
    from transformers import AutoTokenizer, DebertaV2Config, DebertaV2ForSequenceClassification

    from medtrust.models.embedded import embedder_path
    tok = AutoTokenizer.from_pretrained(str(embedder_path()))
    config = DebertaV2Config(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                             intermediate_size=64, max_position_embeddings=128, num_labels=3, id2label=id2label,
                             label2id={v: k for k, v in id2label.items()}, pad_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    model = DebertaV2ForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return model, tok


def direct_labels(model, tok, pairs, label_map):
    """Each pair on its own through the model: arg-max index -> our label via the config's names."""
    import torch
    out = []
    for a, b in pairs:
        with torch.inference_mode():
            logits = model(**tok(a, b, return_tensors="pt")).logits[0]
        out.append(label_map[int(logits.argmax())])
    return out


def test_label_map_reads_names_not_positions():
    assert nli_label_map({0: "ENTAILMENT", 1: "NEUTRAL", 2: "CONTRADICTION"}) == {0: 2, 1: 1, 2: 0}
    assert nli_label_map({0: "contradiction", 1: "neutral", 2: "entailment"}) == {0: 0, 1: 1, 2: 2}
    assert nli_label_map({0: "entailment", 1: "not_entailment"}) == {0: 2, 1: 1}
    with pytest.raises(MedtrustError):
        nli_label_map({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"})


def test_nli_path_with_a_tiny_deberta(tmp_path):
    import torch
    id2label = {0: "ENTAILMENT", 1: "CONTRADICTION", 2: "NEUTRAL"}  # not the usual MNLI order
    model, tok = tiny_deberta(tmp_path / "nli", id2label)
    method = NLIEntailment(str(tmp_path / "nli"), device="cpu", batch_size=4)
    assert method.label_map == {0: ENTAILMENT, 1: CONTRADICTION, 2: NEUTRAL}
    question = "Which vitamin prevents scurvy?"
    texts = ["vitamin C", "ascorbic acid", "vitamin D", "the liver"]
    [m] = method.matrices([(question, texts + ["vitamin C"])])
    assert m.texts == texts  # the duplicate is not asked about
    full = [f"{question} {t}" for t in texts]
    pairs = [(full[i], full[j]) for i in range(4) for j in range(4) if i != j]
    assert method.calls == 3  # 12 ordered pairs in batches of 4
    expected = direct_labels(model, tok, pairs, method.label_map)
    got = [int(m.labels[i, j]) for i in range(4) for j in range(4) if i != j]
    assert got == expected  # batched with padding == one pair at a time
    # p_entail is the softmax of the class the config calls ENTAILMENT (index 0 here)
    with torch.inference_mode():
        logits = model(**tok(full[0], full[1], return_tensors="pt")).logits[0]
    assert m.p_entail[0, 1] == pytest.approx(float(torch.softmax(logits, -1)[0]), abs=1e-5)
    # results are cached: asking again makes no call
    method.matrices([(question, texts)])
    assert method.calls == 3


def test_nli_label_order_changes_the_decision(tmp_path):
    """A classifier whose bias favours index 0 entails everything when index 0 is ENTAILMENT and
    contradicts everything when index 0 is CONTRADICTION: the order comes from the config."""
    import torch
    results = {}
    for name, id2label in {"e0": {0: "entailment", 1: "neutral", 2: "contradiction"},
                           "c0": {0: "contradiction", 1: "neutral", 2: "entailment"}}.items():
        model, tok = tiny_deberta(tmp_path / name, id2label)
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor([5.0, 0.0, 0.0]))
        model.save_pretrained(tmp_path / name)
        method = NLIEntailment(str(tmp_path / name), device="cpu")
        [m] = method.matrices([("Q?", ["a", "b"])])
        results[name] = (int(m.labels[0, 1]), int(m.labels[1, 0]))
    assert results == {"e0": (ENTAILMENT, ENTAILMENT), "c0": (CONTRADICTION, CONTRADICTION)}


def test_nli_strict_mode_asks_the_other_way_only_after_an_entailment(tmp_path):
    """Strict clustering needs "b entails a" only where "a entails b": a classifier that
    contradicts everything is asked each pair once, one that entails everything both ways."""
    import torch
    texts = ["vitamin C", "ascorbic acid", "vitamin D", "the liver"]
    asked = {}
    for name, bias in {"contradicts": [0.0, 0.0, 5.0], "entails": [5.0, 0.0, 0.0]}.items():
        model, _ = tiny_deberta(tmp_path / name, {0: "entailment", 1: "neutral", 2: "contradiction"})
        with torch.no_grad():
            model.classifier.weight.zero_()
            model.classifier.bias.copy_(torch.tensor(bias))
        model.save_pretrained(tmp_path / name)
        method = NLIEntailment(str(tmp_path / name), device="cpu")
        [m] = method.matrices([("Q?", texts)], mode="strict")
        asked[name] = len(method.cache)
        assert (m.labels == -1).sum() == 12 - asked[name]
    assert asked == {"contradicts": 6, "entails": 12}


def test_embedding_path_with_the_embedded_model():
    from medtrust.models.embedded import sentence_embedder
    method = EmbeddingEntailment(threshold=0.9)
    texts = ["Vitamin C", "vitamin C", "The liver produces bile."]
    [m] = method.matrices([("Which vitamin prevents scurvy?", texts)])
    vecs = sentence_embedder().encode(texts, normalize_embeddings=True)
    cos = float(np.dot(vecs[0], vecs[2]))
    assert m.p_entail[0, 2] == pytest.approx(max(cos, 0.0), abs=1e-5)
    assert m.p_entail[0, 1] > 0.9 and m.labels[0, 1] == ENTAILMENT  # case only: same meaning
    assert m.labels[0, 2] == NEUTRAL and m.p_entail[0, 2] < 0.5


def test_exact_and_parsers():
    [m] = ExactEntailment().matrices([("Q", ["Vitamin C.", "vitamin c", "vitamin D"])])
    assert m.labels.tolist() == [[2, 2, 1], [2, 2, 1], [1, 1, 2]]
    for bad in ("bert", "embedding:x", "nli", "nli/", "llm", "exact:1", "embedding/x", ""):
        with pytest.raises(MedtrustError, match="entailment method|number after"):
            resolve_entailment(bad)


class ScriptedBackend:
    """A backend answering yes when both answers (or the answer and gold) mention the same vitamin."""

    name = "scripted"
    capabilities = frozenset()

    def __init__(self):
        self.calls = 0
        self.prompts = []

    def generate(self, requests, progress=None):
        from medtrust.models.base import Completion
        self.calls += 1
        out = []
        for r in requests:
            text = r.messages[-1]["content"]
            self.prompts.append(text)
            letters = re.findall(r"[Vv]itamin ([A-Z])", text)[-2:]
            out.append([Completion("Yes." if len(set(letters)) == 1 else "No, they differ.")])
        return out


def test_llm_entailment_one_call_per_batch_and_symmetric_pairs():
    from medtrust.hallucination.entailment import LLMEntailment
    backend = ScriptedBackend()
    method = LLMEntailment("scripted", backend=backend)
    items = [("Which vitamin prevents scurvy?", ["vitamin C", "Vitamin C.", "vitamin D"]),
             ("Which vitamin prevents rickets?", ["vitamin D", "vitamin K"])]
    m1, m2 = method.matrices(items)
    assert backend.calls == 1 and len(backend.prompts) == 3 + 1  # unordered pairs only
    assert m1.labels.tolist() == [[2, 2, 0], [2, 2, 0], [0, 0, 2]]
    assert m2.labels[0, 1] == m2.labels[1, 0] == CONTRADICTION
    method.matrices(items)
    assert backend.calls == 1 and len(backend.prompts) == 4  # all cached: no call at all


def test_llm_judge_grades_with_the_reference_prompt():
    from medtrust.data.schema import Sample
    from medtrust.hallucination.correctness import grade_records
    from medtrust.hallucination.study import HallucinationExtras, HallucinationRecord
    from medtrust.runs.records import Output
    backend = ScriptedBackend()

    def record(i, question, gold, answer):
        sample = Sample(id=f"q{i}", question=question, answer=gold, answer_type="short" if gold else "open")
        return HallucinationRecord(id=sample.id, sample_id=sample.id, sample=sample,
                                   extras=HallucinationExtras(low_t_answer=Output(text=answer)))
    records = [record(1, "Which vitamin prevents scurvy?", "vitamin C", "It is vitamin C."),
               record(2, "Which vitamin prevents rickets?", "vitamin D", "vitamin K"),
               record(3, "Open question", None, "x")]
    assert grade_records(records, judge=backend) == [True, False, None]
    assert "Within the context of the question" in backend.prompts[0]
