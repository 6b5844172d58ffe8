"""Priority structures of the patients kernel: Numba functions over a
:class:`~scenarios.patients.state.Sim`'s ``ag_*`` and ``q_*`` arrays.

Agenda : the future-event list, an *indexed* binary min-heap of entities (cases, plus one
    entity for the shift clock). Each entity has at most one entry, keyed by its next event
    time ``ag_t[e]`` (minutes) and ``ag_seq[e]``, the scheduling order that breaks ties in
    time; ``ag_heap`` holds entities, ``ag_pos`` each entity's slot (-1 when absent) and
    ``ag_size[0]`` the entry count. Rescheduling moves an entry in place, so the heap never
    holds stale events and its size is the number of cases in (or bound for) the hospital.
Queues : one binary min-heap of waiting patients per resource ``r``: ``q_prio[r]`` (lower
    first), ``q_seq[r]`` (ties first come first served), ``q_patient[r]``, ``q_size[r]``;
    ``q_pos[i]`` is waiting case ``i``'s slot, so a case that leaves the queue is removed
    in O(log Q). :func:`queue_push` returns False when a queue is full so the caller can
    rerun with more room.
"""

from __future__ import annotations

import numba as nb

__all__ = [
    "agenda_remove", "agenda_set", "queue_push", "queue_remove", "queue_reprioritise",
]  # fmt: skip


# -- agenda ------------------------------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _earlier(s, a, b):
    return s.ag_t[a] < s.ag_t[b] or (s.ag_t[a] == s.ag_t[b] and s.ag_seq[a] < s.ag_seq[b])


@nb.njit(cache=True)
def _place(s, e, i):
    s.ag_heap[i] = e
    s.ag_pos[e] = i


@nb.njit(cache=True)
def _sift(s, i):
    """Move the entry at slot ``i`` up or down to its place."""
    heap, e = s.ag_heap, s.ag_heap[i]
    while i > 0:
        parent = (i - 1) >> 1
        if not _earlier(s, e, heap[parent]):
            break
        _place(s, heap[parent], i)
        i = parent
    n = s.ag_size[0]
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _earlier(s, heap[child + 1], heap[child]):
            child += 1
        if not _earlier(s, heap[child], e):
            break
        _place(s, heap[child], i)
        i = child
    _place(s, e, i)


@nb.njit(cache=True)
def agenda_set(s, e, t, seq):
    """Schedule entity ``e`` at (``t``, ``seq``), replacing its entry if it has one."""
    s.ag_t[e], s.ag_seq[e] = t, seq
    i = s.ag_pos[e]
    if i < 0:
        i = s.ag_size[0]
        s.ag_size[0] = i + 1
        _place(s, e, i)
    _sift(s, i)


@nb.njit(cache=True)
def agenda_remove(s, e):
    """Drop entity ``e``'s entry, if any."""
    i = s.ag_pos[e]
    if i < 0:
        return
    s.ag_pos[e] = -1
    last = s.ag_size[0] - 1
    s.ag_size[0] = last
    if i != last:
        _place(s, s.ag_heap[last], i)
        _sift(s, i)


# -- waiting queues ----------------------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _q_less(s, r, i, j):
    return s.q_prio[r, i] < s.q_prio[r, j] or (
        s.q_prio[r, i] == s.q_prio[r, j] and s.q_seq[r, i] < s.q_seq[r, j]
    )


@nb.njit(cache=True)
def _q_swap(s, r, i, j):
    s.q_prio[r, i], s.q_prio[r, j] = s.q_prio[r, j], s.q_prio[r, i]
    s.q_seq[r, i], s.q_seq[r, j] = s.q_seq[r, j], s.q_seq[r, i]
    s.q_patient[r, i], s.q_patient[r, j] = s.q_patient[r, j], s.q_patient[r, i]
    s.q_pos[s.q_patient[r, i]] = i
    s.q_pos[s.q_patient[r, j]] = j


@nb.njit(cache=True)
def _q_sift(s, r, i):
    while i > 0 and _q_less(s, r, i, (i - 1) >> 1):
        _q_swap(s, r, i, (i - 1) >> 1)
        i = (i - 1) >> 1
    n = s.q_size[r]
    while True:
        child = 2 * i + 1
        if child >= n:
            return
        if child + 1 < n and _q_less(s, r, child + 1, child):
            child += 1
        if not _q_less(s, r, child, i):
            return
        _q_swap(s, r, i, child)
        i = child


@nb.njit(cache=True)
def queue_push(s, r, patient, prio, seq):
    """Add ``patient`` to resource ``r``'s queue; False (nothing added) if it is full."""
    i = s.q_size[r]
    if i == s.q_prio.shape[1]:
        return False
    s.q_size[r] = i + 1
    s.q_prio[r, i], s.q_seq[r, i], s.q_patient[r, i] = prio, seq, patient
    s.q_pos[patient] = i
    _q_sift(s, r, i)
    return True


@nb.njit(cache=True)
def queue_remove(s, r, i):
    """Remove slot ``i`` of resource ``r``'s queue (0 is the next to serve); return its
    patient."""
    patient = s.q_patient[r, i]
    last = s.q_size[r] - 1
    if i != last:
        _q_swap(s, r, i, last)
    s.q_size[r] = last
    if i != last:
        _q_sift(s, r, i)
    return patient


@nb.njit(cache=True)
def queue_reprioritise(s, r, patient, prio, seq):
    """Give waiting ``patient`` a new (``prio``, ``seq``) in resource ``r``'s queue."""
    i = s.q_pos[patient]
    s.q_prio[r, i], s.q_seq[r, i] = prio, seq
    _q_sift(s, r, i)
