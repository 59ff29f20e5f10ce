"""`disbench score FILE.npz`: score a representation learned anywhere (PyTorch, JAX, ...)."""

from __future__ import annotations

import argparse
import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np

from benchmark.errors import UserInputError

COMMAND = "score"
HELP = "score codes from an .npz file (codes_train, factors_train, optional test arrays)"

_REQUIRED = ("codes_train", "factors_train")
_OPTIONAL = ("codes_test", "factors_test")
_MAX_MATRIX_SIDE = 12  # larger matrices are summarised in the table (all values in --json)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from benchmark.metrics import array_metric_names, dataset_metric_names

    parser.add_argument(
        "file",
        metavar="FILE.npz",
        help="np.savez archive: codes_train (num_points, num_codes), factors_train "
        "(num_points, num_factors) integers >= 0, optionally codes_test and factors_test",
    )
    parser.add_argument(
        "--metrics",
        default=None,
        help=f"comma-separated subset of: {', '.join(array_metric_names())} (default: all). "
        f"{' and '.join(dataset_metric_names())} need a data set, not arrays",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        help="parallel DCI classifier fits (default -1: all cores; the result does not depend on it)",
    )


def _check_sizes(path: str, file: Path, names: set[str]) -> None:
    """Each array's header against the bytes stored for it, before any array is allocated.

    A header may claim any shape (10**12 values); numpy would allocate that
    much before reading a byte. Here a claim larger than the data behind it
    is an error naming the array, and nothing is allocated.
    """
    with zipfile.ZipFile(file) as archive:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if name not in names or not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as member:
                try:
                    version = np.lib.format.read_magic(member)
                    if version == (1, 0):
                        header = np.lib.format.read_array_header_1_0(member)
                    else:
                        header = np.lib.format.read_array_header_2_0(member)
                except ValueError as error:
                    raise UserInputError(
                        f"{path}: {name}: not a readable .npy array ({error})"
                    ) from None
                shape, _, dtype = header
                claimed = math.prod(shape) * dtype.itemsize
                stored = info.file_size - member.tell()
                if claimed > stored:
                    raise UserInputError(
                        f"{path}: {name}: its header claims shape {tuple(shape)} of {dtype} "
                        f"({claimed:,} bytes) but the file holds {max(stored, 0):,} bytes for it"
                    )


def load_arrays(path: str) -> dict[str, np.ndarray]:
    """The four arrays of an .npz file (test arrays may be absent); errors name file and array."""
    file = Path(path)
    if not file.is_file():
        raise UserInputError(
            f"{path}: no such file; expected an .npz archive with {' and '.join(_REQUIRED)}"
        )
    try:
        with file.open("rb") as handle:
            start = handle.read(6)
    except OSError as error:
        raise UserInputError(f"{path}: cannot read it: {error.strerror or error}") from None
    if start.startswith(b"\x93NUMPY"):
        raise UserInputError(
            f"{path}: expected an .npz archive (np.savez) with {' and '.join(_REQUIRED)}, "
            f"got a single .npy array"
        )
    if not start.startswith(b"PK"):
        raise UserInputError(
            f"{path}: not an .npz archive (np.savez writes a zip file; this one is not); "
            f"expected arrays {' and '.join(_REQUIRED)}"
        )
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise UserInputError(
            f"{path}: cannot read it as an .npz archive (np.savez): {error}"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UserInputError(
            f"{path}: expected an .npz archive (np.savez) with {' and '.join(_REQUIRED)}, "
            f"got a single .npy array"
        )
    with archive:
        names = set(archive.files)
        for name in _REQUIRED:
            if name not in names:
                raise UserInputError(
                    f"{path}: {name}: missing; expected arrays {', '.join(_REQUIRED)} "
                    f"(optional {', '.join(_OPTIONAL)}), found: {', '.join(sorted(names)) or 'none'}"
                )
        _check_sizes(path, file, {*_REQUIRED, *_OPTIONAL} & names)
        arrays = {}
        for name in (*_REQUIRED, *_OPTIONAL):
            if name not in names:
                continue
            try:
                arrays[name] = archive[name]
            except ValueError:
                raise UserInputError(
                    f"{path}: {name}: expected a numeric array, got an object (pickled) array"
                ) from None
            except MemoryError:
                raise UserInputError(f"{path}: {name}: too large to load into memory") from None
            except (OSError, EOFError, zipfile.BadZipFile) as error:
                raise UserInputError(f"{path}: {name}: cannot be read: {error}") from None
    return arrays


def to_jsonable(value: object) -> object:
    """Numpy arrays and scalars as lists and Python numbers; NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()] if value.ndim else to_jsonable(value.item())
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value: object, digits: int, exponent_if_tiny: bool = False) -> str:
    """Integers as they are; floats with `digits` decimals (exponent form for tiny scalars)."""
    if isinstance(value, bool | int | np.integer):
        return str(int(value))
    number = float(value)
    if exponent_if_tiny and number != 0.0 and abs(number) < 10.0 ** (2 - digits):
        return f"{number:.{max(1, digits - 2)}e}"
    return f"{number:.{digits}f}"


def _axes(key: str) -> str:
    """A matrix key's axes from its name (`..._codes_x_factors`: "codes x factors")."""
    match = re.search(r"_([a-z]+)_x_([a-z]+)$", key)
    return f"{match.group(1)} x {match.group(2)}" if match else "codes x factors"


def format_table(result: dict[str, object], header: str, sklearn_keys: set[str]) -> str:
    """A readable table: scalars one per line, vectors inline, small matrices row by row."""
    lines = [header, f"{'metric':<40} value"]
    for key, value in result.items():
        if key in ("skipped", "sklearn_version", "file"):
            continue
        label = f"{key}{' *' if key in sklearn_keys else ''}"
        array = np.asarray(value)
        if array.ndim == 0:
            lines.append(f"{label:<40} {_number(value, 6, exponent_if_tiny=True)}")
        elif array.ndim == 1:
            lines.append(f"{label:<40} [{' '.join(_number(v, 4) for v in array)}]")
        elif max(array.shape) > _MAX_MATRIX_SIDE:
            lines.append(f"{label:<40} {array.shape[0]}x{array.shape[1]} matrix (see --json)")
        else:
            lines.append(f"{label:<40} {array.shape[0]}x{array.shape[1]} ({_axes(key)}):")
            lines.extend(f"{'':<42}{' '.join(_number(v, 4) for v in row)}" for row in array)
    if any(key in result for key in sklearn_keys):
        lines.append(f"* depends on scikit-learn (version {result['sklearn_version']})")
    for key, reason in dict(result.get("skipped", {})).items():
        lines.append(f"skipped {key}: {reason}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from benchmark.metrics import METRICS, array_metric_names, score_arrays
    from benchmark.metrics.inputs import check_arrays
    from benchmark.metrics.score import select_metrics
    from benchmark.metrics.settings import MAX_JOBS

    try:
        selected = select_metrics(args.metrics, array_metric_names())
    except UserInputError as error:
        raise UserInputError(f"--metrics: {error}") from None
    for metric in selected:
        if metric.needs_dataset:
            raise UserInputError(
                f"--metrics: {metric.name!r} needs a data set and a representation function, "
                f"not arrays (it draws its own batches with one factor held fixed); score it with "
                f"benchmark.metrics.score_sampled, or choose among {', '.join(array_metric_names())}"
            )
    if args.n_jobs != -1 and not 1 <= args.n_jobs <= MAX_JOBS:
        raise UserInputError(
            f"--n-jobs: expected -1 (all cores) or an integer from 1 to {MAX_JOBS:,}, "
            f"got {args.n_jobs}"
        )
    arrays = load_arrays(args.file)
    codes_train, factors_train, codes_test, factors_test = check_arrays(
        arrays["codes_train"],
        arrays["factors_train"],
        arrays.get("codes_test"),
        arrays.get("factors_test"),
        source=args.file,
    )
    result = score_arrays(
        codes_train,
        factors_train,
        codes_test,
        factors_test,
        metrics=[m.name for m in selected],
        n_jobs=args.n_jobs,
    )
    if args.json:
        print(json.dumps(to_jsonable({"file": args.file, **result})))
        return 0
    test = f" / {codes_test.shape[0]} test" if codes_test is not None else " (no test points)"
    header = (
        f"{args.file}: {codes_train.shape[0]} train{test} points, "
        f"{codes_train.shape[1]} codes, {factors_train.shape[1]} factors"
    )
    sklearn_keys = {key for metric in METRICS.specs() for key in metric.sklearn_keys}
    print(format_table(result, header, sklearn_keys))
    return 0
