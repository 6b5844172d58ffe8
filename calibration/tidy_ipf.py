"""Dense IPF on tidy tables: named variables and category labels instead of axes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from calibration.ipf import IPFResult, Marginal, _fmt, _ipf
from simulations.errors import CalibrationError

__all__ = ["ipf_frame"]


def ipf_frame(
    seed: pd.DataFrame,
    marginals: Sequence[pd.DataFrame],
    *,
    count: str = "count",
    tol: float = 1e-6,
    max_iter: int = 1000,
) -> tuple[pd.DataFrame, IPFResult]:
    """Fit a tidy seed table to tidy marginal tables.

    Parameters
    ----------
    seed : pandas.DataFrame
        One column per variable plus ``count``, one row per cell (no repeated cells).
        Combinations absent from ``seed`` are zero cells. Each variable's categories are
        its sorted unique values; they index the dense table's axes in column order.
    marginals : sequence of pandas.DataFrame
        Each with a subset of the seed's variables plus ``count``, one row per cell;
        absent combinations are zero targets. A marginal is named after its variables.
    count : str, default "count"
        Name of the count column (counts, non-negative) in every frame.
    tol, max_iter
        As for :func:`ipf`.

    Returns
    -------
    fitted : pandas.DataFrame
        The seed's rows (same order, index and variable columns) with fitted ``count``.
        Absent combinations stay zero, so they are not listed.
    result : IPFResult
        The dense result; ``result.table`` axes follow the seed's variable columns.

    Raises
    ------
    CalibrationError
        For invalid inputs, including categories that appear in a marginal but not in the
        seed; messages name cells by index and by category labels.
    """
    variables = _variables(seed, count, "seed")
    if not variables:
        raise CalibrationError(f"seed: no variable columns besides {count!r}.")
    categories = [_categories(seed[v], v) for v in variables]
    shape = tuple(len(c) for c in categories)
    codes = [pd.Index(c).get_indexer(seed[v]) for v, c in zip(variables, categories, strict=True)]
    counts = _counts(seed, count, "seed")
    table = np.zeros(shape)
    _place(table, codes, counts, "seed", variables, categories)

    dense = []
    for k, frame in enumerate(marginals):
        mvars = _variables(frame, count, f"marginal {k}")
        name = ",".join(mvars) if mvars else "total"
        unknown = [v for v in mvars if v not in variables]
        if unknown:
            raise CalibrationError(
                f"marginal {name!r}: columns {unknown} are not seed variables {variables}."
            )
        axes = tuple(variables.index(v) for v in mvars)
        if len(set(axes)) != len(axes):
            raise CalibrationError(f"marginal {name!r}: a variable column is repeated.")
        mcodes = []
        for v, a in zip(mvars, axes, strict=True):
            if frame[v].isna().any():
                raise CalibrationError(f"marginal {name!r}: column {v!r} has missing values.")
            c = pd.Index(categories[a]).get_indexer(frame[v])
            if (c < 0).any():
                extra = sorted({_fmt(x) for x in frame[v][c < 0]})
                raise CalibrationError(
                    f"marginal {name!r}: categories of {v!r} not in the seed: {', '.join(extra)}."
                )
            mcodes.append(c)
        target = np.zeros(tuple(shape[a] for a in axes))
        mcats = [categories[a] for a in axes]
        _place(target, mcodes, _counts(frame, count, name), f"marginal {name!r}", mvars, mcats)
        dense.append(Marginal(axes, target, name))

    result = _ipf(table, dense, tol=tol, max_iter=max_iter, labels=(variables, categories))
    fitted = seed[variables].copy()
    fitted[count] = result.table[tuple(codes)]
    return fitted, result


# --------------------------------------------------------------------------- core


def _variables(frame: pd.DataFrame, count: str, what: str) -> list:
    """The variable columns of a tidy frame (all but ``count``)."""
    if count not in frame.columns:
        raise CalibrationError(f"{what}: no count column {count!r} in {list(frame.columns)}.")
    return [c for c in frame.columns if c != count]


def _categories(column: pd.Series, name) -> list:
    """Sorted unique values of a seed variable column."""
    if column.isna().any():
        raise CalibrationError(f"seed: column {name!r} has missing values.")
    try:
        return sorted(pd.unique(column))
    except TypeError as exc:
        raise CalibrationError(f"seed: categories of {name!r} cannot be sorted: {exc}") from None


def _counts(frame: pd.DataFrame, count: str, what: str) -> np.ndarray:
    """The count column as float64."""
    try:
        return frame[count].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"{what}: column {count!r} is not numeric: {exc}") from None


def _place(dense, codes, counts, what, names, categories) -> None:
    """Write ``counts`` into ``dense`` at ``codes``; raise on a repeated cell."""
    if dense.ndim == 0:  # a grand-total marginal: a single row
        if len(counts) != 1:
            raise CalibrationError(f"{what}: a total needs exactly one row, got {len(counts)}.")
        dense[()] = counts[0]
        return
    flat = np.ravel_multi_index(tuple(codes), dense.shape)
    unique, first, seen = np.unique(flat, return_index=True, return_counts=True)
    if (seen > 1).any():
        row = first[int(np.argmax(seen > 1))]
        cell = ", ".join(
            f"{n}={_fmt(c[k[row]])}" for n, c, k in zip(names, categories, codes, strict=True)
        )
        raise CalibrationError(f"{what}: the cell ({cell}) appears in more than one row.")
    dense[np.unravel_index(flat, dense.shape)] = counts
