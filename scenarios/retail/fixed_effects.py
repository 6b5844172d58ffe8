"""Least squares with two sets of fixed effects (product and week), clustered errors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Regression", "two_way_regression"]


@dataclass(frozen=True)
class Regression:
    """Coefficients of the regressors (shape (k,)), their cluster-robust standard errors
    (clusters: the first effect's groups), and the observations and clusters used."""

    coefficients: np.ndarray
    standard_errors: np.ndarray
    n_obs: int
    n_clusters: int


def two_way_regression(y: np.ndarray, x: np.ndarray, first: np.ndarray, second: np.ndarray,
                       *, tol: float = 1e-10, max_iter: int = 500) -> Regression:  # fmt: skip
    """Regress ``y`` (shape (n,)) on ``x`` (shape (n, k)) with a fixed effect per value of
    ``first`` and of ``second`` (shape (n,) each; e.g. product and week).

    Both effects are swept out by alternating projections (demeaning within one grouping,
    then the other, until nothing moves more than ``tol``), which is exact for an unbalanced
    panel; standard errors are clustered by ``first`` with the usual small-sample factor
    G / (G - 1) * (n - 1) / (n - k).
    """
    first_codes = np.unique(first, return_inverse=True)[1]
    second_codes = np.unique(second, return_inverse=True)[1]
    data = np.column_stack([np.asarray(y, float), np.asarray(x, float)])
    for _ in range(max_iter):
        before = data.copy()
        for codes in (first_codes, second_codes):
            data -= _group_means(data, codes)[codes]
        if np.abs(data - before).max() < tol:
            break
    target, design = data[:, 0], data[:, 1:]
    gram = design.T @ design
    # A regressor the effects explain entirely (no variation within products) leaves ~0.
    if np.diag(gram).min(initial=np.inf) <= 1e-12 * len(target) or np.linalg.matrix_rank(
            gram) < design.shape[1]:  # fmt: skip
        nan = np.full(design.shape[1], np.nan)
        return Regression(nan, nan, len(target), int(first_codes.max(initial=-1) + 1))
    inverse = np.linalg.inv(gram)
    beta = inverse @ design.T @ target
    scores = _group_sums(design * (target - design @ beta)[:, None], first_codes)
    n, k, clusters = len(target), design.shape[1], len(scores)
    factor = clusters / max(clusters - 1, 1) * (n - 1) / max(n - k, 1)
    covariance = factor * inverse @ (scores.T @ scores) @ inverse
    return Regression(beta, np.sqrt(np.diag(covariance)), n, clusters)


def _group_sums(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    groups = codes.max() + 1
    return np.column_stack([np.bincount(codes, column, groups) for column in values.T])


def _group_means(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return _group_sums(values, codes) / np.bincount(codes)[:, None]
