"""`disbench perf eval`: seconds per metric and per latent-score part for one study run.

Takes the study's run (`tasks/posterior_beta_sweep.yaml`: conv beta-VAE, 10
latents, beta 1, seed 0, the chosen posterior family) with its evaluation
settings (10,000 / 5,000 points, BetaVAE and FactorVAE at their defaults,
latent scores at theirs), trains it briefly (`STEPS` steps: codes that vary,
training quality does not matter for timing) and evaluates it through the
pipeline (`benchmark.pipeline.execute_run`), whose `durations` hold the
seconds of each part. The whole evaluation is every part after training: the
metrics, the latent scores, the inference gaps, the KL decomposition and the
rotation controls. Its share of a converged run's training is printed for a
few assumed lengths of training, at the steady-state steps per second of the
same model (`benchmark.perf.train.steady_steps_per_second`); the brief run's
own average includes its tracing, so it would understate the speed and make
the evaluation look cheaper than it is. `--quick` evaluates with `quick`'s
reduced settings (a smoke test).

Timings on a shared machine are noisy; the numbers are printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from benchmark.config import expand_task, load_task
from benchmark.config.runs import RunSpec
from benchmark.config.schema import EvaluationConfig, TrainingConfig
from benchmark.errors import UserInputError

__all__ = [
    "ASSUMED_STEPS",
    "EVALUATION_PARTS",
    "STUDY_TASK",
    "format_table",
    "measure",
    "scaled_parts",
]

STUDY_TASK = "posterior_beta_sweep"
STEPS = {False: 200, True: 20}
# Training lengths the evaluation time is compared with: the thought length of a
# converged conv run (10k-30k steps) and the study's own 300,000.
ASSUMED_STEPS = (10_000, 30_000, 300_000)
# The pipeline's totals of the evaluation's parts (seconds); their sum is the whole evaluation.
EVALUATION_PARTS = (
    "metrics_s",
    "latent_scores_s",
    "inference_gaps_s",
    "kl_decomposition_s",
    "rotation_controls_s",
)
QUICK_TASK = "quick"


def quick_settings(metrics: tuple[str, ...]) -> dict:
    """`quick`'s reduced evaluation settings (its task file), for the metrics in `metrics`.

    Every sample size `quick` shrinks, the latent scores' included (the gaps'
    5,000 importance samples and the decomposition's whole grid would take
    most of an hour on a laptop CPU); settings of metrics the study does not
    run are left out.
    """
    from benchmark.metrics import metric_names

    settings = load_task(QUICK_TASK).evaluation.settings
    return {
        key: value for key, value in settings.items() if key in metrics or key not in metric_names()
    }


def study_spec(family: str, quick: bool, latent_overrides: dict | None = None) -> RunSpec:
    """The study's run for `family` (beta 1, seed 0), trained `STEPS[quick]` steps.

    `latent_overrides` replaces latent-score settings (e.g. `{"gap_images": 10}`).
    """
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
        evaluation = dataclasses.replace(evaluation, settings=quick_settings(evaluation.metrics))
    if latent_overrides:
        settings = dict(evaluation.settings)
        settings["latent_scores"] = {**settings.get("latent_scores", {}), **latent_overrides}
        evaluation = dataclasses.replace(evaluation, settings=settings)
    assert isinstance(evaluation, EvaluationConfig)
    return dataclasses.replace(spec, training=training, evaluation=evaluation)


def scaled_parts(args: argparse.Namespace, spec: RunSpec) -> tuple[dict, dict[str, float]]:
    """`(latent_overrides, {part: factor})` of `--gap-images` / `--population` for `spec`.

    The factor scales a part's measured seconds up to the full size of
    `spec`'s settings: its gap images over G, its decomposition population
    (0: the whole factor grid) over P. Raises UserInputError for a count not
    below the full one.
    """
    from benchmark.data import get_dataset
    from benchmark.evaluation.run import resolved_settings

    study = resolved_settings(spec.evaluation)
    overrides: dict = {}
    factors: dict[str, float] = {}
    gap_images = getattr(args, "gap_images", None)
    if gap_images is not None:
        full = int(study["gap_images"])
        if not 2 <= gap_images < full:
            raise UserInputError(f"--gap-images must be in [2, {full}), got {gap_images}")
        overrides["gap_images"] = gap_images
        factors["inference_gaps_s"] = full / gap_images
    population = getattr(args, "population", None)
    if population is not None:
        full = int(study["decomposition_population"])
        if full == 0:
            dataset = get_dataset(spec.dataset, **spec.dataset_args)
            full = int(np.prod(dataset.factor_sizes, dtype=np.int64))
        if not 2 <= population < full:
            raise UserInputError(f"--population must be in [2, {full}), got {population}")
        overrides["decomposition_population"] = population
        factors["kl_decomposition_s"] = full / population
    return overrides, factors


def measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """`{part: {"seconds": s}}` for each metric (`metric_s/...`) and latent part (`latent_s/...`).

    Also each of `EVALUATION_PARTS` and `evaluation_s` (their sum), as
    {"seconds": s}, a part timed on fewer images also with "scale" (the factor
    to the full size) and "scaled_seconds"; then `evaluation_s` holds the
    measured sum and "scaled_seconds" the full-size estimate.
    `train_steps_per_second` (of the brief training, tracing included) and
    `steady_steps_per_second` (after a warm-up), as {"value": v}.
    """
    from benchmark.perf.train import steady_steps_per_second
    from benchmark.pipeline import execute_run

    quick = bool(getattr(args, "quick", False))
    family = str(getattr(args, "family", None) or "diagonal")
    overrides, factors = scaled_parts(args, study_spec(family, quick))
    spec = study_spec(family, quick, overrides)
    with tempfile.TemporaryDirectory() as folder:
        record = execute_run(spec, Path(folder) / spec.run_id, progress=False)
    durations = record.durations
    result = {
        key: {"seconds": float(value)}
        for key, value in durations.items()
        if key.startswith(("metric_s/", "latent_s/"))
    }
    parts = {key: float(durations[key]) for key in EVALUATION_PARTS if key in durations}
    for key, seconds in parts.items():
        result[key] = {"seconds": seconds}
        if key in factors:
            result[key].update(scale=factors[key], scaled_seconds=seconds * factors[key])
    result["evaluation_s"] = {"seconds": sum(parts.values())}
    if factors:
        result["evaluation_s"]["scaled_seconds"] = sum(
            seconds * factors.get(key, 1.0) for key, seconds in parts.items()
        )
    if "inference_gaps_s" in factors:
        steps = record.scores.get("gap_qstar_steps_max")
        result["gap_qstar_steps_max"] = {
            "value": float(steps) if steps is not None else float("nan")
        }
    result["train_steps_per_second"] = {"value": float(durations["train_steps_per_second"])}
    steps, block = (10, 5) if quick else (100, 25)
    result["steady_steps_per_second"] = {
        "value": steady_steps_per_second(family, steps=steps, block=block)
    }
    result["setup"] = {"family": family, "quick": quick, "steps": spec.training.steps, **overrides}
    return result


def format_table(result: dict[str, dict]) -> str:
    """Seconds per part, the totals, and the evaluation's share of converged training.

    A part timed on fewer images also shows its seconds scaled to the full
    size (x factor); the shares then use the scaled whole evaluation.
    """
    setup = result.get("setup", {})
    sizes = ", ".join(
        f"{key} {setup[key]:,}"
        for key in ("gap_images", "decomposition_population")
        if key in setup
    )
    lines = [
        f"one {STUDY_TASK} run: posterior {setup.get('family')}, "
        f"{'quick sizes' if setup.get('quick') else 'study evaluation settings'}"
        + (f" ({sizes}; scaled up to the full sizes where marked)" if sizes else ""),
        f"{'part':<44} {'seconds':>9}",
    ]
    for key, entry in result.items():
        if key.startswith(("metric_s/", "latent_s/")):
            lines.append(f"{key:<44} {entry['seconds']:>9.2f}")
    for key in (*EVALUATION_PARTS, "evaluation_s"):
        if key in result:
            entry = result[key]
            line = f"{key:<44} {entry['seconds']:>9.2f}"
            if "scaled_seconds" in entry:
                scale = f" x {entry['scale']:.1f}" if "scale" in entry else ""
                line += f"   scaled{scale}: {entry['scaled_seconds']:.0f}"
            lines.append(line)
    if "gap_qstar_steps_max" in result:
        lines.append(
            f"q* Adam steps of the slowest gap image: {result['gap_qstar_steps_max']['value']:.0f}"
        )
    brief = result["train_steps_per_second"]["value"]
    rate = result["steady_steps_per_second"]["value"]
    lines.append(
        f"training steps per second: {rate:.1f} after a warm-up "
        f"({brief:.1f} over the brief run, tracing included)"
    )
    whole = result["evaluation_s"]
    evaluation = whole.get("scaled_seconds", whole["seconds"])
    label = "scaled evaluation" if "scaled_seconds" in whole else "evaluation"
    if rate > 0:
        for steps in ASSUMED_STEPS:
            train_s = steps / rate
            lines.append(
                f"{label} / training of {steps:,} steps ({train_s / 60:.0f} min): "
                f"{100 * evaluation / train_s:.1f}%"
            )
    return "\n".join(lines)
