"""Run a scenario shard by shard and write its dataset.

Shards are independent: each builds its own agents from its own random streams and writes
its own part files (``<table>/part-<shard>``), so running them in one process or in many
gives byte-identical datasets. The dataset appears atomically with its manifest.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from simulations.datasets import read_parts
from simulations.eventlog import DatasetWriter, TablePartWriter, part_file
from simulations.manifest import build_manifest
from simulations.progress import progress_bar
from simulations.scenario import Scenario, get_scenario

__all__ = ["RunResult", "run"]


@dataclass
class _PartStats:
    """Rows, label counts and rows whose label is known one shard wrote, per table."""

    rows: Counter = field(default_factory=Counter)
    labels: dict[str, dict[str, Counter]] = field(default_factory=dict)
    known: dict[str, Counter] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


class _Emitter:
    """Receives a scenario's batches and streams them into one part file per table."""

    def __init__(self, scenario: Scenario, folder: Path, part: int, fmt: str,
                 schemas: dict[str, pa.Schema]) -> None:  # fmt: skip
        self.scenario, self.folder, self.part, self.fmt = scenario, folder, part, fmt
        self.schemas = schemas
        self.writers: dict[str, TablePartWriter] = {}
        self.stats = _PartStats()

    def __call__(self, table: str, batch: pa.RecordBatch | pa.Table) -> None:
        if table not in self.writers:
            path = part_file(self.folder, table, self.part, self.fmt)
            if path.exists():  # run-wide tables and shard 0 both write part 0
                raise RuntimeError(f"Table {table!r} is emitted both run-wide and by shards.")
            self.writers[table] = TablePartWriter(path, self.schemas[table], self.fmt)
        self.writers[table].write(batch)
        self.stats.rows[table] += batch.num_rows
        roles = self.scenario.roles.get(table)
        for column in roles.labels if roles else ():
            counts = self.stats.labels.setdefault(table, {}).setdefault(column, Counter())
            values = batch.column(column)
            known = self.stats.known.setdefault(table, Counter())
            if pa.types.is_boolean(values.type):  # null: unknown (a category's null: none)
                known[column] += len(values) - values.null_count
                counts["true"] += int(pc.sum(values).as_py() or 0)
            else:
                known[column] += len(values)
                for item in pc.value_counts(values).to_pylist():
                    if item["values"] is not None:
                        counts[item["values"]] += item["counts"]

    def close(self) -> _PartStats:
        for writer in self.writers.values():
            writer.close()
        return self.stats


def _run_part(scenario, config, part, folder, fmt, engine, advance) -> _PartStats:
    emitter = _Emitter(scenario, folder, part, fmt, scenario.table_schemas(config))
    try:
        emitter.stats.summary = scenario.run_shard(config, part, emitter, advance, engine)
    finally:
        stats = emitter.close()
    return stats


def _worker(name, config, part, folder, fmt, engine, updates) -> _PartStats:
    """Entry point of a worker process: run one shard, report progress through a queue."""
    return _run_part(get_scenario(name), config, part, folder, fmt, engine, updates.put)


@dataclass(frozen=True)
class RunResult:
    """Where the dataset went, its manifest, and the run's wall time in seconds."""

    path: Path
    manifest: dict[str, Any]
    seconds: float


def run(
    scenario: Scenario,
    config: dict[str, Any],
    out: str | Path,
    *,
    fmt: str = "parquet",
    workers: int = 1,
    overwrite: bool = False,
    engine: str | None = None,
    progress: bool = True,
) -> RunResult:
    """Simulate ``scenario`` with a validated ``config`` and write the dataset to ``out``.

    Parameters
    ----------
    workers : int
        Local processes running shards; 1 runs them in this process. The output does
        not depend on it.
    engine : str, optional
        One of ``scenario.engines`` (``"kernel"``, or ``"reference"`` for the readable model);
        by default the scenario's first.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"The 'workers' parameter must be an int in the range [1, inf). "
                         f"Got {workers!r} instead.")  # fmt: skip
    engine = engine or scenario.engines[0]
    scenario.check_engine(engine)
    started = time.perf_counter()
    n_shards = scenario.n_shards(config)
    total = sum(scenario.shard_work(config, s) for s in range(n_shards))
    with DatasetWriter(out, fmt=fmt, overwrite=overwrite) as writer:
        folder = writer.tmp_dir
        run_wide = _Emitter(scenario, folder, 0, fmt, scenario.table_schemas(config))
        run_wide.stats.summary = scenario.run_global(config, run_wide)
        parts = [run_wide.close()]
        with progress_bar(f"{scenario.name}", total, scenario.work_unit, progress) as advance:
            if workers == 1 or n_shards == 1:
                for shard in range(n_shards):
                    parts.append(_run_part(scenario, config, shard, folder, fmt, engine, advance))
            else:
                parts += _run_pool(scenario, config, n_shards, folder, fmt, engine, workers,
                                   advance)  # fmt: skip
        metrics = scenario.run_metrics(
            config, lambda table, columns=None: read_parts(folder, table, columns))
        targets = scenario.run_targets(config, metrics)
        manifest = build_manifest(scenario, config, fmt, engine, parts, metrics, targets)
        path = writer.commit(manifest)
    return RunResult(path, manifest, time.perf_counter() - started)


def _run_pool(scenario, config, n_shards, folder, fmt, engine, workers, advance):
    """Run the shards in ``workers`` spawned processes; results come back in shard order."""
    context = multiprocessing.get_context("spawn")
    results: dict[int, _PartStats] = {}
    with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context) as pool:
        updates = manager.Queue()
        futures = {
            pool.submit(_worker, scenario.name, config, s, folder, fmt, engine, updates): s
            for s in range(n_shards)
        }
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(updates, advance)
                for future in done:
                    results[futures[future]] = future.result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        _drain(updates, advance)
    return [results[s] for s in range(n_shards)]


def _drain(updates, advance) -> None:
    while True:
        try:
            advance(updates.get_nowait())
        except queue.Empty:
            return
