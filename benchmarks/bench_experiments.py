"""Benchmark of experiments: 100 small runs in this process, on local processes and on a
Dask ``LocalCluster``, measured in one run.

Run: ``python benchmarks/bench_experiments.py``. Prints, per backend, the wall time, runs
per second, and the overhead per task: wall time x workers minus the time the runs
themselves took (each run's ``seconds``, measured inside it), divided by the number of runs
(scheduling, process start, pickling, writing the run records). The run is one day of a
small emergency department, so the figures are dominated by per-task costs, the worst case
for a backend.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from simulations import load_plan, run_experiment

RUNS, WORKERS = 100, 2
PLAN = {
    "scenario": "patients",
    "replications": RUNS // 4,
    "seed": 7,
    "metrics": ["within_4h_share", "admitted_share"],
    "base": {"run.days": 1, "run.warmup_days": 1, "population.catchment": 2000,
             "arrivals.per_day": 60},
    "variants": {f"beds_{b}": {"capacity.ward_bed": b} for b in (20, 30, 40, 50)},
}  # fmt: skip


def _measure(label: str, workers: int, scheduler: str | None, folder: Path) -> dict:
    started = time.perf_counter()
    result = run_experiment(load_plan(PLAN), folder / label, workers=workers,
                            scheduler=scheduler, progress=False)  # fmt: skip
    wall = time.perf_counter() - started
    inside = sum(json.loads(p.read_text())["seconds"]
                 for p in (folder / label).glob("runs/*/*/run.json"))  # fmt: skip
    assert len(result.records) == RUNS and not result.failures
    return {"label": label, "wall": wall, "rate": RUNS / wall,
            "overhead": (wall * workers - inside) / RUNS, "results": result.results}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # compile and warm up once, so no backend pays for the first compilation
        run_experiment(load_plan({**PLAN, "replications": 1}), folder / "warm", progress=False)
        rows = [
            _measure("in this process", 1, None, folder),
            _measure(f"local processes x{WORKERS}", WORKERS, None, folder),
            _measure(f"Dask LocalCluster x{WORKERS}", WORKERS, "local", folder),
        ]
    print(f"{RUNS} runs (one day of a small ED each), {WORKERS} workers where parallel")
    for row in rows:
        print(f"  {row['label']:26s} {row['wall']:6.2f} s  {row['rate']:6.1f} runs/s  "
              f"overhead {1000 * row['overhead']:7.1f} ms per task")  # fmt: skip
    same = all(r["results"].equals(rows[0]["results"]) for r in rows[1:])
    print(f"  results identical across backends: {same}")
    base = rows[0]["rate"]
    print("  speed-up against this process: "
          + ", ".join(f"{r['label']} {r['rate'] / base:.2f}x" for r in rows[1:]))


if __name__ == "__main__":
    main()
