"""Compile a :class:`~scenarios.patients.pathway.Pathway` into numeric tables for Numba.

Codes
-----
Activities are numbered ``0..A-1`` in file order, terminal states ``A..A+T-1`` in the order
of ``[pathway] terminal``; a transition target is one of these codes. Resources are numbered
``0..R-1`` in file order; units of a resource are ``1..capacity`` (as in ``triage_nurse-2``).
Service distributions are coded by :data:`DIST_CODES` with up to three parameters (minutes):

===========  ======  =================================================
exponential  0       ``mean``
lognormal    1       ``log(median)``, ``sigma``
gamma        2       ``shape = 1 / cv**2``, ``scale = mean / shape``
fixed        3       ``value``
triangular   4       ``low``, ``mode``, ``high``
===========  ======  =================================================

Transitions out of activity ``a`` are the conditional rows ``cond_ptr[a]..cond_ptr[a+1]``
(tried in file order; row ``j`` holds for patient ``i`` when ``conditions[i, j]``, a matrix
precomputed by :func:`evaluate_conditions` because expressions cannot run in Numba), then the
probabilistic rows ``prob_ptr[a]..prob_ptr[a+1]`` with cumulative probabilities (rows with
probability 0 are dropped, as in the reference model).
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rules.expressions import parse
from scenarios.patients.effects import evaluate_tables
from scenarios.patients.pathway import DETERIORATION, Pathway, mean_minutes
from scenarios.patients.service import ServiceTime
from simulations.errors import ConfigError

__all__ = [
    "Compiled", "DIST_CODES", "Tables", "compile_pathway", "evaluate_conditions",
    "patient_factors",
]

#: Numeric code of each service-time distribution.
DIST_CODES = {"exponential": 0, "lognormal": 1, "gamma": 2, "fixed": 3, "triangular": 4}

Tables = namedtuple(
    "Tables",
    "start act_resource act_dist act_params act_prio act_patience act_hold act_release "
    "res_capacity res_duty "
    "cond_ptr cond_target prob_ptr prob_cum prob_target patience_dist patience_params "
    "patience_code death_mean death_code deterioration_mean death_mean_after deterioration_code "
    "readmission discharge unit_base "
    "act_scale act_odds act_odds_k prob_p death_row readmit_row readmit_odds return_mean_days "
    "patience_row",
)
"""Numeric pathway tables (all numpy arrays or scalars; shapes with A activities, R
resources):

``start`` int: the start activity code. ``act_resource`` int64[A]: resource or -1.
``act_dist`` int64[A], ``act_params`` float64[A, 3]: service distribution (module table).
``act_prio`` int64[A]: row of the attribute matrix ordering the queue, or -1 (priority 0).
``act_patience`` bool[A]: patience applies to the wait. ``act_hold`` bool[A]: the unit is
kept after service (blocking), ``act_release`` bool[A, A]: ``[h, b]`` whether starting
activity ``b`` releases the unit kept by ``h`` (its ``hold_until``).
``res_capacity`` int64[R].
``res_duty`` int64[R, 24]: units on duty by hour of day. ``cond_ptr`` int64[A+1],
``cond_target`` int64[C]. ``prob_ptr`` int64[A+1], ``prob_cum`` float64[P],
``prob_target`` int64[P]. ``patience_dist`` int (-1 without patience), ``patience_params``
float64[3], ``patience_code`` int (terminal code or -1). ``death_mean`` float: mean time to
death in minutes (``inf`` without death), ``death_code`` int (terminal code or -1).
``deterioration_mean``, ``death_mean_after`` float: mean minutes to deterioration, and to
death once deteriorated (``inf`` for none); ``deterioration_code`` int: code of the
deterioration event (``A + T``). ``readmission`` float: probability that a discharge is
followed by a readmission; ``discharge`` bool[A+T]: which codes are discharges (terminal
states other than death and leaving without being seen). ``unit_base`` int64[R]: unit ``u``
of resource ``r`` is entry ``unit_base[r] + u`` of the log's unit vocabulary
(:func:`scenarios.patients.eventlog.vocabulary`).

Attribute effects (:mod:`scenarios.patients.effects`) index rows of the per-patient factor
matrix (:func:`patient_factors`, a row per :attr:`Compiled.table_names`, -1 for none):
``act_scale`` int64[A] (service multiplier), ``act_odds`` int64[A] (odds ratio on the
probabilistic row ``act_odds_k[a]``), ``prob_p`` float64[P] (each probabilistic row's own
probability), ``death_row`` int (death-hazard multiplier), ``readmit_row`` int (odds ratio
on ``readmission``), ``readmit_odds`` float64[A+T] (odds ratio by terminal code),
``return_mean_days`` float (days; 0 for a uniform delay), ``patience_row`` int (patience
multiplier).
"""


@dataclass(frozen=True)
class Compiled:
    """A pathway's tables plus the names that decode its codes.

    Attributes
    ----------
    tables : Tables
    activities, terminal, resources, attributes : tuple of str
        Names of activity codes, terminal codes (after the activities), resource indices
        and attribute rows of the attribute matrix.
    conditions : tuple of str
        Condition expressions, one per column of :func:`evaluate_conditions`' matrix.
    table_names : tuple of str
        The ``[tables]`` used, one per row of :func:`patient_factors`' matrix.
    """

    tables: Tables
    activities: tuple[str, ...]
    terminal: tuple[str, ...]
    resources: tuple[str, ...]
    attributes: tuple[str, ...]
    conditions: tuple[str, ...]
    table_names: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Name of every code: activities, terminal states, then the deterioration event."""
        return (*self.activities, *self.terminal, DETERIORATION)


def _service(time: ServiceTime) -> tuple[int, np.ndarray]:
    p, kind = time.params, time.distribution
    if kind == "exponential":
        values = (p["mean"],)
    elif kind == "lognormal":
        values = (math.log(p["median"]), p["sigma"])
    elif kind == "gamma":
        shape = 1.0 / p["cv"] ** 2
        values = (shape, p["mean"] / shape)
    elif kind == "fixed":
        values = (p["value"],)
    else:
        values = (p["low"], p["mode"], p["high"])
    params = np.zeros(3)
    params[: len(values)] = values
    return DIST_CODES[kind], params


def compile_pathway(pathway: Pathway) -> Compiled:
    """Turn ``pathway`` into :class:`Tables` (see the module docstring for the codes).

    Parameters
    ----------
    pathway : Pathway
        From :func:`~scenarios.patients.pathway.load_pathway` (already validated).

    Returns
    -------
    Compiled
    """
    acts, terminal = tuple(pathway.activities), tuple(pathway.terminal)
    res_names, attrs = tuple(pathway.resources), tuple(pathway.attributes)
    code = {name: i for i, name in enumerate(acts + terminal)}
    n_act = len(acts)
    act_resource = np.full(n_act, -1, np.int64)
    act_dist = np.zeros(n_act, np.int64)
    act_params = np.zeros((n_act, 3))
    act_prio = np.full(n_act, -1, np.int64)
    patience = pathway.patience
    applies = set(patience.applies_to) if patience else set()
    act_patience = np.array([a in applies for a in acts], dtype=np.bool_)
    act_hold = np.array([bool(pathway.activities[a].hold_until) for a in acts], np.bool_)
    act_release = np.zeros((n_act, n_act), np.bool_)
    for i, name in enumerate(acts):
        for target in pathway.activities[name].hold_until:
            act_release[i, code[target]] = True
    used = [a.service_scale for a in pathway.activities.values()]
    used += [t.odds_by for t in pathway.transitions]
    used += [pathway.adverse_events.death_scale, pathway.adverse_events.readmission_odds]
    used += [patience.scale if patience else None]
    table_names = tuple(dict.fromkeys(u for u in used if u is not None))
    row = {name: j for j, name in enumerate(table_names)}
    act_scale = np.full(n_act, -1, np.int64)
    act_odds, act_odds_k = np.full(n_act, -1, np.int64), np.full(n_act, -1, np.int64)
    cond_ptr, prob_ptr = [0], [0]
    cond_target, conditions, prob_cum, prob_target, prob_p = [], [], [], [], []
    for i, name in enumerate(acts):
        act = pathway.activities[name]
        if act.resource is not None:
            act_resource[i] = res_names.index(act.resource)
        act_dist[i], act_params[i] = _service(act.service)
        if act.service_scale is not None:
            act_scale[i] = row[act.service_scale]
        if act.priority_by is not None:
            act_prio[i] = attrs.index(act.priority_by)
        out = pathway.outgoing(name)
        for t in out:
            if t.condition is not None:
                cond_target.append(code[t.target])
                conditions.append(t.condition)
        probs = [t for t in out if t.probability is not None and t.probability > 0]
        for k, t in enumerate(probs):
            if t.odds_by is not None:
                act_odds[i], act_odds_k[i] = row[t.odds_by], len(prob_target) + k
        prob_p.extend(t.probability for t in probs)
        prob_cum.extend(np.cumsum([t.probability for t in probs]).tolist())
        prob_target.extend(code[t.target] for t in probs)
        cond_ptr.append(len(cond_target))
        prob_ptr.append(len(prob_target))
    res_capacity = np.array([r.capacity for r in pathway.resources.values()], np.int64)
    res_duty = np.array([r.duty for r in pathway.resources.values()], np.int64).reshape(-1, 24)
    p_dist, p_params = _service(patience.time) if patience else (-1, np.zeros(3))
    adverse = pathway.adverse_events
    discharge = np.zeros(n_act + len(terminal), np.bool_)
    readmit_odds = np.ones(n_act + len(terminal))
    for state, ratio in adverse.readmission_odds_by_outcome:
        readmit_odds[code[state]] = ratio
    for state in terminal:
        leaving = patience.outcome if patience else None
        discharge[code[state]] = state not in (adverse.death_outcome, leaving)
    tables = Tables(
        code[pathway.start],
        act_resource,
        act_dist,
        act_params,
        act_prio,
        act_patience,
        act_hold,
        act_release,
        res_capacity,
        res_duty,
        np.array(cond_ptr, np.int64),
        np.array(cond_target, np.int64),
        np.array(prob_ptr, np.int64),
        np.array(prob_cum, np.float64),
        np.array(prob_target, np.int64),
        p_dist,
        p_params,
        code[patience.outcome] if patience else -1,
        mean_minutes(adverse.death_per_day),
        code[adverse.death_outcome] if adverse.death_outcome else -1,
        mean_minutes(adverse.deterioration_per_day),
        mean_minutes(adverse.death_per_day_after_deterioration),
        n_act + len(terminal),
        adverse.readmission_30d,
        discharge,
        np.cumsum(res_capacity) - res_capacity - 1,
        act_scale,
        act_odds,
        act_odds_k,
        np.array(prob_p, np.float64),
        row.get(adverse.death_scale, -1),
        row.get(adverse.readmission_odds, -1),
        readmit_odds,
        adverse.readmission_mean_days,
        row.get(patience.scale, -1) if patience else -1,
    )
    return Compiled(tables, acts, terminal, res_names, attrs, tuple(conditions), table_names)


def patient_factors(compiled: Compiled, pathway: Pathway,
                    attributes: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """float64[max(T, 1), n]: row ``j`` is table ``compiled.tables[j]`` for each patient."""
    return evaluate_tables(pathway.tables, compiled.table_names, attributes, n)


def evaluate_conditions(compiled: Compiled, attributes: Mapping[str, np.ndarray]) -> np.ndarray:
    """Evaluate every conditional transition for every patient, before the run.

    Parameters
    ----------
    compiled : Compiled
    attributes : Mapping[str, numpy.ndarray]
        One array of shape (n,) per declared attribute.

    Returns
    -------
    numpy.ndarray of bool, shape (n, C)
        ``[i, j]`` is whether condition ``j`` (:attr:`Compiled.conditions`) holds for
        patient ``i``.
    """
    missing = [a for a in compiled.attributes if a not in attributes]
    if missing:
        raise ConfigError(
            f"The attributes given to the patients kernel lack {', '.join(map(repr, missing))}; "
            f"every declared attribute ({', '.join(compiled.attributes)}) needs an array."
        )
    n = len(next(iter(attributes.values()))) if attributes else 0
    matrix = np.zeros((n, len(compiled.conditions)), dtype=np.bool_)
    columns = {a: np.asarray(attributes[a]) for a in compiled.attributes}
    for j, text in enumerate(compiled.conditions):
        matrix[:, j] = np.broadcast_to(parse(text, compiled.attributes).evaluate(columns), n)
    return matrix
