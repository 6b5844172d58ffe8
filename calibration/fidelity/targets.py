"""What the audit predicts: the label values it audits (targets for the rule search, models
for the learnability and leakage checks) and the weighted sample of rows the models use."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from calibration.fidelity.sources import column_kind

__all__ = ["Model", "Target", "label_values", "model_sample"]


@dataclass(frozen=True)
class Target:
    """A label value to audit: its name and which rows carry it (bool, shape (n_rows,))."""

    label: str
    value: str
    mask: np.ndarray


@dataclass(frozen=True)
class Model:
    """One classifier to fit (``y``) and the label values its scores are evaluated for:
    (value, positive rows, negative rows)."""

    label: str
    y: np.ndarray
    evaluations: list[tuple[str, np.ndarray, np.ndarray]]


def label_values(frame: pd.DataFrame, label: str, min_precision: float, min_positives: int,
                  ) -> tuple[list[Target], list[Model], list[str]]:  # fmt: skip
    """Targets and models for one label column, and the values left out (with why).

    A value is audited when it is rare (prevalence below ``min_precision``, else every rule
    would qualify) and has at least ``min_positives`` rows. A categorical label with missing
    values (``fraud_type`` on ordinary rows) gets one model, any value against missing,
    evaluated for each value and for "any"; one without gets a one-against-rest model per
    value; a boolean, a model for its rare side.
    """
    series = frame[label]
    n = len(series)
    targets, models, left_out = [], [], []

    def rare(value: str, mask: np.ndarray) -> bool:
        count = int(mask.sum())
        if count >= min_positives and count / n < min_precision:
            return True
        reason = f"{count} rows" if count < min_positives else f"prevalence {count / n:.0%}"
        left_out.append(f"{label}={value} ({reason})")
        return False

    if column_kind(series) == "boolean":
        known = series.notna().to_numpy()  # a nullable label: unknown rows are not negatives
        for value in (True, False):
            mask = known & (series.to_numpy(dtype=bool, na_value=not value) == value)
            if rare(str(value), mask):
                targets.append(Target(label, str(value), mask))
                models.append(Model(label, mask, [(str(value), mask, known & ~mask)]))
            elif targets:  # the common side of an audited boolean goes without saying
                left_out.pop()
        return targets, models, left_out
    present = series.notna().to_numpy()
    codes, uniques = pd.factorize(series, sort=True)
    values = [(str(u), codes == i) for i, u in enumerate(uniques)]
    if not present.all():
        evaluations = [(value, mask, ~present) for value, mask in values if rare(value, mask)]
        if rare("any", present):
            targets.append(Target(label, "any", present))
            evaluations.insert(0, ("any", present, ~present))
        targets += [Target(label, value, mask) for value, mask, _ in evaluations
                    if value != "any"]  # fmt: skip
        if evaluations:
            models.append(Model(label, present, evaluations))
        return targets, models, left_out
    for value, mask in values:
        if rare(value, mask):
            targets.append(Target(label, value, mask))
            models.append(Model(label, mask, [(value, mask, ~mask)]))
    return targets, models, left_out


def model_sample(labelled: np.ndarray, size: int, rng: np.random.Generator,
            ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Row indices and weights: labelled rows (up to half the sample) and a uniform sample of
    the rest, each weighted by the inverse of its chance of being drawn."""
    chosen, weights = [], []
    rows = [np.flatnonzero(labelled), np.flatnonzero(~labelled)]
    budget = [min(len(rows[0]), size // 2)]
    budget.append(min(len(rows[1]), size - budget[0]))
    for part, take in zip(rows, budget, strict=True):
        if take == 0:
            continue
        picked = np.sort(rng.choice(part, size=take, replace=False)) if take < len(part) \
            else part  # fmt: skip
        chosen.append(picked)
        weights.append(np.full(take, len(part) / take))
    order = np.argsort(np.concatenate(chosen), kind="stable")
    return np.concatenate(chosen)[order], np.concatenate(weights)[order]
