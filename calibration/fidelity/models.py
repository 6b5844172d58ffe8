"""What a model can learn: out-of-fold scores of a gradient-boosting classifier with folds
grouped by entity, and weighted ranking metrics with entity-bootstrap intervals.

Rows are weighted because the audit models a sample: every labelled row and a uniform
sample of the rest, each sampled row weighted by the inverse of its chance of being drawn,
so that precision-based figures are those of the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import average_precision_score, roc_curve

__all__ = ["RankingMetrics", "booster", "group_folds", "out_of_fold_scores", "ranking_metrics",
           "weighted_auc"]  # fmt: skip

BOOTSTRAP_REPLICATES = 50


def group_folds(y: np.ndarray, groups: np.ndarray, n_folds: int, rng: np.random.Generator,
                ) -> np.ndarray:  # fmt: skip
    """Fold number of each row, with every group in one fold and labelled rows spread evenly.

    Groups holding labelled rows are dealt to folds in turn, largest first (ties in random
    order), so each fold gets its share of them; the other groups are dealt at random.

    Parameters
    ----------
    y : bool array, shape (n_rows,)
    groups : int64 array, shape (n_rows,)
        Group codes in ``[0, n_groups)``.
    """
    n_groups = int(groups.max()) + 1
    labelled = np.bincount(groups, weights=y.astype(np.float64), minlength=n_groups)
    fold = rng.integers(n_folds, size=n_groups)
    holders = np.flatnonzero(labelled)
    holders = holders[np.lexsort((rng.random(len(holders)), -labelled[holders]))]
    load = np.zeros(n_folds)
    for group in holders:  # a few hundred groups at most: the labelled ones
        target = int(np.argmin(load))
        fold[group] = target
        load[target] += labelled[group]
    return fold[groups]


def booster(categorical: np.ndarray, seed: int, regression: bool = False):
    """The gradient-boosting model every part of fidelity fits: 100 trees of 15 leaves,
    ``categorical`` (bool, shape (n_features,)) marking the features holding codes."""
    kind = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    return kind(max_iter=100, learning_rate=0.1, max_leaf_nodes=15, l2_regularization=1.0,
                categorical_features=categorical if categorical.any() else None,
                early_stopping=False, random_state=seed)  # fmt: skip


def out_of_fold_scores(
    X: np.ndarray, y: np.ndarray, folds: np.ndarray, categorical: np.ndarray, seed: int,
) -> np.ndarray:  # fmt: skip
    """Scores of each row from a model trained on the other folds.

    Parameters
    ----------
    X : float array, shape (n_rows, n_features)
        NaN for missing values; categorical features hold codes >= 0.
    y : bool array, shape (n_rows,)
    folds : int array, shape (n_rows,)
    categorical : bool array, shape (n_features,)
    """
    scores = np.full(len(y), np.nan)
    for fold in np.unique(folds):
        test = folds == fold
        train = ~test
        if y[train].all() or not y[train].any():
            scores[test] = y[train].mean()
            continue
        model = booster(categorical, seed).fit(X[train], y[train])
        scores[test] = model.predict_proba(X[test])[:, 1]
    return scores


class _FoldRanking:
    """Scores sorted once within each fold, so that the folds' AUCs under many weightings at
    once cost a cumulative sum over the rows and a gather at the (few) labelled ones.

    Parameters
    ----------
    scores : float array, shape (n_rows,)
    y : bool array, shape (n_rows,)
    folds : int array, shape (n_rows,)
        Each fold is ranked on its own (each fold's model has its own scale).
    """

    def __init__(self, scores: np.ndarray, y: np.ndarray, folds: np.ndarray) -> None:
        self.folds, fold = np.unique(folds, return_inverse=True)
        self.order = np.lexsort((scores, fold))
        s, f = scores[self.order], fold[self.order]
        new_block = np.concatenate([[True], (s[1:] != s[:-1]) | (f[1:] != f[:-1])])
        starts = np.flatnonzero(new_block)
        block = np.cumsum(new_block) - 1
        ends = np.concatenate([starts[1:], [len(s)]])
        self.fold_start = np.searchsorted(f, np.arange(len(self.folds)))
        self.fold_end = np.concatenate([self.fold_start[1:], [len(s)]])
        self.negative = ~y[self.order]
        self.labelled = np.flatnonzero(~self.negative)
        self.first, self.last = starts[block[self.labelled]], ends[block[self.labelled]]
        fold_of_labelled = f[self.labelled]
        self.in_fold = np.zeros((len(self.labelled), len(self.folds)))
        self.in_fold[np.arange(len(self.labelled)), fold_of_labelled] = 1.0
        self.labelled_fold_start = self.fold_start[fold_of_labelled]

    def aucs(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each fold's AUC (NaN where a class is absent) and labelled weight, for each row of
        ``weights`` (shape (n_weightings, n_rows)); both of shape (n_weightings, n_folds)."""
        w = weights[:, self.order]
        below = np.concatenate([np.zeros((len(w), 1)),
                                np.cumsum(np.where(self.negative, w, 0.0), axis=1)], axis=1)
        negatives = below[:, self.fold_end] - below[:, self.fold_start]
        strictly = below[:, self.first] - below[:, self.labelled_fold_start]
        tied = below[:, self.last] - below[:, self.first]
        w_pos = w[:, self.labelled]
        labelled = w_pos @ self.in_fold
        wins = (w_pos * (strictly + 0.5 * tied)) @ self.in_fold
        with np.errstate(divide="ignore", invalid="ignore"):
            auc = np.where((labelled > 0) & (negatives > 0), wins / (labelled * negatives),
                           np.nan)  # fmt: skip
        return auc, labelled


def weighted_auc(scores: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """ROC-AUC with row weights; tied scores count one half. ``nan`` if a class is absent."""
    auc, _ = _FoldRanking(scores, y, np.zeros(len(y), dtype=np.int64)).aucs(weights[None])
    return float(auc[0, 0])


@dataclass(frozen=True)
class RankingMetrics:
    """How well out-of-fold scores rank labelled rows above the rest.

    Every metric is computed within each fold and averaged over the folds, each weighted by
    its labelled weight. ``roc_auc_sd`` bounds the standard deviation of that average
    without assuming anything about how the folds' AUCs covary (they do: every fold's
    model learnt from the others' labelled rows), as the weighted mean of the folds' own
    deviations; each of these comes from resampling entities (Poisson bootstrap,
    :data:`BOOTSTRAP_REPLICATES` replicates), which respects that rows of one entity are not
    independent, and is never taken below the Hanley-McNeil standard error of the fold's
    labelled groups (``1 / sqrt(12 n)`` at an AUC of 0.5), which a bootstrap over a handful
    of groups understates. ``pr_auc`` is average precision at the table's own prevalence;
    ``recall_at_fpr`` maps a false-positive rate to the share of labelled rows caught at it.
    """

    roc_auc: float
    roc_auc_sd: float
    labelled_groups: int
    pr_auc: float
    recall_at_fpr: dict[float, float]


def _hanley_mcneil(auc: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """Standard error of AUCs from ``labelled`` independent labelled units against many
    unlabelled ones (Hanley and McNeil, 1982): ``1 / sqrt(12 n)`` at 0.5, less near 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(np.maximum(2 * auc**2 / (1 + auc) - auc**2, 0.0) / labelled)


def ranking_metrics(
    scores: np.ndarray, y: np.ndarray, weights: np.ndarray, groups: np.ndarray,
    folds: np.ndarray, false_positive_rates: tuple[float, ...], rng: np.random.Generator,
) -> RankingMetrics:  # fmt: skip
    """:class:`RankingMetrics` of out-of-fold ``scores`` for labels ``y`` (bool), rows
    weighted by ``weights``; the bootstrap resamples ``groups``."""
    ranking = _FoldRanking(scores, y, folds)
    auc, labelled = ranking.aucs(weights[None])
    auc, labelled = auc[0], labelled[0]
    valid = np.isfinite(auc)
    share = np.where(valid, labelled, 0.0) / labelled[valid].sum()
    _, local = np.unique(groups, return_inverse=True)
    resampled = rng.poisson(1.0, size=(BOOTSTRAP_REPLICATES, int(local.max()) + 1))[:, local]
    replicates = ranking.aucs(weights * resampled)[0]
    finite = np.isfinite(replicates)
    counts = finite.sum(axis=0)
    centred = np.where(finite, replicates - np.where(finite, replicates, 0).sum(axis=0)
                       / np.maximum(counts, 1), 0.0)  # fmt: skip
    spread = np.sqrt((centred**2).sum(axis=0) / np.maximum(counts, 1))
    fold_groups = np.array([len(np.unique(groups[y & (folds == f)])) for f in ranking.folds])
    spread = np.fmax(spread, _hanley_mcneil(auc, fold_groups))
    recall = dict.fromkeys(false_positive_rates, 0.0)
    pr_auc = 0.0
    for fold, part in zip(ranking.folds[valid], share[valid], strict=True):
        inside = folds == fold
        fpr, tpr, _ = roc_curve(y[inside], scores[inside], sample_weight=weights[inside])
        for rate in false_positive_rates:
            recall[rate] += part * float(tpr[fpr <= rate].max(initial=0.0))
        pr_auc += part * float(average_precision_score(y[inside], scores[inside],
                                                       sample_weight=weights[inside]))
    return RankingMetrics(float((auc[valid] * share[valid]).sum()),
                          float((spread[valid] * share[valid]).sum()),
                          len(np.unique(groups[y])), pr_auc, recall)  # fmt: skip
