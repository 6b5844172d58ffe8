"""Fitting who shops when and where: trips, their timing, stores, basket sizes, demographics.

A *trip* is a household's run of baskets each within 3 hours of the one before (a forgotten
item rung up separately, a second till): 12.5% of The Complete Journey's baskets follow
their household's previous one that closely, 90% of them in the same store.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scenarios.retail.fidelity_measures import basket_table

__all__ = ["TRIP_GAP_MINUTES", "basket_frame", "fit_demographics", "fit_shoppers"]

TRIP_GAP_MINUTES = 180.0
"""Baskets of one household closer than this (minutes) belong to one trip."""

_DEMOGRAPHIC_MARGINALS = {
    "age_income": ["age", "income"],
    "age_home_ownership": ["age", "home_ownership"],
    "marital_status_household_comp": ["marital_status", "household_comp"],
    "household_size_comp_kids": ["household_size", "household_comp", "kids_count"],
}
"""Joint tables households are synthesised from: each keeps the pairings that must stay
consistent (a one-person household has no kids) without copying any household's record."""

UNKNOWN = "Unknown"
"""The category of a demographic The Complete Journey leaves empty."""


def basket_frame(transactions: pd.DataFrame) -> pd.DataFrame:
    """:func:`~scenarios.retail.fidelity_measures.basket_table` (one row per basket in
    household and time order) with the minutes since the household's previous basket
    (``gap_minutes``) and whether the basket starts a trip (``new_trip``)."""
    baskets = basket_table(transactions)
    gap = baskets.groupby("household_id")["timestamp"].diff().dt.total_seconds() / 60
    baskets["gap_minutes"] = gap
    baskets["new_trip"] = ~(gap < TRIP_GAP_MINUTES)
    return baskets


def fit_shoppers(baskets: pd.DataFrame, weeks_active: int | None = None
                 ) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:  # fmt: skip
    """Scalars and tables of trips, timing, stores and basket sizes from :func:`basket_frame`.

    A household counts as active from the week of its first trip to that of its last (the
    loyalty card's life in the data, which ``activity.csv`` keeps), or for ``weeks_active``
    weeks when every household is known to have been active throughout.
    """
    trips = baskets[baskets["new_trip"]]
    households = trips.groupby("household_id").agg(first=("week", "min"), last=("week", "max"),
                                                   trips=("week", "size"))  # fmt: skip
    active = (households["last"] - households["first"] + 1 if weeks_active is None
              else pd.Series(float(weeks_active), index=households.index))  # fmt: skip
    rate = households["trips"] / active
    weeks = trips.groupby("week").size()
    weeks = weeks / _active_households(households, weeks.index)
    # Trips over household-weeks (not the mean of rates), so a run's trip total matches.
    mean_rate = float(households["trips"].sum() / active.sum())
    # Gamma-Poisson by moments: the spread of observed rates less its Poisson part.
    poisson_part = float((rate / active).mean())
    spread = max(float(rate.var()) - poisson_part, 1e-6) * (mean_rate / float(rate.mean())) ** 2
    extra = baskets[~baskets["new_trip"]]
    scalars = {
        "trips_per_week": mean_rate,
        "trip_rate_shape": mean_rate**2 / spread,
        "extra_baskets_per_trip": len(extra) / len(trips),
        "extra_basket_same_store": float(
            (extra["store_id"].to_numpy() == baskets["store_id"].shift().loc[extra.index]).mean()),
        **_home_store(trips),
        **_basket_sizes(baskets, np.log(rate)),
    }  # fmt: skip
    hour = trips["timestamp"].dt.hour
    tables = {
        "weeks": pd.DataFrame({"week": weeks.index, "multiplier": weeks / weeks.mean()}),
        "weekdays": _shares(trips["timestamp"].dt.weekday, range(7), "weekday"),
        "hours": _shares(hour, range(24), "hour"),
        "trip_gaps": pd.DataFrame({
            "quantile": np.linspace(0, 1, 21),
            "minutes": np.quantile(extra["gap_minutes"], np.linspace(0, 1, 21)),
        }),
        "activity": households.groupby(["first", "last"]).size().rename("households")
        .reset_index().rename(columns={"first": "first_week", "last": "last_week"}),
        "stores": _stores(trips),
    }  # fmt: skip
    return scalars, tables


def _active_households(households: pd.DataFrame, weeks: pd.Index) -> np.ndarray:
    first, last = households["first"].to_numpy(), households["last"].to_numpy()
    return np.array([((first <= w) & (last >= w)).sum() for w in weeks], dtype=float)


def _shares(values: pd.Series, support, name: str) -> pd.DataFrame:
    counts = values.value_counts().reindex(list(support), fill_value=0)
    return pd.DataFrame({name: list(support), "share": (counts / counts.sum()).to_numpy()})


def _home_store(trips: pd.DataFrame) -> dict[str, float]:
    """Beta(a, b) of the share of a household's trips at its most used store, by moments over
    households with at least 10 trips (fewer make the share noise)."""
    per_store = trips.groupby(["household_id", "store_id"]).size()
    totals = per_store.groupby(level=0).sum()
    share = (per_store.groupby(level=0).max() / totals)[totals >= 10]
    mean, var = float(share.mean()), float(share.var())
    common = mean * (1 - mean) / var - 1
    return {"home_store_a": mean * common, "home_store_b": (1 - mean) * common}


def _stores(trips: pd.DataFrame) -> pd.DataFrame:
    """Each store's households as home store, and its trips by households based elsewhere."""
    per_store = trips.groupby(["household_id", "store_id"]).size().rename("trips").reset_index()
    home = per_store.loc[per_store.groupby("household_id")["trips"].idxmax()]
    away = per_store.drop(home.index)
    stores = pd.DataFrame({"store_id": np.sort(trips["store_id"].unique())})
    stores["home_weight"] = stores["store_id"].map(home["store_id"].value_counts()).fillna(0)
    stores["other_weight"] = stores["store_id"].map(
        away.groupby("store_id")["trips"].sum()).fillna(0)
    return stores


def _basket_sizes(baskets: pd.DataFrame, log_trip_rate: pd.Series) -> dict[str, float]:
    """Items per basket: 1 + negative binomial with a household mean that is log-normal over
    households; fitted by moments over households with at least 5 baskets."""
    extra = baskets["items"] - 1
    per = extra.groupby(baskets["household_id"]).agg(["mean", "var", "size"])
    per = per[per["size"] >= 5]
    mean = per["mean"].clip(lower=0.05)
    log_mean = np.log(mean)
    # The spread of household means less their sampling noise (var / n).
    noise = float((per["var"] / per["size"]).mean())
    between = max(float(mean.var()) - noise, 1e-6)
    sd = float(np.sqrt(np.log1p(between / float(mean.mean()) ** 2)))
    # Within a household, var = m + m^2 / r.
    excess = (per["var"] - per["mean"]).clip(lower=1e-6)
    dispersion = float((per["mean"] ** 2).sum() / excess.sum())
    correlation = float(np.corrcoef(log_mean, log_trip_rate.loc[per.index])[0, 1])
    # Centred on the mean over baskets, so a run's items total matches.
    return {"items_log_mean": float(np.log(extra.mean())) - sd**2 / 2, "items_log_sd": sd,
            "items_dispersion": dispersion, "items_trip_correlation": correlation}  # fmt: skip


def fit_demographics(demographics: pd.DataFrame, baskets: pd.DataFrame
                     ) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:  # fmt: skip
    """Demographic marginals (tidy count tables, :data:`_DEMOGRAPHIC_MARGINALS`) and the
    trip-rate and basket-size multipliers by household size, relative to all households
    with demographics."""
    frame = demographics.astype(object).where(demographics.notna(), UNKNOWN).astype(str)
    marginals = {name: frame.groupby(columns).size().rename("count").reset_index()
                 for name, columns in _DEMOGRAPHIC_MARGINALS.items()}  # fmt: skip
    trips = baskets[baskets["new_trip"]]
    span = trips.groupby("household_id")["week"].agg(lambda w: w.max() - w.min() + 1)
    per = pd.DataFrame({"rate": trips.groupby("household_id").size() / span,
                        "items": baskets.groupby("household_id")["items"].mean()})
    per = per.join(frame.set_index(frame["household_id"].astype(np.int64))["household_size"],
                   how="inner")  # fmt: skip
    measures = per[["rate", "items"]]
    effects = measures.groupby(per["household_size"]).mean() / measures.mean()
    effects = effects.rename(columns={"rate": "trip_multiplier", "items": "items_multiplier"})
    return marginals, effects.reset_index()
