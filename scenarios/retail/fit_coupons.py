"""Fitting the coupon model (:mod:`scenarios.retail.coupons`) to The Complete Journey."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["fit_coupons"]

_SHRINK = 200.0
"""Pseudo-count of eligible rows pulling a campaign's redemption rate towards its type's."""

_MIN_VALUE_COUNT = 5
"""Coupon amounts seen fewer times are left out of ``coupon_values``."""


def fit_coupons(tables: dict[str, pd.DataFrame], products: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The coupon parameters: ``campaign_plan``, ``coupon_categories``, ``coupon_rates`` and
    ``coupon_values`` (small tidy tables; see the module docstring).

    Parameters
    ----------
    tables : dict of DataFrame
        The data's ``transactions``, ``products``, ``campaigns``, ``campaign_descriptions``,
        ``coupons`` and ``coupon_redemptions`` (The Complete Journey's columns).
    products : DataFrame
        The synthetic catalogue (``product_id``, ``department``, ``product_category``,
        ``intercept``): the only products synthetic coupons may cover.
    """
    tx = tables["transactions"]
    data_products = tables["products"].set_index("product_id")
    descriptions = tables["campaign_descriptions"].copy()
    targeted = tables["campaigns"]
    coupons = tables["coupons"]
    redemptions = tables["coupon_redemptions"].copy()
    for column in ("start_date", "end_date"):
        descriptions[column] = pd.to_datetime(descriptions[column]).dt.normalize()
    redemptions["redemption_date"] = pd.to_datetime(redemptions["redemption_date"]).dt.normalize()
    date = pd.to_datetime(tx["transaction_timestamp"]).dt.normalize()
    first_day = date.min()

    # Targeting by spend quartile.
    spend = tx.groupby("household_id")["sales_value"].sum()
    quartile = pd.Series(np.minimum((spend.rank(method="first").to_numpy() - 1) * 4 // len(spend),
                                    3).astype(int), index=spend.index)  # fmt: skip
    per_quartile = np.bincount(quartile.to_numpy(), minlength=4)
    hit = targeted.assign(q=quartile.reindex(targeted["household_id"]).to_numpy())
    hit = hit.dropna(subset=["q"]).drop_duplicates(["campaign_id", "household_id"])
    shares = (hit.groupby(["campaign_id", "q"]).size().unstack(fill_value=0)
              .reindex(columns=range(4), fill_value=0) / per_quartile)  # fmt: skip

    # Eligible rows: targeted household, campaign running, product covered.
    rows = pd.DataFrame({"row": np.arange(len(tx)), "household_id": tx["household_id"].to_numpy(),
                         "product_id": tx["product_id"].to_numpy(), "date": date.to_numpy()})
    joined = rows.merge(targeted, on="household_id").merge(
        descriptions[["campaign_id", "start_date", "end_date"]], on="campaign_id")
    running = (joined["date"] >= joined["start_date"]) & (joined["date"] <= joined["end_date"])
    joined = joined[running]
    window_rows = joined.groupby("campaign_id").size()
    pairs = coupons[["campaign_id", "product_id"]].drop_duplicates()
    eligible = joined.merge(pairs, on=["campaign_id", "product_id"]).groupby("campaign_id").size()
    redeemed = redemptions.groupby("campaign_id").size()

    plan = descriptions.set_index("campaign_id").sort_index()
    plan = pd.DataFrame({
        "campaign_id": plan.index.to_numpy(),
        "campaign_type": plan["campaign_type"].astype(str).to_numpy(),
        "start_day": (plan["start_date"] - first_day).dt.days.to_numpy(),
        "duration_days": ((plan["end_date"] - plan["start_date"]).dt.days + 1).to_numpy(),
    })  # fmt: skip
    ids = plan["campaign_id"]
    for q in range(4):
        plan[f"target_q{q + 1}"] = shares[q].reindex(ids).fillna(0.0).to_numpy()

    # Coupons and the catalogue products they cover.
    catalogue = products.set_index("product_id")
    inside = coupons[coupons["product_id"].isin(catalogue.index)].drop_duplicates()
    sizes = inside.groupby(["campaign_id", "coupon_upc"]).size()
    plan["n_coupons"] = coupons.groupby("campaign_id")["coupon_upc"].nunique().reindex(
        ids).fillna(0).astype(int).to_numpy()
    plan["products_mean"] = sizes.groupby("campaign_id").mean().reindex(ids).fillna(1.0).to_numpy()
    plan["products_median"] = sizes.groupby("campaign_id").median().reindex(ids).fillna(
        1.0).to_numpy()
    intercept = catalogue["intercept"]
    variance = float(intercept.var()) or 1.0
    covered = inside.drop_duplicates(["campaign_id", "product_id"])
    covered_mean = pd.Series(intercept.reindex(covered["product_id"]).to_numpy()).groupby(
        covered["campaign_id"].to_numpy()).mean()
    plan["popularity_tilt"] = ((covered_mean.reindex(ids) - intercept.mean()) / variance).fillna(
        0.0).clip(-2.0, 2.0).to_numpy()

    plan["window_rows"] = window_rows.reindex(ids).fillna(0).astype(int).to_numpy()
    plan["eligible_rows"] = eligible.reindex(ids).fillna(0).astype(int).to_numpy()
    plan["redemptions"] = redeemed.reindex(ids).fillna(0).astype(int).to_numpy()
    by_type = plan.groupby("campaign_type")[["eligible_rows", "redemptions"]].transform("sum")
    type_rate = by_type["redemptions"] / by_type["eligible_rows"].clip(lower=1)
    plan["redeem_probability"] = ((plan["redemptions"] + _SHRINK * type_rate)
                                  / (plan["eligible_rows"] + _SHRINK)).clip(0.0, 1.0)  # fmt: skip

    # The categories coupons cover (a coupon's most common catalogue category).
    category = catalogue["product_category"].reindex(inside["product_id"]).to_numpy()
    main = (inside.assign(category=category).dropna(subset=["category"])
            .groupby(["coupon_upc", "category"]).size().rename("n").reset_index()
            .sort_values(["coupon_upc", "n"], ascending=[True, False])
            .drop_duplicates("coupon_upc"))  # fmt: skip
    categories = main.groupby("category").size().rename("coupons").reset_index()
    categories = categories.rename(columns={"category": "product_category"})
    categories["share"] = categories["coupons"] / categories["coupons"].sum()

    # Rows with coupons: campaign redemptions (by their coupon's department) and the rest.
    couponed = tx["coupon_disc"].to_numpy() > 0
    matched = tx["coupon_match_disc"].to_numpy() > 0
    positive = tx["sales_value"].to_numpy() > 0
    department = data_products["department"].reindex(tx["product_id"]).fillna("(none)").to_numpy()
    coupon_department = (coupons.assign(department=data_products["department"].reindex(
        coupons["product_id"]).fillna("(none)").to_numpy())
        .groupby("coupon_upc")["department"].agg(lambda s: s.value_counts().index[0]))
    campaign_rows = redemptions["coupon_upc"].map(coupon_department).value_counts()
    frame = pd.DataFrame({"department": department, "positive": positive,
                          "outside": couponed & positive, "couponed": couponed,
                          "matched": matched & couponed})  # fmt: skip
    rates = frame.groupby("department").agg(
        rows=("positive", "size"), positive_rows=("positive", "sum"),
        coupon_rows=("couponed", "sum"), manufacturer_rows=("outside", "sum"),
        match_rows=("matched", "sum")).reset_index()
    rates["manufacturer_rows"] = (rates["manufacturer_rows"] - rates["department"].map(
        campaign_rows).fillna(0).to_numpy()).clip(lower=0).astype(int)
    rates["coupon_share"] = rates["manufacturer_rows"] / rates["positive_rows"].clip(lower=1)
    rates["match_share"] = rates["match_rows"] / rates["coupon_rows"].clip(lower=1)
    overall_match = frame["matched"].sum() / max(frame["couponed"].sum(), 1)
    rates.loc[rates["coupon_rows"] == 0, "match_share"] = overall_match

    values = pd.concat([_amounts(tx.loc[couponed, "coupon_disc"], "coupon"),
                        _amounts(tx.loc[couponed & matched, "coupon_match_disc"], "match")],
                       ignore_index=True)  # fmt: skip
    return {"campaign_plan": plan, "coupon_categories": categories, "coupon_rates": rates,
            "coupon_values": values}  # fmt: skip


def _amounts(amounts: pd.Series, kind: str) -> pd.DataFrame:
    cents = np.round(amounts.to_numpy() * 100).astype(np.int64)
    counts = pd.Series(cents).value_counts()
    counts = counts[counts >= _MIN_VALUE_COUNT].sort_index()
    return pd.DataFrame({"kind": kind, "amount": counts.index.to_numpy() / 100.0,
                         "probability": (counts / counts.sum()).to_numpy()})  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Building a run's campaigns
