"""Checks of user arrays before scoring: one clear UserInputError per problem."""

from __future__ import annotations

import numpy as np

from benchmark.errors import UserInputError

__all__ = ["check_arrays"]

_TEST_HINT = "codes_test and factors_test must be given together"
# The largest factor value int64 holds (floats must be below 2**63: 2**63 - 1 rounds up).
_MAX_FACTOR = np.uint64(2**63 - 1)


def _first_bad(mask: np.ndarray) -> str:
    """'row r, column c' of the first True entry of a 2-D mask (rows counted from 0)."""
    row, column = np.argwhere(mask)[0]
    return f"row {row}, column {column}"


def _matrix(value: object, name: str, source: str, what: str) -> np.ndarray:
    """`value` as a 2-D numeric array, or a UserInputError naming `source` and `name`."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise UserInputError(f"{source}: {name}: expected a numeric array, got {error}") from None
    if array.dtype.kind not in "biuf":
        raise UserInputError(f"{source}: {name}: expected a numeric array, got dtype {array.dtype}")
    if array.ndim != 2:
        raise UserInputError(
            f"{source}: {name}: expected a 2-D array (num_points, {what}), "
            f"got {array.ndim}-D with shape {array.shape}"
        )
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise UserInputError(
            f"{source}: {name}: expected at least one point and one column, got shape {array.shape}"
        )
    return array


def _codes(value: object, name: str, source: str) -> np.ndarray:
    """Finite real codes; float32/float64 are kept as they are, others become float64."""
    codes = _matrix(value, name, source, "num_codes")
    if codes.dtype not in (np.float32, np.float64):
        codes = codes.astype(np.float64)
    finite = np.isfinite(codes)
    if not finite.all():
        raise UserInputError(
            f"{source}: {name}: expected finite values, found {int((~finite).sum())} NaN or "
            f"infinite (first at {_first_bad(~finite)})"
        )
    return codes


def _factors(value: object, name: str, source: str) -> np.ndarray:
    """Integer factors >= 0 as int64 (floats are accepted if they hold whole numbers)."""
    factors = _matrix(value, name, source, "num_factors")
    if factors.dtype.kind == "f":
        finite = np.isfinite(factors)
        if not finite.all():
            raise UserInputError(
                f"{source}: {name}: expected integer factor values >= 0, found NaN or infinite "
                f"(first at {_first_bad(~finite)})"
            )
        fractional = factors != np.round(factors)
        if fractional.any():
            row, column = np.argwhere(fractional)[0]
            raise UserInputError(
                f"{source}: {name}: expected integer factor values >= 0, got "
                f"{factors[row, column].item()!r} at row {row}, column {column}"
            )
    negative = factors < 0
    if negative.any():
        row, column = np.argwhere(negative)[0]
        raise UserInputError(
            f"{source}: {name}: expected integer factor values >= 0, got "
            f"{factors[row, column].item()!r} at row {row}, column {column}"
        )
    # uint64 and float values past int64 would wrap around when converted
    if factors.dtype.kind == "u":
        too_large = factors > _MAX_FACTOR
    elif factors.dtype.kind == "f":
        too_large = factors >= 2.0**63
    else:
        too_large = np.zeros(factors.shape, bool)
    if too_large.any():
        row, column = np.argwhere(too_large)[0]
        raise UserInputError(
            f"{source}: {name}: expected integer factor values from 0 to 2**63 - 1, got "
            f"{factors[row, column].item()!r} at row {row}, column {column}"
        )
    return factors.astype(np.int64)


def check_arrays(
    codes_train: object,
    factors_train: object,
    codes_test: object = None,
    factors_test: object = None,
    source: str = "score_arrays",
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Validated `(codes_train, factors_train, codes_test, factors_test)`.

    Codes: 2-D `[num_points, num_codes]`, finite, real (float32/float64 kept,
    integers become float64). Factors: 2-D `[num_points, num_factors]` whole
    numbers >= 0 (returned as int64); every training factor must take at
    least two values. Codes and factors of a split have the same number of
    rows; the test split has the training split's number of columns; test
    arrays come both or neither.

    Raises:
      UserInputError: one line naming `source` (a file name or function), the
        array and what was expected.
    """
    if (codes_test is None) != (factors_test is None):
        given, missing = (
            ("codes_test", "factors_test")
            if factors_test is None
            else ("factors_test", "codes_test")
        )
        raise UserInputError(f"{source}: {missing}: missing while {given} is given; {_TEST_HINT}")
    codes_tr = _codes(codes_train, "codes_train", source)
    factors_tr = _factors(factors_train, "factors_train", source)
    if codes_tr.shape[0] != factors_tr.shape[0]:
        raise UserInputError(
            f"{source}: factors_train: expected one row per point of codes_train "
            f"({codes_tr.shape[0]} rows), got {factors_tr.shape[0]} rows"
        )
    if codes_tr.shape[0] < 2:
        raise UserInputError(f"{source}: codes_train: expected at least 2 points, got 1")
    for column in range(factors_tr.shape[1]):
        if np.all(factors_tr[:, column] == factors_tr[0, column]):
            raise UserInputError(
                f"{source}: factors_train: expected every factor to take at least two values, "
                f"column {column} is constant ({factors_tr[0, column]})"
            )
    if codes_test is None:
        return codes_tr, factors_tr, None, None
    codes_te = _codes(codes_test, "codes_test", source)
    factors_te = _factors(factors_test, "factors_test", source)
    if codes_te.shape[1] != codes_tr.shape[1]:
        raise UserInputError(
            f"{source}: codes_test: expected {codes_tr.shape[1]} columns like codes_train, "
            f"got {codes_te.shape[1]}"
        )
    if factors_te.shape[1] != factors_tr.shape[1]:
        raise UserInputError(
            f"{source}: factors_test: expected {factors_tr.shape[1]} columns like factors_train, "
            f"got {factors_te.shape[1]}"
        )
    if codes_te.shape[0] != factors_te.shape[0]:
        raise UserInputError(
            f"{source}: factors_test: expected one row per point of codes_test "
            f"({codes_te.shape[0]} rows), got {factors_te.shape[0]} rows"
        )
    return codes_tr, factors_tr, codes_te, factors_te
