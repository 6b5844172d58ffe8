"""Run metrics of the retail scenario, tallied by each shard as it writes its rows.

Every figure is a sum over a shard's households (households never span shards), so the
manifest's summed ``summary`` holds the run's totals and no table is read back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from simulations.tallies import share, tallied, total

__all__ = ["METRICS", "ShardTally", "promotion_weeks", "retail_metrics"]

RETENTION_WEEKS = 4
"""Retention: households shopping in the first this many weeks that shop in the last ones."""

METRICS = {
    "revenue": "what households paid: sales value less coupon and match discounts (USD)",
    "units": "quantity bought of products sold in packs (metered fuel left out)",
    "baskets": "baskets (a count)",
    "visits_per_household": "baskets per household over the run",
    "retention": f"share of households shopping in the first {RETENTION_WEEKS} weeks that "
                 f"also shop in the last {RETENTION_WEEKS}",
    "discounted_share": "share of rows bought with a loyalty discount",
    "promotion_lift": "rows per product-week on promotion over rows per product-week off it",
    "coupon_redemptions": "campaign coupons redeemed (a count)",
}  # fmt: skip
"""Metric names (beside ``penetration.<department>``: the share of households that bought
in the department) and what they measure."""


class ShardTally:
    """Additive figures of one shard's rows, fed chunk by chunk.

    Parameters
    ----------
    n_households : int
        Households of the shard (row ``h`` indexes them).
    product_department, metered : int array, bool array, shape (n_products,)
        Each product's department index and whether it is sold by measure.
    n_departments, weeks : int
        Departments, and the run's weeks.
    on_promotion : bool array, shape (weeks, n_products)
    """

    def __init__(self, n_households: int, product_department: np.ndarray, metered: np.ndarray,
                 n_departments: int, weeks: int, on_promotion: np.ndarray) -> None:  # fmt: skip
        self.product_department, self.metered = product_department, metered
        self.on_promotion, self.weeks = on_promotion, weeks
        self.bought = np.zeros((n_households, n_departments), bool)
        self.early = np.zeros(n_households, bool)
        self.late = np.zeros(n_households, bool)
        self.sums: Counter = Counter()

    def feed(self, rows: np.ndarray, week: np.ndarray, coupon_cents: np.ndarray,
             match_cents: np.ndarray, redemptions: int) -> None:  # fmt: skip
        """Tally one chunk: kernel rows (:data:`scenarios.retail.kernels.ROW_FIELDS`), each
        row's run week (0-based) and its coupon and match discounts (cents)."""
        h, _, basket, product, quantity, regular, discount, _ = rows
        paid = regular - discount - coupon_cents - match_cents
        on = self.on_promotion[np.minimum(week, self.weeks - 1), product]
        self.sums.update({
            "revenue_cents": int(paid.sum()),
            "units": int(quantity[~self.metered[product]].sum()),
            "baskets": len(np.unique(basket)), "rows": len(h),
            "discounted_rows": int((discount > 0).sum()),
            "rows_on_promotion": int(on.sum()), "coupon_redemptions": redemptions,
        })
        self.bought[h, self.product_department[product]] = True
        self.early[h[week < RETENTION_WEEKS]] = True
        self.late[h[week >= self.weeks - RETENTION_WEEKS]] = True

    def summary(self, departments: list[str]) -> dict[str, float]:
        """The shard's tallies as summary figures (``tally.<name>``), to be summed."""
        figures = {**self.sums, "households": len(self.early),
                   "early_households": int(self.early.sum()),
                   "retained_households": int((self.early & self.late).sum())}  # fmt: skip
        for index, name in enumerate(departments):
            figures[f"buyers.{name}"] = int(self.bought[:, index].sum())
        return tallied(figures)


def promotion_weeks(on_promotion: np.ndarray) -> dict[str, float]:
    """The run's product-weeks on promotion and in all (``on_promotion``: weeks x products)
    as tallies, for the run-wide summary."""
    return tallied({"product_weeks_on_promotion": int(on_promotion.sum()),
                    "product_weeks": int(on_promotion.size)})  # fmt: skip


def retail_metrics(summary: Mapping[str, float], departments: list[str]) -> dict[str, float]:
    """The run's metrics (:data:`METRICS`, then ``penetration.<department>``) from its summed
    summary (shard tallies, and the run's :func:`promotion_weeks`)."""
    def tally(name: str) -> float:
        return total(summary, name)

    households, rows = tally("households"), tally("rows")
    on_weeks = tally("product_weeks_on_promotion")
    off_weeks = tally("product_weeks") - on_weeks
    on_rate = tally("rows_on_promotion") / on_weeks if on_weeks else np.nan
    off_rate = (rows - tally("rows_on_promotion")) / off_weeks if off_weeks else np.nan
    metrics = {
        "revenue": tally("revenue_cents") / 100.0,
        "units": tally("units"),
        "baskets": tally("baskets"),
        "visits_per_household": share(tally("baskets"), households),
        "retention": share(tally("retained_households"), tally("early_households")),
        "discounted_share": share(tally("discounted_rows"), rows),
        "promotion_lift": float(on_rate / off_rate) if off_rate else float("nan"),
        "coupon_redemptions": tally("coupon_redemptions"),
    }
    for name in departments:
        metrics[f"penetration.{name}"] = share(tally(f"buyers.{name}"), households)
    return metrics
