"""Plots of an experiment: per metric, each variant's mean with its 95% interval and the
replications' values as dots (matplotlib's object API with the Agg canvas: no display)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["metric_figure"]


def metric_figure(results: pd.DataFrame, summary: pd.DataFrame, metric: str,
                  variants: list[str]) -> Figure:  # fmt: skip
    """The figure of ``metric``: ``results`` is the tidy table (variant, replication, seed,
    metric, value), ``summary`` the per-variant table (variant, metric, mean, ci_low,
    ci_high); ``variants`` are drawn left to right in that order."""
    figure = Figure(figsize=(max(4.0, 1.0 + 0.8 * len(variants)), 4.0), layout="constrained")
    axes = figure.add_subplot()
    rows = results[results["metric"] == metric]
    stats = summary[summary["metric"] == metric].set_index("variant")
    for x, variant in enumerate(variants):
        values = rows.loc[rows["variant"] == variant, "value"].to_numpy(np.float64)
        jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(1)
        axes.scatter(x + jitter[: len(values)], values, s=12, alpha=0.5, color="tab:blue")
        if variant in stats.index:
            row = stats.loc[variant]
            low, high = row["ci_low"], row["ci_high"]
            error = None if np.isnan(low) else [[row["mean"] - low], [high - row["mean"]]]
            axes.errorbar(x, row["mean"], yerr=error, fmt="o", color="black", capsize=5)
    axes.set_xticks(range(len(variants)), variants, rotation=30 if len(variants) > 3 else 0,
                    ha="right" if len(variants) > 3 else "center")  # fmt: skip
    axes.set_ylabel(metric)
    axes.set_title(metric, fontsize=10)
    axes.set_xlabel("dots: replications; black: mean with 95% interval", fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    return figure
