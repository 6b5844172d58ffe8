"""Row format of patient event logs (process-mining / XES column names), built from codes.

One row per event. Columns, in order:

=========================  =============================================================
``case:concept:name``      case id ("0", "1", ...): one visit of one patient
``concept:name``           activity name, terminal outcome, or ``deterioration``
``time:timestamp``         ``start`` + simulated time, to the second (``datetime64[s]``)
``org:resource``           the resource instance (``triage_nurse-2``), missing when none
``lifecycle:transition``   ``schedule`` (joins the queue), ``start`` (service begins),
                           ``complete`` (service ends; also every terminal event and every
                           deterioration, which are instantaneous); in the written
                           table also ``ate_abort`` and ``pi_abort`` (:func:`close_open`)
``case:readmission_of``    the case this visit is a readmission of, missing if none
``case:<attribute>``       the patient's attributes, one column each (e.g. ``case:acuity``)
=========================  =============================================================

The transitions are those of the standard lifecycle model of IEEE 1849-2016 (XES).
:func:`close_open` closes every activity instance still open when its case reaches a
terminal state, at that time and just before the terminal row: by ``ate_abort`` if it had
started (the unit it held is named) and by ``pi_abort`` if it was still waiting (the process
instance ended before it began), so every ``schedule`` and every ``start`` is closed in the
written log and its XES export.

Every text column is a pandas ``Categorical`` whose categories are the whole vocabulary
(:func:`vocabulary`), so logs of both engines have equal dtypes and Parquet stores them
dictionary-encoded. Rows are sorted by case number, then by time; events at the same second
keep the order in which they happened.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

import numba as nb
import numpy as np
import pandas as pd

from scenarios.patients.pathway import DETERIORATION, Pathway

__all__ = [
    "COLUMNS", "LIFECYCLE", "READMISSION_OF", "Vocabulary", "close_open", "log_frame",
    "vocabulary",
]

#: The fixed columns of every log, in order (attribute columns follow).
COLUMNS = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "org:resource",
    "lifecycle:transition",
)

#: Allowed values of ``lifecycle:transition``, in code order (the engines emit the first
#: three; :func:`close_open` adds the aborts).
LIFECYCLE = ("schedule", "start", "complete", "ate_abort", "pi_abort")
_SCHEDULE, _START, _COMPLETE, _ATE_ABORT, _PI_ABORT = range(5)

#: Case attribute naming the earlier case of a readmission.
READMISSION_OF = "case:readmission_of"


class Vocabulary(NamedTuple):
    """Categories of the coded columns: ``concepts`` (activities, then terminal states, then
    :data:`~scenarios.patients.pathway.DETERIORATION`, in pathway order) and ``units``
    (``<resource>-<k>`` for k = 1..capacity, resources in pathway order); the first
    ``n_activities`` concepts are activities, the next ``n_terminal`` terminal states."""

    concepts: tuple[str, ...]
    units: tuple[str, ...]
    n_activities: int = 0
    n_terminal: int = 0


def vocabulary(pathway: Pathway) -> Vocabulary:
    """The :class:`Vocabulary` of ``pathway``'s event logs."""
    concepts = (*pathway.activities, *pathway.terminal, DETERIORATION)
    units = tuple(
        f"{name}-{k}" for name, r in pathway.resources.items() for k in range(1, r.capacity + 1)
    )
    return Vocabulary(concepts, units, len(pathway.activities), len(pathway.terminal))


@nb.njit(cache=True)
def _by_case(columns, sorted_columns, n_cases):
    """Fill ``sorted_columns`` with ``columns`` (case, concept, seconds, unit, lifecycle)
    sorted stably by case: a counting sort, O(rows + cases)."""
    case, concept, seconds, unit, lifecycle = columns
    case2, concept2, seconds2, unit2, lifecycle2 = sorted_columns
    first = np.zeros(n_cases + 1, np.int64)
    for c in case:
        first[c + 1] += 1
    for c in range(n_cases):
        first[c + 1] += first[c]
    for row in range(case.shape[0]):
        slot = first[case[row]]
        first[case[row]] = slot + 1
        case2[slot], concept2[slot], seconds2[slot] = case[row], concept[row], seconds[row]
        unit2[slot], lifecycle2[slot] = unit[row], lifecycle[row]


@nb.njit(cache=True)
def _open_at_end(case, concept, unit, lifecycle, n_activities, n_final):
    """Abort rows for the activity instances still open when their case reaches a terminal
    state (concept codes ``n_activities..n_final-1``), rows sorted by case: the row index of
    that terminal row, the activity, the unit and the lifecycle code of each abort
    (``ate_abort`` with its unit if it had started, ``pi_abort`` and -1 if it was waiting),
    in row order, then activity order."""
    m = case.shape[0]
    state = np.zeros(n_activities, np.int8)  # 0 closed, 1 waiting, 2 in service
    held = np.full(n_activities, -1, np.int64)
    at, act, units, life = (np.empty(m, np.int64), np.empty(m, np.int64),
                            np.empty(m, np.int64), np.empty(m, np.int8))
    k = 0
    for row in range(m):
        if row == 0 or case[row] != case[row - 1]:
            state[:] = 0
        c = concept[row]
        if c < n_activities:
            if lifecycle[row] == _SCHEDULE:
                state[c] = 1
            elif lifecycle[row] == _START:
                state[c], held[c] = 2, unit[row]
            else:
                state[c] = 0
        elif c < n_final and (row + 1 == m or case[row + 1] != case[row]):
            for a in range(n_activities):
                if state[a] != 0:
                    at[k], act[k] = row, a
                    units[k] = held[a] if state[a] == 2 else -1
                    life[k] = _ATE_ABORT if state[a] == 2 else _PI_ABORT
                    state[a], k = 0, k + 1
    return at[:k], act[:k], units[:k], life[:k]


def _codes(n_categories: int) -> type:
    """The integer type pandas keeps codes of ``n_categories`` in (so none are copied)."""
    for dtype in (np.int8, np.int16, np.int32):
        if n_categories < np.iinfo(dtype).max:
            return dtype
    return np.int64


def _categorical(codes: np.ndarray, dtype: pd.CategoricalDtype) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _dtype(categories) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(pd.Index(categories, dtype=object))


def log_frame(
    case: np.ndarray,
    concept: np.ndarray,
    seconds: np.ndarray,
    unit: np.ndarray,
    lifecycle: np.ndarray,
    *,
    readmission_of: np.ndarray,
    attributes: Mapping[str, np.ndarray],
    vocab: Vocabulary,
    start: datetime,
) -> pd.DataFrame:
    """The event-log DataFrame from coded rows in simulation order.

    Parameters
    ----------
    case, concept, seconds, unit, lifecycle : numpy.ndarray of integers, shape (m,)
        Case number (0..n-1), index into ``vocab.concepts``, seconds since ``start``, index
        into ``vocab.units`` (-1 for none) and index into :data:`LIFECYCLE` of each row.
    readmission_of : numpy.ndarray of int64, shape (n,)
        Earlier case of each readmitted case, -1 for none.
    attributes : Mapping[str, numpy.ndarray]
        One array of shape (n,) per attribute, indexed by case; becomes ``case:<name>``.
    vocab : Vocabulary
    start : datetime.datetime
        Real time of second 0.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, :data:`READMISSION_OF`, then ``case:<name>`` per attribute.
    """
    n_cases, m = len(readmission_of), len(case)
    sizes = (n_cases, len(vocab.concepts), None, len(vocab.units), len(LIFECYCLE))
    sorted_columns = tuple(np.empty(m, np.int64 if n is None else _codes(n)) for n in sizes)
    _by_case(tuple(np.ascontiguousarray(c) for c in (case, concept, seconds, unit, lifecycle)),
             sorted_columns, n_cases)  # fmt: skip
    case, concept, seconds, unit, lifecycle = sorted_columns
    ids = _dtype(np.arange(n_cases).astype(str))
    epoch = np.datetime64(start, "s").astype(np.int64)
    return pd.DataFrame({
        COLUMNS[0]: _categorical(case, ids),
        COLUMNS[1]: _categorical(concept, _dtype(vocab.concepts)),
        COLUMNS[2]: (seconds + epoch).view("datetime64[s]"),
        COLUMNS[3]: _categorical(unit, _dtype(vocab.units)),
        COLUMNS[4]: _categorical(lifecycle, _dtype(LIFECYCLE)),
        READMISSION_OF: _categorical(readmission_of.astype(case.dtype)[case], ids),
        **{f"case:{name}": np.asarray(values)[case] for name, values in attributes.items()},
    }, copy=False)  # fmt: skip


def close_open(log: pd.DataFrame, vocab: Vocabulary) -> pd.DataFrame:
    """``log`` (from :func:`log_frame`) with an abort row closing every activity instance
    still open when its case reaches a terminal state (rules in the module docstring).

    Returns
    -------
    pandas.DataFrame
        Same columns and dtypes; rows of a case stay together and in order, each abort
        inserted just before its case's terminal row (activities in pathway order), with the
        terminal row's case, time and case attributes.
    """
    codes = {c: log[c].cat.codes.to_numpy() for c in (*COLUMNS[:2], *COLUMNS[3:])}
    at, act, unit, life = _open_at_end(
        codes[COLUMNS[0]], codes[COLUMNS[1]], codes[COLUMNS[3]], codes[COLUMNS[4]],
        vocab.n_activities, vocab.n_activities + vocab.n_terminal,
    )  # fmt: skip
    if not at.size:
        return log
    out = log.iloc[np.insert(np.arange(len(log)), at, at)].reset_index(drop=True)
    for column, values in ((COLUMNS[1], act), (COLUMNS[3], unit), (COLUMNS[4], life)):
        merged = np.insert(codes[column], at, values.astype(codes[column].dtype))
        out[column] = _categorical(merged, log[column].dtype)
    return out
