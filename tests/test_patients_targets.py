"""The default emergency department against NHS England's published type-1 figures for
2024-25 (:mod:`scenarios.patients.targets`): a default year meets every target within its
tolerance, and the manifest records target and achieved."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from scenarios.patients.targets import MONTHLY_TOTALS, compare, published_targets
from simulations.cli import cli
from simulations.datasets import read_manifest
from simulations.runner import run
from simulations.scenario import get_scenario


@pytest.fixture(scope="module")
def default_year(tmp_path_factory):
    """One year of the default ED with its defaults (seed 42), as a user would run it."""
    scenario = get_scenario("patients")
    out = tmp_path_factory.mktemp("year") / "ed"
    run(scenario, scenario.resolve_config(overrides=["run.days=365"]), out, progress=False)
    return read_manifest(out)


def test_a_default_year_meets_every_published_target(default_year):
    targets = default_year["targets"]
    assert set(targets) == {t.metric for t in published_targets()}
    for metric, t in targets.items():
        assert abs(t["achieved"] - t["target"]) <= t["tolerance"], (metric, t)
        assert t["within"] and t["achieved"] == default_year["metrics"][metric]


def test_the_targets_are_the_typed_in_monthly_totals():
    months = pd.read_csv(MONTHLY_TOTALS)
    assert months["month"].tolist() == [f"{y}-{m:02d}" for y, m in
                                        [(2024, m) for m in range(4, 13)]
                                        + [(2025, m) for m in range(1, 4)]]  # fmt: skip
    year = months.drop(columns="month").sum()
    assert (months.drop(columns="month") >= 0).all().all()
    assert year.type1_attendances == 16_396_174 and year.type1_over_4h == 6_726_483
    by_metric = {t.metric: t.value for t in published_targets()}
    assert by_metric["within_4h_share"] == pytest.approx(0.5898, abs=1e-4)
    assert by_metric["admitted_share"] == pytest.approx(0.2928, abs=1e-4)
    assert by_metric["bed_wait_over_12h_share"] == pytest.approx(0.1109, abs=1e-4)
    assert by_metric["bed_wait_over_4h_share"] > by_metric["bed_wait_over_12h_share"]


def test_compare_flags_a_miss_and_skips_missing_metrics():
    target = published_targets()[0]
    missed = compare({target.metric: target.value + 2 * target.tolerance})
    assert list(missed) == [target.metric] and not missed[target.metric]["within"]
    assert missed[target.metric]["source"] == target.source


def test_run_prints_target_against_achieved(tmp_path):
    result = CliRunner().invoke(cli, ["run", "patients", "--out", str(tmp_path / "ed"),
                                      "--set", "run.days=2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "published targets" in result.output and "within_4h_share" in result.output
    assert read_manifest(tmp_path / "ed")["targets"]["admitted_share"]["reference"].startswith(
        "NHS England type-1")
