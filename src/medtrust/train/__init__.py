"""Training: thin wrappers over TRL (safety SFT, DPO, GRPO) that write run folders.

``common`` loads a trainable model from a model string and opens the training run folder,
``report`` draws the trainer's logged curves, ``evaluate`` runs a study before and after.
TRL and PEFT are the ``train`` extra, imported only when training starts.
"""
