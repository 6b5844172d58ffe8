"""Run the Numba kernel (:mod:`scenarios.patients.kernels`) from Python: inputs, buffers,
and the event log.

:func:`simulate_kernel` takes arrival times and patient attributes as arrays, sizes the
kernel's buffers, reruns with larger ones if a buffer fills (from the same random key,
so the result does not depend on the first guess), and returns the same event log as the
SimPy reference (:mod:`scenarios.patients.eventlog`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np
import pandas as pd

from scenarios.patients.compile import compile_pathway, evaluate_conditions, patient_factors
from scenarios.patients.eventlog import log_frame, vocabulary
from scenarios.patients.kernels import C_CASES, C_OUT, C_OVERFLOW, run
from scenarios.patients.pathway import Pathway
from scenarios.patients.reference import acuity_for_age
from scenarios.patients.state import buffers
from simulations.bits import new_bits
from simulations.errors import ConfigError

__all__ = ["sample_attributes", "simulate_kernel"]

_QUEUE_SLOTS = 4096  # waiting places per resource at first; doubled when a queue fills


def sample_attributes(
    n: int, rng: np.random.Generator, acuity_shares=None, age_low=0, age_high=95
) -> dict[str, np.ndarray]:
    """``acuity`` and ``age`` of ``n`` patients, distributed as the reference's
    :class:`~scenarios.patients.reference.AttributeSampler` (int64 arrays of shape (n,)):
    acuity by age band (:data:`~scenarios.patients.reference.ACUITY_BY_AGE`) unless
    ``acuity_shares`` fixes it for every age."""
    u = rng.random(n)
    age = rng.integers(age_low, age_high + 1, n)
    if acuity_shares is not None:
        cum = np.cumsum(acuity_shares)
        acuity = np.minimum(np.searchsorted(cum, u, side="right") + 1, len(cum))
    else:
        acuity = acuity_for_age(age, u)
    return {"acuity": acuity.astype(np.int64), "age": age}


def _rows_per_case(pathway: Pathway) -> int:
    """Most rows one case can emit: 3 per activity on the longest path, the deterioration
    and the outcome (a cyclic pathway counts each activity once; buffers grow if needed)."""
    depth: dict[str, int] = {}

    def longest(act: str, seen: frozenset) -> int:
        if act not in pathway.activities or act in seen:
            return 0
        if act not in depth:
            targets = {t.target for t in pathway.outgoing(act)}
            depth[act] = 1 + max((longest(t, seen | {act}) for t in targets), default=0)
        return depth[act]

    return 3 * min(longest(pathway.start, frozenset()), len(pathway.activities)) + 2


def _case_slots(n: int, readmission: float) -> int:
    """Room for ``n`` arrivals and, with margin, their expected chains of readmissions."""
    expected = n * min(readmission / max(1.0 - readmission, 1e-9), 4.0)
    return n + int(1.5 * expected) + 64


def simulate_kernel(
    pathway: Pathway,
    *,
    arrival_times_minutes: np.ndarray,
    attributes: Mapping[str, np.ndarray],
    rng: np.random.Generator,
    start: datetime,
    horizon_minutes: float,
    return_hours: np.ndarray | None = None,
    local_offsets: np.ndarray | None = None,
) -> pd.DataFrame:
    """Simulate ``pathway`` with the Numba kernel and return the reference's event log.

    Parameters
    ----------
    pathway : Pathway
    arrival_times_minutes : numpy.ndarray of float, shape (n,)
        Sorted arrival minutes since ``start`` (e.g. from
        :func:`~scenarios.patients.arrivals.poisson_arrivals`).
    attributes : Mapping[str, numpy.ndarray]
        One array of shape (n,) per attribute: every declared attribute (numeric), and any
        others to carry into the log (e.g. ``sex``); readmissions copy them.
    rng : numpy.random.Generator
        Seeds the kernel's xoshiro state (service times, patience, adverse events, branches).
    start : datetime.datetime
        Real time of minute 0; also sets the hour of day for shifts.
    horizon_minutes : float
        End of the arrival window; readmissions due at or after it are not simulated.
    return_hours : numpy.ndarray of float, shape (24,), optional
        Shares of arrivals by hour of day; readmissions return at these hours when the
        pathway sets ``readmission_mean_days`` (:mod:`scenarios.patients.effects`; uniform
        hours when None).
    local_offsets : numpy.ndarray of float, shape (D,), optional
        Minutes the wall clock runs ahead of the simulation clock on each day
        (:func:`~scenarios.patients.effects.day_offsets`), so that returns keep to local hours
        across summer time; None: the simulation clock's hours.

    Returns
    -------
    pandas.DataFrame
        Same columns, dtypes and row order as :func:`scenarios.patients.reference.simulate`
        (:mod:`scenarios.patients.eventlog`); cases are numbered in order of arrival,
        readmissions included.
    """
    arrivals = np.ascontiguousarray(arrival_times_minutes, dtype=np.float64)
    if arrivals.ndim != 1 or (np.diff(arrivals) < 0).any() or (arrivals < 0).any():
        raise ConfigError("arrival_times_minutes must be a sorted 1-D array of minutes >= 0.")
    if not horizon_minutes >= (arrivals[-1] if arrivals.size else 0.0):
        raise ConfigError(
            f"horizon_minutes must be >= the last arrival; got {horizon_minutes!r}."
        )
    compiled = compile_pathway(pathway)
    tab, n = compiled.tables, arrivals.size
    for name, values in attributes.items():
        if np.shape(values) != (n,):
            raise ConfigError(f"attribute {name!r} must have shape ({n},), one per arrival.")
    cond = evaluate_conditions(compiled, attributes)
    attrs = np.zeros((len(compiled.attributes), n))
    for row, name in enumerate(compiled.attributes):
        attrs[row] = attributes[name]
    fac = patient_factors(compiled, pathway, attributes, n)
    hours = np.ones(24) if return_hours is None else np.asarray(return_hours, np.float64)
    if hours.shape != (24,) or not (hours >= 0).all() or hours.sum() <= 0:
        raise ConfigError(f"return_hours must be 24 shares >= 0 with a positive sum; got "
                          f"{return_hours!r}.")
    hour_cum = np.cumsum(hours)
    offsets = np.zeros(0) if local_offsets is None else np.asarray(local_offsets, np.float64)
    start_minute = start.hour * 60 + start.minute + start.second / 60
    base, slots = new_bits(rng)[0], _case_slots(n, tab.readmission)
    queue_slots = min(slots, _QUEUE_SLOTS)
    while True:
        rows = _rows_per_case(pathway) * slots + 64
        state = buffers(tab.res_capacity, slots, queue_slots, rows)
        run(tuple(tab), attrs, cond, fac, hour_cum, offsets, float(start_minute),
            float(horizon_minutes), tuple(state), arrivals, base)  # fmt: skip
        if not state.cnt[C_OVERFLOW]:
            break
        slots, queue_slots = 2 * slots, min(2 * queue_slots, 2 * slots)
    n_cases, n_rows = state.cnt[C_CASES], state.cnt[C_OUT]
    # Number cases in order of arrival, readmissions included, as the reference does.
    order = np.argsort(state.arrival[:n_cases], kind="stable")
    number = np.empty(n_cases + 1, np.int64)
    number[order], number[-1] = np.arange(n_cases), -1  # parent -1 stays -1
    return log_frame(
        number[state.out_case[:n_rows]], state.out_code[:n_rows], state.out_second[:n_rows],
        state.out_unit[:n_rows], state.out_life[:n_rows],
        readmission_of=number[state.parent[order]],
        attributes={name: np.asarray(values)[state.root[order]]
                    for name, values in attributes.items()},
        vocab=vocabulary(pathway), start=start,
    )  # fmt: skip
