"""SimPy reference model of a patient pathway: one process per patient, one event per row.

The model reads a :class:`~scenarios.patients.pathway.Pathway` and simulates it as a queueing
network, in minutes:

* **Arrivals** form a Poisson process in ``[0, horizon_minutes)``: constant rate, or a rate
  that varies with time (a callable of the minute) sampled by thinning against ``peak_per_hour``.
  Each patient gets the pathway's attributes from ``attributes(rng)`` (default
  :class:`AttributeSampler`, an assumption of this model, not data).
* **Activities** request one unit of their resource (a :class:`simpy.PriorityResource`; the
  activity's ``priority_by`` attribute orders the queue, lower first, else first come first
  served), hold it for a draw of the activity's service time, release it, and move on by the
  pathway's transitions: conditions in file order (:func:`rules.expressions.parse`, evaluated
  on the patient's attributes), else one draw among the probabilistic ones.
* **Resource instances** are real: each resource keeps a sorted free-list of unit numbers; a
  patient takes the lowest free unit and ``org:resource`` names it (``triage_nurse-2``).
* **Shifts**: when a resource has shifts, a controller holds ``capacity - on duty`` units with
  "off duty" requests that go ahead of every patient (they take the highest free unit numbers).
  Staff going off duty finish the patient in hand first (no pre-emption), so capacity falls
  as soon as units free up. Hours of the day are those of ``start`` + minutes.
* **Patience**: each patient draws one patience (the pathway's patience distribution) at
  arrival; a wait for an activity in ``patience.applies_to`` longer than it ends the case with
  the patience outcome (left without being seen), without a ``start`` event.
* **Death**: with ``death_per_day`` > 0, the time of death is exponential with that hazard per
  1440 minutes from arrival; a patient still waiting or in service then ends with
  ``death_outcome`` (the interrupted activity gets no ``complete`` event). Deterioration and
  readmission (also in ``[adverse_events]``) are not modelled here.

Arrivals stop at the horizon, and the simulation runs on until every patient has reached a
terminal state, so each case has exactly one terminal event. Every random draw comes from the
``rng`` passed in, in simulation order; SimPy breaks ties by insertion order, so the same seed
gives the same event log. The row format is in :mod:`scenarios.patients.eventlog`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import simpy

from rules.expressions import parse
from scenarios.patients.eventlog import event_frame
from scenarios.patients.pathway import Activity, Pathway
from simulations.errors import ConfigError

__all__ = ["ACUITY_SHARES", "AttributeSampler", "simulate"]

#: Assumed shares of acuity 1..5 among arrivals (illustrative, not fitted to data).
ACUITY_SHARES = (0.02, 0.18, 0.45, 0.25, 0.10)

_OFF_DUTY = -math.inf  # queue priority of the shift controller's "off duty" requests


@dataclass(frozen=True)
class AttributeSampler:
    """Draws a patient's ``acuity`` and ``age`` independently (the model's assumption).

    Parameters
    ----------
    acuity_shares : tuple of float
        Probabilities of acuity 1, 2, ... (summing to 1); 1 is the most urgent.
    age_low, age_high : int
        Age in whole years, uniform on ``[age_low, age_high]``.
    """

    acuity_shares: tuple[float, ...] = ACUITY_SHARES
    age_low: int = 0
    age_high: int = 95

    def __call__(self, rng: np.random.Generator) -> dict[str, int]:
        """Return ``{"acuity": int, "age": int}`` drawn from ``rng`` (two draws)."""
        u = rng.random()
        acuity = min(
            int(np.searchsorted(np.cumsum(self.acuity_shares), u, side="right")) + 1,
            len(self.acuity_shares),
        )
        return {"acuity": acuity, "age": int(rng.integers(self.age_low, self.age_high + 1))}


def _check_number(name: str, value: object, low: float, strict: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < low or (strict and value == low):
        bound = f"> {low}" if strict else f">= {low}"
        raise ConfigError(
            f"The {name!r} parameter of simulate must be a finite number {bound}. "
            f"Got {value!r} instead."
        )
    return float(value)


class _Model:
    """The SimPy environment, resources and event rows of one run."""

    def __init__(
        self,
        pathway: Pathway,
        rng: np.random.Generator,
        start: datetime,
        attributes: Callable[[np.random.Generator], Mapping[str, float]],
    ):
        self.pathway, self.rng, self.sampler = pathway, rng, attributes
        self.env = simpy.Environment()
        self.rows: list[tuple[int, str, float, str, str]] = []
        self.attrs: dict[int, Mapping[str, float]] = {}
        self.start_minute = start.hour * 60 + start.minute + start.second / 60
        self.resources = {
            name: simpy.PriorityResource(self.env, capacity=r.capacity)
            for name, r in pathway.resources.items()
        }
        self.free = {name: list(range(1, r.capacity + 1)) for name, r in pathway.resources.items()}
        self.conditions: dict[str, list] = {}
        self.branches: dict[str, tuple[list[str], np.ndarray]] = {}
        for act in pathway.activities:
            out = pathway.outgoing(act)
            self.conditions[act] = [
                (parse(t.condition, pathway.attributes), t.target)
                for t in out
                if t.condition is not None
            ]
            probs = [t for t in out if t.probability is not None and t.probability > 0]
            self.branches[act] = (
                [t.target for t in probs],
                np.cumsum([t.probability for t in probs]),
            )
        patience = pathway.patience
        self.impatient = set(patience.applies_to) if patience else set()
        adverse = pathway.adverse_events
        self.death_mean = 1440.0 / adverse.death_per_day if adverse.death_per_day > 0 else None
        self.active = 0
        self.arriving = True
        self.finished = self.env.event()

    # -- arrivals -----------------------------------------------------------------------
    def arrivals(self, rate: Callable[[float], float] | None, peak: float, horizon: float):
        """Poisson arrivals at ``peak`` per hour, thinned to ``rate(minute)`` if given."""
        env, rng, t, pid = self.env, self.rng, 0.0, 0
        while peak > 0:
            t += rng.exponential(60.0 / peak)
            if t >= horizon:
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
            attrs = self.sampler(rng)
            missing = [a for a in self.pathway.attributes if a not in attrs]
            if missing:
                raise ConfigError(
                    f"The attribute sampler gave no {', '.join(map(repr, missing))} for "
                    f"pathway {self.pathway.name!r}; it must return every declared attribute."
                )
            self.attrs[pid] = attrs
            self.active += 1
            env.process(self.patient(pid, attrs))
            pid += 1
        self.arriving = False
        if self.active == 0:
            self.finished.succeed()

    # -- shifts -------------------------------------------------------------------------
    def shifts(self, name: str):
        """Each hour, hold ``capacity - on duty`` units of ``name`` with off-duty requests."""
        resource, env = self.pathway.resources[name], self.env
        offs: list[simpy.Event] = []
        while True:
            hour = int((self.start_minute + env.now) // 60)
            wanted = resource.capacity - resource.capacity_at(hour % 24)
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
    def patient(self, pid: int, attrs: Mapping[str, float]):
        """Walk ``pid`` through the pathway and log its events, ending in one terminal row."""
        env, rng, p = self.env, self.rng, self.pathway
        patience = p.patience.time.sample(rng) if p.patience else math.inf
        death = None
        if self.death_mean is not None:
            death = env.timeout(rng.exponential(self.death_mean))
        state = p.start
        while state in p.activities:
            ended = yield from self._visit(pid, p.activities[state], attrs, patience, death)
            state = ended or self._next(state, attrs)
        self.rows.append((pid, state, env.now, "", "complete"))
        self.active -= 1
        if self.active == 0 and not self.arriving:
            self.finished.succeed()

    def _next(self, state: str, attrs: Mapping[str, float]) -> str:
        for condition, target in self.conditions[state]:
            if condition(attrs):
                return target
        targets, cumulative = self.branches[state]
        if len(targets) == 1:
            return targets[0]
        i = int(np.searchsorted(cumulative, self.rng.random() * cumulative[-1], side="right"))
        return targets[min(i, len(targets) - 1)]

    def _visit(self, pid, activity: Activity, attrs, patience: float, death):
        """One activity: queue, serve, release; returns a terminal outcome or None."""
        env, rows, name = self.env, self.rows, activity.name
        dead = self.pathway.adverse_events.death_outcome
        rows.append((pid, name, env.now, "", "schedule"))
        unit_name, req = "", None
        if activity.resource is not None:
            res = self.resources[activity.resource]
            prio = attrs[activity.priority_by] if activity.priority_by else 0
            req = res.request(priority=prio)
            events = [req]
            if name in self.impatient:
                events.append(env.timeout(patience))
            if death is not None:
                events.append(death)
            yield req if len(events) == 1 else simpy.AnyOf(env, events)
            if not req.triggered:
                req.cancel()
                return (
                    dead if death is not None and death.processed else self.pathway.patience.outcome
                )
            unit = self.free[activity.resource].pop(0)
            unit_name = f"{activity.resource}-{unit}"
        rows.append((pid, name, env.now, unit_name, "start"))
        served = env.timeout(activity.service.sample(self.rng))
        yield served if death is None else served | death
        if req is not None:
            self.resources[activity.resource].release(req)
            bisect.insort(self.free[activity.resource], unit)
        if not served.processed:
            return dead
        rows.append((pid, name, env.now, unit_name, "complete"))
        return None


def simulate(
    pathway: Pathway,
    *,
    arrivals_per_hour: float | Callable[[float], float],
    horizon_minutes: float,
    rng: np.random.Generator,
    start: datetime,
    attributes: Callable[[np.random.Generator], Mapping[str, float]] | None = None,
    peak_per_hour: float | None = None,
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
        Patients arrive in ``[0, horizon_minutes)``; the run continues until all have left.
    rng : numpy.random.Generator
        The only source of randomness (arrivals, attributes, patience, service, branches).
    start : datetime.datetime
        Real time of minute 0; also sets the hour of day for shifts.
    attributes : callable, optional
        ``attributes(rng) -> {name: value}`` for every attribute the pathway declares;
        default :class:`AttributeSampler` (acuity and age).
    peak_per_hour : float, optional
        Upper bound of a time-varying rate, used for thinning.

    Returns
    -------
    pandas.DataFrame
        One row per event, format in :mod:`scenarios.patients.eventlog`.
    """
    horizon = _check_number("horizon_minutes", horizon_minutes, 0.0, strict=True)
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(
            f"The 'rng' parameter of simulate must be a numpy.random.Generator. Got {rng!r}."
        )
    if callable(arrivals_per_hour):
        rate, peak = arrivals_per_hour, _check_number("peak_per_hour", peak_per_hour, 0.0, False)
    else:
        rate, peak = None, _check_number("arrivals_per_hour", arrivals_per_hour, 0.0, False)
    model = _Model(pathway, rng, start, attributes or AttributeSampler())
    model.env.process(model.arrivals(rate, peak, horizon))
    for name, resource in pathway.resources.items():
        if resource.shifts:
            model.env.process(model.shifts(name))
    model.env.run(until=model.finished)
    return event_frame(model.rows, model.attrs, pathway.attributes, start)
