"""Scenarios as plug-ins: a third-party distribution registers one through the
``synthsim.scenarios`` entry points, and ``synthsim`` lists, runs and compiles it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata

import numpy as np
import pytest
from click.testing import CliRunner

from simulations.cli import cli
from simulations.compiling import COMPILING_MESSAGE, cold_modules
from simulations.datasets import read_table
from simulations.errors import ConfigError
from simulations.scenario import get_scenario, list_scenarios

TINY = '''
"""A third-party scenario: one table of uniform draws per shard, doubled by a kernel."""

from pathlib import Path

import numpy as np
import pyarrow as pa

from simulations.params import Interval, Param
from simulations.scenario import Scenario
from simulations.seeding import stream
from tiny_synth import kernels


class TinyScenario(Scenario):
    name = "tiny"
    description = "a tiny third-party scenario"
    schema = {"run": {"seed": Param("int", Interval(int, 0, 2**63 - 1), "root seed"),
                      "days": Param("int", Interval(int, 1, 100), "days", "days")}}
    default_config = Path(__file__).with_name("default.toml")
    tables = {"draws": pa.schema([("shard", pa.int64()), ("day", pa.int64()),
                                  ("value", pa.float64())])}
    kernel_modules = ("tiny_synth.kernels",)

    def n_shards(self, config):
        return 2

    def shard_work(self, config, shard):
        return config["run"]["days"]

    def run_shard(self, config, shard, emit, advance, engine="kernel"):
        days = config["run"]["days"]
        values = kernels.double(stream(config["run"]["seed"], shard, "draws").random(days))
        emit("draws", pa.table({"shard": np.full(days, shard), "day": np.arange(days),
                                "value": values}))
        advance(days)
        return {"rows": days}
'''

KERNELS = '''
import numba as nb


@nb.njit(cache=True)
def double(x):
    return 2.0 * x
'''


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A distribution ``tiny_synth`` 0.1 on ``sys.path``, registering scenario ``tiny``;
    returns the folder it lies in."""
    root = tmp_path / "site"
    package = root / "tiny_synth"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(TINY))
    (package / "kernels.py").write_text(textwrap.dedent(KERNELS))
    (package / "default.toml").write_text("[run]\nseed = 7\ndays = 5\n")
    info = root / "tiny_synth-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny_synth\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[synthsim.scenarios]\ntiny = tiny_synth:TinyScenario\n")
    monkeypatch.syspath_prepend(str(root))  # also invalidates the import caches
    yield root
    for name in [m for m in sys.modules if m == "tiny_synth" or m.startswith("tiny_synth.")]:
        del sys.modules[name]


def test_a_third_party_scenario_is_listed_and_runs(tiny, tmp_path):
    runner = CliRunner()
    listed = runner.invoke(cli, ["list"])
    assert listed.exit_code == 0, listed.output
    assert "tiny" in listed.stdout and "a tiny third-party scenario" in listed.stdout
    assert "bank" in listed.stdout and "patients" in listed.stdout
    out = tmp_path / "out"
    result = runner.invoke(cli, ["run", "tiny", "--out", str(out)])
    assert result.exit_code == 0, result.output
    draws = read_table(out, "draws")
    assert draws["shard"].tolist() == [0] * 5 + [1] * 5
    assert draws["day"].tolist() == list(range(5)) * 2
    assert ((draws["value"] >= 0) & (draws["value"] < 2)).all()


def test_a_third_party_scenario_runs_in_worker_processes(tiny, tmp_path):
    """Spawned workers look the scenario up by name: they find the plug-in too."""
    runner = CliRunner()
    one, two = tmp_path / "one", tmp_path / "two"
    for out, workers in ((one, "1"), (two, "2")):
        result = runner.invoke(cli, ["run", "tiny", "--out", str(out), "--workers", workers,
                                     "--quiet", "--seed", "3"])  # fmt: skip
        assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_table(one, "draws")["value"],
                                  read_table(two, "draws")["value"])  # fmt: skip


def test_list_scenarios_holds_the_built_in_ones_sorted():
    names = list(list_scenarios())
    assert {"bank", "patients"} <= set(names)
    assert names == sorted(names)


def test_an_unknown_scenario_names_the_available_ones(tiny):
    with pytest.raises(ConfigError, match=r"Unknown scenario 'nope'\. Available: bank, "
                                          r"patients, retail, tiny\."):  # fmt: skip
        get_scenario("nope")
    result = CliRunner().invoke(cli, ["run", "nope"])
    assert result.exit_code == 2
    assert ("error: Unknown scenario 'nope'. Available: bank, patients, retail, tiny."
            in result.output)


def test_a_name_registered_by_two_distributions_is_refused(tiny):
    other = tiny / "other_synth-2.0.dist-info"
    other.mkdir()
    (other / "METADATA").write_text("Metadata-Version: 2.1\nName: other_synth\nVersion: 2.0\n")
    (other / "entry_points.txt").write_text("[synthsim.scenarios]\ntiny = other:Tiny\n")
    with pytest.raises(ConfigError, match="'tiny' is registered twice") as error:
        get_scenario("bank")
    assert "'tiny_synth:TinyScenario' by tiny_synth 0.1" in str(error.value)
    assert "'other:Tiny' by other_synth 2.0" in str(error.value)


def test_the_entry_point_name_must_be_the_scenario_name(tiny):
    (tiny / "tiny_synth-0.1.dist-info" / "entry_points.txt").write_text(
        "[synthsim.scenarios]\nsmall = tiny_synth:TinyScenario\n")
    with pytest.raises(ConfigError, match="names a scenario called 'tiny'"):
        get_scenario("small")


def test_built_in_scenarios_are_entry_points_of_synthsim():
    points = metadata.entry_points(group="synthsim.scenarios")
    assert points["bank"].value == "scenarios.bank:BankScenario"
    assert points["patients"].value == "scenarios.patients:PatientsScenario"
    assert get_scenario("bank").kernel_modules and get_scenario("patients").kernel_modules


def test_cold_modules_reads_the_numba_cache(tiny):
    import tiny_synth.kernels

    if tiny_synth.kernels.double.stats.cache_hits:  # pragma: no cover
        pytest.skip("compiled earlier in this process")
    assert cold_modules(["tiny_synth.kernels"]) == ["tiny_synth.kernels"]
    tiny_synth.kernels.double(1.0)
    assert cold_modules(["tiny_synth.kernels"]) == []
    assert cold_modules(["simulations.errors"]) == []  # no kernels: nothing to compile


def test_run_says_once_that_kernels_compile_on_a_cold_cache(tiny, tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"),
           "PYTHONPATH": os.pathsep.join([str(tiny), os.environ.get("PYTHONPATH", "")])}
    code = "from simulations.cli import main; main()"

    def run(out):
        return subprocess.run([sys.executable, "-c", code, "run", "tiny", "--out",
                               str(tmp_path / out)], env=env, capture_output=True, text=True,
                              check=True)  # fmt: skip

    cold, warm = run("cold"), run("warm")
    assert cold.stderr.count(COMPILING_MESSAGE) == 1
    assert COMPILING_MESSAGE not in cold.stdout
    assert COMPILING_MESSAGE not in warm.stderr + warm.stdout
