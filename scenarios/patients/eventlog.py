"""Row format of patient event logs (process-mining / XES column names), built from codes.

One row per event. Columns, in order:

=========================  =============================================================
``case:concept:name``      case id ("0", "1", ...): one visit of one patient
``concept:name``           activity name, terminal outcome, or ``deterioration``
``time:timestamp``         ``start`` + simulated time, to the second (``datetime64[s]``)
``org:resource``           the resource instance (``triage_nurse-2``), missing when none
``lifecycle:transition``   ``schedule`` (joins the queue), ``start`` (service begins),
                           ``complete`` (service ends; also every terminal event and every
                           deterioration, which are instantaneous)
``case:readmission_of``    the case this visit is a readmission of, missing if none
``case:<attribute>``       the patient's attributes, one column each (e.g. ``case:acuity``)
=========================  =============================================================

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

__all__ = ["COLUMNS", "LIFECYCLE", "READMISSION_OF", "Vocabulary", "log_frame", "vocabulary"]

#: The fixed columns of every log, in order (attribute columns follow).
COLUMNS = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "org:resource",
    "lifecycle:transition",
)

#: Allowed values of ``lifecycle:transition``, in code order.
LIFECYCLE = ("schedule", "start", "complete")

#: Case attribute naming the earlier case of a readmission.
READMISSION_OF = "case:readmission_of"


class Vocabulary(NamedTuple):
    """Categories of the coded columns: ``concepts`` (activities, then terminal states, then
    :data:`~scenarios.patients.pathway.DETERIORATION`, in pathway order) and ``units``
    (``<resource>-<k>`` for k = 1..capacity, resources in pathway order)."""

    concepts: tuple[str, ...]
    units: tuple[str, ...]


def vocabulary(pathway: Pathway) -> Vocabulary:
    """The :class:`Vocabulary` of ``pathway``'s event logs."""
    concepts = (*pathway.activities, *pathway.terminal, DETERIORATION)
    units = tuple(
        f"{name}-{k}" for name, r in pathway.resources.items() for k in range(1, r.capacity + 1)
    )
    return Vocabulary(concepts, units)


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
