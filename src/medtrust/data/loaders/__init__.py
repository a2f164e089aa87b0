"""Loaders for the upstream public benchmarks; importing this package registers them.

Each dataset reads its files exactly as distributed upstream (a folder, or one file inside it) and
rows of a Hugging Face dataset (``--data-path hf:<id>`` or a local ``datasets`` folder):

- qa: ``pubmedqa``, ``medqa``, ``medmcqa``, ``mmlu-medical``
- bioasq: ``bioasq``
- safety: ``medsafetybench``, ``figstep``
- xstest: ``xstest``, ``xstest-completions``
- judge_sets: ``gptfuzz``, ``jbb-judge`` (labelled responses for checking judges)
- medcalc: ``medcalc``
- vqa: ``image-manifest``, ``vqa-rad``, ``slake``, ``pathvqa`` (image questions)
"""

from medtrust.data.loaders import bioasq, judge_sets, medcalc, qa, safety, vqa, xstest  # noqa: F401
