"""`disbench list tasks|models|metrics|parts|datasets|posteriors`: what a task file may name."""

from __future__ import annotations

import argparse
import inspect
import textwrap

from benchmark.config import shipped_tasks
from benchmark.config.catalog import dataset_names, model_names

COMMAND = "list"
HELP = (
    "list shipped tasks, model entries, metrics, evaluation parts, data sets or posterior families"
)

KINDS = ("tasks", "models", "metrics", "parts", "datasets", "posteriors")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=KINDS, help="what to list")


def _summary(target: object) -> str:
    doc = inspect.getdoc(target) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _short(text: str) -> str:
    return textwrap.shorten(text, width=110, placeholder=" ...")


def _print(rows: list[tuple[str, str]]) -> None:
    width = max((len(name) for name, _ in rows), default=0)
    for name, text in rows:
        print(f"{name:<{width}}  {text}".rstrip())


def _print_parts() -> None:
    """Each evaluation part in order: what it computes, when it runs, what it needs and costs,
    then its settings (under `evaluation.settings.latent_scores`) with their defaults."""
    from benchmark.evaluation.part import ordered_parts

    for part in ordered_parts():
        print(f"{part.name}  {_short(part.summary)}")
        facts = [
            ("runs with", part.switched_on_by or "every run"),
            ("needs", ", ".join(sorted(part.needs)) or "nothing beyond a code"),
            ("cost", part.cost),
            ("keys", ", ".join(k.name for k in part.keys if k.label)),
        ]
        for label, text in facts:
            if text:
                print(textwrap.fill(text, 110, initial_indent=f"  {label}: ",
                                    subsequent_indent=" " * (len(label) + 4)))  # fmt: skip
        for setting in part.settings:
            print(f"  setting {setting.name} = {setting.default!r}  {setting.doc}".rstrip())


def run(args: argparse.Namespace) -> int:
    if args.kind == "tasks":
        _print([(t.name, _short(t.description)) for t in shipped_tasks()])
    elif args.kind == "datasets":
        names, targets = dataset_names()
        _print([(n, _summary(targets[n]) if n in targets else "") for n in names])
    elif args.kind == "metrics":
        from benchmark.metrics import METRICS

        _print([(n, _short(METRICS.get(n).summary)) for n in METRICS.names()])
    elif args.kind == "parts":
        _print_parts()
    elif args.kind == "models":
        entries, _, targets = model_names()
        _print([(n, _summary(targets[n]) if n in targets else "") for n in entries])
    else:
        _print([(n, "") for n in model_names()[1]])
    return 0
