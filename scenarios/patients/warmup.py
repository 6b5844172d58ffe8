"""Warm-up: drop the cases of the first simulated days from an event log.

A run starts with an empty hospital, so its first days are not typical (no one waiting, no
ward bed taken, no readmission due). With ``run.warmup_days`` the scenario simulates that
many days before ``run.start_date`` and writes only what follows: :func:`drop_warmup` keeps
the cases arriving at or after the warm-up (readmissions included) with all their events,
drops the others from every table, and renumbers the cases kept from 0 in order of arrival,
so ids and row order depend only on the config and seed. A kept case readmitting a dropped
one has no ``case:readmission_of`` (the earlier visit is outside the data, as in an
extract).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scenarios.patients.eventlog import COLUMNS, READMISSION_OF

__all__ = ["drop_warmup"]

_CASE, _TIME = COLUMNS[0], COLUMNS[2]


def drop_warmup(log: pd.DataFrame, start: pd.Timestamp, warmup_minutes: float) -> pd.DataFrame:
    """``log`` without the cases arriving before ``start + warmup_minutes``.

    Parameters
    ----------
    log : pandas.DataFrame
        An event log as the engines return it (:mod:`scenarios.patients.eventlog`: case ids
        "0", "1", ... in order of arrival, rows sorted by case, each case's first row its
        arrival).
    start : pandas.Timestamp
        Real time of minute 0 of the simulation.
    warmup_minutes : float
        Minutes simulated but not written (>= 0).

    Returns
    -------
    pandas.DataFrame
        Same columns and dtypes; case ids (and ``case:readmission_of``) renumbered from "0".
    """
    if warmup_minutes <= 0:
        return log
    case = log[_CASE].cat.codes.to_numpy()
    n_cases = len(log[_CASE].cat.categories)
    first = np.searchsorted(case, np.arange(n_cases), "left")
    arrival = ((log[_TIME].iloc[first] - start) / pd.Timedelta(minutes=1)).to_numpy()
    dropped = int(np.searchsorted(arrival, warmup_minutes, "left"))  # arrivals are sorted
    row = first[dropped] if dropped < n_cases else len(log)
    out = log.iloc[row:].reset_index(drop=True)
    ids = pd.CategoricalDtype(pd.Index(np.arange(n_cases - dropped).astype(str), dtype=object))
    codes = case[row:] - dropped
    parent = out[READMISSION_OF].cat.codes.to_numpy().astype(np.int64) - dropped
    out[_CASE] = pd.Categorical.from_codes(codes, dtype=ids)
    out[READMISSION_OF] = pd.Categorical.from_codes(np.where(parent >= 0, parent, -1), dtype=ids)
    return out
