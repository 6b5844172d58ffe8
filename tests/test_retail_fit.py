"""``synthsim fit retail``: bad input is refused in one line, and the fit recovers the
parameters a synthetic year was simulated with."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from scenarios.retail.data import check_tables, load_complete_journey, load_folder
from scenarios.retail.fit_baskets import _affinities, category_keys
from scenarios.retail.fit_shoppers import basket_frame, fit_shoppers
from scenarios.retail.parameters import load_parameters
from simulations.cli import cli
from simulations.errors import ConfigError
from simulations.runner import run
from simulations.scenario import get_scenario

Z = 3.29  # two-sided 99.9%: a recovered figure outside its interval is a real miss


@pytest.fixture(scope="module")
def cj():
    return load_complete_journey(["transactions", "products", "coupons"])


def _set(frame: pd.DataFrame, rows: list[int], column: str, value) -> None:
    frame.loc[rows, column] = value


@pytest.mark.parametrize("breakage, message", [
    (lambda t: t.pop("products"), r"needs a 'products' table"),
    (lambda t: t.update(transactions=t["transactions"].drop(columns="quantity")),
     r"Table 'transactions' lacks the columns \['quantity'\]"),
    (lambda t: _set(t["transactions"], [5, 6, 7], "quantity", -1),
     r"Table 'transactions' has 3 negative values in 'quantity' \(first at row 5\)"),
    (lambda t: _set(t["transactions"], [3], "product_id", 1),
     r"Table 'transactions' names 1 product_id values missing from 'products' \(e\.g\. 1\)"),
    (lambda t: _set(t["coupons"], [0], "product_id", 2),
     r"Table 'coupons' names 1 product_id values missing from 'products' \(e\.g\. 2\)"),
])  # fmt: skip
def test_bad_tables_get_a_one_line_error(cj, breakage, message):
    tables = {name: frame.head(1000).copy() for name, frame in cj.items()}
    tables["products"] = cj["products"]
    breakage(tables)
    with pytest.raises(ConfigError, match=message) as error:
        check_tables(tables)
    assert "\n" not in str(error.value)


def test_the_cli_refuses_a_bad_folder_and_writes_nothing(tmp_path, cj):
    data = tmp_path / "data"
    data.mkdir()
    cj["transactions"].head(500).drop(columns="week").to_parquet(data / "transactions.parquet")
    cj["products"].to_parquet(data / "products.parquet")
    out = tmp_path / "fitted"
    result = CliRunner().invoke(cli, ["fit", "retail", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: Table 'transactions' lacks the columns ['week']; it needs ['household_id', "
        "'store_id', 'basket_id', 'product_id', 'quantity', 'sales_value', 'retail_disc', "
        "'coupon_disc', 'coupon_match_disc', 'week', 'transaction_timestamp']."]
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_scenario_without_a_fit_says_which_have_one(tmp_path):
    result = CliRunner().invoke(cli, ["fit", "bank", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "has no fit; scenarios with one: retail" in result.output


@pytest.fixture(scope="module")
def recovery(tmp_path_factory):
    """A year simulated with the shipped parameters, every household active all year (the
    activity windows are a separate, empirical part of the model), and the tables it wrote."""
    params = load_parameters()
    params.activity = pd.DataFrame({"first_week": [1], "last_week": [53], "households": [1]})
    folder = params.save(tmp_path_factory.mktemp("retail") / "parameters")
    scenario = get_scenario("retail")
    config = scenario.resolve_config(overrides=[
        f"population.parameters='{folder}'", "population.n_households=3000", "run.weeks=26",
    ], seed=5)  # fmt: skip
    out = tmp_path_factory.mktemp("retail") / "run"
    run(scenario, config, out, progress=False)
    tables = load_folder(out, ["transactions", "products"])
    return params, tables["transactions"], tables["products"]


_SHOPPER_SCALARS = ["trips_per_week", "trip_rate_shape", "extra_baskets_per_trip",
                    "extra_basket_same_store", "items_log_mean", "items_log_sd",
                    "items_dispersion"]  # fmt: skip


def test_trip_and_basket_parameters_are_recovered(recovery):
    """Each figure lies within its 99.9% interval, from a bootstrap over households."""
    params, transactions, _ = recovery
    baskets = basket_frame(transactions)
    estimate, _ = fit_shoppers(baskets, weeks_active=26)
    households = baskets["household_id"].unique()
    rng = np.random.default_rng(0)
    draws = []
    by_household = dict(tuple(baskets.groupby("household_id", sort=False)))
    for _ in range(30):
        chosen = rng.choice(households, len(households))
        frames = [by_household[h].assign(household_id=i) for i, h in enumerate(chosen)]
        draws.append(fit_shoppers(pd.concat(frames, ignore_index=True), weeks_active=26)[0])
    draws = pd.DataFrame(draws)
    for name in _SHOPPER_SCALARS:
        half = Z * draws[name].std()
        assert abs(estimate[name] - params.scalars[name]) <= half, (
            name, estimate[name], params.scalars[name], half)


def test_category_affinities_are_recovered(recovery):
    """Dirichlet concentrations: the estimate from the synthetic year is within Z bootstrap
    standard deviations (households resampled) of the value simulated with."""
    params, transactions, products = recovery
    rows = transactions.merge(products[["product_id", "department", "product_category"]],
                              on="product_id")  # fmt: skip
    rows["category"] = category_keys(rows).to_numpy()
    categories = params.categories
    across, within = _affinities(rows, categories)
    rng = np.random.default_rng(2)
    households = rows["household_id"].unique()
    groups = dict(tuple(rows[["household_id", "category"]].groupby("household_id", sort=False)))
    draws = []
    for _ in range(20):
        chosen = rng.choice(households, len(households))
        sample = pd.concat([groups[h].assign(household_id=i) for i, h in enumerate(chosen)])
        draws.append(_affinities(sample, categories))
    spread = np.array(draws).std(axis=0)
    truth = (params.scalars["department_concentration"], params.scalars["category_concentration"])
    for estimate, true, sd in zip((across, within), truth, spread, strict=True):
        assert abs(np.log(estimate) - np.log(true)) <= Z * sd / estimate, (estimate, true, sd)


def test_the_shipped_calibration_matched_the_data():
    """The shipped calibration (discount response and habit, fitted by simulated years) left
    every large department's simulated elasticity inside the data's 95% interval, and its
    discounted and repeat shares within a point (the fit's own record; a default run is
    measured again in tests/test_retail_scenario.py)."""
    table = pd.DataFrame(load_parameters().provenance["calibration"]).set_index("department")
    for department in ("GROCERY", "DRUG GM", "PRODUCE", "MEAT-PCKGD", "MEAT", "DELI"):
        row = table.loc[department]
        assert row["ci_low"] <= row["simulated_elasticity"] <= row["ci_high"], department
        for share in ("discounted_share", "repeat_share"):
            assert abs(row[f"simulated_{share}"] - row[share]) < 0.01, (department, share)
