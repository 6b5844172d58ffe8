"""Discount semi-elasticity of purchase frequency, per department, from transactions alone.

The estimator (also the one the retail fitter targets, so that real and synthetic data are
measured the same way) is a two-way fixed-effects regression on a product-week panel:

1. Rows whose regular (shelf) value ``sales_value + retail_disc`` is not positive are dropped;
   the discount depth of a row is ``retail_disc / (sales_value + retail_disc)``, in [0, 1].
2. For each product ``p`` and week ``w`` with at least one row: ``rows_pw``, the number of
   transaction rows, and ``depth_pw``, the mean depth of those rows. Product-weeks without a
   row are absent (not zero): the model is of how often a product sells *when it sells*.
3. Per department (or any ``products`` column given as ``level``), products with rows in at
   least ``min_weeks`` distinct weeks are kept, and

       log(rows_pw) = alpha_p + gamma_w + beta * depth_pw + e_pw

   is fitted by least squares after the two-way within transformation (alternating product
   and week demeaning of both sides until no mean moves by more than 1e-10; exact for an
   unbalanced panel by the Frisch-Waugh-Lovell theorem).
4. ``beta`` (the *semi-elasticity*: the change in log rows per unit of depth, so a 10-point
   deeper discount multiplies the rows by about ``exp(0.1 * beta)``) gets a cluster-robust
   (by product) standard error with Stata's small-sample factor
   ``G/(G-1) * (N-1)/(N-K)`` (``G`` products, ``N`` product-weeks, ``K`` the week effects
   plus ``beta``; product effects are nested in the clusters), and a 95% interval from the
   t distribution with ``G - 1`` degrees of freedom.

``beta`` is a descriptive statistic, not the coefficient of a Poisson rate model: with few
rows per product-week (most of The Complete Journey's have 1 to 3) the log of a count
truncated at 1 is biased (Santos Silva & Tenreyro 2006), by about ``beta / (2 * mean rows)``
even without truncation. A fit should therefore match this statistic measured the same way
on synthetic and real data, not plug it into a simulator as a rate coefficient.

A department with fewer than :data:`MIN_PRODUCTS` kept products, fewer than :data:`MIN_OBS`
product-weeks, or no within-product variation of depth gets NaN figures, not an error.
Deterministic; about one second on The Complete Journey's 1.46 million rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from scenarios.retail.fixed_effects import two_way_regression
from simulations.errors import ConfigError
from simulations.params import Interval, Param, validate_value

__all__ = ["MIN_OBS", "MIN_PRODUCTS", "discount_elasticity"]

MIN_PRODUCTS = 5
"""Fewest products (clusters) a department needs for a figure."""
MIN_OBS = 50
"""Fewest product-weeks a department needs for a figure."""
_OUT = ["elasticity", "ci_low", "ci_high", "n_products", "n_obs"]


def _panel(transactions: pd.DataFrame) -> pd.DataFrame:
    """Product-week panel: product_id, week, rows (count), depth (mean discount depth)."""
    regular = transactions["sales_value"] + transactions["retail_disc"]
    keep = regular > 0
    frame = pd.DataFrame({"product_id": transactions["product_id"][keep].to_numpy(),
                          "week": transactions["week"][keep].to_numpy(),
                          "depth": (transactions["retail_disc"][keep] / regular[keep]).to_numpy()})
    return (frame.groupby(["product_id", "week"], sort=False)["depth"]
            .agg(rows="size", depth="mean").reset_index())  # fmt: skip


def _fit(panel: pd.DataFrame) -> tuple[float, float, float]:
    """(beta, ci_low, ci_high) of one department's panel (NaN when not estimable)."""
    fit = two_way_regression(np.log(panel["rows"].to_numpy(np.float64)),
                             panel[["depth"]].to_numpy(np.float64),
                             panel["product_id"].to_numpy(), panel["week"].to_numpy())
    beta, se = float(fit.coefficients[0]), float(fit.standard_errors[0])
    half = float(stats.t.ppf(0.975, fit.n_clusters - 1)) * se
    return beta, beta - half, beta + half


def discount_elasticity(transactions: pd.DataFrame, products: pd.DataFrame, *,
                        level: str = "department", min_weeks: int = 10) -> pd.DataFrame:
    """Discount semi-elasticity of weekly purchase rows, per department (see the module doc).

    Parameters
    ----------
    transactions : pandas.DataFrame
        The Complete Journey's ``transactions`` (needs product_id, week, sales_value and
        retail_disc; amounts in USD, discounts positive), one row per line item.
    products : pandas.DataFrame
        ``products``, with product_id and the ``level`` column.
    level : str, default "department"
        The ``products`` column whose values group products (e.g. ``"product_category"``).
    min_weeks : int, default 10
        A product is kept when it has rows in at least this many distinct weeks (>= 2).

    Returns
    -------
    pandas.DataFrame
        One row per value of ``level`` among the transactions' products, sorted by ``n_obs``
        descending: ``level`` (the column is named after it), ``elasticity`` (semi-elasticity,
        change of log rows per unit of depth), ``ci_low``, ``ci_high`` (95% cluster-robust
        interval), ``n_products`` (products kept), ``n_obs`` (their product-weeks).
    """
    min_weeks = validate_value("discount_elasticity", "min_weeks",
                               Param("int", Interval(int, 2, None)), min_weeks)  # fmt: skip
    for name, frame, needed in [("transactions", transactions,
                                 ("product_id", "week", "sales_value", "retail_disc")),
                                ("products", products, ("product_id", level))]:  # fmt: skip
        if missing := [c for c in needed if c not in frame.columns]:
            raise ConfigError(f"The {name!r} parameter of discount_elasticity must have the "
                              f"columns {list(needed)}. Got a table lacking {missing} instead.")
    panel = _panel(transactions)
    weeks = panel.groupby("product_id")["week"].transform("size")
    panel = panel[weeks >= min_weeks]
    groups = products.drop_duplicates("product_id").set_index("product_id")[level]
    panel = panel.assign(group=panel["product_id"].map(groups).to_numpy())
    rows = []
    for value in pd.unique(transactions["product_id"].map(groups).dropna()):
        part = panel[panel["group"] == value]
        n_products, n_obs = int(part["product_id"].nunique()), len(part)
        fit = (np.nan,) * 3
        if n_products >= MIN_PRODUCTS and n_obs >= MIN_OBS:
            fit = _fit(part)
        rows.append((value, *fit, n_products, n_obs))
    out = pd.DataFrame(rows, columns=[level, *_OUT])
    return out.sort_values(["n_obs", level], ascending=[False, True], ignore_index=True)
