"""Event-log datasets: atomic dataset folders of Parquet or CSV part files.

A dataset is a folder holding one sub-folder per table, each with part files
``part-00000.parquet`` (or ``.csv``), and a ``manifest.json`` at the top that is
written last.  :class:`DatasetWriter` builds the dataset in a hidden temporary
sibling folder and renames it into place on :meth:`DatasetWriter.commit`, so the
target path never holds an incomplete dataset.  :class:`TablePartWriter` streams
Arrow record batches of one schema into one part file.

The target may also be an fsspec URL (``s3://bucket/prefix``, ``gs://...``,
``memory://name``; ``file://`` is a local path).  Object stores have no atomic
rename, so the parts are written straight under the target and ``manifest.json``,
written last, is the commit: a folder without one is not a dataset.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
import warnings
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simulations.columns import DICTIONARY_ENCODED
from simulations.errors import ConfigError, OutputError
from simulations.locations import child, is_url, split

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = [
    "part_file",
    "FORMATS",
    "MANIFEST_NAME",
    "DatasetWriter",
    "TablePartWriter",
    "is_dataset",
]

MANIFEST_NAME = "manifest.json"
FORMATS = ("parquet", "csv")

_TMP_MARK = ".synthsim-tmp-"
_OLD_MARK = ".synthsim-old-"
_PART_RE = re.compile(r"^part-(\d+)\.(parquet|csv)$")
_LEFTOVER_RE = re.compile(r"^[^/]+/part-\d+\.(parquet|csv)$")  # parts of an unfinished run


def _check_fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        allowed = ", ".join(FORMATS)
        raise ConfigError(f"unknown output format {fmt!r}; expected one of: {allowed}")
    return fmt


def _show(path: Path | str) -> str:
    """Render a path for a one-line message (``repr`` if it holds control characters)."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _fsync_dir(path: Path) -> None:
    """Flush a directory entry to disk where the platform allows it (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def is_dataset(path: str | os.PathLike[str]) -> bool:
    """Tell whether ``path`` is a dataset folder.

    Parameters
    ----------
    path : str or os.PathLike
        Folder to inspect, or an fsspec URL.

    Returns
    -------
    bool
        True if ``path`` is a folder that holds ``manifest.json``.
    """
    fs, p = split(path)
    if fs is not None:
        return fs.isfile(f"{p}/{MANIFEST_NAME}")
    p = Path(p)
    return p.is_dir() and (p / MANIFEST_NAME).is_file()


def _remove_empty(folders: list[Path]) -> None:
    """Remove folders we created (deepest first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def part_file(folder: str | os.PathLike[str], table: str, part: int, fmt: str) -> Path | str:
    """``<folder>/<table>/part-<part:05d>.<fmt>``, creating the table folder (a URL for an
    fsspec URL ``folder``; object stores have no folders to create).

    Raises
    ------
    ConfigError
        If ``table`` is not a plain folder name or ``part`` is negative.
    """
    if (
        not table
        or table.startswith(".")
        or "/" in table
        or "\\" in table
        or not table.isprintable()
    ):
        raise ConfigError(f"invalid table name {table!r}: use a plain folder name")
    if isinstance(part, bool) or not isinstance(part, int) or part < 0:
        raise ConfigError(f"invalid part number {part!r}: expected an integer >= 0")
    name = f"part-{part:05d}.{_check_fmt(fmt)}"
    fs, path = split(folder)
    if fs is not None:
        return child(folder, table, name)
    directory = Path(path) / table
    directory.mkdir(exist_ok=True)
    return directory / name


class DatasetWriter:
    """Write a dataset folder atomically.

    Parameters
    ----------
    out : str or os.PathLike
        Target dataset folder, or an fsspec URL (see the module docstring).
    fmt : {"parquet", "csv"}
        Format of the part files.
    overwrite : bool
        Replace an existing dataset at ``out``.  A non-empty folder that is not
        a dataset is never replaced (at a URL, except the part files an unfinished
        run left behind).

    Raises
    ------
    ConfigError
        If ``fmt`` is not one of :data:`FORMATS`.

    Notes
    -----
    Used as a context manager, :meth:`open` is called on entry.  On exit the
    temporary folder is removed unless :meth:`commit` succeeded, so an
    exception inside the block (or a block that never commits) leaves nothing
    behind.  Exceptions are never swallowed.

    At a URL other than ``file://`` the parts go straight under the target: with
    ``overwrite``, :meth:`open` deletes the old manifest, then the old files; :meth:`commit`
    writes the manifest, the commit; :meth:`abort` deletes the parts written so far (best
    effort: a crash leaves them, without a manifest).
    """

    def __init__(
        self, out: str | os.PathLike[str], *, fmt: str = "parquet", overwrite: bool = False
    ) -> None:
        self.out: Path | str = out if is_url(out) else Path(out)
        self.fmt = _check_fmt(fmt)
        self.overwrite = overwrite
        self._target: Path | None = None
        self._tmp: Path | None = None
        self._url: str | None = None  # the target URL while open on an fsspec file system
        self._created: list[Path] = []  # parent folders open() made, deepest first

    @property
    def tmp_dir(self) -> Path | str | None:
        """The folder the parts go to while the writer is open, else None: a temporary
        folder, or at an fsspec URL the target URL itself."""
        return self._url if self._url is not None else self._tmp

    def _check_target(self, target: Path) -> None:
        """Raise OutputError if ``target`` may not receive the dataset."""
        shown = _show(target)
        if target.is_symlink():
            raise OutputError(f"{shown} is a symbolic link; pass the real folder path instead")
        if not target.exists():
            return
        if not target.is_dir():
            raise OutputError(f"{shown} exists and is not a folder; choose another output path")
        if is_dataset(target):
            if not self.overwrite:
                raise OutputError(
                    f"{shown} already holds a dataset; pass --overwrite to replace it"
                )
            return
        try:
            non_empty = any(target.iterdir())
        except OSError as exc:
            raise OutputError(f"cannot write to {shown}: {_reason(exc)}") from exc
        if non_empty:
            raise OutputError(
                f"{shown} exists, is not empty and is not a synthsim dataset; "
                "choose another output path or empty it yourself"
            )

    def open(self) -> Path:
        """Check the target and create a temporary sibling folder.

        Returns
        -------
        pathlib.Path
            The temporary folder the dataset is written into.

        Raises
        ------
        OutputError
            If the target cannot be used or the parent folder is not writable.
        RuntimeError
            If the writer is already open.
        """
        if self._tmp is not None or self._url is not None:
            raise RuntimeError("DatasetWriter is already open")
        fs, local = split(self.out)
        if fs is not None:
            return self._open_url(fs, str(local))
        target = Path(os.path.abspath(local))
        if not target.name:
            raise OutputError(f"cannot write to {_show(target)}: not a folder name")
        self._check_target(target)
        parent = target.parent
        created: list[Path] = []
        probe = parent
        while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
            created.append(probe)
            probe = probe.parent
        tmp = parent / f".{target.name}{_TMP_MARK}{uuid.uuid4().hex}"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            tmp.mkdir()
        except OSError as exc:
            _remove_empty(created)
            raise OutputError(f"cannot write to {_show(target)}: {_reason(exc)}") from exc
        self._target = target
        self._tmp = tmp
        self._created = created
        return tmp

    def _open_url(self, fs: AbstractFileSystem, path: str) -> str:
        """:meth:`open` at an fsspec URL: check the target and clear it if replacing."""
        url = str(self.out).rstrip("/")
        shown = _show(url)
        if fs.isfile(path):
            raise OutputError(f"{shown} exists and is not a folder; choose another output path")
        try:
            files = fs.find(path) if fs.isdir(path) else []
        except OSError as exc:
            raise OutputError(f"cannot write to {shown}: {_reason(exc)}") from exc
        names = [name[len(path):].lstrip("/") for name in files]
        if is_dataset(url) and not self.overwrite:
            raise OutputError(f"{shown} already holds a dataset; pass --overwrite to replace it")
        if names and not is_dataset(url):
            if not all(_LEFTOVER_RE.match(name) for name in names):
                raise OutputError(
                    f"{shown} exists, is not empty and is not a synthsim dataset; "
                    "choose another output path or empty it yourself"
                )
            if not self.overwrite:
                raise OutputError(f"{shown} holds the part files of an unfinished run; "
                                  "pass --overwrite to replace them")  # fmt: skip
        if names:
            manifest = f"{path}/{MANIFEST_NAME}"
            try:
                if is_dataset(url):  # the commit goes first, so nothing looks complete
                    fs.rm_file(manifest)
                old = [name for name in files if name.rstrip("/") != manifest]
                if old:
                    fs.rm(old)
            except OSError as exc:
                raise OutputError(f"cannot replace {shown}: {_reason(exc)}") from exc
        self._url = url
        return url

    def _require_open(self) -> tuple[Path, Path]:
        if self._tmp is None or self._target is None:
            raise RuntimeError("DatasetWriter is not open; call open() first")
        return self._target, self._tmp

    def part_path(self, table: str, part: int) -> Path | str:
        """Path of one part file inside the temporary folder.

        Parameters
        ----------
        table : str
            Table name; becomes a sub-folder name.
        part : int
            Non-negative part number.

        Returns
        -------
        pathlib.Path or str
            ``<tmp>/<table>/part-<part:05d>.<fmt>``; the table folder is created.  At an
            fsspec URL, the part's URL under the target.

        Raises
        ------
        ConfigError
            If ``table`` is not a plain folder name or ``part`` is negative.
        """
        if self._url is not None:
            return part_file(self._url, table, part, self.fmt)
        _, tmp = self._require_open()
        return part_file(tmp, table, part, self.fmt)

    def commit(self, manifest: dict[str, Any]) -> Path | str:
        """Write the manifest and move the dataset into place.

        Parameters
        ----------
        manifest : dict
            JSON-serialisable description of the dataset.

        Returns
        -------
        pathlib.Path or str
            The target folder (or URL), now holding the complete dataset.

        Raises
        ------
        OutputError
            If the target changed since :meth:`open` and may no longer be
            replaced, or a rename fails.
        """
        text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        if self._url is not None:
            return self._commit_url(self._url, text)
        target, tmp = self._require_open()
        staging = tmp / f"{MANIFEST_NAME}.tmp"
        with open(staging, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(staging, tmp / MANIFEST_NAME)
        _fsync_dir(tmp)

        self._check_target(target)  # it may have changed since open()
        shown = _show(target)
        if target.exists():
            old = target.parent / f".{target.name}{_OLD_MARK}{uuid.uuid4().hex}"
            try:
                os.rename(target, old)
            except OSError as exc:
                raise OutputError(f"cannot replace {shown}: {_reason(exc)}") from exc
            try:
                os.rename(tmp, target)
            except OSError as exc:
                try:
                    os.rename(old, target)
                except OSError:
                    pass
                raise OutputError(f"cannot write to {shown}: {_reason(exc)}") from exc
            self._tmp = None
            _fsync_dir(target.parent)
            try:
                shutil.rmtree(old)
            except OSError as exc:
                warnings.warn(
                    f"dataset written to {shown}, but the old copy at {_show(old)} "
                    f"could not be removed: {_reason(exc)}",
                    RuntimeWarning,
                    stacklevel=2,
                )
        else:
            try:
                os.rename(tmp, target)
            except OSError as exc:
                raise OutputError(f"cannot write to {shown}: {_reason(exc)}") from exc
            self._tmp = None
            _fsync_dir(target.parent)
        return target

    def _commit_url(self, url: str, text: str) -> str:
        """:meth:`commit` at an fsspec URL: the manifest, written last, is the commit."""
        if is_dataset(url):
            self._url = None  # abort() must not delete the other run's dataset
            raise OutputError(f"another dataset was committed at {_show(url)} while this run "
                              "was writing there; run again with --overwrite")  # fmt: skip
        fs, path = split(url)
        assert fs is not None
        try:
            with fs.open(f"{path}/{MANIFEST_NAME}", "wb") as fh:
                fh.write(text.encode("utf-8"))
        except OSError as exc:
            raise OutputError(f"cannot write to {_show(url)}: {_reason(exc)}") from exc
        self._url = None
        return url

    def abort(self) -> None:
        """Remove the temporary folder (at a URL: the parts written) if any (idempotent)."""
        url, self._url = self._url, None
        if url is not None:
            fs, path = split(url)
            assert fs is not None
            try:
                written = fs.find(path)
                if written:
                    fs.rm(written)  # files only: a bucket itself is never removed
            except FileNotFoundError:
                pass
            return
        tmp, self._tmp = self._tmp, None
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp)
            _remove_empty(self._created)

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.abort()  # no-op after a successful commit
            return
        try:
            self.abort()
        except OSError:
            pass  # never mask the exception that is propagating


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with dictionary-typed fields replaced by their value type."""
    fields = [
        f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


class TablePartWriter:
    """Streams record batches of one schema to one part file (Parquet or CSV).

    Parameters
    ----------
    path : str or os.PathLike
        File to write (replaced if it exists), or an fsspec URL.
    schema : pyarrow.Schema
        Schema every written batch must have.
    fmt : {"parquet", "csv"}
        File format.

    Notes
    -----
    Parquet files use snappy compression, dictionary encoding for the
    dictionary-typed fields and for string fields whose metadata asks for it
    (:data:`simulations.columns.DICTIONARY_ENCODED`) only, and column statistics;
    every :meth:`write` becomes one or more row groups.  CSV files get a header line, dictionary
    columns are written as their values and nulls as empty fields.  The same
    batches always give byte-identical files.  A file with zero rows is still
    valid and carries the schema (Parquet) or header (CSV).
    """

    def __init__(self, path: str | os.PathLike[str], schema: pa.Schema, fmt: str) -> None:
        self.path: Path | str = path if is_url(path) else Path(path)
        self.schema = schema
        self.fmt = _check_fmt(fmt)
        self._rows = 0
        self._closed = False
        self._csv_schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | pacsv.CSVWriter
        fs, local = split(path)
        self._sink: Any = None if fs is None else fs.open(local, "wb")
        sink = str(local) if self._sink is None else self._sink
        if fmt == "parquet":
            dict_fields = [f.name for f in schema if pa.types.is_dictionary(f.type)
                           or DICTIONARY_ENCODED.items() <= (f.metadata or {}).items()]
            self._writer = pq.ParquetWriter(
                sink,
                schema,
                compression="snappy",
                use_dictionary=dict_fields,
                # Min/max statistics let readers skip row groups by id, time or label;
                # for float measures they cost ~20% of write time and rarely prune.
                write_statistics=[f.name for f in schema if not pa.types.is_floating(f.type)],
            )
        else:
            self._csv_schema = _csv_schema(schema)
            self._writer = pacsv.CSVWriter(sink, self._csv_schema)

    @property
    def rows(self) -> int:
        """Number of rows written so far."""
        return self._rows

    def write(self, data: pa.RecordBatch | pa.Table) -> None:
        """Append a record batch or table.

        Parameters
        ----------
        data : pyarrow.RecordBatch or pyarrow.Table
            Rows with exactly this writer's schema (metadata aside).

        Raises
        ------
        ValueError
            If the schema differs.
        RuntimeError
            If the writer is closed.
        """
        if self._closed:
            raise RuntimeError(f"part writer for {_show(self.path)} is closed")
        if not data.schema.equals(self.schema, check_metadata=False):
            raise ValueError(
                f"schema mismatch writing {_show(self.path)}: "
                f"expected {self.schema.to_string(show_schema_metadata=False)!r}, "
                f"got {data.schema.to_string(show_schema_metadata=False)!r}"
            )
        if data.num_rows == 0:
            return  # no empty row groups
        table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
        if self._csv_schema is None:
            self._writer.write_table(table)
        else:
            self._writer.write_table(table.cast(self._csv_schema))
        self._rows += data.num_rows

    def close(self) -> int:
        """Finish the file (idempotent).

        Returns
        -------
        int
            Number of rows written.
        """
        if not self._closed:
            self._closed = True
            try:
                self._writer.close()
            finally:
                if self._sink is not None:
                    self._sink.close()  # an object store uploads the file now
        return self._rows

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
