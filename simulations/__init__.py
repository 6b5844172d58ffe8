"""The engine: config, seeding, sharded runs, event-log datasets and the command line."""

from simulations.datasets import read_manifest, read_table
from simulations.errors import CalibrationError, ConfigError, OutputError, SynthsimError
from simulations.roles import TableRoles
from simulations.runner import RunResult, run
from simulations.scenario import Scenario, get_scenario, list_scenarios
from simulations.seeding import stream

__all__ = [
    "CalibrationError",
    "ConfigError",
    "OutputError",
    "RunResult",
    "Scenario",
    "SynthsimError",
    "TableRoles",
    "get_scenario",
    "list_scenarios",
    "read_manifest",
    "read_table",
    "run",
    "stream",
]
