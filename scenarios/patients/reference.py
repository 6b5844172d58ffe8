"""SimPy reference model of a patient pathway: one process per patient, one event per row.

The model reads a :class:`~scenarios.patients.pathway.Pathway` and simulates it as a queueing
network, in minutes:

* **Arrivals** form a Poisson process in ``[0, horizon_minutes)``: constant rate, or a rate
  that varies with time (a callable of the minute) sampled by thinning against ``peak_per_hour``.
  Each patient gets attributes from ``attributes(rng)`` (default :class:`AttributeSampler`, an
  assumption of this model, not data); every key it returns becomes a ``case:<key>`` column.
  Cases are numbered in order of arrival (readmissions included).
* **Activities** request one unit of their resource (a :class:`simpy.PriorityResource`; the
  activity's ``priority_by`` attribute orders the queue, lower first, else first come first
  served), hold it for a draw of the activity's service time, release it, and move on by the
  pathway's transitions: conditions in file order (:func:`rules.expressions.parse`, evaluated
  on the patient's attributes), else one draw among the probabilistic ones.
* **Blocking** (``hold_until``): after such an activity's service the case keeps its
  request (and unit) and releases it when it starts one of the ``hold_until`` activities
  (its request there is granted), or when it reaches a terminal state (also leaving or
  dying while waiting).
* **Resource instances** are real: each resource keeps a sorted free-list of unit numbers; a
  patient takes the lowest free unit and ``org:resource`` names it (``triage_nurse-2``).
* **Shifts**: when a resource has shifts, a controller holds ``capacity - on duty`` units with
  "off duty" requests that go ahead of every patient (they take the highest free unit numbers).
  Staff going off duty finish the patient in hand first (no pre-emption), so capacity falls
  as soon as units free up. Hours of the day are those of ``start`` + minutes.
* **Clocks at arrival**: each case draws, in this order, its patience (if the pathway has
  ``[patience]``), its time to death (exponential, mean ``1440 / death_per_day`` minutes, if
  that is > 0) and its time to deterioration (likewise with ``deterioration_per_day``).
* **Patience**: a wait for an activity in ``patience.applies_to`` longer than the patience
  ends the case with the patience outcome (left without being seen), without a ``start``
  event.
* **Deterioration** (at most once per case, if the case has not yet ended): a
  :data:`~scenarios.patients.pathway.DETERIORATION` row is logged; the death clock is
  replaced by a fresh exponential draw with mean ``1440 / death_per_day_after_deterioration``
  minutes (never, if that rate is 0); and from then on the case queues ahead of every patient
  (priority ``-1e300``; off-duty requests still go first). A waiting case is re-queued at
  once with that priority (a new request, so deteriorated patients are first come first
  served among themselves from the moment they deteriorated); its patience clock runs on.
  Routing is unchanged.
* **Attribute effects** (:mod:`scenarios.patients.effects`): each case's values of the
  pathway's ``[tables]`` are looked up from its attributes when it arrives; they scale the
  odds of an ``odds_by`` transition (the other branches share the rest in proportion), an
  activity's service time (``service_scale``) and both death hazards (``death_scale``).
* **Death** at the current death clock: a patient still waiting or in service then ends with
  ``death_outcome`` (the interrupted activity gets no ``complete`` event; a unit in use is
  released).
* **Readmission**: a case ending in any terminal state other than ``death_outcome`` and the
  patience outcome returns with probability ``readmission_30d`` (its odds scaled by the
  case's ``readmission_odds`` table value and ``readmission_odds_by_outcome``), after a delay
  uniform on ``[0, READMISSION_DAYS)`` days, or with ``readmission_mean_days`` an exponential
  delay truncated at 30 days at an hour of ``return_hours``
  (:func:`scenarios.patients.effects.return_time`), as a new case with a copy of its attributes and
  ``case:readmission_of`` naming the earlier case; it then walks the pathway like any arrival
  (fresh clocks, and it may be readmitted again). Returns at or after ``horizon_minutes`` are
  not simulated (censored).

Arrivals stop at the horizon, and the simulation runs on until every case (pending
readmissions included) has reached a terminal state, so each case has exactly one terminal
event. Every random draw comes from the ``rng`` passed in, in simulation order; SimPy breaks
ties by insertion order, so the same seed gives the same event log. The row format is in
:mod:`scenarios.patients.eventlog` (times rounded to whole seconds).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import simpy

from rules.expressions import parse
from scenarios.patients.effects import local_hour, return_time, with_odds
from scenarios.patients.eventlog import LIFECYCLE, log_frame, vocabulary
from scenarios.patients.pathway import (
    DETERIORATION,
    Activity,
    Pathway,
    mean_minutes,
)
from simulations.errors import ConfigError

__all__ = ["ACUITY_BY_AGE", "ACUITY_SHARES", "AttributeSampler", "acuity_for_age", "simulate"]

#: Assumed shares of acuity 1..5 among arrivals (illustrative, not fitted to data).
ACUITY_SHARES = (0.02, 0.18, 0.45, 0.25, 0.10)

#: Shares of acuity 1..5 by age band (lower edges in years: 0-17, 18-64, 65-79, 80+).
#: ASSUMPTION, not fitted: older patients arrive sicker, as ED studies report (patients aged
#: 65+ are more often brought by ambulance and admitted: Downing & Wilson, "Older people's
#: use of Accident and Emergency services", Age and Ageing 34(1), 2005; 47% of A&E
#: attendances aged 65+ admitted in HES 2015, per Gilbert & Conroy, Br J Hosp Med 78(10),
#: 2017). The immediate (resuscitation) level is about 0.9% of attendances over the default
#: catchment, as in ECDS 2024-25 (213,334 "1 - Immediate resuscitation" of 25,822,265
#: unplanned attendances of every A&E type, 0.83%: NHS England, Hospital Accident and
#: Emergency Activity 2024-25, provider-level file, national row); the other levels averaged
#: over that mix are close to :data:`ACUITY_SHARES`.
ACUITY_BY_AGE = (
    (0, (0.003, 0.08, 0.35, 0.40, 0.167)),
    (18, (0.006, 0.15, 0.45, 0.28, 0.114)),
    (65, (0.015, 0.28, 0.51, 0.15, 0.045)),
    (80, (0.025, 0.35, 0.505, 0.10, 0.02)),
)


def acuity_for_age(age: np.ndarray, u: np.ndarray, by_age=ACUITY_BY_AGE) -> np.ndarray:
    """Acuity 1..5 (int64, shape (n,)) of patients aged ``age`` (years, shape (n,)) from
    uniforms ``u`` on [0, 1) (shape (n,)), by the shares of their band in ``by_age``
    (``(lower edge, shares)`` pairs, edges increasing)."""
    edges = np.array([e for e, _ in by_age], dtype=np.float64)
    cum = np.cumsum(np.array([shares for _, shares in by_age], dtype=np.float64), axis=1)
    band = np.maximum(np.searchsorted(edges, np.asarray(age, float), side="right") - 1, 0)
    rows = cum[band]
    below = (rows <= (np.asarray(u) * rows[:, -1])[:, None]).sum(axis=1)
    return np.minimum(below + 1, cum.shape[1]).astype(np.int64)

_OFF_DUTY = -math.inf  # queue priority of the shift controller's "off duty" requests
_DETERIORATED = -1e300  # queue priority of a deteriorated patient: after off duty, before all


@dataclass(frozen=True)
class AttributeSampler:
    """Draws a patient's ``age`` and an ``acuity`` that depends on it (the model's
    assumption).

    Parameters
    ----------
    acuity_shares : tuple of float or None
        Probabilities of acuity 1, 2, ... (summing to 1; 1 is the most urgent) whatever the
        age; None (default) for :data:`ACUITY_BY_AGE`.
    age_low, age_high : int
        Age in whole years, uniform on ``[age_low, age_high]``.
    """

    acuity_shares: tuple[float, ...] | None = None
    age_low: int = 0
    age_high: int = 95

    def __call__(self, rng: np.random.Generator) -> dict[str, int]:
        """Return ``{"acuity": int, "age": int}`` drawn from ``rng`` (two draws)."""
        u = rng.random()
        age = int(rng.integers(self.age_low, self.age_high + 1))
        if self.acuity_shares is not None:
            cumulative = tuple(itertools.accumulate(self.acuity_shares))
            acuity = min(bisect.bisect_right(cumulative, u) + 1, len(self.acuity_shares))
        else:
            acuity = int(acuity_for_age(np.array([age]), np.array([u]))[0])
        return {"acuity": acuity, "age": age}


def _check_number(name: str, value: object, low: float, strict: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (strict and value == low):
        bound = f"> {low}" if strict else f">= {low}"
        raise ConfigError(
            f"The {name!r} parameter of simulate must be a finite number {bound}. "
            f"Got {value!r} instead."
        )
    return float(value)


@dataclass
class _Case:
    """One visit in progress: its number, attributes and clocks (SimPy timeouts, or None)."""

    pid: int
    attrs: Mapping[str, float]
    patience: float  # minutes allowed per wait in an impatient activity
    death: simpy.Timeout | None  # the current death clock
    deteriorate: simpy.Timeout | None  # None once deteriorated, or if it never will
    deteriorated: bool = False
    factors: Mapping[str, float] | None = None  # the attribute tables' values for the case


class _Model:
    """The SimPy environment, resources and coded event rows of one run."""

    def __init__(
        self,
        pathway: Pathway,
        rng: np.random.Generator,
        start: datetime,
        horizon: float,
        attributes: Callable[[np.random.Generator], Mapping[str, float]],
    ):
        self.pathway, self.rng, self.sampler, self.horizon = pathway, rng, attributes, horizon
        self.env = simpy.Environment()
        self.vocab = vocabulary(pathway)
        self.concept = {name: i for i, name in enumerate(self.vocab.concepts)}
        self.lifecycle = {name: i for i, name in enumerate(LIFECYCLE)}
        units = {name: i for i, name in enumerate(self.vocab.units)}
        # unit code of unit k of a resource = offset + k
        self.unit_offset = {name: units[f"{name}-1"] - 1 for name in pathway.resources}
        # (case, concept code, minute, unit code or -1, lifecycle code), in simulation order
        self.rows: list[tuple[int, int, float, int, int]] = []
        self.attrs: list[Mapping[str, float]] = []  # by case number
        self.readmission_of: list[int] = []  # by case number, -1 for none
        self.start_minute = start.hour * 60 + start.minute + start.second / 60
        self.resources = {
            name: simpy.PriorityResource(self.env, capacity=r.capacity)
            for name, r in pathway.resources.items()
        }
        self.free = {name: list(range(1, r.capacity + 1)) for name, r in pathway.resources.items()}
        self.conditions: dict[str, list] = {}
        self.branches: dict[str, tuple[list[str], np.ndarray]] = {}
        self.odds: dict[str, tuple[int, str]] = {}  # branch index and table of odds_by
        self.hour_cum = np.cumsum(np.ones(24))  # hours of returns (set by simulate)
        self.offsets = np.zeros(0)  # wall clock ahead of the simulation clock, by day
        for act in pathway.activities:
            out = pathway.outgoing(act)
            self.conditions[act] = [
                (parse(t.condition, pathway.attributes), t.target)
                for t in out
                if t.condition is not None
            ]
            probs = [t for t in out if t.probability is not None and t.probability > 0]
            for k, t in enumerate(probs):
                if t.odds_by is not None:
                    self.odds[act] = (k, t.odds_by)
            self.branches[act] = (
                [t.target for t in probs],
                np.cumsum([t.probability for t in probs]),
            )
        patience = pathway.patience
        self.impatient = set(patience.applies_to) if patience else set()
        adverse = pathway.adverse_events
        self.death_mean = mean_minutes(adverse.death_per_day)
        self.death_after_mean = mean_minutes(adverse.death_per_day_after_deterioration)
        self.deterioration_mean = mean_minutes(adverse.deterioration_per_day)
        self.no_return = {adverse.death_outcome, patience.outcome if patience else None}
        self.active = 0  # cases arrived or pending readmission, not yet terminal
        self.arriving = True
        self.finished = self.env.event()

    # -- arrivals -----------------------------------------------------------------------
    def arrivals(self, rate: Callable[[float], float] | None, peak: float):
        """Poisson arrivals at ``peak`` per hour, thinned to ``rate(minute)`` if given."""
        env, rng, t = self.env, self.rng, 0.0
        while peak > 0:
            t += rng.exponential(60.0 / peak)
            if t >= self.horizon:
                break
            if rate is not None:
                now_rate = rate(t)
                if not 0 <= now_rate <= peak:
                    raise ConfigError(
                        f"arrivals_per_hour({t:.6g}) returned {now_rate!r}; it must be in "
                        f"[0, peak_per_hour={peak!r}]."
                    )
                if rng.random() * peak >= now_rate:
                    continue
            yield env.timeout(t - env.now)
            self._new_patient()
        self._arrivals_done()

    def given_arrivals(self, times: np.ndarray):
        """Arrivals at the given sorted minutes (attributes drawn from ``rng`` as they come)."""
        for t in times:
            yield self.env.timeout(float(t) - self.env.now)
            self._new_patient()
        self._arrivals_done()

    def _new_patient(self) -> None:
        attrs = self.sampler(self.rng)
        missing = [a for a in self.pathway.attributes if a not in attrs]
        if missing:
            raise ConfigError(
                f"The attribute sampler gave no {', '.join(map(repr, missing))} for "
                f"pathway {self.pathway.name!r}; it must return every declared attribute."
            )
        self.active += 1
        self._arrive(attrs, -1)

    def _arrivals_done(self) -> None:
        self.arriving = False
        self._check_finished()

    def _arrive(self, attrs: Mapping[str, float], readmission_of: int) -> None:
        """Number the case, draw its clocks (patience, death, deterioration) and start it."""
        env, rng, p = self.env, self.rng, self.pathway
        pid = len(self.attrs)
        self.attrs.append(attrs)
        self.readmission_of.append(readmission_of)
        patience = p.patience.time.sample(rng) if p.patience else math.inf
        factors = {name: float(t.lookup({k: np.array([attrs[k]]) for k in t.keys})[0])
                   for name, t in p.tables.items()}  # fmt: skip
        if p.patience and p.patience.scale is not None:
            patience *= factors[p.patience.scale]
        death = self._clock(self._death_mean(factors, self.death_mean))
        deteriorate = self._clock(self.deterioration_mean)
        env.process(self.patient(_Case(pid, attrs, patience, death, deteriorate, False, factors)))

    def _death_mean(self, factors: Mapping[str, float], mean: float) -> float:
        """``mean`` minutes to death divided by the case's hazard multiplier (if any)."""
        scale = self.pathway.adverse_events.death_scale
        if scale is None:
            return mean
        return mean / factors[scale] if factors[scale] > 0 else math.inf

    def _clock(self, mean: float) -> simpy.Timeout | None:
        """An exponential clock of ``mean`` minutes, drawn now; None when it never rings."""
        return None if math.isinf(mean) else self.env.timeout(self.rng.exponential(mean))

    def _readmit(self, attrs: Mapping[str, float], of: int, delay: float):
        """Bring the patient of case ``of`` back as a new case after ``delay`` minutes."""
        yield self.env.timeout(delay)
        self._arrive(dict(attrs), of)

    def _check_finished(self) -> None:
        if self.active == 0 and not self.arriving:
            self.finished.succeed()

    # -- shifts -------------------------------------------------------------------------
    def shifts(self, name: str):
        """Each hour, hold ``capacity - on duty`` units of ``name`` with off-duty requests."""
        resource, env = self.pathway.resources[name], self.env
        offs: list[simpy.Event] = []
        while True:
            hour = int((self.start_minute + env.now) // 60)
            local = local_hour(hour, self.start_minute, self.offsets)
            wanted = resource.capacity - resource.capacity_at(local)
            while len(offs) < wanted:
                offs.append(env.event())
                env.process(self._off_duty(name, offs[-1]))
            while len(offs) > wanted:
                offs.pop().succeed()  # latest first: it is the last to have got a unit
            yield env.timeout((hour + 1) * 60 - self.start_minute - env.now)

    def _off_duty(self, name: str, back: simpy.Event):
        res, free = self.resources[name], self.free[name]
        req = res.request(priority=_OFF_DUTY)
        yield req | back
        if not req.triggered:
            req.cancel()
            return
        unit = free.pop()  # the highest free unit goes off duty
        if not back.triggered:
            yield back
        res.release(req)
        bisect.insort(free, unit)

    # -- patients -----------------------------------------------------------------------
    def _log(self, case: _Case, concept: str, unit: int, lifecycle: str) -> None:
        """Append one row at the current minute (``unit`` is a unit code, -1 for none)."""
        row = (case.pid, self.concept[concept], self.env.now, unit, self.lifecycle[lifecycle])
        self.rows.append(row)

    def patient(self, case: _Case):
        """Walk ``case`` through the pathway and log its events, ending in one terminal row."""
        p = self.pathway
        state, held = p.start, None
        while state in p.activities:
            ended, held = yield from self._visit(case, p.activities[state], held)
            state = ended or self._next(state, case)
        if held is not None:
            self._release(*held)
        self._log(case, state, -1, "complete")
        self._maybe_readmit(case, state)
        self.active -= 1
        self._check_finished()

    def _maybe_readmit(self, case: _Case, outcome: str) -> None:
        """Draw whether ``case`` returns (two draws when it does) and schedule the return."""
        adverse = self.pathway.adverse_events
        share = adverse.readmission_30d
        if share <= 0 or outcome in self.no_return:
            return
        ratio = dict(adverse.readmission_odds_by_outcome).get(outcome, 1.0)
        if adverse.readmission_odds is not None:
            ratio *= case.factors[adverse.readmission_odds]
        if self.rng.random() >= with_odds(share, ratio):
            return
        mean_days, rng = adverse.readmission_mean_days, self.rng
        u = (rng.random(), rng.random(), rng.random()) if mean_days > 0 else (rng.random(), 0, 0)
        now = self.env.now
        delay = return_time(now, self.start_minute, mean_days, self.hour_cum, self.offsets,
                            *u) - now
        if self.env.now + delay < self.horizon:
            self.active += 1
            self.env.process(self._readmit(case.attrs, case.pid, delay))

    def _next(self, state: str, case: _Case) -> str:
        for condition, target in self.conditions[state]:
            if condition(case.attrs):
                return target
        targets, cumulative = self.branches[state]
        if len(targets) == 1:
            return targets[0]
        if state in self.odds:  # one branch's odds scaled by the case's table value
            k, table = self.odds[state]
            probs = np.diff(cumulative, prepend=0.0)
            q = with_odds(probs[k], case.factors[table])
            rest = (1.0 - q) / (1.0 - probs[k]) if probs[k] < 1.0 else 0.0
            u, acc = self.rng.random(), 0.0
            for j, target in enumerate(targets):
                acc += q if j == k else probs[j] * rest
                if u < acc:
                    return target
            return targets[-1]
        i = int(np.searchsorted(cumulative, self.rng.random() * cumulative[-1], side="right"))
        return targets[min(i, len(targets) - 1)]

    # -- adverse events -----------------------------------------------------------------
    @staticmethod
    def _alarms(case: _Case) -> list[simpy.Timeout]:
        """The case's pending clocks to wait on, besides what it is doing."""
        return [e for e in (case.death, case.deteriorate) if e is not None]

    def _any(self, events: list[simpy.Event]) -> simpy.Event:
        """An event that fires with the first of ``events`` (the event itself if alone)."""
        return events[0] if len(events) == 1 else simpy.AnyOf(self.env, events)

    @staticmethod
    def _dead(case: _Case) -> bool:
        return case.death is not None and case.death.processed

    def _deteriorate_if_due(self, case: _Case) -> bool:
        """If the deterioration clock has rung: log it, replace the death clock, return True."""
        if case.deteriorate is None or not case.deteriorate.processed:
            return False
        case.deteriorate, case.deteriorated = None, True
        self._log(case, DETERIORATION, -1, "complete")
        case.death = self._clock(self._death_mean(case.factors, self.death_after_mean))
        return True

    def _priority(self, case: _Case, activity: Activity) -> float:
        if case.deteriorated:
            return _DETERIORATED
        return case.attrs[activity.priority_by] if activity.priority_by else 0

    # -- one activity -------------------------------------------------------------------
    def _visit(self, case: _Case, activity: Activity, held: tuple | None):
        """One activity: queue, serve, release. ``held`` is the (activity, request, unit
        number) kept from an earlier activity (blocking), released if this one is in its
        ``hold_until`` when it starts. Returns (terminal outcome or None, what the case
        holds on afterwards or None)."""
        dead = self.pathway.adverse_events.death_outcome
        self._log(case, activity.name, -1, "schedule")
        unit, req, number = -1, None, 0
        if activity.resource is not None:
            req, ended = yield from self._wait(case, activity)
            if ended is not None:
                return ended, held
            number = self.free[activity.resource].pop(0)
            unit = self.unit_offset[activity.resource] + number
        if held is not None and activity.name in held[0].hold_until:
            self._release(*held)
            held = None
        self._log(case, activity.name, unit, "start")
        service = activity.service.sample(self.rng)
        if activity.service_scale is not None:
            service *= case.factors[activity.service_scale]
        served = self.env.timeout(service)
        while not served.processed:
            yield self._any([served, *self._alarms(case)])
            if served.processed:
                break
            if self._dead(case):
                self._release(activity, req, number)
                return dead, held
            self._deteriorate_if_due(case)
        if activity.hold_until and req is not None:
            self._log(case, activity.name, unit, "complete")
            return None, (activity, req, number)
        self._release(activity, req, number)
        self._log(case, activity.name, unit, "complete")
        return None, held

    def _wait(self, case: _Case, activity: Activity):
        """Queue for ``activity``'s resource; returns (granted request, None) or
        (None, terminal outcome) when the case dies or runs out of patience first."""
        env, res = self.env, self.resources[activity.resource]
        req = res.request(priority=self._priority(case, activity))
        renege = [env.timeout(case.patience)] if activity.name in self.impatient else []
        while not req.triggered:
            yield self._any([req, *renege, *self._alarms(case)])
            if req.triggered:
                break
            if self._dead(case):
                req.cancel()
                return None, self.pathway.adverse_events.death_outcome
            if renege and renege[0].processed:
                req.cancel()
                return None, self.pathway.patience.outcome
            if self._deteriorate_if_due(case):
                req.cancel()
                req = res.request(priority=_DETERIORATED)
        return req, None

    def _release(self, activity: Activity, req, number: int) -> None:
        if req is not None:
            self.resources[activity.resource].release(req)
            bisect.insort(self.free[activity.resource], number)

    # -- the log ------------------------------------------------------------------------
    def frame(self, start: datetime) -> pd.DataFrame:
        """The event log of the run (see :func:`scenarios.patients.eventlog.log_frame`)."""
        rows = np.array(self.rows, dtype=np.float64).reshape(-1, 5)
        codes = rows.astype(np.int64)
        return log_frame(
            codes[:, 0], codes[:, 1], np.rint(rows[:, 2] * 60).astype(np.int64), codes[:, 3],
            codes[:, 4], readmission_of=np.array(self.readmission_of, dtype=np.int64),
            attributes=self._attribute_columns(), vocab=self.vocab, start=start,
        )  # fmt: skip

    def _attribute_columns(self) -> dict[str, np.ndarray]:
        """One array per attribute key, in the sampler's key order, indexed by case."""
        if not self.attrs:
            return {name: np.empty(0, np.int64) for name in self.pathway.attributes}
        keys = list(self.attrs[0])
        for pid, attrs in enumerate(self.attrs):
            if set(attrs) != set(keys):
                raise ConfigError(
                    f"The attribute sampler returned keys {sorted(attrs)!r} for case {pid} but "
                    f"{sorted(keys)!r} for case 0; it must return the same keys every time."
                )
        return {key: np.asarray([attrs[key] for attrs in self.attrs]) for key in keys}


def simulate(
    pathway: Pathway,
    *,
    arrivals_per_hour: float | Callable[[float], float] | None = None,
    horizon_minutes: float,
    rng: np.random.Generator,
    start: datetime,
    attributes: Callable[[np.random.Generator], Mapping[str, float]] | None = None,
    peak_per_hour: float | None = None,
    arrival_times_minutes: np.ndarray | None = None,
    return_hours: np.ndarray | None = None,
    local_offsets: np.ndarray | None = None,
) -> pd.DataFrame:
    """Simulate ``pathway`` and return its event log.

    Parameters
    ----------
    pathway : Pathway
        From :func:`~scenarios.patients.pathway.load_pathway`.
    arrivals_per_hour : float or callable
        Poisson arrival rate in patients per hour, or a function of the simulated minute
        (``0 <= minute < horizon_minutes``) returning that rate (then ``peak_per_hour`` is
        required and must bound it).
    horizon_minutes : float
        Patients arrive, and readmissions return, in ``[0, horizon_minutes)``; the run
        continues until every case has reached a terminal state.
    rng : numpy.random.Generator
        The only source of randomness (arrivals, attributes, patience, death, deterioration,
        service, branches, readmissions).
    start : datetime.datetime
        Real time of minute 0; also sets the hour of day for shifts.
    attributes : callable, optional
        ``attributes(rng) -> {name: value}`` with at least every attribute the pathway
        declares (extra keys are carried into the log and to readmissions); each key becomes
        a ``case:<name>`` column, in the order of the first case's keys. Default
        :class:`AttributeSampler` (acuity and age).
    peak_per_hour : float, optional
        Upper bound of a time-varying rate, in patients per hour, used for thinning.
    arrival_times_minutes : numpy.ndarray of float, shape (n,), optional
        Given arrival minutes (sorted, in ``[0, horizon_minutes)``) instead of Poisson
        arrivals; give exactly one of this and ``arrivals_per_hour``.
    return_hours : numpy.ndarray of float, shape (24,), optional
        Shares of arrivals by hour of day, the hours of returns when the pathway sets
        ``readmission_mean_days`` (:mod:`scenarios.patients.effects`; uniform when None).
    local_offsets : numpy.ndarray of float, shape (D,), optional
        Minutes the wall clock runs ahead of the simulation clock on each day
        (:func:`~scenarios.patients.effects.day_offsets`); None: the simulation clock's hours.

    Returns
    -------
    pandas.DataFrame
        One row per event, format in :mod:`scenarios.patients.eventlog`; a readmission is a
        case of its own whose ``case:readmission_of`` names the earlier case.

    Raises
    ------
    simulations.errors.ConfigError
        A parameter out of range, a rate above ``peak_per_hour``, or a sampler missing a
        declared attribute.
    """
    horizon = _check_number("horizon_minutes", horizon_minutes, 0.0, strict=True)
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(
            f"The 'rng' parameter of simulate must be a numpy.random.Generator. Got {rng!r}."
        )
    hours = np.ones(24) if return_hours is None else np.asarray(return_hours, np.float64)
    if hours.shape != (24,) or not (hours >= 0).all() or hours.sum() <= 0:
        raise ConfigError(f"The 'return_hours' parameter of simulate must be 24 shares >= 0 "
                          f"with a positive sum. Got {return_hours!r} instead.")
    model = _Model(pathway, rng, start, horizon, attributes or AttributeSampler())
    model.hour_cum = np.cumsum(hours)
    if local_offsets is not None:
        model.offsets = np.asarray(local_offsets, np.float64)
    if (arrivals_per_hour is None) == (arrival_times_minutes is None):
        raise ConfigError(
            "simulate needs exactly one of 'arrivals_per_hour' and 'arrival_times_minutes'. "
            f"Got {arrivals_per_hour!r} and {arrival_times_minutes!r} instead."
        )
    if arrival_times_minutes is not None:
        times = np.asarray(arrival_times_minutes, dtype=np.float64)
        if (
            times.ndim != 1
            or (np.diff(times) < 0).any()
            or (times < 0).any()
            or (times >= horizon).any()
        ):
            raise ConfigError(
                "The 'arrival_times_minutes' parameter of simulate must be a sorted 1-D array "
                f"of minutes in [0, {horizon!r}) (the horizon). Got {times!r} instead."
            )
        model.env.process(model.given_arrivals(times))
    else:
        if callable(arrivals_per_hour):
            rate = arrivals_per_hour
            peak = _check_number("peak_per_hour", peak_per_hour, 0.0, False)
        else:
            rate = None
            peak = _check_number("arrivals_per_hour", arrivals_per_hour, 0.0, False)
        model.env.process(model.arrivals(rate, peak))
    for name, resource in pathway.resources.items():
        if resource.shifts:
            model.env.process(model.shifts(name))
    model.env.run(until=model.finished)
    return model.frame(start)
