"""The patients scenario end to end: arrivals, outcomes, capacities, XES export."""

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from scenarios.patients.arrivals import default_arrival_profile
from simulations.cli import cli
from simulations.datasets import read_manifest, read_table
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
    cases = read_table(dataset, "patients")
    patients = cases[cases.readmission_of.isna()]  # readmissions return at any hour
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
    per_case = terminal.groupby("case:concept:name", observed=False).size()
    assert len(per_case) == len(patients) and (per_case == 1).all()
    assert patients.outcome.notna().all() and (patients.length_of_stay_minutes >= 0).all()


def test_events_are_ordered_and_ages_come_from_the_catchment(dataset):
    events = read_table(dataset, "events")
    gaps = events.groupby("case:concept:name", observed=True)["time:timestamp"].diff().dropna()
    assert (gaps >= pd.Timedelta(0)).all()
    ages = read_table(dataset, "patients").age
    assert ages.between(0, 100).all() and ages.nunique() > 50


def test_capacity_what_if_is_honoured(tmp_path):
    path = _run(tmp_path / "ds", "run.days=5", "capacity.ward_bed=2")
    resources = read_table(path, "resources").set_index("resource")
    assert resources.loc["ward_bed", "capacity"] == 2
    beds = read_table(path, "events")
    units = beds["org:resource"].dropna().astype(str)
    used = set(units[units.str.startswith("ward_bed-")])
    assert used == {"ward_bed-1", "ward_bed-2"}


def test_case_table_agrees_with_the_event_log(dataset):
    events = read_table(dataset, "events")
    cases = read_table(dataset, "patients").set_index("case_id")
    assert set(cases.index) == set(events["case:concept:name"].astype(str))
    worse = set(events.loc[events["concept:name"] == "deterioration", "case:concept:name"])
    assert set(cases.index[cases.deteriorated]) == set(map(str, worse))
    assert len(worse) > 0 and cases.readmission_of.notna().sum() > 0
    earlier = cases.loc[cases.readmission_of.dropna()]
    assert earlier.readmitted_within_30d.all()
    assert set(earlier.outcome) <= {"discharged", "discharged_from_ward"}
    returned = cases[cases.readmission_of.notna()]
    gap = returned.arrival.to_numpy() - earlier.arrival.to_numpy()
    assert (gap > pd.Timedelta(0)).all()
    assert (cases.loc[cases.readmitted_within_30d.eq(True)].index
            .isin(cases.readmission_of)).all()  # fmt: skip
    first = events.groupby("case:concept:name", observed=True).first()
    assert (first.loc[returned.index, "case:sex"].astype(str).to_numpy()
            == earlier.sex.astype(str).to_numpy()).all()  # fmt: skip


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    """75 days: the first 45 days' discharges have their whole 30 days observed."""
    return _run(tmp_path_factory.mktemp("patients-long") / "ds", "run.days=75")


def test_readmission_label_is_unknown_only_where_censored(long_run):
    """Null exactly for a case that could return and whose 30 days after its end run past
    the run (returned or not, so that early returns do not bias the share); the manifest's
    prevalence counts only the known labels."""
    cases = read_table(long_run, "patients")
    run = read_manifest(long_run)["config"]["run"]
    end = pd.Timestamp(run["start_date"], tz=run["timezone"]) + pd.Timedelta(days=run["days"])
    ended = cases.arrival + pd.to_timedelta(cases.length_of_stay_minutes, unit="m")
    may_return = cases.outcome.isin(["discharged", "discharged_from_ward"])
    returned = cases.case_id.isin(cases.readmission_of)
    expected = may_return & (ended + pd.Timedelta(days=30) > end)
    label = cases.readmitted_within_30d
    assert str(label.dtype) == "boolean"  # read as pandas' nullable boolean
    assert expected.sum() > 0 and (may_return & ~expected & returned).sum() > 0
    assert (label.isna() == expected).all()
    assert (label[~expected] == returned[~expected]).all()
    recorded = read_manifest(long_run)["label_prevalence"]["patients"]["readmitted_within_30d"]
    assert recorded["true"]["prevalence"] == pytest.approx(
        returned[~expected].sum() / (~expected).sum())


def test_resources_report_utilisation_within_capacity(dataset):
    resources = read_table(dataset, "resources")
    assert (resources.busy_minutes > 0).all()
    assert resources.utilisation.between(0, 1).all()


def test_manifest_counts_cases_events_and_labels(dataset):
    manifest = read_manifest(dataset)
    cases = read_table(dataset, "patients")
    summary = manifest["summary"]
    assert summary["cases"] == len(cases) and summary["events"] == manifest["tables"]["events"][
        "rows"]  # fmt: skip
    assert summary["readmissions"] == cases.readmission_of.notna().sum()
    labels = manifest["label_prevalence"]["patients"]
    assert labels["deteriorated"]["true"]["rows"] == cases.deteriorated.sum()


def test_reference_engine_writes_the_same_tables(tmp_path):
    scenario = get_scenario("patients")
    config = scenario.resolve_config(overrides=[*SMALL, "run.days=2"])
    run(scenario, config, tmp_path / "ref", progress=False, engine="reference")
    kernel = _run(tmp_path / "kernel", "run.days=2")
    for table in scenario.tables:
        a, b = read_table(tmp_path / "ref", table), read_table(kernel, table)
        assert list(a.columns) == list(b.columns), table
        assert a.dtypes.astype(str).tolist() == b.dtypes.astype(str).tolist(), table


def test_dataset_exports_to_xes(dataset, tmp_path):
    out = tmp_path / "log.xes"
    result = CliRunner().invoke(cli, ["export", "xes", str(dataset), "--out", str(out)])
    assert result.exit_code == 0, result.output
    events = read_table(dataset, "events")
    assert read_xes_counts(out) == (events["case:concept:name"].nunique(), len(events))


def test_unknown_resource_capacity_is_refused():
    with pytest.raises(ConfigError, match="Unknown config key 'capacity.wardbed'.*ward_bed"):
        get_scenario("patients").resolve_config(overrides=["capacity.wardbed=3"])


def test_run_metrics_are_recorded_from_the_written_tables(dataset):
    metrics = read_manifest(dataset)["metrics"]
    cases = read_table(dataset, "patients")
    events = read_table(dataset, "events")
    assert metrics["attendances"] == len(cases)
    left = (cases.outcome == "left_without_being_seen").mean()
    assert metrics["left_without_being_seen_share"] == pytest.approx(left)
    ward = events[(events["concept:name"] == "ward_stay")
                  & (events["lifecycle:transition"] == "start")]  # fmt: skip
    admitted = cases.case_id.isin(ward["case:concept:name"])
    assert metrics["admitted_share"] == pytest.approx(admitted.mean())
    stay = cases.length_of_stay_minutes[~admitted]  # leaving the department ends the case
    assert metrics["non_admitted_time_in_department_mean_minutes"] == pytest.approx(stay.mean())
    assert 0 < metrics["within_4h_share"] < 1 and 0 <= metrics["utilisation.ward_bed"] <= 1
