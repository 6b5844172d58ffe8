"""Run a scenario shard by shard and write its dataset.

Shards are independent: each builds its own agents from its own random streams and writes
its own part files (``<table>/part-<shard>``), so running them in one process, in many local
processes or on a Dask cluster (:mod:`simulations.backends`) gives byte-identical datasets.
Workers write into the run's temporary folder beside the output, so a Dask cluster's workers
must share that file system at the same path. The dataset appears atomically with its manifest.
The output may also be an fsspec URL (``s3://bucket/prefix``): workers then write the parts
straight under it, and the manifest, written last, is the commit.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, wait
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from simulations.backends import check_scheduler, executor
from simulations.datasets import read_parts
from simulations.errors import ConfigError
from simulations.eventlog import DatasetWriter, TablePartWriter, part_file
from simulations.locations import exists, in_memory
from simulations.manifest import build_manifest, summed_summary
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

    def __init__(self, scenario: Scenario, folder: Path | str, part: int, fmt: str,
                 schemas: dict[str, pa.Schema]) -> None:  # fmt: skip
        self.scenario, self.folder, self.part, self.fmt = scenario, folder, part, fmt
        self.schemas = schemas
        self.writers: dict[str, TablePartWriter] = {}
        self.stats = _PartStats()

    def __call__(self, table: str, batch: pa.RecordBatch | pa.Table) -> None:
        if table not in self.writers:
            path = part_file(self.folder, table, self.part, self.fmt)
            if exists(path):  # run-wide tables and shard 0 both write part 0
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


def _worker(name, config, part, folder, fmt, engine, updates=None) -> _PartStats:
    """Entry point of a worker process: run one shard, report progress through a queue
    (``None``: a Dask worker, which no local queue reaches; the caller counts finished shards).
    """
    advance = updates.put if updates is not None else _ignore
    return _run_part(get_scenario(name), config, part, folder, fmt, engine, advance)


def _ignore(units: int) -> None:
    """Progress of a shard whose caller only hears of it when the shard is done."""


@dataclass(frozen=True)
class RunResult:
    """Where the dataset went (a path, or the URL it was given), its manifest, and the run's
    wall time in seconds."""

    path: Path | str
    manifest: dict[str, Any]
    seconds: float


def run(
    scenario: Scenario,
    config: dict[str, Any],
    out: str | Path,
    *,
    fmt: str = "parquet",
    workers: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
    engine: str | None = None,
    progress: bool = True,
) -> RunResult:
    """Simulate ``scenario`` with a validated ``config`` and write the dataset to ``out``.

    Parameters
    ----------
    out : str or pathlib.Path
        Dataset folder, written atomically (a temporary folder renamed into place); or an
        fsspec URL (``s3://bucket/prefix`` with ``synthsim[s3]``, ``gs://`` with
        ``synthsim[gcs]``, ``memory://name``; ``file://`` is a path), where the parts are
        written straight under the target and ``manifest.json``, written last, is the commit.
    workers : int
        Local processes running shards; 1 runs them in this process. With
        ``scheduler="local"``, the number of Dask worker processes. The output does not
        depend on it.
    scheduler : str, optional
        None (default): local processes as ``workers`` says. ``"local"``: start a Dask
        ``LocalCluster`` of ``workers`` processes for this run. Any other value: the address
        of a running Dask scheduler (``"tcp://host:8786"``). Dask workers write their part
        files straight into the run's temporary folder beside ``out``, so on a real cluster
        that folder must be on a file system every worker sees at the same path, and the
        workers need this package installed. The output does not depend on it.
    engine : str, optional
        One of ``scenario.engines`` (``"kernel"``, or ``"reference"`` for the readable model);
        by default the scenario's first.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"The 'workers' parameter must be an int in the range [1, inf). "
                         f"Got {workers!r} instead.")  # fmt: skip
    check_scheduler(scheduler)
    if in_memory(out) and workers > 1:
        raise ConfigError("The 'workers' parameter must be 1 when writing to a memory:// URL "
                          f"(other processes cannot see it). Got {workers} instead.")  # fmt: skip
    if in_memory(out) and scheduler is not None:
        raise ConfigError("The 'scheduler' parameter must be None when writing to a "
                          "memory:// URL (other processes cannot see it). "
                          f"Got {scheduler!r} instead.")  # fmt: skip
    engine = engine or scenario.engines[0]
    scenario.check_engine(engine)
    started = time.perf_counter()
    n_shards = scenario.n_shards(config)
    total = sum(scenario.shard_work(config, s) for s in range(n_shards))
    in_process = scheduler is None and (workers == 1 or n_shards == 1)
    # The target is checked (and the temporary folder made) before a cluster is started or
    # reached, and the cluster before any simulation: a failure costs little and leaves nothing.
    backend = nullcontext() if in_process else executor(workers, scheduler)
    with DatasetWriter(out, fmt=fmt, overwrite=overwrite) as writer, backend as pool:
        folder = writer.tmp_dir
        run_wide = _Emitter(scenario, folder, 0, fmt, scenario.table_schemas(config))
        run_wide.stats.summary = scenario.run_global(config, run_wide)
        parts = [run_wide.close()]
        with progress_bar(f"{scenario.name}", total, scenario.work_unit, progress) as advance:
            if in_process:
                for shard in range(n_shards):
                    parts.append(_run_part(scenario, config, shard, folder, fmt, engine, advance))
            elif scheduler is None:
                parts += _run_local(pool, scenario, config, n_shards, folder, fmt, engine,
                                    advance)  # fmt: skip
            else:
                parts += _run_dask(pool, scenario, config, n_shards, folder, fmt, engine,
                                   advance)  # fmt: skip
        metrics = scenario.run_metrics(
            config, lambda table, columns=None: read_parts(folder, table, columns),
            summed_summary(parts))  # fmt: skip
        targets = scenario.run_targets(config, metrics)
        manifest = build_manifest(scenario, config, fmt, engine, parts, metrics, targets)
        path = writer.commit(manifest)
    return RunResult(path, manifest, time.perf_counter() - started)


def _run_local(pool, scenario, config, n_shards, folder, fmt, engine, advance):
    """Run the shards on a local process pool; each shard reports its progress day by day
    through a queue. Results come back in shard order."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        updates = manager.Queue()
        return _collect(pool, scenario, config, n_shards, folder, fmt, engine, updates,
                        lambda shard: _drain(updates, advance))  # fmt: skip


def _run_dask(pool, scenario, config, n_shards, folder, fmt, engine, advance):
    """Run the shards on a Dask cluster's executor; a local queue cannot reach its workers,
    so the bar advances by a shard's whole work when it is done. Results in shard order."""

    def done(shard: int | None) -> None:
        if shard is not None:
            advance(scenario.shard_work(config, shard))

    return _collect(pool, scenario, config, n_shards, folder, fmt, engine, None, done)


def _collect(pool, scenario, config, n_shards, folder, fmt, engine, updates, tick):
    """Submit one task per shard to ``pool`` and return their stats in shard order.

    ``tick(shard)`` is called for each finished shard, and ``tick(None)`` every 0.2 s while
    waiting and once at the end. A failed shard cancels those not yet started and re-raises.
    """
    futures = {
        pool.submit(_worker, scenario.name, config, s, folder, fmt, engine, updates): s
        for s in range(n_shards)
    }
    results: dict[int, _PartStats] = {}
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            tick(None)
            for future in sorted(done, key=futures.__getitem__):
                results[futures[future]] = future.result()
                tick(futures[future])
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    tick(None)
    return [results[s] for s in range(n_shards)]


def _drain(updates, advance) -> None:
    while True:
        try:
            advance(updates.get_nowait())
        except queue.Empty:
            return
