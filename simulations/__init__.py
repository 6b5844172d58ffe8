"""The engine: config, seeding, sharded runs, event-log datasets and the command line."""

from simulations.datasets import read_manifest, read_table
from simulations.errors import CalibrationError, ConfigError, OutputError, SynthsimError
from simulations.experiment import ExperimentResult, run_experiment
from simulations.plan import Plan, load_plan
from simulations.roles import TableRoles
from simulations.runner import RunResult, run
from simulations.scenario import Scenario, get_scenario, list_scenarios
from simulations.seeding import stream

__all__ = [
    "CalibrationError",
    "ConfigError",
    "ExperimentResult",
    "OutputError",
    "Plan",
    "RunResult",
    "Scenario",
    "SynthsimError",
    "TableRoles",
    "get_scenario",
    "list_scenarios",
    "load_plan",
    "read_manifest",
    "read_table",
    "run",
    "run_experiment",
    "stream",
]
