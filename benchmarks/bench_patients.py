"""Benchmark of the patients scenario: Numba kernel vs SimPy reference, and one year of ED.

Run: ``python benchmarks/bench_patients.py``. Prints, from one run: patients per second of
the kernel and of the SimPy reference on the same pathway and arrivals (the default ED at
150 arrivals a day, 8 simulated weeks), their ratio (target >= 50x), and the wall time to
generate one simulated year of the default emergency department with ``synthsim run``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np

from scenarios.patients.kernels import poisson_arrivals, sample_attributes, simulate_kernel
from scenarios.patients.pathway import DEFAULT_PATHWAY, load_pathway
from scenarios.patients.reference import simulate
from simulations.runner import run
from simulations.scenario import get_scenario

TARGET_RATIO = 50.0
PER_HOUR, WEEKS = 150 / 24, 8


def engines() -> dict[str, float]:
    pathway = load_pathway(DEFAULT_PATHWAY)
    start, horizon = dt.datetime(2025, 1, 6), WEEKS * 7 * 1440.0
    rates = {}
    for name in ("kernel", "reference"):
        rng = np.random.default_rng(7)
        if name == "kernel":
            warm = poisson_arrivals(PER_HOUR, 1440.0, np.random.default_rng(0))
            simulate_kernel(pathway, arrival_times_minutes=warm, start=start,
                            attributes=sample_attributes(len(warm), rng), rng=rng)  # fmt: skip
        started = time.perf_counter()
        if name == "kernel":
            arrivals = poisson_arrivals(PER_HOUR, horizon, rng)
            attributes = sample_attributes(len(arrivals), rng)
            log = simulate_kernel(pathway, arrival_times_minutes=arrivals, start=start,
                                  attributes=attributes, rng=rng)  # fmt: skip
        else:
            log = simulate(pathway, arrivals_per_hour=PER_HOUR, horizon_minutes=horizon,
                           rng=rng, start=start)  # fmt: skip
        seconds = time.perf_counter() - started
        patients = log["case:concept:name"].nunique()
        rates[name] = patients / seconds
        print(f"  {name:9s}: {patients:>8,} patients, {len(log):>9,} events in {seconds:6.2f} s "
              f"= {patients / seconds:>10,.0f} patients/s")  # fmt: skip
    return rates


def one_year() -> None:
    scenario = get_scenario("patients")
    config = scenario.resolve_config(overrides=["run.days=365"])
    with tempfile.TemporaryDirectory(dir=".") as folder:
        result = run(scenario, config, Path(folder) / "ed", progress=False)
    tables = result.manifest["tables"]
    print(
        f"  one simulated year of the default ED: {tables['patients']['rows']:,} patients, "
        f"{tables['events']['rows']:,} events in {result.seconds:.1f} s (kernel engine)"
    )


def main() -> None:
    print(f"1. kernel vs SimPy reference, default ED pathway, {PER_HOUR * 24:.0f} arrivals/day, "
          f"{WEEKS} weeks")  # fmt: skip
    rates = engines()
    print(f"  ratio kernel/reference: {rates['kernel'] / rates['reference']:,.1f}x "
          f"(target >= {TARGET_RATIO:.0f}x)")  # fmt: skip
    print("2. synthsim run patients, 365 days")
    one_year()


if __name__ == "__main__":
    main()
