"""Numba discrete-event kernel of patient pathways: the SimPy reference model over arrays.

The behaviour is that of :mod:`scenarios.patients.reference` (read its docstring): priority
queues per resource, lowest free unit first, shifts that take free units off duty (highest
first, ahead of every patient, never pre-empting), patience (leaving without being seen),
death hazard, and routing by conditions then probabilities. Times are float64 minutes
inside the kernel; output times are int64 seconds (rounded to the nearest second).

Array layout
------------
Patients are ``0..n-1`` in arrival order; codes of activities, terminal states and
distributions are those of :mod:`scenarios.patients.compile`.

``ev`` (:data:`Events`) : the event queue, a binary heap in preallocated arrays: ``t``
    float64[cap] (minutes) and ``key`` int64[cap, 4] with columns sequence number (ties in
    ``t`` break by it, so by scheduling order), kind ``E_*``, patient, token. A patient's
    token counts its visits; an event whose token is stale (or whose patient has left) is
    ignored, so reneges after service started and completions after death are no-ops. For
    ``E_SHIFT`` the token is the absolute hour since the first midnight.
``q`` (:data:`Queues`) : per-resource heaps of waiting patients, ``prio`` float64[R, n],
    ``seq`` int64[R, n], ``patient`` int64[R, n], ``size`` int64[R]; lower priority first,
    ties first come first served; ``pos`` int64[n] is each waiting patient's heap slot, so a
    patient who reneges or dies is removed in O(log n).
``res`` (:data:`Units`) : ``free`` bool[R, cmax + 1] (unit numbers from 1), ``n_free``,
    ``off`` int64[R, cmax] (stack of units held off duty, latest last), ``n_off``,
    ``pending`` int64[R] (off-duty requests waiting for a unit to free up).
``pat`` (:data:`Patients`) : ``phase`` (``P_*``), ``act``, ``token``, ``unit`` int64[n] and
    ``patience``, ``death`` float64[n] (minutes; patience per wait, death time absolute).
``out`` : int64[N_OUT, cap] — one event row per column, fields ``O_*``: patient, code
    (activity or terminal), lifecycle (0 schedule, 1 start, 2 complete), time in seconds,
    resource unit (1-based) or -1. Rows are in simulation order (time order per patient).
``cnt`` : int64[5] — counters ``C_*`` (heap size, output rows, sequence, finished patients,
    overflow flag). When a buffer is full the kernel stops with the flag set and the
    wrapper reruns with larger buffers from a copy of the random state.

All randomness is the xoshiro256** state ``bits`` (:mod:`simulations.bits`), seeded from the
caller's ``numpy.random.Generator``: uniforms, Box-Muller normals, Marsaglia-Tsang gammas.
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Callable, Mapping
from datetime import datetime

import numba as nb
import numpy as np
import pandas as pd

from scenarios.patients.compile import compile_pathway, evaluate_conditions
from scenarios.patients.eventlog import COLUMNS, LIFECYCLE
from scenarios.patients.pathway import Pathway
from scenarios.patients.reference import ACUITY_SHARES
from simulations.bits import new_bits, uniform
from simulations.errors import ConfigError

__all__ = [
    "Events", "Patients", "Queues", "Units", "N_OUT", "poisson_arrivals", "run",
    "sample_attributes", "sample_service", "simulate_kernel",
]  # fmt: skip

E_COMPLETE, E_RENEGE, E_DEATH, E_SHIFT = range(4)
P_WAITING, P_SERVICE, P_DONE = 1, 2, 3
O_PATIENT, O_CODE, O_LIFE, O_TIME, O_UNIT = range(5)
N_OUT = 5
C_EV, C_OUT, C_SEQ, C_DONE, C_OVERFLOW = range(5)
SCHEDULE, START, COMPLETE = range(3)

Events = namedtuple("Events", "t key")
Queues = namedtuple("Queues", "prio seq patient size pos")
Units = namedtuple("Units", "free n_free off n_off pending")
Patients = namedtuple("Patients", "phase act token unit patience death")


# -- random draws ------------------------------------------------------------------------
@nb.njit(cache=True)
def _normal(bits):
    u1 = 1.0 - uniform(bits)  # in (0, 1]
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * uniform(bits))


@nb.njit(cache=True)
def _gamma(shape, bits):
    """Standard gamma by Marsaglia and Tsang (2000); shape < 1 by the u**(1/shape) boost."""
    boost = 1.0
    if shape < 1.0:
        boost = (1.0 - uniform(bits)) ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = _normal(bits)
        v = (1.0 + c * x) ** 3
        if v <= 0.0:
            continue
        u = 1.0 - uniform(bits)
        if u < 1.0 - 0.0331 * x**4 or math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v * boost


@nb.njit(cache=True)
def sample_service(dist, p, bits):
    """One duration in minutes of distribution code ``dist`` with parameters ``p``."""
    if dist == 0:
        return -p[0] * math.log(1.0 - uniform(bits))
    if dist == 1:
        return math.exp(p[0] + p[1] * _normal(bits))
    if dist == 2:
        return _gamma(p[0], bits) * p[1]
    if dist == 3:
        return p[0]
    low, mode, high = p[0], p[1], p[2]
    u = uniform(bits)
    if u < (mode - low) / (high - low):
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1.0 - u) * (high - low) * (high - mode))


# -- the event heap ----------------------------------------------------------------------
@nb.njit(cache=True)
def _before(ev, i, t, seq):
    return ev.t[i] < t or (ev.t[i] == t and ev.key[i, 0] < seq)


@nb.njit(cache=True)
def _push(ev, cnt, t, kind, patient, token):
    n = cnt[C_EV]
    if n == ev.t.shape[0]:
        cnt[C_OVERFLOW] = 1
        return
    seq = cnt[C_SEQ]
    cnt[C_SEQ] += 1
    cnt[C_EV] = n + 1
    i = n
    while i > 0 and not _before(ev, (i - 1) >> 1, t, seq):
        parent = (i - 1) >> 1
        ev.t[i] = ev.t[parent]
        ev.key[i, :] = ev.key[parent, :]
        i = parent
    ev.t[i] = t
    ev.key[i, 0], ev.key[i, 1], ev.key[i, 2], ev.key[i, 3] = seq, kind, patient, token


@nb.njit(cache=True)
def _pop(ev, cnt):
    """Remove the earliest event; return (t, kind, patient, token)."""
    t, kind, patient, token = ev.t[0], ev.key[0, 1], ev.key[0, 2], ev.key[0, 3]
    n = cnt[C_EV] - 1
    cnt[C_EV] = n
    lt, lseq = ev.t[n], ev.key[n, 0]
    last = ev.key[n, :].copy()
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _before(ev, child + 1, ev.t[child], ev.key[child, 0]):
            child += 1
        if not _before(ev, child, lt, lseq):
            break
        ev.t[i] = ev.t[child]
        ev.key[i, :] = ev.key[child, :]
        i = child
    ev.t[i] = lt
    ev.key[i, :] = last
    return t, kind, patient, token


# -- waiting queues ----------------------------------------------------------------------
@nb.njit(cache=True)
def _q_less(q, r, i, j):
    return q.prio[r, i] < q.prio[r, j] or (
        q.prio[r, i] == q.prio[r, j] and q.seq[r, i] < q.seq[r, j]
    )


@nb.njit(cache=True)
def _q_swap(q, r, i, j):
    q.prio[r, i], q.prio[r, j] = q.prio[r, j], q.prio[r, i]
    q.seq[r, i], q.seq[r, j] = q.seq[r, j], q.seq[r, i]
    q.patient[r, i], q.patient[r, j] = q.patient[r, j], q.patient[r, i]
    q.pos[q.patient[r, i]] = i
    q.pos[q.patient[r, j]] = j


@nb.njit(cache=True)
def _q_sift(q, r, i):
    """Restore the heap around slot ``i`` (up, then down)."""
    while i > 0 and _q_less(q, r, i, (i - 1) >> 1):
        _q_swap(q, r, i, (i - 1) >> 1)
        i = (i - 1) >> 1
    n = q.size[r]
    while True:
        child = 2 * i + 1
        if child >= n:
            return
        if child + 1 < n and _q_less(q, r, child + 1, child):
            child += 1
        if not _q_less(q, r, child, i):
            return
        _q_swap(q, r, i, child)
        i = child


@nb.njit(cache=True)
def _q_push(q, r, patient, prio, seq):
    i = q.size[r]
    q.size[r] = i + 1
    q.prio[r, i], q.seq[r, i], q.patient[r, i] = prio, seq, patient
    q.pos[patient] = i
    _q_sift(q, r, i)


@nb.njit(cache=True)
def _q_remove(q, r, i):
    """Remove slot ``i`` of resource ``r``'s queue and return its patient."""
    patient = q.patient[r, i]
    last = q.size[r] - 1
    if i != last:
        _q_swap(q, r, i, last)
    q.size[r] = last
    if i != last:
        _q_sift(q, r, i)
    return patient


# -- rows, units and shifts --------------------------------------------------------------
@nb.njit(cache=True)
def _emit(out, cnt, patient, code, life, t, unit):
    n = cnt[C_OUT]
    if n == out.shape[1]:
        cnt[C_OVERFLOW] = 1
        return
    out[O_PATIENT, n], out[O_CODE, n], out[O_LIFE, n] = patient, code, life
    out[O_TIME, n], out[O_UNIT, n] = np.int64(round(t * 60.0)), unit
    cnt[C_OUT] = n + 1


@nb.njit(cache=True)
def _take(res, r, highest):
    """Take the lowest (or highest) free unit of ``r``; return its number."""
    cap = res.free.shape[1] - 1
    u = cap if highest else 1
    while not res.free[r, u]:
        u += -1 if highest else 1
    res.free[r, u] = False
    res.n_free[r] -= 1
    return u


@nb.njit(cache=True)
def _give(res, r, unit):
    res.free[r, unit] = True
    res.n_free[r] += 1


@nb.njit(cache=True)
def _off_duty(res, r, wanted):
    """Move ``r`` towards ``wanted`` units off duty (latest off-duty request undone first)."""
    while res.n_off[r] + res.pending[r] < wanted:
        if res.n_free[r] > 0:
            res.off[r, res.n_off[r]] = _take(res, r, True)
            res.n_off[r] += 1
        else:
            res.pending[r] += 1
    while res.n_off[r] + res.pending[r] > wanted:
        if res.pending[r] > 0:
            res.pending[r] -= 1
        else:
            res.n_off[r] -= 1
            _give(res, r, res.off[r, res.n_off[r]])


# -- patients ----------------------------------------------------------------------------
@nb.njit(cache=True)
def _start(tab, pat, ev, out, cnt, bits, i, t, unit):
    a = pat.act[i]
    pat.phase[i], pat.unit[i] = P_SERVICE, unit
    _emit(out, cnt, i, a, START, t, unit)
    duration = sample_service(tab.act_dist[a], tab.act_params[a], bits)
    _push(ev, cnt, t + duration, E_COMPLETE, i, pat.token[i])


@nb.njit(cache=True)
def _serve(tab, pat, q, res, ev, out, cnt, bits, r, t):
    """Start waiting patients of ``r`` while it has free units on duty."""
    while q.size[r] > 0 and res.n_free[r] > 0:
        i = _q_remove(q, r, 0)
        _start(tab, pat, ev, out, cnt, bits, i, t, _take(res, r, False))


@nb.njit(cache=True)
def _release(tab, pat, q, res, ev, out, cnt, bits, r, unit, t):
    _give(res, r, unit)
    if res.pending[r] > 0:  # an off-duty request goes ahead of every patient
        res.pending[r] -= 1
        res.off[r, res.n_off[r]] = _take(res, r, True)
        res.n_off[r] += 1
    _serve(tab, pat, q, res, ev, out, cnt, bits, r, t)


@nb.njit(cache=True)
def _visit(tab, attrs, pat, q, res, ev, out, cnt, bits, i, a, t):
    """Patient ``i`` joins activity ``a`` at ``t``: start now or wait in the queue."""
    pat.act[i] = a
    pat.token[i] += 1
    _emit(out, cnt, i, a, SCHEDULE, t, -1)
    r = tab.act_resource[a]
    if r < 0:
        _start(tab, pat, ev, out, cnt, bits, i, t, -1)
    elif q.size[r] == 0 and res.n_free[r] > 0:
        _start(tab, pat, ev, out, cnt, bits, i, t, _take(res, r, False))
    else:
        prio = attrs[tab.act_prio[a], i] if tab.act_prio[a] >= 0 else 0.0
        _q_push(q, r, i, prio, cnt[C_SEQ])
        cnt[C_SEQ] += 1
        pat.phase[i] = P_WAITING
        if tab.act_patience[a] and tab.patience_dist >= 0:
            _push(ev, cnt, t + pat.patience[i], E_RENEGE, i, pat.token[i])


@nb.njit(cache=True)
def _route(tab, cond, bits, i, a):
    """Next code after activity ``a``: first condition that holds, else a weighted draw."""
    for j in range(tab.cond_ptr[a], tab.cond_ptr[a + 1]):
        if cond[i, j]:
            return tab.cond_target[j]
    lo, hi = tab.prob_ptr[a], tab.prob_ptr[a + 1]
    if hi - lo == 1:
        return tab.prob_target[lo]
    u = uniform(bits) * tab.prob_cum[hi - 1]
    k = lo
    while k < hi - 1 and tab.prob_cum[k] <= u:
        k += 1
    return tab.prob_target[k]


@nb.njit(cache=True)
def _finish(pat, out, cnt, i, code, t):
    pat.phase[i] = P_DONE
    _emit(out, cnt, i, code, COMPLETE, t, -1)
    cnt[C_DONE] += 1


@nb.njit(cache=True)
def _leave_service(tab, pat, q, res, ev, out, cnt, bits, i, t):
    """Release the unit of patient ``i`` (in service) if it holds one."""
    r = tab.act_resource[pat.act[i]]
    if r >= 0:
        _release(tab, pat, q, res, ev, out, cnt, bits, r, pat.unit[i], t)


@nb.njit(cache=True)
def _on_event(tab, attrs, cond, pat, q, res, ev, out, cnt, bits, t, kind, i, token, start_minute):
    """Handle one popped event (see ``E_*``); stale events do nothing."""
    if kind == E_SHIFT:
        _shift(tab, pat, q, res, ev, out, cnt, bits, t, token, start_minute)
        return
    if pat.phase[i] == P_DONE or (kind != E_DEATH and token != pat.token[i]):
        return
    a = pat.act[i]
    if kind == E_COMPLETE and pat.phase[i] == P_SERVICE:
        _emit(out, cnt, i, a, COMPLETE, t, pat.unit[i])
        _leave_service(tab, pat, q, res, ev, out, cnt, bits, i, t)
        nxt = _route(tab, cond, bits, i, a)
        if nxt < tab.act_resource.shape[0]:
            _visit(tab, attrs, pat, q, res, ev, out, cnt, bits, i, nxt, t)
        else:
            _finish(pat, out, cnt, i, nxt, t)
    elif pat.phase[i] == P_WAITING and kind != E_COMPLETE:
        r = tab.act_resource[a]
        _q_remove(q, r, q.pos[i])
        _finish(pat, out, cnt, i, tab.death_code if kind == E_DEATH else tab.patience_code, t)
    elif kind == E_DEATH and pat.phase[i] == P_SERVICE:
        _finish(pat, out, cnt, i, tab.death_code, t)
        _leave_service(tab, pat, q, res, ev, out, cnt, bits, i, t)


@nb.njit(cache=True)
def _shift(tab, pat, q, res, ev, out, cnt, bits, t, hour, start_minute):
    """Apply the duty roster of absolute ``hour`` and schedule the next hour's change."""
    for r in range(tab.res_capacity.shape[0]):
        _off_duty(res, r, tab.res_capacity[r] - tab.res_duty[r, hour % 24])
        _serve(tab, pat, q, res, ev, out, cnt, bits, r, t)
    _push(ev, cnt, (hour + 1) * 60.0 - start_minute, E_SHIFT, -1, hour + 1)


def _state(tab, n, ev_cap):
    n_res, cmax = tab.res_capacity.shape[0], int(tab.res_capacity.max(initial=1))
    free = np.zeros((n_res, cmax + 1), np.bool_)
    for r, cap in enumerate(tab.res_capacity):
        free[r, 1 : cap + 1] = True
    pat = Patients(*(np.zeros(n, np.int64) for _ in range(4)), np.zeros(n), np.zeros(n))
    q = Queues(
        np.zeros((n_res, n)),
        np.zeros((n_res, n), np.int64),
        np.zeros((n_res, n), np.int64),
        np.zeros(n_res, np.int64),
        np.zeros(n, np.int64),
    )
    res = Units(
        free,
        tab.res_capacity.copy(),
        np.zeros((n_res, cmax), np.int64),
        np.zeros(n_res, np.int64),
        np.zeros(n_res, np.int64),
    )
    return pat, q, res, Events(np.zeros(ev_cap), np.zeros((ev_cap, 4), np.int64))


@nb.njit(cache=True)
def run(tab, arrivals, attrs, cond, start_minute, pat, q, res, ev, out, cnt, bits):
    """Simulate every patient of ``arrivals`` (sorted minutes) until all reach a terminal.

    ``attrs`` is float64[n_attributes, n], ``cond`` bool[n, C] (see
    :func:`~scenarios.patients.compile.evaluate_conditions`); the state arrays are fresh from
    the wrapper. Returns nothing: rows are in ``out[:, :cnt[C_OUT]]``; ``cnt[C_OVERFLOW]``
    is 1 if a buffer filled up (the run is then incomplete).
    """
    n = arrivals.shape[0]
    shifted = False
    for r in range(tab.res_capacity.shape[0]):
        shifted = shifted or (tab.res_duty[r] != tab.res_capacity[r]).any()
    if shifted:
        _shift(
            tab, pat, q, res, ev, out, cnt, bits, 0.0, np.int64(start_minute // 60), start_minute
        )
    k = 0
    while cnt[C_DONE] < n and cnt[C_OVERFLOW] == 0:
        if k < n and (cnt[C_EV] == 0 or arrivals[k] <= ev.t[0]):
            t = arrivals[k]
            if tab.patience_dist >= 0:
                pat.patience[k] = sample_service(tab.patience_dist, tab.patience_params, bits)
            if tab.death_mean < np.inf:
                death = t - tab.death_mean * math.log(1.0 - uniform(bits))
                _push(ev, cnt, death, E_DEATH, k, 0)
            _visit(tab, attrs, pat, q, res, ev, out, cnt, bits, k, tab.start, t)
            k += 1
        else:
            t, kind, i, token = _pop(ev, cnt)
            _on_event(
                tab, attrs, cond, pat, q, res, ev, out, cnt, bits, t, kind, i, token, start_minute
            )


# -- Python side -------------------------------------------------------------------------
def poisson_arrivals(
    arrivals_per_hour: float | Callable[[np.ndarray], np.ndarray],
    horizon_minutes: float,
    rng: np.random.Generator,
    peak_per_hour: float | None = None,
) -> np.ndarray:
    """Poisson arrival times in ``[0, horizon_minutes)``, vectorised.

    Parameters
    ----------
    arrivals_per_hour : float or callable
        Constant rate per hour, or a vectorised function of minutes (array in, array out)
        bounded by ``peak_per_hour`` (thinning).
    horizon_minutes : float
    rng : numpy.random.Generator
        Source of the count, the times and the thinning draws.
    peak_per_hour : float, optional
        Required with a callable rate.

    Returns
    -------
    numpy.ndarray of float64, sorted minutes.
    """
    peak = arrivals_per_hour if peak_per_hour is None else peak_per_hour
    if callable(peak) or not peak >= 0:
        raise ConfigError(f"peak_per_hour must be a number >= 0 with a callable rate; got {peak!r}")
    times = np.sort(rng.uniform(0.0, horizon_minutes, rng.poisson(peak * horizon_minutes / 60)))
    if callable(arrivals_per_hour):
        rates = np.broadcast_to(np.asarray(arrivals_per_hour(times), float), times.shape)
        if ((rates < 0) | (rates > peak)).any():
            raise ConfigError(f"arrivals_per_hour must stay in [0, peak_per_hour={peak!r}]")
        times = times[rng.random(times.size) * peak < rates]
    return times


def sample_attributes(
    n: int, rng: np.random.Generator, acuity_shares=ACUITY_SHARES, age_low=0, age_high=95
) -> dict[str, np.ndarray]:
    """``acuity`` and ``age`` of ``n`` patients, distributed as the reference's
    :class:`~scenarios.patients.reference.AttributeSampler` (int64 arrays of shape (n,))."""
    cum = np.cumsum(acuity_shares)
    acuity = np.minimum(np.searchsorted(cum, rng.random(n), side="right") + 1, len(cum))
    return {"acuity": acuity.astype(np.int64), "age": rng.integers(age_low, age_high + 1, n)}


def _rows_per_patient(pathway: Pathway) -> int:
    """Most rows one patient can emit: 3 per activity on the longest path, plus the outcome
    (a cyclic pathway counts each activity once; the wrapper grows buffers if needed)."""
    depth: dict[str, int] = {}

    def longest(act: str, seen: frozenset) -> int:
        if act not in pathway.activities or act in seen:
            return 0
        if act not in depth:
            targets = {t.target for t in pathway.outgoing(act)}
            depth[act] = 1 + max((longest(t, seen | {act}) for t in targets), default=0)
        return depth[act]

    return 3 * min(longest(pathway.start, frozenset()), len(pathway.activities)) + 1


def _frame(compiled, out: np.ndarray, attributes, start: datetime) -> pd.DataFrame:
    """The event log from the kernel's rows, vectorised (no per-row Python): sorted by
    patient (stable, so each case stays in time order), same columns as ``event_frame``."""
    out = out[:, np.argsort(out[O_PATIENT], kind="stable")]
    labels = [""]
    offsets = np.zeros(len(compiled.resources), np.int64)
    for r, name in enumerate(compiled.resources):
        offsets[r] = len(labels) - 1
        labels += [f"{name}-{u}" for u in range(1, compiled.tables.res_capacity[r] + 1)]
    act_res = np.append(compiled.tables.act_resource, np.full(len(compiled.terminal), -1))
    unit = out[O_UNIT]
    label_idx = np.where(unit > 0, offsets[act_res[out[O_CODE]]] + unit, 0)
    cases = out[O_PATIENT]
    frame = pd.DataFrame({
        COLUMNS[0]: cases.astype(str).astype(object),
        COLUMNS[1]: np.asarray(compiled.names, dtype=object)[out[O_CODE]],
        COLUMNS[2]: pd.Timestamp(start) + pd.to_timedelta(out[O_TIME] * 10**9, unit="ns"),
        COLUMNS[3]: np.asarray(labels, dtype=object)[label_idx],
        COLUMNS[4]: np.asarray(LIFECYCLE, dtype=object)[out[O_LIFE]],
    })  # fmt: skip
    for name in compiled.attributes:
        frame[f"case:{name}"] = np.asarray(attributes[name])[cases]
    return frame


def simulate_kernel(
    pathway: Pathway,
    *,
    arrival_times_minutes: np.ndarray,
    attributes: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    start: datetime,
) -> pd.DataFrame:
    """Simulate ``pathway`` with the Numba kernel and return the reference's event log.

    Parameters
    ----------
    pathway : Pathway
    arrival_times_minutes : numpy.ndarray of float, shape (n,)
        Sorted arrival minutes since ``start`` (e.g. from :func:`poisson_arrivals`).
    attributes : Mapping[str, numpy.ndarray]
        Every declared attribute, one numeric array of shape (n,) (e.g.
        :func:`sample_attributes`).
    rng : numpy.random.Generator
        Seeds the kernel's xoshiro state (service times, patience, death, branches).
    start : datetime.datetime
        Real time of minute 0; also sets the hour of day for shifts.

    Returns
    -------
    pandas.DataFrame
        Same columns and row order as :func:`scenarios.patients.reference.simulate`
        (:mod:`scenarios.patients.eventlog`), timestamps to the second.
    """
    arrivals = np.ascontiguousarray(arrival_times_minutes, dtype=np.float64)
    if arrivals.ndim != 1 or (np.diff(arrivals) < 0).any() or (arrivals < 0).any():
        raise ConfigError("arrival_times_minutes must be a sorted 1-D array of minutes >= 0.")
    compiled = compile_pathway(pathway)
    n = arrivals.size
    for name in compiled.attributes:
        if name in attributes and np.shape(attributes[name]) != (n,):
            raise ConfigError(f"attribute {name!r} must have shape ({n},), one per arrival.")
    cond = evaluate_conditions(compiled, attributes)
    attrs = np.zeros((len(compiled.attributes), n))
    for row, name in enumerate(compiled.attributes):
        attrs[row] = attributes[name]
    start_minute = start.hour * 60 + start.minute + start.second / 60
    bits0, out_cap, ev_cap = new_bits(rng), _rows_per_patient(pathway) * n + 64, 4 * n + 64
    while True:
        pat, q, res, ev = _state(compiled.tables, n, ev_cap)
        out, cnt, bits = np.zeros((N_OUT, out_cap), np.int64), np.zeros(5, np.int64), bits0.copy()
        run(compiled.tables, arrivals, attrs, cond, start_minute, pat, q, res, ev, out, cnt, bits)
        if not cnt[C_OVERFLOW]:
            break
        out_cap, ev_cap = out_cap * 2, ev_cap * 2
    frame = _frame(compiled, out[:, : cnt[C_OUT]], attributes, start)
    return frame
