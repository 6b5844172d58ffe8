"""Global sensitivity indices of an experiment's metrics, for Sobol and Morris designs
(SALib's analyze functions on the mean of each design point over its replications)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["sensitivity_table"]


def sensitivity_table(design: Mapping[str, Any], points: Mapping[str, Mapping[str, float]],
                      means: pd.DataFrame, seed: int) -> pd.DataFrame:  # fmt: skip
    """Sensitivity of each metric to each factor.

    Parameters
    ----------
    design : mapping
        The plan's design settings (``kind`` "sobol" or "morris"; ``second_order``,
        ``levels``).
    points : mapping of str to mapping
        Each variant's factor values, in the order the design drew them.
    means : pandas.DataFrame
        Index: variants; columns: metrics; the mean over replications.
    seed : int
        Seed of the bootstrap confidence intervals.

    Returns
    -------
    pandas.DataFrame
        One row per metric x factor. Sobol: ``S1``, ``S1_conf``, ``ST``, ``ST_conf`` (first
        order and total indices, shares of the metric's variance, with 95% bootstrap
        half-widths). Morris: ``mu_star``, ``mu_star_conf``, ``sigma`` (mean absolute and
        standard deviation of the elementary effects, in the metric's unit per unit-scaled
        factor range).
    """
    kind = design["kind"]
    names = list(next(iter(points.values())))
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    x = np.array([[float(points[v][n]) for n in names] for v in points])
    rows = []
    for metric in means.columns:
        y = means.loc[list(points), metric].to_numpy(dtype=np.float64)
        if kind == "sobol":
            from SALib.analyze import sobol

            found = sobol.analyze(problem, y, calc_second_order=design.get("second_order", False),
                                  seed=seed)  # fmt: skip
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        else:
            from SALib.analyze import morris

            found = morris.analyze(problem, x, y, num_levels=design.get("levels", 4), seed=seed)
            keys = ("mu_star", "mu_star_conf", "sigma")
        for j, name in enumerate(names):
            rows.append({"metric": metric, "factor": name,
                         **{k: float(np.asarray(found[k])[j]) for k in keys}})  # fmt: skip
    return pd.DataFrame(rows)
