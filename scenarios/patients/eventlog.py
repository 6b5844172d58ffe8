"""Row format of patient event logs (process-mining / XES column names).

One row per event. Columns, in order:

=========================  =============================================================
``case:concept:name``      patient id as a string ("0", "1", ...)
``concept:name``           activity name, or the terminal outcome's name
``time:timestamp``         ``start`` + simulated minutes (``datetime64[ns]``)
``org:resource``           the resource instance (``triage_nurse-2``), "" when none
``lifecycle:transition``   ``schedule`` (joins the queue), ``start`` (service begins),
                           ``complete`` (service ends; also every terminal event)
``case:<attribute>``       the patient's attributes, one column each (e.g. ``case:acuity``)
=========================  =============================================================

Rows are sorted by patient (numeric order of the id), then by time; events at the same
minute keep the order in which they happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "LIFECYCLE", "event_frame"]

#: The fixed columns of every log, in order (attribute columns follow).
COLUMNS = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "org:resource",
    "lifecycle:transition",
)

#: Allowed values of ``lifecycle:transition``.
LIFECYCLE = ("schedule", "start", "complete")


def event_frame(
    rows: Sequence[tuple[int, str, float, str, str]],
    attributes: Mapping[int, Mapping[str, float]],
    names: Sequence[str],
    start: datetime,
) -> pd.DataFrame:
    """Turn recorded events into the sorted event-log DataFrame.

    Parameters
    ----------
    rows : sequence of (case, activity, minutes, resource, lifecycle)
        Events in the order they happened; ``case`` is the integer patient id, ``minutes``
        the simulated time since ``start``.
    attributes : Mapping[int, Mapping[str, float]]
        Each patient's attributes, by patient id.
    names : sequence of str
        Attribute names to add as ``case:<name>`` columns.
    start : datetime.datetime
        Real time of simulated minute 0.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS` then ``case:<name>`` for each name; one row per event.
    """
    cases = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    minutes = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    order = np.argsort(cases, kind="stable")  # rows are already in time order per case
    cases = cases[order]
    frame = pd.DataFrame(
        {
            COLUMNS[0]: cases.astype(str),
            COLUMNS[1]: [rows[i][1] for i in order],
            COLUMNS[2]: pd.Timestamp(start) + pd.to_timedelta(minutes[order], unit="min"),
            COLUMNS[3]: [rows[i][3] for i in order],
            COLUMNS[4]: [rows[i][4] for i in order],
        }
    )
    for name in names:
        frame[f"case:{name}"] = [attributes[c][name] for c in cases]
    return frame
