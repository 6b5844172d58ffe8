"""Whole agents from fractional weights: truncate, replicate, sample (TRS).

TRS (R. Lovelace and D. Ballas, "'Truncate, replicate, sample': a method for creating integer
weights for spatial microsimulation", Computers, Environment and Urban Systems 41 (2013)
1-11) keeps the integer part of every weight and tops the total up by drawing the missing
units without replacement among the cells, with probability proportional to their
fractional parts. Every count is therefore ``floor(w)`` or ``floor(w) + 1`` and the total is
exact.

The top-up sample here is a probability-proportional-to-size design with exact inclusion
probabilities: randomised systematic sampling (W. G. Madow, "On the theory of systematic
sampling, II", Annals of Mathematical Statistics 20 (1949) 333-354) over the cells in a
random order. Cell ``i`` is topped up with probability ``pi_i = k * f_i / sum(f)`` (``k`` units
to draw, ``f`` the fractional parts; any ``pi_i`` above 1 is set to 1 and the rest rescaled),
so when ``total == sum(w)`` the expected count of every cell equals its weight. Draw-by-draw
sampling, as R's ``sample(prob = f, replace = FALSE)`` in the authors' code, has the same
support but under-selects cells with large fractions, so its expected counts are biased.
"""

from __future__ import annotations

import numpy as np

from simulations.errors import CalibrationError

__all__ = ["integerise"]


def _generator(rng: object) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise CalibrationError(
        "The 'rng' parameter of integerise must be an int in the range [0, inf) or a "
        f"numpy.random.Generator. Got {rng!r} instead."
    )


def _inclusion(fractions: np.ndarray, k: int) -> np.ndarray:
    """Inclusion probabilities proportional to ``fractions`` (all > 0), capped at 1, sum k."""
    pi = np.zeros_like(fractions)
    capped = np.zeros(fractions.shape, dtype=bool)
    while True:
        free = ~capped
        remaining = k - int(capped.sum())
        pi[free] = remaining * fractions[free] / fractions[free].sum()
        over = free & (pi >= 1.0)
        if not over.any():
            return pi
        capped |= over
        pi[capped] = 1.0


def integerise(
    weights: np.ndarray, *, total: int | None = None, rng: np.random.Generator | int
) -> np.ndarray:
    """Integer counts from fractional weights by truncate-replicate-sample.

    Parameters
    ----------
    weights : array_like of float, any shape
        Fractional weights (agents represented per record, or per cell of an N-d table),
        finite and >= 0. N-d tables are flattened, integerised and reshaped.
    total : int, optional
        The exact total of the result; default ``round(weights.sum())`` (Python's round,
        halves to even). It must lie between the sum of the integer parts and that sum plus
        the number of cells with a positive fractional part, since each cell gains at most
        one unit.
    rng : numpy.random.Generator or int
        The randomness of the top-up draw (an int seeds a fresh ``default_rng``). It draws a
        random order of the cells with a positive fractional part (``rng.permutation``) and
        then one uniform start (``rng.random``); nothing is drawn when no unit is missing.

    Returns
    -------
    numpy.ndarray
        int64, same shape as ``weights``: ``floor(w)`` or ``floor(w) + 1`` per cell, summing
        to ``total``.

    Raises
    ------
    CalibrationError
        For negative or non-finite weights, an invalid ``total`` or ``rng``, or a ``total``
        that TRS cannot reach.
    """
    generator = _generator(rng)
    w = np.asarray(weights, dtype=np.float64)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise CalibrationError(
            f"integerise needs finite weights >= 0. Got {w[bad][:5].tolist()!r} at "
            f"{[tuple(int(i) for i in ix) for ix in np.argwhere(bad)[:5]]!r}."
        )
    flat = w.ravel()
    if flat.sum() >= 2.0**53:
        raise CalibrationError(
            f"integerise needs weights summing below 2**53 to count exactly. Got {flat.sum():g}."
        )
    counts = np.floor(flat)
    fractions = flat - counts
    counts = counts.astype(np.int64)
    floor_sum = int(counts.sum())
    positive = np.flatnonzero(fractions > 0)
    if total is None:
        total = round(float(flat.sum()))
    elif isinstance(total, bool) or not isinstance(total, int | np.integer) or total < 0:
        raise CalibrationError(
            "The 'total' parameter of integerise must be None or an int in the range [0, inf). "
            f"Got {total!r} instead."
        )
    k = int(total) - floor_sum
    if k < 0:
        raise CalibrationError(
            f"Cannot integerise to total={total}: the integer parts of the weights already "
            f"sum to {floor_sum}, and TRS never removes units."
        )
    if k > positive.size:
        raise CalibrationError(
            f"Cannot integerise to total={total}: the integer parts sum to {floor_sum} and "
            f"only {positive.size} cells have a fractional part to round up (one unit each), "
            f"so the most TRS can reach is {floor_sum + positive.size}."
        )
    if k == 0:
        return counts.reshape(w.shape)
    order = generator.permutation(positive)
    start = generator.random()
    pi = _inclusion(fractions[order], k)
    sure = pi >= 1.0
    counts[order[sure]] += 1
    rest, pi_rest, k_rest = order[~sure], pi[~sure], k - int(sure.sum())
    if k_rest > 0:  # systematic sample: one point in each unit interval of the cumulated pi
        edges = np.cumsum(pi_rest)
        edges *= k_rest / edges[-1]  # exact k_rest despite rounding in the sum
        points = start + np.arange(k_rest)
        chosen = np.minimum(np.searchsorted(edges, points, side="right"), rest.size - 1)
        counts[rest[chosen]] += 1
    return counts.reshape(w.shape)
