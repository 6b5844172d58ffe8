"""Patient pathways: a calibrated population flowing through a capacity-limited hospital.

Patients arrive by the hour-of-day and weekday profile of NHS England's A&E attendances,
are drawn from a catchment population synthesised from census age x sex marginals, and
move through the pathway in ``ed_pathway.toml`` (triage, streams, diagnostics, treatment,
admission to limited ward beds). The event log uses process-mining columns and exports to
XES (``synthsim export xes``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from calibration.synthesis import synthesise
from calibration.tables import read_marginal
from scenarios.patients.arrivals import (
    LocalClock,
    check_timezone,
    default_arrival_profile,
    poisson_arrivals,
)
from scenarios.patients.config import (
    DEFAULT_CONFIG,
    SCHEMA,
    config_schema,
    configured_pathway,
)
from scenarios.patients.effects import day_offsets
from scenarios.patients.engine import simulate_kernel
from scenarios.patients.eventlog import close_open, vocabulary
from scenarios.patients.metrics import department_metrics
from scenarios.patients.reference import acuity_for_age, simulate
from scenarios.patients.summaries import case_table, resource_table
from scenarios.patients.targets import compare
from scenarios.patients.warmup import drop_warmup
from simulations.columns import text_field
from simulations.roles import TableRoles
from simulations.scenario import Emit, Scenario
from simulations.seeding import stream

__all__ = ["PatientsScenario"]

_MARGINALS = {"us_2022_age_sex": "us_v2022_age_sex_single_year.csv"}
_ATTRIBUTES = ["age", "sex", "acuity"]
_ZONE = "Europe/London"  # the default run.timezone
_METRICS = (
    "attendances", "within_4h_share", "over_12h_share", "time_in_department_median_minutes",
    "time_in_department_p90_minutes", "time_in_department_p95_minutes",
    "non_admitted_time_in_department_mean_minutes", "left_without_being_seen_share",
    "admitted_share", "bed_wait_median_minutes", "bed_wait_p90_minutes",
    "bed_wait_over_4h_share", "bed_wait_over_12h_share",
)  # fmt: skip
"""The fixed names :func:`~scenarios.patients.metrics.department_metrics` returns."""


def _inpatient_resources(pathway) -> list[str]:
    """The resources of the pathway's inpatient activities (wards), each once."""
    return list(dict.fromkeys(pathway.activities[a].resource for a in pathway.inpatient
                              if pathway.activities[a].resource is not None))  # fmt: skip


def tables(zone: str = _ZONE) -> dict[str, pa.Schema]:
    """The tables' schemas with timestamps in ``zone``. Text columns are plain strings (pandas
    reads them as such, and process-mining tools take them as they are) that Parquet stores
    dictionary-encoded (:func:`simulations.columns.text_field`)."""
    text, stamp = text_field, pa.timestamp("ms", tz=zone)
    return {
        "events": pa.schema([
            text("case:concept:name"), text("concept:name"), ("time:timestamp", stamp),
            text("org:resource"), text("lifecycle:transition"), text("case:readmission_of"),
            ("case:age", pa.int64()), text("case:sex"), ("case:acuity", pa.int64()),
            ("case:hospital", pa.int32()),
        ]),
        "patients": pa.schema([
            ("case_id", pa.string()), ("hospital", pa.int32()), ("age", pa.int64()), text("sex"),
            ("acuity", pa.int64()), ("arrival", stamp), text("outcome"),
            ("length_of_stay_minutes", pa.float64()), ("deteriorated", pa.bool_()),
            ("readmission_of", pa.string()), ("readmitted_within_30d", pa.bool_()),
        ]),
        "resources": pa.schema([
            ("hospital", pa.int32()), text("resource"), ("capacity", pa.int64()),
            ("busy_minutes", pa.float64()), ("utilisation", pa.float64()),
            ("occupancy", pa.float64()),
        ]),
    }  # fmt: skip


TABLES = tables()


class _Catchment:
    """Draws patients from a synthesised resident population: age and sex from the census
    catchment, acuity by age band (:func:`~scenarios.patients.reference.acuity_for_age`)."""

    def __init__(self, config: dict, rng: np.random.Generator) -> None:
        table = read_marginal(_MARGINALS[config["population"]["marginals"]])
        people = synthesise([table], config["population"]["catchment"], rng=rng).population
        self.age = people["age"].astype(str).str.rstrip("+").astype(int).to_numpy()
        self.sex = people["sex"].astype(str).to_numpy()

    def draw_many(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Attributes of ``n`` patients at once (the kernel engine's columnar input)."""
        k = rng.integers(len(self.age), size=n)
        return {"age": self.age[k], "sex": self.sex[k],
                "acuity": acuity_for_age(self.age[k], rng.random(n))}  # fmt: skip

    def __call__(self, rng: np.random.Generator) -> dict[str, object]:
        k = int(rng.integers(len(self.age)))
        acuity = acuity_for_age(self.age[k : k + 1], np.array([rng.random()]))
        return {"age": int(self.age[k]), "sex": str(self.sex[k]), "acuity": int(acuity[0])}


class PatientsScenario(Scenario):
    name = "patients"
    description = "emergency-department patient pathways with a process-mining event log"
    schema = SCHEMA
    default_config = DEFAULT_CONFIG
    tables = TABLES
    table_docs = {
        "events": "one row per event: process-mining columns (case:concept:name, concept:name, "
        "time:timestamp in run.timezone, org:resource, lifecycle:transition of the XES "
        "standard model, with ate_abort/pi_abort closing an activity cut short) and case "
        "attributes (case:...)",
        "patients": "one row per case (a patient's visit; a readmission is a new case linked "
        "by readmission_of): attributes, arrival, outcome, length of stay, adverse-event labels "
        "(readmitted_within_30d is null, unknown, for a visit that could return and whose 30 "
        "days after its end run past the run, whether or not it has returned yet)",
        "resources": "one row per resource: capacity, minutes of service given, utilisation "
        "of the units on duty (a unit serving past its shift counts as on duty) and occupancy "
        "of all its units, during the arrival window",
    }
    roles = {
        "events": TableRoles(entities=("case:concept:name",), time="time:timestamp",
                             event_type="concept:name", identifiers=("case:readmission_of",),
                             references=("case:hospital",)),
        # length_of_stay_minutes runs to the outcome (a ward stay, a death, leaving): it is
        # known only with the outcome, so it describes the label and is never a feature.
        "patients": TableRoles(labels=("outcome", "deteriorated", "readmitted_within_30d"),
                               label_details=("length_of_stay_minutes",),
                               entities=("case_id",), time="arrival",
                               identifiers=("readmission_of",), references=("hospital",)),
        "resources": TableRoles(entities=("resource",), references=("hospital",)),
    }  # fmt: skip
    engines = ("kernel", "reference")
    work_unit = "hospital-days"
    kernel_modules = ("scenarios.patients.kernels", "scenarios.patients.queues",
                      "scenarios.patients.draws", "scenarios.patients.effects",
                      "scenarios.patients.eventlog", "simulations.bits")  # fmt: skip

    def overview_figure(self, dataset):
        from scenarios.patients.report import overview_figure

        return overview_figure(dataset)

    def config_schema(self, merged: dict[str, Any]) -> dict[str, Any]:
        """What-if keys generated from the pathway file the config names (see
        :func:`scenarios.patients.config.config_schema`)."""
        return config_schema(merged)

    def resolve_config(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """:meth:`Scenario.resolve_config`, then load the pathway it names, so that a bad
        pathway file is refused before anything is written."""
        config = super().resolve_config(*args, **kwargs)
        configured_pathway(config)
        check_timezone(config["run"]["timezone"])
        return config

    def table_schemas(self, config: dict[str, Any]) -> dict[str, pa.Schema]:
        """:data:`TABLES` with timestamps in the config's ``run.timezone``."""
        return tables(config["run"].get("timezone", _ZONE))

    def run_metrics(self, config: dict[str, Any], read, summary) -> dict[str, float]:
        """The department's figures over every hospital
        (:func:`scenarios.patients.metrics.department_metrics`)."""
        pathway = configured_pathway(config)
        return department_metrics(
            read("events", ["case:concept:name", "concept:name", "time:timestamp",
                            "lifecycle:transition"]),
            read("patients", ["case_id", "arrival", "outcome", "length_of_stay_minutes",
                              *(["age"] if "age" in pathway.attributes else [])]),
            read("resources"), inpatient=pathway.inpatient,
            left_outcome=pathway.patience.outcome if pathway.patience else None,
            inpatient_resources=_inpatient_resources(pathway),
        )  # fmt: skip

    def metric_names(self, config: dict[str, Any]) -> tuple[str, ...]:
        """Names of the metrics :meth:`run_metrics` returns for ``config``: the department's
        figures, ``admitted_share_65_plus`` when patients have an age, ``utilisation.<r>`` of
        every resource of the pathway and ``occupancy.<r>`` of the inpatient resources."""
        pathway = configured_pathway(config)
        inpatient = _inpatient_resources(pathway)
        return (*_METRICS, *(["admitted_share_65_plus"] if "age" in pathway.attributes else []),
                *(f"utilisation.{r}" for r in pathway.resources),
                *(f"occupancy.{r}" for r in inpatient))  # fmt: skip

    def run_targets(self, config: dict[str, Any],
                    metrics: dict[str, float]) -> dict[str, dict[str, Any]]:  # fmt: skip
        """The metrics set against NHS England's type-1 figures for 2024-25
        (:mod:`scenarios.patients.targets`)."""
        return compare(metrics)

    def n_shards(self, config: dict[str, Any]) -> int:
        return config["run"]["hospitals"]

    def shard_work(self, config: dict[str, Any], shard: int) -> int:
        return config["run"]["days"]

    def run_shard(
        self, config: dict[str, Any], shard: int, emit: Emit, advance: Callable[[int], None],
        engine: str = "kernel",
    ) -> dict[str, Any]:  # fmt: skip
        self.check_engine(engine)
        run = config["run"]
        pathway = configured_pathway(config)
        catchment = _Catchment(config, stream(run["seed"], shard, "population"))
        warmup = run.get("warmup_days", 0) * 1440.0  # simulated before start_date, not written
        start = dt.datetime.fromisoformat(run["start_date"]) - dt.timedelta(minutes=warmup)
        profile = default_arrival_profile()
        table = profile.rates_per_hour(config["arrivals"]["per_day"])
        weekday = start.weekday()

        def rate(minute):  # the profile's local hours, summer time included
            local = clock.local_minutes(minute)
            day = np.floor_divide(local, 1440).astype(np.int64)
            hour = np.floor_divide(local, 60).astype(np.int64) % 24
            return table[(weekday + day) % 7, hour]

        rng = stream(run["seed"], shard, "behaviour")
        horizon, peak = run["days"] * 1440.0 + warmup, float(table.max())
        clock = LocalClock.of(start.date(), run.get("timezone", _ZONE), horizon)
        hours = profile.hour_shares  # the hours readmissions return at
        offsets = day_offsets(clock.local_minutes, int(horizon // 1440) + 32)  # summer time
        if engine == "kernel":
            arrivals = poisson_arrivals(rate, horizon, rng, peak_per_hour=peak)
            events = simulate_kernel(
                pathway, arrival_times_minutes=arrivals, rng=rng, start=start,
                attributes=catchment.draw_many(len(arrivals), rng), horizon_minutes=horizon,
                return_hours=hours, local_offsets=offsets,
            )  # fmt: skip
        else:
            events = simulate(
                pathway, arrivals_per_hour=lambda m: float(rate(np.asarray(m))),
                horizon_minutes=horizon, rng=rng, start=start, attributes=catchment,
                peak_per_hour=peak, return_hours=hours, local_offsets=offsets,
            )  # fmt: skip
        resources = resource_table(events, pathway, pd.Timestamp(start), horizon, warmup,
                                   local_offsets=offsets)
        events = drop_warmup(events, pd.Timestamp(start), warmup)
        for column in ("case:concept:name", "case:readmission_of"):
            events[column] = events[column].cat.rename_categories(lambda c: f"{shard}-{c}")
        events["case:hospital"] = np.int32(shard)
        events = close_open(events, vocabulary(pathway))
        observed_until = pd.Timestamp(start) + pd.Timedelta(minutes=horizon)
        cases = case_table(events, _ATTRIBUTES, pathway, observed_until).assign(
            hospital=np.int32(shard))
        schemas = self.table_schemas(config)
        events["time:timestamp"] = clock.timestamps(events["time:timestamp"])
        cases["arrival"] = clock.timestamps(cases["arrival"])
        emit("events", pa.Table.from_pandas(events, schema=schemas["events"],
                                            preserve_index=False))  # fmt: skip
        emit("patients", pa.Table.from_pandas(cases, schema=schemas["patients"],
                                              preserve_index=False))  # fmt: skip
        emit("resources", pa.Table.from_pandas(resources.assign(hospital=np.int32(shard)),
                                               schema=schemas["resources"], preserve_index=False))
        advance(run["days"])
        counts = cases["outcome"].value_counts()
        return {f"outcomes.{k}": int(v) for k, v in counts.items()} | {
            "cases": len(cases), "events": len(events),
            "deteriorations": int(cases["deteriorated"].sum()),
            "readmissions": int(cases["readmission_of"].notna().sum()),
        }  # fmt: skip
