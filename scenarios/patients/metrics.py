"""Run metrics of an emergency department: the figures NHS England publishes for A&E, and
the waits and occupancy behind them, computed from a run's tables.

Time in department runs from arrival to leaving the department: the start of the first
inpatient activity for an admitted patient (a ward bed), else the case's terminal event
(discharge, leaving without being seen, death). It is NHS England's "time in A&E" (the
4-hour standard counts arrivals with at most 240 minutes; the 12-hour figure those with
more than 720 minutes from arrival). A bed wait is the time an admitted patient spends
queueing for the inpatient activity (from its ``schedule`` to its ``start`` event), NHS
England's wait "from decision to admit".
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd

from scenarios.patients.eventlog import COLUMNS

__all__ = ["department_metrics"]

_CASE, _CONCEPT, _TIME, _RESOURCE, _LIFE = COLUMNS
FOUR_HOURS, TWELVE_HOURS = 240.0, 720.0
"""Minutes of NHS England's 4-hour standard and 12-hours-from-arrival figure."""


def department_metrics(events: pd.DataFrame, cases: pd.DataFrame, resources: pd.DataFrame,
                       inpatient: Collection[str], left_outcome: str | None,
                       inpatient_resources: Collection[str] = (),
                       ) -> dict[str, float]:  # fmt: skip
    """Metrics of one run (every hospital together).

    Parameters
    ----------
    events : pandas.DataFrame
        The ``events`` table, each case's rows in the order they happened.
    cases : pandas.DataFrame
        The ``patients`` table (``case_id``, ``arrival``, ``outcome``,
        ``length_of_stay_minutes``; ``age`` in years, optional).
    resources : pandas.DataFrame
        The ``resources`` table (``resource``, ``capacity``, ``utilisation``, ``occupancy``,
        ``hospital``).
    inpatient : collection of str
        Activities after admission: starting one is leaving the department.
    left_outcome : str or None
        The outcome of leaving without being seen.
    inpatient_resources : collection of str
        Resources of the inpatient activities (wards), whose occupancy is reported.

    Returns
    -------
    dict of str to float
        ``attendances``; ``within_4h_share`` and ``over_12h_share`` (of attendances);
        ``time_in_department_{median,p90,p95}_minutes``;
        ``non_admitted_time_in_department_mean_minutes``; ``left_without_being_seen_share``;
        ``admitted_share`` (and ``admitted_share_65_plus`` of patients aged 65 or more, with
        ``age``); ``bed_wait_{median,p90}_minutes`` and ``bed_wait_over_{4h,12h}_share``
        (admitted patients); ``utilisation.<resource>`` (capacity-weighted over hospitals,
        0-1) and ``occupancy.<resource>`` of the inpatient activities' resources.
    """
    case_ids = cases["case_id"].astype(str).to_numpy()
    arrival = pd.to_datetime(cases["arrival"])
    ended = arrival + pd.to_timedelta(cases["length_of_stay_minutes"].to_numpy(), unit="m")
    inpatient_rows = events[events[_CONCEPT].astype(str).isin(list(inpatient))]
    stamps = pd.to_datetime(inpatient_rows[_TIME]).groupby(
        [inpatient_rows[_CASE].astype(str), inpatient_rows[_LIFE].astype(str)]).min()
    admitted_at = stamps.xs("start", level=1) if "start" in stamps.index.levels[1] \
        else pd.Series(dtype=stamps.dtype)  # fmt: skip
    admitted = pd.Index(admitted_at.index)
    is_admitted = pd.Index(case_ids).isin(admitted)
    left_at = ended.copy()
    left_at.iloc[pd.Index(case_ids).get_indexer(admitted)] = admitted_at.to_numpy()
    minutes = ((left_at - arrival) / pd.Timedelta(minutes=1)).to_numpy()
    queued_at = stamps.xs("schedule", level=1).reindex(admitted) \
        if "schedule" in stamps.index.levels[1] else admitted_at  # fmt: skip
    bed_wait = ((admitted_at - queued_at) / pd.Timedelta(minutes=1)).to_numpy()
    n = max(len(cases), 1)
    figures = {
        "attendances": float(len(cases)),
        "within_4h_share": float((minutes <= FOUR_HOURS).sum() / n),
        "over_12h_share": float((minutes > TWELVE_HOURS).sum() / n),
        "time_in_department_median_minutes": _quantile(minutes, 0.5),
        "time_in_department_p90_minutes": _quantile(minutes, 0.9),
        "time_in_department_p95_minutes": _quantile(minutes, 0.95),
        "non_admitted_time_in_department_mean_minutes":
            float(minutes[~is_admitted].mean()) if (~is_admitted).any() else float("nan"),
        "left_without_being_seen_share":
            float((cases["outcome"].astype(str) == left_outcome).sum() / n),
        "admitted_share": float(is_admitted.sum() / n),
        "bed_wait_median_minutes": _quantile(bed_wait, 0.5),
        "bed_wait_p90_minutes": _quantile(bed_wait, 0.9),
        "bed_wait_over_4h_share": _share(bed_wait > FOUR_HOURS),
        "bed_wait_over_12h_share": _share(bed_wait > TWELVE_HOURS),
    }  # fmt: skip
    if "age" in cases:
        figures["admitted_share_65_plus"] = _share(is_admitted[cases["age"].to_numpy() >= 65])
    weighted = resources.assign(used=resources["utilisation"] * resources["capacity"],
                                filled=resources["occupancy"] * resources["capacity"])
    by_resource = weighted.groupby("resource", sort=False)[["used", "filled", "capacity"]].sum()
    for name, row in by_resource.iterrows():
        figures[f"utilisation.{name}"] = float(row["used"] / max(row["capacity"], 1))
    for name in dict.fromkeys(inpatient_resources):
        row = by_resource.loc[name]
        figures[f"occupancy.{name}"] = float(row["filled"] / max(row["capacity"], 1))
    return figures


def _share(flags: np.ndarray) -> float:
    return float(flags.mean()) if len(flags) else float("nan")


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if len(values) else float("nan")
