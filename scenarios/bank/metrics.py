"""Run metrics of the bank: volume, declines, the share of each typology and how precise the
monitoring rules are, computed from a finished run's ``transactions`` and ``alerts``.

Shares and sums are weighted by ``sample_weight`` (1 on every row unless
``oversampling.factor`` > 1, when a crime case's rows count 1/factor), so they are the
natural-rate figures whatever the oversampling; counts are rows as written.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from rules.financial_crime import TYPOLOGIES

__all__ = ["bank_metrics", "METRIC_NAMES"]

_TRANSACTION_COLUMNS = ["transaction_id", "amount", "status", "fraud_type", "is_fraud",
                        "is_laundering", "sample_weight"]  # fmt: skip

METRIC_NAMES = (
    "transactions", "volume_amount", "decline_rate",
    *(f"prevalence.{t.name}" for t in TYPOLOGIES),
    "alerts", "alert_precision",
)  # fmt: skip
"""The metrics :func:`bank_metrics` returns, in order."""


def bank_metrics(read: Callable[..., pd.DataFrame]) -> dict[str, float]:
    """Metrics of one run (every shard together).

    Parameters
    ----------
    read : callable
        ``read(table, columns=None)`` returns a table of the run as a DataFrame.

    Returns
    -------
    dict of str to float
        ``transactions``: rows of ``transactions`` (attempted transactions, declined ones
        included), a count. ``volume_amount``: dollars moved by approved transactions
        (weighted sum of ``amount``), USD. ``decline_rate``: weighted share of transactions
        declined, in [0, 1]. ``prevalence.<typology>`` for each typology of
        ``rules.financial_crime.TYPOLOGIES``: weighted share of transactions whose
        ``fraud_type`` is that typology, in [0, 1]. ``alerts``: rows of ``alerts``, a count.
        ``alert_precision``: weighted share of alerts whose ``transaction_id`` is a labelled
        transaction (``is_fraud`` or ``is_laundering``), each alert weighted by its
        transaction's ``sample_weight``, in [0, 1]; NaN without alerts.
    """
    alerts = read("alerts", ["transaction_id"])
    alert_ids = alerts.get("transaction_id", pd.Series([])).to_numpy(np.int64)
    alerted_ids, per_id = np.unique(alert_ids, return_counts=True)
    sums: dict[str, float] = {}
    for tx in read("transactions", _TRANSACTION_COLUMNS, each_part=True):  # memory: a part
        for name, value in _part_sums(tx, alerted_ids, per_id).items():
            sums[name] = sums.get(name, 0.0) + value
    if sums.get("alert rows", 0.0) != len(alert_ids):
        raise ValueError("an alert names a transaction_id missing from the transactions")
    total = sums.get("weight", 0.0)
    metrics = {
        "transactions": sums.get("rows", 0.0),
        "volume_amount": sums.get("approved amount", 0.0),
        "decline_rate": _share(sums.get("declined", 0.0), total),
    }
    for typology in TYPOLOGIES:
        metrics[f"prevalence.{typology.name}"] = _share(sums.get(typology.name, 0.0), total)
    metrics["alerts"] = float(len(alert_ids))
    metrics["alert_precision"] = _share(sums.get("alerted labelled", 0.0),
                                        sums.get("alerted", 0.0))  # fmt: skip
    return metrics


def _part_sums(tx: pd.DataFrame, alerted_ids: np.ndarray,
               per_id: np.ndarray) -> dict[str, float]:  # fmt: skip
    """Additive figures of one part of ``transactions``: rows, weights, weighted sums; an
    alert counts once per alert (``per_id`` alerts on each of the sorted ``alerted_ids``)."""
    weight = _floats(tx["sample_weight"])
    approved = (tx["status"] == "approved").to_numpy(dtype=bool, na_value=False)
    declined = (tx["status"] == "declined").to_numpy(dtype=bool, na_value=False)
    labelled = (tx["is_fraud"].to_numpy(dtype=bool, na_value=False)
                | tx["is_laundering"].to_numpy(dtype=bool, na_value=False))  # fmt: skip
    ids = tx["transaction_id"].to_numpy(np.int64)
    position = np.searchsorted(alerted_ids, ids).clip(0, max(len(alerted_ids) - 1, 0))
    found = (alerted_ids[position] == ids) if len(alerted_ids) else np.zeros(len(ids), bool)
    alerts = np.where(found, per_id[position] if len(per_id) else 0, 0).astype(np.float64)
    fraud_type = tx["fraud_type"]
    sums = {
        "rows": float(len(tx)), "weight": float(weight.sum()),
        "approved amount": float((_floats(tx["amount"])[approved] * weight[approved]).sum()),
        "declined": float(weight[declined].sum()),
        "alert rows": float(alerts.sum()), "alerted": float((weight * alerts).sum()),
        "alerted labelled": float((weight * alerts)[labelled].sum()),
    }  # fmt: skip
    for typology in TYPOLOGIES:
        rows = (fraud_type == typology.name).to_numpy(dtype=bool, na_value=False)
        sums[typology.name] = float(weight[rows].sum())
    return sums


def _floats(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else float("nan")
