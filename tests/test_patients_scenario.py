"""The patients scenario end to end: arrivals, outcomes, capacities, XES export."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from scenarios.patients.arrivals import default_arrival_profile
from simulations.cli import cli
from simulations.datasets import read_table
from simulations.errors import ConfigError
from simulations.runner import run
from simulations.scenario import get_scenario
from simulations.xes import read_xes_counts

SMALL = ["run.days=28", "arrivals.per_day=120", "population.catchment=20000"]


def _run(path, *overrides):
    scenario = get_scenario("patients")
    run(scenario, scenario.resolve_config(overrides=[*SMALL, *overrides]), path, progress=False)
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("patients") / "ds")


def test_arrivals_per_hour_follow_the_published_profile(dataset):
    patients = read_table(dataset, "patients")
    observed = np.bincount(patients.arrival.dt.hour, minlength=24)
    shares = default_arrival_profile().hour_shares
    # 28 whole weeks-days: each weekday 4 times, so the hourly shape is the profile's.
    # Chi-square goodness of fit of Poisson counts, alpha = 1e-3.
    assert stats.chisquare(observed, shares / shares.sum() * observed.sum()).pvalue > 1e-3
    expected = 120 * 28
    assert abs(len(patients) - expected) <= 4 * np.sqrt(expected)


def test_every_patient_ends_in_exactly_one_terminal_state(dataset):
    events = read_table(dataset, "events")
    patients = read_table(dataset, "patients")
    terminal = events[events["concept:name"].isin(
        ["discharged", "discharged_from_ward", "left_without_being_seen", "died"])]  # fmt: skip
    per_case = terminal.groupby("case:concept:name").size()
    assert len(per_case) == len(patients) and (per_case == 1).all()
    assert patients.outcome.notna().all() and (patients.length_of_stay_minutes >= 0).all()


def test_events_are_ordered_and_ages_come_from_the_catchment(dataset):
    events = read_table(dataset, "events")
    gaps = events.groupby("case:concept:name")["time:timestamp"].diff().dropna()
    assert (gaps >= pd.Timedelta(0)).all()
    ages = read_table(dataset, "patients").age
    assert ages.between(0, 100).all() and ages.nunique() > 50


def test_capacity_what_if_is_honoured(tmp_path):
    path = _run(tmp_path / "ds", "run.days=5", "capacity.ward_bed=2")
    resources = read_table(path, "resources").set_index("resource")
    assert resources.loc["ward_bed", "capacity"] == 2
    beds = read_table(path, "events")
    beds = beds[beds["org:resource"].fillna("").str.startswith("ward_bed-")]
    assert set(beds["org:resource"]) <= {"ward_bed-1", "ward_bed-2", "ward_bed-0"}
    assert beds["org:resource"].nunique() <= 2


def test_dataset_exports_to_xes(dataset, tmp_path):
    out = tmp_path / "log.xes"
    result = CliRunner().invoke(cli, ["export", "xes", str(dataset), "--out", str(out)])
    assert result.exit_code == 0, result.output
    events = read_table(dataset, "events")
    assert read_xes_counts(out) == (events["case:concept:name"].nunique(), len(events))


def test_unknown_resource_capacity_is_refused():
    with pytest.raises(ConfigError, match="Unknown config key 'capacity.wardbed'.*ward_bed"):
        get_scenario("patients").resolve_config(overrides=["capacity.wardbed=3"])
