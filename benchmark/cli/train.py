"""`disbench train ENTRY`: train one model entry on one data set (a single run)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from benchmark.config.schema import XLA_CHOICES, xla_flag
from benchmark.errors import UserInputError

COMMAND = "train"
HELP = "train one model entry on a data set (one run; `disbench run` runs whole tasks)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("entry", help="a registered model entry, e.g. beta_vae")
    parser.add_argument("--out", required=True, help="run directory; an existing run resumes")
    parser.add_argument("--steps", type=int, required=True, help="updates in total")
    parser.add_argument("--dataset", default="dsprites", help="a registered data set")
    parser.add_argument(
        "--dataset-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a data-set argument, VALUE read as YAML (repeatable), e.g. "
        "--dataset-arg path=dsprites.npz for dsprites_file",
    )
    parser.add_argument("--posterior", help="diagonal, full_covariance or iaf")
    parser.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model argument, VALUE read as YAML (repeatable), e.g. --arg beta=4",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--precision",
        default="float32",
        help="float32 (default), mixed_bfloat16 or mixed_float16: the networks' compute type",
    )
    parser.add_argument(
        "--xla",
        choices=XLA_CHOICES,
        default="auto",
        help="compile each update with XLA: auto (default: on a GPU only), on or off; "
        "`disbench perf train` measures which is faster here",
    )
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _yaml_args(items: list[str], flag: str) -> dict[str, object]:
    """`["key=value", ...]` with YAML values; a mistake is one line naming the flag and item."""
    import yaml

    kwargs: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserInputError(f"{flag} {item!r}: expected KEY=VALUE")
        try:
            kwargs[key] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            problem = getattr(error, "problem", None) or "invalid YAML"
            mark = getattr(error, "problem_mark", None)
            where = f" at character {mark.column + 1}" if mark is not None else ""
            raise UserInputError(
                f"{flag} {key}: cannot read {value!r} as YAML: {problem}{where} "
                "(quote text, e.g. 'a b', and write lists as [1, 2])"
            ) from None
    return kwargs


def _model_args(args: argparse.Namespace) -> dict[str, object]:
    kwargs = _yaml_args(args.arg, "--arg")
    if args.posterior is not None:
        kwargs["posterior"] = args.posterior
    return kwargs


def _check_out(out: str) -> None:
    """`--out` must be a run folder (new or existing) this process can write in."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UserInputError(f"--out {out}: is an existing file; expected a run folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserInputError(f"--out {out}: {existing} is a file; expected a run folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserInputError(f"--out {out}: cannot write in {existing} (permission denied)")


def run(args: argparse.Namespace) -> int:
    kwargs = _model_args(args)
    dataset_kwargs = _yaml_args(args.dataset_arg, "--dataset-arg")
    _check_out(args.out)
    for flag, value, low in (
        ("--steps", args.steps, 0),
        ("--batch-size", args.batch_size, 1),
        ("--seed", args.seed, 0),
        ("--checkpoint-every", args.checkpoint_every, 1),
        ("--log-every", args.log_every, 1),
    ):
        high = 2**31 - 1
        if not low <= value <= high:
            raise UserInputError(f"{flag}: expected an integer from {low} to {high:,}, got {value}")
    from benchmark.data import get_dataset
    from benchmark.models import MODELS, build_model
    from benchmark.models.precision import check_precision

    try:
        check_precision(args.precision)
    except UserInputError as error:
        raise UserInputError(f"--{error}") from None
    from benchmark.training import TrainingDiverged, train

    # the entry's declared checks first: a bad value fails before a data file is read
    MODELS.get(args.entry).validate_args(None, **kwargs)
    dataset = get_dataset(args.dataset, **dataset_kwargs)
    model = build_model(args.entry, dataset.observation_shape, **kwargs)
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserInputError(
            f"--out {args.out}: cannot create the run folder: {error.strerror or error}"
        ) from None
    try:
        result = train(
            model,
            dataset,
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            seed=args.seed,
            checkpoint_dir=args.out,
            checkpoint_every=args.checkpoint_every,
            log_every=args.log_every,
            progress=not args.no_progress,
            precision=args.precision,
            xla=xla_flag(args.xla),
        )
    except TrainingDiverged as error:
        print(f"disbench train: failed: {error}", file=sys.stderr)
        return 1
    terms = ", ".join(f"{k} {v:.4g}" for k, v in result.final_loss_terms.items())
    print(
        f"{args.out}: {result.steps_done} steps (from {result.resumed_from_step}), "
        f"{result.steps_per_second:.2f} steps/s; {terms}"
    )
    return 0
