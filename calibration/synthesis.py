"""Population synthesis: marginal tables (and optionally a sample) in, whole agents out.

Marginals are tidy tables (variable columns plus a ``count`` column, see ``SOURCES.md`` in
``calibration/data``). Each is used as a distribution and rescaled to the requested size,
because published tables rarely share a total (adults, all residents, households). Without
a sample, a uniform seed over every combination of categories is fitted to the marginals
by IPF (the maximum-entropy joint consistent with them); with a sample (one row per
record), the records are reweighted to the marginals. Fitted cells or weights are then
integerised (truncate-replicate-sample), so the population has exactly ``size`` agents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agents.identities import draw_names
from calibration.controls import controls_from_frame
from calibration.integerise import integerise
from calibration.reweight import reweight
from calibration.tidy_ipf import ipf_frame
from simulations.errors import CalibrationError

__all__ = ["Synthesis", "synthesise", "fit_report", "marginal_variables", "attach_identities"]


@dataclass(frozen=True)
class Synthesis:
    """A synthetic population and how well it fits.

    Attributes
    ----------
    population : pandas.DataFrame
        One row per agent, one column per variable (categorical), in random order.
    report : pandas.DataFrame
        One row per marginal cell: ``marginal``, ``cell``, ``target`` (rescaled to the
        population size), ``achieved``, ``abs_error``, ``rel_error``.
    converged : bool
        Whether the fit (before integerisation) converged.
    """

    population: pd.DataFrame
    report: pd.DataFrame
    converged: bool


def marginal_variables(marginal: pd.DataFrame, count: str = "count") -> list[str]:
    """The variable columns of a tidy marginal (every column but ``count``)."""
    if count not in marginal.columns:
        raise CalibrationError(f"A marginal has no {count!r} column; columns: {list(marginal)}.")
    return [c for c in marginal.columns if c != count]


def _rescaled(marginals: Sequence[pd.DataFrame], size: int, count: str) -> list[pd.DataFrame]:
    out = []
    for k, marginal in enumerate(marginals):
        total = marginal[count].sum()
        if (marginal[count] < 0).any() or not np.isfinite(total) or total <= 0:
            raise CalibrationError(
                f"Marginal {k} ({', '.join(marginal_variables(marginal, count))}) needs "
                f"non-negative counts with a positive total."
            )
        out.append(marginal.assign(**{count: marginal[count] * (size / total)}))
    return out


def fit_report(
    population: pd.DataFrame, marginals: Sequence[pd.DataFrame], count: str = "count"
) -> pd.DataFrame:
    """Targets against achieved counts for every cell of every (already rescaled) marginal."""
    rows = []
    for marginal in marginals:
        variables = marginal_variables(marginal, count)
        name = " x ".join(variables)
        achieved = population.groupby(variables, observed=True).size()
        for _, cell in marginal.iterrows():
            key = tuple(cell[v] for v in variables)
            got = float(achieved.get(key if len(key) > 1 else key[0], 0))
            target = float(cell[count])
            rows.append({
                "marginal": name, "cell": ", ".join(map(str, key)), "target": target,
                "achieved": got, "abs_error": abs(got - target),
                "rel_error": abs(got - target) / target if target else float(got > 0),
            })  # fmt: skip
    return pd.DataFrame(rows)


def synthesise(
    marginals: Sequence[pd.DataFrame],
    size: int,
    *,
    rng: np.random.Generator | int,
    sample: pd.DataFrame | None = None,
    count: str = "count",
    tol: float = 1e-6,
    max_iter: int = 1000,
) -> Synthesis:
    """Synthesise ``size`` agents whose variables follow ``marginals``.

    Parameters
    ----------
    marginals : sequence of pandas.DataFrame
        Tidy tables: variable columns and a ``count`` column. Each is rescaled to ``size``.
    size : int
        Number of agents (>= 1).
    rng : numpy.random.Generator or int
        The only source of randomness (integerisation and the final shuffle).
    sample : pandas.DataFrame, optional
        Seed microdata, one row per record, holding every marginal variable; records are
        reweighted to the marginals and replicated. Without it, IPF on a uniform seed.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise CalibrationError(
            f"The 'size' parameter of synthesise must be an int in the range [1, inf). "
            f"Got {size!r} instead."
        )
    if not marginals:
        raise CalibrationError("synthesise needs at least one marginal table.")
    rng = np.random.default_rng(rng)
    targets = _rescaled(marginals, int(size), count)
    variables = list(dict.fromkeys(v for m in targets for v in marginal_variables(m, count)))
    if sample is None:
        categories = [sorted(pd.unique(pd.concat([m[v] for m in targets if v in m]))) for v in
                      variables]  # fmt: skip
        grid = pd.MultiIndex.from_product(categories, names=variables).to_frame(index=False)
        fitted, result = ipf_frame(grid.assign(**{count: 1.0}), targets, count=count, tol=tol,
                                   max_iter=max_iter)  # fmt: skip
        cells = integerise(fitted[count].to_numpy(), total=int(size), rng=rng)
        population = fitted.loc[np.repeat(np.arange(len(fitted)), cells), variables]
        converged = result.converged
    else:
        missing = [v for v in variables if v not in sample.columns]
        if missing:
            raise CalibrationError(f"The sample lacks the marginal variables {missing}.")
        margins = {}
        for m in targets:
            (variable,) = marginal_variables(m, count) if len(m.columns) == 2 else (None,)
            if variable is None:
                raise CalibrationError(
                    "With a sample, marginals must be one-variable tables; got "
                    f"{marginal_variables(m, count)}."
                )
            margins[variable] = m.set_index(variable)[count]
        result = reweight(controls_from_frame(sample, margins), tol=tol, max_iter=max_iter)
        copies = integerise(result.weights, total=int(size), rng=rng)
        population = sample.loc[sample.index.repeat(copies), variables]
        converged = result.converged
    population = population.iloc[rng.permutation(len(population))].reset_index(drop=True)
    for v in variables:
        population[v] = pd.Categorical(population[v])
    return Synthesis(population, fit_report(population, targets, count), bool(converged))


def attach_identities(
    population: pd.DataFrame,
    rng: np.random.Generator | int,
    *,
    sex: str = "sex",
    male: str = "M",
    locale: str = "en_US",
) -> pd.DataFrame:
    """Add ``first_name`` and ``last_name`` columns drawn from Faker's lists for ``locale``.

    First names follow each agent's ``sex`` column (``male`` marks men); without that
    column, names are drawn from both lists at random. Seeded by ``rng`` alone.
    """
    rng = np.random.default_rng(rng)
    if sex in population.columns:
        is_male = (population[sex].astype(str) == male).to_numpy()
    else:
        is_male = rng.random(len(population)) < 0.5
    first, last = draw_names(is_male, rng, locale)
    return population.assign(
        first_name=first.to_pandas().astype(str).to_numpy(),
        last_name=last.to_pandas().astype(str).to_numpy(),
    )
