"""Entry point of `disbench` and `python -m benchmark`."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

import benchmark
import benchmark.cli
from benchmark.errors import ConfigWarning, UserInputError
from benchmark.plugins import add_plugins
from benchmark.terminal import printable

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
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="PATH_OR_MODULE",
        help="load extensions (model entries, metrics, data sets, ...) from this .py file or "
        "module first; repeatable; worker processes load it too (benchmark.plugins)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules():
        sub = subparsers.add_parser(module.COMMAND, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def _quiet_broken_pipe() -> int:
    """Status after stdout's reader went away (`disbench validate --runs | head -1`).

    Nothing is left to tell the reader; later writes (and the interpreter's
    final flush) go to /dev/null instead of raising again. 141 = 128 + SIGPIPE,
    what a shell reports for a command killed by SIGPIPE.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass
    return 141


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one subcommand; user mistakes print one line and return 2.

    Task-file warnings (`ConfigWarning`) print one line each, ``disbench
    <command>: warning: ...``, and do not change the exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        if issubclass(category, ConfigWarning):
            print(f"disbench {args.command}: warning: {printable(message)}", file=sys.stderr)
        else:
            default_show(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        default_show = warnings.showwarning
        warnings.showwarning = show
        warnings.simplefilter("always", ConfigWarning)
        try:
            add_plugins(args.plugin)
            status = int(args._run(args) or 0)
            sys.stdout.flush()  # a reader gone before the last flush is a broken pipe here
            return status
        except UserInputError as error:
            print(f"disbench {args.command}: error: {printable(error)}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            return _quiet_broken_pipe()
        except KeyboardInterrupt:
            print(f"disbench {args.command}: interrupted", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())
