"""The retail scenario's default year against The Complete Journey, its invariants, its
metrics, its what-ifs and its reproducibility, on real output."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from scenarios.retail.data import load_complete_journey, load_folder
from scenarios.retail.elasticity import discount_elasticity
from scenarios.retail.fidelity import fidelity_scores
from simulations.cli import cli
from simulations.datasets import read_manifest
from simulations.errors import ConfigError
from simulations.runner import run
from simulations.scenario import get_scenario

LARGE_DEPARTMENTS = ["GROCERY", "DRUG GM", "PRODUCE", "MEAT-PCKGD", "MEAT", "DELI"]
TABLES = ["transactions", "products", "demographics", "campaigns", "coupons",
          "coupon_redemptions"]  # fmt: skip


def _run(tmp_path_factory, overrides=(), workers=1, name="run"):
    scenario = get_scenario("retail")
    config = scenario.resolve_config(overrides=list(overrides))
    out = tmp_path_factory.mktemp("retail") / name
    run(scenario, config, out, workers=workers, progress=False)
    return out


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    """The default run: The Complete Journey's household count for a year, seed 42."""
    out = _run(tmp_path_factory)
    return out, load_folder(out, TABLES)


@pytest.fixture(scope="module")
def real():
    return load_complete_journey(["transactions", "products"])


def test_default_year_passes_every_fidelity_measure(year, real):
    _, tables = year
    scores = fidelity_scores(tables, real, seed=0)
    judged = scores.dropna(subset=["passed"])
    assert len(judged) == 13
    failed = judged[~judged["passed"].astype(bool)]
    assert failed.empty, failed.to_string()


def test_discount_elasticity_lies_in_the_data_interval(year, real):
    _, tables = year
    synthetic = discount_elasticity(tables["transactions"], real["products"]).set_index(
        "department")
    target = discount_elasticity(real["transactions"], real["products"]).set_index("department")
    for department in LARGE_DEPARTMENTS:
        value = synthetic.loc[department, "elasticity"]
        low, high = target.loc[department, ["ci_low", "ci_high"]]
        assert low <= value <= high, (department, value, low, high)


def test_money_and_timestamps_reconcile(year):
    _, tables = year
    tx = tables["transactions"]
    cents = {c: (tx[c] * 100).round() for c in ("sales_value", "retail_disc", "coupon_disc",
                                                 "coupon_match_disc")}  # fmt: skip
    assert all((value >= 0).all() for value in cents.values())
    assert (cents["coupon_disc"] <= cents["sales_value"]).all()
    assert (cents["coupon_match_disc"] <= cents["coupon_disc"]).all()
    # rows are written in time order per household
    time = tx["transaction_timestamp"].astype("int64")
    assert (time.groupby(tx["household_id"]).diff().dropna() >= 0).all()
    start = pd.Timestamp("2017-01-01")
    weeks = 1 + (tx["transaction_timestamp"] - start).dt.days // 7
    assert (weeks == tx["week"]).all() and tx["week"].between(1, 52).all()


def test_households_are_neither_created_nor_lost(year):
    _, tables = year
    households = tables["demographics"]["household_id"]
    assert households.is_unique and len(households) == 2469
    assert set(tables["transactions"]["household_id"]) <= set(households)
    assert set(tables["campaigns"]["household_id"]) <= set(households)


def test_redemptions_are_coupon_rows_of_targeted_households(year):
    _, tables = year
    redemptions = tables["coupon_redemptions"]
    assert len(redemptions) > 0
    campaigns = tables["campaigns"]
    targeted = set(zip(campaigns["campaign_id"], campaigns["household_id"], strict=True))
    assert all(pair in targeted for pair in zip(redemptions["campaign_id"],
                                                redemptions["household_id"], strict=True))
    assert not redemptions.duplicated(["household_id", "coupon_upc", "campaign_id"]).any()
    covered = tables["coupons"].merge(redemptions, on=["coupon_upc", "campaign_id"])
    bought = tables["transactions"][tables["transactions"]["coupon_disc"] > 0]
    assert set(zip(covered["household_id"], covered["product_id"], strict=True)) & set(
        zip(bought["household_id"], bought["product_id"], strict=True))


def test_metrics_equal_the_tables(year):
    out, tables = year
    metrics = read_manifest(out)["metrics"]
    tx = tables["transactions"]
    paid = tx["sales_value"] - tx["coupon_disc"] - tx["coupon_match_disc"]
    assert metrics["revenue"] == pytest.approx(paid.sum(), rel=1e-9)
    assert metrics["baskets"] == tx["basket_id"].nunique()
    assert metrics["visits_per_household"] == pytest.approx(tx["basket_id"].nunique() / 2469)
    assert metrics["discounted_share"] == pytest.approx((tx["retail_disc"] > 0).mean())
    assert metrics["coupon_redemptions"] == len(tables["coupon_redemptions"])
    grocery = tx["product_id"].isin(
        tables["products"].loc[tables["products"]["department"] == "GROCERY", "product_id"])
    assert metrics["penetration.GROCERY"] == pytest.approx(
        tx.loc[grocery, "household_id"].nunique() / 2469)
    early = set(tx.loc[tx["week"] <= 4, "household_id"])
    late = set(tx.loc[tx["week"] >= 49, "household_id"])
    assert metrics["retention"] == pytest.approx(len(early & late) / len(early))
    assert metrics["promotion_lift"] > 1  # promoted products sell more rows per week


_SHORT = ["population.n_households=3000", "run.weeks=6", "run.shard_size=1500"]


def test_output_does_not_depend_on_workers(tmp_path_factory):
    one = _run(tmp_path_factory, _SHORT, workers=1, name="one")
    two = _run(tmp_path_factory, _SHORT, workers=2, name="two")
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    for path in files:
        assert (one / path).read_bytes() == (two / path).read_bytes(), path


def test_a_price_change_moves_prices_not_trips(tmp_path_factory):
    """Common random numbers: dearer groceries change what baskets cost, not when or where
    households shop."""
    base = load_folder(_run(tmp_path_factory, _SHORT, name="base"), ["transactions"])
    dearer = load_folder(_run(tmp_path_factory, [*_SHORT, "prices.department='GROCERY'",
                                                 "prices.change=0.1"], name="dearer"),
                         ["transactions"])  # fmt: skip
    trips = ["household_id", "store_id", "transaction_timestamp"]
    first = base["transactions"].drop_duplicates("basket_id")[trips].reset_index(drop=True)
    second = dearer["transactions"].drop_duplicates("basket_id")[trips].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, second)


def test_no_discount_what_if(tmp_path_factory):
    out = _run(tmp_path_factory, [*_SHORT, "promotions.depth_scale=0.0"], name="flat")
    tx = load_folder(out, ["transactions"])["transactions"]
    assert (tx["retail_disc"] == 0).all() and len(tx) > 0


def test_an_unknown_department_is_refused():
    with pytest.raises(ConfigError, match=r"'prices\.department' parameter of retail must be "
                                          r"'all' or a department among \[.*'GROCERY'"):
        get_scenario("retail").resolve_config(overrides=["prices.department='GROCERIES'"])


def test_the_fidelity_command_scores_and_draws(year, tmp_path):
    out, _ = year
    figure = tmp_path / "fidelity.png"
    result = CliRunner().invoke(cli, ["fidelity", str(out), "--figure", str(figure)])
    assert result.exit_code == 0, result.output
    assert "discount elasticity" in result.output and " NO " not in result.output
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = CliRunner().invoke(cli, ["fidelity", str(out), "--figure", str(figure)])
    assert again.exit_code == 2 and "already exists; pass --overwrite" in again.output


def test_closing_a_store_moves_its_shoppers_not_their_trips(tmp_path_factory):
    base = load_folder(_run(tmp_path_factory, _SHORT, name="base"), ["transactions"])
    busiest = int(base["transactions"]["store_id"].value_counts().index[0])
    closed = load_folder(_run(tmp_path_factory, [*_SHORT, f"stores.closed='{busiest}'"],
                              name="closed"), ["transactions"])  # fmt: skip
    before, after = base["transactions"], closed["transactions"]
    assert (before["store_id"] == busiest).mean() > 0.01  # the busiest store of 400-odd
    assert not (after["store_id"] == busiest).any()
    when = ["household_id", "transaction_timestamp"]
    pd.testing.assert_frame_equal(before.drop_duplicates("basket_id")[when].reset_index(drop=True),
                                  after.drop_duplicates("basket_id")[when].reset_index(drop=True))


def test_untargeted_campaigns_redeem_nothing(tmp_path_factory):
    out = _run(tmp_path_factory, [*_SHORT, "coupons.targeting_scale=0.0"], name="untargeted")
    tables = load_folder(out, ["campaigns", "coupon_redemptions", "transactions"])
    assert tables["campaigns"].empty and tables["coupon_redemptions"].empty
    assert (tables["transactions"]["coupon_disc"] > 0).any()  # manufacturer coupons remain


@pytest.mark.parametrize("closed, message", [
    ("1,x", r"must be comma-separated store_id values\. Got '1,x' instead\."),
    ("999999", r"names stores that do not exist: \[999999\]\."),
])
def test_bad_store_closures_are_refused(closed, message):
    with pytest.raises(ConfigError, match=message):
        get_scenario("retail").resolve_config(overrides=[f"stores.closed='{closed}'"])
