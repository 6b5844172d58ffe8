"""Rare-event oversampling: rates times K, case rows weighted 1/K, and weighted prevalence
equal to the natural one within sampling error."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from rules.oversampling import Oversampling
from simulations.cli import cli
from simulations.datasets import read_table
from simulations.errors import ConfigError
from simulations.scenario import get_scenario

RUN = ["population.n_customers=6000", "run.days=30", "fraud.account_takeover=0.05",
       "fraud.stolen_card_burst=0.1", "fraud.card_testing=0.05", "laundering.fan_in=0.02",
       "laundering.structuring=0.03"]  # fmt: skip


def test_weights_and_rates():
    oversampling = Oversampling(8.0)
    np.testing.assert_array_equal(oversampling.weights(np.array([True, False, True])),
                                  [0.125, 1.0, 0.125])  # fmt: skip
    np.testing.assert_allclose(oversampling.rates(np.array([0.01, 0.1])), [0.08, 0.8])
    with pytest.raises(ConfigError, match="fan_in oversampled 8 times is 1.6, above the limit"):
        oversampling.rates(np.array([0.2]), limit=1.0, names=["fan_in"])
    with pytest.raises(ConfigError, match=r"range \[1.0, 1000.0\]. Got 0.5 instead"):
        Oversampling(0.5)


def test_a_rate_oversampled_past_one_per_day_is_refused_before_running():
    with pytest.raises(ConfigError, match="daily case probability of card_testing"):
        get_scenario("bank").resolve_config(
            overrides=["fraud.card_testing=100", "oversampling.factor=10"])


def _run(tmp_path, name, seed, factor):
    out = tmp_path / name
    args = ["run", "bank", "--out", out, "--quiet", "--seed", seed,
            "--set", f"oversampling.factor={factor}"]  # fmt: skip
    for item in RUN:
        args += ["--set", item]
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return read_table(out, "transactions")


def test_weighted_prevalence_is_the_natural_prevalence(tmp_path):
    natural = _run(tmp_path, "natural", 1, 1.0)
    boosted = _run(tmp_path, "boosted", 2, 10.0)
    assert (natural["sample_weight"] == 1.0).all()
    labelled = boosted["fraud_type"].notna()
    assert (boosted.loc[labelled, "sample_weight"] == 0.1).all()
    assert (boosted.loc[~labelled, "sample_weight"] == 1.0).all()
    assert labelled.sum() > 5 * natural["fraud_type"].notna().sum()

    def prevalence_and_variance(frame, weight):
        """Weighted share of case rows; variance from cases as independent units (rows of
        one case come together): sum over cases of (weight x rows)^2."""
        rows_per_case = frame.loc[frame["case_id"].notna(), "case_id"].value_counts()
        total = frame["sample_weight"].sum()
        share = (frame["sample_weight"] * frame["fraud_type"].notna()).sum() / total
        return share, ((weight * rows_per_case) ** 2).sum() / total**2

    p_natural, v_natural = prevalence_and_variance(natural, 1.0)
    p_weighted, v_weighted = prevalence_and_variance(boosted, 0.1)
    assert abs(p_weighted - p_natural) < 4 * np.sqrt(v_natural + v_weighted), \
        (p_natural, p_weighted)  # fmt: skip
