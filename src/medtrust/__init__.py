"""medtrust: hallucination detection, safety alignment and the reasoning process of medical LLMs."""

__version__ = "0.1.0"
