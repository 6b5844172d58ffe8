"""Benchmark of the retail scenario: kernel vs Mesa reference, end-to-end Parquet, memory.

Run: ``python benchmarks/bench_retail.py`` (about 10 minutes on 2 cores, most of it the
end-to-end run; ``--quick`` for a smaller sanity run, under a minute). Prints, from one run:

1. kernel and Mesa-reference throughput (transaction rows per second) on the same shard
   (2,000 households x 8 weeks), their ratio, and the seconds a first run spends compiling
   the kernel;
2. end-to-end ``synthsim run retail`` of 1,000,000 households x 52 weeks to Parquet with 2
   workers (in the system's temporary folder, deleted afterwards): rows, seconds, rows per
   second and peak memory (resident set of this process and its workers).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from measure import timed_run

from simulations.compiling import compile_seconds
from simulations.scenario import get_scenario

TARGET_RATIO = 100


def engine_throughput(households: int, weeks: int) -> dict[str, float]:
    """Rows per second of each engine simulating the same shard.

    Both engines get identical inputs (households, weekly product tables) through
    :func:`scenarios.retail.engine.shard_chunks` and return rows in the same layout;
    building the households and weekly tables and converting rows to Arrow, shared by both,
    are outside the timing. The kernel's compile (or cache load) is done first; its run is
    short, so its timing is the median of 5.
    """
    from scenarios.retail.engine import shard_chunks
    from scenarios.retail.simulate import build_households, parameters_of, weekly_tables

    scenario = get_scenario("retail")
    config = scenario.resolve_config(overrides=[
        f"population.n_households={households}", f"run.shard_size={households}",
        f"run.weeks={weeks}",
    ])  # fmt: skip
    params = parameters_of(config)
    shard = build_households(config, params, 0)
    weekly = weekly_tables(config, params)

    def simulate(engine: str) -> int:
        return sum(rows.shape[1] for rows, _ in shard_chunks(config, params, shard, weekly,
                                                             engine, 0))  # fmt: skip

    simulate("kernel")  # compile or load the cache
    rates = {}
    for engine in ("kernel", "reference"):
        timings = []
        for _ in range(5 if engine == "kernel" else 1):
            started = time.perf_counter()
            rows = simulate(engine)
            timings.append(time.perf_counter() - started)
        seconds = float(np.median(timings))
        rates[engine] = rows / seconds
        print(f"  {engine:9s}: {rows:>10,} rows in {seconds:7.3f} s = {rows / seconds:>12,.0f} "
              "rows/s")  # fmt: skip
    return rates


def end_to_end(households: int, weeks: int, workers: int,
               folder: Path) -> tuple[int, float, float]:  # fmt: skip
    """Rows, seconds and peak GB of a full ``synthsim run retail`` to Parquet."""
    return timed_run("retail", [f"population.n_households={households}",
                                f"run.weeks={weeks}"], folder, workers, "transactions")

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    shard, weeks = (300, 4) if args.quick else (2_000, 8)
    print(f"1. kernel vs Mesa reference, one shard, same config ({shard:,} households x "
          f"{weeks} weeks)")  # fmt: skip
    rates = engine_throughput(shard, weeks)
    ratio = rates["kernel"] / rates["reference"]
    print(f"  ratio kernel/reference: {ratio:,.0f}x (target >= {TARGET_RATIO}x)")
    cold, warm = compile_seconds("retail", ["population.n_households=200", "run.weeks=2"])
    print(f"  first run's kernel compile (empty Numba cache): {cold - warm:.1f} s "
          f"(2-week run: {cold:.1f} s cold, {warm:.1f} s cached)")  # fmt: skip

    households, weeks = (20_000, 8) if args.quick else (1_000_000, 52)
    with tempfile.TemporaryDirectory(prefix="synthsim-bench-") as folder:
        print(f"2. end to end: {households:,} households x {weeks} weeks -> Parquet, "
              f"{args.workers} workers")  # fmt: skip
        rows, seconds, peak = end_to_end(households, weeks, args.workers, Path(folder))
        print(f"  {rows:,} transaction rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s; "
              f"peak memory {peak:.2f} GB")  # fmt: skip


if __name__ == "__main__":
    main()
