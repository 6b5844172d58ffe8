"""What the benchmarks measure alike: peak memory of a process and its workers, and a timed
``synthsim run`` of a scenario to Parquet (imported by the ``bench_*.py`` scripts beside it)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import psutil

from simulations.runner import run
from simulations.scenario import get_scenario

__all__ = ["PeakMemory", "timed_run"]


class PeakMemory:
    """Samples the resident memory of this process plus all its children (GB)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval, self.peak, self._stop = interval, 0, threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def gb(self) -> float:
        return self.peak / 1e9


def timed_run(scenario_name: str, overrides: list[str], folder: Path, workers: int,
              table: str) -> tuple[int, float, float]:  # fmt: skip
    """Rows of ``table``, seconds and peak GB of a run of ``scenario_name`` with
    ``overrides`` to Parquet under ``folder`` (deleted afterwards)."""
    scenario = get_scenario(scenario_name)
    config = scenario.resolve_config(overrides=overrides)
    out = folder / f"{scenario_name}-run"
    with PeakMemory() as memory:
        result = run(scenario, config, out, workers=workers, progress=True)
    rows = result.manifest["tables"][table]["rows"]
    shutil.rmtree(out)
    return rows, result.seconds, memory.gb
