"""An overview figure of a bank dataset: when, how much, how many, and which crimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.dataset as ds

__all__ = ["overview_figure"]

_COLUMNS = ["timestamp", "type", "amount", "status", "fraud_type", "case_id"]


def _transactions(dataset: Path):
    fmt = "csv" if any((dataset / "transactions").glob("*.csv")) else "parquet"
    table = ds.dataset(dataset / "transactions", format=fmt).to_table(columns=_COLUMNS)
    return table.to_pandas()


def overview_figure(dataset: str | Path):
    """A 2x2 matplotlib figure summarising the transactions of ``dataset``.

    Panels: transactions per hour of day by type; amount distributions by type (log
    scale); approved, declined and labelled transactions per day; cases per typology.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tx = _transactions(Path(dataset))
    fig, axes = plt.subplots(2, 2, figsize=(14, 9), constrained_layout=True)
    fig.suptitle(f"synthsim bank dataset: {Path(dataset).name} ({len(tx):,} transactions)")

    hours = tx.timestamp.dt.hour
    ax = axes[0, 0]
    for kind, group in hours.groupby(tx.type.astype(str)):
        counts = np.bincount(group, minlength=24)
        ax.plot(range(24), counts, marker=".", label=kind)
    ax.set(title="Transactions by hour of day", xlabel="hour", ylabel="transactions",
           yscale="log", xticks=range(0, 24, 3))  # fmt: skip
    ax.legend(fontsize="small")

    ax = axes[0, 1]
    bins = np.logspace(-1, 5, 60)
    for kind, group in tx.amount.groupby(tx.type.astype(str)):
        ax.hist(group.clip(0.1, 1e5), bins=bins, histtype="step", label=kind)
    ax.set(title="Amounts by type", xlabel="amount (USD)", ylabel="transactions",
           xscale="log", yscale="log")  # fmt: skip
    ax.legend(fontsize="small")

    ax = axes[1, 0]
    day = tx.timestamp.dt.floor("D")
    declined = tx.status.astype(str) == "declined"
    ax.plot(day[~declined].value_counts().sort_index(), label="approved")
    ax.plot(day[declined].value_counts().sort_index(), label="declined")
    labelled = tx.fraud_type.notna()
    ax.plot(day[labelled].value_counts().sort_index(), label="fraud or laundering")
    ax.set(title="Transactions per day", ylabel="transactions", yscale="log")
    ax.legend(fontsize="small")
    ax.tick_params(axis="x", labelrotation=30)

    ax = axes[1, 1]
    cases = tx[labelled].groupby(tx.fraud_type[labelled].astype(str)).case_id.nunique()
    rows = tx[labelled].fraud_type.astype(str).value_counts()
    names = sorted(cases.index)
    y = np.arange(len(names))
    ax.barh(y - 0.2, [cases[n] for n in names], height=0.4, label="cases")
    ax.barh(y + 0.2, [rows[n] for n in names], height=0.4, label="transactions")
    ax.set(title="Labelled cases and transactions by typology", yticks=y, yticklabels=names,
           xscale="log")  # fmt: skip
    ax.legend(fontsize="small")
    return fig
