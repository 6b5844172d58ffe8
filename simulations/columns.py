"""Arrow columns to and from numpy: small closed vocabularies as dictionary columns, plain
string columns that Parquet still dictionary-encodes, and nullable integer or timestamp
columns as values with a null mask."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["DICTIONARY_ENCODED", "label_column", "column_codes", "column_ints", "text_field"]

#: Field metadata asking :class:`simulations.eventlog.TablePartWriter` to dictionary-encode a
#: plain string column in Parquet (readers still get plain strings, not categoricals).
DICTIONARY_ENCODED = {b"parquet.encoding": b"dictionary"}


def text_field(name: str) -> pa.Field:
    """A plain string field that Parquet stores dictionary-encoded (:data:`DICTIONARY_ENCODED`):
    pandas reads it as strings (``object``), so tools that want string columns take it as is."""
    return pa.field(name, pa.string(), metadata=DICTIONARY_ENCODED)


def label_column(codes: np.ndarray, names: Sequence[str], mask=None) -> pa.DictionaryArray:
    """A dictionary column (int8 indices, string values) of ``codes`` into ``names``;
    ``mask`` (bool, True = null) marks missing entries."""
    indices = pa.array(np.asarray(codes).astype(np.int8), type=pa.int8(), mask=mask)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names), pa.string()))


def column_codes(column: pa.Array, vocabulary: Sequence[str]) -> np.ndarray:
    """Codes of a (dictionary or string) column's values in ``vocabulary``; -1 for null or
    for a value outside it."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if isinstance(column, pa.DictionaryArray):
        names = column.dictionary.to_pylist()
        lookup = np.array([vocabulary.index(v) if v in vocabulary else -1 for v in names]
                          + [-1], dtype=np.int64)  # fmt: skip
        return lookup[pc.fill_null(column.indices, -1).to_numpy().astype(np.int64)]
    found = pc.index_in(column, value_set=pa.array(list(vocabulary), pa.string()))
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def column_ints(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """A nullable integer or timestamp column as (int64 values with 0 for null, null mask);
    timestamps in seconds."""
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.timestamp("s")).cast(pa.int64())
    null = pc.is_null(column).to_numpy(zero_copy_only=False)
    return pc.fill_null(column, 0).to_numpy(zero_copy_only=False).astype(np.int64), null
