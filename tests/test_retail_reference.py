"""The Mesa reference model of the retail scenario against the Numba kernel.

Both engines simulate the same households (same population stream, same weekly tables) but
draw from different random streams, so their outputs are two samples of the same process.
Each statistic is compared with a tolerance of ``Z`` = 4 standard errors of the difference,
computed from the data: households are the independent units (a household's baskets and
items are not independent), so standard errors of ratios are cluster-robust by household,
and per-household counts are compared paired. Both engines' outputs must also satisfy the
invariants of the transactions table. Seeds are fixed, so the outcome is reproducible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scenarios.retail.simulate import build_households, parameters_of
from simulations.datasets import read_table
from simulations.runner import run
from simulations.scenario import get_scenario

Z = 4.0
ALPHA = 2 * stats.norm.sf(Z)  # the same two-sided level for the chi-square tests
N_HOUSEHOLDS, WEEKS = 3000, 8
OVERRIDES = [f"population.n_households={N_HOUSEHOLDS}", f"run.weeks={WEEKS}",
             "run.shard_size=1500", "run.chunk_weeks=3", "run.seed=2025"]  # fmt: skip
ENGINES = ("kernel", "reference")
DAY, WEEK = 86_400, 7 * 86_400


@pytest.fixture(scope="module")
def setup():
    scenario = get_scenario("retail")
    config = scenario.resolve_config(overrides=OVERRIDES)
    return scenario, config, parameters_of(config)


@pytest.fixture(scope="module")
def runs(setup, tmp_path_factory) -> dict[str, dict[str, pd.DataFrame]]:
    scenario, config, params = setup
    products = params.products.set_index("product_id")
    out = {}
    for engine in ENGINES:
        folder = tmp_path_factory.mktemp("retail") / engine
        run(scenario, config, folder, engine=engine, progress=False)
        tx = read_table(folder, "transactions")
        tx["order"] = np.arange(len(tx))
        tx["category"] = products["category_index"].reindex(tx["product_id"]).to_numpy()
        tx["department"] = products["department"].reindex(tx["product_id"]).to_numpy()
        tx["quantity_group"] = products["quantity_group"].reindex(tx["product_id"]).to_numpy()
        tx["unit_price"] = products["regular_price"].reindex(tx["product_id"]).to_numpy()
        out[engine] = {"tx": tx, "demographics": read_table(folder, "demographics")}
    return out


# -- statistics -------------------------------------------------------------------------------


def _ratio(numerator: pd.Series, denominator: pd.Series) -> tuple[float, pd.Series]:
    """sum(numerator) / sum(denominator) over households, and each household's term of its
    linearisation (the estimate's error is close to the sum of the terms)."""
    num, den = numerator.align(denominator, fill_value=0)
    estimate = num.sum() / den.sum()
    return float(estimate), (num - estimate * den) / den.sum()


def _compare_ratios(name: str, kernel: tuple[pd.Series, pd.Series],
                    reference: tuple[pd.Series, pd.Series]) -> None:
    """Ratios of sums over households (numerator, denominator per household) of the two
    engines. The same households run in both, so their errors are correlated: the standard
    error of the difference is cluster-robust and paired by household."""
    (k, k_terms), (r, r_terms) = _ratio(*kernel), _ratio(*reference)
    d = k_terms.sub(r_terms, fill_value=0)
    n = len(d)
    se = float(np.sqrt(n / (n - 1) * (d**2).sum()))
    _check(name, (k, np.nan), (r, np.nan), se)


def _check(name: str, kernel: tuple[float, float], reference: tuple[float, float],
           se: float | None = None) -> None:
    """Two estimates (value, standard error) agree within ``Z`` standard errors of their
    difference: ``se`` when given (paired), else that of independent estimates."""
    (k, k_se), (r, r_se) = kernel, reference
    tolerance = Z * (np.hypot(k_se, r_se) if se is None else se)
    print(f"{name:34s} kernel {k:10.5f}  reference {r:10.5f}  |diff| {abs(k - r):.5f} "
          f"<= {tolerance:.5f}")  # fmt: skip
    assert abs(k - r) <= tolerance, (name, k, r, tolerance)


def _per_household(tx: pd.DataFrame, values) -> pd.Series:
    return pd.Series(values, index=tx.index).groupby(tx["household_id"]).sum()


def _baskets(tx: pd.DataFrame) -> pd.DataFrame:
    return tx.groupby("basket_id").agg(household_id=("household_id", "first"),
                                       store_id=("store_id", "first"),
                                       time=("transaction_timestamp", "first"),
                                       items=("product_id", "size"))  # fmt: skip


def _in_time_order(tx: pd.DataFrame) -> pd.DataFrame:
    """Rows by household then time, in written order within a basket (item order)."""
    return tx.sort_values(["household_id", "transaction_timestamp", "order"], kind="stable")


# -- statistical equivalence -------------------------------------------------------------------


def test_baskets_per_household_week(setup, runs):
    """Paired by household: the same households are active the same weeks in both runs."""
    scenario, config, params = setup
    active = 0
    for shard in range(scenario.n_shards(config)):
        h = build_households(config, params, shard)
        weeks = np.minimum(h.last_week, WEEKS - 1) - np.maximum(h.first_week, 0) + 1
        active += weeks.clip(0).sum()
    ids = runs["kernel"]["demographics"]["household_id"]
    k, r = (_baskets(runs[e]["tx"])["household_id"].value_counts().reindex(ids, fill_value=0)
            for e in ENGINES)  # fmt: skip
    d = (k - r).to_numpy()
    se = d.std(ddof=1) * np.sqrt(len(d))  # of the difference of the totals
    print(f"baskets per active household-week: kernel {k.sum() / active:.4f}, reference "
          f"{r.sum() / active:.4f} ({active} household-weeks)")  # fmt: skip
    _check("baskets per household-week", (k.sum() / active, np.nan), (r.sum() / active, np.nan),
           se / active)
    assert min(k.sum(), r.sum()) > 3000


def test_items_per_basket(runs):
    estimates = []
    for engine in ENGINES:
        tx = runs[engine]["tx"]
        baskets = _baskets(tx)
        estimates.append((tx.groupby("household_id").size(),
                                baskets.groupby("household_id").size()))  # fmt: skip
    _compare_ratios("items per basket", *estimates)


def test_share_discounted(runs):
    estimates = []
    for engine in ENGINES:
        tx = runs[engine]["tx"]
        estimates.append((_per_household(tx, tx["retail_disc"] > 0),
                                tx.groupby("household_id").size()))  # fmt: skip
    _compare_ratios("share of rows discounted", *estimates)


def test_department_shares(runs):
    shares = runs["kernel"]["tx"]["department"].value_counts(normalize=True)
    big = shares.index[shares >= 0.03]
    assert len(big) >= 4
    for department in big:
        estimates = []
        for engine in ENGINES:
            tx = runs[engine]["tx"]
            estimates.append((_per_household(tx, tx["department"] == department),
                                    tx.groupby("household_id").size()))  # fmt: skip
        _compare_ratios(f"share of rows {department}", *estimates)


def test_mean_quantity(runs):
    """Quantity of items sold by count (metered groups, fuel in gallons, excluded)."""
    estimates = []
    for engine in ENGINES:
        tx = runs[engine]["tx"]
        counted = ~tx["quantity_group"].str.contains("metered") & (tx["department"] != "FUEL")
        tx = tx[counted]
        estimates.append((tx.groupby("household_id")["quantity"].sum(),
                                tx.groupby("household_id").size()))  # fmt: skip
    _compare_ratios("mean quantity (counted)", *estimates)


def test_repeat_purchases(runs):
    """Share of rows whose product is the household's previous product in the category,
    among rows with a previous one (habit)."""
    estimates = []
    for engine in ENGINES:
        tx = _in_time_order(runs[engine]["tx"])
        previous = tx.groupby(["household_id", "category"])["product_id"].shift()
        has = previous.notna()
        estimates.append((_per_household(tx, has & (previous == tx["product_id"])),
                                _per_household(tx, has)))  # fmt: skip
    _compare_ratios("repeat-purchase share", *estimates)


def test_home_store_share(runs):
    """Share of baskets at each household's most used store."""
    estimates = []
    for engine in ENGINES:
        baskets = _baskets(runs[engine]["tx"])
        counts = baskets.groupby(["household_id", "store_id"]).size()
        estimates.append((counts.groupby(level=0).max(), counts.groupby(level=0).sum()))
    _compare_ratios("baskets at the most used store", *estimates)


@pytest.mark.parametrize("unit", ["hour", "weekday"])
def test_time_profiles(runs, unit):
    """Chi-square test of homogeneity of the hour of day (weekday) of the first basket of
    each household-day (near-independent units), sparse cells pooled."""
    counts = {}
    for engine in ENGINES:
        baskets = _baskets(runs[engine]["tx"])
        time = baskets["time"]
        first = baskets.groupby([baskets["household_id"], time.dt.normalize()]).head(1)
        key = first["time"].dt.hour if unit == "hour" else first["time"].dt.dayofweek
        counts[engine] = key.value_counts()
    table = pd.DataFrame(counts).fillna(0).sort_index()
    expected = table.sum(axis=1) * table.sum().min() / table.sum().sum()
    sparse = expected < 5
    table = pd.concat([table[~sparse], table[sparse].sum().to_frame().T]) if sparse.any() else table
    table = table[table.sum(axis=1) > 0]
    p = stats.chi2_contingency(table.to_numpy()).pvalue
    tv = 0.5 * (table / table.sum()).diff(axis=1).abs().iloc[:, 1].sum()
    print(f"{unit} profile: chi-square p = {p:.4f} (>= {ALPHA:.1e}), TV distance {tv:.4f}, "
          f"{int(table.sum().sum())} household-days")  # fmt: skip
    assert p >= ALPHA, (unit, p)


# -- invariants of both engines ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_households_kept(runs, engine):
    demographics, tx = runs[engine]["demographics"], runs[engine]["tx"]
    assert len(demographics) == N_HOUSEHOLDS
    assert demographics["household_id"].is_unique
    assert set(tx["household_id"]) <= set(demographics["household_id"])
    pd.testing.assert_series_equal(demographics["household_id"],
                                   runs["kernel"]["demographics"]["household_id"])


@pytest.mark.parametrize("engine", ENGINES)
def test_time_order_per_household(runs, engine):
    tx = runs[engine]["tx"]
    steps = tx.groupby("household_id")["transaction_timestamp"].diff().dropna()
    assert (steps >= pd.Timedelta(0)).all()
    # baskets of a household at least a minute apart
    baskets = _baskets(tx).sort_values(["household_id", "time"])
    gaps = baskets.groupby("household_id")["time"].diff().dropna()
    assert (gaps >= pd.Timedelta(minutes=1)).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_one_store_household_and_time_per_basket(runs, engine):
    tx = runs[engine]["tx"]
    per_basket = tx.groupby("basket_id")[["household_id", "store_id",
                                          "transaction_timestamp"]].nunique()  # fmt: skip
    assert (per_basket == 1).all().all()
    assert (tx.groupby("basket_id").size() <= 250).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_values(runs, engine):
    """sales_value + retail_disc is the regular value, unit price x quantity, in whole cents;
    neither is negative; a coupon never exceeds the sales value, nor a match its coupon."""
    tx = runs[engine]["tx"]
    sales, discount = (tx["sales_value"] * 100).round(), (tx["retail_disc"] * 100).round()
    assert (sales >= 0).all() and (discount >= 0).all()
    regular = np.round(tx["unit_price"].to_numpy() * tx["quantity"].to_numpy() * 100.0)
    np.testing.assert_array_equal((sales + discount).to_numpy(), regular)
    coupon, match = (tx["coupon_disc"] * 100).round(), (tx["coupon_match_disc"] * 100).round()
    assert (coupon >= 0).all() and (coupon <= sales).all() and (coupon > 0).any()
    assert (match >= 0).all() and (match <= coupon).all()
    assert (tx["quantity"] >= 0).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_week_matches_timestamp(setup, runs, engine):
    _, config, _ = setup
    tx = runs[engine]["tx"]
    start = pd.Timestamp(config["run"]["start_date"])
    seconds = (tx["transaction_timestamp"] - start).dt.total_seconds().astype(np.int64)
    assert (seconds >= 0).all()
    np.testing.assert_array_equal(tx["week"].to_numpy(), 1 + seconds.to_numpy() // WEEK)
    # a week's last trips may run a few hours past the last simulated week
    assert (seconds < WEEKS * WEEK + 2 * DAY).all()
