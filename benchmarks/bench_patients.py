"""Benchmark of the patients scenario: Numba kernel vs SimPy reference, and one year of ED.

Run: ``python benchmarks/bench_patients.py``. Prints, from one run: patients per second of
the kernel and of the SimPy reference on the same pathway and arrivals (the default ED at
150 arrivals a day, 8 simulated weeks; each the best of a few runs), their ratio (target
>= 50x), and the wall time to
generate one simulated year of the default emergency department with ``synthsim run``,
and the seconds a first run spends compiling the kernels (empty Numba cache).
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from scenarios.patients.arrivals import poisson_arrivals
from scenarios.patients.engine import sample_attributes, simulate_kernel
from scenarios.patients.pathway import DEFAULT_PATHWAY, load_pathway
from scenarios.patients.reference import simulate
from simulations.compiling import compile_seconds
from simulations.runner import run
from simulations.scenario import get_scenario

TARGET_RATIO = 50.0
PER_HOUR, WEEKS = 150 / 24, 8
REPEATS = {"kernel": 7, "reference": 3}


def _simulate(name: str, pathway, seed: int):
    """One run of engine ``name`` from seed ``seed``: arrivals, attributes and the log."""
    rng, start, horizon = np.random.default_rng(seed), dt.datetime(2025, 1, 6), WEEKS * 7 * 1440.0
    if name == "reference":
        return simulate(pathway, arrivals_per_hour=PER_HOUR, horizon_minutes=horizon, rng=rng,
                        start=start)  # fmt: skip
    arrivals = poisson_arrivals(PER_HOUR, horizon, rng)
    return simulate_kernel(pathway, arrival_times_minutes=arrivals, start=start, rng=rng,
                           attributes=sample_attributes(len(arrivals), rng),
                           horizon_minutes=horizon)  # fmt: skip


def engines() -> dict[str, float]:
    """Patients per second of each engine: the best of ``REPEATS`` runs (timeit's rule: the
    fastest run is the one least disturbed by the rest of the machine), after one untimed
    kernel run that loads its compiled code."""
    pathway = load_pathway(DEFAULT_PATHWAY)
    _simulate("kernel", pathway, 0)
    rates = {}
    for name in ("kernel", "reference"):
        best = (0.0, 0, 0, math.inf)
        for seed in range(REPEATS[name]):
            started = time.perf_counter()
            log = _simulate(name, pathway, seed)
            seconds = time.perf_counter() - started
            patients = log["case:concept:name"].nunique()
            best = max(best, (patients / seconds, patients, len(log), seconds))
        rates[name], patients, events, seconds = best
        print(f"  {name:9s}: {patients:>8,} patients, {events:>9,} events in {seconds:6.3f} s "
              f"= {rates[name]:>10,.0f} patients/s (best of {REPEATS[name]})")  # fmt: skip
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
    cold, warm = compile_seconds("patients", ["run.days=2", "run.warmup_days=0"])
    print(f"3. first run's kernel compile (empty Numba cache): {cold - warm:.1f} s "
          f"(2-day run: {cold:.1f} s cold, {warm:.1f} s cached)")  # fmt: skip


if __name__ == "__main__":
    main()
