"""Configuration schema of the patient-pathways scenario (defaults in ``default.toml``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from scenarios.patients.pathway import DEFAULT_PATHWAY
from simulations.params import Interval, Options, Param

__all__ = ["DEFAULT_CONFIG", "SCHEMA", "pathway_document"]

DEFAULT_CONFIG = Path(__file__).with_name("default.toml")
_RESOURCES = tuple(tomllib.loads(DEFAULT_PATHWAY.read_text())["resources"])

SCHEMA = {
    "run": {
        "seed": Param("int", Interval(int, 0, 2**63 - 1), "root seed of every random stream"),
        "start_date": Param("date", None, "first simulated day"),
        "days": Param("int", Interval(int, 1, 3660), "number of simulated days", "days"),
        "hospitals": Param(
            "int", Interval(int, 1, 10_000), "independent hospitals (one shard each)"
        ),
    },
    "arrivals": {
        "per_day": Param(
            "float", Interval(float, 0.0, 100_000.0, closed="right"),
            "mean arrivals per day, shaped by hour and weekday", "patients/day",
        ),
    },
    "population": {
        "catchment": Param(
            "int", Interval(int, 1, 100_000_000), "residents per hospital patients come from"
        ),
        "marginals": Param("str", Options(["us_2022_age_sex"]), "census age x sex table"),
    },
    "capacity": {
        name: Param("int", Interval(int, 1, 100_000), f"{name} servers at peak")
        for name in _RESOURCES
    },
}  # fmt: skip


def pathway_document(config: dict) -> dict:
    """The default pathway as a TOML document with the configured capacities applied.

    A shift's on-duty number is scaled with the resource's capacity (rounded, at least 0),
    so ``--set capacity.ed_doctor=12`` means 50% more doctors at every hour.
    """
    document = tomllib.loads(DEFAULT_PATHWAY.read_text())
    for name, capacity in config["capacity"].items():
        resource = document["resources"][name]
        scale = capacity / resource["capacity"]
        resource["capacity"] = capacity
        if "shifts" in resource:
            resource["shifts"] = [[a, b, min(capacity, round(n * scale))]
                                  for a, b, n in resource["shifts"]]  # fmt: skip
    return document
