"""Controls for reweighting built from tidy data: one- and two-level (household/person)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from calibration.reweight import _TOTAL_RTOL, Control, _pairs, _show
from simulations.errors import CalibrationError

__all__ = ["controls_from_frame"]


def _margin_series(var: str, margin: object) -> pd.Series:
    """One variable's margin as a float Series indexed by category, validated."""
    if isinstance(margin, Mapping):
        margin = pd.Series(dict(margin), dtype=object)
    if not isinstance(margin, pd.Series):
        raise CalibrationError(
            f"Margin {var!r} must be a pandas Series or a dict of category -> target. "
            f"Got {type(margin).__name__} instead."
        )
    if margin.empty:
        raise CalibrationError(f"Margin {var!r} has no categories.")
    if margin.index.hasnans or not margin.index.is_unique:
        raise CalibrationError(
            f"Margin {var!r} needs unique, non-missing categories. Got {_show(margin.index)}."
        )
    try:
        targets = margin.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise CalibrationError(
            f"Margin {var!r} needs numeric targets. Got {_show(margin.to_numpy())}."
        ) from None
    bad = ~np.isfinite(targets) | (targets < 0)
    if bad.any():
        raise CalibrationError(
            f"Margin {var!r} has negative or non-finite targets "
            f"{_pairs(margin.index[bad], targets[bad])}; "
            "targets are counts >= 0."
        )
    return pd.Series(targets, index=margin.index)


def _level_controls(
    frame: pd.DataFrame, margins: Mapping, where: np.ndarray | None, n_records: int, level: str
) -> list[Control]:
    """Controls for the margins of one level.

    ``frame`` holds the units counted (records or persons); ``where`` is None when they are
    the records, else int64 ``(len(frame),)`` positions of each person's record.
    """
    suffix = "" if where is None else " (persons)"
    controls: list[Control] = []
    first: tuple[str, float] | None = None
    for var, raw in margins.items():
        margin = _margin_series(var, raw)
        if var not in frame.columns:
            raise CalibrationError(
                f"Margin {var!r} names no column of the {level}; columns are "
                f"{_show(list(frame.columns), 10)}."
            )
        total = float(margin.sum())
        if first is None:
            first = (var, total)
        elif abs(total - first[1]) > _TOTAL_RTOL * max(1.0, abs(total), abs(first[1])):
            raise CalibrationError(
                f"Margins {first[0]!r} and {var!r} disagree on the total number of {level}: "
                f"{first[1]:g} vs {total:g}; margins of one level must sum to the same total."
            )
        codes = margin.index.get_indexer(frame[var]).astype(np.int64)
        unmatched = codes < 0
        if unmatched.any():
            raise CalibrationError(
                f"The {level} have values of {var!r} with no target in its margin: "
                f"{_show(pd.unique(frame[var][unmatched]))}; add them to the margin (a target "
                "of 0 gives their records weight 0)."
            )
        k = len(margin)
        present = np.bincount(codes, minlength=k)
        absent = (present == 0) & (margin.to_numpy() > 0)
        if absent.any():
            raise CalibrationError(
                f"Margin {var!r} has positive targets for categories absent from the {level}, "
                f"which no weighting can reach: "
                f"{_pairs(margin.index[absent], margin.to_numpy()[absent])}."
            )
        if where is None:
            columns = np.zeros((k, n_records))
            columns[codes, np.arange(n_records)] = 1.0
        else:
            cells = np.bincount(where * k + codes, minlength=n_records * k)
            columns = cells.reshape(n_records, k).T.astype(np.float64)
        for pos, (category, target) in enumerate(margin.items()):
            name = f"{var}={category}{suffix}"
            controls.append(Control(name, np.ascontiguousarray(columns[pos]), target))
    return controls


def controls_from_frame(
    records: pd.DataFrame,
    margins: Mapping[str, pd.Series | Mapping],
    *,
    persons: pd.DataFrame | None = None,
    household_id: str = "household_id",
    person_margins: Mapping[str, pd.Series | Mapping] | None = None,
) -> list[Control]:
    """Build :class:`Control` objects from categorical microdata and margin tables.

    Parameters
    ----------
    records : pandas.DataFrame
        The seed records to be weighted, one row each (households, or persons when there is
        one level only).
    margins : dict of str -> pandas.Series or dict
        For each column of ``records``, the target count of records per category (the
        Series index or dict keys are the categories). One control per category, named
        ``"{var}={category}"``, with column ``(records[var] == category)`` as float64.
    persons : pandas.DataFrame, optional
        One row per person, with the column ``household_id`` naming a row of ``records``
        (which then needs the same column, with unique values). Required with
        ``person_margins``.
    household_id : str, default "household_id"
        The linking column of ``records`` and ``persons``.
    person_margins : dict of str -> pandas.Series or dict, optional
        For each column of ``persons``, the target count of persons per category. One
        control per category, named ``"{var}={category} (persons)"``, whose column is the
        number of the household's persons in the category.

    Returns
    -------
    list of Control
        Record-level controls in margin order, then person-level controls.

    Raises
    ------
    CalibrationError
        If a margin names a missing column; has negative, non-finite or non-numeric targets;
        has a positive target for a category absent from the data (unreachable); lacks a
        category present in the data; or sums to a different total than another margin of
        the same level; or if the household links are missing or inconsistent.
    """
    if not isinstance(records, pd.DataFrame):
        raise CalibrationError(
            "The 'records' parameter of controls_from_frame must be a pandas DataFrame. "
            f"Got {type(records).__name__} instead."
        )
    if (persons is None) != (person_margins is None):
        raise CalibrationError(
            "The 'persons' and 'person_margins' parameters of controls_from_frame go "
            "together: give both or neither."
        )
    if not margins and not person_margins:
        raise CalibrationError("controls_from_frame needs at least one margin.")
    controls = _level_controls(records, margins, None, len(records), "records")
    if persons is None:
        return controls
    if not isinstance(persons, pd.DataFrame):
        raise CalibrationError(
            "The 'persons' parameter of controls_from_frame must be a pandas DataFrame. "
            f"Got {type(persons).__name__} instead."
        )
    for frame, label in ((records, "records"), (persons, "persons")):
        if household_id not in frame.columns:
            raise CalibrationError(f"The {label} have no household id column {household_id!r}.")
    ids = pd.Index(records[household_id])
    if not ids.is_unique:
        raise CalibrationError(
            f"Household ids in records must be unique; repeated: "
            f"{_show(ids[ids.duplicated()].unique())}."
        )
    where = ids.get_indexer(persons[household_id]).astype(np.int64)
    if (where < 0).any():
        raise CalibrationError(
            f"Persons belong to households missing from the records: "
            f"{_show(pd.unique(persons[household_id][where < 0]))}."
        )
    return controls + _level_controls(persons, person_margins, where, len(records), "persons")
