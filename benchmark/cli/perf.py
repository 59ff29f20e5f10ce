"""`disbench perf TARGET`: speed measurements that print numbers (never asserted in tests)."""

from __future__ import annotations

import argparse
import importlib
import json

COMMAND = "perf"
HELP = "measure speed: metrics, data rendering, training steps or one run's evaluation"

# target -> module with `measure(args) -> dict[str, dict[str, float]]` and `format_table(result) -> str`
TARGETS = {
    "metrics": "benchmark.perf.metrics",
    "data": "benchmark.perf.data",
    "train": "benchmark.perf.train",
    "eval": "benchmark.perf.eval",
}


def _pack_sizes(text: str) -> list[int]:
    """`"1,2,4"` -> `[1, 2, 4]`: distinct integers from 1 to 64."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or len(set(sizes)) != len(sizes) or not all(1 <= k <= 64 for k in sizes):
        raise argparse.ArgumentTypeError(
            f"expected distinct integers from 1 to 64 separated by commas, got {text!r}"
        )
    return sizes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", choices=sorted(TARGETS), help="what to time")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke test")
    parser.add_argument(
        "--family",
        choices=("diagonal", "full_covariance", "iaf"),
        default="diagonal",
        help="posterior family of the run `eval` times (default diagonal)",
    )
    parser.add_argument(
        "--architecture",
        choices=("conv", "fc"),
        default="conv",
        help="`train`: the network timed (default conv, disentanglement_lib's)",
    )
    parser.add_argument(
        "--fc-width",
        type=int,
        default=None,
        metavar="W",
        help="`train --architecture fc`: hidden width (default the model entry's, 1200)",
    )
    parser.add_argument(
        "--pack",
        type=_pack_sizes,
        default=None,
        metavar="K,K,...",
        help="`train`: time K models' updates in one compiled step for each K, e.g. 1,2,4,8",
    )
    parser.add_argument(
        "--gap-images",
        type=int,
        default=None,
        metavar="G",
        help="`eval`: time the inference gaps on G images, scaled up to the full count (study: 100)",
    )
    parser.add_argument(
        "--population",
        type=int,
        default=None,
        metavar="P",
        help="`eval`: time the KL decomposition on P images, scaled up to the full population",
    )


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(TARGETS[args.target])
    result = module.measure(args)
    print(json.dumps(result, indent=2) if args.json else module.format_table(result))
    return 0
