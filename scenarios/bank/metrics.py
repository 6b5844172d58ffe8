"""Run metrics of the bank: volume, declines, the share of each typology and how precise the
monitoring rules are.

Each shard tallies additive sums of its transaction chunks and their alerts as it writes them
(:func:`chunk_tallies`, summed over shards in the manifest's ``summary``), and
:func:`bank_metrics` turns the run's sums into metrics, so a run of hundreds of millions of
rows never reads its output back.

Shares and sums are weighted by ``sample_weight`` (1 on every row unless
``oversampling.factor`` > 1, when a crime case's rows count 1/factor), so they are the
natural-rate figures whatever the oversampling; counts are rows as written.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rules.financial_crime import TYPOLOGIES
from simulations.tallies import share, tallied, total

__all__ = ["bank_metrics", "chunk_tallies", "METRIC_NAMES"]

METRIC_NAMES = (
    "transactions", "volume_amount", "decline_rate",
    *(f"prevalence.{t.name}" for t in TYPOLOGIES),
    "alerts", "alert_precision",
)  # fmt: skip
"""The metrics :func:`bank_metrics` returns, in order."""

def chunk_tallies(transactions: pa.RecordBatch, alerts: pa.RecordBatch) -> dict[str, float]:
    """Additive sums of one chunk of ``transactions`` and the ``alerts`` it raised.

    Parameters
    ----------
    transactions : RecordBatch
        Rows of the ``transactions`` table (at least ``transaction_id``, ``amount``,
        ``status``, ``fraud_type``, ``is_fraud``, ``is_laundering``, ``sample_weight``).
    alerts : RecordBatch
        Rows of the ``alerts`` table whose ``transaction_id`` is in ``transactions``; an
        alert counts once per alert, several on one transaction included.

    Returns
    -------
    dict of str to float
        Keys ``tally.<name>``: rows, weights (sums of ``sample_weight``) and the weighted
        approved amount (USD), to be summed over chunks and shards.
    """
    weight = _floats(transactions.column("sample_weight"))
    status = transactions.column("status")
    approved = _mask(pc.equal(status, "approved"))
    declined = _mask(pc.equal(status, "declined"))
    labelled = _mask(pc.or_(transactions.column("is_fraud"),
                            transactions.column("is_laundering")))  # fmt: skip
    position = pc.index_in(alerts.column("transaction_id"),
                           value_set=transactions.column("transaction_id"))  # fmt: skip
    if position.null_count:
        raise ValueError("an alert names a transaction_id missing from its chunk")
    position = position.to_numpy()
    amount = _floats(transactions.column("amount"))
    tallies = {
        "transactions": float(transactions.num_rows),
        "weight": float(weight.sum()),
        "approved_amount": float((amount[approved] * weight[approved]).sum()),
        "declined_weight": float(weight[declined].sum()),
        "alerts": float(alerts.num_rows),
        "alerts_weight": float(weight[position].sum()),
        "alerts_labelled_weight": float(weight[position][labelled[position]].sum()),
    }
    fraud_type = transactions.column("fraud_type")
    for typology in TYPOLOGIES:
        tallies[f"weight.{typology.name}"] = float(
            weight[_mask(pc.equal(fraud_type, typology.name))].sum())
    return tallied(tallies)


def bank_metrics(summary: Mapping[str, float]) -> dict[str, float]:
    """Metrics of one run from its ``summary``: the :func:`chunk_tallies` of every chunk of
    every shard, summed.

    Returns
    -------
    dict of str to float
        ``transactions``: rows of ``transactions`` (attempted transactions, declined ones
        included), a count. ``volume_amount``: dollars moved by approved transactions
        (weighted sum of ``amount``), USD. ``decline_rate``: weighted share of transactions
        declined, in [0, 1]. ``prevalence.<typology>`` for each typology of
        ``rules.financial_crime.TYPOLOGIES``: weighted share of transactions whose
        ``fraud_type`` is that typology, in [0, 1]. ``alerts``: rows of ``alerts``, a count.
        ``alert_precision``: weighted share of alerts whose transaction is labelled
        (``is_fraud`` or ``is_laundering``), each alert weighted by its transaction's
        ``sample_weight``, in [0, 1]; NaN without alerts.
    """
    def tally(name: str) -> float:
        return total(summary, name)

    weight = tally("weight")
    metrics = {
        "transactions": tally("transactions"),
        "volume_amount": tally("approved_amount"),
        "decline_rate": share(tally("declined_weight"), weight),
    }
    for typology in TYPOLOGIES:
        metrics[f"prevalence.{typology.name}"] = share(tally(f"weight.{typology.name}"), weight)
    metrics["alerts"] = tally("alerts")
    metrics["alert_precision"] = share(tally("alerts_labelled_weight"), tally("alerts_weight"))
    return metrics


def _floats(column: pa.Array) -> np.ndarray:
    return pc.fill_null(column, np.nan).to_numpy(zero_copy_only=False).astype(np.float64)


def _mask(column: pa.Array) -> np.ndarray:
    """A boolean column as a numpy mask, null as False."""
    return pc.fill_null(column, False).to_numpy(zero_copy_only=False)
