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
from scenarios.patients.arrivals import default_arrival_profile
from scenarios.patients.config import DEFAULT_CONFIG, SCHEMA, pathway_document
from scenarios.patients.kernels import poisson_arrivals, sample_attributes, simulate_kernel
from scenarios.patients.pathway import load_pathway
from scenarios.patients.reference import AttributeSampler, simulate
from simulations.scenario import Emit, Scenario
from simulations.seeding import stream

__all__ = ["PatientsScenario"]

_MARGINALS = {"us_2022_age_sex": "us_v2022_age_sex_single_year.csv"}
_LABEL = pa.dictionary(pa.int32(), pa.string())
TABLES = {
    "events": pa.schema([
        ("case:concept:name", pa.string()), ("concept:name", _LABEL),
        ("time:timestamp", pa.timestamp("ms")), ("org:resource", pa.string()),
        ("lifecycle:transition", _LABEL), ("case:age", pa.int64()), ("case:acuity", pa.int64()),
        ("hospital", pa.int32()),
    ]),
    "patients": pa.schema([
        ("patient_id", pa.string()), ("hospital", pa.int32()), ("age", pa.int64()),
        ("sex", _LABEL), ("acuity", pa.int64()), ("arrival", pa.timestamp("ms")),
        ("outcome", _LABEL), ("length_of_stay_minutes", pa.float64()),
    ]),
    "resources": pa.schema([
        ("hospital", pa.int32()), ("resource", pa.string()), ("capacity", pa.int64()),
        ("busy_minutes", pa.float64()),
    ]),
}  # fmt: skip


class _Catchment:
    """Draws patients from a synthesised resident population: age and sex from the census
    catchment, acuity as each engine's own sampler draws it."""

    def __init__(self, config: dict, rng: np.random.Generator) -> None:
        table = read_marginal(_MARGINALS[config["population"]["marginals"]])
        people = synthesise([table], config["population"]["catchment"], rng=rng).population
        self.age = people["age"].astype(str).str.rstrip("+").astype(int).to_numpy()
        self.sex = people["sex"].astype(str).to_numpy()
        self.drawn: list[tuple[int, str]] = []
        self.sampler = AttributeSampler()

    def draw_many(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Attributes of ``n`` patients at once (the kernel engine's columnar input)."""
        k = rng.integers(len(self.age), size=n)
        self.drawn = list(zip(self.age[k].tolist(), self.sex[k].tolist(), strict=True))
        return {"age": self.age[k], "acuity": sample_attributes(n, rng)["acuity"]}

    def __call__(self, rng: np.random.Generator) -> dict[str, int]:
        k = int(rng.integers(len(self.age)))
        self.drawn.append((int(self.age[k]), self.sex[k]))
        return {"age": int(self.age[k]), "acuity": self.sampler(rng)["acuity"]}


class PatientsScenario(Scenario):
    name = "patients"
    description = "emergency-department patient pathways with a process-mining event log"
    schema = SCHEMA
    default_config = DEFAULT_CONFIG
    tables = TABLES
    table_docs = {
        "events": "one row per event: process-mining columns (case:concept:name, concept:name, "
        "time:timestamp, org:resource, lifecycle:transition) and case attributes",
        "patients": "one row per patient: attributes, arrival, terminal outcome, length of stay",
        "resources": "one row per resource: capacity and minutes of service given",
    }
    label_columns = {"patients": ("outcome",)}
    engines = ("kernel", "reference")

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
        pathway = load_pathway(pathway_document(config))
        catchment = _Catchment(config, stream(run["seed"], shard, "population"))
        start = dt.datetime.fromisoformat(run["start_date"])
        table = default_arrival_profile().rates_per_hour(config["arrivals"]["per_day"])
        weekday = start.weekday()

        def rate(minute):
            day = np.floor_divide(minute, 1440).astype(np.int64)
            hour = np.floor_divide(minute, 60).astype(np.int64) % 24
            return table[(weekday + day) % 7, hour]

        rng = stream(run["seed"], shard, "behaviour")
        horizon, peak = run["days"] * 1440.0, float(table.max())
        if engine == "kernel":
            arrivals = poisson_arrivals(rate, horizon, rng, peak_per_hour=peak)
            events = simulate_kernel(
                pathway, arrival_times_minutes=arrivals, rng=rng, start=start,
                attributes=catchment.draw_many(len(arrivals), rng),
            )  # fmt: skip
        else:
            events = simulate(
                pathway, arrivals_per_hour=lambda m: float(rate(np.asarray(m))),
                horizon_minutes=horizon, rng=rng, start=start, attributes=catchment,
                peak_per_hour=peak,
            )  # fmt: skip
        events["case:concept:name"] = f"{shard}-" + events["case:concept:name"]
        # Milliseconds are plenty; flooring is monotone, so event order within cases holds.
        events["time:timestamp"] = events["time:timestamp"].dt.floor("ms")
        events["hospital"] = np.int32(shard)
        emit("events", pa.Table.from_pandas(events, schema=TABLES["events"],
                                            preserve_index=False))  # fmt: skip
        patients = _patients(events, catchment, pathway, shard)
        emit("patients", pa.Table.from_pandas(patients, schema=TABLES["patients"],
                                              preserve_index=False))  # fmt: skip
        emit("resources", _resources(events, pathway, shard))
        advance(run["days"])
        counts = patients["outcome"].value_counts()
        return {f"outcomes.{k}": int(v) for k, v in counts.items()} | {
            "patients": len(patients), "events": len(events)}  # fmt: skip


def _patients(events: pd.DataFrame, catchment: _Catchment, pathway, shard: int) -> pd.DataFrame:
    cases = events.groupby("case:concept:name", sort=False)
    first, last = cases["time:timestamp"].min(), cases["time:timestamp"].max()
    terminal = events[events["concept:name"].isin(pathway.terminal)]
    outcome = terminal.groupby("case:concept:name", sort=False)["concept:name"].first()
    ids = first.index
    number = ids.str.split("-").str[1].astype(int).to_numpy()
    return pd.DataFrame({
        "patient_id": ids, "hospital": np.int32(shard),
        "age": cases["case:age"].first().to_numpy(),
        "sex": [catchment.drawn[n][1] for n in number],
        "acuity": cases["case:acuity"].first().to_numpy(),
        "arrival": first.to_numpy(), "outcome": outcome.reindex(ids).to_numpy(),
        "length_of_stay_minutes": ((last - first).dt.total_seconds() / 60).to_numpy(),
    })  # fmt: skip


def _resources(events: pd.DataFrame, pathway, shard: int) -> pa.Table:
    served = events[events["org:resource"].fillna("") != ""]
    spans = served.pivot_table(index=["case:concept:name", "concept:name", "org:resource"],
                               columns="lifecycle:transition", values="time:timestamp",
                               aggfunc="min", observed=True)  # fmt: skip
    busy = (spans.get("complete") - spans.get("start")).dt.total_seconds() / 60
    resource = busy.index.get_level_values("org:resource").str.rsplit("-", n=1).str[0]
    minutes = busy.groupby(resource).sum()
    names = list(pathway.resources)
    return pa.table({
        "hospital": pa.array([shard] * len(names), pa.int32()), "resource": names,
        "capacity": [pathway.resources[n].capacity for n in names],
        "busy_minutes": [float(minutes.get(n, 0.0)) for n in names],
    }, schema=TABLES["resources"])  # fmt: skip
