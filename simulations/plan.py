"""Experiment plans: which variants of a scenario to run, how many times, and what to collect.

A plan is data (a TOML file read with :mod:`tomllib`, or the same as a dict), never code::

    scenario = "patients"
    replications = 20            # runs per variant, >= 1
    seed = 1                     # root seed the run seeds derive from
    metrics = ["within_4h_share"]  # declared by the scenario; default: all it declares
    keep_datasets = false        # keep each run's dataset (default: metrics only)
    common_random_numbers = true # replication r of every variant uses the same seed
    baseline = "beds_140"        # default: the first variant
    interval_width = 0.01        # target 95% CI width of a mean (or a table per metric)
    [base]                       # overrides of every run, dotted keys as in --set
    "run.days" = 28
    [variants.beds_140]
    "capacity.ward_bed" = 140

or, instead of ``[variants]``, a factor design (``[design] kind`` = ``grid``,
``one_at_a_time``, ``latin_hypercube``, ``sobol`` or ``morris``, with ``[factors."KEY"]``
giving ``values`` or ``low``/``high``/``integer``). Every design point becomes a variant named
from its factor values. :func:`load_plan` validates the whole plan, every variant's resolved
config included, so nothing is written for a plan that cannot run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import numpy as np

from simulations.config import flatten, load_toml
from simulations.errors import ConfigError
from simulations.scenario import Scenario, get_scenario

__all__ = ["DESIGNS", "Plan", "RunSpec", "load_plan", "run_seed"]

DESIGNS = ("grid", "one_at_a_time", "latin_hypercube", "sobol", "morris")
_KEYS = ("scenario", "replications", "seed", "metrics", "keep_datasets",
         "common_random_numbers", "baseline", "interval_width", "base", "variants", "design",
         "factors")  # fmt: skip
_DESIGN_KEYS = ("kind", "samples", "levels", "second_order")
_FACTOR_KEYS = ("values", "low", "high", "integer")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]*")


@dataclass(frozen=True)
class RunSpec:
    """One run of a plan: replication ``replication`` of variant ``variant`` (its index in
    :attr:`Plan.variants` is ``variant_index``), with root seed ``seed`` and the ``KEY=VALUE``
    overrides (base, then variant, then ``run.seed``) that build its config."""

    variant: str
    variant_index: int
    replication: int
    seed: int
    overrides: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """A validated experiment plan (build it with :func:`load_plan`).

    ``base`` and each of ``variants`` map dotted config keys to values; ``factors`` maps a
    variant to its design point (empty for hand-written variants); ``interval_width`` maps
    each metric to its target CI width (absent: no replications-needed table).
    """

    source: str
    scenario: str
    replications: int
    seed: int
    metrics: tuple[str, ...]
    variants: dict[str, dict[str, Any]]
    base: dict[str, Any] = field(default_factory=dict)
    baseline: str = ""
    keep_datasets: bool = False
    common_random_numbers: bool = True
    interval_width: dict[str, float] = field(default_factory=dict)
    design: dict[str, Any] = field(default_factory=dict)
    factors: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-able data (what ``experiment.json`` records)."""
        return {
            "scenario": self.scenario, "replications": self.replications, "seed": self.seed,
            "metrics": list(self.metrics), "keep_datasets": self.keep_datasets,
            "common_random_numbers": self.common_random_numbers, "baseline": self.baseline,
            "interval_width": dict(self.interval_width), "base": _jsonable(self.base),
            "variants": _jsonable(self.variants), "design": _jsonable(self.design),
            "factors": _jsonable(self.factors),
        }  # fmt: skip

    def fingerprint(self) -> str:
        """sha256 of the plan's canonical JSON: two plans asking for the same runs and
        results share it (the file they came from does not count)."""
        return _sha256(self.to_dict())

    def overrides(self, variant: str) -> tuple[str, ...]:
        """``KEY=VALUE`` strings of ``variant``: the base's, then its own (which win)."""
        merged = {**self.base, **self.variants[variant]}
        return tuple(f"{key}={_toml_value(value)}" for key, value in merged.items())

    def runs(self) -> list[RunSpec]:
        """Every run, variant by variant, replication by replication.

        Seeds are ``SeedSequence(seed, spawn_key=(r,))`` for replication ``r`` with common
        random numbers (the same in every variant), else ``spawn_key=(variant index, r)``;
        see :func:`run_seed`.
        """
        specs = []
        for index, name in enumerate(self.variants):
            overrides = self.overrides(name)
            for r in range(self.replications):
                seed = run_seed(self.seed, r, None if self.common_random_numbers else index)
                specs.append(RunSpec(name, index, r, seed, (*overrides, f"run.seed={seed}")))
        return specs

    def config(self, spec: RunSpec, scenario: Scenario | None = None) -> dict[str, Any]:
        """The validated config of one run."""
        return (scenario or get_scenario(self.scenario)).resolve_config(None, spec.overrides)


def run_seed(root: int, replication: int, variant: int | None = None) -> int:
    """Root seed of a run, a plain int in [0, 2**32): from ``SeedSequence(root,
    spawn_key=(replication,))``, or ``(variant, replication)`` when ``variant`` is given."""
    key = (replication,) if variant is None else (variant, replication)
    return int(np.random.SeedSequence(root, spawn_key=key).generate_state(1)[0])


def config_hash(scenario: str, config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of a scenario name and its resolved config."""
    return _sha256({"scenario": scenario, "config": config})


def _sha256(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _toml_value(value: Any) -> str:
    """``value`` as a TOML literal (what :func:`simulations.config.parse_override` reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        value = float(value)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}"
                               for k, v in value.items()) + "}"  # fmt: skip
    raise TypeError(f"Cannot write {value!r} as a TOML value.")


class _Errors:
    """One-line ConfigErrors naming the plan: "Plan file 'F': problem."."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, problem: str) -> ConfigError:
        return ConfigError(f"{self.label}: {' '.join(problem.split())}")


def load_plan(source: str | PathLike[str] | Mapping[str, Any], *,
              label: str | None = None) -> Plan:  # fmt: skip
    """Read and validate an experiment plan.

    Parameters
    ----------
    source : path or dict
        A TOML plan file, or the same document as a dict.
    label : str, optional
        How messages name the plan [default: ``Plan file '<path>'``, or ``Plan`` for a dict].

    Raises
    ------
    ConfigError
        With a one-line message naming the plan and the problem: an unreadable file, an
        unknown plan key, scenario, config key (the scenario's own message, naming the valid
        keys) or metric (naming the declared ones), no variants, a bad design or value.
    """
    if isinstance(source, Mapping):
        document, label = dict(source), label or "Plan"
    else:
        document = load_toml(source)
        label = label or f"Plan file '{source}'"
    error = _Errors(label)
    unknown = [key for key in document if key not in _KEYS]
    if unknown:
        raise error(f"unknown key {unknown[0]!r}; valid keys: {', '.join(_KEYS)}.")
    if "scenario" not in document:
        raise error("missing key 'scenario'.")
    try:
        scenario = get_scenario(str(document["scenario"]))
    except ConfigError as exc:
        raise error(str(exc)) from None
    replications = _integer(document.get("replications", 1), "replications", 1, error)
    seed = _integer(document.get("seed", 0), "seed", 0, error)
    keep = _flag(document.get("keep_datasets", False), "keep_datasets", error)
    crn = _flag(document.get("common_random_numbers", True), "common_random_numbers", error)
    base = _overrides(document.get("base", {}), "[base]", error)
    if "variants" in document and ("design" in document or "factors" in document):
        raise error("give either [variants] or a [design] with [factors], not both.")
    factors: dict[str, dict[str, Any]] = {}
    design: dict[str, Any] = {}
    if "design" in document or "factors" in document:
        design, factors = _design(document.get("design", {}), document.get("factors", {}),
                                  seed, error)  # fmt: skip
        variants = {name: dict(point) for name, point in factors.items()}
    else:
        raw = document.get("variants", {})
        if not isinstance(raw, Mapping):
            raise error(f"[variants] must be a table of tables, not {raw!r}.")
        variants = {}
        for name, table in raw.items():
            if not _NAME.fullmatch(name):
                raise error(f"variant name {name!r} must be a folder name: letters, digits "
                            "and . _ = + - (not first).")  # fmt: skip
            variants[name] = _overrides(table, f"[variants.{name}]", error)
    if not variants:
        raise error("no variants: add [variants.NAME] tables or a [design] with [factors].")
    baseline = document.get("baseline", next(iter(variants)))
    if baseline not in variants:
        raise error(f"baseline {baseline!r} is not a variant; variants: "
                    f"{', '.join(variants)}.")  # fmt: skip
    plan = Plan(source=label, scenario=scenario.name, replications=replications, seed=seed,
                metrics=(), variants=variants, base=base, baseline=baseline, keep_datasets=keep,
                common_random_numbers=crn, design=design, factors=factors)  # fmt: skip
    declared = _check_configs(plan, scenario, error)
    if not declared:
        raise error(f"scenario {scenario.name!r} declares no metrics (its metric_names), so an "
                    "experiment has nothing to collect.")  # fmt: skip
    metrics = document.get("metrics", list(declared))
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise error(f"'metrics' must be a non-empty list of metric names. Got {metrics!r}.")
    for metric in metrics:
        if metric not in declared:
            raise error(
                f"metric {metric!r} is not declared by scenario {scenario.name!r} "
                f"for this config; declared: {', '.join(declared) or 'none'}."
            )
    widths = _widths(document.get("interval_width"), metrics, error)
    return Plan(**{**plan.__dict__, "metrics": tuple(dict.fromkeys(metrics)),
                   "interval_width": widths})  # fmt: skip


def _check_configs(plan: Plan, scenario: Scenario, error: _Errors) -> tuple[str, ...]:
    """Resolve every variant's config; the metrics every variant declares, in order."""
    declared: dict[str, None] | None = None
    for name in plan.variants:
        spec = RunSpec(name, 0, 0, plan.seed, (*plan.overrides(name), f"run.seed={plan.seed}"))
        try:
            config = plan.config(spec, scenario)
        except ConfigError as exc:
            raise error(f"variant {name!r}: {exc}") from None
        names = scenario.metric_names(config)
        declared = dict.fromkeys(names) if declared is None else \
            {m: None for m in declared if m in names}  # fmt: skip
    return tuple(declared or ())


def _integer(value: Any, key: str, low: int, error: _Errors) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise error(f"'{key}' must be an int in the range [{low}, inf). Got {value!r} instead.")
    return value


def _flag(value: Any, key: str, error: _Errors) -> bool:
    if not isinstance(value, bool):
        raise error(f"'{key}' must be true or false. Got {value!r} instead.")
    return value


def _overrides(table: Any, where: str, error: _Errors) -> dict[str, Any]:
    """Dotted key -> value; a nested table (``[base.run] days = 2``) is flattened."""
    if not isinstance(table, Mapping):
        raise error(f"{where} must be a table of config keys, not {table!r}.")
    return flatten(table)


def _widths(raw: Any, metrics: list[str], error: _Errors) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raw = dict.fromkeys(metrics, raw)
    widths = {}
    for metric, width in raw.items():
        if metric not in metrics:
            raise error(f"interval_width names {metric!r}, which is not among the plan's "
                        f"metrics: {', '.join(metrics)}.")  # fmt: skip
        if isinstance(width, bool) or not isinstance(width, int | float) or not width > 0:
            raise error(f"interval_width of {metric!r} must be a number > 0. Got {width!r}.")
        widths[metric] = float(width)
    return widths


def _design(design: Any, factors: Any, seed: int,
            error: _Errors) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:  # fmt: skip
    """The design's settings and its points by variant name."""
    if not isinstance(design, Mapping) or not isinstance(factors, Mapping):
        raise error("[design] and [factors] must be tables.")
    unknown = [key for key in design if key not in _DESIGN_KEYS]
    if unknown:
        raise error(f"[design] has unknown key {unknown[0]!r}; valid keys: "
                    f"{', '.join(_DESIGN_KEYS)}.")  # fmt: skip
    kind = design.get("kind", "grid")
    if kind not in DESIGNS:
        raise error(f"[design] kind must be one of {', '.join(DESIGNS)}. Got {kind!r}.")
    if not factors:
        raise error('empty design: [design] needs at least one [factors."KEY"] table.')
    specs = {}
    for key, spec in factors.items():
        where = f"[factors.{key!r}]"
        if not isinstance(spec, Mapping):
            raise error(f"{where} must be a table with values or low/high.")
        unknown = [k for k in spec if k not in _FACTOR_KEYS]
        if unknown:
            raise error(f"{where} has unknown key {unknown[0]!r}; valid keys: "
                        f"{', '.join(_FACTOR_KEYS)}.")  # fmt: skip
        specs[key] = spec
    settings: dict[str, Any] = {"kind": kind}
    if kind in ("grid", "one_at_a_time"):
        levels = {}
        for key, spec in specs.items():
            values = spec.get("values")
            if not isinstance(values, list) or not values:
                raise error(f"[factors.{key!r}] needs a non-empty list 'values' for a {kind} "
                            "design.")  # fmt: skip
            levels[key] = values
        points = _grid(levels) if kind == "grid" else _one_at_a_time(levels)
        named = {_point_name(point): point for point in points}
        if len(named) < len(points):
            raise error(f"the {kind} design has repeated points (a factor lists a value "
                        "twice, or two values share a name).")  # fmt: skip
        return settings, named
    bounds = {}
    for key, spec in specs.items():
        low, high = spec.get("low"), spec.get("high")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)) \
                or not low < high:  # fmt: skip
            raise error(f"[factors.{key!r}] needs numbers low < high for a {kind} design. "
                        f"Got low={low!r}, high={high!r}.")  # fmt: skip
        bounds[key] = (
            float(low),
            float(high),
            _flag(spec.get("integer", False), f"factors.{key}.integer", error),
        )
    samples = _integer(design.get("samples", 8), "design.samples", 1, error)
    settings["samples"] = samples
    unit = _sample(kind, design, bounds, samples, seed, error, settings)
    points = []
    for row in unit:
        point = {}
        for (key, (low, high, integer)), value in zip(bounds.items(), row, strict=True):
            value = float(value) if kind != "latin_hypercube" else low + value * (high - low)
            point[key] = int(round(value)) if integer else float(value)
        points.append(point)
    width = len(str(len(points) - 1))
    return settings, {f"{i:0{width}d}_{_point_name(p)}": p for i, p in enumerate(points)}


def _sample(kind: str, design: Mapping[str, Any], bounds: dict[str, tuple], samples: int,
            seed: int, error: _Errors, settings: dict[str, Any]) -> np.ndarray:  # fmt: skip
    """Design points, one row each: unit-cube rows for latin_hypercube (scipy's ``qmc``),
    factor values for sobol and morris (SALib's sample functions)."""
    if kind == "latin_hypercube":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=len(bounds), rng=np.random.default_rng(seed)).random(samples)
    problem = {"num_vars": len(bounds), "names": list(bounds),
               "bounds": [[low, high] for low, high, _ in bounds.values()]}  # fmt: skip
    if kind == "sobol":
        from SALib.sample import sobol

        if samples & (samples - 1):
            raise error(f"a sobol design needs 'samples' a power of 2. Got {samples}.")
        second = _flag(design.get("second_order", False), "design.second_order", error)
        settings["second_order"] = second
        return sobol.sample(problem, samples, calc_second_order=second, seed=seed)
    from SALib.sample import morris

    levels = _integer(design.get("levels", 4), "design.levels", 2, error)
    settings["levels"] = levels
    return morris.sample(problem, samples, num_levels=levels, seed=seed)


def _grid(levels: dict[str, list]) -> list[dict[str, Any]]:
    keys = list(levels)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*levels.values())]


def _one_at_a_time(levels: dict[str, list]) -> list[dict[str, Any]]:
    """The baseline (every factor at its first level), then each factor at each other level
    with the rest at their baseline."""
    baseline = {key: values[0] for key, values in levels.items()}
    points = [baseline]
    for key, values in levels.items():
        points += [{**baseline, key: value} for value in values[1:]]
    return points


def _point_name(point: Mapping[str, Any]) -> str:
    """A folder-safe variant name from a design point, e.g. ``capacity.ward_bed=120``."""
    parts = []
    for key, value in point.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        parts.append(f"{key}={shown}")
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", "+".join(parts))
