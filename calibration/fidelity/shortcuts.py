"""Single-feature rules that isolate a label: the cheapest model there is, and the first thing
to check in labelled synthetic data.

For each target (a label value), each feature and each stratum (all rows, and the rows of each
event type), the best rule is the one with the highest precision among those that reach the
minimum recall and rest on the minimum number of labelled rows:

- a numeric feature's rules are intervals ``lo <= x <= hi`` (thresholds are intervals with
  one end at the stratum's extreme) or ``x is missing``; an optimal interval can always be
  shrunk until labelled rows sit on both ends, so the ends are searched among (up to 129
  quantiles of) the labelled rows' values;
- a categorical feature's rules are sets of categories, grown in order of precision.

Precision is measured within the stratum, recall against every labelled row of the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calibration.fidelity.features import Feature
from calibration.fidelity.targets import Target

__all__ = ["Stratum", "search"]

_ENDPOINTS = 129


@dataclass(frozen=True)
class Stratum:
    """A subset of rows (bool mask) in which rules are also searched."""

    name: str
    mask: np.ndarray


@dataclass
class _Best:
    rule: str
    positives: int
    support: int
    bounds: tuple[float, float] | None = None  # a numeric rule's interval; None: "missing"
    categories: np.ndarray | None = None  # a categorical rule's codes (slot 0: missing)

    def selects(self, prepared: _Categorical | _Numeric) -> np.ndarray:
        """Which of the stratum's rows the rule selects (bool)."""
        if self.categories is not None:
            return np.isin(prepared.codes + 1, self.categories)
        if self.bounds is None:
            return prepared.missing
        lo, hi = self.bounds
        return (prepared.values >= lo) & (prepared.values <= hi)


def _better(pos: np.ndarray, sup: np.ndarray, feasible: np.ndarray) -> int:
    """Index of the highest precision among feasible candidates, ties to more positives."""
    precision = np.where(feasible, pos / np.maximum(sup, 1), -1.0)
    best = precision.max()
    if best < 0:
        return -1
    ties = np.flatnonzero(precision == best)
    return int(ties[np.argmax(pos[ties])])


class _Categorical:
    """A categorical feature within one stratum: rows per category (slot 0: missing)."""

    def __init__(self, feature: Feature, codes: np.ndarray) -> None:
        self.feature, self.codes = feature, codes
        self.support = np.bincount(codes + 1, minlength=len(feature.categories) + 1)

    def best(self, positive: np.ndarray, need: int, min_positives: int) -> _Best | None:
        hits = np.bincount(self.codes[positive] + 1, minlength=len(self.support))
        present = np.flatnonzero(hits)
        precision = hits[present] / self.support[present]
        order = present[np.lexsort((-hits[present], -precision))]
        pos, sup = np.cumsum(hits[order]), np.cumsum(self.support[order])
        k = _better(pos, sup, (pos >= need) & (pos >= min_positives))
        if k < 0:
            return None
        names = ["missing", *self.feature.categories]
        chosen = [names[c] for c in np.sort(order[: k + 1])]
        name = self.feature.name
        rule = f"{name} = {chosen[0]}" if len(chosen) == 1 else \
            f"{name} in {{{', '.join(chosen)}}}"  # fmt: skip
        return _Best(rule, int(pos[k]), int(sup[k]), categories=order[: k + 1])


class _Numeric:
    """A numeric feature within one stratum: its values, and the non-missing ones sorted."""

    def __init__(self, feature: Feature, values: np.ndarray) -> None:
        self.feature, self.values = feature, values
        self.missing = np.isnan(values)
        self.sorted = np.sort(values[~self.missing])

    def best(self, positive: np.ndarray, need: int, min_positives: int) -> _Best | None:
        enough = max(need, min_positives)
        candidates = []
        pos_missing = int((self.missing & positive).sum())
        if pos_missing >= enough:
            candidates.append(_Best(f"{self.feature.name} is missing", pos_missing,
                                    int(self.missing.sum())))  # fmt: skip
        labelled = np.sort(self.values[positive & ~self.missing])
        if len(labelled) >= enough:
            candidates += self._interval(labelled, enough)
        if not candidates:
            return None
        pos = np.array([c.positives for c in candidates])
        sup = np.array([c.support for c in candidates])
        return candidates[_better(pos, sup, np.ones(len(candidates), dtype=bool))]

    def _interval(self, labelled: np.ndarray, enough: int) -> list[_Best]:
        every = self.sorted
        pick = np.linspace(0, len(labelled) - 1, _ENDPOINTS).round().astype(np.int64)
        ends = np.unique(labelled[pick])
        pos = (np.searchsorted(labelled, ends, side="right")[None, :]
               - np.searchsorted(labelled, ends, side="left")[:, None])  # fmt: skip
        sup = (np.searchsorted(every, ends, side="right")[None, :]
               - np.searchsorted(every, ends, side="left")[:, None])  # fmt: skip
        upper = np.triu(np.ones((len(ends), len(ends)), dtype=bool))
        k = _better(pos.ravel(), sup.ravel(), (upper & (pos >= enough)).ravel())
        if k < 0:
            return []
        i, j = divmod(k, len(ends))
        lo, hi, name, show = ends[i], ends[j], self.feature.name, self.feature.render
        if lo <= every[0] and hi >= every[-1]:
            rule = f"{name} is not missing"
        elif lo <= every[0]:
            rule = f"{name} <= {show(hi)}"
        elif hi >= every[-1]:
            rule = f"{name} >= {show(lo)}"
        elif lo == hi:
            rule = f"{name} = {show(lo)}"
        else:
            rule = f"{show(lo)} <= {name} <= {show(hi)}"
        return [_Best(rule, int(pos[i, j]), int(sup[i, j]), bounds=(lo, hi))]


def _needed(target: Target, min_recall: float, min_positives: int,
            inside: np.ndarray) -> int | None:
    """Labelled rows a rule must hold to reach ``min_recall``; ``None`` if the stratum holds
    too few of them for any rule to qualify."""
    need = max(1, math.ceil(min_recall * int(target.mask.sum()) - 1e-9))
    if int((target.mask & inside).sum()) < max(need, min_positives):
        return None
    return need


def search(
    features: list[Feature],
    targets: list[Target],
    strata: list[Stratum],
    *,
    min_recall: float,
    min_positives: int,
    min_precision: float,
    groups: np.ndarray | None = None,
    min_groups: int = 1,
) -> pd.DataFrame:
    """The best rule per target, feature and stratum.

    ``groups`` (int64 per row, e.g. :func:`calibration.fidelity.features.linked_groups`)
    tells which labelled rows are one piece of evidence: a precise rule is flagged only when
    its labelled rows come from at least ``min_groups`` groups, since a rule that only
    isolates the rows of one case (a burst in a narrow time window) says that the case
    happened, not that the label can be told from the feature.

    Returns
    -------
    pandas.DataFrame
        One row per (label, value, feature, stratum) where some rule reaches ``min_recall``
        with at least ``min_positives`` labelled rows: ``rule``, ``precision``, ``recall``,
        ``support`` (rows the rule selects), ``positives`` (labelled rows among them),
        ``groups`` (groups among those, for precise rules), ``stratum_prevalence`` and
        ``flagged`` (precision >= ``min_precision`` from at least ``min_groups`` groups),
        sorted with the flagged and most precise first.
    """
    rows = []
    totals = {(t.label, t.value): int(t.mask.sum()) for t in targets}
    for stratum in strata:
        inside = stratum.mask
        labelled_inside = [(t, t.mask[inside], _needed(t, min_recall, min_positives, inside))
                           for t in targets]  # fmt: skip
        labelled_inside = [(t, p, n) for t, p, n in labelled_inside if n is not None]
        for feature in features if labelled_inside else ():
            values = feature.values[inside]
            prepared = (_Categorical if feature.categorical else _Numeric)(feature, values)
            for target, positive, need in labelled_inside:
                total = totals[(target.label, target.value)]
                rule = prepared.best(positive, need, min_positives)
                if rule is None:
                    continue
                precision = rule.positives / rule.support
                n_groups = np.nan if groups is not None else rule.positives
                if groups is not None and precision >= min_precision:
                    chosen = rule.selects(prepared) & positive
                    n_groups = np.unique(groups[inside][chosen]).size
                rows.append({
                    "label": target.label, "value": target.value, "feature": feature.name,
                    "derived": feature.derived, "stratum": stratum.name, "rule": rule.rule,
                    "precision": precision, "recall": rule.positives / total,
                    "support": rule.support, "positives": rule.positives,
                    "groups": n_groups, "stratum_prevalence": float(positive.mean()),
                    "flagged": precision >= min_precision and n_groups >= min_groups,
                })  # fmt: skip
    columns = ["label", "value", "feature", "derived", "stratum", "rule", "precision", "recall",
               "support", "positives", "groups", "stratum_prevalence", "flagged"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["flagged", "precision", "recall"], ascending=False,
                             kind="stable").reset_index(drop=True)  # fmt: skip
