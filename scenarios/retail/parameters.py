"""The retail scenario's fitted parameters: what ``synthsim fit retail`` writes and a run reads.

A parameter folder holds small tidy files, each one concept:

``scalars.json``
    Visit, trip, basket-size, store-loyalty and coupon figures (names and units in
    :data:`SCALARS`).
``provenance.json``
    Where the fit came from: source, its row counts, package versions, fit settings.
``weeks.csv`` / ``weekdays.csv`` / ``hours.csv`` / ``trip_gaps.csv``
    Seasonality (trips per week relative to the mean), weekday and hour-of-day shares of
    trips, and quantiles of the minutes between baskets of one trip.
``activity.csv``
    Households by first and last active week (the loyalty card's life in the data).
``stores.csv``
    Each store's weight as a home store and as an occasional one, and whether it reports
    promotions.
``marginals/*.csv``
    Demographic marginals households are synthesised from (:mod:`calibration`), and
    ``household_effects.csv``: trip-rate and basket-size multipliers by household size.
``categories.csv`` / ``products.parquet``
    Product categories with their share of rows, and the catalogue: attributes, regular unit
    price (USD per unit of ``quantity``) and choice intercept within the category.
``departments.csv`` / ``depths.csv`` / ``quantities.csv`` / ``locations.csv``
    Per department: discount on/off Markov chain, share of rows a discount reaches (loyalty
    card use), display and mailer odds, choice coefficients and habit; the discount-depth,
    quantity and display/mailer location distributions.
``campaign_plan.csv`` / ``coupon_categories.csv`` / ``coupon_rates.csv`` /
``coupon_values.csv``
    Campaigns (type, timing, targeting by spend quartile, coupons and their products,
    redemption odds), the categories coupons cover, manufacturer-coupon rates by department
    and coupon and match amounts (:mod:`scenarios.retail.coupons`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from simulations.errors import ConfigError

__all__ = ["SCALARS", "SHIPPED", "RetailParameters", "load_parameters"]

SHIPPED = Path(__file__).with_name("fitted")
"""The parameters fitted to The Complete Journey that ship with the scenario."""

SCALARS = {
    "trips_per_week": "mean shopping trips per household per active week (1/week)",
    "trip_rate_shape": "gamma shape of the households' trip rates (heterogeneity; larger: "
                       "more alike)",
    "extra_baskets_per_trip": "mean further baskets of a trip within 3 hours of its first "
                              "(geometric)",
    "extra_basket_same_store": "share of a trip's further baskets rung up in the same store",
    "home_store_a": "Beta a of a household's share of trips made at its home store",
    "home_store_b": "Beta b of that share",
    "items_log_mean": "mean over households of log mean extra items per basket (items - 1)",
    "items_log_sd": "sd over households of that log mean",
    "items_dispersion": "negative-binomial shape of items - 1 within a household",
    "items_trip_correlation": "correlation of a household's log basket size with its log trip "
                              "rate",
    "department_concentration": "Dirichlet concentration of a household's shares of items by "
                                "department (larger: households more alike)",
    "category_concentration": "Dirichlet concentration of its shares of categories within a "
                              "department",
}  # fmt: skip
"""Names and meanings of ``scalars.json``."""

_TABLES = ("weeks", "weekdays", "hours", "trip_gaps", "activity", "stores", "household_effects",
           "categories", "departments", "depths", "quantities", "locations", "campaign_plan",
           "coupon_categories", "coupon_rates", "coupon_values")  # fmt: skip


@dataclass
class RetailParameters:
    """Everything a retail run draws from; see the module docstring for each table."""

    scalars: dict[str, float]
    provenance: dict[str, Any]
    weeks: pd.DataFrame
    weekdays: pd.DataFrame
    hours: pd.DataFrame
    trip_gaps: pd.DataFrame
    activity: pd.DataFrame
    stores: pd.DataFrame
    household_effects: pd.DataFrame
    categories: pd.DataFrame
    departments: pd.DataFrame
    depths: pd.DataFrame
    quantities: pd.DataFrame
    locations: pd.DataFrame
    campaign_plan: pd.DataFrame
    coupon_categories: pd.DataFrame
    coupon_rates: pd.DataFrame
    coupon_values: pd.DataFrame
    products: pd.DataFrame
    marginals: dict[str, pd.DataFrame] = field(default_factory=dict)

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write the parameter folder atomically (a temporary sibling renamed into place).

        Raises
        ------
        ConfigError
            When ``folder`` exists and ``overwrite`` is False.
        """
        folder = Path(folder)
        if folder.exists() and not overwrite:
            raise ConfigError(f"The parameter folder {str(folder)!r} already exists; pass "
                              "--overwrite to replace it.")  # fmt: skip
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        tmp.chmod(0o755)
        try:
            (tmp / "scalars.json").write_text(json.dumps(self.scalars, indent=2) + "\n")
            (tmp / "provenance.json").write_text(
                json.dumps(self.provenance, indent=2, default=str) + "\n")
            for name in _TABLES:
                getattr(self, name).to_csv(tmp / f"{name}.csv", index=False)
            self.products.to_parquet(tmp / "products.parquet", index=False)
            (tmp / "marginals").mkdir()
            for name, table in self.marginals.items():
                table.to_csv(tmp / "marginals" / f"{name}.csv", index=False)
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return folder


def load_parameters(folder: str | Path | None = None) -> RetailParameters:
    """Read a parameter folder (by default the shipped fit to The Complete Journey)."""
    folder = SHIPPED if folder is None else Path(folder)
    if not (folder / "scalars.json").exists():
        raise ConfigError(f"{str(folder)!r} is not a retail parameter folder (no scalars.json); "
                          "write one with: synthsim fit retail --out FOLDER")  # fmt: skip
    scalars = json.loads((folder / "scalars.json").read_text())
    missing = sorted(set(SCALARS) - set(scalars))
    if missing:
        raise ConfigError(f"The parameter folder {str(folder)!r} lacks the scalars {missing}.")
    tables = {}
    for name in _TABLES:
        path = folder / f"{name}.csv"
        if not path.exists():
            raise ConfigError(f"The parameter folder {str(folder)!r} lacks {name}.csv.")
        tables[name] = pd.read_csv(path, keep_default_na=False, na_values=[""])
    marginals = {p.stem: pd.read_csv(p, keep_default_na=False)
                 for p in sorted((folder / "marginals").glob("*.csv"))}  # fmt: skip
    return RetailParameters(
        scalars=scalars, provenance=json.loads((folder / "provenance.json").read_text()),
        products=pd.read_parquet(folder / "products.parquet"), marginals=marginals, **tables,
    )  # fmt: skip
