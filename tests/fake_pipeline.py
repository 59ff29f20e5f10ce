"""Fake pipelines for runner tests: `execute_run(spec, workdir, progress, training_dir)`, no TF.

`tiny_task(...)` is the small task the runner, store and Ray executor tests run.

Each fake appends `start|resume|finish <run_id>` lines to the file named by
the environment variable DISBENCH_FAKE_LOG (if set), so tests can check what
ran, what resumed from a checkpoint, and that nothing ran twice. Importable
by worker processes and Ray workers (tests put this folder on PYTHONPATH).
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import numpy as np

from benchmark.config import (
    DatasetConfig,
    EvaluationConfig,
    ModelConfig,
    TaskConfig,
    TrainingConfig,
)

LOG_VARIABLE = "DISBENCH_FAKE_LOG"


def tiny_task(
    name: str = "tiny",
    seeds=(0, 1),
    betas=(1, 8),
    posteriors: tuple[str, ...] = (),
) -> TaskConfig:
    """fc beta-VAEs on `toy`, 10 steps, scored by MIG: one run per beta (x posterior) x seed.

    Without `posteriors` the sweep sets only `beta`.
    """
    if posteriors:
        sweep = tuple({"beta": b, "posterior": p} for b in betas for p in posteriors)
    else:
        sweep = tuple({"beta": b} for b in betas)
    return TaskConfig(
        name=name,
        description="a tiny task",
        dataset=DatasetConfig("toy"),
        models=(ModelConfig("beta_vae", {"architecture": "fc"}),),
        sweep=sweep,
        seeds=tuple(seeds),
        training=TrainingConfig(steps=10),
        evaluation=EvaluationConfig(metrics=("mig",)),
    )


class TrainingDiverged(RuntimeError):
    """Stands in for `benchmark.training.TrainingDiverged` (same message shape)."""

    def __init__(self, step: int, reason: str) -> None:
        super().__init__(f"training diverged at step {step}: {reason}")
        self.step = step
        self.reason = reason


def log(event: str, run_id: str) -> None:
    path = os.environ.get(LOG_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{event} {run_id}\n")


def read_log(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]


def scores_for(spec) -> dict:
    """Deterministic scores from the run's arguments and seed."""
    beta = float(spec.model_args.get("beta", 1))
    family = {"diagonal": 0.0, "full_covariance": 0.1, "iaf": 0.2}.get(
        spec.model_args.get("posterior", "diagonal"), 0.3
    )
    mig = 0.1 + 0.02 * beta + family + 0.01 * spec.seed
    return {
        "mig": mig,
        "dci_disentanglement": 0.5 * mig,
        "gaussian_total_correlation": 1.0 / beta,
        "mig_per_factor": [mig, mig / 2],
        "posterior_correlation_matrix": [[1.0, 0.1 * family], [0.1 * family, 1.0]],
    }


def fixed(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Scores at once; writes a traversal image array as an artefact."""
    log("start", spec.run_id)
    images = np.full((2, 3, 4, 4), 0.5, dtype=np.float32)
    np.save(workdir / "traversals.npy", images)
    result = scores_for(spec)
    result["artifacts"] = {"traversals": "traversals.npy"}
    result["durations"] = {"train_s": 0.01, "eval_s": 0.01}
    log("finish", spec.run_id)
    return result


def diverges_at_beta_8(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """A NaN loss (TrainingDiverged) for beta = 8; scores otherwise."""
    log("start", spec.run_id)
    if float(spec.model_args.get("beta", 1)) == 8:
        raise TrainingDiverged(123, "loss is NaN")
    log("finish", spec.run_id)
    return scores_for(spec)


def disk_full_at_seed_1(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Writing a checkpoint fails with ENOSPC for seed 1."""
    log("start", spec.run_id)
    if spec.seed == 1:
        raise OSError(errno.ENOSPC, "No space left on device", str(workdir / "ckpt-1.index"))
    log("finish", spec.run_id)
    return scores_for(spec)


def interrupted_at_third(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Ctrl-C during the third run started in this process."""
    count = len([e for e in read_log(Path(os.environ[LOG_VARIABLE])) if e[0] == "start"])
    log("start", spec.run_id)
    if count == 2:
        (workdir / "checkpoint").write_text("half")
        raise KeyboardInterrupt
    log("finish", spec.run_id)
    return scores_for(spec)


def slow(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """About 0.4 s per run, with a checkpoint half-way that a resumed run picks up."""
    checkpoint = workdir / "checkpoint"
    if checkpoint.exists():
        log("resume", spec.run_id)
    else:
        log("start", spec.run_id)
        time.sleep(0.2)
        checkpoint.write_text("half")
    time.sleep(0.2)
    log("finish", spec.run_id)
    return scores_for(spec)


def bad_scores(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """A score that is not a number."""
    return {"mig": "high"}


# ---- faults: pipelines that exit, crash, hang or name bad artefacts -----------------------------


def exits_at_beta_8(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """`sys.exit(3)` for beta = 8; scores otherwise."""
    log("start", spec.run_id)
    if float(spec.model_args.get("beta", 1)) == 8:
        raise SystemExit(3)
    log("finish", spec.run_id)
    return scores_for(spec)


def crashes_at_beta_8(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Kills its own process (`os._exit(3)`, as a segfault would) for beta = 8."""
    log("start", spec.run_id)
    if float(spec.model_args.get("beta", 1)) == 8:
        os._exit(3)
    log("finish", spec.run_id)
    return scores_for(spec)


def hangs_at_beta_8(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Sleeps 60 s for beta = 8 (a run that never ends); scores otherwise."""
    log("start", spec.run_id)
    if float(spec.model_args.get("beta", 1)) == 8:
        time.sleep(60)
    log("finish", spec.run_id)
    return scores_for(spec)


def sleeps(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Starts (logged, with a checkpoint), then sleeps 60 s: a run to kill part-way."""
    log("start", spec.run_id)
    (workdir / "checkpoint").write_text("half")
    time.sleep(60)
    log("finish", spec.run_id)
    return scores_for(spec)


def names_artifact(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Names the artefact path in the environment variable DISBENCH_FAKE_ARTIFACT (1 kB written)."""
    name = os.environ["DISBENCH_FAKE_ARTIFACT"]
    target = Path(name) if Path(name).is_absolute() else workdir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"x" * 1000)
    result = scores_for(spec)
    result["artifacts"] = {"file": name}
    return result


def trains_once(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Trains into `training_dir` unless its finished training is there, then scores.

    Logs `train` or `rescore`; `durations.train_steps` is 0 when it only
    re-scored. `mig` moves with the `num_train` evaluation setting, so a
    changed setting gives new scores from the same training.
    """
    folder = Path(training_dir) if training_dir is not None else workdir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    state = folder / "checkpoint"  # the name TensorFlow's checkpoint index has
    if state.exists() and state.read_text() == f"final {spec.training_id}":
        log("rescore", spec.run_id)
        steps = 0
    else:
        log("train", spec.run_id)
        state.write_text(f"final {spec.training_id}")
        steps = spec.training.steps
    result = scores_for(spec)
    result["mig"] += 1e-4 * float(spec.evaluation.settings.get("num_train", 0))
    result["durations"] = {"train_s": 0.01 * steps, "train_steps": steps}
    return result


def reports_environment(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Scores that are the worker's device settings: its GPU (-1: none) and thread budget."""
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return {
        "gpu": float(gpu) if gpu else -1.0,
        "threads": float(os.environ.get("DISBENCH_THREADS", "0")),
        "gpu_memory_mb": float(os.environ.get("DISBENCH_GPU_MEMORY_MB", "0")),
        "pid": float(os.getpid()),
    }


def logs_training(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """Writes two training-log records (as the trainer does) over about 0.6 s, then scores."""
    folder = Path(training_dir) if training_dir is not None else workdir
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "train_log.jsonl").open("a") as log_file:
        for step, elbo in ((5, -90.5), (10, -80.25)):
            record = {"step": step, "steps_per_second": 12.5, "heldout_elbo": elbo}
            log_file.write(json.dumps(record) + "\n")
            log_file.flush()
            time.sleep(0.3)
    return scores_for(spec)


def converges_at_beta_1(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """An early-stopping training: beta 1 converges at step 6, other betas run to the cap.

    The training folder's `checkpoint` file holds `step N`; a call starting from
    N > 0 continues from there. Logs `train` (from step 0), `continue` (from a
    checkpoint before its end) or `rescore`; writes a small artefact.
    """
    folder = Path(training_dir) if training_dir is not None else workdir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    state = folder / "checkpoint"
    start = int(state.read_text().split()[1]) if state.exists() else 0
    cap = spec.training.steps
    converges = float(spec.model_args.get("beta", 1)) == 1
    end = min(6, cap) if converges else cap
    log("rescore" if start >= end else "continue" if start else "train", spec.run_id)
    state.write_text(f"step {max(start, end)}")
    (workdir / "note.txt").write_text(f"trained to {end}")
    result = scores_for(spec)
    result["train/steps_trained"] = float(end)
    result["train/converged"] = float(converges)
    result["artifacts"] = {"note": "note.txt"}
    result["durations"] = {"train_steps": max(0, end - start)}
    return result


def rescores_differently(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """`trains_once`, whose re-scoring gives `mig` + 1 (as a new evaluation code would)."""
    result = trains_once(spec, workdir, progress, training_dir)
    if result["durations"]["train_steps"] == 0:
        result["mig"] += 1.0
    return result


def rescore_fails(spec, workdir: Path, progress: bool = True, training_dir=None) -> dict:
    """`trains_once` that raises when it only re-scores (a new evaluation code's bug)."""
    result = trains_once(spec, workdir, progress, training_dir)
    if result["durations"]["train_steps"] == 0:
        raise RuntimeError("evaluation broke")
    return result
