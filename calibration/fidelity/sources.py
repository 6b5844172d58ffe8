"""Where the audit and the comparison get a table from: a synthsim dataset (with the roles its
manifest records), a Parquet or CSV file, or a pandas DataFrame; and what kind each column is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from simulations.datasets import read_manifest, read_table
from simulations.errors import ConfigError
from simulations.eventlog import is_dataset
from simulations.roles import TableRoles

__all__ = ["Source", "Table", "column_kind", "labelled_tables", "load"]

Source = str | os.PathLike[str] | pd.DataFrame
"""A dataset folder, a ``.parquet``/``.csv`` file, or a DataFrame."""

@dataclass(frozen=True)
class Table:
    """A table read for analysis, with the roles of its columns.

    Attributes
    ----------
    frame : pandas.DataFrame
        The rows, one column per field.
    roles : TableRoles
        Column roles, from the dataset's manifest (or its scenario), else empty.
    name : str
        Where it came from, for messages and reports (``DATASET:table`` or the file).
    """

    frame: pd.DataFrame
    roles: TableRoles
    name: str


def column_kind(series: pd.Series) -> str:
    """One of ``numeric``, ``datetime``, ``categorical``, ``boolean`` for a column."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return "numeric"
    return "categorical"


def _dataset_roles(manifest: dict, table: str) -> TableRoles:
    recorded = manifest.get("roles")
    if recorded is not None:
        return TableRoles.from_dict(recorded.get(table, {}))
    from simulations.scenario import get_scenario  # datasets written before roles existed

    try:
        return get_scenario(manifest["scenario"]).roles.get(table, TableRoles())
    except ConfigError:
        return TableRoles()


def labelled_tables(dataset: str | os.PathLike[str]) -> list[str]:
    """The tables of a dataset whose roles name labels, in manifest order."""
    manifest = read_manifest(dataset)
    return [t for t in manifest["tables"] if _dataset_roles(manifest, t).labels]


def _pick_table(dataset: Path, table: str | None, prefer_labelled: bool) -> str:
    manifest = read_manifest(dataset)
    tables = list(manifest["tables"])
    if table is not None:
        if table not in tables:
            raise ConfigError(f"{dataset} has no table {table!r}; its tables are: "
                              f"{', '.join(tables)}.")  # fmt: skip
        return table
    if prefer_labelled:
        tables = [t for t in tables if _dataset_roles(manifest, t).labels] or tables
    return max(tables, key=lambda t: manifest["tables"][t]["rows"])


def load(
    source: Source,
    table: str | None = None,
    roles: TableRoles | None = None,
    *,
    prefer_labelled: bool = False,
) -> Table:
    """Read ``source`` into a :class:`Table`.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        A synthsim dataset folder, a ``.parquet`` or ``.csv`` file, or a DataFrame.
    table : str, optional
        Table of a dataset; by default the largest (of the labelled ones, when
        ``prefer_labelled``).
    roles : TableRoles, optional
        Roles to use instead of (for a dataset: merged over) the recorded ones.

    Raises
    ------
    ConfigError
        The source does not exist, is not a table, has no such table, is empty, or the roles
        name columns it lacks.
    """
    if isinstance(source, pd.DataFrame):
        frame, name, recorded = source, "DataFrame", TableRoles()
    else:
        path = Path(source)
        if is_dataset(path):
            table = _pick_table(path, table, prefer_labelled)
            frame, name = read_table(path, table), f"{path}:{table}"
            recorded = _dataset_roles(read_manifest(path), table)
        elif path.is_file() and path.suffix.lower() in (".parquet", ".csv"):
            if table is not None:
                raise ConfigError(f"--table applies to datasets, and {path} is a file.")
            frame = pq.read_table(path).to_pandas() if path.suffix.lower() == ".parquet" \
                else pd.read_csv(path)  # fmt: skip
            name, recorded = str(path), TableRoles()
        elif path.exists():
            raise ConfigError(f"{path} is neither a synthsim dataset (no manifest.json) nor a "
                              f".parquet or .csv file.")  # fmt: skip
        else:
            raise ConfigError(f"{path} does not exist.")
    if len(frame) == 0 or len(frame.columns) == 0:
        raise ConfigError(f"{name} is empty: it has no rows to analyse.")
    if roles is not None:
        recorded = recorded.replace(**{k: v for k, v in roles.to_dict().items() if v})
    recorded.check(frame.columns, name)
    return Table(frame, recorded, name)
