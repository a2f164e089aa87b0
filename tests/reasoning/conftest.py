"""A scripted backend for the reasoning tests: fixed completions chosen by the prompt, so parsing,
voting and early answering can be checked against values worked out by hand."""

from __future__ import annotations

import pytest

from medtrust.models.base import Backend, Capability, Completion, LoglikResult

COT = "The ECG shows peaked T waves. This means potassium is high. So it is hyperkalaemia.\nAnswer: C"


class Scripted(Backend):
    """direct -> "C"; chain of thought -> COT (or the sc script, one answer per sample);
    early answering -> "Answer: C" once "potassium" is in the cut trace, else "Answer: A"."""

    name = "scripted"
    capabilities = frozenset({Capability.LOGPROBS, Capability.CHOICE_LOGLIK})

    def __init__(self, sc_script=None, loglik_script=None):
        self.sc_script = sc_script or []  # [(answer letter, total log-prob)] for the n samples
        self.loglik_script = loglik_script or {}
        self.requests = []

    def generate(self, requests, progress=None):
        self.requests.extend(requests)
        out = []
        for r in requests:
            last = r.messages[-1]["content"]
            if "Stop reasoning" in last:
                partial = r.messages[-2]["content"]
                out.append([Completion(text="Answer: C" if "potassium" in partial else "Answer: A",
                                       token_ids=[1, 2], token_logprobs=[-0.1, -0.2])])
            elif "<think></think>" in last:
                out.append([Completion(text="<think>Peaked T waves: potassium is high.</think><answer>C</answer>",
                                       token_ids=list(range(12)), token_logprobs=[-0.2] * 12)])
            elif "逐步思考" in last:
                out.append([Completion(text="T波高尖提示高钾。等等，再确认一下。\n答案：C", token_ids=list(range(9)),
                                       token_logprobs=[-0.2] * 9)])
            elif "step by step" in last and r.n > 1:
                out.append([Completion(text=f"Let me think. Wait, potassium.\nAnswer: {a}", token_ids=[1] * 10,
                                       token_logprobs=[lp / 10] * 10) for a, lp in self.sc_script[:r.n]])
            elif "step by step" in last:
                out.append([Completion(text=COT, token_ids=list(range(25)), token_logprobs=[-0.3] * 25)])
            else:
                out.append([Completion(text="C", token_ids=[7], token_logprobs=[-0.05])])
        return out

    def loglik(self, requests):
        self.requests.extend(requests)
        return [[LoglikResult(logprob=lp, is_greedy=False, num_tokens=1)
                 for lp in self.loglik_script.get(len(r.continuations), [-1.0] * len(r.continuations))]
                for r in requests]


@pytest.fixture
def scripted():
    return Scripted
