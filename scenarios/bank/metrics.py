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
    tx = read("transactions", _TRANSACTION_COLUMNS)
    weight = _floats(tx["sample_weight"])
    total = weight.sum()
    approved = (tx["status"] == "approved").to_numpy(dtype=bool, na_value=False)
    declined = (tx["status"] == "declined").to_numpy(dtype=bool, na_value=False)
    metrics = {
        "transactions": float(len(tx)),
        "volume_amount": float((_floats(tx["amount"])[approved] * weight[approved]).sum()),
        "decline_rate": _share(weight[declined].sum(), total),
    }
    fraud_type = tx["fraud_type"]
    for typology in TYPOLOGIES:
        rows = (fraud_type == typology.name).to_numpy(dtype=bool, na_value=False)
        metrics[f"prevalence.{typology.name}"] = _share(weight[rows].sum(), total)
    alerts = read("alerts", ["transaction_id"])
    alerted = _rows_of(tx["transaction_id"], alerts.get("transaction_id", pd.Series([])))
    labelled = (tx["is_fraud"].to_numpy(dtype=bool, na_value=False)
                | tx["is_laundering"].to_numpy(dtype=bool, na_value=False))  # fmt: skip
    metrics["alerts"] = float(len(alerted))
    metrics["alert_precision"] = _share((weight[alerted] * labelled[alerted]).sum(),
                                        weight[alerted].sum())  # fmt: skip
    return metrics


def _rows_of(ids: pd.Series, keys: pd.Series) -> np.ndarray:
    """Row positions in ``ids`` (unique) of each of ``keys`` (all present), vectorised."""
    ids, keys = ids.to_numpy(dtype=np.int64), keys.to_numpy(dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    rows = order[np.searchsorted(ids, keys, sorter=order).clip(0, max(len(ids) - 1, 0))]
    if len(keys) and not np.array_equal(ids[rows], keys):
        raise ValueError("an alert names a transaction_id missing from the transactions")
    return rows


def _floats(column: pd.Series) -> np.ndarray:
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole > 0 else float("nan")
