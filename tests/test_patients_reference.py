"""Behaviour of the SimPy reference model of patient pathways."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from scenarios.patients.eventlog import COLUMNS, LIFECYCLE
from scenarios.patients.pathway import DEFAULT_PATHWAY, load_pathway
from scenarios.patients.reference import simulate
from simulations.errors import ConfigError

START = datetime(2024, 1, 1)
MINUTE = pd.Timedelta(minutes=1)


def single_queue(capacity: int, service: dict, **extra) -> dict:
    """One resource, one activity, then "done"."""
    return {
        "pathway": {"name": "queue", "start": "serve", "terminal": ["done", "left"], **extra},
        "resources": {"server": {"capacity": capacity}},
        "activities": {"serve": {"resource": "server", "service": service}},
        "transitions": [{"source": "serve", "target": "done", "probability": 1.0}],
    }


def minutes(log: pd.DataFrame) -> np.ndarray:
    return ((log["time:timestamp"] - pd.Timestamp(START)) / MINUTE).to_numpy()


def service_intervals(log: pd.DataFrame, terminal) -> list[tuple[str, float, float, str]]:
    """(instance, start, end, case) of every service; a service cut short ends at the outcome."""
    out, t = [], minutes(log)
    open_ = {}
    for i, (case, name, res, life) in enumerate(
        zip(
            log["case:concept:name"],
            log["concept:name"],
            log["org:resource"],
            log["lifecycle:transition"],
            strict=True,
        )
    ):
        if life == "start" and res:
            open_[case] = (res, t[i])
        elif (life == "complete" and res) or name in terminal:
            if case in open_:
                res0, t0 = open_.pop(case)
                out.append((res0, t0, t[i], case))
    assert not open_
    return out


@pytest.fixture(scope="module")
def ed_log():
    pathway = load_pathway(DEFAULT_PATHWAY)
    log = simulate(
        pathway,
        arrivals_per_hour=150 / 24,
        horizon_minutes=3 * 1440,
        rng=np.random.default_rng(7),
        start=START,
    )
    return pathway, log


def test_columns_and_lifecycle(ed_log):
    pathway, log = ed_log
    assert tuple(log.columns[:5]) == COLUMNS
    assert set(log["lifecycle:transition"]) <= set(LIFECYCLE)
    terminal = log["concept:name"].isin(pathway.terminal)
    assert (log.loc[terminal, "lifecycle:transition"] == "complete").all()
    assert (log.loc[terminal, "org:resource"] == "").all()
    assert (log.loc[log["lifecycle:transition"] == "schedule", "org:resource"] == "").all()


def test_every_patient_ends_in_exactly_one_terminal_state(ed_log):
    pathway, log = ed_log
    terminal = log[log["concept:name"].isin(pathway.terminal)]
    cases = log["case:concept:name"].unique()
    assert len(cases) > 300
    assert terminal["case:concept:name"].is_unique
    assert set(terminal["case:concept:name"]) == set(cases)
    last = log.groupby("case:concept:name", sort=False).tail(1)
    assert last["concept:name"].isin(pathway.terminal).all()


def test_events_in_time_order_and_lifecycle_order(ed_log):
    pathway, log = ed_log
    ids = log["case:concept:name"].astype(int).to_numpy()
    assert (np.diff(ids) >= 0).all()
    t = minutes(log)
    same = np.diff(ids) == 0
    assert (np.diff(t)[same] >= 0).all()
    for _, case in log.groupby("case:concept:name", sort=False):
        pending = {}
        for name, life, when in zip(
            case["concept:name"], case["lifecycle:transition"], case["time:timestamp"], strict=True
        ):
            if life == "schedule":
                pending[name] = ["schedule", when]
            elif life == "start":
                assert pending[name][0] == "schedule" and pending[name][1] <= when
                pending[name] = ["start", when]
            elif name in pathway.activities:
                assert pending[name][0] == "start" and pending[name][1] <= when
                del pending[name]


def test_resource_instances_never_double_booked_nor_over_capacity(ed_log):
    pathway, log = ed_log
    intervals = service_intervals(log, pathway.terminal)
    by_unit = defaultdict(list)
    for unit, t0, t1, _ in intervals:
        by_unit[unit].append((t0, t1))
    for unit, spans in by_unit.items():
        spans.sort()
        for (_, end), (begin, _) in zip(spans, spans[1:], strict=False):
            assert begin >= end, unit
        name, number = unit.rsplit("-", 1)
        assert 1 <= int(number) <= pathway.resources[name].capacity
    # Patients in service when a service starts never exceed the staff on duty.
    by_resource = defaultdict(list)
    for unit, t0, t1, _ in intervals:
        by_resource[unit.rsplit("-", 1)[0]].append((t0, t1))
    for name, spans in by_resource.items():
        resource = pathway.resources[name]
        starts = np.array([s for s, _ in spans])
        ends = np.array([e for _, e in spans])
        for t0 in starts:
            busy = np.sum((starts <= t0) & (ends > t0))
            hour = int(t0 // 60)
            on_duty = resource.capacity_at(hour % 24)
            if t0 == hour * 60:  # a start at the shift change itself
                on_duty = max(on_duty, resource.capacity_at((hour - 1) % 24))
            assert busy <= on_duty, (name, t0)


def test_same_seed_same_log_different_seed_different():
    pathway = load_pathway(DEFAULT_PATHWAY)

    def run(seed):
        return simulate(
            pathway,
            arrivals_per_hour=6.0,
            horizon_minutes=1440,
            rng=np.random.default_rng(seed),
            start=START,
        )

    pd.testing.assert_frame_equal(run(3), run(3))
    assert not run(3).equals(run(4))


def test_deterministic_pathway_exact_time_in_system():
    raw = single_queue(50, {"distribution": "fixed", "value": 10})
    raw["resources"]["doctor"] = {"capacity": 50}
    raw["activities"]["treat"] = {
        "resource": "doctor",
        "service": {"distribution": "fixed", "value": 25},
    }
    raw["transitions"] = [
        {"source": "serve", "target": "treat", "probability": 1.0},
        {"source": "treat", "target": "done", "probability": 1.0},
    ]
    log = simulate(
        load_pathway(raw),
        arrivals_per_hour=1.0,
        horizon_minutes=5 * 1440,
        rng=np.random.default_rng(0),
        start=START,
    )
    spans = log.groupby("case:concept:name")["time:timestamp"].agg(["min", "max"])
    assert len(spans) > 50
    assert ((spans["max"] - spans["min"]) == pd.Timedelta(minutes=35)).all()
    assert (log.groupby("case:concept:name")["concept:name"].last() == "done").all()


def test_time_varying_rate_by_thinning():
    pathway = load_pathway(single_queue(100, {"distribution": "fixed", "value": 1}))

    def rate(minute):  # 12 per hour in the first half of each day, none in the second
        return 12.0 if minute % 1440 < 720 else 0.0

    log = simulate(
        pathway,
        arrivals_per_hour=rate,
        peak_per_hour=12.0,
        horizon_minutes=10 * 1440,
        rng=np.random.default_rng(1),
        start=START,
    )
    first = log[log["lifecycle:transition"] == "schedule"]
    arrive = minutes(first)
    assert (arrive % 1440 < 720).all()
    assert abs(len(arrive) - 1440) < 4 * math.sqrt(1440)
    with pytest.raises(ConfigError, match="peak_per_hour"):
        simulate(
            pathway,
            arrivals_per_hour=rate,
            horizon_minutes=60,
            rng=np.random.default_rng(1),
            start=START,
        )


def test_impatient_patients_leave_without_being_seen():
    raw = single_queue(1, {"distribution": "fixed", "value": 30})
    raw["patience"] = {
        "distribution": "fixed",
        "value": 5,
        "applies_to": ["serve"],
        "outcome": "left",
    }
    log = simulate(
        load_pathway(raw),
        arrivals_per_hour=6.0,
        horizon_minutes=2 * 1440,
        rng=np.random.default_rng(2),
        start=START,
    )
    left = log[log["concept:name"] == "left"]
    assert 0 < len(left) < log["case:concept:name"].nunique()
    for case in left["case:concept:name"]:
        rows = log[log["case:concept:name"] == case]
        assert list(rows["lifecycle:transition"]) == ["schedule", "complete"]
        waited = (rows["time:timestamp"].iloc[1] - rows["time:timestamp"].iloc[0]) / MINUTE
        assert waited == pytest.approx(5)


def test_priority_serves_low_acuity_number_first():
    raw = single_queue(1, {"distribution": "exponential", "mean": 10})
    raw["pathway"]["attributes"] = ["acuity"]
    raw["activities"]["serve"]["priority_by"] = "acuity"
    log = simulate(
        load_pathway(raw),
        arrivals_per_hour=5.5,
        horizon_minutes=20 * 1440,
        rng=np.random.default_rng(5),
        start=START,
    )
    t = minutes(log)
    log = log.assign(minute=t)
    piv = log[log["lifecycle:transition"] != "complete"].pivot(
        index="case:concept:name", columns="lifecycle:transition", values="minute"
    )
    wait = (piv["start"] - piv["schedule"]).groupby(
        log.groupby("case:concept:name")["case:acuity"].first()
    )
    means = wait.mean()
    assert means[1] < means[3] < means[5]


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C), in the time unit of 1/lam."""
    a = lam / mu
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def test_mmc_matches_erlang_c():
    lam, mu, c = 4.0, 1.5, 3  # per hour; rho = 0.89
    warm, horizon, reps = 200 * 60.0, 4000 * 60.0, 20
    pathway = load_pathway(single_queue(c, {"distribution": "exponential", "mean": 60 / mu}))
    waits, utils = [], []
    for seed in range(reps):
        log = simulate(
            pathway,
            arrivals_per_hour=lam,
            horizon_minutes=horizon,
            rng=np.random.default_rng([2024, seed]),
            start=START,
        )
        t = minutes(log)
        life = log["lifecycle:transition"].to_numpy()
        name = log["concept:name"].to_numpy()
        sched = t[(life == "schedule")]
        start = t[(life == "start")]
        done = t[(life == "complete") & (name == "serve")]
        assert len(sched) == len(start) == len(done)  # one visit per case, in case order
        keep = (sched >= warm) & (sched < horizon)
        waits.append(np.mean(start[keep] - sched[keep]))
        busy = np.clip(done, warm, horizon) - np.clip(start, warm, horizon)
        utils.append(busy.sum() / (c * (horizon - warm)))
    t_crit = stats.t.ppf(1 - 0.001 / 2, reps - 1)
    for sample, expected in ((waits, 60 * erlang_c_wait(lam, mu, c)), (utils, lam / (c * mu))):
        mean, half = np.mean(sample), t_crit * np.std(sample, ddof=1) / math.sqrt(reps)
        assert abs(mean - expected) <= half, (mean, half, expected)


def test_bad_parameters_raise_config_error():
    pathway = load_pathway(single_queue(1, {"distribution": "fixed", "value": 1}))
    with pytest.raises(ConfigError, match="horizon_minutes"):
        simulate(
            pathway,
            arrivals_per_hour=1.0,
            horizon_minutes=0,
            rng=np.random.default_rng(0),
            start=START,
        )
    with pytest.raises(ConfigError, match="arrivals_per_hour"):
        simulate(
            pathway,
            arrivals_per_hour=-1.0,
            horizon_minutes=10,
            rng=np.random.default_rng(0),
            start=START,
        )


def test_death_interrupts_waits_and_services():
    raw = single_queue(1, {"distribution": "fixed", "value": 60})
    raw["adverse_events"] = {"death_per_day": 20.0, "death_outcome": "left"}
    log = simulate(
        load_pathway(raw),
        arrivals_per_hour=2.0,
        horizon_minutes=1440,
        rng=np.random.default_rng(9),
        start=START,
    )
    outcome = log.groupby("case:concept:name")["concept:name"].last()
    assert set(outcome) == {"done", "left"}
    lives = log.groupby("case:concept:name")["lifecycle:transition"].agg(tuple)
    cut = lives[outcome == "left"]
    assert ("schedule", "complete") in set(cut)  # died waiting
    assert ("schedule", "start", "complete") in set(cut)  # died in service
    assert len(service_intervals(log, ("done", "left"))) == (lives.map(len) > 2).sum()
