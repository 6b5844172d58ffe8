"""The retail fidelity yardstick (scenarios.retail.fidelity) and discount elasticity
(scenarios.retail.elasticity), on The Complete Journey itself: two disjoint halves of its
households pass every measure against each other, deliberately broken data fails the measures
it breaks, planted copies are found, and the elasticity estimator recovers a known
coefficient."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scenarios.retail.elasticity import discount_elasticity
from scenarios.retail.fidelity import (
    basket_table,
    department_spend_shares,
    exact_copies,
    fidelity_figure,
    fidelity_scores,
    gaps_days,
    household_table,
)
from scenarios.retail.fidelity_measures import COPY_MIN_ITEMS
from simulations.errors import ConfigError

LARGE_DEPARTMENTS = ["GROCERY", "DRUG GM", "PRODUCE", "MEAT-PCKGD", "MEAT"]


@pytest.fixture(scope="module")
def cj() -> dict[str, pd.DataFrame]:
    from scenarios.retail.data import load_complete_journey

    return load_complete_journey(["transactions", "products"])


@pytest.fixture(scope="module")
def halves(cj) -> tuple[pd.DataFrame, pd.DataFrame]:
    """CJ transactions split by household into two seeded halves (as "synthetic", "real")."""
    tx = cj["transactions"]
    households = np.unique(tx["household_id"])
    first = np.random.default_rng(20240).permutation(households)[: len(households) // 2]
    mask = tx["household_id"].isin(first)
    return tx[mask].reset_index(drop=True), tx[~mask].reset_index(drop=True)


def _score(table: pd.DataFrame, measure: str) -> pd.Series:
    return table.set_index("measure").loc[measure]


def _thresholded(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["threshold"].notna()]


def test_tables_agree_with_the_transactions(halves):
    tx = halves[1]
    baskets = basket_table(tx)
    assert len(baskets) == tx["basket_id"].nunique()
    assert baskets["items"].sum() == len(tx)
    assert baskets["spend"].sum() == pytest.approx(tx["sales_value"].sum())
    households = household_table(tx)
    assert households["visits"].sum() == len(baskets)
    gaps = gaps_days(tx)
    assert len(gaps) == len(baskets) - len(households)
    assert (gaps >= 0).all() and gaps.max() < 366
    shares = department_spend_shares(tx, pd.DataFrame({"product_id": tx["product_id"].unique(),
                                                       "department": "ALL"}))
    np.testing.assert_allclose(shares["ALL"].to_numpy(), 1.0)


def test_real_halves_pass_every_measure(cj, halves):
    synthetic, real = halves
    scores = fidelity_scores({"transactions": synthetic, "products": cj["products"]},
                             {"transactions": real, "products": cj["products"]}, seed=3)
    judged = _thresholded(scores)
    assert set(judged["kind"]) == {"column shape", "KS complement", "TSTR ratio", "exact copies"}
    assert len(judged) == 13
    failed = judged[~judged["passed"].astype(bool)]
    assert failed.empty, failed.to_string()
    # Headroom: halves of ~1,230 households differ by sampling noise only (KS ~ 1.36 /
    # sqrt(615) = 0.055 at 95% for the per-household measures), well inside the thresholds.
    assert (judged.loc[judged["kind"] != "exact copies", "score"] > 0.94).all()
    departments = scores[scores["kind"] == "KS complement (department)"]
    assert len(departments) >= 5 and departments["score"].between(0.9, 1.0).all()


def test_short_baskets_recur_between_real_halves_but_long_ones_do_not(halves):
    synthetic, real = halves
    assert exact_copies(synthetic, real) == 0
    assert exact_copies(synthetic, real, min_items=1) > 1000  # why min_items is not 1
    assert COPY_MIN_ITEMS == 4


def test_broken_quantities_and_clock_fail_their_shapes(cj, halves):
    synthetic, real = halves
    broken = synthetic.assign(quantity=synthetic["quantity"] * 3,
                              transaction_timestamp=synthetic["transaction_timestamp"]
                              + pd.Timedelta(hours=7))  # fmt: skip
    scores = fidelity_scores({"transactions": broken}, {"transactions": real,
                                                        "products": cj["products"]})
    assert not _score(scores, "quantity")["passed"]
    assert not _score(scores, "hour of day")["passed"]
    assert _score(scores, "sales_value")["passed"]  # untouched columns still pass
    assert _score(scores, "items per basket")["passed"]


def test_baskets_split_into_single_items_fail_basket_measures(cj, halves):
    synthetic, real = halves
    split = synthetic.assign(basket_id=np.arange(len(synthetic)) + 10**12)
    scores = fidelity_scores({"transactions": split, "products": cj["products"]},
                             {"transactions": real, "products": cj["products"]})
    for measure in ("items per basket", "spend per basket", "visits per household",
                    "days between visits"):  # fmt: skip
        assert not _score(scores, measure)["passed"], measure
    assert _score(scores, "department spend share")["passed"]


def test_households_without_dynamics_fail_tstr(cj, halves):
    synthetic, real = halves
    rng = np.random.default_rng(5)
    baskets = synthetic["basket_id"].unique()
    owner = pd.Series(rng.choice(synthetic["household_id"].unique(), len(baskets)), baskets)
    shuffled = synthetic.assign(household_id=synthetic["basket_id"].map(owner).to_numpy())
    scores = fidelity_scores({"transactions": shuffled}, {"transactions": real,
                                                          "products": cj["products"]})
    tstr = _score(scores, "next-week visit (AUC synthetic-trained / real-trained)")
    assert tstr["score"] < 0.9 and not tstr["passed"]


def test_planted_basket_and_household_are_found(halves):
    synthetic, real = halves
    sizes = real.groupby("basket_id").size()
    basket = real[real["basket_id"] == sizes[sizes >= 6].index[0]]
    planted = basket.sample(frac=1.0, random_state=0).assign(  # rows reordered: still a copy
        basket_id=-1, household_id=synthetic["household_id"].iloc[0])
    assert exact_copies(pd.concat([synthetic, planted]), real) == 1
    altered = planted.assign(sales_value=planted["sales_value"].to_numpy() + np.r_[0.01, [0] * (
        len(planted) - 1)])  # one cent off: not a copy
    assert exact_copies(pd.concat([synthetic, altered]), real) == 0
    household = real[real["household_id"] == real["household_id"].iloc[0]]
    copied = household.assign(household_id=-7, basket_id=household["basket_id"] + 10**12)
    long_baskets = int((household.groupby("basket_id").size() >= COPY_MIN_ITEMS).sum())
    assert exact_copies(pd.concat([synthetic, copied]), real) == long_baskets + 1


def test_parameters_are_validated(cj, halves):
    with pytest.raises(ConfigError, match="'seed' parameter of fidelity_scores.*-1"):
        fidelity_scores({"transactions": halves[0]}, {"transactions": halves[1],
                                                      "products": cj["products"]}, seed=-1)
    with pytest.raises(ConfigError, match="'real' parameter of fidelity_scores"):
        fidelity_scores({"transactions": halves[0]}, {"transactions": halves[1]})
    with pytest.raises(ConfigError, match="'min_items' parameter of exact_copies.*0"):
        exact_copies(halves[0], halves[1], min_items=0)
    with pytest.raises(ConfigError, match=r"'min_weeks' parameter.*\[2, inf\).*1"):
        discount_elasticity(halves[0], cj["products"], min_weeks=1)
    with pytest.raises(ConfigError, match="lacking \\['basket_id'\\]"):
        basket_table(halves[0].drop(columns="basket_id"))


def test_figure_has_the_panels(cj, halves):
    fig = fidelity_figure({"transactions": halves[0]}, {"transactions": halves[1],
                                                        "products": cj["products"]})
    titles = [ax.get_title() for ax in fig.axes]
    assert "items per basket" in titles and "days between visits" in titles
    assert sum(bool(t) for t in titles) == 7


def test_cj_discount_elasticity(cj):
    table = discount_elasticity(cj["transactions"], cj["products"]).set_index("department")
    large = table.loc[LARGE_DEPARTMENTS]
    assert np.isfinite(large[["elasticity", "ci_low", "ci_high"]].to_numpy()).all()
    assert (large["ci_low"] < large["elasticity"]).all()
    assert (large["elasticity"] < large["ci_high"]).all()
    assert table.loc["GROCERY", "ci_low"] > 0  # more rows in deeper-discount weeks
    small = table[table["n_products"] < 5]
    assert len(small) > 0 and small["elasticity"].isna().all()


def _known_panel(beta: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transactions whose product-week row counts are Poisson(exp(alpha_p + gamma_w +
    beta * depth_pw)), depth correlated with the product effect (so that leaving the
    product effects out would bias beta). Means of about 90 rows keep the bias of log-counts
    (about beta / (2 * mean) = 0.008) small beside the standard error (about 0.035)."""
    rng = np.random.default_rng(seed)
    n_products, n_weeks = 40, 30
    alpha = rng.normal(4.5, 0.5, n_products)
    gamma = rng.normal(0.0, 0.2, n_weeks)
    base = np.clip(0.15 - 0.1 * (alpha - 4.5), 0.0, 0.5)
    depth = np.clip(base[:, None] + rng.uniform(-0.1, 0.2, (n_products, n_weeks)), 0.0, 0.9)
    depth = np.round(depth, 2)  # 2.00 regular price: depth in whole cents
    counts = rng.poisson(np.exp(alpha[:, None] + gamma[None, :] + beta * depth))
    p, w = np.nonzero(counts)
    n = counts[p, w]
    disc = np.repeat(depth[p, w], n) * 2.0
    tx = pd.DataFrame({"product_id": np.repeat(p, n), "week": np.repeat(w + 1, n),
                       "retail_disc": disc, "sales_value": 2.0 - disc})  # fmt: skip
    products = pd.DataFrame({"product_id": np.arange(n_products), "department": "TEST"})
    return tx, products


def test_elasticity_recovers_a_known_coefficient():
    beta = 1.5
    tx, products = _known_panel(beta, seed=11)
    row = discount_elasticity(tx, products).iloc[0]
    assert row["n_products"] == 40 and row["n_obs"] == 40 * 30
    assert row["ci_low"] < beta < row["ci_high"]
    # the interval is informative: 1,200 product-weeks of ~90 rows give a standard error of
    # about 0.035 (checked over 100 seeds: spread 0.032, coverage 95%)
    assert 0.05 < row["ci_high"] - row["ci_low"] < 0.25
    few = discount_elasticity(tx[tx["product_id"] < 4], products)
    assert few["elasticity"].isna().all() and few["n_products"].iloc[0] == 4


def test_elasticity_matches_dummy_variable_least_squares():
    """The within transformation gives the coefficient of OLS with product and week dummies."""
    tx, products = _known_panel(0.8, seed=2)
    panel = tx.assign(depth=tx["retail_disc"] / 2.0).groupby(["product_id", "week"])["depth"]
    panel = panel.agg(rows="size", depth="mean").reset_index()
    X = np.column_stack([panel["depth"], pd.get_dummies(panel["product_id"]).to_numpy(float),
                         pd.get_dummies(panel["week"]).to_numpy(float)[:, 1:]])  # fmt: skip
    ols = np.linalg.lstsq(X, np.log(panel["rows"].to_numpy(float)), rcond=None)[0][0]
    fit = discount_elasticity(tx, products).iloc[0]["elasticity"]
    assert fit == pytest.approx(ols, abs=1e-8)
