"""How faithful are synthetic retail tables to real ones? The yardstick of the retail scenario.

:func:`fidelity_scores` compares synthetic and real tables in The Complete Journey's columns
and returns every measure with its acceptance threshold:

- **column shape** (>= 0.90) of transactions' sales_value, quantity, retail_disc (KS
  complement) and hour of day and weekday of transaction_timestamp (TV complement), with
  the metrics ``synthsim compare`` reports (:mod:`calibration.fidelity.metrics`);
- **KS complement** (>= 0.90) of items and spend per basket, visits per household, days
  between a household's visits, and the per-household share of spend of each department
  holding >= 1% of real spend (score: their real-spend-weighted mean; each department is
  also reported, without a threshold);
- **TSTR ratio** (>= 0.90): ROC-AUC of predicting a household's next-week visit, trained on
  synthetic over trained on real, both tested on held-out real households
  (:func:`~scenarios.retail.fidelity_measures.next_week_visit_tstr`);
- **exact copies** (= 0): synthetic baskets of >= 4 rows, and whole household histories,
  identical to real ones (:func:`~scenarios.retail.fidelity_measures.exact_copies`).

Two disjoint halves of The Complete Journey's households pass every threshold against each
other (``tests/test_retail_fidelity.py``), so the yardstick is attainable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from calibration.fidelity.metrics import ks_complement, numeric_values, tv_complement
from scenarios.retail.elasticity import discount_elasticity
from scenarios.retail.fidelity_measures import (
    COPY_MIN_ITEMS,
    basket_gaps,
    basket_table,
    check_columns,
    copy_counts,
    department_spend_shares,
    exact_copies,
    gaps_days,
    household_table,
    next_week_visit_tstr,
)
from simulations.errors import ConfigError
from simulations.params import Interval, Param, validate_value

__all__ = ["DEPARTMENT_MIN_SHARE", "ELASTICITY_DEPARTMENTS", "THRESHOLDS", "basket_table",
           "department_share_scores", "department_spend_shares", "elasticity_scores",
           "exact_copies", "fidelity_figure", "fidelity_scores", "gaps_days",
           "household_table", "next_week_visit_tstr"]  # fmt: skip

THRESHOLDS = {"column shape": 0.90, "KS complement": 0.90, "TSTR ratio": 0.90,
              "exact copies": 0}  # fmt: skip
"""Acceptance threshold of each kind of measure (scores at least this; copies at most)."""
DEPARTMENT_MIN_SHARE = 0.01
"""Departments holding less than this share of real spend are not scored."""
_TX_COLUMNS = ("household_id", "store_id", "basket_id", "product_id", "quantity", "sales_value",
               "retail_disc", "week", "transaction_timestamp")  # fmt: skip
_NUMERIC = ("sales_value", "quantity", "retail_disc")
_CLOCK = {"hour of day": lambda t: t.dt.hour, "weekday": lambda t: t.dt.dayofweek}


def _tables(name: str, tables: object, fallback_products: pd.DataFrame | None,
            ) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """(transactions, products) of one side; synthetic data may borrow the real products."""
    if not isinstance(tables, dict) or "transactions" not in tables or \
            ("products" not in tables and fallback_products is None):  # fmt: skip
        raise ConfigError(f"The {name!r} parameter of fidelity_scores must be a dict of tables "
                          f"with 'transactions' and 'products'. Got {tables!r:.80} instead.")
    check_columns("fidelity_scores", f"{name}['transactions']", tables["transactions"],
                  _TX_COLUMNS)  # fmt: skip
    products = tables.get("products", fallback_products)
    check_columns("fidelity_scores", f"{name}['products']", products,
                  ("product_id", "department"))  # fmt: skip
    return tables["transactions"], products


def _distributions(tx: pd.DataFrame) -> dict[str, np.ndarray]:
    """The per-basket and per-household distributions the KS complements compare."""
    baskets = basket_table(tx)
    return {"items per basket": baskets["items"].to_numpy(np.float64),
            "spend per basket": baskets["spend"].to_numpy(np.float64),
            "visits per household": baskets.groupby("household_id").size().to_numpy(np.float64),
            "days between visits": basket_gaps(baskets)}  # fmt: skip


def department_share_scores(synthetic: tuple[pd.DataFrame, pd.DataFrame],
                            real: tuple[pd.DataFrame, pd.DataFrame]) -> pd.Series:  # fmt: skip
    """KS complement of the per-household spend share of each department holding at least
    :data:`DEPARTMENT_MIN_SHARE` of real spend (``(transactions, products)`` pairs), indexed
    by department, in decreasing real spend; its ``attrs["weights"]`` holds the real spend
    shares (summing to 1) that weight the overall score."""
    syn, ref = department_spend_shares(*synthetic), department_spend_shares(*real)
    spend = ref.mul(real[0].groupby("household_id")["sales_value"].sum(), axis=0).sum()
    share = (spend / spend.sum()).sort_values(ascending=False)
    kept = share[share >= DEPARTMENT_MIN_SHARE]
    scores = pd.Series({d: ks_complement(ref[d].to_numpy(np.float64),
                                         syn[d].to_numpy(np.float64) if d in syn else
                                         np.zeros(len(syn))) for d in kept.index},
                       dtype=np.float64)  # fmt: skip
    scores.attrs["weights"] = kept / kept.sum()
    return scores


def fidelity_scores(synthetic: dict[str, pd.DataFrame], real: dict[str, pd.DataFrame], *,
                    seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Every fidelity measure of ``synthetic`` against ``real``, with its threshold.

    Parameters
    ----------
    synthetic, real : dict of str to pandas.DataFrame
        ``transactions`` (The Complete Journey's columns; amounts in USD) and ``products``
        (product_id, department); a synthetic side without ``products`` uses the real one.
    seed : int, default 0
        Seeds the split of real households in the TSTR measure (>= 0).

    Returns
    -------
    pandas.DataFrame
        One row per measure: ``measure``, ``kind`` ("column shape", "KS complement", "TSTR
        ratio", "exact copies", or the unthresholded details "KS complement (department)" and
        "ROC-AUC"), ``score`` (in [0, 1]; a count for exact copies), ``threshold`` (NaN for
        details) and ``passed`` (score >= threshold, copies <= threshold; NaN for details).
    """
    seed = validate_value("fidelity_scores", "seed", Param("int", Interval(int, 0, None)), seed)
    real_tx, real_products = _tables("real", real, None)
    syn_tx, syn_products = _tables("synthetic", synthetic, real_products)
    rows = [(c, "column shape", ks_complement(numeric_values(real_tx[c]),
                                              numeric_values(syn_tx[c]))) for c in _NUMERIC]
    rows += [(name, "column shape", tv_complement(clock(real_tx["transaction_timestamp"]),
                                                  clock(syn_tx["transaction_timestamp"])))
             for name, clock in _CLOCK.items()]  # fmt: skip
    ref, syn = _distributions(real_tx), _distributions(syn_tx)
    rows += [(name, "KS complement", ks_complement(ref[name], syn[name])) for name in ref]
    departments = department_share_scores((syn_tx, syn_products), (real_tx, real_products))
    weighted = float((departments * departments.attrs["weights"]).sum())
    rows.append(("department spend share", "KS complement", weighted))
    auc_a, auc_b = next_week_visit_tstr(syn_tx, real_tx, seed)
    rows.append(("next-week visit (AUC synthetic-trained / real-trained)", "TSTR ratio",
                 auc_a / auc_b))  # fmt: skip
    baskets, histories = copy_counts(syn_tx, real_tx, COPY_MIN_ITEMS)
    rows += [(f"copied baskets (>= {COPY_MIN_ITEMS} items)", "exact copies", baskets),
             ("copied household histories", "exact copies", histories)]  # fmt: skip
    out = pd.DataFrame(rows, columns=["measure", "kind", "score"])
    out["threshold"] = out["kind"].map(THRESHOLDS).astype(np.float64)
    copies = out["kind"] == "exact copies"
    out["passed"] = np.where(copies, out["score"] <= out["threshold"],
                             out["score"] >= out["threshold"]).astype(object)  # fmt: skip
    details = [(f"department spend share: {d}", "KS complement (department)", s)
               for d, s in departments.items()]  # fmt: skip
    details += [("next-week visit AUC, trained on synthetic", "ROC-AUC", auc_a),
                ("next-week visit AUC, trained on real", "ROC-AUC", auc_b)]
    extra = pd.DataFrame(details, columns=["measure", "kind", "score"])
    extra["threshold"], extra["passed"] = np.nan, np.nan
    return pd.concat([out, extra], ignore_index=True)


def _overlay(ax, real: np.ndarray, synthetic: np.ndarray, title: str) -> None:
    """Density histograms of both samples on bins spanning the real 0.5-99.5% range."""
    low, high = np.nanpercentile(real, [0.5, 99.5]) if len(real) else (0.0, 1.0)
    bins = np.linspace(low, max(high, low + 1e-9), 41)
    for values, label in ((real, "real"), (synthetic, "synthetic")):
        ax.hist(np.clip(values, low, high), bins=bins, density=True, histtype="step",
                linewidth=1.5, label=label)  # fmt: skip
    ax.set_title(title, fontsize=9)


def _bars(ax, real: pd.Series, synthetic: pd.Series, title: str) -> None:
    """Side-by-side bars of two share Series over the real index."""
    x = np.arange(len(real))
    ax.bar(x - 0.2, real.to_numpy(), width=0.4, label="real")
    ax.bar(x + 0.2, synthetic.reindex(real.index, fill_value=0).to_numpy(), width=0.4,
           label="synthetic")  # fmt: skip
    ax.set_xticks(x, [str(i) for i in real.index], fontsize=6,
                  rotation=90 if max(len(str(i)) for i in real.index) > 3 else 0)  # fmt: skip
    ax.set_title(title, fontsize=9)


ELASTICITY_DEPARTMENTS = ("GROCERY", "DRUG GM", "PRODUCE", "MEAT-PCKGD", "MEAT", "DELI")
"""Departments whose discount elasticity is scored (each holds over 2% of the data's rows)."""


def elasticity_scores(synthetic: dict[str, pd.DataFrame],
                      real: dict[str, pd.DataFrame]) -> pd.DataFrame:  # fmt: skip
    """Rows of a fidelity table: each of :data:`ELASTICITY_DEPARTMENTS`' discount elasticity
    measured on synthetic data (score) and whether it lies in the real data's 95% interval
    (threshold: the interval's half-width around the real estimate)."""
    products = real["products"]
    ours = discount_elasticity(synthetic["transactions"], products).set_index("department")
    theirs = discount_elasticity(real["transactions"], products).set_index("department")
    rows = []
    for department in ELASTICITY_DEPARTMENTS:
        value = ours.loc[department, "elasticity"]
        low, high = theirs.loc[department, ["ci_low", "ci_high"]]
        rows.append({"measure": f"discount elasticity: {department}",
                     "kind": "in the data's 95% interval", "score": value,
                     "threshold": (high - low) / 2, "passed": bool(low <= value <= high)})
    return pd.DataFrame(rows)


def fidelity_figure(synthetic: dict[str, pd.DataFrame], real: dict[str, pd.DataFrame],
                    ) -> Figure:  # fmt: skip
    """A 2 x 4 panel figure (matplotlib :class:`~matplotlib.figure.Figure`, drawn with the
    Agg canvas; save it with ``fig.savefig(path)``) overlaying real and synthetic: items and
    spend (USD) per basket, visits per household, days between visits, hour of day, weekday
    (0 = Monday) and the mean share of household spend of each scored department."""
    real_tx, real_products = _tables("real", real, None)
    syn_tx, syn_products = _tables("synthetic", synthetic, real_products)
    ref, syn = _distributions(real_tx), _distributions(syn_tx)
    fig = Figure(figsize=(16, 7.5), layout="constrained")
    axes = fig.subplots(2, 4).ravel()
    for ax, name in zip(axes, ref, strict=False):
        _overlay(ax, ref[name], syn[name], name)
    for ax, (name, clock) in zip(axes[4:6], _CLOCK.items(), strict=True):
        share = [clock(t["transaction_timestamp"]).value_counts(normalize=True).sort_index()
                 for t in (real_tx, syn_tx)]  # fmt: skip
        _bars(ax, share[0], share[1], f"{name} (share of rows)")
    kept = department_share_scores((syn_tx, syn_products), (real_tx, real_products)).index
    means = [department_spend_shares(t, p).mean() for t, p in ((real_tx, real_products),
                                                               (syn_tx, syn_products))]
    _bars(axes[6], means[0].reindex(kept), means[1], "mean household spend share by department")
    axes[7].axis("off")
    axes[0].legend(fontsize=8)
    return fig
