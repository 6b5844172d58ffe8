"""Shared helpers of the patients engine tests (imported by the ``test_patients_*`` files; not
a test module itself).

:func:`run` drives either engine from the same inputs: the SimPy reference
(:func:`scenarios.patients.reference.simulate`) or the Numba kernel
(:func:`scenarios.patients.engine.simulate_kernel`, fed Poisson arrivals and attribute arrays
drawn from the same ``rng``). The other helpers read event logs of either engine.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from datetime import datetime
from statistics import NormalDist

import numpy as np
import pandas as pd

from scenarios.patients.arrivals import poisson_arrivals
from scenarios.patients.engine import sample_attributes, simulate_kernel
from scenarios.patients.eventlog import READMISSION_OF
from scenarios.patients.pathway import DEFAULT_PATHWAY, DETERIORATION, Pathway, load_pathway
from scenarios.patients.reference import simulate

__all__ = [
    "ALPHA", "DAY", "ENGINES", "MINUTE", "SECOND", "START", "Sampler", "Z", "binomial_ok", "cases",
    "erlang_c", "fixed_stay", "minutes", "readmission_pathway", "run", "service_intervals",
    "single_queue", "stressed_ed", "waits",
]  # fmt: skip

START = datetime(2024, 1, 1)
MINUTE = pd.Timedelta(minutes=1)
DAY = 1440.0
SECOND = 1 / 60  # in minutes: the log's resolution
ALPHA = 1e-3  # level of every statistical test: a correct engine fails one about 1 in 1000
Z = NormalDist().inv_cdf(1 - ALPHA / 2)  # two-sided tolerance in standard errors (3.29)
ENGINES = ("kernel", "reference")


def single_queue(capacity: int, service: dict, **extra) -> dict:
    """One resource, one activity, then "done" (``extra`` goes into ``[pathway]``)."""
    return {
        "pathway": {"name": "queue", "start": "serve", "terminal": ["done", "left"], **extra},
        "resources": {"server": {"capacity": capacity}},
        "activities": {"serve": {"resource": "server", "service": service}},
        "transitions": [{"source": "serve", "target": "done", "probability": 1.0}],
    }


def fixed_stay(length: float, capacity: int, adverse: dict) -> dict:
    """Every patient holds one of ``capacity`` beds for exactly ``length`` minutes, then "done"."""
    raw = single_queue(capacity, {"distribution": "fixed", "value": length})
    raw["pathway"]["terminal"] = ["done", "died"]
    raw["adverse_events"] = {"death_outcome": "died", **adverse}
    return raw


def stressed_ed() -> Pathway:
    """The default pathway with adverse events frequent enough to interact with everything."""
    with DEFAULT_PATHWAY.open("rb") as fh:
        raw = tomllib.load(fh)
    raw["adverse_events"] |= {
        "deterioration_per_day": 3.0,
        "death_per_day": 0.2,
        "death_per_day_after_deterioration": 3.0,
        "readmission_30d": 0.6,
    }
    return load_pathway(raw)


def readmission_pathway(share: float) -> dict:
    """Two servers, impatience and death, so that not every case is a discharge."""
    raw = single_queue(2, {"distribution": "exponential", "mean": 30}, attributes=["acuity"])
    raw["pathway"]["terminal"] = ["done", "left", "died"]
    raw["activities"]["serve"]["priority_by"] = "acuity"
    raw["patience"] = {"distribution": "exponential", "mean": 30, "applies_to": ["serve"]}
    raw["patience"]["outcome"] = "left"
    raw["adverse_events"] = {
        "death_per_day": 2.0,
        "death_outcome": "died",
        "readmission_30d": share,
    }
    return raw


class Sampler:
    """Acuity, sex and a unique token per patient (the token shows whose attributes a case
    carries); counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, rng: np.random.Generator) -> dict[str, object]:
        self.calls += 1
        return {
            "acuity": int(rng.integers(1, 6)),
            "sex": "F" if rng.random() < 0.5 else "M",
            "token": int(rng.integers(2**62)),
        }


def _attribute_arrays(
    pathway: Pathway,
    n: int,
    rng: np.random.Generator,
    attributes: Callable[[np.random.Generator], Mapping[str, object]] | None,
) -> dict[str, np.ndarray]:
    """Attributes of ``n`` arrivals as arrays: :func:`sample_attributes` by default, else one
    call of the per-patient ``attributes(rng)`` per arrival, keys in the first call's order."""
    if attributes is None:
        return sample_attributes(n, rng)
    rows = [attributes(rng) for _ in range(n)]
    if not rows:
        return {name: np.empty(0, np.int64) for name in pathway.attributes}
    return {key: np.asarray([row[key] for row in rows]) for key in rows[0]}


def run(
    raw_or_pathway: dict | Pathway,
    seed,
    *,
    engine: str,
    rate: float | Callable[[float], float],
    horizon: float,
    attributes: Callable[[np.random.Generator], Mapping[str, object]] | None = None,
    peak_per_hour: float | None = None,
    return_hours: np.ndarray | None = None,
) -> pd.DataFrame:
    """The event log of ``engine`` ("kernel" or "reference") on a pathway (or its raw TOML
    dict), from ``numpy.random.default_rng(seed)``, starting at :data:`START`.

    ``rate`` is arrivals per hour, or a scalar function of the minute bounded by
    ``peak_per_hour``; ``return_hours`` the 24 hourly shares readmissions return at;
    ``attributes`` a per-patient sampler ``attributes(rng) -> dict``
    (default: the reference's acuity and age). The kernel gets Poisson arrivals
    (:func:`~scenarios.patients.arrivals.poisson_arrivals`), then the attributes, then its
    random state, all from the one ``rng``.
    """
    pathway = load_pathway(raw_or_pathway) if isinstance(raw_or_pathway, dict) else raw_or_pathway
    rng = np.random.default_rng(seed)
    if engine == "reference":
        return simulate(
            pathway,
            arrivals_per_hour=rate,
            horizon_minutes=horizon,
            rng=rng,
            start=START,
            attributes=attributes,
            peak_per_hour=peak_per_hour,
            return_hours=return_hours,
        )
    if engine != "kernel":
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if callable(rate):  # the kernel's arrivals take a vectorised rate
        rate = np.vectorize(rate, otypes=[float])
    arrivals = poisson_arrivals(rate, horizon, rng, peak_per_hour)
    return simulate_kernel(
        pathway,
        arrival_times_minutes=arrivals,
        attributes=_attribute_arrays(pathway, arrivals.size, rng, attributes),
        rng=rng,
        start=START,
        horizon_minutes=horizon,
        return_hours=return_hours,
    )


def minutes(log: pd.DataFrame) -> np.ndarray:
    """Minutes since :data:`START` of every row."""
    return ((log["time:timestamp"] - pd.Timestamp(START)) / MINUTE).to_numpy()


def cases(log: pd.DataFrame, terminal) -> pd.DataFrame:
    """One row per case (index: case number): arrival, end and deterioration minute (NaN if
    none), outcome, and the earlier case it readmits (-1 if none)."""
    log = log.assign(minute=minutes(log), case=log["case:concept:name"].astype(int))
    by_case = log.groupby("case", sort=True)
    end = log[log["concept:name"].isin(terminal)].set_index("case")
    worse = log[log["concept:name"] == DETERIORATION].set_index("case")["minute"]
    return pd.DataFrame({
        "arrival": by_case["minute"].first(),
        "end": end["minute"],
        "outcome": end["concept:name"].astype(str),
        "deteriorated": worse,
        "of": by_case[READMISSION_OF].first().astype(float).fillna(-1).astype(int),
    })  # fmt: skip


def binomial_ok(successes: int, n: int, p: float) -> bool:
    """Whether ``successes`` out of ``n`` is within :data:`Z` binomial standard errors of
    ``n * p``."""
    return abs(successes - n * p) <= Z * math.sqrt(n * p * (1 - p))


def service_intervals(log: pd.DataFrame, terminal) -> list[tuple[str, float, float, str]]:
    """(instance, start, end, case) of every service; a service cut short ends at the outcome."""
    out, t = [], minutes(log)
    open_ = {}
    for i, (case, name, res, life) in enumerate(
        zip(
            log["case:concept:name"],
            log["concept:name"],
            log["org:resource"],
            log["lifecycle:transition"],
            strict=True,
        )
    ):
        if life == "start" and pd.notna(res):
            open_[case] = (res, t[i])
        elif (life == "complete" and pd.notna(res)) or name in terminal:
            if case in open_:
                res0, t0 = open_.pop(case)
                out.append((res0, t0, t[i], case))
    assert not open_
    return out


def waits(log: pd.DataFrame) -> pd.DataFrame:
    """(case, activity, t0 = schedule minute, t1 = start minute, wait) of every visit whose
    service started (each activity is visited at most once per case in these pathways)."""
    t, life = minutes(log), log["lifecycle:transition"].to_numpy()
    keys = ["case:concept:name", "concept:name"]
    sched = log.loc[life == "schedule", keys].assign(t0=t[life == "schedule"])
    start = log.loc[life == "start", keys].assign(t1=t[life == "start"])
    both = sched.merge(start, on=keys, validate="one_to_one")
    return both.assign(wait=both.t1 - both.t0)


def erlang_c(lam: float, mu: float, c: int) -> tuple[float, float]:
    """Mean wait in queue (in the time unit of 1/lam) and utilisation of M/M/c (Erlang C)."""
    a, rho = lam / mu, lam / (c * mu)
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam), rho
