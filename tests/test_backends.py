"""Execution backends of a run (simulations/backends.py through simulations/runner.py).

A tiny 3-shard patients run (three hospitals, two days) on a Dask LocalCluster must give the
same bytes, file by file and manifest included, as the same run in this process; a bad
scheduler is refused before anything is written. A LocalCluster starts in about a second.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager
from pathlib import Path

import dask
import pytest
from click.testing import CliRunner

from simulations import runner
from simulations.backends import check_scheduler
from simulations.cli import cli
from simulations.errors import ConfigError
from simulations.scenario import get_scenario

TINY = ["run.hospitals=3", "run.days=2", "population.catchment=2000", "arrivals.per_day=60"]


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


@pytest.fixture(scope="module")
def scenario():
    return get_scenario("patients")


@pytest.fixture(scope="module")
def config(scenario):
    config = scenario.resolve_config(None, TINY)
    assert scenario.n_shards(config) == 3
    return config


def _recording_bar(log: list[int]):
    @contextmanager
    def progress_bar(description, total, unit, enabled=True):
        log.append(total)
        yield log.append

    return progress_bar


@pytest.fixture(scope="module")
def by_backend(tmp_path_factory, scenario, config) -> dict[str, tuple[Path, list[int]]]:
    """The same run in this process and on a 2-worker LocalCluster, with the progress steps
    each reported (the bar's total first)."""
    root = tmp_path_factory.mktemp("backends")
    runs = {}
    for name, options in (("w1", {"workers": 1}), ("dask", {"workers": 2, "scheduler": "local"})):
        log: list[int] = []
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(runner, "progress_bar", _recording_bar(log))
            runner.run(scenario, config, root / name, **options)
        runs[name] = (root / name, log)
    return runs


def test_dask_local_cluster_gives_byte_identical_dataset(by_backend):
    (w1, _), (dask_out, _) = by_backend["w1"], by_backend["dask"]
    one, other = files_of(w1), files_of(dask_out)
    assert "manifest.json" in one and len(one) > 3
    assert one.keys() == other.keys()
    assert [name for name in one if one[name] != other[name]] == []


def test_dask_progress_advances_once_per_shard_to_the_total(by_backend, scenario, config):
    total, *steps = by_backend["dask"][1]
    assert sorted(steps) == sorted(scenario.shard_work(config, s) for s in range(3))
    assert sum(steps) == total
    w1_total, *w1_steps = by_backend["w1"][1]
    assert w1_total == total and sum(w1_steps) == total


def test_cli_scheduler_local_gives_byte_identical_dataset(tmp_path, by_backend):
    sets = [arg for item in TINY for arg in ("--set", item)]
    args = ["run", "patients", *sets, "--out", str(tmp_path / "ds"), "--quiet"]
    result = CliRunner().invoke(cli, [*args, "--scheduler", "local", "--workers", "2"])
    assert result.exit_code == 0, (result.output, result.exception)
    assert files_of(tmp_path / "ds") == files_of(by_backend["w1"][0])


@pytest.mark.parametrize("bad", ["", 5, b"tcp://host:8786"])
def test_bad_scheduler_is_refused_before_anything_is_written(tmp_path, scenario, config, bad):
    with pytest.raises(ValueError, match=r"The 'scheduler' parameter must be None, 'local' or "
                       r"a scheduler address .* Got .* instead\."):  # fmt: skip
        runner.run(scenario, config, tmp_path / "ds", scheduler=bad, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_check_scheduler_accepts_none_local_and_addresses():
    for value in (None, "local", "tcp://10.0.0.1:8786"):
        assert check_scheduler(value) == value


def test_cli_bad_scheduler_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["run", "patients", "--out", str(tmp_path / "ds"),
                                      "--scheduler", "", "--quiet"])  # fmt: skip
    assert result.exit_code == 2
    assert "--scheduler" in result.stderr and "Got '' instead" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unreachable_scheduler_is_a_clear_error_and_writes_nothing(tmp_path, scenario, config):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{probe.getsockname()[1]}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(ConfigError, match="Cannot use the Dask scheduler"):
            runner.run(scenario, config, tmp_path / "ds", scheduler=address, progress=False)
    assert list(tmp_path.iterdir()) == []
