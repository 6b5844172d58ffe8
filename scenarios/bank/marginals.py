"""The census marginals bank customers are synthesised from, and their category labels.

``population.marginals`` names a shipped set (``us_2022``: U.S. Census Bureau tables, see
``calibration/data/SOURCES.md``) or a folder of the user's own tidy CSV marginals. Together
the tables must cover the variables ``age_band`` ("18-24", "75+"), ``sex`` ("F", "M"),
``region`` (the four U.S. Census regions) and ``household_income`` ("<5000",
"5000-9999", ..., ">=200000", annual dollars).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from calibration.tables import DATA, read_marginal
from scenarios.bank import behaviour as B
from simulations.errors import ConfigError

__all__ = ["MARGINAL_SETS", "VARIABLES", "NET_SHARE", "INCOME_FLOOR",
           "INCOME_TOP_CODE", "load_marginals", "attributes",
           "income_median"]  # fmt: skip

MARGINAL_SETS = {
    "us_2022": (
        "us_v2022_adult_age_sex.csv",  # Vintage 2022 estimates, adults by age band and sex
        "us_v2022_region_adult.csv",  # Vintage 2022 estimates, adults by Census region
        "us_cps_asec2022_household_income.csv",  # CPS ASEC 2022 (HINC-01), 2021 incomes
    ),
}
VARIABLES = ("age_band", "sex", "region", "household_income")
NET_SHARE = 0.75
"""Take-home share of gross income credited as salary (a flat stand-in for taxes)."""
_OLDEST = 95  # the open "75+" band is drawn up to this age (exclusive)
_TOP_INCOME_TAIL = 2.5  # Pareto shape of incomes in the open top bracket
INCOME_FLOOR = 2_400.0
"""Lowest annual household income drawn, dollars: the open bottom bracket ("<5000") holds
zero and negative incomes in the CPS, but a current account with regular outgoings needs some
income, so that bracket is drawn from $2,400 (about $150 a month net) up to its top."""
INCOME_TOP_CODE = 1_000_000.0
"""Highest annual household income drawn, dollars: the Pareto tail above the open top
bracket is top-coded here, as public-use census files top-code incomes, so a handful of
draws cannot dominate totals (a Pareto shape of 2.5 reaches it with probability 1.1%)."""


@cache
def load_marginals(spec: str) -> tuple[pd.DataFrame, ...]:
    """The marginal tables of a shipped set name or a folder of tidy CSV files."""
    if spec in MARGINAL_SETS:
        files = [DATA / name for name in MARGINAL_SETS[spec]]
    else:
        folder = Path(spec)
        files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        if not files:
            raise ConfigError(
                f"The 'population.marginals' parameter of bank must be one of "
                f"{sorted(MARGINAL_SETS)} or a folder of CSV marginals. Got {spec!r} instead."
            )
    tables = tuple(read_marginal(f) for f in files)
    covered = {c for t in tables for c in t.columns if c != "count"}
    if missing := [v for v in VARIABLES if v not in covered]:
        raise ConfigError(f"The marginals in {spec!r} do not cover {missing}; they must "
                          f"cover {list(VARIABLES)}.")  # fmt: skip
    if unknown := sorted(covered - set(VARIABLES)):
        raise ConfigError(f"The marginals in {spec!r} have unknown variables {unknown}; "
                          f"valid: {list(VARIABLES)}.")  # fmt: skip
    return tables


def _bounds(labels: pd.Series, what: str) -> tuple[np.ndarray, np.ndarray]:
    """[low, high) of labels such as "18-24", "75+", "<5000", "5000-9999", ">=200000";
    high is inf for an open top band."""
    low, high = np.empty(len(labels)), np.empty(len(labels))
    for k, label in enumerate(labels.astype(str)):
        if m := re.fullmatch(r"(\d+)-(\d+)", label):
            low[k], high[k] = int(m[1]), int(m[2]) + 1
        elif m := re.fullmatch(r"(?:>=)?(\d+)\+?", label):
            low[k], high[k] = int(m[1]), np.inf
        elif m := re.fullmatch(r"<(\d+)", label):
            low[k], high[k] = 0, int(m[1])
        else:
            raise ConfigError(f"Cannot read the {what} band {label!r}: use '18-24', '75+', "
                              f"'<5000' or '>=200000'.")  # fmt: skip
    return low, high


def _per_agent_bounds(column: pd.Series, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Band bounds of every agent, parsing each distinct label once (codes index them)."""
    values = column.astype("category")
    low, high = _bounds(pd.Series(values.cat.categories), what)
    codes = values.cat.codes.to_numpy()
    return low[codes], high[codes]


def attributes(people: pd.DataFrame, rng: np.random.Generator):
    """Customer attributes from synthesised bands.

    Returns
    -------
    age : int16 (n,), years, uniform within the band; is_male : bool (n,);
    region : int8 (n,), index into ``behaviour.REGIONS``; income : float64 (n,), net
    monthly income in dollars, uniform within the annual bracket (Pareto above an open top),
    between :data:`INCOME_FLOOR` and :data:`INCOME_TOP_CODE` a year before tax.
    """
    low, high = _per_agent_bounds(people["age_band"], "age")
    age = rng.integers(low.astype(np.int64), np.minimum(high, _OLDEST).astype(np.int64))
    sex = people["sex"].astype("category")
    if bad := sorted(set(sex.cat.categories.astype(str)) - {"F", "M"}):
        raise ConfigError(f"Unknown sex labels {bad} in the marginals; use 'F' and 'M'.")
    regions = people["region"].astype("category")
    names = [str(r) for r in regions.cat.categories]
    if bad := sorted(set(names) - set(B.REGIONS)):
        raise ConfigError(f"Unknown regions {bad} in the marginals; valid: {list(B.REGIONS)}.")
    region = np.array([B.REGIONS.index(r) for r in names], dtype=np.int8)[
        regions.cat.codes.to_numpy()
    ]
    low, high = _per_agent_bounds(people["household_income"], "income")
    top = np.isinf(high)
    low = np.maximum(low, np.minimum(INCOME_FLOOR, high / 2))
    annual = np.where(top, low * (1 + rng.pareto(_TOP_INCOME_TAIL, len(people))),
                      low + rng.random(len(people)) * (np.where(top, low, high) - low))  # fmt: skip
    annual = np.minimum(annual, np.maximum(INCOME_TOP_CODE, low))
    is_male = (sex.astype(str) == "M").to_numpy()
    return age.astype(np.int16), is_male, region, annual / 12 * NET_SHARE


def income_median(tables: tuple[pd.DataFrame, ...]) -> float:
    """Median net monthly income implied by the household-income marginal (interpolated
    within the bracket holding the median)."""
    table = next(t for t in tables if "household_income" in t.columns)
    low, high = _bounds(table["household_income"], "income")
    order = np.argsort(low)
    low, high, counts = low[order], high[order], table["count"].to_numpy(float)[order]
    cumulative = np.cumsum(counts) / counts.sum()
    k = int(np.searchsorted(cumulative, 0.5))
    before = cumulative[k - 1] if k else 0.0
    top = high[k] if np.isfinite(high[k]) else low[k] * 2
    annual = low[k] + (0.5 - before) / (cumulative[k] - before) * (top - low[k])
    return float(annual / 12 * NET_SHARE)
