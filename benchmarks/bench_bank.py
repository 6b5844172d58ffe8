"""Benchmark of the bank scenario: kernel vs Mesa reference, end-to-end Parquet, memory.

Run: ``python benchmarks/bench_bank.py`` (about 5-8 minutes on 2 cores; ``--quick`` for
a smaller sanity run). Prints, from one run:

1. kernel and Mesa-reference throughput (transactions per second) on the same config,
   and their ratio, and the seconds a first run spends compiling the kernels;
2. end-to-end rows per second written to Parquet (every table: transactions, sessions,
   alerts, ...) for 600,000 customers over 30 days, sized to give at least 30 million
   transactions (about 1.7 per customer-day);
3. peak memory (resident set of this process and its workers) of that run and of a
   365-day run, which must not grow with the number of simulated days.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from measure import timed_run

from simulations.compiling import compile_seconds
from simulations.scenario import get_scenario

TARGET_RATIO = 100
TARGET_ROWS, TARGET_SECONDS = 30_000_000, 30.0
TARGET_PEAK_GB = 4.0


def engine_throughput(customers: int, days: int) -> dict[str, float]:
    """Transactions per second of each engine simulating the same shard.

    Both engines get identical inputs (population, rule tables) and produce the same
    settled-row table; building the population and converting rows to Arrow, shared by
    both, are outside the timing. The kernel's compile (or cache load) is done first.
    """
    from scenarios.bank.population import MerchantIndex, build_customers, build_merchants
    from scenarios.bank.reference import run_reference
    from scenarios.bank.simulate import kernel_inputs, run_kernel
    from simulations.seeding import stream

    scenario = get_scenario("bank")
    config = scenario.resolve_config(overrides=[
        f"population.n_customers={customers}", f"run.shard_size={customers}", f"run.days={days}",
    ])  # fmt: skip
    merchants, _ = build_merchants(config, 42)
    index = MerchantIndex.build(merchants["category"], merchants["region"])
    state, _, _, _ = build_customers(config, 42, 0, merchants, index)
    inputs = kernel_inputs(config, state, merchants, index)
    engines = {"kernel": run_kernel, "reference": run_reference}
    sum(n for _, n, _, _ in run_kernel(inputs, config, stream(42, 0, "warm-up")))
    rates = {}
    for name, engine in engines.items():
        # The kernel's run is short, so one timing is noisy: take the median of 5 runs.
        timings = []
        for _ in range(5 if name == "kernel" else 1):
            started = time.perf_counter()
            rows = sum(n for _, n, _, _ in engine(inputs, config, stream(42, 0, "behaviour")))
            timings.append(time.perf_counter() - started)
        seconds = float(np.median(timings))
        rates[name] = rows / seconds
        print(f"  {name:9s}: {rows:>10,} transactions in {seconds:7.2f} s = "
              f"{rows / seconds:>12,.0f} tx/s")  # fmt: skip
    return rates


def end_to_end(customers: int, days: int, workers: int, folder: Path) -> tuple[int, float, float]:
    """Rows, seconds and peak GB of a full ``synthsim run bank`` to Parquet."""
    return timed_run("bank", [f"population.n_customers={customers}", f"run.days={days}",
                              "run.shard_size=50000"], folder, workers, "transactions")

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--year-customers", type=int, default=1_000_000,
                        help="customers in the 365-day memory run")  # fmt: skip
    parser.add_argument("--skip-year", action="store_true", help="skip the 365-day run")
    args = parser.parse_args()
    big = 20_000 if args.quick else 600_000
    print("1. kernel vs Mesa reference, one shard, same config (default population, 30 days)")
    rates = engine_throughput(500 if args.quick else 20_000, 10 if args.quick else 30)
    ratio = rates["kernel"] / rates["reference"]
    print(f"  ratio kernel/reference: {ratio:,.0f}x (target >= {TARGET_RATIO}x)")
    cold, warm = compile_seconds("bank", ["population.n_customers=200", "run.days=2"])
    print(f"  first run's kernel compile (empty Numba cache): {cold - warm:.1f} s "
          f"(2-day run: {cold:.1f} s cold, {warm:.1f} s cached)")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="synthsim-bench-") as folder:
        print(f"2. end to end: {big:,} customers x 30 days -> Parquet, {args.workers} workers")
        rows, seconds, peak = end_to_end(big, 30, args.workers, Path(folder))
        print(f"  {rows:,} transactions in {seconds:.1f} s = {rows / seconds:,.0f} rows/s "
              f"(target >= {TARGET_ROWS:,} in < {TARGET_SECONDS:.0f} s); peak memory "
              f"{peak:.2f} GB")  # fmt: skip
        if not args.skip_year:
            year = 20_000 if args.quick else args.year_customers
            print(f"3. memory: {year:,} customers x 365 days -> Parquet")
            rows, seconds, peak = end_to_end(year, 365, args.workers, Path(folder))
            print(f"  {rows:,} transactions in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; "
                  f"peak memory {peak:.2f} GB (target < {TARGET_PEAK_GB} GB)")  # fmt: skip


if __name__ == "__main__":
    main()
