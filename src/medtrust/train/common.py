"""What every trainer shares: a trainable model from a model string, the training run folder,
a JSONL log of the trainer's metrics, and saving a model that loads as ``hf/<folder>``.

A training run folder holds ``config.yaml`` + ``config.json`` (the options), ``environment.json``
(versions, git commit, devices), ``trainer_log.jsonl`` (one line per logging step),
``checkpoints/`` (for ``--resume``), ``model/`` (the trained model) and ``report.html``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medtrust.errors import MedtrustError, ModelStringError, missing_extra

MODEL_DIR, LOG_FILE, CONFIG_JSON, ENV_FILE, CHECKPOINTS = (
    "model", "trainer_log.jsonl", "config.json", "environment.json", "checkpoints")
LOAD_NOTE = "HOW_TO_LOAD.txt"


def require_train_extra(purpose: str = "Training") -> None:
    """Raise the install hint when TRL or PEFT is missing (the ``train`` extra)."""
    import importlib.util
    for package in ("trl", "peft"):
        if importlib.util.find_spec(package) is None:
            raise missing_extra(package, "train", purpose)


def use_bf16(dtype: str | None = None) -> bool:
    """Train in bf16? Only on a CUDA GPU that supports it, and only when no other dtype is asked
    for (TRL's configs default to bf16, which fails on CPUs and older GPUs)."""
    import torch
    return (torch.cuda.is_available() and torch.cuda.is_bf16_supported()
            and dtype in (None, "bf16", "bfloat16"))


# ------------------------------------------------------------------------------------ model
@dataclass
class TrainableModel:
    """A model ready for a TRL trainer. ``source_path`` is a local folder or hub id the same
    weights load from (TRL rebuilds reference models from it); ``model_string`` is what a
    study would be given to evaluate the untrained model."""

    model: Any
    tokenizer: Any
    source_path: Path | str
    model_string: str
    lora: bool = False
    processor: Any = None  # a vision-language model's processor (images -> pixel values, placeholders)

    @property
    def processing_class(self):
        """What TRL's trainers get: the processor of a vision-language model, else the tokenizer."""
        return self.processor if self.processor is not None else self.tokenizer


def model_source(model: str) -> tuple[Path | str, str]:
    """``(folder or hub id, model string)`` for ``embedded``, ``embedded-vlm``, ``embedded-vlm-reader`` or
    ``hf/<path or id>``.

    Other backends (vllm, openai, ...) cannot be trained here: a clear ModelStringError.
    """
    from medtrust.models.registry import split_model_string
    backend, rest = split_model_string(model)
    if backend == "embedded":
        from medtrust.models.embedded import materialize
        return materialize(), "embedded"
    if backend == "embedded-vlm":
        from medtrust.models.embedded_vlm import materialize_vlm
        return materialize_vlm(), "embedded-vlm"
    if backend == "embedded-vlm-reader":
        from medtrust.models.embedded_vlm_reader import materialize_reader
        return materialize_reader(), "embedded-vlm-reader"
    if backend != "hf":
        raise ModelStringError(f"'{model}' cannot be trained: training needs the weights in this process.",
                               "use embedded, embedded-vlm, embedded-vlm-reader or hf/<hub id or local folder>")
    local = Path(rest).expanduser()
    if local.exists():
        return local, model
    if rest.startswith((".", "/", "~")) or rest.count("/") > 1:
        raise ModelStringError(f"The model folder '{rest}' does not exist.", "check the path after hf/")
    return rest, model


def is_vision_model(model: str) -> bool:
    """Whether a trainable model string names an image-text-to-text model (by its config)."""
    from medtrust.models.hf_vision import is_vision_language
    return is_vision_language(str(model_source(model)[0]))


def keep_in_eval(module) -> None:
    """Freeze ``module`` and keep it in eval mode whatever ``train()`` its parents call."""
    import types
    for p in module.parameters():
        p.requires_grad = False
    module.eval()
    module.train = types.MethodType(lambda self, mode=True: self, module)


def freeze_vision_tower(net) -> None:
    """Keep a vision-language model's vision encoder frozen and in eval mode (VLGuard trains the
    projector and the language model; batch norms keep their statistics)."""
    for owner in (getattr(net, "model", None), net):
        tower = next((getattr(owner, n) for n in VISION_TOWERS if owner is not None and hasattr(owner, n)), None)
        if tower is not None:
            keep_in_eval(tower)
            return


#: attribute names of the vision encoder (LLaVA / Gemma 3, Qwen2-VL, Idefics3 / SmolVLM) and the
#: module names LoRA leaves out of ``all-linear`` on a vision-language model
VISION_TOWERS = ("vision_tower", "visual", "vision_model")
LORA_EXCLUDE_VISION = r".*(vision_tower|visual|vision_model|multi_modal_projector)\..*"


def load_for_training(model: str, *, lora: bool = False, lora_r: int = 16, lora_alpha: int = 32,
                      lora_targets: list[str] | str | None = None, dtype: str | None = None,
                      device: str | None = None) -> TrainableModel:
    """Load ``embedded``, ``embedded-vlm`` or ``hf/<path or id>`` as a trainable model (float32 on CPU).

    A vision-language model loads with its processor (``AutoModelForImageTextToText``), its vision
    encoder frozen. With ``lora`` the model is wrapped by PEFT ``get_peft_model`` (``lora_targets``:
    module names, default ``all-linear``, on a vision-language model its language model only). The
    tokenizer keeps its chat template and gets a pad token.
    """
    from medtrust.models.hf import pick_device, pick_dtype
    source, model_string = model_source(model)
    vision = is_vision_model(model)
    import transformers
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor, AutoTokenizer
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    processor = None
    try:
        if vision:
            processor = AutoProcessor.from_pretrained(str(source))
            tokenizer = processor.tokenizer
        else:
            tokenizer = AutoTokenizer.from_pretrained(str(source))
        auto = AutoModelForImageTextToText if vision else AutoModelForCausalLM
        net = auto.from_pretrained(str(source), dtype=pick_dtype(dtype, pick_device(device)))
    except OSError as e:
        raise ModelStringError(f"Could not load '{model}' for training: {str(e).splitlines()[0]}",
                               "give a local folder (hf/./path) or a downloaded hub id") from e
    finally:
        transformers.logging.set_verbosity(verbosity)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    net.to(pick_device(device))
    if vision:
        freeze_vision_tower(net)
    if lora:
        require_train_extra("LoRA training")
        from peft import LoraConfig, get_peft_model
        targets = lora_targets or "all-linear"
        if isinstance(targets, str) and targets != "all-linear":
            targets = [t.strip() for t in targets.split(",") if t.strip()]
        exclude = LORA_EXCLUDE_VISION if vision and targets == "all-linear" else None
        net = get_peft_model(net, LoraConfig(r=lora_r, lora_alpha=lora_alpha, target_modules=targets,
                                             exclude_modules=exclude, lora_dropout=0.0, task_type="CAUSAL_LM"))
    return TrainableModel(net, tokenizer, source, model_string, lora, processor)


# -------------------------------------------------------------------------------- run folder
@dataclass
class TrainingRun:
    """A training run folder on disk (see the module docstring for its files)."""

    path: Path
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def model_dir(self) -> Path:
        return self.path / MODEL_DIR

    @property
    def log_path(self) -> Path:
        return self.path / LOG_FILE

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def report_path(self) -> Path:
        return self.path / "report.html"

    def last_checkpoint(self) -> str | None:
        """The newest ``checkpoint-N`` folder (for resuming), or None."""
        if not self.checkpoints_dir.exists():
            return None
        found = [p for p in self.checkpoints_dir.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
        return str(max(found, key=lambda p: int(p.name.split("-")[-1]))) if found else None

    def write_json(self, name: str, data: Any) -> Path:
        """Write ``name`` in the run folder atomically (pretty JSON)."""
        from medtrust.runs.folder import _plain
        path = self.path / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path

    def read_log(self) -> list[dict[str, Any]]:
        """The complete lines of trainer_log.jsonl (a half-written last line is skipped)."""
        if not self.log_path.exists():
            return []
        rows = []
        for line in self.log_path.read_text(encoding="utf-8").splitlines(keepends=True):
            if line.endswith("\n") and line.strip():
                rows.append(json.loads(line))
        return rows


def open_training_run(kind: str, config: dict[str, Any], out: Path | str | None,
                      runs_dir: Path | str = "runs") -> TrainingRun:
    """A new run folder ``<runs_dir>/<UTC time>_train-<kind>_<model slug>_<id>`` (or ``out``),
    holding config.yaml, config.json and environment.json. An existing ``out`` that is a
    training run of the same kind is reopened (resume); any other non-empty folder is an error."""
    from medtrust.environment import devices, git_commit, versions
    from medtrust.runs.folder import RunFolder
    config = dict(config, kind=kind)
    if out is not None:
        path = Path(out)
        if path.exists() and any(path.iterdir()):
            old = path / CONFIG_JSON
            if not old.exists() or json.loads(old.read_text()).get("kind") != kind:
                raise MedtrustError(f"The output folder '{path}' exists and is not a {kind} training run.",
                                    "choose a new --out folder (or pass the folder of an earlier run to resume it)")
        path.mkdir(parents=True, exist_ok=True)
        folder = RunFolder(path)
        folder.write_config(config)
    else:
        folder = RunFolder.create(runs_dir, f"train-{kind}", str(config.get("model", "model")), config)
    run = TrainingRun(folder.path, config)
    run.write_json(CONFIG_JSON, config)
    run.write_json(ENV_FILE, {"versions": versions(), "git_commit": git_commit(), "devices": devices(),
                              "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    return run


# ---------------------------------------------------------------------------------- logging
def _callback_base():
    try:
        from transformers import TrainerCallback
    except ImportError as e:  # pragma: no cover - core dependency
        raise missing_extra("transformers", "train", "Training") from e
    return TrainerCallback


class JsonlLogCallback(_callback_base()):
    """Appends each ``on_log`` dict, plus ``step``, ``epoch`` and ``time`` (Unix seconds), to a
    JSONL file as one flushed line, so an interrupted run keeps every logged step."""

    def __init__(self, log_path: Path | str):
        self.log_path = Path(log_path)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or not state.is_world_process_zero:
            return
        row = {"step": state.global_step, "epoch": state.epoch, "time": round(time.time(), 3)}
        row.update({k: _jsonable(v) for k, v in logs.items()})
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())


class TimeLimitCallback(_callback_base()):
    """Stops training (saving a checkpoint first) once ``minutes`` of training have passed, so a
    run stays within a time budget whatever the speed of the machine; the learning-rate schedule
    still follows ``max_steps``."""

    def __init__(self, minutes: float):
        self.seconds = minutes * 60
        self.started: float | None = None
        self.stopped_at: int | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.time()

    def on_step_end(self, args, state, control, **kwargs):
        if self.started is not None and time.time() - self.started >= self.seconds:
            control.should_training_stop = True
            control.should_save = True
            self.stopped_at = state.global_step
        return control


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


# ----------------------------------------------------------------------------------- saving
def save_trained(model, tokenizer, model_dir: Path | str, *, merge_lora: bool = True) -> Path:
    """Save weights and tokenizer (or a vision-language model's processor) so the folder loads as
    ``hf/<model_dir>`` in every study.

    A PEFT model is merged into its base (``merge_lora=True``, plain weights) or saved as an
    adapter (``adapter_config.json`` + ``adapter_model.safetensors``, tokenizer beside it);
    transformers loads an adapter folder by reading the base model from
    ``base_model_name_or_path`` (PEFT installed). A HOW_TO_LOAD.txt says which it is.
    """
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    is_peft = hasattr(model, "peft_config")
    if is_peft and merge_lora:
        model = model.merge_and_unload()
        is_peft = False
    model.save_pretrained(model_dir)
    getattr(tokenizer, "tokenizer", tokenizer).padding_side = "left"  # a processor saves its tokenizer
    tokenizer.save_pretrained(model_dir)
    if is_peft:
        base = next(iter(model.peft_config.values())).base_model_name_or_path
        note = (f"LoRA adapter over the base model {base}.\n"
                f"Evaluate with: medtrust safety --model hf/{model_dir}  (PEFT must be installed; the base\n"
                f"model is read from adapter_config.json: base_model_name_or_path).\n"
                f"Or in Python: peft.AutoPeftModelForCausalLM.from_pretrained('{model_dir}').\n")
    else:
        note = f"Plain transformers weights. Evaluate with: medtrust safety --model hf/{model_dir}\n"
    (model_dir / LOAD_NOTE).write_text(note)
    return model_dir


# ------------------------------------------------------------------------------ the trainer
def run_trainer(trainer, run: TrainingRun, command: str, resume: bool = False) -> dict[str, Any]:
    """``trainer.train()`` (from the run's last checkpoint when ``resume``), turning Ctrl-C into
    an Interrupted error that says how to resume. Returns the train output's metrics, which are
    also written to ``train_result.json`` with the wall-clock time."""
    from medtrust.errors import Interrupted
    checkpoint = run.last_checkpoint() if resume else None
    started = time.time()
    try:
        output = trainer.train(resume_from_checkpoint=checkpoint)
    except KeyboardInterrupt:
        from medtrust.train.report import write_train_results
        write_train_results(run, "partial")
        raise Interrupted(f"Training interrupted. The log is in {run.log_path}; checkpoints (every "
                          f"save_steps) in {run.checkpoints_dir}.",
                          f"resume with: {command} --resume {run.path}") from None
    metrics = dict(output.metrics)
    metrics.update(wall_clock_s=round(time.time() - started, 2), global_step=output.global_step,
                   resumed_from=checkpoint)
    limit = next((c for c in trainer.callback_handler.callbacks if isinstance(c, TimeLimitCallback)), None)
    if limit is not None and limit.stopped_at is not None:
        metrics["stopped_by_time_limit_at_step"] = limit.stopped_at
    run.write_json("train_result.json", metrics)
    return metrics


def remove_checkpoints(run: TrainingRun) -> None:
    """Delete ``checkpoints/`` once the final model is saved (they hold optimizer states)."""
    import shutil
    if run.checkpoints_dir.exists():
        shutil.rmtree(run.checkpoints_dir, ignore_errors=True)


def load_run_config(path: Path | str, kind: str) -> dict[str, Any]:
    """The config.json of an earlier training run of ``kind`` (for ``--resume``), or one clear error."""
    file = Path(path) / CONFIG_JSON
    if not file.exists():
        raise MedtrustError(f"'{path}' is not a training run folder (no {CONFIG_JSON}).",
                            "pass the folder a training command printed")
    config = json.loads(file.read_text())
    if config.get("kind") != kind:
        raise MedtrustError(f"'{path}' is a {config.get('kind')} run, not a {kind} run.",
                            f"resume it with: medtrust train {config.get('kind')} --resume {path}")
    return config
