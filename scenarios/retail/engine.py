"""Running a shard's households through an engine: the Numba kernel, or the Mesa reference.

Both engines take the same households and weekly tables and give rows in the kernel's layout
(:data:`scenarios.retail.kernels.ROW_FIELDS`), chunk by chunk of ``run.chunk_weeks``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np

from scenarios.retail import kernels as K
from scenarios.retail.parameters import RetailParameters
from scenarios.retail.simulate import Households, Weekly, closed_stores, open_store_weights
from simulations.seeding import stream

__all__ = ["ROW_CAPACITY", "kernel_inputs", "shard_chunks"]

ROW_CAPACITY = 2_000_000
"""Rows the kernel fills before a chunk is handed on (bounds memory: 128 MB)."""


def shard_chunks(config: dict, params: RetailParameters, households: Households, weekly: Weekly,
                 engine: str, shard: int) -> Iterator[tuple[np.ndarray, int]]:  # fmt: skip
    """Yield (rows, household-weeks done): rows int64 of shape (len(ROW_FIELDS), m), in
    household order within a chunk of weeks, each household's rows in time order. The rows
    are valid until the next chunk is asked for (the kernel reuses one buffer: copy to
    keep them)."""
    inputs = {**kernel_inputs(params), "other_store_cum": open_store_weights(
        params.stores["other_weight"].to_numpy(float), closed_stores(config, params))}
    n = len(households.ids)
    last_product = np.full((n, len(params.categories)), -1, np.int32)
    busy_until = np.zeros(n, np.int64)
    run = config["run"]
    basket = np.int64(shard) << 40
    if engine == "reference":
        from scenarios.retail.reference import RetailModel

        rng = stream(run["seed"], shard, "reference")
        model = RetailModel(households, weekly, inputs, params.scalars, last_product,
                            busy_until, basket, rng)  # fmt: skip
        for week_from in range(0, run["weeks"], run["chunk_weeks"]):
            week_to = min(week_from + run["chunk_weeks"], run["weeks"])
            yield model.run_weeks(week_from, week_to), n * (week_to - week_from)
        return
    bits = np.zeros((n, 4), np.uint64)
    affinity_guide = K.guide_tables(households.affinity, np.array([0]),
                                    np.array([households.affinity.shape[1]]))  # fmt: skip
    product_week, category_mass = K.product_weeks(weekly.utility, weekly.depth,
                                                  inputs["category_start"],
                                                  inputs["category_end"])  # fmt: skip
    product_static = np.column_stack([weekly.unit_price, inputs["quantity_group"]])
    habit_odds = np.exp(inputs["habit"])
    seed_key = np.uint64(run["seed"]) ^ np.uint64(0x5851F42D4C957F2D)
    out = _row_buffer()
    scalars = params.scalars
    for week_from in range(0, run["weeks"], run["chunk_weeks"]):
        week_to = min(week_from + run["chunk_weeks"], run["weeks"])
        household = 0
        while household < n:
            rows, next_household, basket = K.simulate_weeks(
                seed_key, households.ids, households.first_week, households.last_week,
                households.trip_rate, households.items_mean, scalars["items_dispersion"],
                households.home_store, households.home_share, households.affinity,
                affinity_guide,
                last_product, bits, busy_until, week_from, week_to, weekly.season,
                weekly.week_start_seconds, weekly.weekday_offset_cum, inputs["hour_cum"],
                inputs["gap_quantiles"], scalars["extra_baskets_per_trip"],
                scalars["extra_basket_same_store"], inputs["other_store_cum"],
                inputs["store_ids"], inputs["category_start"], inputs["category_end"],
                inputs["category_department"], product_static, product_week, category_mass,
                inputs["card_share"], habit_odds, inputs["quantity_values"],
                inputs["quantity_cum"], inputs["quantity_start"], inputs["quantity_end"],
                basket, household, out,
            )  # fmt: skip
            yield out[:rows].T, (next_household - household) * (week_to - week_from)
            household = next_household


@functools.cache
def _row_buffer() -> np.ndarray:
    """The kernel's output rows, one buffer per process: memory the system has handed over
    once (first touches cost about 10 microseconds a page here) serves every shard."""
    return np.empty((ROW_CAPACITY, len(K.ROW_FIELDS)), np.int64)


_INPUTS: dict[int, tuple[RetailParameters, dict[str, np.ndarray]]] = {}


def kernel_inputs(params: RetailParameters) -> dict[str, np.ndarray]:
    """The fitted tables as the kernel's flat arrays (computed once per parameter set)."""
    if id(params) not in _INPUTS:
        _INPUTS[id(params)] = params, _kernel_inputs(params)  # keeps params alive: id stays
    return _INPUTS[id(params)][1]


def _kernel_inputs(params: RetailParameters) -> dict[str, np.ndarray]:
    """The fitted tables as the kernel's flat arrays."""
    products = params.products
    categories = params.categories
    departments = list(params.departments["department"])
    category = products["category_index"].to_numpy()
    n_categories = len(categories)
    start = np.searchsorted(category, np.arange(n_categories), side="left")
    end = np.searchsorted(category, np.arange(n_categories), side="right")
    dept_index = {d: i for i, d in enumerate(departments)}
    category_department = categories["department"].map(dept_index).fillna(0).to_numpy(np.int64)
    groups = sorted(params.quantities["quantity_group"].unique())
    group_index = {g: i for i, g in enumerate(groups)}
    quantities = params.quantities.assign(
        group=params.quantities["quantity_group"].map(group_index)).sort_values(
        ["group", "probability"], ascending=[True, False], kind="stable")
    q_group = quantities["group"].to_numpy(np.int64)
    q_start = np.searchsorted(q_group, np.arange(len(groups)), side="left")
    q_end = np.searchsorted(q_group, np.arange(len(groups)), side="right")
    q_cum = quantities.groupby("group")["probability"].cumsum().to_numpy()
    stores = params.stores
    dept = params.departments
    return {
        "hour_cum": np.cumsum(params.hours["share"].to_numpy()),
        "gap_quantiles": params.trip_gaps["minutes"].to_numpy(float),
        "store_ids": stores["store_id"].to_numpy(np.int64),
        "category_start": start.astype(np.int64), "category_end": end.astype(np.int64),
        "category_department": category_department,
        "quantity_group": products["quantity_group"].map(group_index).to_numpy(np.int64),
        "card_share": dept["card_share"].to_numpy(float),
        "habit": dept["habit"].to_numpy(float),
        "quantity_values": quantities["quantity"].to_numpy(np.int64),
        "quantity_cum": q_cum, "quantity_start": q_start.astype(np.int64),
        "quantity_end": q_end.astype(np.int64),
    }  # fmt: skip


