"""The overview figure of a patients dataset (``synthsim plot``)."""

import struct

import matplotlib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from patients_support import waits

from scenarios.patients.arrivals import default_arrival_profile
from scenarios.patients.report import overview_figure, waiting_times
from simulations.cli import cli
from simulations.datasets import read_table
from simulations.runner import run
from simulations.scenario import get_scenario

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SMALL = ["run.days=7", "population.catchment=5000"]


def _run(path, *overrides, fmt="parquet"):
    scenario = get_scenario("patients")
    config = scenario.resolve_config(overrides=[*SMALL, *overrides])
    run(scenario, config, path, fmt=fmt, progress=False)
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("patients") / "ed")


@pytest.fixture(scope="module")
def figure(dataset):
    fig = get_scenario("patients").overview_figure(dataset)
    yield fig
    plt.close(fig)


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_a_png_beside_the_patients_dataset(dataset):
    result = CliRunner().invoke(cli, ["plot", str(dataset)])
    assert result.exit_code == 0, result.output
    png = dataset.with_name("ed-overview.png")
    assert result.output.strip() == f"wrote {png}"
    assert png.stat().st_size > 50_000
    assert _png_size(png) == (2200, 1210)  # 20 x 11 inches at 110 dpi


def test_six_panels_with_titles_and_axis_labels(figure):
    axes = figure.axes
    assert len(axes) == 6
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel()
        assert ax.patches or ax.lines


def test_arrival_bars_count_first_visits_against_the_published_profile(figure, dataset):
    patients = read_table(dataset, "patients")
    first = patients[patients.readmission_of.isna()]
    ax = figure.axes[0]
    heights = np.array([bar.get_height() for bar in ax.patches])
    assert len(heights) == 24
    assert heights.sum() == len(first) > 0
    np.testing.assert_array_equal(heights, np.bincount(first.arrival.dt.hour, minlength=24))
    expected = ax.lines[0].get_ydata()[:24]  # the step line of the profile, scaled
    np.testing.assert_allclose(expected, default_arrival_profile().hour_shares * len(first))


def test_waiting_panel_shows_median_and_90th_percentile_per_resourced_activity(figure, dataset):
    events = read_table(dataset, "events")
    events["time:timestamp"] = events["time:timestamp"].dt.tz_convert(None)  # UTC, naive
    reference = waits(events)
    resourced = events.loc[events["org:resource"].notna(), "concept:name"].unique()
    reference = reference[reference["concept:name"].isin(resourced)]
    ax = figure.axes[1]
    labels = [t.get_text().split(" [")[0] for t in ax.get_yticklabels()]
    assert sorted(labels) == sorted(map(str, resourced))
    medians = [bar.get_width() for bar in ax.containers[0]]
    p90 = [bar.get_width() for bar in ax.containers[1]]
    by = reference.groupby("concept:name", observed=True).wait
    np.testing.assert_allclose(medians, by.median()[labels], atol=1e-6)
    np.testing.assert_allclose(p90, by.quantile(0.9)[labels], atol=1e-6)
    assert max(p90) > 0


def test_waiting_times_pair_the_kth_schedule_with_the_kth_start():
    t = pd.Timestamp("2025-01-01")
    rows = [  # case, activity, minute, unit, lifecycle
        ("a", "triage", 0, None, "schedule"), ("a", "triage", 5, "nurse-1", "start"),
        ("a", "triage", 9, "nurse-1", "complete"), ("a", "scan", 9, None, "schedule"),
        ("a", "scan", 9, "scanner-2", "start"), ("a", "scan", 20, "scanner-2", "complete"),
        ("a", "scan", 30, None, "schedule"), ("a", "scan", 42, "scanner-1", "start"),
        ("a", "scan", 50, "scanner-1", "complete"), ("b", "arrival", 1, None, "schedule"),
        ("b", "arrival", 1, None, "start"), ("b", "triage", 1, None, "schedule"),
        ("b", "left_without_being_seen", 90, None, "complete"),
    ]  # fmt: skip
    log = pd.DataFrame(rows, columns=["case:concept:name", "concept:name", "minute",
                                      "org:resource", "lifecycle:transition"])  # fmt: skip
    log.insert(2, "time:timestamp", t + pd.to_timedelta(log.pop("minute"), unit="min"))
    got = waiting_times(log)  # plain strings, as CSV parts read back
    assert got.activity.astype(str).tolist() == ["triage", "scan", "scan"]
    assert got.resource.astype(str).tolist() == ["nurse", "scanner", "scanner"]
    assert got.wait_minutes.tolist() == [5.0, 0.0, 12.0]


def test_length_of_stay_utilisation_harm_and_outcome_panels_hold_the_data(figure, dataset):
    patients = read_table(dataset, "patients")
    resources = read_table(dataset, "resources")
    stay, utilisation, harm, outcome = (figure.axes[k] for k in (2, 3, 4, 5))
    assert len(stay.lines) - 1 == patients.outcome.nunique()  # one ECDF each, plus 4 h line
    for line in stay.lines[:-1]:
        assert line.get_ydata()[-1] == pytest.approx(1.0)
    widths = [bar.get_width() for bar in utilisation.patches]
    np.testing.assert_allclose(widths, resources.utilisation)
    assert [t.get_text() for t in utilisation.get_yticklabels()] == resources.resource.tolist()
    assert all(f"of {c} units" in t.get_text() for t, c in
               zip(utilisation.texts, resources.capacity, strict=True))  # fmt: skip
    readmissions = harm.lines[2].get_ydata()
    assert len(readmissions) == 7
    assert readmissions.sum() == patients.readmission_of.notna().sum()
    assert {line.get_label().split(" (")[0] for line in harm.lines} == {
        "deteriorations", "deaths", "readmissions"}  # fmt: skip
    shares = np.zeros(patients.acuity.nunique())
    for container in outcome.containers:
        shares += [bar.get_width() for bar in container]
    np.testing.assert_allclose(shares, 1.0)


def test_a_csv_dataset_of_two_hospitals_draws_the_same_panels(tmp_path):
    path = _run(tmp_path / "csv", "run.days=2", "run.hospitals=2", fmt="csv")
    fig = overview_figure(path)
    try:
        assert len(fig.axes) == 6
        first = read_table(path, "patients").readmission_of.isna().sum()
        assert sum(bar.get_height() for bar in fig.axes[0].patches) == first
        assert "2 hospitals" in fig.axes[3].get_title()
        assert "2 hospitals" in fig.get_suptitle()
    finally:
        plt.close(fig)
