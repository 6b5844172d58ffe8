"""Cross-validated ranking metrics of every audited label value for one set of features:
the rows the models see, the folds, the fits and the metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from calibration.fidelity.features import Feature
from calibration.fidelity.models import (
    RankingMetrics,
    group_folds,
    out_of_fold_scores,
    ranking_metrics,
)
from calibration.fidelity.targets import Model
from simulations.seeding import stream

__all__ = ["FALSE_POSITIVE_RATES", "Evaluation", "ModelRows", "evaluate"]

FALSE_POSITIVE_RATES = (0.001, 0.01, 0.05)


@dataclass(frozen=True)
class ModelRows:
    """The rows the models see: indices into the table, their weights and groups, and the
    folds of each model (grouped, with labelled rows spread evenly)."""

    rows: np.ndarray
    weights: np.ndarray
    groups: np.ndarray
    folds: list[np.ndarray]

    @classmethod
    def build(cls, models: list[Model], rows: np.ndarray, weights: np.ndarray,
              groups: np.ndarray, n_folds: int, seed: int) -> ModelRows:  # fmt: skip
        folds = [group_folds(m.y[rows], groups, n_folds, stream(seed, i, "audit-folds"))
                 for i, m in enumerate(models)]  # fmt: skip
        return cls(rows, weights, groups, folds)


@dataclass(frozen=True)
class Evaluation:
    """Metrics of one label value under one set of features."""

    label: str
    value: str
    positives: int
    prevalence: float
    metrics: RankingMetrics
    within_types: RankingMetrics | None = None
    """The same scores ranked only among rows of the event types the value occurs in: the
    problem left once the obvious filter on event type is applied (``None`` without event
    types, or when the value occurs in every type)."""


def _matrix(features: list[Feature], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix (float64, NaN for missing) and which columns are categorical. Features
    with fewer than two distinct values among ``rows`` say nothing and are left out."""
    columns, categorical = [], []
    for feature in features:
        column = feature.values[rows].astype(np.float64)
        if feature.categorical:
            column[column < 0] = np.nan
        present = column[~np.isnan(column)]
        if len(present) and present.min() < present.max():
            columns.append(column)
            categorical.append(feature.categorical)
    X = np.column_stack(columns) if columns else np.zeros((len(rows), 0))
    return X, np.array(categorical, dtype=bool)


def _metrics(scores: np.ndarray, truth: np.ndarray, sample: ModelRows, fold: np.ndarray,
             rows: np.ndarray, rng: np.random.Generator) -> RankingMetrics:
    """Ranking metrics of the out-of-fold ``scores`` over the sampled rows selected by
    ``rows`` (bool)."""
    return ranking_metrics(scores[rows], truth[rows], sample.weights[rows], sample.groups[rows],
                           fold[rows], FALSE_POSITIVE_RATES, rng)  # fmt: skip


def evaluate(features: list[Feature], models: list[Model], sample: ModelRows, seed: int,
             stream_name: str, advance: Callable[[int], None] = lambda n: None,
             local: bool = False, event_types: np.ndarray | None = None,
             ) -> list[Evaluation]:  # fmt: skip
    """Fit each model on ``features`` fold by fold and measure every value it evaluates.

    ``features`` cover the whole table, or only the sampled rows (in order) when ``local``.
    ``event_types`` (int codes per table row) adds each value's metrics within the event
    types it occurs in.
    """
    X, categorical = _matrix(features, np.arange(len(sample.rows)) if local else sample.rows)
    out = []
    for index, (model, fold) in enumerate(zip(models, sample.folds, strict=True)):
        y = model.y[sample.rows]
        scores = out_of_fold_scores(X, y, fold, categorical, seed) if X.shape[1] \
            else np.zeros(len(y))  # fmt: skip
        for value, positive, negative in model.evaluations:
            keep = (positive | negative)[sample.rows]
            truth = positive[sample.rows]
            rng = stream(seed, index, f"{stream_name}-{value}")
            within = None
            if event_types is not None:
                types = event_types[sample.rows]
                inside = keep & np.isin(types, np.unique(types[truth]))
                if not inside[keep].all():
                    within = _metrics(scores, truth, sample, fold, inside,
                                      stream(seed, index, f"{stream_name}-within-{value}"))
            out.append(Evaluation(model.label, value, int(positive.sum()),
                                  float(positive.mean()),
                                  _metrics(scores, truth, sample, fold, keep, rng),
                                  within))  # fmt: skip
        advance(1)
    return out
