"""Statistics of replicated runs: means with Student-t intervals, paired differences and the
replications a target interval width needs.

Every function takes one metric's values over replications, 1-D arrays in the metric's own
unit; values that are not finite (a metric undefined in a run) are left out (pairwise for
paired differences). Nothing here is random.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["Interval", "PairedDifference", "mean_ci", "paired_difference",
           "replications_needed"]  # fmt: skip


class Interval(NamedTuple):
    """A mean over ``n`` replications, their sample standard deviation (``ddof=1``) and the
    Student-t confidence interval ``[low, high]`` of the mean, all in the metric's unit
    (``std``, ``low`` and ``high`` are NaN below two values)."""

    n: int
    mean: float
    std: float
    low: float
    high: float


class PairedDifference(NamedTuple):
    """The mean of paired differences ``a - b`` over ``n`` pairs with its Student-t interval,
    and ``variance_ratio`` = var(a - b) / (var(a) + var(b)): below 1 when the pairs are
    positively correlated (common random numbers), about 1 when independent."""

    n: int
    mean: float
    low: float
    high: float
    variance_ratio: float


def _finite(values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)]


def _t(n: int, confidence: float) -> float:
    """The two-sided Student-t quantile with ``n - 1`` degrees of freedom."""
    from scipy import stats  # imported when needed: importing the package stays fast

    return float(stats.t.ppf(0.5 + confidence / 2, n - 1))


def mean_ci(values, confidence: float = 0.95) -> Interval:
    """Mean of ``values`` (shape ``(n,)``) and its ``confidence`` interval
    ``mean +- t_{n-1} * s / sqrt(n)``."""
    x = _finite(values)
    n = x.size
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return Interval(1, mean, math.nan, math.nan, math.nan)
    std = float(x.std(ddof=1))
    half = _t(n, confidence) * std / math.sqrt(n)
    return Interval(n, mean, std, mean - half, mean + half)


def paired_difference(a, b, confidence: float = 0.95) -> PairedDifference:
    """Paired differences ``a[i] - b[i]`` (shapes ``(n,)``, pair ``i`` sharing replication
    ``i``), pairs with a non-finite side left out: their mean, its interval and the variance
    ratio (NaN when it is undefined)."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired_difference needs arrays of one shape. Got {a.shape} and "
                         f"{b.shape} instead.")  # fmt: skip
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    interval = mean_ci(a - b, confidence)
    ratio = math.nan
    if a.size >= 2:
        spread = a.var(ddof=1) + b.var(ddof=1)
        if spread > 0:
            ratio = float((a - b).var(ddof=1) / spread)
    return PairedDifference(interval.n, interval.mean, interval.low, interval.high, ratio)


def replications_needed(std: float, n: int, width: float,
                        confidence: float = 0.95) -> int | None:  # fmt: skip
    """Replications for a ``confidence`` interval of the mean of full width ``width``.

    With sample standard deviation ``std`` from ``n`` replications, ``m = ceil((t * std /
    (width / 2))**2)`` with ``t`` at ``n - 1`` degrees of freedom, then once more with
    ``t`` at ``m - 1`` (at least 2). None when ``std`` is unknown (``n < 2`` or NaN).
    """
    if not width > 0:
        raise ValueError(f"The 'width' parameter must be > 0. Got {width!r} instead.")
    if n < 2 or not math.isfinite(std):
        return None
    needed = max(2, math.ceil((_t(n, confidence) * std / (width / 2)) ** 2))
    return max(2, math.ceil((_t(needed, confidence) * std / (width / 2)) ** 2))
