"""Export event logs as XES (IEEE 1849-2016 eXtensible Event Stream) documents.

The input is a :class:`pandas.DataFrame` with one row per event, in the process-mining
column convention: ``case:concept:name`` (case id), ``concept:name`` (activity) and
``time:timestamp`` (``datetime64``) are required; ``org:resource``,
``lifecycle:transition`` and any other columns are optional event attributes.  Columns
prefixed ``case:`` are case (trace) attributes, written once per trace.

Each column's XES type is chosen once from its dtype (``string``, ``date``, ``int``,
``float``, ``boolean``); the document is then written a block of cases at a time, with
the attribute elements of a block formatted column by column, so memory stays bounded
by the block size rather than the log size.  The file is written to a temporary sibling
and moved into place with :func:`os.replace`, so ``path`` never holds a partial log.

Dates are written to the millisecond with the UTC offset they have: a time-zone-aware
column keeps its zone's local time and offset (``+01:00`` in British summer time), naive
values are taken as UTC (``+00:00``).  The document follows the IEEE 1849-2016 schema (every
classifier has an NCName and a scope; log attributes follow the classifiers), except that
``xes.version`` holds the standard's own "1849-2016" where the schema types it as a decimal,
and elements are in the ``http://www.xes-standard.org/`` namespace (the schema declares
none; OpenXES and the published logs use it).  With a ``lifecycle:transition`` column the
log declares ``lifecycle:model`` = "standard" (the transitions of the standard lifecycle
model of the Lifecycle extension).
"""

from __future__ import annotations

import math
import os
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simulations.errors import ConfigError, OutputError

__all__ = [
    "CLASSIFIERS", "REQUIRED_COLUMNS", "STANDARD_TRANSITIONS", "XES_NAMESPACE",
    "read_xes_counts", "write_xes",
]

XES_NAMESPACE = "http://www.xes-standard.org/"
REQUIRED_COLUMNS = ("case:concept:name", "concept:name", "time:timestamp")

_CASE = "case:concept:name"
_ACTIVITY = "concept:name"
_TIME = "time:timestamp"
_LIFECYCLE = "lifecycle:transition"
_RESOURCE = "org:resource"
_CASE_PREFIX = "case:"
_BLOCK_ROWS = 50_000

_EXTENSIONS = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
)
#: Event classifiers declared in every log: (name, an NCName; keys).
CLASSIFIERS = (
    ("Activity", "concept:name"),
    ("ActivityLifecycle", "concept:name lifecycle:transition"),
)

#: Transitions of the standard lifecycle model (IEEE 1849-2016, Lifecycle extension).
STANDARD_TRANSITIONS = (
    "schedule", "assign", "withdraw", "reassign", "start", "suspend", "resume", "pi_abort",
    "ate_abort", "complete", "autoskip", "manualskip", "unknown",
)

# Characters XML 1.0 cannot hold at all (they are replaced by U+FFFD).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTR_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def _esc(text: str) -> str:
    """Escape ``text`` for a double-quoted XML attribute value (whitespace kept exact)."""
    return _INVALID_XML.sub("\ufffd", text).translate(_ATTR_ESCAPES)


def _open(tag: str, key: str, lead: str = "") -> str:
    return f'{lead}<{tag} key="{_esc(key)}" value="'


def _format_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def _kind(values: pd.Series) -> str:
    """XES element name for a column: string, date, int, float, boolean (or mixed)."""
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return _kind(pd.Series(values.cat.categories))
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    return {
        "string": "string",
        "empty": "string",
        "boolean": "boolean",
        "integer": "int",
        "floating": "float",
        "mixed-integer-float": "float",
        "decimal": "float",
        "datetime64": "date",
        "datetime": "date",
    }.get(inferred, "mixed")


def _iso(values: pd.Series) -> list[str]:
    """ISO 8601 strings (milliseconds and UTC offset) of non-missing datetimes: local time
    and offset of a time-zone-aware series, ``+00:00`` for naive values (taken as UTC)."""
    stamps = pd.to_datetime(pd.Series(values))
    if stamps.dt.tz is None:
        local = stamps.to_numpy("datetime64[ns]")
        offsets = np.zeros(len(local), np.int64)
    else:
        local = stamps.dt.tz_localize(None).to_numpy("datetime64[ns]")
        utc = stamps.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")
        offsets = (local - utc).astype("timedelta64[m]").astype(np.int64)
    text = np.datetime_as_string(local, unit="ms").astype(object)
    codes, uniques = pd.factorize(offsets)
    suffix = np.array([_offset(int(m)) for m in uniques], dtype=object)
    return (text + suffix[codes]).tolist() if len(text) else []


def _offset(minutes: int) -> str:
    """``+HH:MM`` for a UTC offset in minutes."""
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _value_element(key: str, value: Any) -> str:
    """One typed attribute element for a single value (used for mixed-type columns)."""
    if isinstance(value, bool | np.bool_):
        return f'<boolean key="{_esc(key)}" value="{"true" if value else "false"}"/>'
    if isinstance(value, int | np.integer):
        return f'<int key="{_esc(key)}" value="{int(value)}"/>'
    if isinstance(value, float | np.floating):
        return f'<float key="{_esc(key)}" value="{_format_float(float(value))}"/>'
    if isinstance(value, pd.Timestamp | np.datetime64):
        return f'<date key="{_esc(key)}" value="{_iso(pd.Series([value]))[0]}"/>'
    return f'<string key="{_esc(key)}" value="{_esc(str(value))}"/>'


def _elements(values: pd.Series, key: str, kind: str, lead: str = "") -> np.ndarray:
    """Attribute elements of one column as an object array; missing values give ``""``.

    Parameters
    ----------
    values : pandas.Series
        One column, ``n`` rows.
    key : str
        The XES attribute key.
    kind : str
        The column's kind from :func:`_kind` (decided once for the whole log).
    lead : str
        Text put before each element (newline and indentation).

    Returns
    -------
    numpy.ndarray
        Object array of shape ``(n,)`` holding one XML element string per row.
    """
    out = np.full(len(values), "", dtype=object)
    present = values.notna().to_numpy(dtype=bool)
    if not present.any():
        return out
    kept = values[present]
    if kind == "string":
        codes, uniques = pd.factorize(kept.astype(object))
        head = _open("string", key, lead)
        text = np.array([f'{head}{_esc(str(u))}"/>' for u in uniques], dtype=object)
        out[present] = text[codes]
    elif kind == "date":
        head = _open("date", key, lead)
        out[present] = [f'{head}{t}"/>' for t in _iso(kept)]
    elif kind == "int":
        head = _open("int", key, lead)
        out[present] = [f'{head}{v}"/>' for v in kept.to_numpy(dtype=np.int64).tolist()]
    elif kind == "float":
        head = _open("float", key, lead)
        floats = kept.to_numpy(dtype=np.float64).tolist()
        out[present] = [f'{head}{_format_float(v)}"/>' for v in floats]
    elif kind == "boolean":
        flags = kept.to_numpy(dtype=bool)
        true, false = (f'{_open("boolean", key, lead)}{v}"/>' for v in ("true", "false"))
        out[present] = np.where(flags, true, false).astype(object)
    else:
        out[present] = [lead + _value_element(key, v) for v in kept.tolist()]
    return out


def _check(events: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in events.columns]
    if missing:
        raise ConfigError(
            f"event log is missing required column(s) {', '.join(map(repr, missing))}; "
            f"an XES export needs {', '.join(map(repr, REQUIRED_COLUMNS))}"
        )
    for column in REQUIRED_COLUMNS:
        n_missing = int(events[column].isna().sum())
        if n_missing:
            raise ConfigError(
                f"column {column!r} of the event log has {n_missing} missing value(s); "
                "every event needs a case id, an activity and a timestamp"
            )
    if not pd.api.types.is_datetime64_any_dtype(events[_TIME].dtype):
        raise ConfigError(
            f"column {_TIME!r} must have a datetime64 dtype. Got {events[_TIME].dtype} instead."
        )


def _case_table(
    events: pd.DataFrame,
    codes: np.ndarray,
    case_ids: pd.Index,
    case_attributes: pd.DataFrame | None,
) -> pd.DataFrame:
    """Case attributes (keys without ``case:``), one row per case in first-appearance order."""
    columns = [c for c in events.columns if c.startswith(_CASE_PREFIX) and c != _CASE]
    if columns:
        table = events[columns].groupby(codes, sort=True).first()
        table.columns = [c[len(_CASE_PREFIX) :] for c in columns]
        table.index = range(len(case_ids))
    else:
        table = pd.DataFrame(index=range(len(case_ids)))
    if case_attributes is not None:
        extra = case_attributes.reindex(case_ids)
        extra.columns = [
            c[len(_CASE_PREFIX) :] if str(c).startswith(_CASE_PREFIX) else str(c)
            for c in extra.columns
        ]
        if _ACTIVITY in extra.columns:
            raise ConfigError(
                f"case_attributes must not have a {_ACTIVITY!r} column: a trace's "
                f"{_ACTIVITY!r} is its case id from {_CASE!r}"
            )
        extra.index = table.index
        for column in extra.columns:
            if column in table.columns:
                table[column] = extra[column].where(extra[column].notna(), table[column])
            else:
                table[column] = extra[column]
    return table


def _header(extension_globals: list[tuple[str, str, str]], log_attributes: str) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<log xes.version="1849-2016" xes.features="" xmlns="{XES_NAMESPACE}">',
    ]
    lines += [f'\t<extension name="{n}" prefix="{p}" uri="{u}"/>' for n, p, u in _EXTENSIONS]
    lines.append('\t<global scope="trace">')
    lines.append('\t\t<string key="concept:name" value="__INVALID__"/>')
    lines.append("\t</global>")
    lines.append('\t<global scope="event">')
    lines += [f'\t\t<{tag} key="{key}" value="{value}"/>' for tag, key, value in extension_globals]
    lines.append("\t</global>")
    lines += [f'\t<classifier name="{n}" scope="event" keys="{k}"/>' for n, k in CLASSIFIERS]
    return "\n".join(lines) + log_attributes + "\n"


def _blocks(case_starts: np.ndarray, block_rows: int) -> Iterator[tuple[int, int]]:
    """Ranges ``[i, j)`` of cases holding about ``block_rows`` events (at least one case)."""
    n_cases = len(case_starts) - 1
    i = 0
    while i < n_cases:
        j = int(np.searchsorted(case_starts, case_starts[i] + block_rows, side="left"))
        j = min(max(j, i + 1), n_cases)
        yield i, j
        i = j


def write_xes(
    events: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    case_attributes: pd.DataFrame | None = None,
    log_attributes: Mapping[str, str] | None = None,
) -> tuple[int, int]:
    """Write an event log as an XES document.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event.  Required columns: ``case:concept:name`` (case id, written as a
        string), ``concept:name`` (activity) and ``time:timestamp`` (``datetime64``; naive
        values are taken as UTC, time-zone-aware ones are written in their zone's local time
        with its offset), none of them missing.  Other columns are event
        attributes, typed from their dtype (``string``, ``date``, ``int``, ``float``,
        ``boolean``); missing values are left out of that event.  Columns prefixed
        ``case:`` are trace attributes (the prefix is dropped); a case takes its first
        non-missing value.
    path : str or os.PathLike
        The target file; replaced atomically once the document is complete.
    case_attributes : pandas.DataFrame, optional
        Further trace attributes, indexed by case id (a ``case:`` prefix on its columns is
        dropped).  Its values take precedence over ``case:`` columns of ``events``; cases
        it lists that have no events are not written.
    log_attributes : Mapping[str, str], optional
        String attributes of the log element (after the classifiers).  When every value of
        ``lifecycle:transition`` is a transition of the standard lifecycle model
        (:data:`STANDARD_TRANSITIONS`), ``lifecycle:model`` = "standard" is added.

    Returns
    -------
    tuple of int
        ``(n_traces, n_events)`` written.  Traces are in order of first appearance of the
        case in ``events``; events within a trace are sorted by time (stable, so ties keep
        their input order).

    Raises
    ------
    ConfigError
        If a required column is missing, holds missing values, or the timestamp column is
        not ``datetime64``.
    OutputError
        If the file cannot be written.
    """
    _check(events)
    target = Path(path)
    codes, case_ids = pd.factorize(events[_CASE], sort=False)
    stamps = pd.to_datetime(events[_TIME])
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    order = np.lexsort((stamps.to_numpy("datetime64[ns]").view(np.int64), codes))
    case_starts = np.searchsorted(codes[order], np.arange(len(case_ids) + 1), side="left")

    cases = _case_table(events, codes, pd.Index(case_ids), case_attributes)
    case_kinds = {c: _kind(cases[c]) for c in cases.columns}
    firsts = [_ACTIVITY, _LIFECYCLE, _RESOURCE, _TIME]
    event_columns = [c for c in firsts if c in events.columns] + [
        c for c in events.columns if c not in firsts and not str(c).startswith(_CASE_PREFIX)
    ]
    event_kinds = {c: _kind(events[c]) for c in event_columns}
    event_kinds[_TIME] = "date"
    extension_globals = [("string", _ACTIVITY, "__INVALID__")]
    if _LIFECYCLE in events.columns and events[_LIFECYCLE].notna().all():
        extension_globals.append(("string", _LIFECYCLE, "complete"))
    extension_globals.append(("date", _TIME, "1970-01-01T00:00:00.000+00:00"))
    attributes = dict(log_attributes or {})
    if _LIFECYCLE in events.columns:
        used = pd.unique(events[_LIFECYCLE].dropna().astype(str))
        if set(used) <= set(STANDARD_TRANSITIONS):
            attributes.setdefault("lifecycle:model", "standard")
    log_lines = "".join(f'\n\t<string key="{_esc(k)}" value="{_esc(str(v))}"/>'
                        for k, v in attributes.items())  # fmt: skip

    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            out.write(_header(extension_globals, log_lines))
            ids = np.array([_esc(str(c)) for c in case_ids], dtype=object)
            for i, j in _blocks(case_starts, _BLOCK_ROWS):
                block = events.take(order[case_starts[i] : case_starts[j]])
                event_parts = [
                    _elements(block[c], str(c), event_kinds[c], "\n\t\t\t") for c in event_columns
                ]
                rows = ["".join(p) for p in zip(*event_parts, strict=True)]
                case_block = cases.iloc[i:j]
                case_parts = [
                    _elements(case_block[c], c, case_kinds[c], "\n\t\t") for c in cases.columns
                ]
                case_rows = zip(*case_parts, strict=True) if case_parts else ((),) * (j - i)
                offset = case_starts[i]
                pieces: list[str] = []
                for k, attrs in zip(range(i, j), case_rows, strict=True):
                    pieces.append(f'\t<trace>\n\t\t<string key="concept:name" value="{ids[k]}"/>')
                    pieces.extend(attrs)
                    for row in rows[case_starts[k] - offset : case_starts[k + 1] - offset]:
                        pieces.append(f"\n\t\t<event>{row}\n\t\t</event>")
                    pieces.append("\n\t</trace>\n")
                out.write("".join(pieces))
            out.write("</log>\n")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write XES file {str(target)!r}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return len(case_ids), len(events)


def read_xes_counts(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Parse an XES file and count its traces and events (streaming, bounded memory).

    Parameters
    ----------
    path : str or os.PathLike
        An XES document, with or without the XES namespace.

    Returns
    -------
    tuple of int
        ``(n_traces, n_events)``; only events inside traces are counted.
    """
    n_traces = n_events = 0
    in_trace = False
    trace_tags = {"trace", f"{{{XES_NAMESPACE}}}trace"}
    event_tags = {"event", f"{{{XES_NAMESPACE}}}event"}
    for kind, elem in ET.iterparse(os.fspath(path), events=("start", "end")):
        if elem.tag in trace_tags:
            in_trace = kind == "start"
            if not in_trace:
                n_traces += 1
                elem.clear()
        elif kind == "end" and in_trace and elem.tag in event_tags:
            n_events += 1
    return n_traces, n_events
