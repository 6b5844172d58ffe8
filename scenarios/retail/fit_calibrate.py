"""Calibrating the promotion response and habit by simulation (indirect inference).

Three figures of the data depend on the whole model, not on one parameter: each
department's discount elasticity (:func:`scenarios.retail.elasticity.discount_elasticity`,
measured on product-weeks), its share of rows bought at a discount, and its share of
purchases that repeat the household's last product in the category. Habit, category
budgets and small weekly counts all damp what the choice coefficient alone would give, so
the fit simulates the data's year, measures the three figures the same way, and adjusts
each department's discount coefficient, promotion odds and habit until they match.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from scenarios.retail.elasticity import discount_elasticity
from scenarios.retail.fit_baskets import ON_DEPTH, category_keys
from scenarios.retail.parameters import RetailParameters

__all__ = ["calibrate_promotions", "discounted_share", "repeat_share"]


def discounted_share(transactions: pd.DataFrame, products: pd.DataFrame) -> pd.Series:
    """Share of each department's rows with a loyalty discount (above ``ON_DEPTH``)."""
    regular = transactions["sales_value"] + transactions["retail_disc"]
    discounted = transactions["retail_disc"] > ON_DEPTH * regular.where(regular > 0, np.inf)
    department = transactions["product_id"].map(
        products.drop_duplicates("product_id").set_index("product_id")["department"])
    return discounted.groupby(department.to_numpy()).mean()


def repeat_share(transactions: pd.DataFrame, products: pd.DataFrame) -> pd.Series:
    """Per department, the share of a household's purchases in a category that repeat the
    product it bought last in that category (rows in time order; ties keep row order)."""
    catalogue = products.drop_duplicates("product_id").set_index("product_id")
    rows = pd.DataFrame({
        "household": transactions["household_id"].to_numpy(),
        "time": transactions["transaction_timestamp"].to_numpy(),
        "product": transactions["product_id"].to_numpy(),
        "category": category_keys(catalogue.reset_index()).set_axis(catalogue.index).reindex(
            transactions["product_id"]).to_numpy(),
        "department": catalogue["department"].reindex(transactions["product_id"]).to_numpy(),
    }).sort_values(["household", "category", "time"], kind="stable")
    same = rows["household"].eq(rows["household"].shift()) & rows["category"].eq(
        rows["category"].shift())
    repeated = rows["product"].eq(rows["product"].shift())[same]
    return repeated.groupby(rows["department"][same].to_numpy()).mean()


def calibrate_promotions(params: RetailParameters, transactions: pd.DataFrame,
                         products: pd.DataFrame, *, households: int, weeks: int,
                         rounds: int = 6, seeds: tuple[int, ...] = (0, 1)
                         ) -> tuple[RetailParameters, pd.DataFrame]:  # fmt: skip
    """Scale ``beta_depth`` and the promotion start odds, and shift the habit, of each
    department until simulated years of ``households`` households (one per seed of
    ``seeds``, averaged) match the data's discount elasticity (within a third of its 95%
    interval's half-width of its middle), discounted share of rows (within 1 point) and
    share of purchases repeating the household's last product in the category (within half
    a point).

    Returns
    -------
    (RetailParameters, pandas.DataFrame)
        The calibrated parameters, and per department: the data's elasticity with its
        interval, the simulated one, the data's and the simulated discounted share, for the
        last round simulated (whose parameters are those returned).
    """
    target = discount_elasticity(transactions, products).set_index("department")
    target_share = discounted_share(transactions, products)
    target_repeat = repeat_share(transactions, products)
    departments = params.departments.set_index("department")
    for round_ in range(rounds):
        years = _simulate(replace(params, departments=departments.reset_index()),
                          households, weeks, seeds)  # fmt: skip
        achieved = pd.concat([discount_elasticity(year, products).set_index("department")
                              ["elasticity"] for year in years], axis=1).mean(axis=1)
        share = pd.concat([discounted_share(year, products) for year in years],
                          axis=1).mean(axis=1)  # fmt: skip
        repeats = pd.concat([repeat_share(year, products) for year in years], axis=1).mean(axis=1)
        table = pd.DataFrame({
            "elasticity": target["elasticity"], "ci_low": target["ci_low"],
            "ci_high": target["ci_high"], "simulated_elasticity": achieved,
            "discounted_share": target_share, "simulated_discounted_share": share,
            "repeat_share": target_repeat, "simulated_repeat_share": repeats,
        }).reindex(departments.index).dropna(subset=["elasticity", "simulated_elasticity"])
        # Aim at the middle of the interval, so another seed's year stays inside it.
        half = (table["ci_high"] - table["ci_low"]) / 2
        centred = (table["simulated_elasticity"] - table["elasticity"]).abs() <= half / 3
        close = (table["simulated_discounted_share"] - table["discounted_share"]).abs() < 0.01
        habitual = (table["simulated_repeat_share"] - table["repeat_share"]).abs() < 0.005
        if (centred & close & habitual).all() or round_ == rounds - 1:
            break
        # Habit moves the repeat share about as a logit shift.
        shift = (_logit(table["repeat_share"]) - _logit(table["simulated_repeat_share"]))
        departments.loc[shift.index, "habit"] += shift.fillna(0.0).where(~habitual, 0.0)
        # The measured elasticity grows about in proportion to the coefficient.
        scale = (table["elasticity"] / table["simulated_elasticity"]).where(
            (table["elasticity"] > 0) & (table["simulated_elasticity"] > 0.02)).clip(0.25, 4)
        departments.loc[scale.index, "beta_depth"] *= scale.fillna(1.0).where(~centred, 1.0)
        odds = _odds(table["discounted_share"]) / _odds(table["simulated_discounted_share"])
        p = departments.loc[odds.index, "p_on_after_off"]
        departments.loc[odds.index, "p_on_after_off"] = _probability(
            _odds(p) * odds.clip(0.25, 4).fillna(1.0).where(~close, 1.0))
    return replace(params, departments=departments.reset_index()), table.reset_index(
        names="department")


def _logit(p: pd.Series) -> pd.Series:
    return np.log(_odds(p))


def _odds(p: pd.Series) -> pd.Series:
    return p.clip(1e-6, 1 - 1e-6) / (1 - p.clip(1e-6, 1 - 1e-6))


def _probability(odds: pd.Series) -> pd.Series:
    return odds / (1 + odds)


def _simulate(params: RetailParameters, households: int, weeks: int,
              seeds: tuple[int, ...]) -> list[pd.DataFrame]:  # fmt: skip
    """The transactions (product_id, week, sales_value, retail_disc) of a year simulated
    with ``params`` for each of ``seeds``, straight from the kernel (nothing written)."""
    from scenarios.retail.config import DEFAULT_CONFIG, SCHEMA
    from scenarios.retail.engine import shard_chunks
    from scenarios.retail.simulate import build_households, weekly_tables
    from simulations.config import resolve

    product_ids = params.products["product_id"].to_numpy()
    years = []
    for seed in seeds:
        config = resolve(SCHEMA, DEFAULT_CONFIG, "retail", None, [
            f"population.n_households={households}", f"run.weeks={weeks}",
            f"run.seed={seed}", f"run.shard_size={households}", f"run.chunk_weeks={weeks}",
        ])  # fmt: skip
        people = build_households(config, params, 0)
        weekly = weekly_tables(config, params)
        parts = [rows.copy() for rows, _ in shard_chunks(config, params, people, weekly,
                                                         "kernel", 0)]  # fmt: skip
        rows = np.concatenate(parts, axis=1)
        _, _, _, product, _, regular, discount, time = rows
        start = weekly.week_start_seconds[0]
        years.append(pd.DataFrame({
            "household_id": rows[0], "transaction_timestamp": time,
            "product_id": product_ids[product], "week": 1 + (time - start) // (7 * 86400),
            "sales_value": (regular - discount) / 100.0, "retail_disc": discount / 100.0,
        }))  # fmt: skip
    return years
