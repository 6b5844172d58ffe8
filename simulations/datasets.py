"""Reading synthsim datasets back: the manifest and any table as a pandas DataFrame.

A dataset is named by a folder path or an fsspec URL (``s3://bucket/prefix``, ``memory://ds``).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulations.eventlog import _PART_RE, MANIFEST_NAME, _show, is_dataset
from simulations.locations import child, is_url, split

__all__ = ["read_manifest", "read_parts", "read_table"]


def read_manifest(dataset: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a dataset's manifest.

    Parameters
    ----------
    dataset : str or os.PathLike
        Dataset folder, or an fsspec URL.

    Returns
    -------
    dict
        The parsed ``manifest.json``.

    Raises
    ------
    FileNotFoundError
        If ``dataset`` has no manifest (it is not a dataset, or one still being written).
    """
    fs, path = split(dataset)
    if fs is None:
        with open(Path(path) / MANIFEST_NAME, encoding="utf-8") as fh:
            result: dict[str, Any] = json.load(fh)
        return result
    try:
        with fs.open(f"{path}/{MANIFEST_NAME}", "rb") as fh:
            result = json.loads(fh.read().decode("utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{_show(str(dataset))} is not a dataset "
                                f"(no {MANIFEST_NAME})") from None  # fmt: skip
    return result


def _stored_arrow_schema(pf: pq.ParquetFile) -> pa.Schema | None:
    """The Arrow schema the writer stored in the file's metadata, if any."""
    meta = pf.metadata.metadata or {}
    blob = meta.get(b"ARROW:schema")
    if blob is None:
        return None
    try:
        return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(blob)))
    except (ValueError, pa.ArrowException):
        return None


def _read_parquet_part(path: Path | pa.NativeFile,
                       columns: list[str] | None = None) -> pa.Table:  # fmt: skip
    """Read one Parquet part, restoring timestamp units Parquet cannot store (seconds)."""
    pf = pq.ParquetFile(path)
    table = pf.read(columns=columns)
    stored = _stored_arrow_schema(pf)
    if stored is None:
        return table
    for i, field in enumerate(table.schema):
        idx = stored.get_field_index(field.name)
        if idx < 0:
            continue
        want = stored.field(idx).type
        if want != field.type and pa.types.is_timestamp(want) and pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.with_type(want), table.column(i).cast(want))
    return table


def read_table(dataset: str | os.PathLike[str], table: str,
               columns: list[str] | None = None) -> pd.DataFrame:
    """Read all part files of one table, in part order, into one DataFrame.

    Parameters
    ----------
    dataset : str or os.PathLike
        Dataset folder, or an fsspec URL.
    table : str
        Table name.
    columns : list of str, optional
        Read only these columns (all by default).

    Returns
    -------
    pandas.DataFrame
        The concatenated parts with a fresh ``RangeIndex``.  Integer and boolean columns
        with missing values (an account on the side outside the bank, a censored label) are
        pandas' nullable integers and booleans, not floats or objects. CSV columns get the
        types pyarrow infers; empty unquoted fields read as nulls.

    Raises
    ------
    FileNotFoundError
        If ``dataset`` is not a dataset or has no such table.
    ValueError
        If the table folder mixes Parquet and CSV parts.
    """
    if not is_dataset(dataset):
        shown = _show(dataset if is_url(dataset) else Path(dataset))
        raise FileNotFoundError(f"{shown} is not a dataset (no {MANIFEST_NAME})")
    return read_parts(dataset, table, columns)


def _part_files(root: str | os.PathLike[str], table: str) -> list[tuple[int, str, Any]]:
    """``(part number, extension, file)`` of each part of ``table`` (any order): files are
    paths, or for an fsspec URL Arrow buffers of the parts' bytes."""
    fs, path = split(root)
    if fs is None:
        folder = Path(path) / table
        if not folder.is_dir():
            raise FileNotFoundError(f"dataset {_show(path)} has no table {table!r}")
        entries = [(entry.name, entry, entry.is_file()) for entry in folder.iterdir()]
    else:
        if not fs.isdir(f"{path}/{table}"):
            raise FileNotFoundError(f"dataset {_show(str(root))} has no table {table!r}")
        entries = [(e["name"].rstrip("/").rsplit("/", 1)[-1], e["name"], e["type"] == "file")
                   for e in fs.ls(f"{path}/{table}", detail=True)]  # fmt: skip
    parts: list[tuple[int, str, Any]] = []
    for name, entry, is_file in entries:
        match = _PART_RE.match(name)
        if match and is_file:
            data = entry if fs is None else pa.BufferReader(fs.cat_file(entry))
            parts.append((int(match.group(1)), match.group(2), data))
    return parts


def read_parts(root: str | os.PathLike[str], table: str,
               columns: list[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """:func:`read_table` on a folder whose parts are written but whose manifest is not yet
    (a dataset being committed)."""
    tables = list(_part_tables(root, table, columns))
    if not tables:
        return pd.DataFrame()
    return _frame(pa.concat_tables(tables, promote_options="permissive"))


def _part_tables(root, table: str, columns: list[str] | None) -> Iterator[pa.Table]:
    parts = _part_files(root, table)
    if len({ext for _, ext, _ in parts}) > 1:
        shown = _show(child(root, table))
        raise ValueError(f"table folder {shown} mixes parquet and csv part files")
    parts.sort(key=lambda part: part[0])
    convert = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False,
                                   include_columns=columns)
    for _, ext, path in parts:
        yield (_read_parquet_part(path, columns) if ext == "parquet"
               else pacsv.read_csv(path, convert_options=convert))  # fmt: skip


def _frame(combined: pa.Table) -> pd.DataFrame:
    """``combined`` as pandas, integer and boolean columns with nulls as nullable types."""
    frame = combined.to_pandas()
    for name, column in zip(combined.column_names, combined.columns, strict=True):
        if pa.types.is_integer(column.type) and column.null_count:
            values = pc.fill_null(column, 0).to_numpy()
            frame[name] = pd.arrays.IntegerArray(values, pc.is_null(column).to_numpy())
        elif pa.types.is_boolean(column.type) and column.null_count:
            values = pc.fill_null(column, False).to_numpy(zero_copy_only=False)
            frame[name] = pd.arrays.BooleanArray(values, pc.is_null(column).to_numpy())
    return frame
