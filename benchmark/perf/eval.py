"""`disbench perf eval`: seconds per metric and per latent-score part for one study run.

Takes the study's run (`tasks/posterior_beta_sweep.yaml`: conv beta-VAE, 10
latents, beta 1, seed 0, the chosen posterior family) with its evaluation
settings (10,000 / 5,000 points, BetaVAE and FactorVAE at their defaults,
latent scores at theirs), trains it briefly (`STEPS` steps: codes that vary,
training quality does not matter for timing) and evaluates it through the
pipeline (`benchmark.pipeline.execute_run`), whose `durations` hold the
seconds of each part. Also prints the evaluation's share of a converged run's
training at the measured steps per second, for a few assumed lengths of
training. `--quick` evaluates on far fewer points (a smoke test).

Timings on a shared machine are noisy; the numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

from benchmark.config import expand_task, load_task
from benchmark.config.schema import EvaluationConfig, TrainingConfig

__all__ = ["ASSUMED_STEPS", "STUDY_TASK", "format_table", "measure"]

STUDY_TASK = "posterior_beta_sweep"
STEPS = {False: 200, True: 20}
# Training lengths the evaluation time is compared with: the thought length of a
# converged conv run (10k-30k steps) and the study's own 300,000.
ASSUMED_STEPS = (10_000, 30_000, 300_000)
_QUICK_SETTINGS = {
    "num_train": 1000,
    "num_test": 500,
    "beta_vae": {"num_train": 100, "num_eval": 50},
    "factor_vae": {"num_train": 100, "num_eval": 50, "num_variance_estimate": 1000},
    "latent_scores": {"num_points": 200, "num_heldout": 50, "tc_sample_size": 200},
}


def study_spec(family: str, quick: bool):
    """The study's run for `family` (beta 1, seed 0), trained `STEPS[quick]` steps."""
    specs = [
        s
        for s in expand_task(load_task(STUDY_TASK))
        if s.model_args.get("posterior") == family and s.model_args.get("beta") == 1 and not s.seed
    ]
    if not specs:
        raise ValueError(f"perf eval: no run with posterior {family!r} in task {STUDY_TASK!r}")
    spec = specs[0]
    steps = STEPS[quick]
    training = TrainingConfig(
        steps=steps,
        batch_size=spec.training.batch_size,
        learning_rate=spec.training.learning_rate,
        checkpoint_every=steps,
        log_every=steps,
    )
    evaluation = spec.evaluation
    if quick:
        evaluation = dataclasses.replace(evaluation, settings=dict(_QUICK_SETTINGS))
    assert isinstance(evaluation, EvaluationConfig)
    return dataclasses.replace(spec, training=training, evaluation=evaluation)


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """`{part: {"seconds": s}}` for each metric (`metric_s/...`) and latent part (`latent_s/...`).

    Also `metrics_s`, `latent_scores_s`, `evaluation_s` (their sum) and
    `train_steps_per_second` (of the brief training; {"value": v}).
    """
    from benchmark.pipeline import execute_run

    quick = bool(getattr(args, "quick", False))
    family = str(getattr(args, "family", None) or "diagonal")
    spec = study_spec(family, quick)
    with tempfile.TemporaryDirectory() as folder:
        durations = execute_run(spec, Path(folder) / spec.run_id, progress=False).durations
    result = {
        key: {"seconds": float(value)}
        for key, value in durations.items()
        if key.startswith(("metric_s/", "latent_s/"))
    }
    result["metrics_s"] = {"seconds": float(durations["metrics_s"])}
    result["latent_scores_s"] = {"seconds": float(durations["latent_scores_s"])}
    result["evaluation_s"] = {
        "seconds": float(durations["metrics_s"]) + float(durations["latent_scores_s"])
    }
    result["train_steps_per_second"] = {"value": float(durations["train_steps_per_second"])}
    result["setup"] = {"family": family, "quick": quick, "steps": spec.training.steps}
    return result


def format_table(result: dict[str, dict]) -> str:
    """Seconds per part, the totals, and the evaluation's share of converged training."""
    setup = result.get("setup", {})
    lines = [
        f"one {STUDY_TASK} run: posterior {setup.get('family')}, "
        f"{'quick sizes' if setup.get('quick') else 'study evaluation settings'}",
        f"{'part':<44} {'seconds':>9}",
    ]
    for key, entry in result.items():
        if key.startswith(("metric_s/", "latent_s/")):
            lines.append(f"{key:<44} {entry['seconds']:>9.2f}")
    for key in ("metrics_s", "latent_scores_s", "evaluation_s"):
        lines.append(f"{key:<44} {result[key]['seconds']:>9.2f}")
    rate = result["train_steps_per_second"]["value"]
    lines.append(
        f"training steps per second (brief run, warm-up included; "
        f"`disbench perf train` times the steady state): {rate:.1f}"
    )
    evaluation = result["evaluation_s"]["seconds"]
    if rate > 0:
        for steps in ASSUMED_STEPS:
            train_s = steps / rate
            lines.append(
                f"evaluation / training of {steps:,} steps ({train_s / 60:.0f} min): "
                f"{100 * evaluation / train_s:.1f}%"
            )
    return "\n".join(lines)
