"""`disbench train ENTRY`: train one model entry on one data set (a single run)."""

from __future__ import annotations

import argparse
import sys

from benchmark.errors import UserInputError

COMMAND = "train"
HELP = "train one model entry on a data set (one run; `disbench run` runs whole tasks)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("entry", help="a registered model entry, e.g. beta_vae")
    parser.add_argument("--out", required=True, help="run directory; an existing run resumes")
    parser.add_argument("--steps", type=int, required=True, help="updates in total")
    parser.add_argument("--dataset", default="dsprites", help="a registered data set")
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
    parser.add_argument("--checkpoint-every", type=int, default=1000)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _model_args(args: argparse.Namespace) -> dict[str, object]:
    import yaml

    kwargs: dict[str, object] = {}
    for item in args.arg:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserInputError(f"--arg {item!r}: expected KEY=VALUE")
        try:
            kwargs[key] = yaml.safe_load(value)
        except yaml.YAMLError as error:
            raise UserInputError(f"--arg {key}: cannot read {value!r} as YAML: {error}") from None
    if args.posterior is not None:
        kwargs["posterior"] = args.posterior
    return kwargs


def run(args: argparse.Namespace) -> int:
    kwargs = _model_args(args)
    from benchmark.data import get_dataset
    from benchmark.models import build_model
    from benchmark.training import TrainingDiverged, train

    dataset = get_dataset(args.dataset)
    model = build_model(args.entry, dataset.observation_shape, **kwargs)
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
