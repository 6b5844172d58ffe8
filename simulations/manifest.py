"""The manifest written beside every dataset: what was run, with what, and what came out."""

from __future__ import annotations

import platform
from collections import Counter
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["MANIFEST_VERSION", "build_manifest", "package_versions"]

MANIFEST_VERSION = 4  # 2: table roles; 3: label_unknown, known-label prevalence, metrics;
# 4: targets
_PACKAGES = ("synthsim", "numpy", "numba", "pyarrow", "pandas", "mesa", "simpy", "faker")


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape the output."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def summed_summary(parts) -> Counter:
    """The summary figures of every part (run-wide first, then shards in order), summed."""
    summary: Counter = Counter()
    for part in parts:
        summary.update(part.summary)
    return summary


def build_manifest(scenario, config: dict[str, Any], fmt: str, engine: str, parts,
                   metrics: dict[str, float] | None = None,
                   targets: dict[str, dict] | None = None) -> dict:  # fmt: skip
    """Assemble the manifest from the per-part statistics the runner collected.

    Wall-clock times and worker counts are deliberately left out: the same config and
    seed must give byte-identical datasets, manifest included.
    """
    rows: Counter = Counter()
    labels: dict[str, dict[str, Counter]] = {}
    known: dict[str, Counter] = {}
    for part in parts:
        rows.update(part.rows)
        for table, columns in part.known.items():
            known.setdefault(table, Counter()).update(columns)
        for table, columns in part.labels.items():
            for column, counts in columns.items():
                labels.setdefault(table, {}).setdefault(column, Counter()).update(counts)
    tables = {}
    for name, schema in scenario.table_schemas(config).items():
        tables[name] = {
            "description": scenario.table_docs.get(name, ""),
            "rows": rows[name],
            "schema": [{"name": f.name, "type": str(f.type), "nullable": f.nullable}
                       for f in schema],
        }  # fmt: skip
    # a null boolean label is unknown (e.g. censored at the end of the run): it counts in
    # neither the numerator nor the denominator of a prevalence
    prevalence = {
        table: {
            column: {
                value: {"rows": count,
                        "prevalence": count / known[table][column] if known[table][column]
                        else 0.0}
                for value, count in sorted(counts.items())
            }
            for column, counts in columns.items()
        }
        for table, columns in labels.items()
    }  # fmt: skip
    unknown = {
        table: {column: rows[table] - n for column, n in sorted(columns.items())
                if rows[table] > n}
        for table, columns in known.items()
    }  # fmt: skip
    return {
        "manifest_version": MANIFEST_VERSION,
        "scenario": scenario.name,
        "description": scenario.description,
        "engine": engine,
        "seed": config["run"]["seed"],
        "format": fmt,
        "config": config,
        "versions": package_versions(),
        "tables": tables,
        "roles": {name: roles.to_dict() for name, roles in scenario.roles.items()},
        "label_prevalence": prevalence,
        "label_unknown": {table: columns for table, columns in unknown.items() if columns},
        "summary": dict(sorted(summed_summary(parts).items())),
        "metrics": dict(metrics or {}),
        "targets": dict(targets or {}),
    }
