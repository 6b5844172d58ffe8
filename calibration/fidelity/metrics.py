"""Column and column-pair similarity metrics, defined as SDMetrics defines them (and tested
against it), computed on numpy arrays so that they run on millions of rows.

- :func:`ks_complement`: 1 - the two-sample Kolmogorov-Smirnov statistic (numeric and
  datetime columns; missing values dropped).
- :func:`tv_complement`: 1 - the total variation distance between category frequencies
  (categorical and boolean columns; missing values dropped).
- :func:`correlation_similarity`: 1 - |Pearson r (real) - Pearson r (synthetic)| / 2, over
  rows where both columns are present.
- :func:`contingency_similarity`: 1 - the total variation distance between the two
  columns' joint frequencies, missing values a category of their own; numeric columns are
  first cut into the real column's equal-width bins (:func:`discretize`).

Every score lies in [0, 1], 1 meaning identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "contingency_of_codes",
    "contingency_similarity",
    "correlation_similarity",
    "discretize",
    "ks_complement",
    "numeric_values",
    "present_sorted",
    "shared_codes",
    "shares",
    "tv_complement",
]

_DECIMALS = 14  # SDMetrics rounds to float precision minus one digit before its KS test


def numeric_values(series: pd.Series) -> np.ndarray:
    """float64 values of a numeric, boolean or datetime column (datetimes, naive or
    zone-aware, as nanoseconds since the epoch), NaN where missing."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dtype, "tz", None) is not None:  # zone-aware: instants in UTC
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        values = series.astype("datetime64[ns]")
        out = values.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        out[values.isna().to_numpy()] = np.nan
        return out
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def present_sorted(values: np.ndarray) -> np.ndarray:
    """The non-missing values sorted, rounded as SDMetrics rounds them before its KS test."""
    present = values[~np.isnan(values)]
    if len(present) and not np.array_equal(present, np.round(present)):
        present = np.round(present, _DECIMALS)
    return np.sort(present)


def _cdf_at_own_points(a: np.ndarray) -> np.ndarray:
    """F_a(a[i]) for sorted ``a`` (right-continuous: ties count in full), in O(n)."""
    run_end = np.concatenate([np.flatnonzero(a[1:] != a[:-1]), [len(a) - 1]])
    run = np.concatenate([[0], np.cumsum(a[1:] != a[:-1])])
    return (run_end[run] + 1) / len(a)


def ks_complement(real: np.ndarray, synthetic: np.ndarray, presorted: bool = False) -> float:
    """1 - max |F_real(x) - F_synthetic(x)| of two float arrays (NaN dropped); ``nan`` if
    either is empty. With ``presorted``, both are :func:`present_sorted` already."""
    a, b = (real, synthetic) if presorted else (present_sorted(real), present_sorted(synthetic))
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    gap_at_a = np.abs(_cdf_at_own_points(a) - np.searchsorted(b, a, side="right") / len(b))
    gap_at_b = np.abs(np.searchsorted(a, b, side="right") / len(a) - _cdf_at_own_points(b))
    return float(1.0 - max(gap_at_a.max(), gap_at_b.max()))


def _frequencies(codes: np.ndarray, size: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=size).astype(np.float64)
    return counts / counts.sum()


def shares(series: pd.Series) -> pd.Series:
    """Share of each category among the present values, indexed by the values as text."""
    counts = series.value_counts(dropna=True)
    counts = counts[counts > 0]
    counts.index = counts.index.astype(str)
    return counts.groupby(level=0).sum() / max(counts.sum(), 1)


def tv_complement(real: pd.Series, synthetic: pd.Series) -> float:
    """1 - total variation distance of the category frequencies (missing values dropped)."""
    a, b = shares(real), shares(synthetic)
    if a.empty or b.empty:
        return float("nan")
    a, b = a.align(b, fill_value=0.0)
    return float(1.0 - 0.5 * np.abs(a.to_numpy() - b.to_numpy()).sum())


def correlation_similarity(real_x: np.ndarray, real_y: np.ndarray, synthetic_x: np.ndarray,
                           synthetic_y: np.ndarray) -> tuple[float, float, float]:  # fmt: skip
    """(score, Pearson r of real, Pearson r of synthetic); ``nan`` score where a column is
    constant or too short."""

    def pearson(x: np.ndarray, y: np.ndarray) -> float:
        keep = ~(np.isnan(x) | np.isnan(y))
        x, y = x[keep], y[keep]
        if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            return float("nan")
        return float(np.corrcoef(x, y)[0, 1])

    r, s = pearson(real_x, real_y), pearson(synthetic_x, synthetic_y)
    return 1.0 - abs(r - s) / 2.0, r, s


def discretize(real: np.ndarray, synthetic: np.ndarray, bins: int = 10,
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Bin numbers of both arrays in ``bins`` equal-width bins of the real values, the
    outer edges open (``np.digitize`` semantics; NaN gets ``bins + 1``)."""
    present = real[~np.isnan(real)]
    edges = np.histogram_bin_edges(present if len(present) else np.zeros(1), bins=bins)
    edges[0], edges[-1] = -np.inf, np.inf
    return np.digitize(real, edges), np.digitize(synthetic, edges)


def shared_codes(real: pd.Series, synthetic: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes of both columns over one vocabulary, missing values a code of their own; and
    the vocabulary's size."""
    both = pd.concat([real.astype(object), synthetic.astype(object)], ignore_index=True)
    codes, uniques = pd.factorize(both, use_na_sentinel=False)
    return codes[: len(real)], codes[len(real):], len(uniques)


def contingency_of_codes(x: tuple[np.ndarray, np.ndarray, int],
                         y: tuple[np.ndarray, np.ndarray, int]) -> float:  # fmt: skip
    """:func:`contingency_similarity` of two columns given as :func:`shared_codes`."""
    (x_real, x_synthetic, nx), (y_real, y_synthetic, ny) = x, y
    real = _frequencies(x_real * ny + y_real, nx * ny)
    synthetic = _frequencies(x_synthetic * ny + y_synthetic, nx * ny)
    return float(1.0 - 0.5 * np.abs(real - synthetic).sum())


def contingency_similarity(real_x: pd.Series, real_y: pd.Series, synthetic_x: pd.Series,
                           synthetic_y: pd.Series) -> float:  # fmt: skip
    """1 - total variation distance of the joint frequencies of two discrete columns (bin
    numbers for numeric ones), missing values counted as a category."""
    return contingency_of_codes(shared_codes(real_x, synthetic_x),
                                shared_codes(real_y, synthetic_y))
