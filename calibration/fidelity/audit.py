"""``audit``: does a labelled table give its labels away?

Three checks, driven only by the table's column roles:

- **shortcuts**: the best single-feature rule per label value, feature and event type
  (:mod:`calibration.fidelity.shortcuts`); a rule is flagged when its precision reaches
  ``min_precision`` at a recall of at least ``min_recall``, resting on at least
  ``min_positives`` labelled rows from at least ``min_groups`` independent cases;
- **learnability**: cross-validated ROC-AUC, PR-AUC and recall at fixed false-positive rates
  of a gradient-boosting model on the behavioural features, folds grouped by entity;
- **leakage**: the same model on identifiers alone (ids, their digits, names), which must
  not beat chance: a leak is flagged when the interval of its AUC lies above 0.5.

Intervals are simultaneous 95% intervals over the label values audited (Bonferroni), with
a conservative deviation (:class:`calibration.fidelity.models.RankingMetrics`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from calibration.fidelity.features import (
    behavioural_features,
    entity_codes,
    identifier_features,
    linked_groups,
)
from calibration.fidelity.learnability import (
    FALSE_POSITIVE_RATES,
    Evaluation,
    ModelRows,
    evaluate,
)
from calibration.fidelity.shortcuts import Stratum, search
from calibration.fidelity.sources import Source, Table, load
from calibration.fidelity.targets import label_values, model_sample
from simulations.errors import ConfigError
from simulations.params import Interval, Param, validate_value
from simulations.progress import progress_bar
from simulations.roles import TableRoles
from simulations.seeding import stream

__all__ = ["AuditReport", "audit"]

MAX_STRATA = 50
"""Event types beyond this many are not searched one by one."""

_PARAMS = {
    "min_precision": Param("float", Interval(float, 0.0, 1.0, closed="right")),
    "min_recall": Param("float", Interval(float, 0.0, 1.0, closed="right")),
    "min_positives": Param("int", Interval(int, 1, None)),
    "min_groups": Param("int", Interval(int, 1, None)),
    "folds": Param("int", Interval(int, 2, 20)),
    "sample_rows": Param("int", Interval(int, 1000, None)),
    "seed": Param("int", Interval(int, 0, None)),
}


@dataclass
class AuditReport:
    """What :func:`audit` found in one table.

    Attributes
    ----------
    table : str
        Where the table came from (``DATASET:table`` or a file).
    rows : int
        Rows in the table.
    model_rows : int
        Rows the models used: every labelled row and a uniform sample of the rest, weighted
        back to the table.
    shortcuts : pandas.DataFrame
        Best rule per label value, feature and stratum (see
        :func:`calibration.fidelity.shortcuts.search`), flagged ones first.
    learnability : pandas.DataFrame
        Per label value: ``positives`` (labelled rows), ``labelled_groups`` (independent units
        among them: entities joined through cases), ``prevalence``, ``roc_auc`` with
        ``roc_auc_low`` and ``roc_auc_high``, ``pr_auc`` (at the table's prevalence),
        ``recall_at_fpr_<rate>``, and ``roc_auc_within_types`` (with its interval): the
        ROC-AUC among rows of the event types the value occurs in, the detection problem
        left after the obvious filter (a laundering typology made of transfers and cash
        stands out from card payments by its type alone).
    leakage : pandas.DataFrame
        Per label value: ``roc_auc`` of the identifier-only model, its interval, and ``leak``
        (the interval lies above 0.5). Its folds keep every case and entity linked through
        shared entities together (a reused mule's account number must not be learnt in one
        case and found in another), so ``labelled_groups`` may be few: fewer than the folds
        cannot tell.
    settings : dict
        The parameters of the audit, the features used and the label values not audited.
    seconds : float
        Wall time of the audit.
    """

    table: str
    rows: int
    model_rows: int
    shortcuts: pd.DataFrame
    learnability: pd.DataFrame
    leakage: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def flagged(self) -> pd.DataFrame:
        """The flagged shortcut rules."""
        return self.shortcuts[self.shortcuts["flagged"]].reset_index(drop=True)

    @property
    def leaks(self) -> pd.DataFrame:
        """Label values whose identifiers alone predict them."""
        return self.leakage[self.leakage["leak"]].reset_index(drop=True)

    @property
    def clean(self) -> bool:
        """No shortcut flagged and no leak found."""
        return self.flagged.empty and self.leaks.empty

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: every frame as a list of records."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return json.loads(frame.to_json(orient="records"))

        return {
            "table": self.table, "rows": self.rows, "model_rows": self.model_rows,
            "clean": self.clean, "settings": self.settings, "seconds": self.seconds,
            "shortcuts": records(self.shortcuts), "learnability": records(self.learnability),
            "leakage": records(self.leakage),
        }  # fmt: skip

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")


def _strata(table: Table) -> list[Stratum]:
    everything = [Stratum("all rows", np.ones(len(table.frame), dtype=bool))]
    column = table.roles.event_type
    if column is None:
        return everything
    codes, uniques = pd.factorize(table.frame[column], sort=True)
    if len(uniques) > MAX_STRATA:
        return everything
    return everything + [Stratum(f"{column} = {u}", codes == i) for i, u in enumerate(uniques)]


def _event_type_codes(table: Table) -> np.ndarray | None:
    column = table.roles.event_type
    return None if column is None else pd.factorize(table.frame[column])[0]


def _shuffle_labels(table: Table, rng: np.random.Generator) -> Table:
    """The same table with its label columns (and label details) moved together to randomly
    permuted rows: a null model in which nothing can predict a label. Case keys stay with
    their rows, so that folds are grouped as in the real audit."""
    frame = table.frame.copy()
    permutation = rng.permutation(len(frame))
    for column in (*table.roles.labels, *table.roles.label_details):
        frame[column] = frame[column].iloc[permutation].to_numpy()
    return Table(frame, table.roles, f"{table.name} (labels shuffled)")


def audit(
    source: Source,
    table: str | None = None,
    *,
    roles: TableRoles | None = None,
    min_precision: float = 0.5,
    min_recall: float = 0.05,
    min_positives: int = 5,
    min_groups: int = 3,
    folds: int = 5,
    sample_rows: int = 50_000,
    seed: int = 0,
    shuffle_labels: bool = False,
    progress: bool = False,
) -> AuditReport:
    """Audit one labelled table for shortcuts, learnability and identifier leakage.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        A synthsim dataset folder, a Parquet or CSV file, or a DataFrame.
    table : str, optional
        Table of a dataset; by default its largest labelled table.
    roles : TableRoles, optional
        Column roles, merged over those the dataset records; a file or DataFrame needs at
        least ``labels``.
    min_precision, min_recall : float in (0, 1]
        A rule is flagged at this precision or more with at least this recall. Label values
        at least ``min_precision`` common are not audited (every rule would qualify).
    min_positives : int >= 1
        Labelled rows a flagged rule must select, so that chance pockets are not flagged.
    min_groups : int >= 1
        Independent groups (cases, with the entities only they involve) those rows must come
        from: a rule that isolates one or two cases (a burst in a narrow time window) tells
        that they happened, not how to find the next.
    folds : int in [2, 20]
        Cross-validation folds, grouped by case and entity.
    sample_rows : int >= 1000
        Rows the models train on: every labelled row (up to half of them) and a seeded
        uniform sample of the rest, weighted back to the table.
    seed : int >= 0
        Root seed of the sample, the folds, the models and the bootstrap.
    shuffle_labels : bool
        Permute the label columns first: a null run that should find nothing.
    progress : bool
        Show a progress bar on standard error.

    Raises
    ------
    ConfigError
        Bad parameters, a table without labels, or roles naming missing columns.
    """
    given = (min_precision, min_recall, min_positives, min_groups, folds, sample_rows, seed)
    settings = {name: validate_value("audit", name, spec, value)
                for (name, spec), value in zip(_PARAMS.items(), given, strict=True)}
    started = time.perf_counter()
    loaded = load(source, table, roles, prefer_labelled=True)
    if not loaded.roles.labels:
        raise ConfigError(f"{loaded.name} has no label columns to audit; name them with "
                          f"--label (roles.labels in Python).")  # fmt: skip
    if shuffle_labels:
        loaded = _shuffle_labels(loaded, stream(seed, 0, "audit-shuffle"))
    frame = loaded.frame
    targets, models, left_out = [], [], []
    for label in loaded.roles.labels:
        t, m, skipped = label_values(frame, label, settings["min_precision"],
                                      settings["min_positives"])  # fmt: skip
        targets, models, left_out = targets + t, models + m, left_out + skipped
    if not targets:
        raise ConfigError(f"{loaded.name}: no label value is both rare enough (prevalence "
                          f"below {settings['min_precision']}) and frequent enough (at least "
                          f"{settings['min_positives']} rows) to audit: "
                          f"{'; '.join(left_out)}.")  # fmt: skip
    steps = 2 + 2 * len(models)
    with progress_bar("audit", steps, "steps", progress) as advance:
        entity = entity_codes(frame, loaded.roles.entities)
        features, skipped = behavioural_features(loaded, entity)
        linked = linked_groups(entity, frame, loaded.roles.cases)
        advance(1)
        shortcuts = search(features, targets, _strata(loaded),
                           min_recall=settings["min_recall"],
                           min_positives=settings["min_positives"],
                           min_precision=settings["min_precision"],
                           groups=linked, min_groups=settings["min_groups"])  # fmt: skip
        advance(1)
        labelled = np.logical_or.reduce([m.y for m in models])
        rows, weights = model_sample(labelled, settings["sample_rows"],
                                     stream(seed, 0, "audit-sample"))  # fmt: skip
        sample = ModelRows.build(models, rows, weights, linked[rows], settings["folds"], seed)
        learn = evaluate(features, models, sample, seed, "audit-behaviour", advance,
                         event_types=_event_type_codes(loaded))
        sampled = Table(frame.iloc[rows].reset_index(drop=True), loaded.roles, loaded.name)
        identifiers = identifier_features(sampled, stream(seed, 0, "audit-identifiers"))
        chained = linked_groups(entity, frame, loaded.roles.cases, chain=True)[rows]
        leak = evaluate(identifiers, models,
                        ModelRows.build(models, rows, weights, chained, settings["folds"], seed),
                        seed, "audit-identifiers", advance, local=True)  # fmt: skip
    z = float(norm.ppf(1 - 0.05 / (2 * len(learn))))
    learnability = pd.DataFrame([_metric_row(e, z) for e in learn])
    leakage = pd.DataFrame([_metric_row(e, z) for e in leak])[[
        "label", "value", "positives", "labelled_groups", "roc_auc", "roc_auc_low",
        "roc_auc_high"]]  # fmt: skip
    leakage["leak"] = leakage["roc_auc_low"] > 0.5
    settings |= {
        "false_positive_rates": list(FALSE_POSITIVE_RATES), "shuffle_labels": shuffle_labels,
        "interval": f"simultaneous 95% over {len(learn)} label values (Bonferroni); "
        "deviation bounded by the mean of the folds' entity-bootstrap deviations",
        "features": [f.name for f in features],
        "identifier_features": [f.name for f in identifiers], "columns_left_out": skipped,
        "values_not_audited": left_out, "roles": loaded.roles.to_dict(),
    }  # fmt: skip
    return AuditReport(loaded.name, len(frame), len(rows), shortcuts, learnability, leakage,
                       settings, time.perf_counter() - started)  # fmt: skip


def _metric_row(evaluation: Evaluation, z: float) -> dict[str, Any]:
    metrics = evaluation.metrics
    half = z * metrics.roc_auc_sd
    row = {
        "label": evaluation.label, "value": evaluation.value,
        "positives": evaluation.positives, "labelled_groups": metrics.labelled_groups,
        "prevalence": evaluation.prevalence, "roc_auc": metrics.roc_auc,
        "roc_auc_low": max(0.0, metrics.roc_auc - half),
        "roc_auc_high": min(1.0, metrics.roc_auc + half), "pr_auc": metrics.pr_auc,
    }  # fmt: skip
    for rate, recall in metrics.recall_at_fpr.items():
        row[f"recall_at_fpr_{rate:g}"] = recall
    within = evaluation.within_types or metrics
    half = z * within.roc_auc_sd
    row |= {"roc_auc_within_types": within.roc_auc,
            "roc_auc_within_types_low": max(0.0, within.roc_auc - half),
            "roc_auc_within_types_high": min(1.0, within.roc_auc + half)}  # fmt: skip
    return row
