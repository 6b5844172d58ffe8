"""Pathways as data: the default ED pathway, validation errors, service times, arrivals."""

from __future__ import annotations

import re

import numpy as np
import pytest

from scenarios.patients.arrivals import (
    DEFAULT_PROFILE,
    ArrivalProfile,
    default_arrival_profile,
    load_arrival_profile,
)
from scenarios.patients.pathway import DEFAULT_PATHWAY, load_pathway
from scenarios.patients.service import ServiceTime
from simulations.errors import ConfigError

BASE = """
[pathway]
name = "mini"
start = "triage"
terminal = ["home", "lwbs"]
attributes = ["age", "acuity"]

[resources.nurse]
capacity = 2
shifts = [[0, 8, 1], [8, 24, 2]]

[activities.triage]
resource = "nurse"
priority_by = "acuity"
service = { distribution = "exponential", mean = 5 }

[activities.treat]
resource = "nurse"
service = { distribution = "fixed", value = 10 }

[[transitions]]
source = "triage"
target = "treat"
condition = "acuity <= 2"

[[transitions]]
source = "triage"
target = "home"
probability = 1.0

[[transitions]]
source = "treat"
target = "home"
probability = 1.0
"""


def write(tmp_path, text):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_pathway(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_default_pathway_loads():
    p = load_pathway(DEFAULT_PATHWAY)
    assert p.start == "arrival"
    assert {"resus", "majors_assessment", "minors_assessment", "ward_stay"} <= set(p.activities)
    assert p.patience.outcome == "left_without_being_seen"
    assert p.adverse_events.death_outcome == "died"
    conditions = [t.condition for t in p.transitions if t.condition]
    assert "acuity <= 1" in conditions
    assert p.resources["triage_nurse"].capacity_at(3) == 1
    assert p.resources["triage_nurse"].capacity_at(13) == 3
    assert p.resources["ward_bed"].capacity_at(13) == 140
    assert p.resources["ward_bed"].capacity_at(3) == 0  # beds are filled from 11:00 to 22:00


def test_minimal_pathway_and_dict_input(tmp_path):
    p = load_pathway(write(tmp_path, BASE))
    assert [t.target for t in p.outgoing("triage")] == ["treat", "home"]
    assert p.activities["triage"].priority_by == "acuity"
    assert p.attributes == ("age", "acuity")
    with pytest.raises(ConfigError, match=r"<dict>, \[pathway\]"):
        load_pathway({"pathway": {"name": ""}})


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'target = "treat"',
            'target = "treatment"',
            r"\[transitions\] #1 \(triage -> treatment\): unknown target 'treatment'",
        ),
        ('source = "treat"', 'source = "xray"', r"\[transitions\] #3 .*unknown source .*'xray'"),
        (
            'resource = "nurse"\nservice = { distribution = "fixed"',
            'resource = "doctor"\nservice = { distribution = "fixed"',
            r"\[activities\] treat: unknown resource 'doctor'; known resources: nurse",
        ),
        (
            'probability = 1.0\n\n[[transitions]]\nsource = "treat"',
            'probability = 0.9\n\n[[transitions]]\nsource = "treat"',
            r"\[transitions\] triage: probabilities out of 'triage' sum to 0\.9, not 1",
        ),
        ("capacity = 2", "capacity = 0", r"\[resources\] nurse: capacity must be an integer >= 1"),
        (
            "[[0, 8, 1], [8, 24, 2]]",
            "[[0, 8, -1], [8, 24, 2]]",
            r"\[resources\] nurse: shift \[0, 8, -1\] capacity must be in \[0, 2\]",
        ),
        (
            "[[0, 8, 1], [8, 24, 2]]",
            "[[0, 9, 1], [8, 24, 2]]",
            r"\[resources\] nurse: shifts overlap at hour 8",
        ),
        (
            "[[0, 8, 1], [8, 24, 2]]",
            "[[0, 8, 1], [9, 24, 2]]",
            r"\[resources\] nurse: shifts leave hours uncovered at hour 8",
        ),
        (
            "[[0, 8, 1], [8, 24, 2]]",
            "[[0, 8, 1], [8, 20, 2]]",
            r"\[resources\] nurse: shifts leave hours 20-24 uncovered",
        ),
        (
            'distribution = "exponential"',
            'distribution = "weibull"',
            r"\[activities\] triage: unknown distribution 'weibull'; valid: exponential, lognormal",
        ),
        ("mean = 5", "mean = -5", r"\[activities\] triage: bad exponential .*'mean' must be > 0"),
        (
            '{ distribution = "exponential", mean = 5 }',
            '{ distribution = "lognormal", median = 5, sigma = 0 }',
            r"\[activities\] triage: bad lognormal .*'sigma' must be > 0",
        ),
        (
            '{ distribution = "exponential", mean = 5 }',
            '{ distribution = "triangular", low = 9, mode = 5, high = 3 }',
            r"\[activities\] triage: bad triangular .*low=9\.0, mode=5\.0, high=3\.0",
        ),
        (
            '{ distribution = "exponential", mean = 5 }',
            '{ distribution = "gamma", mean = 5, sd = 2 }',
            r"\[activities\] triage: unknown key 'sd' for gamma; valid keys: distribution, mean, "
            r"cv",
        ),
        (
            "capacity = 2",
            "capacity = 2\ncolour = 'red'",
            r"\[resources\] nurse: unknown key 'colour'; valid keys: capacity, shifts",
        ),
        (
            'priority_by = "acuity"',
            'priority = "acuity"',
            r"\[activities\] triage: unknown key 'priority'; valid keys: resource, service",
        ),
        (
            'name = "mini"',
            'name = "mini"\nversion = 2',
            r"\[pathway\]: unknown key 'version'; valid keys: name, start, terminal, attributes",
        ),
        (
            'condition = "acuity <= 2"',
            'condition = "  "',
            r"\[transitions\] #1 .*condition must be a non-empty expression string",
        ),
        (
            'condition = "acuity <= 2"',
            'condition = "acuity <= 2"\nprobability = 0.5',
            r"\[transitions\] #1 .*exactly one of probability or condition",
        ),
        (
            'priority_by = "acuity"',
            'priority_by = "triage_level"',
            r"\[activities\] triage: priority_by 'triage_level' is not a declared attribute",
        ),
        (
            'start = "triage"',
            'start = "reception"',
            r"\[pathway\] start: unknown activity 'reception'",
        ),
    ],
)
def test_invalid_pathways_name_file_section_and_item(tmp_path, old, new, expected):
    assert old in BASE
    message = error_of(tmp_path, BASE.replace(old, new, 1))
    assert message.startswith("Pathway file '")
    assert re.search(expected, message), message


def test_unknown_top_level_section(tmp_path):
    message = error_of(tmp_path, BASE + "\n[wards]\nbeds = 3\n")
    assert "unknown key 'wards'; valid keys: pathway, resources, activities" in message


def test_unreachable_activity(tmp_path):
    extra = """
[activities.xray]
service = { distribution = "fixed", value = 1 }

[[transitions]]
source = "xray"
target = "home"
probability = 1.0
"""
    assert "[activities] xray: is unreachable from start 'triage'" in error_of(
        tmp_path, BASE + extra
    )


def test_activity_with_no_way_to_a_terminal_state(tmp_path):
    text = BASE.replace('source = "treat"\ntarget = "home"', 'source = "treat"\ntarget = "treat"')
    assert "[activities] treat: has no way to a terminal state" in error_of(tmp_path, text)


def test_activity_without_transitions_has_no_way_out(tmp_path):
    text = BASE.split('[[transitions]]\nsource = "treat"')[0]
    assert "[transitions] treat: probabilities out of 'treat' sum to 0" in error_of(tmp_path, text)


def test_patience_and_adverse_events_are_checked(tmp_path):
    patience = '\n[patience]\ndistribution = "exponential"\nmean = 120\napplies_to = ["triage"]\n'
    ok = load_pathway(write(tmp_path, BASE + patience + 'outcome = "lwbs"\n'))
    assert ok.patience.time.mean == 120.0
    assert "[patience] outcome: 'gone' is not a terminal state" in error_of(
        tmp_path, BASE + patience + 'outcome = "gone"\n'
    )
    adverse = "\n[adverse_events]\nreadmission_30d = 1.5\n"
    assert "[adverse_events] readmission_30d: must be a number in [0.0, 1.0]" in error_of(
        tmp_path, BASE + adverse
    )
    adverse = "\n[adverse_events]\ndeath_per_day = 0.01\n"
    assert "[adverse_events] death_outcome: needed when death_per_day > 0" in error_of(
        tmp_path, BASE + adverse
    )


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_pathway(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_pathway(write(tmp_path, "[pathway\n"))


@pytest.mark.parametrize(
    ("service", "mean"),
    [
        (ServiceTime("exponential", {"mean": 10.0}), 10.0),
        (ServiceTime("lognormal", {"median": 10.0, "sigma": 0.5}), 10.0 * np.exp(0.125)),
        (ServiceTime("gamma", {"mean": 10.0, "cv": 0.5}), 10.0),
        (ServiceTime("triangular", {"low": 2.0, "mode": 4.0, "high": 12.0}), 6.0),
        (ServiceTime("fixed", {"value": 7.0}), 7.0),
    ],
)
def test_service_time_samples_match_their_mean(service, mean):
    assert service.mean == pytest.approx(mean)
    draws = service.sample(np.random.default_rng(7), 200_000)
    assert draws.shape == (200_000,)
    assert (draws >= 0).all()
    assert draws.mean() == pytest.approx(mean, rel=0.02)
    again = service.sample(np.random.default_rng(7), 200_000)
    np.testing.assert_array_equal(draws, again)


def profile_csv(tmp_path, hours=None, days=None, source="# Example source, table 1"):
    hours = list(range(1, 25)) if hours is None else hours
    days = [1, 1, 1, 1, 1, 1, 1] if days is None else days
    lines = [source, "axis,label,count"]
    lines += [f"hour,{h},{c}" for h, c in enumerate(hours)]
    lines += [
        f"weekday,{d},{c}"
        for d, c in zip(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), days, strict=False)
    ]
    path = tmp_path / "profile.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_arrival_profile_loader_normalises(tmp_path):
    profile = load_arrival_profile(profile_csv(tmp_path, days=[16, 14, 14, 14, 14, 14, 14]))
    assert isinstance(profile, ArrivalProfile)
    assert profile.source == "Example source, table 1"
    assert profile.hour_shares.sum() == pytest.approx(1.0)
    assert profile.weekday_shares[0] == pytest.approx(0.16)
    rates = profile.rates_per_hour(240.0)
    assert rates.shape == (7, 24)
    assert rates.sum() == pytest.approx(240.0 * 7)
    assert rates[0].sum() == pytest.approx(240.0 * 7 * 0.16)


def test_arrival_profile_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"missing hour labels 23"):
        load_arrival_profile(profile_csv(tmp_path, hours=list(range(23))))
    with pytest.raises(ConfigError, match=r"missing weekday labels Sun"):
        load_arrival_profile(profile_csv(tmp_path, days=[1] * 6))
    with pytest.raises(ConfigError, match=r"data row 1 \(hour,0\): count must be finite and >= 0"):
        load_arrival_profile(profile_csv(tmp_path, hours=[-1] + [1] * 23))
    with pytest.raises(ConfigError, match="does not exist"):
        load_arrival_profile(tmp_path / "none.csv")


def test_default_arrival_profile_is_not_invented():
    if DEFAULT_PROFILE.exists():
        profile = default_arrival_profile()
        assert profile.source, "a shipped profile must cite its source"
    else:
        with pytest.raises(ConfigError, match="No published emergency-department arrival"):
            default_arrival_profile()
