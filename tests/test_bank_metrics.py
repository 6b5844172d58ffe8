"""The bank's run metrics equal the same figures computed by hand from the run's tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from rules.financial_crime import TYPOLOGIES
from simulations.datasets import read_manifest, read_table
from simulations.runner import run
from simulations.scenario import get_scenario

_SETTINGS = ["population.n_customers=300", "run.days=20", "oversampling.factor=4",
             "laundering.structuring=4.0", "fraud.card_testing=4.0",
             "fraud.account_takeover=4.0"]  # fmt: skip


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    scenario = get_scenario("bank")
    config = scenario.resolve_config(overrides=_SETTINGS, seed=11)
    out = tmp_path_factory.mktemp("bank") / "run"
    run(scenario, config, out, progress=False)
    return out, config


def test_metrics_equal_hand_computed_figures(dataset):
    out, config = dataset
    metrics = read_manifest(out)["metrics"]
    tx = read_table(out, "transactions")
    alerts = read_table(out, "alerts")
    w = tx["sample_weight"]
    assert (w < 1).any() and (w == 1).any()  # oversampled: the weights matter
    expected = {
        "transactions": len(tx),
        "volume_amount": (tx["amount"] * w)[tx["status"] == "approved"].sum(),
        "decline_rate": w[tx["status"] == "declined"].sum() / w.sum(),
    }
    for typology in TYPOLOGIES:
        rows = tx["fraud_type"] == typology.name
        expected[f"prevalence.{typology.name}"] = w[rows].sum() / w.sum()
    joined = alerts.merge(tx, on="transaction_id", how="left", validate="many_to_one")
    labelled = joined["is_fraud"] | joined["is_laundering"]
    expected["alerts"] = len(alerts)
    expected["alert_precision"] = (joined["sample_weight"] * labelled).sum() / joined[
        "sample_weight"].sum()
    scenario = get_scenario("bank")
    names = scenario.metric_names(config)
    assert sorted(metrics) == sorted(names)  # the manifest sorts its keys
    def read(table, columns=None, each_part=False):  # the whole table as its only part
        frame = read_table(out, table, columns)
        return [frame] if each_part else frame

    direct = scenario.run_metrics(config, read)
    assert tuple(direct) == names
    assert metrics.keys() == expected.keys()
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value, rel=1e-12), name
    assert metrics["alerts"] > 0 and 0 < metrics["alert_precision"] < 1
    assert metrics["prevalence.structuring"] > 0 and metrics["prevalence.card_testing"] > 0
    assert metrics["decline_rate"] > 0


def test_metrics_of_empty_alerts_are_nan():
    from scenarios.bank.metrics import METRIC_NAMES, bank_metrics

    tx = pd.DataFrame({
        "transaction_id": [1, 2, 3], "amount": [10.0, 5.0, 2.5],
        "status": pd.Categorical(["approved", "declined", "approved"]),
        "fraud_type": pd.Categorical([None, "card_testing", "card_testing"]),
        "is_fraud": [False, True, True], "is_laundering": [False, False, False],
        "sample_weight": [1.0, 0.5, 0.5],
    })  # fmt: skip
    tables = {"transactions": tx, "alerts": pd.DataFrame({"transaction_id": pd.Series(
        [], dtype="int64")})}
    def read(table, columns=None, each_part=False):  # two parts when asked part by part
        frame = tables[table][columns or slice(None)]
        return (frame.iloc[:1], frame.iloc[1:]) if each_part else frame

    metrics = bank_metrics(read)
    assert tuple(metrics) == METRIC_NAMES
    assert metrics["transactions"] == 3 and metrics["volume_amount"] == 11.25
    assert metrics["decline_rate"] == 0.25 and metrics["prevalence.card_testing"] == 0.5
    assert metrics["prevalence.fan_in"] == 0 and metrics["alerts"] == 0
    assert math.isnan(metrics["alert_precision"])
