"""Attribute effects (:mod:`scenarios.patients.effects`): tables keyed by attribute bands,
their validation in a pathway file, odds ratios and return times; and the effects in the
default ED's own output. The engines' behaviour is in test_patients_engines."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from patients_support import ALPHA, Z
from scipy import stats
from test_pathway import BASE, error_of, write

from scenarios.patients.arrivals import default_arrival_profile
from scenarios.patients.effects import BandTable, return_time, with_odds
from scenarios.patients.pathway import load_pathway
from simulations.datasets import read_table
from simulations.runner import run as run_scenario
from simulations.scenario import get_scenario

TABLE = """
[tables.t]
age = [0, 18, 65]
acuity = [1, 3]
values = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
"""


def test_band_lookup_uses_lower_edges(tmp_path):
    table = load_pathway(write(tmp_path, BASE + TABLE)).tables["t"]
    assert isinstance(table, BandTable) and table.keys == ("age", "acuity")
    got = table.lookup({"age": np.array([-1, 0, 17, 18, 64, 65, 99]),
                        "acuity": np.array([1, 2, 3, 5, 1, 2, 4])})  # fmt: skip
    np.testing.assert_array_equal(got, [1, 1, 2, 4, 3, 5, 6])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[tables.t]\nweight = [0]\nvalues = [1.0]\n',
         "[tables] t: key 'weight' is not a declared attribute; declared: age, acuity"),
        ('[tables.t]\nage = [0, 65, 18]\nvalues = [1.0, 2.0, 3.0]\n',
         "[tables] t: age must be a non-empty list of strictly increasing band edges, "
         "got [0, 65, 18]"),
        ('[tables.t]\nage = [0, 65]\nvalues = [1.0]\n',
         "[tables] t: values must be a list of numbers of shape (2,) (bands of age), got [1.0]"),
        ('[tables.t]\nage = [0, 65]\nvalues = [1.0, -2.0]\n',
         "[tables] t: values must be finite numbers >= 0, got [1.0, -2.0]"),
        ('[tables.t]\nvalues = [1.0]\n',
         "[tables] t: needs one or two attribute keys besides 'values', got []"),
        ('[tables.t]\nage = [0]\nacuity = [1]\nsex = [0]\nvalues = [1.0]\n',
         "[tables] t: needs one or two attribute keys besides 'values', got "
         "['age', 'acuity', 'sex']"),
        ('[activities.extra]\nservice = { distribution = "fixed", value = 1 }\n'
         'service_scale = "nope"\n',
         "[activities] extra: service_scale must name a [tables] table; tables: (none); "
         "got 'nope'"),
        ('[adverse_events]\ndeath_scale = "nope"\n',
         "[adverse_events] death_scale: death_scale must name a [tables] table"),
        ('[patience]\ndistribution = "fixed"\nvalue = 60\noutcome = "home"\nscale = "nope"\n',
         "[patience] scale: scale must name a [tables] table; tables: (none); got 'nope'"),
        ('[adverse_events]\nreadmission_odds_by_outcome = { gone = 2.0 }\n',
         "[adverse_events] readmission_odds_by_outcome: 'gone' is not a terminal state"),
        ('[adverse_events]\nreadmission_odds_by_outcome = { home = -1 }\n',
         "the odds ratio of 'home' must be a finite number >= 0, got -1"),
        ('[adverse_events]\nreadmission_mean_days = 45\n',
         "[adverse_events] readmission_mean_days: must be a number in [0.0, 30.0], got 45"),
    ],
)
def test_bad_tables_name_file_section_and_item(tmp_path, extra, message):
    assert message in error_of(tmp_path, BASE + extra)


def test_odds_by_is_checked_on_its_transition(tmp_path):
    odds = BASE.replace('target = "home"\nprobability = 1.0\n\n[[transitions]]\nsource = "treat"',
                        'target = "home"\nprobability = 1.0\nodds_by = "nope"\n\n[[transitions]]'
                        '\nsource = "treat"')  # fmt: skip
    assert "[transitions] #2 (triage -> home): odds_by must name a [tables] table" in error_of(
        tmp_path, odds)
    on_condition = BASE.replace('condition = "acuity <= 2"', 'condition = "acuity <= 2"\n'
                                'odds_by = "t"') + TABLE  # fmt: skip
    assert "odds_by needs a probability to act on" in error_of(tmp_path, on_condition)
    two = BASE + TABLE + ('[[transitions]]\nsource = "treat"\ntarget = "lwbs"\n'
                          'probability = 0.0\nodds_by = "t"\n')  # fmt: skip
    two = two.replace('source = "treat"\ntarget = "home"\nprobability = 1.0',
                      'source = "treat"\ntarget = "home"\nprobability = 1.0\nodds_by = "t"')
    assert "at most one per source" in error_of(tmp_path, two)


def test_with_odds():
    assert with_odds(0.25, 1.0) == pytest.approx(0.25)
    assert with_odds(0.25, 3.0) == pytest.approx(0.5)  # odds 1/3 -> 1
    assert with_odds(0.25, 0.0) == 0.0 and with_odds(1.0, 0.0) == 1.0
    assert with_odds(0.0, 100.0) == 0.0


def test_return_time_from_midnight_has_truncated_exponential_days_and_profile_hours():
    """Discharged at midnight, a return's whole days are those of the exponential delay of
    mean ``m`` truncated to 30 days, and its hour is the profile's (chi-square each)."""
    rng = np.random.default_rng(1)
    hours = default_arrival_profile().hour_shares
    cum, m, n = np.cumsum(hours), 7.0, 40_000
    t = 1440.0 * rng.integers(0, 100, n)
    none = np.zeros(0)
    back = np.array([return_time(x, 0.0, m, cum, none, *rng.random(3)) for x in t])
    delay = back - t
    assert (delay > 0).all() and (delay < 30 * 1440).all()
    days = np.bincount((delay // 1440).astype(int), minlength=30)
    k = np.arange(31)
    mass = np.diff(-np.exp(-k / m)) / (1 - math.exp(-30 / m))
    assert stats.chisquare(days, n * mass).pvalue > ALPHA
    counts = np.bincount(((back % 1440) // 60).astype(int), minlength=24)
    assert stats.chisquare(counts, n * hours).pvalue > ALPHA
    # later in the day, a return is still after the discharge and within 30 days
    for start in (0.0, 600.0, 1439.0):
        t = rng.uniform(0, 1440 * 50, 5000)
        back = np.array([return_time(x, start, m, cum, none, *rng.random(3)) for x in t])
        assert ((back > t) & (back < t + 30 * 1440)).all()
    # without a mean, the delay is uniform on [0, 30) days, as before
    assert return_time(100.0, 0.0, 0.0, cum, none, 0.5, 0.9, 0.9) == 100.0 + 15 * 1440


def test_returns_keep_to_local_hours_across_summer_time():
    """With the clock's day offsets, a return's wall-clock hour follows the profile in
    winter and in summer alike (London, from January across the change of 30 March 2025)."""
    from scenarios.patients.arrivals import LocalClock
    from scenarios.patients.effects import day_offsets

    clock = LocalClock.of("2025-01-06", "Europe/London", 200 * 1440.0)
    offsets = day_offsets(clock.local_minutes, 232)
    assert offsets[0] == 0 and offsets[-1] == 60
    rng = np.random.default_rng(2)
    hours = default_arrival_profile().hour_shares
    cum, n = np.cumsum(hours), 30_000
    t = rng.uniform(0, 1440 * 170, n)
    back = np.array([return_time(x, 0.0, 7.0, cum, offsets, *rng.random(3)) for x in t])
    assert ((back > t) & (back < t + 30 * 1440)).all()
    local = clock.local_minutes(back)
    summer = local > 1440 * 90
    for part in (summer, ~summer):
        counts = np.bincount(((local[part] % 1440) // 60).astype(int), minlength=24)
        assert stats.chisquare(counts, counts.sum() * hours).pvalue > ALPHA


@pytest.fixture(scope="module")
def default_patients(tmp_path_factory):
    """The default ED's patients table, 120 days (one hospital; 150 arrivals a day)."""
    path = tmp_path_factory.mktemp("ed") / "run"
    scenario = get_scenario("patients")
    config = scenario.resolve_config(overrides=["run.days=120", "population.catchment=20000"])
    run_scenario(scenario, config, path, progress=False)
    patients = read_table(path, "patients")
    patients["band"] = pd.cut(patients["age"], [0, 18, 65, 80, 200], right=False,
                              labels=["0-17", "18-64", "65-79", "80+"])  # fmt: skip
    return patients


def _higher(a: pd.Series, b: pd.Series) -> bool:
    """Whether the share of True in ``b`` exceeds that in ``a`` by more than Z standard
    errors (a one-sided two-proportion test)."""
    pa, pb = a.mean(), b.mean()
    pooled = (a.sum() + b.sum()) / (len(a) + len(b))
    se = math.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
    return pb - pa > Z * se


def test_default_ed_outcomes_depend_on_age_and_acuity(default_patients):
    """On the scenario's own output: admission, death, readmission and the ward stay rise
    with age band and urgency, beyond sampling error."""
    p = default_patients
    admitted = p["outcome"] == "discharged_from_ward"
    died = p["outcome"] == "died"
    by = {band: p["band"] == band for band in ("0-17", "18-64", "65-79", "80+")}
    assert _higher(admitted[by["0-17"]], admitted[by["18-64"]])
    assert _higher(admitted[by["18-64"]], admitted[by["65-79"]])
    assert _higher(died[by["18-64"]], died[by["65-79"] | by["80+"]])
    assert _higher(admitted[p["acuity"] >= 3], admitted[p["acuity"] <= 2])
    assert _higher(admitted[p["acuity"] >= 4], admitted[p["acuity"] == 3])
    known = p["readmitted_within_30d"].notna()
    back = p["readmitted_within_30d"].astype("boolean").fillna(False)
    assert _higher(back[known & by["0-17"]], back[known & (by["65-79"] | by["80+"])])
    ward = p[admitted]
    stay = ward.groupby("band", observed=True)["length_of_stay_minutes"].median()
    assert stay["18-64"] < stay["65-79"] < stay["80+"], stay
    # acuity by age: the urgent levels are commoner among the old
    urgent = p["acuity"] <= 2
    assert _higher(urgent[by["18-64"]], urgent[by["65-79"] | by["80+"]])
