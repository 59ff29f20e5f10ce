"""Checkpoints of a training run: what they hold, `restore` and `load_model`.

A run directory holds TensorFlow checkpoints (`ckpt-<step>`, the latest two
kept) of the model, its optimizers and the update counter, plus `run.json`
(seed, batch size, learning rate, the numerical setup of
`benchmark.training.setup` with the training precision and, for models made
by `build_model`, the model entry) and `train_log.jsonl` (one record per logging interval). The
data-stream position and the sampling noise of update t are functions of
(seed, t), so the counter alone says where a resumed run continues.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmark.errors import UserInputError
from benchmark.models.registry import EntryConfig
from benchmark.models.vae import VAE
from benchmark.tf_quiet import import_tensorflow

tf = import_tensorflow()

__all__ = ["RUN_FILE", "check_run_file", "load_model", "make_checkpoint", "restore"]

RUN_FILE = "run.json"
CHECKPOINT_PREFIX = "ckpt"
# Setup fields added after runs were first recorded, with the value those runs had.
_SETUP_BEFORE = {"precision": "float32"}


def make_checkpoint(
    model: VAE, step: tf.Variable, optimizers: dict[str, object] | None = None
) -> tf.train.Checkpoint:
    """A checkpoint over the model, the update counter and (when given) the optimizers."""
    extra = {f"optimizer_{name}": opt for name, opt in (optimizers or {}).items()}
    return tf.train.Checkpoint(model=model, step=step, **extra)


def check_run_file(directory: Path, settings: dict[str, object]) -> None:
    """Writes `run.json`, or checks that a run resumed in `directory` keeps its settings."""
    path = directory / RUN_FILE
    if not path.exists():
        path.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
        return
    stored = json.loads(path.read_text())
    if isinstance(stored.get("setup"), dict):
        stored["setup"] = {**_SETUP_BEFORE, **stored["setup"]}
    for key, value in settings.items():
        if key == "setup" and key in stored and stored[key] != value:
            from benchmark.training.setup import describe_mismatch

            raise UserInputError(
                f"{path}: setup: this run was trained on another numerical setup "
                f"({describe_mismatch(stored[key], value)}), so resuming it here would not "
                "continue it exactly; resume it on the setup it started on or use a new "
                "checkpoint_dir"
            )
        if key in stored and stored[key] != value:
            raise UserInputError(
                f"{path}: {key}: this run directory was trained with {stored[key]!r}, "
                f"got {value!r}; use a new checkpoint_dir"
            )


def restore(model: VAE, checkpoint_dir: str | Path) -> int:
    """Loads the latest checkpoint of `checkpoint_dir` into `model`; returns its update count.

    Creates the model's variables first. Optimizer state in the checkpoint is
    ignored (evaluation needs the weights only). Raises `UserInputError` when
    the directory holds no checkpoint.
    """
    directory = Path(checkpoint_dir)
    latest = tf.train.latest_checkpoint(str(directory))
    if latest is None:
        raise UserInputError(
            f"{directory}: no checkpoint found (expected {CHECKPOINT_PREFIX}-N files)"
        )
    model.initialize()
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    status = make_checkpoint(model, step).restore(latest).expect_partial()
    status.assert_existing_objects_matched()
    return int(step.numpy())


def load_model(checkpoint_dir: str | Path) -> tuple[VAE, int]:
    """`(model, step)`: the model entry recorded in `run.json`, rebuilt and restored."""
    directory = Path(checkpoint_dir)
    path = directory / RUN_FILE
    try:
        settings = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserInputError(f"{path}: not found; was this directory written by train()?") from None
    if not settings.get("model"):
        raise UserInputError(
            f"{path}: model: no model entry recorded (the model was not made by build_model)"
        )
    model = EntryConfig.from_json(settings["model"]).build()
    return model, restore(model, directory)
