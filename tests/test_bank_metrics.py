"""The bank's run metrics equal the same figures computed by hand from the run's tables."""

from __future__ import annotations

import math
from collections import Counter

import pyarrow as pa
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
    direct = scenario.run_metrics(config, None, read_manifest(out)["summary"])
    assert tuple(direct) == names
    assert metrics.keys() == expected.keys()
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value, rel=1e-12), name
    assert metrics["alerts"] > 0 and 0 < metrics["alert_precision"] < 1
    assert metrics["prevalence.structuring"] > 0 and metrics["prevalence.card_testing"] > 0
    assert metrics["decline_rate"] > 0


def test_metrics_of_empty_alerts_are_nan():
    from scenarios.bank.metrics import METRIC_NAMES, bank_metrics, chunk_tallies

    tx = pa.table({
        "transaction_id": [1, 2, 3], "amount": [10.0, 5.0, 2.5],
        "status": pa.array(["approved", "declined", "approved"]).dictionary_encode(),
        "fraud_type": pa.array([None, "card_testing", "card_testing"]).dictionary_encode(),
        "is_fraud": [False, True, True], "is_laundering": [False, False, None],
        "sample_weight": [1.0, 0.5, 0.5],
    }).to_batches()[0]  # fmt: skip
    no_alerts = pa.record_batch({"transaction_id": pa.array([], pa.int64())})
    summary = Counter(chunk_tallies(tx.slice(0, 1), no_alerts))
    summary.update(chunk_tallies(tx.slice(1), no_alerts))  # two chunks sum to the whole
    metrics = bank_metrics(summary)
    assert tuple(metrics) == METRIC_NAMES
    assert metrics["transactions"] == 3 and metrics["volume_amount"] == 11.25
    assert metrics["decline_rate"] == 0.25 and metrics["prevalence.card_testing"] == 0.5
    assert metrics["prevalence.fan_in"] == 0 and metrics["alerts"] == 0
    assert math.isnan(metrics["alert_precision"])


def test_an_alert_outside_its_chunk_is_refused():
    from scenarios.bank.metrics import chunk_tallies

    tx = pa.record_batch({
        "transaction_id": [1], "amount": [10.0],
        "status": pa.array(["approved"]).dictionary_encode(),
        "fraud_type": pa.array([None], pa.string()).dictionary_encode(),
        "is_fraud": [False], "is_laundering": [False], "sample_weight": [1.0],
    })  # fmt: skip
    with pytest.raises(ValueError, match="missing from its chunk"):
        chunk_tallies(tx, pa.record_batch({"transaction_id": pa.array([7], pa.int64())}))
