"""The patients tables as tools take them: plain string columns, time-zone-aware times that
follow local hours across summer time, a standard XES export, no silent overwrites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from xes_support import validate

from scenarios.patients.arrivals import LocalClock, check_timezone
from simulations.cli import cli
from simulations.datasets import read_table
from simulations.errors import ConfigError
from simulations.runner import run
from simulations.scenario import get_scenario
from simulations.xes import XES_NAMESPACE

NS = f"{{{XES_NAMESPACE}}}"
# two weeks across the change to British summer time (01:00 GMT on Sunday 30 March 2025)
DST = ["run.start_date=2025-03-24", "run.days=14", "arrivals.per_day=120",
       "population.catchment=20000"]  # fmt: skip
TEXT = ["case:concept:name", "concept:name", "org:resource", "lifecycle:transition"]
QUEUE = """
[pathway]
name = "queue"
start = "serve"
terminal = ["done", "left"]
[resources.server]
capacity = 1000
[activities.serve]
resource = "server"
service = { distribution = "fixed", value = 1.0 }
[[transitions]]
source = "serve"
target = "done"
probability = 1.0
"""


def _run(path, *overrides):
    scenario = get_scenario("patients")
    run(scenario, scenario.resolve_config(overrides=list(overrides)), path, progress=False)
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("tools") / "ds", *DST)


@pytest.fixture(scope="module")
def xes(dataset):
    result = CliRunner().invoke(cli, ["export", "xes", str(dataset)])
    assert result.exit_code == 0, result.output
    return dataset.with_name("ds.xes")


@pytest.mark.parametrize("reader", ["read_table", "read_parquet"])
def test_events_load_with_string_columns_and_zoned_times(dataset, reader):
    if reader == "read_table":
        events = read_table(dataset, "events")
    else:
        events = pd.read_parquet(dataset / "events")
    for column in TEXT:
        assert pd.api.types.is_string_dtype(events[column].dtype), column
        assert not isinstance(events[column].dtype, pd.CategoricalDtype), column
    assert isinstance(events["case:concept:name"].dropna().iloc[0], str)
    assert str(events["time:timestamp"].dt.tz) == "Europe/London"
    patients = read_table(dataset, "patients")
    assert str(patients["arrival"].dt.tz) == "Europe/London"
    assert not any(isinstance(t, pd.CategoricalDtype) for t in patients.dtypes)


def test_text_columns_are_still_dictionary_encoded_in_the_file(dataset):
    meta = pq.ParquetFile(dataset / "events" / "part-00000.parquet").metadata
    columns = {meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i)
               for i in range(meta.num_columns)}  # fmt: skip
    for column in TEXT:
        assert any("DICTIONARY" in e for e in columns[column].encodings), column


def test_pm4py_takes_the_events_as_they_are(dataset):
    pm4py = pytest.importorskip("pm4py")
    events = read_table(dataset, "events")
    starts = pm4py.get_start_activities(events)
    assert set(starts) == {"arrival"}


def test_every_schedule_and_start_is_closed(dataset):
    events = read_table(dataset, "events")
    counts = events.groupby(["case:concept:name", "concept:name",
                             "lifecycle:transition"]).size().unstack(fill_value=0)
    for name in ("schedule", "start", "complete", "ate_abort", "pi_abort"):
        if name not in counts:
            counts[name] = 0
    counts = counts[counts["schedule"] > 0]  # activities (terminal states only complete)
    assert (counts["schedule"] == counts["start"] + counts["pi_abort"]).all()
    assert (counts["start"] == counts["complete"] + counts["ate_abort"]).all()
    cut = events[events["lifecycle:transition"].isin(["ate_abort", "pi_abort"])]
    assert len(cut) and cut["org:resource"].notna().eq(
        cut["lifecycle:transition"] == "ate_abort").all()


def test_the_xes_export_validates_and_keeps_case_attributes_on_the_trace(xes):
    validate(xes)
    import xml.etree.ElementTree as ET

    root = ET.parse(xes).getroot()
    trace = root.find(f"{NS}trace")
    keys = {child.get("key") for child in trace if child.tag != f"{NS}event"}
    assert {"hospital", "age", "sex", "acuity"} <= keys
    for event in root.iter(f"{NS}event"):
        assert not {c.get("key") for c in event} & {"hospital", "case:hospital"}


def test_the_xes_states_the_offsets_of_the_parquet_times(dataset, xes):
    import xml.etree.ElementTree as ET

    written = [d.get("value") for e in ET.parse(xes).getroot().iter(f"{NS}event")
               for d in e if d.get("key") == "time:timestamp"]  # fmt: skip
    events = read_table(dataset, "events")
    expected = [t.isoformat(timespec="milliseconds") for t in events["time:timestamp"]]
    assert written == expected
    assert {w[-6:] for w in written} == {"+00:00", "+01:00"}


def test_arrivals_follow_local_hours_across_the_clock_change(tmp_path):
    pathway = tmp_path / "queue.toml"
    pathway.write_text(QUEUE)
    path = _run(tmp_path / "q", "run.start_date=2025-03-24", "run.days=14",
                "arrivals.per_day=2000", "population.catchment=2000",
                f"run.pathway={pathway}")  # fmt: skip
    arrival = read_table(path, "patients")["arrival"]
    day = arrival.dt.tz_localize(None).dt.normalize()
    week1 = arrival[day <= "2025-03-29"]  # Monday to Saturday in GMT
    week2 = arrival[(day >= "2025-03-31") & (day <= "2025-04-05")]  # the same days in BST

    def best_shift(hours1, hours2):
        """Hours by which week 2's histogram runs ahead of week 1's (its best match)."""
        a = np.bincount(hours1, minlength=24) / len(hours1)
        b = np.bincount(hours2, minlength=24) / len(hours2)
        return min(range(-3, 4), key=lambda s: ((np.roll(b, s) - a) ** 2).sum())

    local = best_shift(week1.dt.hour, week2.dt.hour)
    utc = best_shift(week1.dt.tz_convert("UTC").dt.hour, week2.dt.tz_convert("UTC").dt.hour)
    assert (local, utc) == (0, 1)


@pytest.mark.parametrize("engine", ["kernel", "reference"])
def test_staff_rosters_keep_to_local_hours_across_the_clock_change(tmp_path, engine):
    """A server on duty from 09:00 to 17:00 local time starts patients only then, in the
    week after the change to summer time as in the week before."""
    pathway = tmp_path / "office.toml"
    pathway.write_text(QUEUE.replace("capacity = 1000",
                                     "capacity = 1\nshifts = [[0, 9, 0], [9, 17, 1], [17, 24, 0]]"))
    path = tmp_path / "office"
    scenario = get_scenario("patients")
    config = scenario.resolve_config(overrides=[
        "run.start_date=2025-03-24", "run.days=14", "arrivals.per_day=200",
        "population.catchment=2000", "run.warmup_days=0", f"run.pathway={pathway}"])
    run(scenario, config, path, progress=False, engine=engine)
    events = read_table(path, "events")
    starts = events.loc[events["lifecycle:transition"] == "start", "time:timestamp"]
    summer = starts[starts.dt.tz_localize(None) >= pd.Timestamp("2025-03-31")]
    assert len(summer) > 500 and len(starts) > len(summer) + 500
    assert starts.dt.hour.between(9, 16).all()


def test_the_local_clock_skips_and_repeats_an_hour():
    spring = LocalClock.of("2025-03-24", "Europe/London", 14 * 1440)
    change = 6 * 1440 + 60  # 01:00 GMT on 30 March, six days after local midnight
    assert spring.changes.tolist() == [change]
    assert spring.local_minutes(np.array([change - 1, change])).tolist() == [change - 1,
                                                                             change + 60]
    autumn = LocalClock.of("2025-10-20", "Europe/London", 14 * 1440)
    assert autumn.shifts.tolist() == [-60]
    assert LocalClock.of("2025-03-24", "UTC", 14 * 1440).changes.size == 0


def test_a_bad_time_zone_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"'run.timezone'.*IANA.*'Europe/London'.*Mars/Base"):
        get_scenario("patients").resolve_config(overrides=["run.timezone=Mars/Base"])
    assert str(check_timezone("UTC")) == "UTC"


@pytest.mark.parametrize("command", [["export", "xes"], ["plot"]])
def test_export_and_plot_refuse_to_overwrite(dataset, tmp_path, command):
    out = tmp_path / ("out.xes" if command[0] == "export" else "out.png")
    out.write_text("keep me")
    args = [*command, str(dataset), "--out", str(out)]
    refused = CliRunner().invoke(cli, args)
    assert refused.exit_code == 2
    assert str(out) in refused.output and "--overwrite" in refused.output
    assert out.read_text() == "keep me"
    replaced = CliRunner().invoke(cli, [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert out.read_bytes()[:5] in (b"<?xml", b"\x89PNG\r")
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]
