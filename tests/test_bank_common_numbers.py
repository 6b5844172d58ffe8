"""Common random numbers in the bank: a fraud or laundering rate changes the crime only.

Two runs that differ in one case rate share the population and, customer by customer, the
draws of ordinary behaviour (see the "Randomness" section of :mod:`scenarios.bank.kernels`).
Ordinary rows can still differ where the crime reaches them: an account a case touches
(its balance drives spending feedback and declines), and an account that such an account's
ordinary payments reach. Every other account's ordinary rows must be identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simulations.bits import new_bits, normal, poisson
from simulations.datasets import read_table
from simulations.runner import run
from simulations.scenario import get_scenario

BASE = [
    "population.n_customers=2000", "run.days=14", "run.shard_size=1000", "run.chunk_days=5",
    "run.seed=11",
]  # fmt: skip
LOW, HIGH = 0.004, 0.5  # cases per customer per year
ROW = ["timestamp", "type", "amount", "channel", "status", "src_account", "dst_account",
       "merchant_id"]  # fmt: skip


def _run(tmp_path_factory, overrides: list[str]) -> dict[str, pd.DataFrame]:
    scenario = get_scenario("bank")
    config = scenario.resolve_config(overrides=BASE + overrides)
    out = tmp_path_factory.mktemp("bank") / "ds"
    run(scenario, config, out, progress=False)
    return {name: read_table(out, name) for name in ("customers", "accounts", "transactions")}


@pytest.fixture(scope="module")
def low(tmp_path_factory):
    return _run(tmp_path_factory, [f"fraud.account_takeover={LOW}", f"laundering.fan_out={LOW}"])


@pytest.fixture(scope="module", params=["fraud.account_takeover", "laundering.fan_out"])
def pair(request, tmp_path_factory, low):
    other = "laundering.fan_out" if request.param.startswith("fraud") else "fraud.account_takeover"
    high = _run(tmp_path_factory, [f"{request.param}={HIGH}", f"{other}={LOW}"])
    return low, high


def _reached(runs) -> set[int]:
    """Accounts a case touches in either run, and those their ordinary payments reach (in
    either run, transitively)."""
    reached = set()
    for tx in runs:
        crime = tx[tx.case_id.notna()]
        reached |= set(crime.src_account.dropna().astype(int))
        reached |= set(crime.dst_account.dropna().astype(int))
    edges = pd.concat([tx[tx.case_id.isna() & tx.src_account.notna() & tx.dst_account.notna()]
                       for tx in runs])[["src_account", "dst_account"]].astype(int)  # fmt: skip
    while True:
        more = set(edges.dst_account[edges.src_account.isin(reached)]) - reached
        if not more:
            return reached
        reached |= more


def _ordinary_rows(tx: pd.DataFrame, reached: set[int]) -> pd.DataFrame:
    """Ordinary rows made by accounts the crime does not reach (the payer's, or the payee's
    for money coming from outside the bank)."""
    ordinary = tx[tx.case_id.isna()]
    owner = ordinary.src_account.fillna(ordinary.dst_account).astype(int)
    return ordinary.loc[~owner.isin(reached), ROW].reset_index(drop=True)


def test_population_does_not_depend_on_case_rates(pair):
    low, high = pair
    pd.testing.assert_frame_equal(low["customers"], high["customers"])
    pd.testing.assert_frame_equal(low["accounts"].drop(columns="closing_balance"),
                                  high["accounts"].drop(columns="closing_balance"))  # fmt: skip


def test_ordinary_rows_of_accounts_the_crime_does_not_reach_are_identical(pair):
    low, high = pair
    reached = _reached([low["transactions"], high["transactions"]])
    assert len(reached) < 0.5 * len(low["accounts"])  # most accounts are compared
    a, b = (_ordinary_rows(r["transactions"], reached) for r in pair)
    assert len(a) > 10_000
    pd.testing.assert_frame_equal(a, b)


def test_a_higher_rate_means_more_crime(pair):
    low, high = pair
    labelled = [r["transactions"].case_id.notna().sum() for r in pair]
    cases = [r["transactions"].case_id.nunique() for r in pair]
    assert labelled[1] > 3 * max(labelled[0], 1) and cases[1] > cases[0]


def test_poisson_above_the_small_range_is_poisson():
    bits = new_bits(np.random.default_rng(5))
    for mean in (10.5, 37.0):
        draws = np.array([poisson(bits, mean) for _ in range(100_000)])
        values, counts = np.unique(draws, return_counts=True)
        cells = np.arange(values.min(), values.max() + 1)
        expected = stats.poisson.pmf(cells, mean) * len(draws)
        observed = np.zeros(len(cells))
        observed[values - values.min()] = counts
        keep = expected >= 5
        observed_kept = np.append(observed[keep], observed[~keep].sum())
        expected_kept = np.append(expected[keep], len(draws) - expected[keep].sum())
        assert stats.chisquare(observed_kept, expected_kept).pvalue > 1e-3


def test_normal_is_standard_normal():
    bits = new_bits(np.random.default_rng(6))
    draws = np.array([normal(bits) for _ in range(100_000)])
    assert stats.kstest(draws, "norm").pvalue > 1e-3
