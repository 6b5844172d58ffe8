"""Utility: is a model trained on the synthetic table as good on real data as one trained on
real data? Train-synthetic-test-real (TSTR) against train-real-test-real (TRTR).

The real table is split once into a training part and a held-out test part (70/30, by
entity when entities are known, so no entity is on both sides). Both models are the same
gradient-boosting model on the same features; rare classes are kept whole in the training
sample (see :func:`calibration.fidelity.targets.model_sample`) and the models learn from that
sample unweighted, while the test rows are weighted back to the table. A categorical target is
scored by ROC-AUC (one class against the rest, averaged over the classes present in the
test part, weighted by their frequency), a numeric one by R^2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import r2_score, roc_auc_score

from calibration.fidelity.features import column_feature
from calibration.fidelity.models import booster
from calibration.fidelity.sources import column_kind
from calibration.fidelity.targets import model_sample

__all__ = ["Utility", "utility"]

TEST_SHARE = 0.3
MIN_LIFT = 0.05
"""Below this lift over chance (AUC 0.5, R^2 0) for the real model itself, the ratio of the
two models is noise and no score is given."""


@dataclass(frozen=True)
class Utility:
    """TSTR and TRTR scores of one target, and the rows each used.

    ``score`` is TSTR over TRTR on the scale where a useless model scores 0 (AUC 0.5, R^2 0),
    clipped to [0, 1]; ``nan`` when TRTR is less than :data:`MIN_LIFT` above that.
    """

    target: str
    metric: str
    trtr: float
    tstr: float
    score: float
    train_rows_real: int
    train_rows_synthetic: int
    test_rows: int


def _encode(frames: list[pd.DataFrame], columns: list[str],
            ) -> tuple[list[np.ndarray], np.ndarray]:  # fmt: skip
    """Feature matrices of several frames on one encoding, and which columns are
    categorical."""
    both = pd.concat([f[columns] for f in frames], ignore_index=True)
    matrix, categorical = [], []
    for name in columns:
        feature = column_feature(name, both[name])
        if feature is None:
            continue
        values = feature.values.astype(np.float64)
        if feature.categorical:
            values[values < 0] = np.nan
        matrix.append(values)
        categorical.append(feature.categorical)
    X = np.column_stack(matrix) if matrix else np.zeros((len(both), 0))
    bounds = np.cumsum([0] + [len(f) for f in frames])
    return [X[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)], \
        np.array(categorical, dtype=bool)  # fmt: skip


def _target(series: pd.Series, numeric: bool, vocabulary: pd.Index | None) -> np.ndarray:
    """float64 target (NaN missing) or class codes over ``vocabulary`` (-1 missing)."""
    if numeric:
        return series.to_numpy(np.float64, na_value=np.nan)
    return vocabulary.get_indexer(series.astype(object))


def _sample(y: np.ndarray, numeric: bool, size: int, rng: np.random.Generator,
            ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Rows with a known target, every row of the smaller classes kept (up to half the
    sample), weighted back to the table."""
    known = np.flatnonzero(~np.isnan(y) if numeric else y >= 0)
    if numeric or len(known) == 0:
        rare = np.zeros(len(known), dtype=bool)
    else:
        counts = np.bincount(y[known])
        rare = counts[y[known]] < counts.max()
    picked, weights = model_sample(rare, size, rng)
    return known[picked], weights


def utility(real: pd.DataFrame, synthetic: pd.DataFrame, target: str, features: list[str],
            real_entity: np.ndarray, sample_rows: int, rng: np.random.Generator,
            ) -> Utility:  # fmt: skip
    """Fit on real training rows and on synthetic rows, score both on held-out real rows.

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Tables holding ``target`` and ``features`` under the same names.
    real_entity : int64 array, shape (len(real),)
        Entity code of each real row (:func:`calibration.fidelity.features.entity_codes`).
    sample_rows : int
        Most rows each model trains on, and most test rows.
    """
    numeric = column_kind(synthetic[target]) in ("numeric", "datetime")
    vocabulary = None if numeric else pd.Index(pd.unique(pd.concat(
        [real[target].astype(object), synthetic[target].astype(object)]).dropna()))
    y_real = _target(real[target], numeric, vocabulary)
    y_synthetic = _target(synthetic[target], numeric, vocabulary)
    test = rng.random(int(real_entity.max()) + 1)[real_entity] < TEST_SHARE
    parts = []
    for y, rows in ((y_real, np.flatnonzero(~test)), (y_synthetic, np.arange(len(synthetic))),
                    (y_real, np.flatnonzero(test))):  # fmt: skip
        picked, weights = _sample(y[rows], numeric, sample_rows, rng)
        parts.append((rows[picked], weights))
    (train_real, _), (train_synthetic, _), (test_rows, w_test) = parts
    (X_train_real, X_synthetic, X_test), categorical = _encode(
        [real.iloc[train_real], synthetic.iloc[train_synthetic], real.iloc[test_rows]],
        features)  # fmt: skip
    scores = []
    for X, y in ((X_train_real, y_real[train_real]),
                 (X_synthetic, y_synthetic[train_synthetic])):  # fmt: skip
        # Unweighted: the rare classes kept whole in the sample are what it learns from.
        model = booster(categorical, 0, regression=numeric).fit(X, y)
        if numeric:
            scores.append(r2_score(y_real[test_rows], model.predict(X_test), sample_weight=w_test))
        else:
            scores.append(_auc(model, X_test, y_real[test_rows], w_test))
    metric, baseline = ("R2", 0.0) if numeric else ("ROC-AUC", 0.5)
    trtr, tstr = scores
    span = trtr - baseline
    score = float(np.clip((tstr - baseline) / span, 0.0, 1.0)) if span >= MIN_LIFT \
        else float("nan")  # fmt: skip
    return Utility(target, metric, float(trtr), float(tstr), score, len(train_real),
                   len(train_synthetic), len(test_rows))  # fmt: skip


def _auc(model, X: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """Frequency-weighted one-against-rest ROC-AUC over the classes the model knows."""
    probabilities = model.predict_proba(X)
    known = list(model.classes_)
    aucs, shares = [], []
    for code in np.unique(y):
        positive = y == code
        if code not in known or positive.all():
            continue
        aucs.append(roc_auc_score(positive, probabilities[:, known.index(code)],
                                  sample_weight=weights))
        shares.append(weights[positive].sum())
    return float(np.average(aucs, weights=shares)) if aucs else float("nan")
