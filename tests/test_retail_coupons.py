"""Coupons of the retail scenario: fitting campaigns and coupon rates to The Complete Journey,
building a run's campaigns, and applying coupons to transaction rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from scenarios.retail.coupons import (
    COLUMN_DOCS,
    SCHEMAS,
    apply_coupons,
    build_campaigns,
    row_keys,
)
from scenarios.retail.data import COLUMNS
from scenarios.retail.fit_coupons import fit_coupons
from scenarios.retail.parameters import load_parameters

DAY = 86400
EPOCH_2017 = int(np.datetime64("2017-01-01", "s").astype(np.int64))


@pytest.fixture(scope="module")
def cj():
    from scenarios.retail.data import load_complete_journey

    return load_complete_journey()


@pytest.fixture(scope="module")
def catalogue():
    return load_parameters().products


@pytest.fixture(scope="module")
def fitted(cj, catalogue):
    return fit_coupons(cj, catalogue)


def test_schemas_match_the_data_columns():
    for name, schema in SCHEMAS.items():
        assert tuple(schema.names) == COLUMNS[name]
        assert name in COLUMN_DOCS
    assert SCHEMAS["campaign_descriptions"].field("start_date").type == pa.date32()


def test_fit_gives_sane_small_tables(fitted, cj):
    plan = fitted["campaign_plan"]
    assert len(plan) == len(cj["campaign_descriptions"]) == 27
    assert (plan["duration_days"] > 0).all()
    assert set(plan["campaign_type"]) == {"Type A", "Type B", "Type C"}
    targets = plan[[f"target_q{q}" for q in range(1, 5)]].to_numpy()
    assert ((targets >= 0) & (targets <= 1)).all()
    # Targeting grows with spend: the top quartile is targeted more than the bottom one.
    assert (targets[:, 3] >= targets[:, 0]).all()
    assert ((plan["redeem_probability"] >= 0) & (plan["redeem_probability"] <= 1)).all()
    assert plan["redemptions"].sum() == len(cj["coupon_redemptions"])
    assert (plan["n_coupons"] > 0).all()
    rates = fitted["coupon_rates"]
    for column in ("coupon_share", "match_share"):
        assert rates[column].between(0, 1).all()
    categories = fitted["coupon_categories"]
    assert categories["share"].sum() == pytest.approx(1.0)
    values = fitted["coupon_values"]
    for kind in ("coupon", "match"):
        table = values[values["kind"] == kind]
        assert table["probability"].sum() == pytest.approx(1.0)
        assert (table["amount"] > 0).all()
    for name, table in fitted.items():
        assert len(table.to_csv(index=False)) < 20_000, name


def test_build_campaigns_is_deterministic_and_shardable(fitted, catalogue):
    plan, categories = fitted["campaign_plan"], fitted["coupon_categories"]
    ids = np.arange(1, 2001)
    rank = (np.arange(2000) + 0.5) / 2000
    one = build_campaigns(plan, ids, rank, 7, "2017-01-01", products=catalogue,
                          categories=categories)  # fmt: skip
    again = build_campaigns(plan, ids, rank, 7, "2017-01-01", products=catalogue,
                            categories=categories)  # fmt: skip
    for a, b in zip(one, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    descriptions, campaigns, coupons = one
    assert len(descriptions) == 27
    assert (descriptions["end_date"] >= descriptions["start_date"]).all()
    assert coupons["product_id"].isin(catalogue["product_id"]).all()
    assert coupons.groupby("campaign_id")["coupon_upc"].nunique().reindex(
        plan["campaign_id"]).to_numpy().tolist() == plan["n_coupons"].tolist()
    # Households split across two shards give the same targeting.
    halves = [build_campaigns(plan, ids[s], rank[s], 7, "2017-01-01")[1]
              for s in (slice(0, 700), slice(700, None))]  # fmt: skip
    joined = pd.concat(halves).sort_values(["campaign_id", "household_id"]).reset_index(drop=True)
    expected = campaigns.sort_values(["campaign_id", "household_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(joined, expected)
    # Targeting follows the spend quartile.
    quartile = np.minimum(rank * 4, 3).astype(int)
    type_a = campaigns[campaigns["campaign_id"] == 13]["household_id"].to_numpy()
    shares = np.bincount(quartile[type_a - 1], minlength=4) / 500
    assert shares[3] > shares[0]


# A synthetic chunk with known targeting -------------------------------------------------------

P_REDEEM = 0.3


def _setup(n_households=3000, seed=11):
    """Two campaigns in January-February 2017 with 2 one-product coupons each; even
    households targeted by campaign 1, households divisible by 3 by campaign 2. Every
    household buys products 101..104 once in January (one basket) and product 101 five
    more times in February; product 999 (never covered) in the same baskets."""
    plan = pd.DataFrame({"campaign_id": [1, 2], "redeem_probability": [P_REDEEM, P_REDEEM]})
    descriptions = pd.DataFrame({
        "campaign_id": [1, 2], "campaign_type": ["Type B", "Type B"],
        "start_date": pd.to_datetime(["2017-01-01", "2017-01-01"]),
        "end_date": pd.to_datetime(["2017-02-28", "2017-02-28"]),
    })  # fmt: skip
    households = np.arange(1, n_households + 1)
    campaigns = pd.concat([
        pd.DataFrame({"campaign_id": 1, "household_id": households[households % 2 == 0]}),
        pd.DataFrame({"campaign_id": 2, "household_id": households[households % 3 == 0]}),
    ], ignore_index=True)  # fmt: skip
    coupons = pd.DataFrame({"coupon_upc": [501, 502, 503, 504], "product_id": [101, 102, 103, 104],
                            "campaign_id": [1, 1, 2, 2]})  # fmt: skip
    rng = np.random.default_rng(seed)
    records = []
    for visit, products in enumerate([[101, 102, 103, 104, 999]] + [[101, 999]] * 5):
        day = rng.integers(0, 28, n_households) + 31 * (visit > 0)
        second = day * DAY + rng.integers(0, DAY, n_households) + EPOCH_2017
        for h in range(n_households):
            for p in products:
                records.append((households[h], p, visit * n_households + h, second[h]))
    frame = pd.DataFrame(records, columns=["household_id", "product_id", "basket", "time"])
    frame = frame.sort_values(["household_id", "time", "basket"], kind="stable")
    regular = rng.integers(50, 600, len(frame))
    rows = {
        "household_id": frame["household_id"].to_numpy(np.int64),
        "product_id": frame["product_id"].to_numpy(np.int64),
        "basket_id": frame["basket"].to_numpy(np.int64),
        "time": frame["time"].to_numpy(np.int64),
        "regular_cents": regular.astype(np.int64),
        "discount_cents": (regular * rng.choice([0, 0, 0.3], len(frame))).astype(np.int64),
    }
    rows["row_key"] = row_keys(rows["basket_id"])
    rates = pd.DataFrame({"department": ["GROCERY"], "coupon_share": [0.02],
                          "match_share": [0.5]})  # fmt: skip
    values = pd.DataFrame({"kind": ["coupon", "coupon", "match"], "amount": [0.5, 9.0, 0.5],
                           "probability": [0.5, 0.5, 1.0]})  # fmt: skip
    department = pd.Series("GROCERY", index=[101, 102, 103, 104, 999])
    kwargs = dict(descriptions=descriptions, campaigns=campaigns, coupons=coupons, plan=plan,
                  rates=rates, values=values, product_department=department)  # fmt: skip
    return rows, kwargs


@pytest.fixture(scope="module")
def chunk():
    rows, kwargs = _setup()
    return rows, kwargs, apply_coupons(rows, seed=5, **kwargs)


def test_redemptions_only_on_eligible_rows_once_per_coupon(chunk):
    rows, kwargs, (coupon, match, redemptions, redeemed) = chunk
    h, p = rows["household_id"], rows["product_id"]
    assert len(redemptions) > 0
    assert not redemptions.duplicated(["household_id", "coupon_upc"]).any()
    assert len(redeemed) == len(redemptions)
    targeted = {(c, hh) for c, hh in kwargs["campaigns"].itertuples(index=False)}
    upc = dict(zip(kwargs["coupons"]["coupon_upc"], kwargs["coupons"]["product_id"], strict=True))
    campaign = dict(zip(kwargs["coupons"]["coupon_upc"], kwargs["coupons"]["campaign_id"],
                        strict=True))  # fmt: skip
    for r in redemptions.itertuples(index=False):
        assert (r.campaign_id, r.household_id) in targeted
        assert campaign[r.coupon_upc] == r.campaign_id
        bought = (h == r.household_id) & (p == upc[r.coupon_upc])
        days = rows["time"][bought] // DAY
        assert (days == np.datetime64(r.redemption_date, "D").astype(np.int64)).any()
    sales = rows["regular_cents"] - rows["discount_cents"]
    assert (coupon <= sales).all() and (coupon >= 0).all()
    assert (match <= coupon).all() and (match >= 0).all()
    assert ((match > 0) <= (coupon > 0)).all()


def test_redemption_rate_matches_probability(chunk):
    rows, kwargs, (_, _, redemptions, _) = chunk
    h, p = rows["household_id"], rows["product_id"]
    sales = rows["regular_cents"] - rows["discount_cents"]
    # First purchases (January) of products 102..104: one eligible row per household and
    # coupon, so each redeems independently with P_REDEEM.
    eligible = (((p == 102) & (h % 2 == 0)) | ((p == 103) & (h % 3 == 0))
                | ((p == 104) & (h % 3 == 0))) & (sales > 0)  # fmt: skip
    n = int(eligible.sum())
    hits = int(redemptions["coupon_upc"].isin([502, 503, 504]).sum())
    assert abs(hits - n * P_REDEEM) <= 4 * np.sqrt(n * P_REDEEM * (1 - P_REDEEM))
    # Product 101 is bought six times: redeemed at most once, with 1 - (1 - p)^k overall.
    assert redemptions[redemptions["coupon_upc"] == 501]["household_id"].is_unique
    assert not redemptions["household_id"].isin(np.arange(1, 3001, 2)[
        np.arange(1, 3001, 2) % 3 != 0]).any()  # untargeted households never redeem


def test_same_seed_same_result_and_chunking_does_not_matter(chunk):
    rows, kwargs, (coupon, match, redemptions, redeemed) = chunk
    again = apply_coupons(rows, seed=5, **kwargs)
    np.testing.assert_array_equal(again[0], coupon)
    np.testing.assert_array_equal(again[1], match)
    pd.testing.assert_frame_equal(again[2], redemptions)
    other = apply_coupons(rows, seed=6, **kwargs)
    assert not np.array_equal(other[0], coupon)
    # Two chunks in time order (as the engine's chunks of weeks), the state carried over.
    cut = rows["time"] < EPOCH_2017 + 40 * DAY
    parts = []
    state = None
    for mask in (cut, ~cut):
        part = {k: v[mask] for k, v in rows.items()}
        c, m, r, state = apply_coupons(part, seed=5, redeemed=state, **kwargs)
        parts.append((mask, c, m, r))
    joined_coupon = np.zeros_like(coupon)
    joined_match = np.zeros_like(match)
    for mask, c, m, _ in parts:
        joined_coupon[mask], joined_match[mask] = c, m
    np.testing.assert_array_equal(joined_coupon, coupon)
    np.testing.assert_array_equal(joined_match, match)
    key = ["household_id", "coupon_upc"]
    joined = pd.concat([r for *_, r in parts]).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(joined, redemptions.sort_values(key).reset_index(drop=True))
    np.testing.assert_array_equal(state, redeemed)
    # Chunks by households (any order) need no state.
    odd = rows["household_id"] % 2 == 1
    split = np.zeros_like(coupon)
    for mask in (~odd, odd):
        split[mask] = apply_coupons({k: v[mask] for k, v in rows.items()}, seed=5, **kwargs)[0]
    np.testing.assert_array_equal(split, coupon)


def test_row_keys_are_unique_per_basket_position():
    keys = row_keys(np.array([5, 5, 5, 9, 9, 12]))
    assert keys.tolist() == [5 * 256, 5 * 256 + 1, 5 * 256 + 2, 9 * 256, 9 * 256 + 1, 12 * 256]


def test_coupon_shares_on_cj_rows_match_the_data(cj, fitted):
    tx = cj["transactions"]
    sales = np.round(tx["sales_value"].to_numpy() * 100).astype(np.int64)
    rows = {
        "household_id": tx["household_id"].to_numpy(np.int64),
        "product_id": tx["product_id"].to_numpy(np.int64),
        "row_key": np.arange(len(tx), dtype=np.int64),
        "time": tx["transaction_timestamp"].to_numpy().astype("datetime64[s]").astype(np.int64),
        "regular_cents": sales, "discount_cents": np.zeros(len(tx), np.int64),
    }  # fmt: skip
    department = cj["products"].set_index("product_id")["department"]
    coupon, match, redemptions, _ = apply_coupons(
        rows, descriptions=cj["campaign_descriptions"], campaigns=cj["campaigns"],
        coupons=cj["coupons"], plan=fitted["campaign_plan"], rates=fitted["coupon_rates"],
        values=fitted["coupon_values"], product_department=department, seed=3)
    n = len(tx)
    for produced, observed in [((coupon > 0).mean(), (tx["coupon_disc"] > 0).mean()),
                               ((match > 0).mean(), (tx["coupon_match_disc"] > 0).mean())]:
        tolerance = 4 * np.sqrt(2 * observed * (1 - observed) / n)
        assert abs(produced - observed) <= tolerance, (produced, observed, tolerance)
    # Campaign redemptions: the data's count within a factor of two (the once-per-coupon rule
    # and the shrunk rates make them fewer than the fitted rates times eligible rows).
    assert 0.5 * len(cj["coupon_redemptions"]) <= len(redemptions) <= 1.5 * len(
        cj["coupon_redemptions"])
    assert not redemptions.duplicated(["household_id", "coupon_upc"]).any()
