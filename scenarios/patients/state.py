"""State of one run of the patients kernel: one Numba struct holding every array.

The kernel's functions take this single :class:`Sim` (a Numba ``StructRef``) rather than
tuples of arrays: Numba reference-counts each array passed to a function, and with some
sixty arrays per call that bookkeeping cost more than the simulation itself.

Fields
------
The pathway's :class:`~scenarios.patients.compile.Tables` fields, by their names; then
``attrs`` float64[n_attributes, n] and ``cond`` bool[n, C] (the arrivals' attributes and
precomputed conditions), ``fac`` float64[T, n] (per-patient factors of the attribute
tables, :func:`~scenarios.patients.compile.patient_factors`), ``hour_cum`` float64[24]
(cumulative shares of arrivals by hour, for return times), ``offsets`` float64[D] (minutes
the wall clock is ahead on each day, :func:`~scenarios.patients.effects.day_offsets`; empty
for none), ``start_minute`` (minute of
the day of minute 0) and ``horizon``
(minutes; readmissions due at or after it are not simulated); then the mutable arrays of
:class:`Buffers`, allocated by :func:`buffers`:

Cases, over P case slots (arrivals ``0..n-1`` in order, then readmissions):
    ``phase``, ``act``, ``unit`` (1-based or -1), ``root`` (the first visit: column of
    ``attrs`` and row of ``cond``), ``parent`` (case readmitted, or -1), ``kind`` (what the
    step clock does), ``held``, ``held_unit`` and ``held_act`` (resource, unit and activity
    of the unit kept after a service with a hold, until the case starts an activity of its
    ``hold_until`` or ends; -1 for none) int64[P]; ``patience``, ``arrival`` float64[P] (minutes);
    ``deteriorated`` bool[P];
    ``clock_t`` float64[P, 3] (absolute minutes, ``inf`` unset) and ``clock_seq``
    int64[P, 3], three clocks per case: its next step, death, deterioration.
Units, over R resources:
    ``free`` bool[R, cmax + 1] (unit numbers from 1), ``n_free`` int64[R], ``off``
    int64[R, cmax] (stack of units held off duty), ``n_off``, ``pending`` int64[R]
    (off-duty requests waiting for a unit), ``dirty`` bool[R] (a unit was freed while
    patients were being started; the resource's queue is served once that is done).
Agenda (the future-event list, :mod:`scenarios.patients.queues`), over P + 1 entities
    (cases, then the shift clock): ``ag_t`` float64, ``ag_seq``, ``ag_heap``, ``ag_pos``
    int64, ``ag_size`` int64[1].
Waiting queues, Q places per resource: ``q_prio`` float64[R, Q], ``q_seq``, ``q_patient``
    int64[R, Q], ``q_size`` int64[R], ``q_pos`` int64[P].
Output: ``out_case`` int32, ``out_code`` int16, ``out_second`` int64, ``out_unit`` int32,
    ``out_life`` int8, each of shape (rows,) (event rows, see
    :mod:`scenarios.patients.kernels`; compact, as they are most of the memory), ``cnt``
    int64[6] (counters), ``bits`` uint64[P, 4] (one xoshiro256** state per case, seeded by
    the kernel).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba.core import types
from numba.experimental import structref

from scenarios.patients.compile import Tables

__all__ = ["Buffers", "Sim", "SimType", "buffers"]

Buffers = namedtuple(
    "Buffers",
    "phase act unit root parent kind held held_unit held_act patience arrival deteriorated clock_t "
    "clock_seq free n_free off n_off pending dirty "
    "ag_t ag_seq ag_heap ag_pos ag_size "
    "q_prio q_seq q_patient q_size q_pos "
    "out_case out_code out_second out_unit out_life cnt bits",
)


@structref.register
class SimType(types.StructRef):
    """Numba type of :class:`Sim`."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class Sim(structref.StructRefProxy):
    """Every array of one kernel run (fields in the module docstring)."""


structref.define_proxy(
    Sim, SimType,
    [*Tables._fields, "attrs", "cond", "fac", "hour_cum", "offsets", "start_minute", "horizon",
     *Buffers._fields],
)  # fmt: skip


def buffers(capacity: np.ndarray, slots: int, queue_slots: int, rows: int) -> Buffers:
    """Fresh :class:`Buffers`: ``slots`` cases, ``queue_slots`` waiting places per resource,
    ``rows`` output rows, every unit free and on duty (``capacity`` int64[R])."""
    n_res, cmax = len(capacity), int(capacity.max(initial=1))
    free = np.zeros((n_res, cmax + 1), np.bool_)
    for r, cap in enumerate(capacity):
        free[r, 1 : cap + 1] = True

    def ints(*shape, fill=0):
        return np.full(shape, fill, np.int64)

    return Buffers(
        *(ints(slots, fill=-1) for _ in range(9)), np.zeros(slots), np.zeros(slots),
        np.zeros(slots, np.bool_),
        np.full((slots, 3), np.inf), ints(slots, 3),
        free, capacity.copy(), ints(n_res, cmax), ints(n_res), ints(n_res),
        np.zeros(n_res, np.bool_),
        np.full(slots + 1, np.inf), ints(slots + 1), ints(slots + 1), ints(slots + 1, fill=-1),
        ints(1),
        np.zeros((n_res, queue_slots)), ints(n_res, queue_slots), ints(n_res, queue_slots),
        ints(n_res), ints(slots),
        *(np.empty(rows, dtype) for dtype in (np.int32, np.int16, np.int64, np.int32, np.int8)),
        ints(6), np.zeros((slots, 4), np.uint64),  # rows past cnt[C_OUT] are never read
    )  # fmt: skip
