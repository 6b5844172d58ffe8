"""The contract between the engine and a domain scenario, and finding scenarios.

Scenarios register as entry points of the group ``synthsim.scenarios`` (name ->
``module:Class``), so another package can add one; they are loaded only when used.

A scenario knows its domain (agents, rules, kernels) but never writes files; the engine
knows how to run shards and write datasets but never a domain. They meet here.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa

from simulations.config import resolve
from simulations.errors import ConfigError
from simulations.roles import TableRoles

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ENTRY_POINT_GROUP", "Emit", "Scenario", "get_scenario", "list_scenarios"]

Emit = Callable[[str, pa.RecordBatch | pa.Table], None]
"""Callback a scenario hands its output to: ``emit(table_name, batch)``."""


class Scenario(ABC):
    """A domain scenario: its config schema, its tables, and how to simulate one shard.

    Every scenario's schema has a ``run`` section with at least ``seed`` (root seed) and
    ``days``. Subclasses set the class attributes and implement the abstract methods.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    schema: ClassVar[dict[str, Any]]
    default_config: ClassVar[Path]
    tables: ClassVar[dict[str, pa.Schema]]
    table_docs: ClassVar[dict[str, str]] = {}
    roles: ClassVar[dict[str, TableRoles]] = {}  # per table; what the audit and compare read
    exports: ClassVar[dict[str, str]] = {}
    """Other formats a dataset converts to (``synthsim export FORMAT``): format name ->
    ``"module:function"``, the function taking the dataset folder and returning a DataFrame."""
    engines: ClassVar[tuple[str, ...]] = ("kernel",)
    work_unit: ClassVar[str] = "agent-days"  # what shard_work counts, for the progress bar
    kernel_modules: ClassVar[tuple[str, ...]] = ()
    """Modules of the Numba kernels (``cache=True``) the ``kernel`` engine compiles, so that
    ``synthsim run`` can say when they are not cached yet (:mod:`simulations.compiling`)."""

    def resolve_config(
        self,
        config_path: str | Path | None = None,
        overrides: Sequence[str] = (),
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Defaults, then the user's TOML file, then ``--set`` overrides, then ``--seed``."""
        overrides = list(overrides) + ([f"run.seed={seed}"] if seed is not None else [])
        return resolve(self.config_schema, self.default_config, self.name, config_path,
                       overrides)  # fmt: skip

    def config_schema(self, merged: dict[str, Any]) -> dict[str, Any]:
        """The schema a merged, not yet validated config is checked against: :attr:`schema`,
        unless a scenario's keys depend on a setting (a pathway file naming resources)."""
        return self.schema

    def table_schemas(self, config: dict[str, Any]) -> dict[str, pa.Schema]:
        """The schemas of :attr:`tables` as a validated ``config`` writes them (by default
        :attr:`tables`; e.g. a time zone taken from the config)."""
        return self.tables

    def export(self, fmt: str, dataset: Path):
        """The dataset as a DataFrame in format ``fmt`` (one of :attr:`exports`)."""
        if fmt not in self.exports:
            raise ConfigError(f"Scenario {self.name!r} has no {fmt!r} export; its exports: "
                              f"{', '.join(self.exports) or 'none'}.")  # fmt: skip
        module, _, function = self.exports[fmt].partition(":")
        return getattr(importlib.import_module(module), function)(dataset)

    def fit(self, source: str | Path | None, out: str | Path, *, overwrite: bool = False) -> Path:
        """Estimate the scenario's parameters from real data (``source``: a folder of tables,
        or None for the scenario's public dataset) and write them to the folder ``out``;
        returns it. Scenarios without fitted parameters refuse."""
        raise ConfigError(f"Scenario {self.name!r} has no fit; scenarios with one: "
                          "retail.")  # fmt: skip

    def check_engine(self, engine: str) -> None:
        if engine not in self.engines:
            raise ConfigError(
                f"The 'engine' parameter of {self.name} must be a str among "
                f"{{{', '.join(map(repr, self.engines))}}}. Got {engine!r} instead."
            )

    @abstractmethod
    def n_shards(self, config: dict[str, Any]) -> int:
        """Number of independent shards the population splits into."""

    @abstractmethod
    def shard_work(self, config: dict[str, Any], shard: int) -> int:
        """Units of work in a shard (what the progress bar counts, in :attr:`work_unit`)."""

    def run_global(self, config: dict[str, Any], emit: Emit) -> dict[str, Any]:
        """Emit run-wide tables (e.g. a merchant list); returns summary figures."""
        return {}

    def run_metrics(self, config: dict[str, Any], read: Callable[..., pd.DataFrame],
                    summary: Mapping[str, float]) -> dict[str, float]:  # fmt: skip
        """Named figures of a finished run, computed from its tables (``read(table,
        columns=None)`` returns one as a DataFrame) or, for runs too large to read back, from
        ``summary``: the figures :meth:`run_global` and every :meth:`run_shard` returned,
        summed. The manifest records them under ``metrics`` and ``synthsim run`` prints them.
        None by default."""
        return {}

    def metric_names(self, config: dict[str, Any]) -> tuple[str, ...]:
        """Names of the metrics :meth:`run_metrics` returns for ``config`` (experiment plans
        may collect only these). None by default."""
        return ()

    def run_targets(self, config: dict[str, Any],
                    metrics: dict[str, float]) -> dict[str, dict[str, Any]]:  # fmt: skip
        """Published figures the run's ``metrics`` are set against, keyed by metric: each a
        JSON-able dict with at least ``target``, ``tolerance``, ``achieved`` and ``within``;
        the manifest records them under ``targets`` and ``synthsim run`` prints them. None
        by default."""
        return {}

    def fidelity(self, dataset: Path):
        """``(scores, figure)``: a DataFrame (measure, kind, score, threshold, passed) of how
        close ``dataset`` is to the real data the scenario was fitted to, and a matplotlib
        figure of real against synthetic."""
        raise ConfigError(f"Scenario {self.name!r} has no fidelity report; compare a dataset "
                          "with real data with: synthsim compare SYNTHETIC REAL")  # fmt: skip

    def overview_figure(self, dataset: Path):
        """A matplotlib figure summarising a dataset this scenario wrote."""
        raise ConfigError(f"Scenario {self.name!r} has no overview figure.")

    @abstractmethod
    def run_shard(
        self,
        config: dict[str, Any],
        shard: int,
        emit: Emit,
        advance: Callable[[int], None],
        engine: str = "kernel",
    ) -> dict[str, Any]:
        """Simulate one shard, emitting its tables and calling ``advance(units)`` as it goes.

        Returns numeric summary figures; the engine sums them over shards key by key.
        """


ENTRY_POINT_GROUP = "synthsim.scenarios"
"""The entry-point group scenarios register in: ``name = "module:Class"`` (a package's
``[project.entry-points."synthsim.scenarios"]``)."""


def _entry_points() -> dict[str, metadata.EntryPoint]:
    """The registered scenarios' entry points by name (not loaded). A name that two
    distributions register differently is refused."""
    found: dict[str, metadata.EntryPoint] = {}
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        other = found.get(point.name)
        if other is not None and other.value != point.value:
            raise ConfigError(
                f"Scenario {point.name!r} is registered twice in the {ENTRY_POINT_GROUP!r} "
                f"entry points: {other.value!r} by {_distribution(other)} and "
                f"{point.value!r} by {_distribution(point)}. Uninstall one of them."
            )
        found[point.name] = point
    return found


def _distribution(point: metadata.EntryPoint) -> str:
    dist = getattr(point, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "an unknown distribution"


def list_scenarios() -> dict[str, str]:
    """Names of the registered scenarios (sorted) and their one-line descriptions."""
    return {name: get_scenario(name).description for name in sorted(_entry_points())}


def get_scenario(name: str) -> Scenario:
    """An instance of the scenario called ``name``; only its module is imported."""
    points = _entry_points()
    if name not in points:
        available = ", ".join(sorted(points)) or (
            f"none (no package registers {ENTRY_POINT_GROUP!r} entry points: is synthsim "
            "installed, e.g. with pip install -e .?)")
        raise ConfigError(f"Unknown scenario {name!r}. Available: {available}.")
    scenario = points[name].load()
    if not (isinstance(scenario, type) and issubclass(scenario, Scenario)):
        raise ConfigError(f"Scenario entry point {name!r} = {points[name].value!r} is not a "
                          f"Scenario subclass.")  # fmt: skip
    if getattr(scenario, "name", None) != name:  # worker processes look it up by its name
        raise ConfigError(f"Scenario entry point {name!r} = {points[name].value!r} names a "
                          f"scenario called {getattr(scenario, 'name', None)!r}; the two "
                          f"must match.")  # fmt: skip
    return scenario()
