"""Per-case and per-resource tables derived from an event log, vectorised over its codes.

The log must be in :mod:`scenarios.patients.eventlog` format: sorted by case, each case's
rows in the order they happened, so a case's first row is its arrival and its last row is
its terminal state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scenarios.patients.effects import local_hour
from scenarios.patients.eventlog import COLUMNS, READMISSION_OF
from scenarios.patients.pathway import DETERIORATION, MINUTES_PER_DAY, READMISSION_DAYS, Pathway

__all__ = ["case_table", "resource_table"]

_CASE, _CONCEPT, _TIME, _RESOURCE, _LIFE = COLUMNS


def _bounds(log: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first and of the last row of every case (cases with rows, in order)."""
    codes = log[_CASE].cat.codes.to_numpy()
    cases = np.arange(len(log[_CASE].cat.categories))
    return np.searchsorted(codes, cases, "left"), np.searchsorted(codes, cases, "right") - 1


def case_table(log: pd.DataFrame, attributes: list[str], pathway: Pathway,
               observed_until: pd.Timestamp) -> pd.DataFrame:  # fmt: skip
    """One row per case: id, attributes, arrival, outcome, length of stay and labels.

    Parameters
    ----------
    log : pandas.DataFrame
        The event log (:mod:`scenarios.patients.eventlog` format).
    attributes : list of str
        Case attributes to copy from ``case:<name>``.
    pathway : Pathway
        Which outcomes cannot return (death, the patience outcome).
    observed_until : pandas.Timestamp
        End of the window in which returns are simulated: a case whose 30 days after its end
        run past it has an unknown readmission label.

    Returns
    -------
    pandas.DataFrame
        ``case_id``, one column per attribute, ``arrival`` (timestamp), ``outcome``,
        ``length_of_stay_minutes`` (float, arrival to terminal state), ``deteriorated``
        (bool), ``readmission_of`` (earlier case id or missing) and
        ``readmitted_within_30d`` (nullable bool: a later case readmits this one; missing,
        censored, for a case that could return and whose 30 days after its end run past
        ``observed_until``).
    """
    first, last = _bounds(log)
    times = log[_TIME].to_numpy()
    cases = log[_CASE].cat.categories
    concept = log[_CONCEPT]
    deteriorated = np.zeros(len(cases), bool)
    rows = concept.cat.codes.to_numpy() == concept.cat.categories.get_loc(DETERIORATION)
    deteriorated[log[_CASE].cat.codes.to_numpy()[rows]] = True
    parent = log[READMISSION_OF].cat.codes.to_numpy()[first]
    readmitted = np.zeros(len(cases), bool)
    readmitted[parent[parent >= 0]] = True
    outcome = concept.to_numpy()[last]
    patience = pathway.patience.outcome if pathway.patience else None
    may_return = ~np.isin(outcome, [pathway.adverse_events.death_outcome, patience])
    window_end = times[last] + np.timedelta64(int(READMISSION_DAYS * MINUTES_PER_DAY), "m")
    # unknown whenever the 30 days were not all observed, returned or not: a return is seen
    # early and its absence only at the end, so keeping early returns would bias the share
    censored = may_return & (window_end > observed_until.to_datetime64())
    label = pd.array(readmitted, dtype="boolean")
    label[censored] = pd.NA
    table = pd.DataFrame({"case_id": cases})
    for name in attributes:
        table[name] = log[f"case:{name}"].to_numpy()[first]
    return table.assign(
        arrival=times[first], outcome=outcome,
        length_of_stay_minutes=(times[last] - times[first]) / np.timedelta64(1, "m"),
        deteriorated=deteriorated, readmission_of=log[READMISSION_OF].to_numpy()[first],
        readmitted_within_30d=label,
    )  # fmt: skip


def resource_table(
    log: pd.DataFrame, pathway: Pathway, start: pd.Timestamp, horizon_minutes: float,
    since_minutes: float = 0.0, local_offsets: np.ndarray | None = None,
) -> pd.DataFrame:  # fmt: skip
    """One row per resource: ``resource``, ``capacity``, ``busy_minutes`` (minutes of
    service given in services starting at or after ``since_minutes``, a service cut short by
    death ending at the death) and ``utilisation`` (the share of on-duty unit-minutes spent
    serving during the window ``[start + since_minutes, start + horizon_minutes)``, in
    minutes since ``start``; stays running past it are not counted there). A unit serving
    past the end of its shift counts as on duty until it finishes, hour by hour (a ward bed
    keeps its patient through hours when no new patient is placed), so utilisation is at
    most 1; ``occupancy`` is the share of all unit-minutes (``capacity`` units through the
    window, shifts ignored) spent serving, NHS England's measure for beds. ``since_minutes``
    is the warm-up (``run.warmup_days``): pass the whole log, warm-up cases included, since
    they occupy units in the window. ``local_offsets`` (minutes the wall clock is ahead, by
    day) puts the rosters on local hours, as the engines do."""
    unit_codes = log[_RESOURCE].cat.codes.to_numpy()
    held = unit_codes >= 0
    case = log[_CASE].cat.codes.to_numpy()[held]
    starts = (log[_LIFE].cat.codes.to_numpy()[held] == 1).nonzero()[0]
    minutes = ((log[_TIME] - start) / pd.Timedelta(minutes=1)).to_numpy()
    _, last = _bounds(log)
    t = minutes[held]
    paired = np.zeros(starts.size, bool)
    inside = starts + 1 < case.size
    paired[inside] = case[starts[inside] + 1] == case[starts[inside]]
    begin = t[starts]
    end = np.where(paired, t[np.minimum(starts + 1, case.size - 1)], minutes[last][case[starts]])
    names = list(pathway.resources)
    capacity = np.array([r.capacity for r in pathway.resources.values()], np.float64)
    owner = np.repeat(np.arange(len(names)), capacity.astype(np.int64))
    owner = owner[unit_codes[held][starts]]
    busy = np.bincount(owner, np.where(begin >= since_minutes, end - begin, 0.0),
                       minlength=len(names))  # fmt: skip
    window = (np.clip(end, since_minutes, horizon_minutes)
              - np.clip(begin, since_minutes, horizon_minutes))  # fmt: skip
    busy_in_window = np.bincount(owner, window, minlength=len(names))
    hours = np.arange(int(since_minutes // 60), int(np.ceil(horizon_minutes / 60.0)))
    edges = np.clip(np.append(hours, hours[-1] + 1) * 60.0, since_minutes, horizon_minutes) \
        if hours.size else np.zeros(1)  # fmt: skip
    lo, hi = (np.clip(x, since_minutes, horizon_minutes) for x in (begin, end))
    first = start.hour * 60 + start.minute
    offsets = np.zeros(0) if local_offsets is None else np.asarray(local_offsets, np.float64)
    day_hour = np.array([local_hour(h, first, offsets)
                         for h in start.hour + hours], dtype=np.int64)  # fmt: skip
    duty = np.array([r.duty for r in pathway.resources.values()]).reshape(-1, 24)
    scheduled = duty[:, day_hour] * np.diff(edges)
    on_duty = np.array([np.maximum(scheduled[r], _busy_by_bin(lo[owner == r], hi[owner == r],
                                                              edges)).sum()
                        for r in range(len(names))])  # fmt: skip
    return pd.DataFrame({
        "resource": names, "capacity": capacity.astype(np.int64),
        "busy_minutes": busy,
        "utilisation": np.divide(busy_in_window, on_duty, where=on_duty > 0,
                                 out=np.zeros(len(names))),
        "occupancy": busy_in_window / (capacity * max(horizon_minutes - since_minutes, 1e-9)),
    })  # fmt: skip


def _busy_by_bin(begin: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Unit-minutes busy in each bin ``[edges[k], edges[k + 1])`` of intervals
    ``[begin, end)`` (minutes, shapes (n,) and (K + 1,)), from the busy area up to each edge:
    ``sum(max(0, min(t, end) - begin))``, by prefix sums over the sorted begins and ends."""
    def area_of(points: np.ndarray) -> np.ndarray:
        n = np.searchsorted(points, edges, side="right")
        prefix = np.concatenate([[0.0], np.cumsum(points)])
        return edges * n - prefix[n]

    keep = end > begin
    return np.diff(area_of(np.sort(begin[keep])) - area_of(np.sort(end[keep])))
