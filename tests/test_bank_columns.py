"""The columns a fraud team expects: card id on card payments, ISO 18245 merchant codes,
currency, and when each label became known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from rules.oversampling import Oversampling
from scenarios.bank.tables import ShardOutput
from simulations.cli import cli
from simulations.datasets import read_manifest, read_table

RUN = ["population.n_customers=3000", "run.days=30", "fraud.stolen_card_burst=0.2",
       "fraud.card_testing=0.1", "laundering.fan_in=0.05"]  # fmt: skip
ISO_18245 = {5411, 5812, 5541, 5311, 5817, 7999, 4722, 5912, 5732, 5944, 4111, 6513, 4900,
             4814}  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank") / "ds"
    args = ["run", "bank", "--out", out, "--quiet"]
    for item in RUN:
        args += ["--set", item]
    assert CliRunner().invoke(cli, [str(a) for a in args]).exit_code == 0
    return out


@pytest.fixture(scope="module")
def tx(dataset) -> pd.DataFrame:
    return read_table(dataset, "transactions")


def test_card_payments_carry_the_payers_card(dataset, tx):
    accounts = read_table(dataset, "accounts")
    assert accounts["card_id"].is_unique
    assert accounts["card_id"].astype(str).str.fullmatch(r"4\d{15}").all()
    card = tx["type"].eq("PAYMENT") & tx["channel"].isin(["card_present", "online"])
    assert tx.loc[card, "card_id"].notna().all() and tx.loc[~card, "card_id"].isna().all()
    cards = accounts.set_index("account_id")["card_id"]
    assert (tx.loc[card, "card_id"] == tx.loc[card, "src_account"].map(cards)).all()
    stolen = tx["fraud_type"] == "stolen_card_burst"
    assert stolen.sum() > 0 and tx.loc[stolen, "card_id"].notna().all()


def test_merchant_codes_are_iso_18245_and_the_merchants_own(dataset, tx):
    merchants = read_table(dataset, "merchants").set_index("merchant_id")
    assert set(merchants["mcc"]) <= ISO_18245
    paid = tx["merchant_id"].notna()
    assert (tx.loc[paid, "mcc"] == tx.loc[paid, "merchant_id"].map(merchants["mcc"])).all()
    assert tx.loc[~paid, "mcc"].isna().all()
    assert (tx["currency"] == "USD").all()


def test_labels_become_known_after_the_row_at_one_delay_per_case(dataset, tx):
    labelled = tx["case_id"].notna()
    assert tx.loc[~labelled, "reported_at"].isna().all()
    known = tx[labelled & tx["reported_at"].notna()]
    delay = known["reported_at"] - known["timestamp"]
    assert (delay > pd.Timedelta(0)).all()
    assert (delay.groupby(known["case_id"]).nunique() == 1).all()
    end = pd.Timestamp(read_manifest(dataset)["config"]["run"]["start_date"]) \
        + pd.Timedelta(days=30)  # fmt: skip
    assert (known["reported_at"] <= end).all()
    assert labelled.sum() > len(known) > 0  # some are censored at the end of the run


def test_report_delays_follow_the_configured_log_normals():
    output = ShardOutput(np.zeros(1, np.int64), np.zeros(1, np.int64), np.zeros(1, np.int16),
                         0, 0, 10**12, 7, Oversampling(), {"fraud": (3.0, 1.0),
                                                           "laundering": (45.0, 0.6)})
    cases = np.arange(20_000)
    for laundering, (median, sigma) in ((False, (3.0, 1.0)), (True, (45.0, 0.6))):
        at, unknown = output.reported_at(cases, np.zeros(len(cases), np.int64),
                                         np.full(len(cases), laundering))  # fmt: skip
        assert not unknown.any()
        logs = np.log(at / 86400)
        # Kolmogorov-Smirnov against the configured normal of the log, n = 20,000.
        assert stats.kstest(logs, stats.norm(np.log(median), sigma).cdf).pvalue > 1e-3
