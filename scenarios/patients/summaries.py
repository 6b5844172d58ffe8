"""Per-case and per-resource tables derived from an event log, vectorised over its codes.

The log must be in :mod:`scenarios.patients.eventlog` format: sorted by case, each case's
rows in the order they happened, so a case's first row is its arrival and its last row is
its terminal state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scenarios.patients.eventlog import COLUMNS, READMISSION_OF
from scenarios.patients.pathway import DETERIORATION, Pathway

__all__ = ["case_table", "resource_table"]

_CASE, _CONCEPT, _TIME, _RESOURCE, _LIFE = COLUMNS


def _bounds(log: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first and of the last row of every case (cases with rows, in order)."""
    codes = log[_CASE].cat.codes.to_numpy()
    cases = np.arange(len(log[_CASE].cat.categories))
    return np.searchsorted(codes, cases, "left"), np.searchsorted(codes, cases, "right") - 1


def case_table(log: pd.DataFrame, attributes: list[str]) -> pd.DataFrame:
    """One row per case: id, attributes, arrival, outcome, length of stay and labels.

    Returns
    -------
    pandas.DataFrame
        ``case_id``, one column per attribute, ``arrival`` (timestamp), ``outcome``,
        ``length_of_stay_minutes`` (float, arrival to terminal state), ``deteriorated``
        (bool), ``readmission_of`` (earlier case id or missing) and
        ``readmitted_within_30d`` (bool: a later case readmits this one).
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
    table = pd.DataFrame({"case_id": cases})
    for name in attributes:
        table[name] = log[f"case:{name}"].to_numpy()[first]
    return table.assign(
        arrival=times[first], outcome=concept.to_numpy()[last],
        length_of_stay_minutes=(times[last] - times[first]) / np.timedelta64(1, "m"),
        deteriorated=deteriorated, readmission_of=log[READMISSION_OF].to_numpy()[first],
        readmitted_within_30d=readmitted,
    )  # fmt: skip


def resource_table(
    log: pd.DataFrame, pathway: Pathway, start: pd.Timestamp, horizon_minutes: float
) -> pd.DataFrame:
    """One row per resource: ``resource``, ``capacity``, ``busy_minutes`` (minutes of
    service given, a service cut short by death ending at the death) and ``utilisation``
    (the share of on-duty unit-minutes spent serving during the arrival window
    ``[start, start + horizon_minutes)``; stays running past it are not counted there)."""
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
    owner = np.repeat(np.arange(len(names)), [r.capacity for r in pathway.resources.values()])
    owner = owner[unit_codes[held][starts]]
    busy = np.bincount(owner, end - begin, minlength=len(names))
    window = np.clip(end, None, horizon_minutes) - np.clip(begin, None, horizon_minutes)
    busy_in_window = np.bincount(owner, window, minlength=len(names))
    day_hour = (start.hour + np.arange(int(np.ceil(horizon_minutes / 60.0)))) % 24
    duty = np.array([r.duty for r in pathway.resources.values()]).reshape(-1, 24)
    on_duty = duty[:, day_hour].sum(axis=1) * 60.0
    return pd.DataFrame({
        "resource": names, "capacity": [r.capacity for r in pathway.resources.values()],
        "busy_minutes": busy,
        "utilisation": np.divide(busy_in_window, on_duty, where=on_duty > 0,
                                 out=np.zeros(len(names))),
    })  # fmt: skip
