"""Bookkeeping and labelling invariants of the bank scenario, checked on real output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rules.financial_crime import TYPOLOGIES
from simulations.datasets import read_manifest, read_table
from simulations.runner import run
from simulations.scenario import get_scenario

N_CUSTOMERS, DAYS = 3000, 60
RATES = {  # cases per customer per year, high so every typology has many cases
    "fraud.account_takeover": 0.8, "fraud.stolen_card_burst": 0.8, "fraud.card_testing": 0.8,
    "laundering.fan_in": 0.4, "laundering.fan_out": 0.4, "laundering.cycle": 0.4,
    "laundering.structuring": 0.4,
}  # fmt: skip
Z = 4.0  # two-sided z bound for rate checks: P(false alarm) ~ 6e-5 per check


@pytest.fixture(scope="module")
def config():
    overrides = [f"{k}={v}" for k, v in RATES.items()] + [
        f"population.n_customers={N_CUSTOMERS}", f"run.days={DAYS}", "run.shard_size=1000",
        "run.chunk_days=9", "population.mule_fraction=0.02", "run.seed=7",
    ]  # fmt: skip
    return get_scenario("bank").resolve_config(overrides=overrides)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory, config):
    out = tmp_path_factory.mktemp("bank") / "ds"
    run(get_scenario("bank"), config, out, progress=False)
    return out


@pytest.fixture(scope="module")
def tx(dataset):
    frame = read_table(dataset, "transactions")
    for column in ("amount", "src_balance_before", "src_balance_after", "dst_balance_before",
                   "dst_balance_after"):  # fmt: skip
        frame[column + "_c"] = (frame[column] * 100).round().astype("Int64")
    return frame


@pytest.fixture(scope="module")
def accounts(dataset):
    return read_table(dataset, "accounts")


def cents(series):
    return (series * 100).round().astype("int64")


def test_every_approved_row_reconciles(tx):
    ok = tx[tx.status == "approved"]
    src, dst = ok[ok.src_account.notna()], ok[ok.dst_account.notna()]
    assert len(src) > 10_000 and len(dst) > 1_000
    assert (src.src_balance_before_c - src.amount_c == src.src_balance_after_c).all()
    assert (dst.dst_balance_before_c + dst.amount_c == dst.dst_balance_after_c).all()


def _atm(tx):
    """ATM withdrawals with their day and the cents the account took out earlier that day."""
    atm = tx[(tx.type == "CASH_OUT") & (tx.channel == "atm")].copy()
    atm["day"] = atm.timestamp.dt.floor("D")
    approved = atm.amount_c.where(atm.status == "approved", 0)
    atm["taken_before"] = approved.groupby([atm.src_account, atm.day]).cumsum() - approved
    return atm


def test_declined_rows_move_no_money_and_were_unaffordable(tx, accounts):
    declined = tx[tx.status == "declined"]
    assert len(declined) > 100
    assert (declined.src_balance_before_c == declined.src_balance_after_c).all()
    to_account = declined[declined.dst_account.notna()]
    assert (to_account.dst_balance_before_c == to_account.dst_balance_after_c).all()
    by_account = accounts.set_index("account_id")
    unaffordable = declined.amount_c > declined.src_balance_before_c + cents(
        declined.src_account.map(by_account.overdraft_limit))
    atm = _atm(tx)
    atm = atm[atm.status == "declined"]
    over_limit = atm.taken_before + atm.amount_c > cents(atm.src_account.map(
        by_account.atm_daily_limit))  # fmt: skip
    assert (unaffordable | over_limit.reindex(declined.index, fill_value=False)).all()


def test_every_atm_withdrawal_obeys_the_atm(tx, accounts):
    """Whole $20 notes within the card's daily limit, whoever withdraws: crime included."""
    atm = _atm(tx)
    assert (atm.amount_c % 2_000 == 0).all() and (atm.amount_c >= 2_000).all()
    limit = cents(atm.src_account.map(accounts.set_index("account_id").atm_daily_limit))
    approved = atm[atm.status == "approved"]
    assert (approved.taken_before + approved.amount_c <= limit[approved.index]).all()
    assert atm.case_id.notna().sum() > 50  # criminals' cash-outs are among them
    assert ((atm.amount_c == limit) & atm.case_id.notna()).sum() > 10  # ... cut to the limit


def test_branch_rows_fall_in_opening_hours(tx):
    branch = tx[tx.channel == "branch"]
    assert branch.case_id.notna().sum() > 50
    assert branch.timestamp.dt.hour.between(9, 16).all()
    assert (branch.timestamp.dt.weekday != 6).all()


def _ledger(tx):
    """One row per (transaction, account side), in booking order."""
    sides = []
    for side in ("src", "dst"):
        part = tx[tx[f"{side}_account"].notna()]
        sides.append(pd.DataFrame({
            "account": part[f"{side}_account"].astype("int64"), "id": part.transaction_id,
            "timestamp": part.timestamp, "before": part[f"{side}_balance_before_c"],
            "after": part[f"{side}_balance_after_c"],
        }))  # fmt: skip
    return pd.concat(sides).sort_values(["account", "id"], kind="stable")


def test_each_accounts_balances_chain_from_opening_to_closing(tx, accounts):
    ledger = _ledger(tx)
    first = ledger.groupby("account").first()
    last = ledger.groupby("account").last()
    opening = cents(accounts.set_index("account_id").opening_balance)
    closing = cents(accounts.set_index("account_id").closing_balance)
    assert (first.before == opening[first.index]).all()
    assert (last.after == closing[last.index]).all()
    same = ledger.account.values[1:] == ledger.account.values[:-1]
    assert (ledger.before.values[1:][same] == ledger.after.values[:-1][same]).all()
    untouched = ~opening.index.isin(first.index)
    assert (opening[untouched] == closing[untouched]).all()


def test_money_is_conserved(tx, accounts, dataset):
    ok = tx[tx.status == "approved"]
    inflow = ok.amount_c[ok.src_account.isna()].sum()
    outflow = ok.amount_c[ok.dst_account.isna()].sum()
    change = (cents(accounts.closing_balance) - cents(accounts.opening_balance)).sum()
    assert change == inflow - outflow
    summary = read_manifest(dataset)["summary"]
    assert summary["money.external_in_cents"] == inflow
    assert summary["money.external_out_cents"] == outflow


def test_no_balance_goes_below_its_overdraft_limit(tx, accounts):
    limit = cents(accounts.set_index("account_id").overdraft_limit)
    for side in ("src", "dst"):
        part = tx[tx[f"{side}_account"].notna()]
        floor = -limit[part[f"{side}_account"].astype("int64")].to_numpy()
        assert (part[f"{side}_balance_after_c"].to_numpy() >= floor).all()
    assert (cents(accounts.closing_balance) >= -cents(accounts.overdraft_limit)).all()


def test_timestamps_are_ordered_per_account(tx):
    ledger = _ledger(tx)
    same = ledger.account.values[1:] == ledger.account.values[:-1]
    assert (ledger.timestamp.values[1:][same] >= ledger.timestamp.values[:-1][same]).all()
    assert tx.timestamp.min() >= pd.Timestamp("2025-01-01")
    assert tx.timestamp.max() < pd.Timestamp("2025-01-01") + pd.Timedelta(days=DAYS)


@pytest.mark.parametrize("typology", [t.name for t in TYPOLOGIES])
def test_realised_case_rate_matches_configured_rate(dataset, typology, config):
    family = next(t.family for t in TYPOLOGIES if t.name == typology)
    p = config[family][typology] / 365.0
    trials = N_CUSTOMERS * DAYS  # one Bernoulli(p) per customer-day
    expected, sd = trials * p, np.sqrt(trials * p * (1 - p))
    started = read_manifest(dataset)["summary"][f"cases.{typology}"]
    assert abs(started - expected) <= Z * sd, (started, expected, sd)


@pytest.mark.parametrize("typology", [t.name for t in TYPOLOGIES])
def test_cases_in_the_data_are_the_cases_started(tx, dataset, typology, config):
    rows = tx[tx.fraud_type == typology]
    started = read_manifest(dataset)["summary"][f"cases.{typology}"]
    # Only cases started near the end can have every transaction past the horizon (at
    # most ~2 days of cases): bound the shortfall by that expectation plus Z sd.
    family = next(t.family for t in TYPOLOGIES if t.name == typology)
    tail = 2 * N_CUSTOMERS * config[family][typology] / 365.0
    assert started - Z * np.sqrt(tail) - tail <= rows.case_id.nunique() <= started
    labels = rows.is_fraud if family == "fraud" else rows.is_laundering
    assert labels.all() and rows.case_id.notna().all()
    assert (rows.groupby("case_id").fraud_type.nunique() == 1).all()


def test_unlabelled_rows_have_no_case(tx):
    normal = tx[tx.fraud_type.isna()]
    assert not normal.is_fraud.any() and not normal.is_laundering.any()
    assert normal.case_id.isna().all()
    assert not (tx.is_fraud & tx.is_laundering).any()


def test_typology_shapes(tx):
    """Shapes every case has, whether it mimics ordinary activity or not (the signature
    amounts are checked against the rules in ``test_bank_reference``)."""
    cases = tx[tx.fraud_type.notna()].groupby("case_id")
    shape = cases.agg(kind=("fraud_type", "first"), n=("transaction_id", "size"),
                      types=("type", lambda s: set(s)))  # fmt: skip
    ato = shape[shape.kind == "account_takeover"]
    assert (ato.n <= 3).all() and ato.types.map(lambda t: t <= {"TRANSFER", "CASH_OUT"}).all()
    assert shape[shape.kind == "stolen_card_burst"].n.between(1, 12).all()
    assert shape[shape.kind == "card_testing"].n.between(1, 31).all()
    small = tx[(tx.fraud_type == "card_testing") & (tx.amount <= 2.0)]
    assert len(small) > 0.3 * (tx.fraud_type == "card_testing").sum()
    deposits = tx[tx.fraud_type.isin(["structuring", "cycle", "fan_in"]) & (tx.type == "CASH_IN")]
    assert len(deposits) > 50 and (deposits.amount < 10_000.0).all()  # below the CTR threshold
    assert deposits.channel.isin(["branch", "atm"]).all()  # a mimicking case may use an ATM


def test_ids_and_names_carry_no_label_information(tx, accounts, dataset):
    # Mann-Whitney U on distinct entities (rows of one case share accounts, so rows are not
    # independent): an id range that revealed a class would rank it apart; alpha = 1e-3.
    mules = accounts.is_mule
    assert stats.mannwhitneyu(accounts.account_id[mules], accounts.account_id[~mules]).pvalue > 1e-3
    labelled = tx.is_fraud | tx.is_laundering
    sides = tx.loc[labelled, ["src_account", "dst_account"]].stack().dropna()
    involved = pd.unique(sides.astype("int64"))
    others = accounts.account_id[~accounts.account_id.isin(involved)]
    assert len(involved) > 500
    assert stats.mannwhitneyu(involved, others).pvalue > 1e-3
    merchants = read_table(dataset, "merchants")
    high = merchants.category.isin(["retail", "travel", "electronics", "jewelry"])
    assert (
        stats.mannwhitneyu(merchants.merchant_id[high], merchants.merchant_id[~high]).pvalue > 1e-3
    )
    customers = read_table(dataset, "customers")
    names = pd.concat([customers.first_name, customers.last_name]).astype(str).str.lower()
    assert not names.str.contains(r"\b(?:fraud\w*|mule|launder\w*|victim|criminal)\b").any()
    assert accounts.account_id.is_unique and accounts.account_id.between(10**9, 10**10 - 1).all()
    assert set(customers.columns).isdisjoint({"is_mule", "is_fraud", "role"})


def test_transaction_ids_tell_only_shard_and_time(tx, config):
    shard = tx.transaction_id // 2**32
    for _, rows in tx.groupby(shard):
        assert rows.transaction_id.is_monotonic_increasing
        assert rows.sort_values("transaction_id").timestamp.is_monotonic_increasing
    # Cases per shard are Poisson with equal means (equal shard sizes): chi-square test of
    # homogeneity, alpha = 1e-3, so the shard part of an id predicts no label either.
    labelled = tx[tx.case_id.notna()]
    cases = labelled.groupby(labelled.case_id.astype("int64") // 2**32).case_id.nunique()
    assert len(cases) == N_CUSTOMERS // config["run"]["shard_size"]
    assert stats.chisquare(cases).pvalue > 1e-3


def test_chunking_bounds_memory_without_changing_the_data(tmp_path, config):
    """``run.chunk_days`` only decides how many days are buffered between writes."""
    scenario = get_scenario("bank")
    small = {**config, "population": {**config["population"], "n_customers": 400},
             "run": {**config["run"], "shard_size": 400, "days": 20}}  # fmt: skip
    frames = []
    for chunk in (1, 20):
        cfg = {**small, "run": {**small["run"], "chunk_days": chunk}}
        run(scenario, cfg, tmp_path / f"c{chunk}", progress=False)
        frames.append(read_table(tmp_path / f"c{chunk}", "transactions"))
    assert len(frames[0]) > 5000
    pd.testing.assert_frame_equal(frames[0], frames[1])
