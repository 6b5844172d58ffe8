"""Semantics of patient pathways, checked on both engines: the Numba kernel
(:func:`scenarios.patients.engine.simulate_kernel`) and the SimPy reference
(:func:`scenarios.patients.reference.simulate`), run from the same inputs by
:func:`patients_support.run`. Each test runs once per engine (the ``engine`` fixture)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from patients_support import (
    ALPHA,
    DAY,
    ENGINES,
    MINUTE,
    SECOND,
    START,
    Sampler,
    Z,
    binomial_ok,
    cases,
    erlang_c,
    fixed_stay,
    minutes,
    readmission_pathway,
    run,
    service_intervals,
    single_queue,
    stressed_ed,
    waits,
)
from scipy import stats

from scenarios.patients.eventlog import COLUMNS, LIFECYCLE, READMISSION_OF
from scenarios.patients.pathway import (
    DEFAULT_PATHWAY,
    DETERIORATION,
    READMISSION_DAYS,
    load_pathway,
)
from scenarios.patients.summaries import resource_table
from simulations.errors import ConfigError


@pytest.fixture(scope="module", params=ENGINES)
def engine(request) -> str:
    """The engine under test: every test of this module runs on each."""
    return request.param


@pytest.fixture(scope="module")
def stressed_log(engine):
    """The stressed ED, busier than planned (250 arrivals a day), over 4 days."""
    pathway = stressed_ed()
    log = run(pathway, 7, engine=engine, rate=250 / 24, horizon=4 * DAY)
    log.attrs["horizon"] = 4 * DAY
    return pathway, log


@pytest.fixture(scope="module", params=["default", "stressed"])
def ed_log(request, engine):
    """The ED pathway as shipped (3 days), and with frequent adverse events and queues."""
    if request.param == "stressed":
        return request.getfixturevalue("stressed_log")
    pathway = load_pathway(DEFAULT_PATHWAY)
    log = run(pathway, 7, engine=engine, rate=150 / 24, horizon=3 * DAY)
    log.attrs["horizon"] = 3 * DAY
    return pathway, log


# -- invariants on the ED -------------------------------------------------------------------


def test_columns_and_lifecycle(ed_log):
    pathway, log = ed_log
    assert tuple(log.columns) == (*COLUMNS, READMISSION_OF, "case:acuity", "case:age")
    for column in (*COLUMNS[:2], *COLUMNS[3:], READMISSION_OF):
        assert isinstance(log[column].dtype, pd.CategoricalDtype), column
    assert set(log["lifecycle:transition"]) <= set(LIFECYCLE)
    instant = log["concept:name"].isin([*pathway.terminal, DETERIORATION])
    assert (log.loc[instant, "lifecycle:transition"] == "complete").all()
    assert log.loc[instant, "org:resource"].isna().all()
    assert log.loc[log["lifecycle:transition"] == "schedule", "org:resource"].isna().all()
    # start and complete rows name a unit exactly when the activity has a resource
    busy = log[~instant & (log["lifecycle:transition"] != "schedule")]
    needs = [pathway.activities[a].resource is not None for a in busy["concept:name"]]
    assert busy["org:resource"].notna().tolist() == needs
    assert any(needs) and not all(needs)
    seconds = (log["time:timestamp"] - pd.Timestamp(START)) / pd.Timedelta(seconds=1)
    assert (seconds == seconds.round()).all()


def test_every_patient_ends_in_exactly_one_terminal_state(ed_log):
    pathway, log = ed_log
    terminal = log[log["concept:name"].isin(pathway.terminal)]
    ids = log["case:concept:name"].unique()
    assert len(ids) > 300
    assert terminal["case:concept:name"].is_unique
    assert set(terminal["case:concept:name"]) == set(ids)
    assert sorted(ids.astype(int)) == list(range(len(ids)))
    last = log.groupby("case:concept:name", sort=False, observed=True).tail(1)
    assert last["concept:name"].isin(pathway.terminal).all()


def test_events_in_time_order_and_lifecycle_order(ed_log):
    pathway, log = ed_log
    ids = log["case:concept:name"].astype(int).to_numpy()
    assert (np.diff(ids) >= 0).all()
    t = minutes(log)
    same = np.diff(ids) == 0
    assert (np.diff(t)[same] >= 0).all()
    for _, case in log.groupby("case:concept:name", sort=False, observed=True):
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


def test_cases_are_numbered_in_order_of_arrival_readmissions_included(ed_log):
    pathway, log = ed_log
    table = cases(log, pathway.terminal)
    assert len(table) > 300
    assert (np.diff(table["arrival"].to_numpy()) >= 0).all()
    assert (table["arrival"] <= log.attrs["horizon"]).all()
    back = table["of"] >= 0
    if back.sum() > 5:  # the stressed ED: readmissions sit among later arrivals
        assert not back.iloc[np.flatnonzero(back.to_numpy())[0] :].all()


def test_deterioration_once_per_case_inside_the_stay(ed_log):
    pathway, log = ed_log
    rows = log.reset_index(drop=True)
    worse = rows[rows["concept:name"] == DETERIORATION]
    assert worse["case:concept:name"].is_unique
    first = rows.groupby("case:concept:name", observed=True).head(1)
    last = rows.groupby("case:concept:name", observed=True).tail(1)
    first = pd.Series(first.index, first["case:concept:name"].astype(int))
    last = pd.Series(last.index, last["case:concept:name"].astype(int))
    where = worse["case:concept:name"].astype(int)
    # strictly after the arrival row and before the terminal row, in simulation order
    assert (worse.index > first[where].to_numpy()).all()
    assert (worse.index < last[where].to_numpy()).all()


def test_readmissions_link_to_discharged_earlier_cases(ed_log):
    pathway, log = ed_log
    table = cases(log, pathway.terminal)
    readmitted = table[table["of"] >= 0]
    earlier = table.loc[readmitted["of"]]
    assert (readmitted["of"].to_numpy() < readmitted.index.to_numpy()).all()
    no_return = [pathway.adverse_events.death_outcome, pathway.patience.outcome]
    assert not earlier["outcome"].isin(no_return).any()
    gap = readmitted["arrival"].to_numpy() - earlier["end"].to_numpy()
    assert (gap >= 0).all() and (gap <= READMISSION_DAYS * DAY + SECOND).all()
    for column in ("case:acuity", "case:age"):
        per_case = log.groupby(log["case:concept:name"].astype(int))[column].first()
        assert (
            per_case[readmitted.index].to_numpy() == per_case[readmitted["of"]].to_numpy()
        ).all()


def test_stressed_ed_exercises_every_adverse_event(stressed_log):
    """Guards the invariant tests above against passing vacuously (expected counts are
    about 550, 330, 45 and 30)."""
    pathway, log = stressed_log
    table = cases(log, pathway.terminal)
    assert table["deteriorated"].notna().sum() > 100
    assert (table["outcome"] == "died").sum() > 50
    assert (table["outcome"] == "left_without_being_seen").sum() > 10
    assert (table["of"] >= 0).sum() > 5


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


# -- small pathways -------------------------------------------------------------------------


def test_same_seed_same_log_different_seed_different(engine):
    pathway = stressed_ed()

    def log(seed):
        return run(pathway, seed, engine=engine, rate=6.0, horizon=DAY)

    pd.testing.assert_frame_equal(log(3), log(3))
    assert not log(3).equals(log(4))


def two_fixed_stages(capacity: int, serve: float, treat: float) -> dict:
    """``serve`` then ``treat`` (fixed minutes), each on its own resource of ``capacity``."""
    raw = single_queue(capacity, {"distribution": "fixed", "value": serve})
    raw["resources"]["doctor"] = {"capacity": capacity}
    raw["activities"]["treat"] = {
        "resource": "doctor",
        "service": {"distribution": "fixed", "value": treat},
    }
    raw["transitions"] = [
        {"source": "serve", "target": "treat", "probability": 1.0},
        {"source": "treat", "target": "done", "probability": 1.0},
    ]
    return raw


def test_deterministic_pathway_exact_time_in_system(engine):
    raw = two_fixed_stages(50, 10, 25)
    log = run(raw, 0, engine=engine, rate=1.0, horizon=5 * DAY)
    spans = log.groupby("case:concept:name", observed=True)["time:timestamp"].agg(["min", "max"])
    assert len(spans) > 50
    assert ((spans["max"] - spans["min"]) == pd.Timedelta(minutes=35)).all()
    last = log.groupby("case:concept:name", observed=True)["concept:name"].last()
    assert (last == "done").all()
    assert log[READMISSION_OF].isna().all()


def test_time_varying_rate_by_thinning(engine):
    pathway = load_pathway(single_queue(100, {"distribution": "fixed", "value": 1}))

    def rate(minute):  # 12 per hour in the first half of each day, none in the second
        return 12.0 if minute % 1440 < 720 else 0.0

    log = run(pathway, 1, engine=engine, rate=rate, peak_per_hour=12.0, horizon=10 * DAY)
    first = log[log["lifecycle:transition"] == "schedule"]
    arrive = minutes(first)
    assert (arrive % 1440 < 720).all()
    assert abs(len(arrive) - 1440) < Z * math.sqrt(1440)
    with pytest.raises(ConfigError, match="peak_per_hour"):
        run(pathway, 1, engine=engine, rate=rate, horizon=60)


def test_impatient_patients_leave_without_being_seen(engine):
    raw = single_queue(1, {"distribution": "fixed", "value": 30})
    raw["patience"] = {
        "distribution": "fixed",
        "value": 5,
        "applies_to": ["serve"],
        "outcome": "left",
    }
    log = run(raw, 2, engine=engine, rate=6.0, horizon=2 * DAY)
    left = log[log["concept:name"] == "left"]
    assert 0 < len(left) < log["case:concept:name"].nunique()
    for case in left["case:concept:name"]:
        rows = log[log["case:concept:name"] == case]
        assert list(rows["lifecycle:transition"]) == ["schedule", "complete"]
        waited = (rows["time:timestamp"].iloc[1] - rows["time:timestamp"].iloc[0]) / MINUTE
        assert waited == pytest.approx(5)
    served = waits(log)
    assert len(served) > 0 and (served["wait"] <= 5 + SECOND).all()  # only waiters leave


def test_priority_serves_low_acuity_number_first(engine):
    raw = single_queue(1, {"distribution": "exponential", "mean": 10})
    raw["pathway"]["attributes"] = ["acuity"]
    raw["activities"]["serve"]["priority_by"] = "acuity"
    log = run(raw, 5, engine=engine, rate=5.5, horizon=20 * DAY)
    t = minutes(log)
    log = log.assign(minute=t)
    piv = log[log["lifecycle:transition"] != "complete"].pivot(
        index="case:concept:name", columns="lifecycle:transition", values="minute"
    )
    acuity = log.groupby("case:concept:name", observed=True)["case:acuity"].first()
    means = (piv["start"] - piv["schedule"]).groupby(acuity).mean()
    assert means[1] < means[3] < means[5]


def test_mmc_matches_erlang_c(engine):
    lam, mu, c = 4.0, 1.5, 3  # per hour; rho = 0.89
    warm, horizon, reps = 200 * 60.0, 2400 * 60.0, 20  # about 5 s on the reference
    pathway = load_pathway(single_queue(c, {"distribution": "exponential", "mean": 60 / mu}))
    expected_wait, expected_util = erlang_c(lam, mu, c)
    waits_, utils = [], []
    for seed in range(reps):
        log = run(pathway, [2024, seed], engine=engine, rate=lam, horizon=horizon)
        t = minutes(log)
        life = log["lifecycle:transition"].to_numpy()
        name = log["concept:name"].to_numpy()
        sched = t[(life == "schedule")]
        start = t[(life == "start")]
        done = t[(life == "complete") & (name == "serve")]
        assert len(sched) == len(start) == len(done)  # one visit per case, in case order
        keep = (sched >= warm) & (sched < horizon)
        waits_.append(np.mean(start[keep] - sched[keep]))
        busy = np.clip(done, warm, horizon) - np.clip(start, warm, horizon)
        utils.append(busy.sum() / (c * (horizon - warm)))
    t_crit = stats.t.ppf(1 - ALPHA / 2, reps - 1)
    for sample, expected in ((waits_, 60 * expected_wait), (utils, expected_util)):
        mean, half = np.mean(sample), t_crit * np.std(sample, ddof=1) / math.sqrt(reps)
        assert abs(mean - expected) <= half, (mean, half, expected)


def test_death_interrupts_waits_and_services(engine):
    raw = single_queue(1, {"distribution": "fixed", "value": 60})
    raw["adverse_events"] = {"death_per_day": 20.0, "death_outcome": "left"}
    log = run(raw, 9, engine=engine, rate=2.0, horizon=DAY)
    outcome = log.groupby("case:concept:name", observed=True)["concept:name"].last()
    assert set(outcome) == {"done", "left"}
    lives = log.groupby("case:concept:name", observed=True)["lifecycle:transition"].agg(tuple)
    cut = lives[outcome == "left"]
    assert ("schedule", "complete") in set(cut)  # died waiting
    assert ("schedule", "start", "complete") in set(cut)  # died in service
    assert len(service_intervals(log, ("done", "left"))) == (lives.map(len) > 2).sum()


# -- deterioration ----------------------------------------------------------------------------


def test_deterioration_probability_and_timing_match_the_hazard(engine):
    """A fixed stay of T minutes deteriorates with probability 1 - exp(-d T / 1440), at a time
    after arrival distributed exponentially (hazard d per day) truncated at T."""
    d, stay = 1.0, DAY
    raw = fixed_stay(stay, 2000, {"deterioration_per_day": d})
    log = run(raw, 11, engine=engine, rate=60.0, horizon=2 * DAY)
    table = cases(log, ("done", "died"))
    starts = log[log["lifecycle:transition"] == "start"]
    assert (minutes(starts) == table["arrival"].to_numpy()).all()  # nobody waited
    assert (table["outcome"] == "done").all()
    assert np.allclose(table["end"] - table["arrival"], stay)
    worse = table["deteriorated"].notna()
    p = 1 - math.exp(-d * stay / DAY)
    assert binomial_ok(int(worse.sum()), len(table), p), (worse.mean(), p)
    offset = (table["deteriorated"] - table["arrival"])[worse].to_numpy()
    assert ((offset > 0) & (offset < stay)).all()
    rate = d / DAY

    def truncated_cdf(x):
        return (1 - np.exp(-rate * np.clip(x, 0, stay))) / p

    assert stats.kstest(offset, truncated_cdf).pvalue > ALPHA


def test_death_after_deterioration_uses_the_new_hazard(engine):
    """With no death before deterioration, only deteriorated patients die, after deteriorating,
    as often as the post-deterioration hazard over the rest of the stay implies."""
    d, after, stay = 1.0, 2.0, DAY
    adverse = {"deterioration_per_day": d, "death_per_day_after_deterioration": after}
    log = run(fixed_stay(stay, 1500, adverse), 12, engine=engine, rate=40.0, horizon=2 * DAY)
    table = cases(log, ("done", "died"))
    died = table["outcome"] == "died"
    assert died.sum() > 50
    assert table.loc[died, "deteriorated"].notna().all()
    assert (table.loc[died, "end"] >= table.loc[died, "deteriorated"]).all()
    worse = table[table["deteriorated"].notna()]
    rest = worse["arrival"] + stay - worse["deteriorated"]
    p_die = 1 - np.exp(-after / DAY * rest.to_numpy())
    expected, sd = p_die.sum(), math.sqrt((p_die * (1 - p_die)).sum())
    assert abs((worse["outcome"] == "died").sum() - expected) <= Z * sd


def test_deterioration_replaces_the_death_clock(engine):
    """With no death hazard after deterioration, a deteriorated patient never dies; death and
    deterioration compete with equal hazards, so each wins half the time they happen."""
    h, stay = 3.0, DAY
    adverse = {
        "deterioration_per_day": h,
        "death_per_day": h,
        "death_per_day_after_deterioration": 0.0,  # it defaults to death_per_day
    }
    log = run(fixed_stay(stay, 1000, adverse), 13, engine=engine, rate=20.0, horizon=2 * DAY)
    table = cases(log, ("done", "died"))
    died = table["outcome"] == "died"
    worse = table["deteriorated"].notna()
    assert not (died & worse).any()
    p = 0.5 * (1 - math.exp(-2 * h * stay / DAY))
    assert binomial_ok(int(died.sum()), len(table), p)
    assert binomial_ok(int(worse.sum()), len(table), p)


def visits(log: pd.DataFrame, activity: str) -> pd.DataFrame:
    """Per case that queued for ``activity``: its schedule, start (NaN if never served) and
    deterioration (NaN if never) minutes, and its outcome."""
    table = cases(log, ("done", "left", "died"))
    rows = log[log["concept:name"] == activity]
    when, life = minutes(rows), rows["lifecycle:transition"].to_numpy()
    ids = rows["case:concept:name"].astype(int).to_numpy()
    out = pd.DataFrame({"schedule": pd.Series(when[life == "schedule"], ids[life == "schedule"])})
    out["start"] = pd.Series(when[life == "start"], ids[life == "start"])
    return out.join(table[["deteriorated", "outcome"]])


def test_deteriorated_patient_jumps_the_queue(engine):
    """Two first-come-first-served servers in series with long queues: whenever a unit frees,
    the next patient is a deteriorated one if any is waiting (first come first served from the
    moment it deteriorated or joined the queue, whichever is later), else the earliest to join.

    Events at the same instant are ordered differently by the engines (the fixed service times
    make a join at the very moment a unit frees common), so a patient joining in the same
    second as a start is not counted as waiting for it, and a start with a deterioration in
    the same second is skipped. Two runs, so that each queue sees enough jumps whatever the
    engine's random stream.
    """
    raw = two_fixed_stages(1, 30, 60)
    raw["adverse_events"] = {"deterioration_per_day": 2.0}
    jumps = dict.fromkeys(("serve", "treat"), 0)
    for seed in (14, 15):
        log = run(raw, seed, engine=engine, rate=6.0, horizon=8 * 60.0)
        for activity in jumps:
            table = visits(log, activity)
            assert len(table) > 30 and table["start"].notna().all()
            for case, row in table.iterrows():
                s = row["start"]
                joined = table["schedule"] <= s - 2 * SECOND
                waiting = table[(joined & (table["start"] >= s)) | (table.index == case)]
                if ((waiting["deteriorated"] - s).abs() < 2 * SECOND).any():
                    continue  # a deterioration in the same second cannot be ordered against s
                worse = waiting["deteriorated"] < s
                # queue order: deteriorated first (shifted a billion minutes ahead), then by time
                key = np.where(
                    worse,
                    np.maximum(waiting["deteriorated"], waiting["schedule"]) - 1e9,
                    waiting["schedule"],
                )
                assert key[waiting.index.get_loc(case)] == key.min(), (activity, seed, case)
                earlier = (waiting.loc[~worse, "schedule"] < row["schedule"]).any()
                jumps[activity] += int(worse[case] and earlier)
    assert min(jumps.values()) > 5, jumps


def test_requeued_patient_keeps_its_patience_clock(engine):
    """A patient who deteriorates while waiting still leaves exactly ``patience`` after
    joining the queue if not served by then."""
    raw = single_queue(1, {"distribution": "fixed", "value": 60})
    raw["patience"] = {"distribution": "fixed", "value": 120, "applies_to": ["serve"]}
    raw["patience"]["outcome"] = "left"
    raw["adverse_events"] = {"deterioration_per_day": 6.0}
    log = run(raw, 15, engine=engine, rate=3.0, horizon=3 * DAY)
    table = visits(log, "serve").join(cases(log, ("done", "left"))["end"])
    left = table[table["outcome"] == "left"]
    assert np.allclose(left["end"] - left["schedule"], 120, atol=SECOND)
    assert left["deteriorated"].notna().sum() > 5
    served = table[table["outcome"] == "done"]
    in_queue = (served["deteriorated"] > served["schedule"]) & (
        served["deteriorated"] < served["start"]
    )
    assert in_queue.sum() > 5


def test_patience_is_scaled_by_the_patients_table(engine):
    """``[patience] scale``: a patient leaves exactly ``patience x scale[acuity]`` after
    joining an overloaded queue; with a scale of 1000 (urgent patients here) nobody leaves."""
    scale = [1000.0, 1000.0, 0.5, 1.0, 2.0]
    raw = single_queue(1, {"distribution": "fixed", "value": 60}, attributes=["acuity"])
    raw["patience"] = {"distribution": "fixed", "value": 120, "applies_to": ["serve"],
                       "outcome": "left", "scale": "patience"}
    raw["tables"] = {"patience": {"acuity": BY_ACUITY, "values": scale}}
    log = run(raw, 17, engine=engine, rate=3.0, horizon=3 * DAY)
    table = visits(log, "serve").join(cases(log, ("done", "left"))["end"])
    table["acuity"] = log.groupby(log["case:concept:name"].astype(int))["case:acuity"].first()
    left = table[table["outcome"] == "left"]
    assert {3, 4} <= set(left["acuity"]) <= {3, 4, 5}
    expected = 120 * np.array(scale)[left["acuity"].to_numpy() - 1]
    assert np.allclose(left["end"] - left["schedule"], expected, atol=SECOND)
    assert (table["acuity"] <= 2).sum() > 10


# -- readmission ------------------------------------------------------------------------------

READMIT = 0.3
READMIT_HORIZON = 120 * DAY
WINDOW = READMISSION_DAYS * DAY


@pytest.fixture(scope="module")
def readmissions(engine):
    log = run(
        readmission_pathway(READMIT), 16, engine=engine, rate=3.0, horizon=READMIT_HORIZON,
        attributes=Sampler(),
    )  # fmt: skip
    return log, cases(log, ("done", "left", "died"))


def test_readmission_share_matches_readmission_30d(readmissions):
    log, table = readmissions
    readmitted = set(table.loc[table["of"] >= 0, "of"])
    early = table[(table["outcome"] == "done") & (table["end"] < READMIT_HORIZON - WINDOW)]
    assert len(early) > 4000
    hits = int(early.index.isin(readmitted).sum())
    assert binomial_ok(hits, len(early), READMIT), (hits / len(early), READMIT)


def test_readmission_delay_is_uniform_within_30_days(readmissions):
    log, table = readmissions
    back = table[table["of"] >= 0]
    earlier = table.loc[back["of"]]
    delay = back["arrival"].to_numpy() - earlier["end"].to_numpy()
    assert (delay > 0).all() and (delay <= WINDOW + SECOND).all()
    assert (back.index.to_numpy() > back["of"].to_numpy()).all()
    uncensored = earlier["end"].to_numpy() < READMIT_HORIZON - WINDOW
    assert stats.kstest(delay[uncensored] / WINDOW, "uniform").pvalue > ALPHA


def test_only_discharges_are_readmitted_and_returns_after_horizon_are_absent(readmissions):
    log, table = readmissions
    assert {"left", "died"} <= set(table["outcome"])
    assert set(table.loc[table.loc[table["of"] >= 0, "of"], "outcome"]) == {"done"}
    assert (table["arrival"] <= READMIT_HORIZON).all()
    # a discharge at t returns before the horizon with probability share * (horizon - t) / 30 d
    late = table[(table["outcome"] == "done") & (table["end"] >= READMIT_HORIZON - WINDOW)]
    p = READMIT * np.clip((READMIT_HORIZON - late["end"].to_numpy()) / WINDOW, 0, 1)
    hits = late.index.isin(set(table["of"])).sum()
    assert abs(hits - p.sum()) <= Z * math.sqrt((p * (1 - p)).sum()), (hits, p.sum())


def test_readmission_is_a_new_case_with_the_same_attributes(readmissions):
    log, table = readmissions
    assert tuple(log.columns[5:]) == (READMISSION_OF, "case:acuity", "case:sex", "case:token")
    per_case = log.groupby(log["case:concept:name"].astype(int)).first()
    back = table.index[table["of"] >= 0]
    assert len(back) > 1000
    assert per_case.loc[table["of"] < 0, "case:token"].is_unique
    for column in ("case:acuity", "case:sex", "case:token"):
        now, before = per_case.loc[back, column], per_case.loc[table.loc[back, "of"], column]
        assert (now.to_numpy() == before.to_numpy()).all(), column
    # returns walk the pathway afresh: they can be readmitted, leave or die again
    again = table.loc[back]
    assert again.index.isin(set(table["of"])).any()
    assert {"done", "left", "died"} == set(again["outcome"])


def test_no_readmission_when_readmission_30d_is_zero(engine):
    log = run(readmission_pathway(0.0), 16, engine=engine, rate=3.0, horizon=20 * DAY)
    assert len(log) > 1000
    assert log[READMISSION_OF].isna().all()


# -- attributes drive outcomes (scenarios.patients.effects) -----------------------------------

BY_ACUITY = [1, 2, 3, 4, 5]
ADMIT_ODDS = [4.0, 2.0, 1.0, 0.5, 0.25]
STAY_SCALE = [3.0, 2.0, 1.0, 0.5, 0.25]
DEATH_SCALE = [4.0, 2.0, 1.0, 0.5, 0.0]
READMIT_ODDS = [3.0, 2.0, 1.0, 0.5, 0.25]
EFFECTS_HORIZON = 90 * DAY
DEATH_PER_DAY, BASE_ADMIT, BASE_READMIT, WARD_ODDS, MEAN_DAYS = 0.4, 0.25, 0.1, 2.0, 5.0


def effects_pathway() -> dict:
    """Assessment (1 h), then a ward stay (1 day x the acuity's scale) with probability 0.25
    at odds scaled by acuity, else home; deaths and returns by acuity (and outcome); no
    queues (500 units)."""
    tables = {"admit": ADMIT_ODDS, "stay": STAY_SCALE, "death": DEATH_SCALE,
              "readmit": READMIT_ODDS}  # fmt: skip
    return {
        "pathway": {"name": "effects", "start": "assess", "attributes": ["acuity"],
                    "terminal": ["home", "ward_home", "died"]},
        "resources": {"desk": {"capacity": 500}, "bed": {"capacity": 500}},
        "activities": {
            "assess": {"resource": "desk", "service": {"distribution": "fixed", "value": 60}},
            "ward": {"resource": "bed", "service_scale": "stay",
                     "service": {"distribution": "fixed", "value": 1440}},
        },
        "transitions": [
            {"source": "assess", "target": "ward", "probability": BASE_ADMIT, "odds_by": "admit"},
            {"source": "assess", "target": "home", "probability": 1 - BASE_ADMIT},
            {"source": "ward", "target": "ward_home", "probability": 1.0},
        ],
        "adverse_events": {
            "death_per_day": DEATH_PER_DAY, "death_outcome": "died", "death_scale": "death",
            "readmission_30d": BASE_READMIT, "readmission_odds": "readmit",
            "readmission_odds_by_outcome": {"ward_home": WARD_ODDS},
            "readmission_mean_days": MEAN_DAYS,
        },
        "tables": {name: {"acuity": BY_ACUITY, "values": values}
                   for name, values in tables.items()},
    }  # fmt: skip


def odds(p: float, ratio: float) -> float:
    return p * ratio / (1 - p + p * ratio)


@pytest.fixture(scope="module")
def effects(engine):
    """The effects pathway over 90 days, 8 arrivals an hour, returns at the NHS hours."""
    from scenarios.patients.arrivals import default_arrival_profile

    hours = default_arrival_profile().hour_shares
    log = run(effects_pathway(), 21, engine=engine, rate=8.0, horizon=EFFECTS_HORIZON,
              attributes=Sampler(), return_hours=hours)  # fmt: skip
    table = cases(log, ("home", "ward_home", "died"))
    table["acuity"] = log.groupby(log["case:concept:name"].astype(int))["case:acuity"].first()
    return log, table, hours


def test_outcome_shares_follow_the_acuity_tables(effects):
    """Per acuity, home / ward / died as the odds ratio on admission and the death-hazard
    and stay multipliers give them (chi-square, one test per acuity)."""
    _, table, _ = effects
    first = table[table["of"] < 0]
    for a, r, stay, death in zip(BY_ACUITY, ADMIT_ODDS, STAY_SCALE, DEATH_SCALE, strict=True):
        h = DEATH_PER_DAY * death  # per day
        q = odds(BASE_ADMIT, r)
        alive_assess = math.exp(-h / 24)
        p = {"home": alive_assess * (1 - q), "ward_home": alive_assess * q * math.exp(-h * stay)}
        p["died"] = 1 - p["home"] - p["ward_home"]
        got = first.loc[first["acuity"] == a, "outcome"].value_counts()
        states = [s for s in ("home", "ward_home", "died") if p[s] > 0]
        observed = np.array([got.get(s, 0) for s in states])
        expected = observed.sum() * np.array([p[s] for s in states])
        assert observed.sum() > 2000
        assert stats.chisquare(observed, expected).pvalue > ALPHA / 5, (a, observed, expected)
        if death == 0:
            assert got.get("died", 0) == 0


def test_ward_stay_is_scaled_by_acuity(effects):
    log, table, _ = effects
    rows = log[log["concept:name"] == "ward"]
    at = pd.DataFrame({"case": rows["case:concept:name"].astype(int).to_numpy(),
                       "life": rows["lifecycle:transition"].astype(str).to_numpy(),
                       "t": minutes(rows)}).pivot(index="case", columns="life", values="t")
    done = at.dropna(subset=["complete"])  # stays cut short by a death have no complete row
    stay = (done["complete"] - done["start"]).to_numpy()
    expected = 1440 * np.array(STAY_SCALE)[table["acuity"].loc[done.index].to_numpy() - 1]
    assert len(done) > 1000
    np.testing.assert_allclose(stay, expected, atol=SECOND)


def test_readmission_odds_by_acuity_and_outcome(effects):
    _, table, _ = effects
    readmitted = set(table.loc[table["of"] >= 0, "of"])
    early = table[table["outcome"].isin(["home", "ward_home"])
                  & (table["end"] < EFFECTS_HORIZON - WINDOW)]  # fmt: skip
    for (a, outcome), group in early.groupby(["acuity", "outcome"]):
        ratio = READMIT_ODDS[a - 1] * (WARD_ODDS if outcome == "ward_home" else 1.0)
        hits = int(group.index.isin(readmitted).sum())
        assert binomial_ok(hits, len(group), odds(BASE_READMIT, ratio)), (a, outcome, hits)


def test_returns_follow_the_delay_and_the_arrival_hours(effects):
    """Returns come within 30 days, at the profile's hours (chi-square), after delays drawn
    as :func:`~scenarios.patients.effects.return_time` draws them for the same discharges
    (two-sample Kolmogorov-Smirnov), most within the first week."""
    from scenarios.patients.effects import return_time

    _, table, hours = effects
    back = table[table["of"] >= 0]
    ends = table.loc[back["of"], "end"].to_numpy()
    delay = back["arrival"].to_numpy() - ends
    assert len(back) > 1000
    assert (delay > 0).all() and (delay < WINDOW + SECOND).all()
    hour = ((back["arrival"].to_numpy() % DAY) // 60).astype(int)
    counts = np.bincount(hour, minlength=24)
    assert stats.chisquare(counts, counts.sum() * hours).pvalue > ALPHA, counts
    rng = np.random.default_rng(5)
    cum = np.cumsum(hours)
    model = [return_time(t, 0.0, MEAN_DAYS, cum, np.zeros(0), *rng.random(3)) - t
             for t in np.repeat(ends, 5)]  # fmt: skip
    assert stats.ks_2samp(delay, model).pvalue > ALPHA
    assert (delay < 7 * DAY).mean() > 0.6


def test_engines_agree_on_the_default_ed_by_age_and_acuity():
    """Kernel and reference on the default ED (60 days): outcome by age band and by acuity
    are the same distribution (chi-square contingency per band). Patients who left without
    being seen are left out: leaving comes in busy spells, so those counts are overdispersed
    between runs (compared per run in test_patients_kernel)."""
    from scenarios.patients.engine import sample_attributes
    from scenarios.patients.reference import AttributeSampler

    pathway = load_pathway(DEFAULT_PATHWAY)
    per_engine = {}
    for engine, seed in (("kernel", 31), ("reference", 32)):
        log = run(pathway, seed, engine=engine, rate=150 / 24, horizon=60 * DAY)
        seen = [t for t in pathway.terminal if t != pathway.patience.outcome]
        terminal = log[log["concept:name"].isin(seen)]
        per_engine[engine] = pd.DataFrame({
            "outcome": terminal["concept:name"].astype(str).to_numpy(),
            "age": pd.cut(terminal["case:age"], [0, 18, 65, 80, 200], right=False).astype(str)
                     .to_numpy(),
            "acuity": terminal["case:acuity"].to_numpy(),
        })  # fmt: skip
    assert AttributeSampler().acuity_shares is None and callable(sample_attributes)
    both = pd.concat(per_engine, names=["engine"]).reset_index(level=0)
    admitted = both["outcome"] == "discharged_from_ward"
    for column in ("age", "acuity"):
        table = pd.crosstab([both[column], both["engine"]], both["outcome"])
        for value, sub in table.groupby(level=0):
            sub = sub.loc[:, sub.sum() > 0]
            if sub.shape[1] > 1 and sub.to_numpy().sum() > 200:
                pvalue = stats.chi2_contingency(sub.to_numpy()).pvalue
                assert pvalue > ALPHA / 10, (column, value, sub)
    # and the effects are there: admission rises with age band
    share = admitted.groupby(both["age"]).mean()
    assert share["[0, 18)"] < share["[18, 65)"] < share["[65, 80)"], share


# -- the resources table ----------------------------------------------------------------------


def test_resource_table_counts_units_serving_past_their_shift(engine):
    """Utilisation over on-duty unit-minutes where a unit still serving after its shift ended
    counts as on duty while it serves (so at most 1), and occupancy over all units, both
    against a minute-by-minute count from the log's own service intervals."""
    raw = single_queue(2, {"distribution": "fixed", "value": 300})
    raw["resources"]["server"]["shifts"] = [[0, 8, 0], [8, 20, 2], [20, 24, 1]]
    horizon = 3 * DAY
    log = run(raw, 23, engine=engine, rate=0.4, horizon=horizon)
    pathway = load_pathway(raw)
    table = resource_table(log, pathway, pd.Timestamp(START), horizon).iloc[0]
    at = minutes(log)
    serve = log.assign(minute=at)[log["concept:name"] == "serve"]
    begin = serve.loc[serve["lifecycle:transition"] == "start", "minute"].to_numpy()
    end = serve.loc[serve["lifecycle:transition"] == "complete", "minute"].to_numpy()
    grid = np.arange(horizon) + 0.5
    busy = ((grid[:, None] >= begin) & (grid[:, None] < end)).sum(axis=1)
    duty = np.array([pathway.resources["server"].capacity_at(int(m // 60) % 24) for m in grid])
    assert (busy > duty).sum() > 60  # services run past the end of shifts
    assert table["utilisation"] == pytest.approx(busy.sum() / np.maximum(busy, duty).sum(),
                                                 rel=1e-3)  # fmt: skip
    assert table["occupancy"] == pytest.approx(busy.sum() / (2 * horizon), rel=1e-3)
