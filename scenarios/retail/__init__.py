"""Retail customers: households, trips, baskets, prices and promotions, fitted to The
Complete Journey (84.51 / dunnhumby).

Households (demographics synthesised from the data's marginals) shop week by week: trips at
fitted weekday and hour profiles, a home store, baskets of fitted size, categories from each
household's affinities, products by a multinomial logit on discount depth, display, mailer
and habit, and quantities and prices per department. Promotions run as a Markov chain per
product. The tables use The Complete Journey's own columns, so code written for the real
data runs on synthetic data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from scenarios.retail.config import DEFAULT_CONFIG, SCHEMA
from scenarios.retail.engine import shard_chunks
from scenarios.retail.simulate import (
    build_households,
    parameters_of,
    shard_bounds,
    weekly_tables,
)
from scenarios.retail.tables import COLUMN_DOCS, ROLES, SCHEMAS
from simulations.scenario import Emit, Scenario

__all__ = ["RetailScenario"]

class RetailScenario(Scenario):
    name = "retail"
    description = ("grocery loyalty-card baskets, prices and promotions, fitted to The "
                   "Complete Journey")
    schema = SCHEMA
    default_config = DEFAULT_CONFIG
    tables = SCHEMAS
    table_docs = COLUMN_DOCS
    roles = ROLES
    engines = ("kernel", "reference")
    work_unit = "household-weeks"
    kernel_modules = ("scenarios.retail.kernels", "simulations.bits")

    def resolve_config(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """:meth:`Scenario.resolve_config`, then check the parameter folder and what-if
        departments before anything is written."""
        config = super().resolve_config(*args, **kwargs)
        parameters_of(config)
        return config

    def n_shards(self, config: dict[str, Any]) -> int:
        return len(shard_bounds(config["population"]["n_households"], config["run"]["shard_size"]))

    def shard_work(self, config: dict[str, Any], shard: int) -> int:
        start, stop = shard_bounds(config["population"]["n_households"],
                                   config["run"]["shard_size"])[shard]  # fmt: skip
        return (stop - start) * config["run"]["weeks"]

    def run_global(self, config: dict[str, Any], emit: Emit) -> dict[str, Any]:
        params = parameters_of(config)
        products = params.products
        emit("products", pa.Table.from_pandas(
            products[list(SCHEMAS["products"].names)], schema=SCHEMAS["products"],
            preserve_index=False))  # fmt: skip
        weekly = weekly_tables(config, params)
        emit("promotions", _promotions(weekly, params, config["run"]["seed"]))
        return {}

    def run_shard(self, config: dict[str, Any], shard: int, emit: Emit,
                  advance: Callable[[int], None],
                  engine: str = "kernel") -> dict[str, Any]:  # fmt: skip
        self.check_engine(engine)
        params = parameters_of(config)
        households = build_households(config, params, shard)
        emit("demographics", pa.Table.from_pandas(households.demographics,
                                                  schema=SCHEMAS["demographics"],
                                                  preserve_index=False))  # fmt: skip
        weekly = weekly_tables(config, params)
        rows_total = 0
        for rows, units in shard_chunks(config, params, households, weekly, engine, shard):
            emit("transactions", _transactions(rows, households.ids, params.products,
                                               config["run"]))  # fmt: skip
            advance(units)
            rows_total += rows.shape[1]
        return {"rows": rows_total}


def _transactions(rows: np.ndarray, ids: np.ndarray, products, run) -> pa.RecordBatch:
    """Kernel rows as a ``transactions`` batch (money from cents to dollars)."""
    h, store, basket, product, quantity, regular, discount, time = rows
    start = np.datetime64(run["start_date"], "s").astype(np.int64)
    zeros = np.zeros(len(h))
    return pa.RecordBatch.from_arrays([
        pa.array(ids[h]), pa.array(store), pa.array(basket),
        pa.array(products["product_id"].to_numpy()[product]), pa.array(quantity),
        pa.array((regular - discount) / 100.0), pa.array(discount / 100.0),
        pa.array(zeros), pa.array(zeros), pa.array(1 + (time - start) // (7 * 86400)),
        pa.array(time, pa.timestamp("s")),
    ], schema=SCHEMAS["transactions"])  # fmt: skip


def _promotions(weekly, params, seed: int) -> pa.Table:
    """Display and mailer placements of every promoted product-week in every store that
    reports promotions, with location codes drawn from the fitted shares."""
    from simulations.seeding import stream

    rng = stream(seed, 0, "promotion locations")
    week, product = np.nonzero(weekly.display | weekly.mailer)
    locations = params.locations

    def codes(kind: str, shown: np.ndarray) -> np.ndarray:
        table = locations[locations["kind"] == kind]
        drawn = rng.choice(table["code"].astype(str).to_numpy(), len(shown),
                           p=table["probability"] / table["probability"].sum())  # fmt: skip
        return np.where(shown, drawn, "0")

    display = codes("display", weekly.display[week, product])
    mailer = codes("mailer", weekly.mailer[week, product])
    stores = params.stores
    reporting = stores.loc[stores.get("reports_promotions", True).astype(bool), "store_id"]
    reporting = reporting.to_numpy(np.int64)
    repeat = len(reporting)
    return pa.table({
        "product_id": np.repeat(params.products["product_id"].to_numpy()[product], repeat),
        "store_id": np.tile(reporting, len(product)),
        "display_location": pa.array(np.repeat(display, repeat)).dictionary_encode(),
        "mailer_location": pa.array(np.repeat(mailer, repeat)).dictionary_encode(),
        "week": np.repeat(week + 1, repeat),
    }).cast(SCHEMAS["promotions"])
