"""Warm-up (``run.warmup_days``): simulated days before ``run.start_date`` that are not
written; :func:`scenarios.patients.warmup.drop_warmup` on a log, and the scenario end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from patients_support import DAY, START, minutes, readmission_pathway, run

from scenarios.patients.eventlog import READMISSION_OF
from scenarios.patients.warmup import drop_warmup
from simulations.datasets import read_table
from simulations.runner import run as run_scenario
from simulations.scenario import get_scenario


@pytest.mark.parametrize("engine", ["kernel", "reference"])
def test_drop_warmup_keeps_later_arrivals_renumbered(engine):
    log = run(readmission_pathway(0.5), 3, engine=engine, rate=2.0, horizon=20 * DAY)
    warm = 5 * DAY
    kept = drop_warmup(log, pd.Timestamp(START), warm)
    arrival = kept.assign(t=minutes(kept)).groupby("case:concept:name", observed=True).t.first()
    assert (arrival >= warm).all()
    ids = kept["case:concept:name"].astype(int)
    assert ids.iloc[0] == 0 and (ids.diff().dropna().isin([0, 1])).all()  # 0, 1, ... in order
    assert list(kept["case:concept:name"].cat.categories) == [str(i) for i in range(ids.max() + 1)]
    # the rows are those of the cases arriving after the warm-up, unchanged and in order
    case = log["case:concept:name"].astype(int)
    first = log.assign(t=minutes(log)).groupby(case).t.first()
    dropped = int((first < warm).sum())
    original = log[case >= dropped].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        kept.drop(columns=["case:concept:name", READMISSION_OF]),
        original.drop(columns=["case:concept:name", READMISSION_OF]),
    )
    parent = original[READMISSION_OF].astype(float) - dropped
    expected = parent.where(parent >= 0)
    np.testing.assert_array_equal(kept[READMISSION_OF].astype(float), expected)
    assert expected.notna().any() and (original[READMISSION_OF].astype(float) < dropped).any()
    assert drop_warmup(log, pd.Timestamp(START), 0.0) is log


SMALL = ["run.days=4", "population.catchment=5000", "arrivals.per_day=150"]


def _dataset(path, *overrides):
    scenario = get_scenario("patients")
    config = scenario.resolve_config(overrides=[*SMALL, *overrides])
    run_scenario(scenario, config, path, progress=False)
    return {name: read_table(path, name) for name in ("events", "patients", "resources")}


def test_warmup_is_simulated_but_not_written(tmp_path):
    """Nothing before start_date is written; case ids start at 0 and run in order of arrival;
    the ward is occupied from the first written minute (not with a warm-up of 0, when it
    starts empty), so its utilisation over the window is higher."""
    warm = _dataset(tmp_path / "warm", "run.warmup_days=10")
    cold = _dataset(tmp_path / "cold", "run.warmup_days=0")
    start = pd.Timestamp("2025-01-06", tz="Europe/London")
    for tables in (warm, cold):
        patients = tables["patients"]
        assert (patients.arrival >= start).all()
        assert (patients.arrival < start + pd.Timedelta(days=4)).all()
        number = patients.case_id.str.removeprefix("0-").astype(int)
        assert number.tolist() == list(range(len(patients)))
        assert patients.arrival.is_monotonic_increasing
        assert set(tables["events"]["case:concept:name"]) == set(patients.case_id)
        assert set(patients.readmission_of.dropna()) <= set(patients.case_id)
    bed = {name: t["resources"].set_index("resource").loc["ward_bed", "utilisation"]
           for name, t in (("warm", warm), ("cold", cold))}  # fmt: skip
    assert bed["warm"] > bed["cold"] + 0.2, bed


def test_warmup_output_is_identical_whatever_the_workers(tmp_path):
    scenario = get_scenario("patients")
    config = scenario.resolve_config(overrides=[*SMALL, "run.hospitals=2", "run.warmup_days=3"])
    parts = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        run_scenario(scenario, config, out, workers=workers, progress=False)
        parts.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.parquet"))})
    assert parts[0] and parts[0] == parts[1]
