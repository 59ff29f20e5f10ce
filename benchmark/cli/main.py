"""Entry point of `disbench` and `python -m benchmark`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

import benchmark
import benchmark.cli
from benchmark.errors import UserInputError

__all__ = ["build_parser", "main"]


def _command_modules() -> list[ModuleType]:
    """Every module in `benchmark.cli` that defines a subcommand, sorted by name."""
    modules = []
    for info in pkgutil.iter_modules(benchmark.cli.__path__):
        if info.name in ("main",) or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"benchmark.cli.{info.name}")
        if hasattr(module, "COMMAND") and hasattr(module, "run"):
            modules.append(module)
    return sorted(modules, key=lambda m: m.COMMAND)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="disbench",
        description="Disentanglement benchmark: diagonal vs correlated VAE posteriors.",
    )
    parser.add_argument("--version", action="version", version=f"disbench {benchmark.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        sub = subparsers.add_parser(module.COMMAND, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one subcommand; user mistakes print one line and return 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except UserInputError as error:
        print(f"disbench {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"disbench {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
