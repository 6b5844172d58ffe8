"""Coupons of the retail scenario: targeted campaigns, their coupons and redemptions, and the
manufacturer coupons the loyalty-card data shows outside campaigns.

The model, fitted to The Complete Journey (:func:`scenarios.retail.fit_coupons.fit_coupons`):

* **Campaigns** (``campaign_plan``): the data's campaigns, each with its type, start (days from
  the data's first day) and duration, and the share of households it targets in each quartile
  of a household's spend (targeting grows steeply with spend: Type A campaigns reach about 5%
  of the lowest and 85% of the highest quartile).
* **Coupons**: each campaign has the data's number of coupons; a coupon covers products of
  one product category (82% of the data's coupons do), drawn by the categories' share of the
  data's coupons (``coupon_categories``), and within it a log-normal number of products (the
  campaign's mean and median of products per coupon in the catalogue), chosen with weights
  ``exp(popularity_tilt * intercept)`` (covered products are more popular than the rest).
* **Redemptions**: a transaction row is *eligible* for a coupon when its household is
  targeted by the coupon's campaign, the campaign is running that day and the coupon covers
  its product; each eligible row redeems with the campaign's probability (redemptions per
  eligible row in the data, shrunk towards its campaign type's), at most once per household
  and coupon. A redeemed row gets a coupon_disc from the data's coupon amounts.
* **Manufacturer coupons**: rows that redeem no campaign coupon get a coupon_disc with their
  department's share of coupon rows outside campaign redemptions (``coupon_rates``).
* **Coupon match**: a couponed row also gets a coupon_match_disc with its department's
  share, its amount from the data's match amounts, capped at the coupon's.

Amounts come from the data's distributions of whole-cent values (``coupon_values``); a coupon
is capped at the row's sales value after the loyalty-card discount.

Every draw is a keyed uniform (:func:`simulations.bits.keyed_uniform`) owned by a household,
a campaign or a (row, coupon) pair, so results do not depend on the engine or on chunking;
the only state between chunks is the set of (household, coupon) pairs already redeemed,
which :func:`apply_coupons` takes and returns.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa

from simulations.bits import keyed_uniform
from simulations.seeding import GLOBAL_SHARD, stream

__all__ = ["COLUMN_DOCS", "SCHEMAS", "apply_coupons", "build_campaigns", "row_keys"]

SCHEMAS = {
    "campaign_descriptions": pa.schema([
        ("campaign_id", pa.int64()), ("campaign_type", pa.dictionary(pa.int32(), pa.string())),
        ("start_date", pa.date32()), ("end_date", pa.date32()),
    ]),
    "campaigns": pa.schema([("campaign_id", pa.int64()), ("household_id", pa.int64())]),
    "coupons": pa.schema([
        ("coupon_upc", pa.int64()), ("product_id", pa.int64()), ("campaign_id", pa.int64()),
    ]),
    "coupon_redemptions": pa.schema([
        ("household_id", pa.int64()), ("coupon_upc", pa.int64()), ("campaign_id", pa.int64()),
        ("redemption_date", pa.date32()),
    ]),
}  # fmt: skip
"""Arrow schemas of the coupon tables, in The Complete Journey's columns."""

COLUMN_DOCS = {
    "campaign_descriptions": "one row per marketing campaign: its type (Type A/B/C) and first "
    "and last day (inclusive)",
    "campaigns": "the households each campaign targeted (one row per campaign and household)",
    "coupons": "the products each coupon covers (one row per coupon, product and campaign)",
    "coupon_redemptions": "one row per coupon a household redeemed (at most once per household "
    "and coupon), with the campaign and the day",
}
"""One-line documentation of each coupon table."""

UPC_BASE = 10_000_000_000
"""Synthetic coupon UPCs are ``UPC_BASE + coupon number`` (11 digits, as the data's)."""

_DAY = 86400


def build_campaigns(plan: pd.DataFrame, household_ids: np.ndarray | None,
                    household_spend_rank: np.ndarray | None, seed: int, start_date: str,
                    *, products: pd.DataFrame | None = None,
                    categories: pd.DataFrame | None = None,
                    days: int = 364,
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """A run's campaign tables (pandas, The Complete Journey's columns; cast with
    :data:`SCHEMAS`): ``(campaign_descriptions, campaigns, coupons)``.

    ``campaign_descriptions`` and ``coupons`` belong to the run (stream ``coupons`` of
    :data:`~simulations.seeding.GLOBAL_SHARD`; they need no households); ``campaigns`` holds
    the given households' targeting, each decided by a uniform keyed by (campaign, household),
    so a shard builds its own rows and any sharding gives the same table. The plan repeats
    every 364 days while the run lasts ``days`` (campaign ids ``year * 1000 + id``). With
    ``household_ids`` None, ``campaigns`` is empty; with ``products`` None, ``coupons`` is.

    Parameters
    ----------
    household_spend_rank : float array
        Each household's rank of (expected) spend among the run's households, in [0, 1): the
        quartile ``floor(4 * rank)`` picks the targeting share.
    products, categories : DataFrame
        The catalogue (``product_id``, ``product_category``, ``intercept``) and
        ``coupon_categories``.
    """
    start = dt.date.fromisoformat(str(start_date))
    years = max(1, -(-int(days) // 364))
    runs = []
    for year in range(years):
        runs.append(plan.assign(campaign_id=plan["campaign_id"] + 1000 * year,
                                start_day=plan["start_day"] + 364 * year))  # fmt: skip
    full = pd.concat(runs, ignore_index=True)
    full = full[(full["start_day"] + full["duration_days"] > 0) & (full["start_day"] < days)]
    full = full.reset_index(drop=True)
    starts = np.array([start + dt.timedelta(days=int(d)) for d in full["start_day"]],
                      dtype="datetime64[D]")  # fmt: skip
    descriptions = pd.DataFrame({
        "campaign_id": full["campaign_id"].to_numpy(np.int64),
        "campaign_type": full["campaign_type"].astype(str).to_numpy(),
        "start_date": starts,
        "end_date": starts + full["duration_days"].to_numpy().astype("timedelta64[D]")
        - np.timedelta64(1, "D"),
    })  # fmt: skip
    campaigns = pd.DataFrame({"campaign_id": np.zeros(0, np.int64),
                              "household_id": np.zeros(0, np.int64)})  # fmt: skip
    if household_ids is not None and len(household_ids):
        ids = np.asarray(household_ids, np.int64)
        quartile = np.clip((np.asarray(household_spend_rank) * 4).astype(int), 0, 3)
        share = full[[f"target_q{q + 1}" for q in range(4)]].to_numpy()
        parts = []
        for i, campaign in enumerate(full["campaign_id"].to_numpy()):
            u = keyed_uniform(seed, f"campaign {int(campaign)}", ids)
            chosen = ids[u < share[i, quartile]]
            parts.append(pd.DataFrame({"campaign_id": np.full(len(chosen), campaign, np.int64),
                                       "household_id": chosen}))  # fmt: skip
        campaigns = pd.concat([campaigns, *parts], ignore_index=True)
    coupons = pd.DataFrame({"coupon_upc": np.zeros(0, np.int64),
                            "product_id": np.zeros(0, np.int64),
                            "campaign_id": np.zeros(0, np.int64)})  # fmt: skip
    if products is not None and categories is not None and len(categories):
        coupons = _draw_coupons(full, products, categories, seed, coupons)
    return descriptions, campaigns, coupons


def _draw_coupons(full: pd.DataFrame, products: pd.DataFrame, categories: pd.DataFrame,
                  seed: int, empty: pd.DataFrame) -> pd.DataFrame:  # fmt: skip
    rng = stream(seed, GLOBAL_SHARD, "coupons")
    product_ids = products["product_id"].to_numpy(np.int64)
    intercept = products["intercept"].to_numpy(float)
    by_category = {name: np.flatnonzero(mask) for name, mask in
                   ((c, (products["product_category"] == c).to_numpy())
                    for c in categories["product_category"])}  # fmt: skip
    names = [c for c in categories["product_category"] if len(by_category[c])]
    if not names:
        return empty
    share = categories.set_index("product_category")["share"].reindex(names).to_numpy(float)
    share = share / share.sum()
    parts, upc = [], UPC_BASE
    for row in full.itertuples(index=False):
        mean, median = max(row.products_mean, 1.0), max(row.products_median, 1.0)
        sigma = np.sqrt(max(2.0 * np.log(max(mean, median) / median), 0.0))
        for _ in range(int(row.n_coupons)):
            upc += 1
            size = max(1, int(np.ceil(median * np.exp(sigma * rng.standard_normal()) - 0.5)))
            # One category, or (a coupon larger than its category) further ones.
            order = rng.choice(len(names), len(names), replace=False, p=share)
            picks, left = [], size
            for category in order:
                members = by_category[names[category]]
                take = min(left, len(members))
                weight = np.exp(row.popularity_tilt
                                * (intercept[members] - intercept[members].max()))
                picks.append(rng.choice(members, take, replace=False, p=weight / weight.sum()))
                left -= take
                if not left:
                    break
            picked = np.concatenate(picks)
            size = len(picked)
            parts.append(pd.DataFrame({"coupon_upc": np.full(size, upc, np.int64),
                                       "product_id": product_ids[np.sort(picked)],
                                       "campaign_id": np.full(size, row.campaign_id, np.int64)}))
    return pd.concat([empty, *parts], ignore_index=True)


def row_keys(basket_id: np.ndarray) -> np.ndarray:
    """A unique, engine- and chunk-independent key per row: ``basket_id * 256 + position``
    in the basket (rows of a basket are consecutive, at most 250 of them; a basket lies in
    one chunk)."""
    basket = np.asarray(basket_id, np.int64)
    n = len(basket)
    if not n:
        return np.zeros(0, np.int64)
    new = np.ones(n, bool)
    new[1:] = basket[1:] != basket[:-1]
    first = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    return basket * 256 + (np.arange(n) - first)


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One uint64 key of two (wrapping arithmetic)."""
    a = np.asarray(a).astype(np.uint64)
    b = np.asarray(b).astype(np.uint64)
    with np.errstate(over="ignore"):
        return a * np.uint64(0x9E3779B97F4A7C15) + b


def apply_coupons(rows: dict[str, np.ndarray], *, descriptions: pd.DataFrame,
                  campaigns: pd.DataFrame, coupons: pd.DataFrame, plan: pd.DataFrame,
                  rates: pd.DataFrame, values: pd.DataFrame, product_department: pd.Series,
                  seed: int, redeemed: np.ndarray | None = None,
                  ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray]:  # fmt: skip
    """Coupon discounts of one chunk of transaction rows (vectorised; no per-row loop).

    Parameters
    ----------
    rows : dict of int64 arrays
        ``household_id``, ``product_id``, ``row_key`` (unique per row and independent of
        chunking: :func:`row_keys`), ``time`` (seconds since the Unix epoch, UTC),
        ``regular_cents`` and ``discount_cents`` (sales value = regular - discount).
    descriptions, campaigns, coupons : DataFrame
        From :func:`build_campaigns` (``campaigns``: at least the chunk's households' rows).
    plan, rates, values : DataFrame
        ``campaign_plan``, ``coupon_rates`` and ``coupon_values`` of :func:`fit_coupons`.
    product_department : Series
        Department of each product id (index: product_id).
    redeemed : int64 array, optional
        Sorted keys of (household, coupon) pairs redeemed in earlier chunks (this function's
        last return value); the chunks of one household must come in time order.

    Returns
    -------
    coupon_cents, match_cents : int64 arrays
        coupon_disc and coupon_match_disc of each row, in cents.
    redemptions : DataFrame
        ``coupon_redemptions`` rows (household_id, coupon_upc, campaign_id, redemption_date).
    redeemed : int64 array
        ``redeemed`` with this chunk's pairs added (pass it to the next chunk).
    """
    household = np.asarray(rows["household_id"], np.int64)
    product = np.asarray(rows["product_id"], np.int64)
    key = np.asarray(rows["row_key"], np.int64)
    time = np.asarray(rows["time"], np.int64)
    sales = np.asarray(rows["regular_cents"], np.int64) - np.asarray(rows["discount_cents"],
                                                                     np.int64)  # fmt: skip
    sales = np.maximum(sales, 0)
    n = len(household)
    day = time // _DAY
    redeemed = np.zeros(0, np.int64) if redeemed is None else np.asarray(redeemed, np.int64)

    # Campaign coupons: expand rows by the coupons covering their product.
    chosen = np.zeros(n, bool)
    coupon_of_row = np.full(n, -1, np.int64)
    campaign_of_row = np.full(n, -1, np.int64)
    if len(coupons) and len(campaigns) and n:
        cp = coupons.sort_values(["product_id", "coupon_upc", "campaign_id"], kind="stable")
        cp_product = cp["product_id"].to_numpy(np.int64)
        lo = np.searchsorted(cp_product, product, "left")
        hi = np.searchsorted(cp_product, product, "right")
        count = hi - lo
        pair_row = np.repeat(np.arange(n), count)
        offset = np.arange(len(pair_row)) - np.repeat(np.cumsum(count) - count, count)
        entry = lo[pair_row] + offset
        pair_upc = cp["coupon_upc"].to_numpy(np.int64)[entry]
        pair_campaign = cp["campaign_id"].to_numpy(np.int64)[entry]
        # Campaign running that day?
        desc = descriptions.set_index("campaign_id")
        first = (pd.to_datetime(desc["start_date"]).to_numpy().astype("datetime64[D]")
                 .astype(np.int64))  # fmt: skip
        last = (pd.to_datetime(desc["end_date"]).to_numpy().astype("datetime64[D]")
                .astype(np.int64))  # fmt: skip
        at = desc.index.get_indexer(pair_campaign)
        ok = at >= 0
        ok[ok] &= (day[pair_row[ok]] >= first[at[ok]]) & (day[pair_row[ok]] <= last[at[ok]])
        # Household targeted?
        target = np.unique(_mix(campaigns["household_id"].to_numpy(np.int64),
                                campaigns["campaign_id"].to_numpy(np.int64)))  # fmt: skip
        pair_target = _mix(household[pair_row], pair_campaign)
        ok &= _in_sorted(target, pair_target)
        pair_row, pair_upc, pair_campaign = pair_row[ok], pair_upc[ok], pair_campaign[ok]
        # Redeem with the campaign's probability (keyed by row and coupon).
        probability = plan.set_index("campaign_id")["redeem_probability"]
        base_id = pair_campaign % 1000
        p = probability.reindex(base_id).fillna(0.0).to_numpy()
        u = keyed_uniform(seed, "coupon redemption", _mix(key[pair_row], pair_upc))
        hit = (u < p) & (sales[pair_row] > 0)
        pair_row, pair_upc, pair_campaign = pair_row[hit], pair_upc[hit], pair_campaign[hit]
        # At most once per household and coupon (the first in time), one coupon per row.
        pair_hh = household[pair_row]
        order = np.lexsort((key[pair_row], time[pair_row], pair_upc, pair_hh))
        pair_row, pair_upc, pair_campaign = pair_row[order], pair_upc[order], pair_campaign[order]
        pair_hh = pair_hh[order]
        first_pair = np.ones(len(pair_row), bool)
        first_pair[1:] = (pair_hh[1:] != pair_hh[:-1]) | (pair_upc[1:] != pair_upc[:-1])
        pair_key = _mix(pair_hh, pair_upc).astype(np.int64)
        keep = first_pair & ~_in_sorted(redeemed, pair_key)
        pair_row, pair_upc, pair_campaign = pair_row[keep], pair_upc[keep], pair_campaign[keep]
        pair_key = pair_key[keep]
        # One coupon per row: the lowest UPC among those the row redeems.
        order = np.lexsort((pair_upc, pair_row))
        pair_row, pair_upc = pair_row[order], pair_upc[order]
        pair_campaign, pair_key = pair_campaign[order], pair_key[order]
        one = np.ones(len(pair_row), bool)
        one[1:] = pair_row[1:] != pair_row[:-1]
        pair_row, pair_upc = pair_row[one], pair_upc[one]
        pair_campaign, pair_key = pair_campaign[one], pair_key[one]
        chosen[pair_row] = True
        coupon_of_row[pair_row] = pair_upc
        campaign_of_row[pair_row] = pair_campaign
        redeemed = np.union1d(redeemed, pair_key)

    # Manufacturer coupons on the other rows, by department.
    department = product_department.reindex(product).fillna("(none)").to_numpy()
    table = rates.set_index("department")
    coupon_share = pd.Series(table["coupon_share"]).reindex(department).fillna(0.0).to_numpy()
    match_share = pd.Series(table["match_share"]).reindex(department).fillna(0.0).to_numpy()
    u_maker = keyed_uniform(seed, "manufacturer coupon", key)
    couponed = chosen | ((u_maker < coupon_share) & (sales > 0))

    coupon_cents = np.zeros(n, np.int64)
    match_cents = np.zeros(n, np.int64)
    amount = _draw(values, "coupon", keyed_uniform(seed, "coupon amount", key))
    coupon_cents[couponed] = np.minimum(amount[couponed], sales[couponed])
    matched = couponed & (keyed_uniform(seed, "coupon match", key) < match_share)
    match = _draw(values, "match", keyed_uniform(seed, "coupon match amount", key))
    match_cents[matched] = np.minimum(match[matched], coupon_cents[matched])

    redemptions = pd.DataFrame({
        "household_id": household[chosen], "coupon_upc": coupon_of_row[chosen],
        "campaign_id": campaign_of_row[chosen],
        "redemption_date": day[chosen].astype("datetime64[D]"),
    })  # fmt: skip
    return coupon_cents, match_cents, redemptions, redeemed


def _in_sorted(table: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Whether each of ``keys`` is in the sorted array ``table``."""
    if not len(table):
        return np.zeros(len(keys), bool)
    at = np.minimum(np.searchsorted(table, keys), len(table) - 1)
    return table[at] == keys


def _draw(values: pd.DataFrame, kind: str, u: np.ndarray) -> np.ndarray:
    """Amounts in cents of ``kind`` by inverse CDF of ``u``."""
    table = values[values["kind"] == kind]
    if not len(table):
        return np.zeros(len(u), np.int64)
    cents = np.round(table["amount"].to_numpy(float) * 100).astype(np.int64)
    cum = np.cumsum(table["probability"].to_numpy(float))
    return cents[np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(cents) - 1)]

