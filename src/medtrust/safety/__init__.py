"""Safety study: harmful compliance, jailbreaks (incl. FigStep typographic attacks) and over-refusal.

- ``attacks``: named transforms of a request (jailbreak templates, translate_zh, FigStep).
- ``figstep``: FigStep's 760x760 typographic image.
- ``judges``: ``keywords`` (refusal matcher), ``llm/<model>``, ``llamaguard/<model>``.
- ``metrics``: attack success, refusal, over-refusal and harmfulness per attack and category.
- ``study``, ``report``, ``cli``: the `medtrust safety` verb, its report sections, `safety-compare`.
  Image datasets (``--benign demo-images``) and FigStep images are sent to vision backends and
  shown beside the responses in the report.
"""
