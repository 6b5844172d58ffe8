"""Features for the audit: a table's own columns and the simple derived features a fraud
analyst would compute first (time of day, weekday, roundness of amounts, which entity keys
are present, and each entity's recent history), all vectorised over the whole table.

Every feature is one array over the table's rows: float64 for numeric features (NaN where
missing) or int32 category codes (-1 where missing) with their category names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from calibration.fidelity.metrics import numeric_values
from calibration.fidelity.sources import Table, column_kind

__all__ = ["Feature", "behavioural_features", "entity_codes", "identifier_features",
           "linked_groups"]

MAX_CATEGORIES = 250
"""Categorical features with more values are left out (they name things, not behaviour;
the gradient-boosting model takes at most 255 categories)."""
SMALL_INTEGER_VALUES = 32
"""Integer columns with at most this many distinct values are treated as categories."""
WINDOWS = (("1h", 3600), ("24h", 86400), ("7d", 7 * 86400))
_ROUND_UNITS = (1000, 100, 50, 20, 10, 5, 1)
_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@dataclass
class Feature:
    """One feature over the table's rows.

    Attributes
    ----------
    name : str
    values : numpy.ndarray, shape (n_rows,)
        float64 with NaN for missing (numeric), or int32 codes with -1 for missing.
    categories : list of str or None
        Names of the codes; ``None`` for a numeric feature.
    derived : bool
        Whether the audit computed it (rather than read it from a column).
    render : callable
        Turns a numeric value into text for a rule (dates for timestamps).
    """

    name: str
    values: np.ndarray
    categories: list[str] | None = None
    derived: bool = False
    render: Callable[[float], str] = field(default=lambda v: f"{v:,.6g}")

    @property
    def categorical(self) -> bool:
        return self.categories is not None


def _categorical(name: str, series: pd.Series, derived: bool = False) -> Feature | None:
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    if len(uniques) > MAX_CATEGORIES:
        return None
    return Feature(name, codes.astype(np.int32), [str(u) for u in uniques], derived)


def _seconds(series: pd.Series) -> np.ndarray:
    """Seconds since the Unix epoch as float64 (NaN where missing)."""
    return numeric_values(series) / 1e9


def _render_time(value: float) -> str:
    return str(pd.Timestamp(value, unit="s"))


def column_feature(name: str, series: pd.Series) -> Feature | None:
    """The feature a column is by itself; ``None`` for a high-cardinality text column."""
    kind = column_kind(series)
    if kind == "datetime":
        return Feature(name, _seconds(series), render=_render_time)
    if kind == "numeric":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[~np.isnan(values)]
        if len(finite) and np.all(finite == np.round(finite)):
            if len(np.unique(finite[: 200_000])) <= SMALL_INTEGER_VALUES and \
                    len(np.unique(finite)) <= SMALL_INTEGER_VALUES:  # fmt: skip
                return _categorical(name, series)
        return Feature(name, values)
    return _categorical(name, series.astype("object") if kind == "boolean" else series)


def entity_codes(frame: pd.DataFrame, entities: tuple[str, ...]) -> np.ndarray:
    """Integer code of each row's entity (the first non-null entity key), int64.

    Rows with no entity get codes of their own, so that each is a group by itself.
    """
    if not entities:
        return np.arange(len(frame), dtype=np.int64)
    coalesced = frame[entities[0]]
    if isinstance(coalesced.dtype, pd.CategoricalDtype):
        coalesced = coalesced.astype(object)
    for column in entities[1:]:
        other = frame[column]
        coalesced = coalesced.combine_first(
            other.astype(object) if isinstance(other.dtype, pd.CategoricalDtype) else other)
    codes, uniques = pd.factorize(coalesced, use_na_sentinel=True)
    codes = codes.astype(np.int64)
    missing = codes < 0
    codes[missing] = len(uniques) + np.arange(int(missing.sum()))
    return codes


def linked_groups(entity: np.ndarray, frame: pd.DataFrame, cases: tuple[str, ...],
                  chain: bool = False) -> np.ndarray:  # fmt: skip
    """Group code of each row (int64): the rows of a case together, with every other row of
    the entities that took part in that case alone (a victim's whole history). An entity in
    several cases (a mule) joins none of them, or cases would chain into one giant group;
    with ``chain`` it joins them all (for the identifier-only model, which could otherwise
    learn a reused mule's account number in one case and find it again in another).
    """
    if not cases:
        return entity
    n_entities = int(entity.max()) + 1
    case_node = np.full(len(frame), -1, dtype=np.int64)
    offset = n_entities
    for column in cases:
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=True)
        unset = (case_node < 0) & (codes >= 0)
        case_node[unset] = offset + codes[unset]
        offset += len(uniques)
    has = case_node >= 0
    pairs = np.unique(np.column_stack([entity[has], case_node[has]]), axis=0)
    exclusive = chain | (np.bincount(pairs[:, 0], minlength=n_entities)[pairs[:, 0]] == 1)
    rows, cols = pairs[exclusive, 0], pairs[exclusive, 1]
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(offset, offset))
    _, component = connected_components(graph, directed=False)
    return component[np.where(has, case_node, entity)].astype(np.int64)


def _roundness(name: str, series: pd.Series) -> Feature:
    """The largest round unit (1000, 100, ..., 1, else cents) the amount is a multiple of."""
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    cents = np.round(np.abs(values) * 100)
    codes = np.full(len(values), len(_ROUND_UNITS), dtype=np.int32)  # "cents"
    for code, unit in reversed(list(enumerate(_ROUND_UNITS))):
        codes[np.fmod(cents, unit * 100) == 0] = code
    codes[np.isnan(values)] = -1
    names = [f"multiple of {u:,}" for u in _ROUND_UNITS] + ["not a whole unit"]
    return Feature(f"{name} roundness", codes, names, derived=True)


def _presence(frame: pd.DataFrame, columns: tuple[str, ...]) -> Feature:
    """Which of several entity keys a row has (e.g. an outside party on one side)."""
    present = np.zeros(len(frame), dtype=np.int32)
    for bit, column in enumerate(columns):
        present |= frame[column].notna().to_numpy().astype(np.int32) << bit
    names = []
    for code in range(1 << len(columns)):
        have = [c for bit, c in enumerate(columns) if code >> bit & 1]
        names.append("none" if not have else "all" if len(have) == len(columns)
                     else "only " + " and ".join(have))  # fmt: skip
    return Feature(f"{' / '.join(columns)} present", present, names, derived=True)


def _history(frame: pd.DataFrame, table: Table, entity: np.ndarray) -> list[Feature]:
    """Per-entity windows: events and amount summed over the trailing 1 h, 24 h and 7 d
    (this event included), seconds since the entity's previous event, amount over the
    entity's median amount."""
    roles = table.roles
    seconds = _seconds(frame[roles.time])
    known = ~np.isnan(seconds)
    t = np.where(known, seconds, 0.0)
    t = np.round(t - t[known].min() if known.any() else t).astype(np.int64)
    span = int(t.max()) + max(w for _, w in WINDOWS) + 1
    key = entity * span + t
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    position = np.arange(len(key), dtype=np.int64)
    amount = None
    if roles.amounts:
        amount = frame[roles.amounts[0]].to_numpy(dtype=np.float64, na_value=np.nan)
        cumulative = np.concatenate([[0.0], np.cumsum(np.nan_to_num(amount[order]))])
    features = []
    for label, width in WINDOWS:
        start = np.searchsorted(key_sorted, key_sorted - width, side="right")
        counts = np.empty(len(key), dtype=np.float64)
        counts[order] = position - start + 1
        features.append(Feature(f"events in entity's last {label}", counts, derived=True))
        if amount is not None:
            sums = np.empty(len(key), dtype=np.float64)
            sums[order] = cumulative[position + 1] - cumulative[start]
            features.append(Feature(f"{roles.amounts[0]} sum over entity's last {label}", sums,
                                    derived=True))  # fmt: skip
    entity_sorted = entity[order]
    gap = np.full(len(key), np.nan)
    same = np.concatenate([[False], entity_sorted[1:] == entity_sorted[:-1]])
    seconds_sorted = seconds[order]
    gap_sorted = np.where(same, seconds_sorted - np.roll(seconds_sorted, 1), np.nan)
    gap[order] = gap_sorted
    features.append(Feature("seconds since entity's previous event", gap, derived=True))
    if amount is not None:
        median = pd.Series(amount).groupby(entity).transform("median").to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(median > 0, amount / median, np.nan)
        features.append(Feature(f"{roles.amounts[0]} / entity's median", ratio, derived=True))
    for feature in features:
        feature.values[~known] = np.nan
    return features


def behavioural_features(table: Table, entity: np.ndarray) -> tuple[list[Feature], list[str]]:
    """The table's behavioural features and the columns left out for having too many values.

    Parameters
    ----------
    table : Table
    entity : int64 array, shape (n_rows,)
        :func:`entity_codes` of the table.
    """
    frame, roles = table.frame, table.roles
    features, skipped = [], []
    for name in frame.columns:
        if name in roles.not_features:
            continue
        feature = column_feature(name, frame[name])
        if feature is None:
            skipped.append(name)
        else:
            features.append(feature)
    if roles.time:
        stamps = frame[roles.time]
        features.append(Feature("hour of day", stamps.dt.hour.to_numpy(np.float64, na_value=-1)
                                .astype(np.int32), [f"{h:02d}h" for h in range(24)],
                                derived=True))  # fmt: skip
        features.append(Feature("weekday", stamps.dt.weekday.to_numpy(np.float64, na_value=-1)
                                .astype(np.int32), list(_WEEKDAYS), derived=True))  # fmt: skip
    for name in roles.amounts:
        features.append(_roundness(name, frame[name]))
    if len(roles.entities) > 1:
        features.append(_presence(frame, roles.entities))
    if roles.time and roles.entities:
        features += _history(frame, table, entity)
    return features, skipped


def _digits(name: str, values: np.ndarray) -> list[Feature]:
    whole = np.abs(np.nan_to_num(values, nan=-1.0))
    out = [Feature(name, values)]
    for place, label in ((1, "last digit"), (10, "tens digit"), (100, "hundreds digit")):
        digit = np.floor(whole / place) % 10
        out.append(Feature(f"{name} {label}", np.where(np.isnan(values), np.nan, digit)))
    with np.errstate(divide="ignore"):
        length = np.floor(np.log10(np.maximum(whole, 1))) + 1
    out.append(Feature(f"{name} digits", np.where(np.isnan(values), np.nan, length)))
    return out


def _fill_missing(series: pd.Series, rng: np.random.Generator) -> pd.Series | None:
    """Missing values replaced by present ones drawn at random; ``None`` if none is present."""
    missing = series.isna().to_numpy()
    if not missing.any():
        return series
    present = np.flatnonzero(~missing)
    if len(present) == 0:
        return None
    filled = series.copy()
    filled.iloc[np.flatnonzero(missing)] = series.iloc[
        rng.choice(present, size=int(missing.sum()))].to_numpy()
    return filled


def identifier_features(table: Table, rng: np.random.Generator) -> list[Feature]:
    """Features of the identifier and entity-key columns alone, for the leakage check:
    numeric ids with their last digits and length; text ids (names) with their length,
    first and last characters, how often they occur, and the value itself where few.

    Whether an identifier is present is behaviour (a card payment has a merchant) and is
    audited with the behavioural features; here a missing identifier is replaced by a present
    one drawn at random (``rng``), so that only the values themselves can speak.
    """
    frame, roles = table.frame, table.roles
    features = []
    for name in dict.fromkeys((*roles.identifiers, *roles.entities)):
        series = _fill_missing(frame[name], rng)
        if series is None:
            continue
        if column_kind(series) == "numeric":
            features += _digits(name, series.to_numpy(dtype=np.float64, na_value=np.nan))
            continue
        text = series.astype("string")
        missing = text.isna().to_numpy()

        def numeric(values, missing=missing):
            out = np.asarray(values, dtype=np.float64)
            out[missing] = np.nan
            return out

        features.append(Feature(f"{name} length", numeric(text.str.len().fillna(0))))
        for end, label in ((0, "first"), (-1, "last")):
            char = text.str[end].fillna(" ").map(ord)
            features.append(Feature(f"{name} {label} character", numeric(char)))
        counts = text.map(text.value_counts()).fillna(0)
        features.append(Feature(f"{name} frequency", numeric(counts)))
        value = _categorical(f"{name} value", series)
        if value is not None:
            features.append(value)
    return features
