"""Datasets written to fsspec URLs: the same bytes as a local folder, the manifest last."""

from pathlib import Path

import fsspec
import pandas as pd
import pytest
from click.testing import CliRunner

from simulations.cli import cli
from simulations.datasets import read_manifest, read_table
from simulations.errors import ConfigError, OutputError
from simulations.eventlog import DatasetWriter, is_dataset
from simulations.runner import run
from simulations.scenario import get_scenario

TINY = ["run.days=1", "population.catchment=2000", "arrivals.per_day=60"]


@pytest.fixture(autouse=True)
def memory():
    fs = fsspec.filesystem("memory")
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    yield fs
    fs.store.clear()


def _run(out, *overrides, **options):
    scenario = get_scenario("patients")
    config = scenario.resolve_config(overrides=[*TINY, *overrides])
    return run(scenario, config, out, progress=False, **options)


def _local_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _memory_files(fs, root: str) -> dict[str, bytes]:
    return {name[len(root) + 1:]: fs.cat_file(name) for name in fs.find(root)}


def test_a_memory_dataset_has_the_bytes_of_a_local_one(tmp_path, memory):
    local = _run(tmp_path / "ds")
    remote = _run("memory://ds")
    assert remote.path == "memory://ds" and remote.manifest == local.manifest
    expected = _local_files(tmp_path / "ds")
    assert "manifest.json" in expected and len(expected) > 2
    assert _memory_files(memory, "/ds") == expected
    assert is_dataset("memory://ds")
    assert read_manifest("memory://ds") == read_manifest(tmp_path / "ds")
    for table in local.manifest["tables"]:
        pd.testing.assert_frame_equal(read_table("memory://ds", table),
                                      read_table(tmp_path / "ds", table))  # fmt: skip


def test_csv_parts_read_back_from_memory(tmp_path):
    _run(tmp_path / "ds", fmt="csv")
    _run("memory://ds", fmt="csv")
    pd.testing.assert_frame_equal(read_table("memory://ds", "patients"),
                                  read_table(tmp_path / "ds", "patients"))  # fmt: skip


def test_an_existing_memory_dataset_is_refused_without_overwrite(memory):
    _run("memory://ds")
    memory.pipe_file("/ds/patients/part-00099.parquet", b"stale")  # replaced, not kept
    with pytest.raises(OutputError, match="already holds a dataset"):
        _run("memory://ds", "run.seed=7")
    assert read_manifest("memory://ds")["seed"] != 7
    _run("memory://ds", "run.seed=7", overwrite=True)
    assert read_manifest("memory://ds")["seed"] == 7
    assert not memory.exists("/ds/patients/part-00099.parquet")


def test_overwrite_deletes_the_old_manifest_first(memory, monkeypatch):
    _run("memory://ds")
    removed = []
    rm_file, rm = memory.rm_file, memory.rm
    monkeypatch.setattr(memory, "rm_file", lambda path: (removed.append(path), rm_file(path)))
    monkeypatch.setattr(memory, "rm", lambda path, **kw: (removed.append(path), rm(path, **kw)))
    _run("memory://ds", overwrite=True)
    assert removed[0] == "/ds/manifest.json"


def test_a_run_that_fails_midway_leaves_no_manifest(memory, monkeypatch):
    scenario = get_scenario("patients")
    written = []

    def fail(config, metrics_reader):
        written.extend(memory.find("/ds"))
        raise RuntimeError("boom")

    monkeypatch.setattr(type(scenario), "run_metrics", lambda self, c, m, s: fail(c, m))
    with pytest.raises(RuntimeError, match="boom"):
        _run("memory://ds")
    assert written and not any(name.endswith("manifest.json") for name in written)
    assert not memory.exists("/ds/manifest.json") and not is_dataset("memory://ds")
    with pytest.raises(FileNotFoundError, match="not a dataset"):
        read_manifest("memory://ds")


def test_parts_a_crash_left_behind_are_not_a_dataset(memory, monkeypatch):
    monkeypatch.setattr(DatasetWriter, "abort", lambda self: None)  # as if the process died
    monkeypatch.setattr(DatasetWriter, "commit", lambda self, manifest: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        _run("memory://ds")
    monkeypatch.undo()
    assert memory.find("/ds") and not memory.exists("/ds/manifest.json")
    with pytest.raises(FileNotFoundError, match="not a dataset"):
        read_manifest("memory://ds")
    with pytest.raises(FileNotFoundError, match="not a dataset"):
        read_table("memory://ds", "patients")
    with pytest.raises(OutputError, match="unfinished run"):
        _run("memory://ds")
    _run("memory://ds", overwrite=True)
    assert is_dataset("memory://ds")


def test_a_folder_with_other_files_is_never_replaced(memory):
    memory.pipe_file("/ds/notes.txt", b"mine")
    with pytest.raises(OutputError, match="not a synthsim dataset"):
        _run("memory://ds", overwrite=True)
    assert memory.cat_file("/ds/notes.txt") == b"mine"


def test_a_file_url_is_a_path(tmp_path):
    local = _run(tmp_path / "a")
    url = _run((tmp_path / "b").as_uri())
    assert url.path == tmp_path / "b"
    assert _local_files(tmp_path / "b") == _local_files(tmp_path / "a")
    assert read_manifest((tmp_path / "b").as_uri()) == local.manifest
    pd.testing.assert_frame_equal(read_table((tmp_path / "b").as_uri(), "events"),
                                  read_table(tmp_path / "a", "events"))  # fmt: skip
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # renamed into place


@pytest.mark.parametrize(("option", "name"), [({"workers": 2}, "'workers'"),
                                              ({"scheduler": "local"}, "'scheduler'")])
def test_memory_with_other_processes_is_refused_before_writing(memory, option, name):
    with pytest.raises(ConfigError, match=name):
        _run("memory://ds", **option)
    assert not memory.find("/")


def test_the_cli_writes_to_a_url(memory):
    args = ["run", "patients", "--out", "memory://cli", "--quiet"]
    for override in TINY:
        args += ["--set", override]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert is_dataset("memory://cli") and read_manifest("memory://cli")["scenario"] == "patients"
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "already holds a dataset" in again.output


def test_an_unknown_protocol_is_a_config_error():
    with pytest.raises(ConfigError, match="nosuchfs"):
        _run("nosuchfs://bucket/ds")


def test_a_dataset_committed_meanwhile_is_left_alone(memory):
    with pytest.raises(OutputError, match="another dataset was committed"):
        with DatasetWriter("memory://ds") as writer:
            assert writer.tmp_dir == "memory://ds"
            memory.pipe_file("/ds/t/part-00000.parquet", b"theirs")
            memory.pipe_file("/ds/manifest.json", b"{}")
            writer.commit({"scenario": "mine"})
    assert memory.cat_file("/ds/manifest.json") == b"{}"


def test_xes_export_reads_a_url(tmp_path):
    _run(tmp_path / "ds")
    _run("memory://ds")
    refused = CliRunner().invoke(cli, ["export", "xes", "memory://ds"])
    assert refused.exit_code == 2 and "--out" in refused.output
    for source, out in ((str(tmp_path / "ds"), tmp_path / "a.xes"),
                        ("memory://ds", tmp_path / "b.xes")):  # fmt: skip
        result = CliRunner().invoke(cli, ["export", "xes", source, "--out", str(out)])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a.xes").read_bytes() == (tmp_path / "b.xes").read_bytes()
