"""Tests for simulations.eventlog: atomic dataset folders and part writers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from simulations.datasets import read_manifest, read_table
from simulations.errors import ConfigError, OutputError
from simulations.eventlog import (
    MANIFEST_NAME,
    DatasetWriter,
    TablePartWriter,
    is_dataset,
)

DICT = pa.dictionary(pa.int32(), pa.string())
EVENTS = pa.schema(
    [
        ("kind", DICT),
        ("amount_cents", pa.int64()),
        ("ts", pa.timestamp("s")),
        ("score", pa.float64()),
    ]
)
ACCOUNTS = pa.schema([("bank", DICT), ("opened", pa.timestamp("s")), ("age", pa.int64())])


def _events(offset: int) -> pa.RecordBatch:
    base = dt.datetime(2024, 1, 1) + dt.timedelta(hours=offset)
    return pa.record_batch(
        [
            pa.array(["deposit", "transfer", None, "deposit"]).dictionary_encode(),
            pa.array([100 + offset, None, -5, 7], pa.int64()),
            pa.array([base, None, base + dt.timedelta(seconds=61), base], pa.timestamp("s")),
            pa.array([0.5, 1.25, None, -3.0], pa.float64()),
        ],
        schema=EVENTS,
    )


def _accounts() -> pa.RecordBatch:
    return pa.record_batch(
        [
            pa.array(["alpha", "beta", "alpha"]).dictionary_encode(),
            pa.array(
                [dt.datetime(2020, 5, 1), dt.datetime(2021, 6, 2, 3), None], pa.timestamp("s")
            ),
            pa.array([None, 41, 29], pa.int64()),
        ],
        schema=ACCOUNTS,
    )


def _expected(batches: list[pa.RecordBatch], fmt: str) -> pd.DataFrame:
    table = pa.Table.from_batches(batches)
    if fmt == "csv":
        schema = pa.schema(
            [
                f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                for f in table.schema
            ]
        )
        table = table.cast(schema)
    frame = table.to_pandas()
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_integer(column.type) and column.null_count:  # nullable, not float
            frame[name] = pd.array(column.to_pylist(), dtype=f"Int{column.type.bit_width}")
    return frame


def test_integer_columns_with_nulls_read_as_nullable_integers(tmp_path: Path) -> None:
    out = _write_dataset(tmp_path / "ds")
    frame = read_table(out, "events")
    nullable = [f.name for f in EVENTS if pa.types.is_integer(f.type)
                and pa.Table.from_batches([_events(0)]).column(f.name).null_count]  # fmt: skip
    assert nullable, "the fixture should hold an integer column with nulls"
    for name in nullable:
        assert str(frame[name].dtype).startswith("Int"), name
        assert frame[name].isna().any()


def _write_dataset(
    out: Path, fmt: str = "parquet", *, overwrite: bool = False, table: str = "events"
) -> Path:
    with DatasetWriter(out, fmt=fmt, overwrite=overwrite) as writer:
        with TablePartWriter(writer.part_path(table, 0), EVENTS, fmt) as part:
            part.write(_events(0))
        return writer.commit({"tables": {table: {"rows": 4}}})


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_two_tables_round_trip(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "ds"
    event_batches = [_events(0), _events(1), _events(2)]
    with DatasetWriter(out, fmt=fmt) as writer:
        with TablePartWriter(writer.part_path("events", 0), EVENTS, fmt) as part:
            part.write(event_batches[0])
            part.write(pa.Table.from_batches([event_batches[1]]))
        with TablePartWriter(writer.part_path("events", 1), EVENTS, fmt) as part:
            part.write(event_batches[2])
            assert part.close() == 4
        with TablePartWriter(writer.part_path("accounts", 0), ACCOUNTS, fmt) as part:
            part.write(_accounts())
        writer.commit({"tables": {"events": {}, "accounts": {}}})

    assert (out / "events" / f"part-00001.{fmt}").is_file()
    pd.testing.assert_frame_equal(read_table(out, "events"), _expected(event_batches, fmt))
    pd.testing.assert_frame_equal(read_table(out, "accounts"), _expected([_accounts()], fmt))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_zero_row_part_is_readable(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "ds"
    with DatasetWriter(out, fmt=fmt) as writer:
        with TablePartWriter(writer.part_path("events", 0), EVENTS, fmt) as part:
            part.write(_events(0).slice(0, 0))
        assert part.close() == 0
        writer.commit({})

    frame = read_table(out, "events")
    assert len(frame) == 0
    assert list(frame.columns) == EVENTS.names


def test_commit_publishes_folder_with_manifest_and_no_siblings(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    manifest = {"tables": {"events": {"rows": 4}}, "seed": 7}
    with DatasetWriter(out) as writer:
        with TablePartWriter(writer.part_path("events", 0), EVENTS, "parquet") as part:
            part.write(_events(0))
        assert not out.exists()
        result = writer.commit(manifest)

    assert result == out
    assert is_dataset(out)
    assert read_manifest(out) == manifest
    assert (out / MANIFEST_NAME).read_text().endswith("}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]
    assert sorted(p.name for p in out.iterdir()) == ["events", MANIFEST_NAME]


def test_exception_inside_with_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    with pytest.raises(KeyError, match="boom"):
        with DatasetWriter(out) as writer:
            with TablePartWriter(writer.part_path("events", 0), EVENTS, "parquet") as part:
                part.write(_events(0))
            assert writer.tmp_dir is not None and writer.tmp_dir.is_dir()
            raise KeyError("boom")

    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_dataset_refused_without_overwrite(tmp_path: Path) -> None:
    out = _write_dataset(tmp_path / "ds")
    before = _snapshot(out)

    with pytest.raises(OutputError, match="--overwrite") as info:
        with DatasetWriter(out):
            pytest.fail("open() should have refused the existing dataset")

    assert str(out) in str(info.value)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_existing_dataset_replaced_with_overwrite(tmp_path: Path) -> None:
    out = _write_dataset(tmp_path / "ds", table="old_table")

    _write_dataset(out, overwrite=True, table="new_table")

    assert not (out / "old_table").exists()
    assert (out / "new_table" / "part-00000.parquet").is_file()
    assert read_manifest(out) == {"tables": {"new_table": {"rows": 4}}}
    assert len(read_table(out, "new_table")) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_non_dataset_folder_refused_even_with_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me\n")

    with pytest.raises(OutputError) as info:
        _write_dataset(out, overwrite=True)

    assert str(out) in str(info.value)
    assert (out / "notes.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_empty_existing_folder_accepted(tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()

    _write_dataset(out)

    assert is_dataset(out)
    assert len(read_table(out, "events")) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_missing_parents_are_created(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "ds"

    _write_dataset(out)

    assert is_dataset(out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["ds"]


def test_path_under_regular_file_raises_and_creates_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("data\n")
    out = blocker / "sub" / "ds"

    with pytest.raises(OutputError) as info:
        DatasetWriter(out).open()

    message = str(info.value)
    assert "\n" not in message
    assert str(out) in message
    assert message.startswith("cannot write to")
    assert blocker.read_text() == "data\n"
    assert list(tmp_path.iterdir()) == [blocker]


def test_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    out.write_text("x")

    with pytest.raises(OutputError, match="not a folder"):
        DatasetWriter(out, overwrite=True).open()

    assert out.read_text() == "x"


def test_bad_fmt_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="parquet, csv"):
        DatasetWriter(tmp_path / "ds", fmt="xlsx")
    with pytest.raises(ConfigError, match="'xlsx'"):
        TablePartWriter(tmp_path / "p.xlsx", EVENTS, "xlsx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_batches_give_identical_bytes(tmp_path: Path, fmt: str) -> None:
    paths = [tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"]
    for path in paths:
        with TablePartWriter(path, EVENTS, fmt) as part:
            part.write(_events(0))
            part.write(_events(1))

    first, second = (p.read_bytes() for p in paths)
    assert len(first) > 0
    assert first == second
