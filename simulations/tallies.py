"""Run metrics from additive per-shard tallies.

A scenario whose tables are too large to read back tallies sums as each shard writes them and
returns them in the shard's summary under ``tally.<name>``; the manifest adds the shards'
summaries up (:func:`simulations.manifest.summed_summary`), and the run's metrics are then
totals and ratios of totals (``Scenario.run_metrics`` gets the summed summary).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["share", "tallied", "total"]

_PREFIX = "tally."


def tallied(figures: Mapping[str, float]) -> dict[str, float]:
    """``figures`` as summary entries (``tally.<name>``), to be summed over shards."""
    return {_PREFIX + name: value for name, value in figures.items()}


def total(summary: Mapping[str, float], name: str) -> float:
    """The run's total of tally ``name`` in its summed ``summary`` (0 if no shard had any)."""
    return float(summary.get(_PREFIX + name, 0.0))


def share(part: float, whole: float) -> float:
    """``part / whole``, NaN when ``whole`` is not positive (a share of nothing)."""
    return float(part / whole) if whole > 0 else float("nan")
