"""Run an experiment plan: every variant x replication, resumable, then its statistics.

Layout of the output folder::

    runs/<variant>/<replication>/run.json    one record per finished run (written atomically)
    runs/<variant>/<replication>/dataset/    the run's dataset, with keep_datasets only
    results.csv      variant, replication, seed, metric, value (tidy)
    summary.csv      per variant x metric: n, mean, std, ci_low, ci_high (95%, Student t)
    differences.csv  per variant x metric against the baseline, paired by replication
    replications.csv per variant x metric: replications for the plan's interval_width
    sensitivity.csv  per metric x factor: Sobol or Morris indices (those designs only)
    plots/<metric>.png
    failures.csv     runs that raised, when any
    experiment.json  the manifest, written last: a folder without it is unfinished

A run whose ``run.json`` holds the same config hash is not run again, so rerunning a plan
into its folder completes an interrupted experiment. Runs execute through
:func:`simulations.backends.executor`; what a run computes never depends on where it ran.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import pandas as pd

from simulations import runner
from simulations.backends import executor
from simulations.errors import OutputError
from simulations.manifest import package_versions
from simulations.plan import Plan, config_hash, load_plan
from simulations.progress import progress_bar
from simulations.scenario import get_scenario
from simulations.statistics import mean_ci, paired_difference, replications_needed

__all__ = ["EXPERIMENT_MANIFEST", "ExperimentResult", "run_experiment"]

EXPERIMENT_MANIFEST = "experiment.json"
RUN_RECORD = "run.json"
_CONFIDENCE = 0.95


@dataclass(frozen=True)
class ExperimentResult:
    """What an experiment wrote and found.

    ``records`` are the finished runs' records (run.json contents), ``failures`` the runs that
    raised (variant, replication, seed, error); ``executed`` and ``skipped`` count the runs
    done now and those found finished; ``summary``, ``differences`` and ``replications`` are
    the tables of the CSV files of the same names.
    """

    path: Path
    plan: Plan
    records: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    executed: int
    skipped: int
    results: pd.DataFrame
    summary: pd.DataFrame
    differences: pd.DataFrame
    replications: pd.DataFrame
    files: list[str] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Task:
    """One run as a worker receives it (plain data: picklable for any backend)."""

    scenario: str
    config: dict[str, Any]
    config_hash: str
    folder: str
    variant: str
    replication: int
    seed: int
    metrics: tuple[str, ...]
    keep_dataset: bool


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """``write(temporary path)`` beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _write_text(path: Path, text: str) -> None:
    _write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def _write_json(path: Path, data: Any) -> None:
    _write_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def _execute(task: _Task) -> dict[str, Any]:
    """Run one task and commit its ``run.json``; returns its record, or a failure record
    (``error`` set) when the run raised. Module-level, so any executor can pickle it."""
    folder = Path(task.folder)
    started = time.perf_counter()
    base = {"variant": task.variant, "replication": task.replication, "seed": task.seed,
            "config_hash": task.config_hash}  # fmt: skip
    scratch = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if task.keep_dataset:
            out = folder / "dataset"
        else:
            scratch = Path(tempfile.mkdtemp(prefix=".dataset-", dir=folder))
            out = scratch / "dataset"
        result = runner.run(get_scenario(task.scenario), task.config, out, overwrite=True,
                            progress=False)  # fmt: skip
        metrics = result.manifest["metrics"]
        record = {**base, "metrics": {m: _number(metrics.get(m)) for m in task.metrics},
                  "seconds": time.perf_counter() - started,
                  "dataset": "dataset" if task.keep_dataset else None}  # fmt: skip
        _write_json(folder / RUN_RECORD, record)
        return record
    except Exception as exc:  # a failed run is recorded, the others go on
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        return {**base, "error": message, "traceback": traceback.format_exc()}
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _number(value: Any) -> float | None:
    """A metric as JSON has it: a float, or None (NaN, missing)."""
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


def _finished(folder: Path, digest: str, keep_dataset: bool) -> dict[str, Any] | None:
    """The run's record if it finished with config hash ``digest`` (and kept its dataset
    when asked to), else None."""
    try:
        record = json.loads((folder / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("config_hash") != digest:
        return None
    if keep_dataset and not (folder / "dataset" / "manifest.json").is_file():
        return None
    return record


def _check_folder(out: Path, plan: Plan, overwrite: bool) -> None:
    """Refuse a folder that is not an experiment, or holds one of another plan."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputError(f"{out} exists and is not a folder; choose another output path")
    if not out.exists():
        return
    manifest = out / EXPERIMENT_MANIFEST
    if manifest.is_file():
        try:
            previous = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = {}
        if previous.get("plan_fingerprint") != plan.fingerprint() and not overwrite:
            raise OutputError(f"{out} holds a finished experiment of a different plan; pass "
                              "--overwrite to replace it (runs with an unchanged config are "
                              "reused)")  # fmt: skip
        return
    if (out / "runs").is_dir():
        return  # an unfinished experiment: resume it
    if any(out.iterdir()):
        raise OutputError(f"{out} exists, is not empty and is not a synthsim experiment; "
                          "choose another output path or empty it yourself")  # fmt: skip


def _prune(out: Path, plan: Plan) -> None:
    """Remove run folders the plan does not have (after --overwrite with another plan)."""
    runs = out / "runs"
    if not runs.is_dir():
        return
    for variant in runs.iterdir():
        if variant.name not in plan.variants:
            shutil.rmtree(variant, ignore_errors=True)
            continue
        for replication in variant.iterdir():
            if not (replication.name.isdigit() and int(replication.name) < plan.replications):
                shutil.rmtree(replication, ignore_errors=True)


def run_experiment(plan: Plan | str | PathLike[str] | Mapping[str, Any], out: str | PathLike[str],
                   *, workers: int = 1, scheduler: str | None = None, progress: bool = True,
                   overwrite: bool = False) -> ExperimentResult:  # fmt: skip
    """Run every replication of every variant of ``plan`` into ``out`` and summarise them.

    Parameters
    ----------
    plan : Plan, path or dict
        A plan from :func:`~simulations.plan.load_plan`, or what it reads.
    out : path
        The experiment folder (see the module docstring). Finished runs there with the same
        config are reused; a folder holding a finished experiment of another plan is refused
        unless ``overwrite``.
    workers, scheduler
        Where runs execute (:func:`simulations.backends.executor`); ``workers=1`` with no
        scheduler runs them one after another in this process. Results do not depend on it.

    Raises
    ------
    ConfigError
        If the plan is invalid (before anything is written).
    OutputError
        If ``out`` may not be used.
    """
    if not isinstance(plan, Plan):
        plan = load_plan(plan)
    out = Path(out)
    scenario = get_scenario(plan.scenario)
    tasks, records = [], {}
    for spec in plan.runs():  # resolve (and hash) every config before writing anything
        config = plan.config(spec, scenario)
        digest = config_hash(plan.scenario, config)
        folder = out.absolute() / "runs" / spec.variant / str(spec.replication)
        tasks.append((spec, _Task(plan.scenario, config, digest, str(folder), spec.variant,
                                  spec.replication, spec.seed, plan.metrics,
                                  plan.keep_datasets)))  # fmt: skip
    _check_folder(out, plan, overwrite)
    if overwrite:
        _prune(out, plan)
    earlier = _listed(out)
    todo = []
    for spec, task in tasks:
        record = _finished(Path(task.folder), task.config_hash, task.keep_dataset)
        if record is None:
            todo.append(task)
        else:
            records[spec.variant, spec.replication] = record
    out.mkdir(parents=True, exist_ok=True)
    if todo:  # the folder is unfinished until experiment.json is written again
        (out / EXPERIMENT_MANIFEST).unlink(missing_ok=True)
    failures = []
    with progress_bar("experiment", len(todo), "runs", progress) as advance:
        for record in _map(todo, workers, scheduler, advance):
            if "error" in record:
                failures.append(record)
            else:
                records[record["variant"], record["replication"]] = record
    ordered = [records[s.variant, s.replication] for s, _ in tasks
               if (s.variant, s.replication) in records]  # fmt: skip
    return _finish(out, plan, ordered, failures, len(todo), len(tasks) - len(todo), earlier)


def _map(tasks: list[_Task], workers: int, scheduler: str | None, advance):
    """Records of ``tasks`` as they finish (in-process for one local worker)."""
    if workers == 1 and scheduler is None:
        for task in tasks:
            yield _execute(task)
            advance(1)
        return
    if not tasks:
        return
    from concurrent.futures import as_completed

    with executor(workers, scheduler) as pool:
        futures = [pool.submit(_execute, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
            advance(1)


def _tables(plan: Plan, records: list[dict[str, Any]]):
    """results, summary, differences and replications tables of the finished runs."""
    rows = [(r["variant"], r["replication"], r["seed"], metric, r["metrics"].get(metric))
            for r in records for metric in plan.metrics]  # fmt: skip
    results = pd.DataFrame(rows, columns=["variant", "replication", "seed", "metric", "value"])
    results["value"] = results["value"].astype("float64")
    values = {key: group.set_index("replication")["value"]
              for key, group in results.groupby(["variant", "metric"], sort=False)}  # fmt: skip
    empty = pd.Series(dtype="float64")
    summary, differences, needed = [], [], []
    for variant in plan.variants:
        for metric in plan.metrics:
            series = values.get((variant, metric), empty)
            interval = mean_ci(series.to_numpy(), _CONFIDENCE)
            summary.append((variant, metric, interval.n, interval.mean, interval.std,
                            interval.low, interval.high))  # fmt: skip
            if metric in plan.interval_width:
                width = plan.interval_width[metric]
                n = replications_needed(interval.std, interval.n, width, _CONFIDENCE)
                needed.append((variant, metric, width, interval.n, interval.std, n))
            if variant == plan.baseline:
                continue
            a, b = series.align(values.get((plan.baseline, metric), empty), join="inner")
            paired = paired_difference(a.to_numpy(), b.to_numpy(), _CONFIDENCE)
            differences.append((variant, plan.baseline, metric, paired.n, paired.mean,
                                paired.low, paired.high, paired.variance_ratio))  # fmt: skip
    summary = pd.DataFrame(summary, columns=["variant", "metric", "n", "mean", "std", "ci_low",
                                             "ci_high"])  # fmt: skip
    differences = pd.DataFrame(
        differences,
        columns=[
            "variant",
            "baseline",
            "metric",
            "n",
            "mean",
            "ci_low",
            "ci_high",
            "variance_ratio",
        ],
    )
    needed = pd.DataFrame(needed, columns=["variant", "metric", "interval_width", "n", "std",
                                           "replications_needed"]).astype(
        {"replications_needed": "Int64"})  # fmt: skip
    return results, summary, differences, needed


def _finish(out: Path, plan: Plan, records, failures, executed, skipped,
            earlier: set[str]) -> ExperimentResult:  # fmt: skip
    results, summary, differences, needed = _tables(plan, records)
    files: list[str] = []

    def csv(name: str, frame: pd.DataFrame) -> None:
        _write_atomic(out / name, lambda p: frame.to_csv(p, index=False))
        files.append(name)

    csv("results.csv", results)
    csv("summary.csv", summary)
    csv("differences.csv", differences)
    if plan.interval_width:
        csv("replications.csv", needed)
    if plan.design.get("kind") in ("sobol", "morris") and len(records) == len(plan.runs()):
        from simulations.sensitivity import sensitivity_table

        means = summary.pivot(index="variant", columns="metric", values="mean")
        csv("sensitivity.csv", sensitivity_table(plan.design, plan.factors, means, plan.seed))
    from simulations.experiment_plots import metric_figure  # matplotlib: only when plotting

    for metric in plan.metrics:
        name = f"plots/{_file_name(metric)}.png"
        figure = metric_figure(results, summary, metric, list(plan.variants))
        _write_atomic(out / name, lambda p, f=figure: f.savefig(p, dpi=110, format="png"))
        files.append(name)
    failed = [{k: f[k] for k in ("variant", "replication", "seed", "error")} for f in failures]
    if failed:
        csv("failures.csv", pd.DataFrame(failed))
    else:
        (out / "failures.csv").unlink(missing_ok=True)  # from an earlier attempt
    manifest = {
        "plan": plan.to_dict(), "plan_fingerprint": plan.fingerprint(), "source": plan.source,
        "scenario": plan.scenario, "versions": package_versions(),
        "counts": {"variants": len(plan.variants), "replications": plan.replications,
                   "runs": len(plan.variants) * plan.replications, "finished": len(records),
                   "executed": executed, "skipped": skipped, "failed": len(failed)},
        "failed_runs": failed, "files": sorted(files),
    }  # fmt: skip  # no times or worker counts: the same plan gives the same bytes
    for name in earlier - set(files):  # an earlier plan's plots and tables
        if not name.startswith(("/", "..")):
            (out / name).unlink(missing_ok=True)
    _write_json(out / EXPERIMENT_MANIFEST, manifest)
    return ExperimentResult(out, plan, records, failed, executed, skipped, results, summary,
                            differences, needed, sorted(files), manifest)  # fmt: skip


def _listed(out: Path) -> set[str]:
    """The files an earlier experiment.json in ``out`` lists (none if there is none)."""
    try:
        return set(json.loads((out / EXPERIMENT_MANIFEST).read_text(encoding="utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _file_name(metric: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in metric)
