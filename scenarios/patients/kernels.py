"""Numba discrete-event kernel of patient pathways: the SimPy reference model over arrays.

The behaviour is that of :mod:`scenarios.patients.reference` (read its docstring): priority
queues per resource, lowest free unit first, shifts that take free units off duty (highest
first, ahead of every patient, never pre-empting), patience (leaving without being seen),
deterioration, death, readmission, routing by conditions then probabilities, and the
attribute effects of :mod:`scenarios.patients.effects` (per-patient factors ``fac``). Times are
float64 minutes inside the kernel; output times are int64 seconds (rounded).

State
-----
Every function takes the run's :class:`~scenarios.patients.state.Sim` ``s`` (fields listed
in :mod:`scenarios.patients.state`). Case slots are ``0..n-1`` for the arrivals given, in
arrival order, then ``n, n+1, ...`` for readmissions in the order they are decided (the
caller renumbers cases in order of arrival).
Codes of activities, terminal states and distributions are those of
:mod:`scenarios.patients.compile`.

A case has three clocks, indexed by ``CLOCK_*``: its own next step (``kind``:
``K_COMPLETE`` a service, ``K_RENEGE`` a wait, ``K_ARRIVE`` a readmission), death and
deterioration. Its entry in the agenda (:mod:`scenarios.patients.queues`) is its earliest
clock; entity ``P`` (the number of case slots) is the hourly shift clock.

Event rows go to ``out_case`` int32, ``out_code`` int16, ``out_second`` int64 (since
minute 0), ``out_unit`` int32 (index in the log's unit vocabulary,
:mod:`scenarios.patients.eventlog`, or -1) and ``out_life`` int8 (0 schedule, 1 start,
2 complete), in simulation order. ``cnt`` int64[6] holds the counters ``C_*`` (rows,
sequence, cases in or bound for the hospital, cases created, overflow flag, resources marked
``dirty``). When a buffer is full the kernel stops with the flag set and the caller reruns
with larger buffers from the same random key.

Blocking: after a service of an activity with ``act_hold``, the case keeps its unit
(``held``, ``held_unit``, ``held_act``) and frees it when it starts an activity that
``act_release`` names (:func:`_start`), or when the case ends (:func:`_finish`). A unit
freed that way marks its resource ``dirty`` instead of serving its queue at once (which
would start another case, and free another held unit, in a recursion Numba cannot
compile); the main loop serves the dirty resources (:func:`_drain`) at the same minute,
before the next event.

Randomness: every case draws from its own xoshiro256** state (``bits[i]``,
:mod:`simulations.bits`): arrival ``i``'s from the run's key and ``i``, a readmission's from
a draw of the visit it follows. A case's service times, branches, patience and clocks are
therefore the same whatever happens to other cases, so two runs that differ in one setting
(a capacity) share their random numbers patient by patient (common random numbers), and
differences between them are the setting's effect rather than reshuffled draws.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from scenarios.patients.draws import exponential, sample_service
from scenarios.patients.effects import local_hour, return_time, with_odds
from scenarios.patients.queues import (
    agenda_remove,
    agenda_set,
    queue_push,
    queue_remove,
    queue_reprioritise,
)
from scenarios.patients.state import Sim
from simulations.bits import next_u64, seed_bits, uniform

__all__ = ["run"]

CLOCK_STEP, CLOCK_DEATH, CLOCK_DETERIORATION = range(3)
K_COMPLETE, K_RENEGE, K_ARRIVE = range(3)
P_PENDING, P_WAITING, P_SERVICE, P_DONE = range(4)
C_OUT, C_SEQ, C_ACTIVE, C_CASES, C_OVERFLOW, C_DIRTY = range(6)
SCHEDULE, START, COMPLETE = range(3)
_KEY_STEP = np.uint64(0x632BE59BD9B4E019)  # odd: arrivals' keys never share a SplitMix run
ESCALATED = -1e300  # queue priority of a deteriorated patient: ahead of every other

# -- output rows, clocks -----------------------------------------------------------------
@nb.njit(cache=True)
def _emit(s, case, code, life, t, unit):
    n = s.cnt[C_OUT]
    if n == s.out_case.shape[0]:
        s.cnt[C_OVERFLOW] = 1
        return
    s.out_case[n], s.out_code[n], s.out_life[n] = case, code, life
    s.out_second[n], s.out_unit[n] = np.int64(round(t * 60.0)), unit
    s.cnt[C_OUT] = n + 1


@nb.njit(cache=True)
def _set_clock(s, i, which, t):
    """Set clock ``which`` of case ``i`` to ``t`` (``inf`` clears it), in scheduling order."""
    s.clock_t[i, which] = t
    s.clock_seq[i, which] = s.cnt[C_SEQ]
    s.cnt[C_SEQ] += 1


@nb.njit(cache=True)
def _clock(s, i, which, t):
    """:func:`_set_clock`, then re-file the case in the agenda."""
    _set_clock(s, i, which, t)
    _refile(s, i)


@nb.njit(cache=True)
def _earliest(s, i):
    best = 0
    for c in range(1, 3):
        t, b = s.clock_t[i, c], s.clock_t[i, best]
        if t < b or (t == b and s.clock_seq[i, c] < s.clock_seq[i, best]):
            best = c
    return best


@nb.njit(cache=True)
def _refile(s, i):
    c = _earliest(s, i)
    if s.clock_t[i, c] == math.inf:
        agenda_remove(s, i)
    else:
        agenda_set(s, i, s.clock_t[i, c], s.clock_seq[i, c])


@nb.njit(cache=True)
def _unit_index(s, a, unit):
    """Index in the log's unit vocabulary of ``unit`` of activity ``a``'s resource."""
    return s.unit_base[s.act_resource[a]] + unit if unit > 0 else -1


# -- units and shifts --------------------------------------------------------------------
@nb.njit(cache=True)
def _take(s, r, highest):
    """Take the lowest (or highest) free unit of ``r``; return its number."""
    cap = s.free.shape[1] - 1
    u = cap if highest else 1
    while not s.free[r, u]:
        u += -1 if highest else 1
    s.free[r, u] = False
    s.n_free[r] -= 1
    return u


@nb.njit(cache=True)
def _off_duty(s, r, wanted):
    """Move ``r`` towards ``wanted`` units off duty (latest off-duty request undone first)."""
    while s.n_off[r] + s.pending[r] < wanted:
        if s.n_free[r] > 0:
            s.off[r, s.n_off[r]] = _take(s, r, True)
            s.n_off[r] += 1
        else:
            s.pending[r] += 1
    while s.n_off[r] + s.pending[r] > wanted:
        if s.pending[r] > 0:
            s.pending[r] -= 1
        else:
            s.n_off[r] -= 1
            u = s.off[r, s.n_off[r]]
            s.free[r, u] = True
            s.n_free[r] += 1


# -- a case's steps ----------------------------------------------------------------------
@nb.njit(cache=True)
def _start(s, i, t, unit):
    a = s.act[i]
    s.phase[i], s.unit[i], s.kind[i] = P_SERVICE, unit, K_COMPLETE
    if s.held[i] >= 0 and s.act_release[s.held_act[i], a]:
        _unhold(s, i)
    _emit(s, i, a, START, t, _unit_index(s, a, unit))
    service = sample_service(s.act_dist[a], s.act_params[a], s.bits[i])
    if s.act_scale[a] >= 0:
        service *= s.fac[s.act_scale[a], s.root[i]]
    _clock(s, i, CLOCK_STEP, t + service)


@nb.njit(cache=True)
def _serve(s, r, t):
    """Start waiting patients of ``r`` while it has free units on duty."""
    while s.q_size[r] > 0 and s.n_free[r] > 0:
        i = queue_remove(s, r, 0)
        _start(s, i, t, _take(s, r, False))


@nb.njit(cache=True)
def _free(s, r, u):
    """Free unit ``u`` of ``r``; a pending off-duty request takes a unit first."""
    s.free[r, u] = True
    s.n_free[r] += 1
    if s.pending[r] > 0:  # an off-duty request goes ahead of every patient
        s.pending[r] -= 1
        s.off[r, s.n_off[r]] = _take(s, r, True)
        s.n_off[r] += 1


@nb.njit(cache=True)
def _release(s, i, t):
    """Free the unit case ``i`` is served by (if any) and give it to the next in line."""
    r = s.act_resource[s.act[i]]
    if r < 0:
        return
    _free(s, r, s.unit[i])
    _serve(s, r, t)


@nb.njit(cache=True)
def _unhold(s, i):
    """Free the unit case ``i`` kept after its last service (if any); mark its resource
    dirty so that :func:`_drain` serves its queue."""
    r = s.held[i]
    if r < 0:
        return
    _free(s, r, s.held_unit[i])
    s.held[i], s.held_unit[i], s.held_act[i] = -1, -1, -1
    if not s.dirty[r]:
        s.dirty[r] = True
        s.cnt[C_DIRTY] += 1


@nb.njit(cache=True)
def _drain(s, t):
    """Serve the queues of dirty resources, in resource order, until none is dirty."""
    while s.cnt[C_DIRTY] > 0:
        for r in range(s.dirty.shape[0]):
            if s.dirty[r]:
                s.dirty[r] = False
                s.cnt[C_DIRTY] -= 1
                _serve(s, r, t)


@nb.njit(cache=True)
def _visit(s, i, a, t):
    """Case ``i`` joins activity ``a`` at ``t``: start now or wait in the queue."""
    s.act[i] = a
    _emit(s, i, a, SCHEDULE, t, -1)
    r = s.act_resource[a]
    if r < 0:
        _start(s, i, t, -1)
    elif s.q_size[r] == 0 and s.n_free[r] > 0:
        _start(s, i, t, _take(s, r, False))
    else:
        if s.deteriorated[i]:
            prio = ESCALATED
        else:
            prio = s.attrs[s.act_prio[a], s.root[i]] if s.act_prio[a] >= 0 else 0.0
        if not queue_push(s, r, i, prio, s.cnt[C_SEQ]):
            s.cnt[C_OVERFLOW] = 1
            return
        s.cnt[C_SEQ] += 1
        s.phase[i], s.kind[i] = P_WAITING, K_RENEGE
        renege = t + s.patience[i] if s.act_patience[a] else math.inf
        _clock(s, i, CLOCK_STEP, renege)


@nb.njit(cache=True)
def _route(s, i, a):
    """Next code of case ``i`` after activity ``a``: first condition that holds, else a
    weighted draw from the case's own stream."""
    root = s.root[i]
    for j in range(s.cond_ptr[a], s.cond_ptr[a + 1]):
        if s.cond[root, j]:
            return s.cond_target[j]
    lo, hi = s.prob_ptr[a], s.prob_ptr[a + 1]
    if hi - lo == 1:
        return s.prob_target[lo]
    if s.act_odds[a] >= 0:  # one branch's odds scaled by the patient's table value
        k = s.act_odds_k[a]
        p = s.prob_p[k]
        q = with_odds(p, s.fac[s.act_odds[a], root])
        rest = (1.0 - q) / (1.0 - p) if p < 1.0 else 0.0
        u = uniform(s.bits[i])
        acc = 0.0
        for j in range(lo, hi):
            acc += q if j == k else s.prob_p[j] * rest
            if u < acc:
                return s.prob_target[j]
        return s.prob_target[hi - 1]
    u = uniform(s.bits[i]) * s.prob_cum[hi - 1]
    k = lo
    while k < hi - 1 and s.prob_cum[k] <= u:
        k += 1
    return s.prob_target[k]


@nb.njit(cache=True)
def _death_mean(s, i, mean):
    """``mean`` minutes to death divided by case ``i``'s hazard multiplier (if any)."""
    if s.death_row < 0:
        return mean
    m = s.fac[s.death_row, s.root[i]]
    return mean / m if m > 0.0 else math.inf


@nb.njit(cache=True)
def _arrive(s, i, t):
    """Case ``i`` arrives: draw its patience and adverse-event clocks, then start."""
    s.arrival[i] = t
    if s.patience_dist >= 0:
        s.patience[i] = sample_service(s.patience_dist, s.patience_params, s.bits[i])
        if s.patience_row >= 0:
            s.patience[i] *= s.fac[s.patience_row, s.root[i]]
    s.clock_t[i, CLOCK_STEP] = math.inf
    bits = s.bits[i]
    _set_clock(s, i, CLOCK_DEATH, t + exponential(_death_mean(s, i, s.death_mean), bits))
    _set_clock(s, i, CLOCK_DETERIORATION, t + exponential(s.deterioration_mean, bits))
    _visit(s, i, s.start, t)  # files the case in the agenda


@nb.njit(cache=True)
def _finish(s, i, code, t):
    """Case ``i`` reaches terminal ``code``; a discharge may schedule a readmission."""
    s.phase[i] = P_DONE
    _unhold(s, i)
    _emit(s, i, code, COMPLETE, t, -1)
    agenda_remove(s, i)
    s.cnt[C_ACTIVE] -= 1
    if s.readmission <= 0.0 or not s.discharge[code]:
        return
    ratio = s.readmit_odds[code]
    if s.readmit_row >= 0:
        ratio *= s.fac[s.readmit_row, s.root[i]]
    bits = s.bits[i]
    if uniform(bits) < with_odds(s.readmission, ratio):
        if s.return_mean_days > 0.0:
            u1, u2, u3 = uniform(bits), uniform(bits), uniform(bits)
        else:
            u1, u2, u3 = uniform(bits), 0.0, 0.0
        back = return_time(t, s.start_minute, s.return_mean_days, s.hour_cum, s.offsets,
                           u1, u2, u3)
        if back < s.horizon:
            j = s.cnt[C_CASES]
            if j == s.phase.shape[0]:
                s.cnt[C_OVERFLOW] = 1
                return
            s.cnt[C_CASES] = j + 1
            s.cnt[C_ACTIVE] += 1
            s.root[j], s.parent[j], s.phase[j], s.kind[j] = s.root[i], i, P_PENDING, K_ARRIVE
            _seed_case(s, j, next_u64(bits))
            _clock(s, j, CLOCK_STEP, back)


@nb.njit(cache=True)
def _deteriorate(s, i, t):
    """Log the deterioration, redraw death at the raised hazard, jump the queue."""
    _emit(s, i, s.deterioration_code, COMPLETE, t, -1)
    s.deteriorated[i] = True
    s.clock_t[i, CLOCK_DETERIORATION] = math.inf
    if s.phase[i] == P_WAITING:
        queue_reprioritise(s, s.act_resource[s.act[i]], i, ESCALATED, s.cnt[C_SEQ])
        s.cnt[C_SEQ] += 1
    bits = s.bits[i]
    _clock(s, i, CLOCK_DEATH, t + exponential(_death_mean(s, i, s.death_mean_after), bits))


@nb.njit(cache=True)
def _step(s, i, t):
    """Handle case ``i``'s earliest clock, due at ``t``."""
    which = _earliest(s, i)
    if which == CLOCK_DETERIORATION:
        _deteriorate(s, i, t)
        return
    s.clock_t[i, which] = math.inf
    kind = s.kind[i]
    if which == CLOCK_STEP and kind == K_ARRIVE:
        _arrive(s, i, t)
    elif which == CLOCK_STEP and kind == K_COMPLETE:
        a = s.act[i]
        _emit(s, i, a, COMPLETE, t, _unit_index(s, a, s.unit[i]))
        if s.act_hold[a]:  # blocking: keep the unit until a release activity starts
            s.held[i], s.held_unit[i], s.held_act[i] = s.act_resource[a], s.unit[i], a
        else:
            _release(s, i, t)
        nxt = _route(s, i, a)
        if nxt < s.act_resource.shape[0]:
            _visit(s, i, nxt, t)
        else:
            _finish(s, i, nxt, t)
    elif s.phase[i] == P_WAITING:  # renege or death in the queue
        queue_remove(s, s.act_resource[s.act[i]], s.q_pos[i])
        code = s.patience_code if which == CLOCK_STEP else s.death_code
        _finish(s, i, code, t)
    else:  # death in service: the activity gets no complete row
        _finish(s, i, s.death_code, t)
        _release(s, i, t)


@nb.njit(cache=True)
def _shift(s, t, hour):
    """Apply the duty roster of absolute ``hour`` and schedule the next hour's change."""
    for r in range(s.res_capacity.shape[0]):
        _off_duty(s, r, s.res_capacity[r] - s.res_duty[r, local_hour(hour, s.start_minute,
                                                                      s.offsets)])
        _serve(s, r, t)
    shift = s.phase.shape[0]
    agenda_set(s, shift, (hour + 1) * 60.0 - s.start_minute, s.cnt[C_SEQ])
    s.cnt[C_SEQ] += 1


@nb.njit(cache=True)
def _seed_case(s, i, key):
    """Give case ``i`` its own xoshiro256** state, seeded from ``key``."""
    seed_bits(s.bits[i], key)


@nb.njit(cache=True)
def _loop(s, arrivals, base):
    n = arrivals.shape[0]
    s.root[:n] = np.arange(n)
    for i in range(n):  # arrival i's stream depends on the seed and i only
        _seed_case(s, i, base + np.uint64(i) * _KEY_STEP)
    s.cnt[C_CASES] = n
    shift = s.phase.shape[0]
    if (s.res_duty != s.res_capacity.reshape(-1, 1)).any():
        _shift(s, 0.0, np.int64(s.start_minute // 60))
    k = 0
    while (k < n or s.cnt[C_ACTIVE] > 0) and s.cnt[C_OVERFLOW] == 0:
        if k < n and (s.ag_size[0] == 0 or arrivals[k] <= s.ag_t[s.ag_heap[0]]):
            s.cnt[C_ACTIVE] += 1
            t = arrivals[k]
            _arrive(s, k, t)
            k += 1
        else:
            e = s.ag_heap[0]
            t = s.ag_t[e]
            if e == shift:
                _shift(s, t, np.int64(round((t + s.start_minute) / 60.0)))
            else:
                _step(s, e, t)
        if s.cnt[C_DIRTY] > 0:
            _drain(s, t)


@nb.njit(cache=True)
def run(tab, attrs, cond, fac, hour_cum, offsets, start_minute, horizon, buffers, arrivals,
        base):
    """Simulate every case of ``arrivals`` (sorted minutes) and their readmissions until all
    reach a terminal state.

    ``tab`` is the pathway's :class:`~scenarios.patients.compile.Tables` as a plain tuple,
    ``attrs`` float64[n_attributes, n], ``cond`` bool[n, C] (see
    :func:`~scenarios.patients.compile.evaluate_conditions`), ``fac`` float64[T, n],
    ``hour_cum`` float64[24] and ``offsets`` float64[D] (attribute effects and return hours,
    see :mod:`scenarios.patients.state`), ``start_minute`` the minute
    of the day of minute 0, ``horizon`` the end of arrivals (minutes), ``buffers`` fresh
    :class:`~scenarios.patients.state.Buffers` as a plain tuple, ``base`` the uint64 key of
    the per-case random streams (see the module docstring). Returns nothing: rows are
    the first ``cnt[C_OUT]`` entries of the ``out_*`` arrays, cases ``0..cnt[C_CASES]-1``;
    ``cnt[C_OVERFLOW]`` is 1 if a buffer filled up (the run is then incomplete).
    """
    _loop(Sim(*tab, attrs, cond, fac, hour_cum, offsets, start_minute, horizon, *buffers),
          arrivals, base)
