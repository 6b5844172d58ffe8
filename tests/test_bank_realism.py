"""Realism of the bank scenario, checked on real output: a stationary economy over a year,
incomes with a floor and a top code, sessions and devices (account takeover starts on a
device the customer never used; legitimate customers add devices at the configured rate),
monitoring alerts, and the banks on the other side of outside transfers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rules.financial_crime import TYPOLOGIES
from scenarios.bank import behaviour as B
from scenarios.bank.marginals import INCOME_FLOOR, INCOME_TOP_CODE, NET_SHARE
from simulations.datasets import read_table
from simulations.runner import run
from simulations.scenario import get_scenario

Z = 4.0  # two-sided z bound for rate checks: P(false alarm) ~ 6e-5 per check


def _run(tmp_path_factory, name: str, overrides: list[str]):
    config = get_scenario("bank").resolve_config(overrides=overrides)
    out = tmp_path_factory.mktemp(name) / "ds"
    run(get_scenario("bank"), config, out, progress=False)
    return out, config


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    """A year of 4,000 customers at the default behaviour and crime rates."""
    return _run(tmp_path_factory, "year", [
        "population.n_customers=4000", "run.days=365", "run.shard_size=2000", "run.seed=11",
    ])[0]  # fmt: skip


@pytest.fixture(scope="module")
def takeovers(tmp_path_factory):
    """Two months with many account takeovers (and every other typology)."""
    return _run(tmp_path_factory, "takeovers", [
        "population.n_customers=3000", "run.days=60", "run.seed=5",
        "fraud.account_takeover=2.0", "laundering.fan_out=0.5", "laundering.structuring=0.5",
        "population.mule_fraction=0.03",
    ])  # fmt: skip


@pytest.fixture(scope="module")
def mimicking(tmp_path_factory):
    """Two months in which every crime case passes for ordinary activity, at 30 times the
    default rates."""
    return _run(tmp_path_factory, "mimicking", [
        "population.n_customers=3000", "run.days=60", "run.seed=7", "oversampling.factor=30",
        *(f"difficulty.{typology.name}=1" for typology in TYPOLOGIES),
    ])[0]  # fmt: skip


def _daily_balances(dataset) -> pd.DataFrame:
    """End-of-day balance of every account (rows) on every day (columns, -1 the opening)."""
    tx = read_table(dataset, "transactions", columns=[
        "timestamp", "src_account", "dst_account", "src_balance_after", "dst_balance_after"])
    accounts = read_table(dataset, "accounts").set_index("account_id")
    day = (tx.timestamp - tx.timestamp.min().normalize()).dt.days
    sides = pd.concat([
        pd.DataFrame({"account": tx[f"{side}_account"], "day": day,
                      "balance": tx[f"{side}_balance_after"]})
        for side in ("src", "dst")
    ]).dropna()  # fmt: skip
    last = sides.groupby(["account", "day"]).balance.last().unstack()
    last = last.reindex(index=accounts.index, columns=range(int(day.max()) + 1))
    last.insert(0, -1, accounts.opening_balance)
    return last.ffill(axis=1)


def test_economy_is_stationary_over_a_year(year):
    """Monthly means of the median balance and of total deposits (positive balances) stay
    within +-10% of the first month's over 365 days; pay-day cycles within a month are
    seasonality, so months are compared, not days."""
    balances = _daily_balances(year).drop(columns=-1)
    month = np.asarray(balances.columns) // 30
    median = balances.median().groupby(month).mean()
    deposits = balances.clip(lower=0).sum().groupby(month).mean()
    for series in (median, deposits):
        series = series[series.index < 12]  # whole months
        assert len(series) == 12
        ratio = series / series.iloc[0]
        assert ratio.between(0.9, 1.1).all(), ratio.round(3).to_dict()


def test_incomes_have_a_floor_and_a_top_code(year):
    income = read_table(year, "customers").monthly_income
    floor, top = (v / 12 * NET_SHARE for v in (INCOME_FLOOR, INCOME_TOP_CODE))
    assert income.min() >= floor - 0.01 and income.max() <= top + 0.01
    bottom = income[income < 5_000 / 12 * NET_SHARE]  # the open bottom bracket
    assert len(bottom) > 50 and bottom.min() < floor * 1.1  # it reaches down to the floor


def test_outside_transfers_are_common_and_name_the_other_bank(year):
    tx = read_table(year, "transactions", columns=[
        "type", "src_account", "dst_account", "case_id", "counterparty_bank"])  # fmt: skip
    outside = (tx.type == "TRANSFER") & (tx.src_account.isna() != tx.dst_account.isna())
    assert (tx.counterparty_bank.notna() == outside).all()
    ordinary = outside & tx.case_id.isna()
    assert ordinary.sum() > 0.5 * outside.sum()  # not a tell of crime
    names = [name for name, _ in B.COUNTERPARTY_BANKS]
    shares = np.array([share for _, share in B.COUNTERPARTY_BANKS])
    # each customer's first outside transfer: customers' outside parties are the independent
    # draws (a party's rows repeat its bank)
    first = tx[ordinary].assign(account=tx.src_account.fillna(tx.dst_account))
    first = first.drop_duplicates("account")
    seen = first.counterparty_bank.value_counts().reindex(names, fill_value=0)
    assert stats.chisquare(seen, shares / shares.sum() * seen.sum()).pvalue > 1e-3


def test_every_takeover_starts_with_a_login_from_a_new_device(takeovers):
    dataset, _ = takeovers
    sessions = read_table(dataset, "sessions")
    tx = read_table(dataset, "transactions", columns=["timestamp", "fraud_type", "case_id",
                                                      "src_account", "session_id"])
    ato = tx[tx.fraud_type == "account_takeover"]
    first_row = ato.sort_values("timestamp").groupby("case_id").first()
    assert len(first_row) > 100
    labelled = sessions[sessions.fraud_type == "account_takeover"]
    first_login = labelled.groupby("case_id").first()  # the table is in time order
    first_login = first_login.reindex(first_row.index)
    assert first_login.account_id.notna().all()
    assert (first_login.account_id == first_row.src_account).all()
    assert first_login.is_new_device.all()
    assert (first_login.timestamp <= first_row.timestamp).all()
    earlier = sessions.merge(first_login.reset_index()[["account_id", "device_id", "timestamp"]],
                             on="account_id", suffixes=("", "_takeover"))  # fmt: skip
    before = earlier[earlier.timestamp < earlier.timestamp_takeover]
    assert not (before.device_id == before.device_id_takeover).any()
    failed_first = first_login.status == "failure"
    assert 0.2 < failed_first.mean() < 0.6  # takeover_failed_share = 0.4 of cases


def test_legitimate_new_devices_arrive_at_the_configured_rate(takeovers):
    """New devices are a Poisson process per account at ``new_devices_per_year``; exposure is
    each account's time from the start to its last legitimate session."""
    dataset, config = takeovers
    sessions = read_table(dataset, "sessions")
    legit = sessions[sessions.fraud_type.isna()]
    start = pd.Timestamp(config["run"]["start_date"])
    exposure_years = ((legit.groupby("account_id").timestamp.max() - start).dt.total_seconds()
                      .sum() / (365.25 * 86400))  # fmt: skip
    expected = config["sessions"]["new_devices_per_year"] * exposure_years
    seen = int((legit.is_new_device & (legit.status == "success")).sum())
    assert expected > 100
    assert abs(seen - expected) < Z * np.sqrt(expected), (seen, expected)


def test_sessions_are_consistent_with_transactions(takeovers):
    dataset, _ = takeovers
    sessions = read_table(dataset, "sessions").set_index("session_id")
    tx = read_table(dataset, "transactions", columns=[
        "timestamp", "type", "channel", "src_account", "session_id"])  # fmt: skip
    assert sessions.index.is_unique
    digital = (tx.type == "TRANSFER") & tx.channel.isin(["online", "mobile"])
    digital &= tx.src_account.notna()
    assert (tx.session_id.notna() == digital).all()
    used = sessions.loc[tx.session_id[digital].astype("int64")]
    assert (used.account_id.to_numpy() == tx.src_account[digital].to_numpy()).all()
    assert (used.timestamp.to_numpy() <= tx.timestamp[digital].to_numpy()).all()
    assert (used.status == "success").all()
    assert sessions.timestamp.is_monotonic_increasing  # one shard: the table is in time order


def test_alerts_fire_on_every_cash_row_over_the_threshold(takeovers):
    dataset, config = takeovers
    alerts = read_table(dataset, "alerts")
    tx = read_table(dataset, "transactions", columns=[
        "transaction_id", "type", "amount", "status"])  # fmt: skip
    threshold = config["alerts"]["cash_threshold"]
    cash = tx[tx.type.isin(["CASH_IN", "CASH_OUT"]) & (tx.status == "approved")
              & (tx.amount >= threshold)]  # fmt: skip
    fired = alerts[alerts.rule == "cash_over_threshold"]
    assert set(fired.transaction_id) == set(cash.transaction_id)
    assert alerts.transaction_id.isin(tx.transaction_id).all()
    assert set(alerts.rule.unique()) >= {"structuring", "rapid_fan_out",
                                         "new_device_high_amount"}  # fmt: skip


def _private_accounts(dataset) -> set:
    accounts = read_table(dataset, "accounts")
    segment = read_table(dataset, "customers").set_index("customer_id").segment
    return set(accounts.account_id[accounts.customer_id.map(segment) != "business"])


def test_mimicking_cash_deposits_look_ordinary(mimicking):
    """Cash that a case passing for ordinary activity pays into a private customer's account
    comes through the channels, at the hours and in the amounts of ordinary deposits (those
    below the reporting threshold, which laundering keeps under)."""
    tx = read_table(mimicking, "transactions", columns=[
        "timestamp", "type", "channel", "amount", "dst_account", "fraud_type"])  # fmt: skip
    rows = tx[(tx.type == "CASH_IN") & tx.dst_account.isin(_private_accounts(mimicking))
              & (tx.amount < 10_000.0)]  # fmt: skip
    crime = rows.fraud_type.notna().rename("crime")
    assert crime.sum() > 200 and (~crime).sum() > 200
    assert stats.chi2_contingency(pd.crosstab(crime, rows.channel)).pvalue > 1e-3
    for channel, hours in rows.groupby("channel", observed=True).timestamp:
        bins = pd.cut(hours.dt.hour, [-1, 9, 11, 13, 15, 23])  # about a fifth of rows each
        table = pd.crosstab(crime[hours.index], bins)
        assert stats.chi2_contingency(table).pvalue > 1e-3, channel
    assert stats.ks_2samp(rows.amount[crime], rows.amount[~crime]).pvalue > 1e-3


def test_mimicking_transfers_look_ordinary(mimicking):
    """A private customer's transfer in a case passing for ordinary activity is made in the
    app or online and goes inside or outside the bank in ordinary proportions."""
    tx = read_table(mimicking, "transactions", columns=[
        "type", "channel", "src_account", "dst_account", "fraud_type"])  # fmt: skip
    rows = tx[(tx.type == "TRANSFER") & tx.src_account.isin(_private_accounts(mimicking))]
    crime = rows.fraud_type.notna().rename("crime")
    assert crime.sum() > 200
    kind = rows.channel.astype(str) + rows.dst_account.isna().map({True: " out", False: " in"})
    assert stats.chi2_contingency(pd.crosstab(crime, kind)).pvalue > 1e-3
