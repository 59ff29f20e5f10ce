"""`disbench data preview NAME`: a PNG grid of factor sweeps and random samples."""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

from benchmark.errors import UserInputError

COMMAND = "data"
HELP = "look at data sets: preview pictures"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    preview = actions.add_parser(
        "preview",
        help="write a PNG: one row per factor sweep, one row of random samples",
        description="Write a PNG grid: each factor swept over its values with the others "
        "fixed, then a row of random samples.",
    )
    preview.add_argument("name", help="registered data set, e.g. dsprites")
    preview.add_argument(
        "--out", help="PNG file to write, or a folder to write NAME.png in (default: NAME.png)"
    )
    preview.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="data-set keyword argument, repeatable (e.g. --arg sigma=0.5 --arg pair=posX,shape)",
    )
    preview.add_argument("--columns", type=int, default=10, help="images per row (default 10)")
    preview.add_argument("--seed", type=int, default=0, help="seed of the random draws")
    preview.add_argument("--zoom", type=int, default=1, help="screen pixels per image pixel")


def parse_value(text: str) -> object:
    """A `--arg` value: int, float (inf too), true/false, comma list (a tuple), or string."""
    if "," in text:
        return tuple(parse_value(part.strip()) for part in text.split(",") if part.strip())
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for convert in (int, float):
        try:
            value = convert(text)
        except ValueError:
            continue
        if isinstance(value, float) and math.isnan(value):
            return text
        return value
    return text


def parse_kwargs(items: Sequence[str]) -> dict[str, object]:
    """`["key=value", ...]` into keyword arguments; a malformed item is a UserInputError."""
    kwargs: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"--arg expects KEY=VALUE, got {item!r}")
        kwargs[key.strip()] = parse_value(value.strip())
    return kwargs


def run(args: argparse.Namespace) -> int:
    from benchmark.data import get_dataset
    from benchmark.data.preview import preview_path, save_preview

    kwargs = parse_kwargs(args.arg)
    for flag, value, low, high in (
        ("--columns", args.columns, 1, 1000),
        ("--zoom", args.zoom, 1, 64),
        ("--seed", args.seed, 0, 2**32 - 1),
    ):
        if not low <= value <= high:
            raise UserInputError(f"{flag}: expected an integer from {low} to {high:,}, got {value}")
    out_path = preview_path(args.out, args.name)
    dataset = get_dataset(args.name, **kwargs)
    title = args.name + "".join(f"  {k}={v}" for k, v in kwargs.items())
    out = save_preview(
        dataset,
        out_path,
        title=title,
        columns=args.columns,
        seed=args.seed,
        zoom=args.zoom,
    )
    print(f"wrote {out}")
    return 0
