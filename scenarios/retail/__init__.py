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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from agents.shards import shard_bounds
from scenarios.retail.config import DEFAULT_CONFIG, SCHEMA
from scenarios.retail.coupons import apply_coupons, build_campaigns, row_keys
from scenarios.retail.data import load_complete_journey, load_folder
from scenarios.retail.engine import shard_chunks
from scenarios.retail.metrics import METRICS, ShardTally, promotion_weeks, retail_metrics
from scenarios.retail.simulate import (
    build_households,
    parameters_of,
    weekly_tables,
)
from scenarios.retail.tables import COLUMN_DOCS, ROLES, SCHEMAS
from simulations.errors import ConfigError
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

    def fit(self, source, out, *, overwrite: bool = False):
        """Fit the parameters to ``source`` (a folder of tables in The Complete Journey's
        columns, or None for The Complete Journey) and write them to ``out``
        (:func:`scenarios.retail.fit.fit_retail`)."""
        from scenarios.retail.fit import fit_retail

        if Path(out).exists() and not overwrite:  # before a minute of fitting
            raise ConfigError(f"The parameter folder {str(out)!r} already exists; pass "
                              "--overwrite to replace it.")  # fmt: skip
        return fit_retail(source).save(out, overwrite=overwrite)

    def fidelity(self, dataset):
        """The retail yardstick against The Complete Journey (needs ``synthsim[retail-data]``):
        :func:`scenarios.retail.fidelity.fidelity_scores`, plus each large department's
        discount elasticity against the data's 95% interval; and the comparison figure."""
        from scenarios.retail.fidelity import elasticity_scores, fidelity_figure, fidelity_scores

        real = load_complete_journey(["transactions", "products"])
        synthetic = load_folder(dataset, ["transactions", "products"])
        scores = pd.concat([fidelity_scores(synthetic, real), elasticity_scores(synthetic, real)],
                           ignore_index=True)  # fmt: skip
        return scores, fidelity_figure(synthetic, real)

    def n_shards(self, config: dict[str, Any]) -> int:
        return len(shard_bounds(config["population"]["n_households"], config["run"]["shard_size"]))

    def shard_work(self, config: dict[str, Any], shard: int) -> int:
        start, stop = shard_bounds(config["population"]["n_households"],
                                   config["run"]["shard_size"])[shard]  # fmt: skip
        return (stop - start) * config["run"]["weeks"]

    def run_global(self, config: dict[str, Any], emit: Emit) -> dict[str, Any]:
        params = parameters_of(config)
        emit("products", _table(params.products[list(SCHEMAS["products"].names)], "products"))
        weekly = weekly_tables(config, params)
        emit("promotions", _promotions(weekly, params, config["run"]["seed"]))
        descriptions, _, coupons, _ = _campaign_tables(config, params, None)
        emit("campaign_descriptions", _table(descriptions, "campaign_descriptions"))
        emit("coupons", _table(coupons, "coupons"))
        return promotion_weeks(weekly.on_promotion)

    def run_shard(self, config: dict[str, Any], shard: int, emit: Emit,
                  advance: Callable[[int], None],
                  engine: str = "kernel") -> dict[str, Any]:  # fmt: skip
        self.check_engine(engine)
        params = parameters_of(config)
        households = build_households(config, params, shard)
        emit("demographics", _table(households.demographics, "demographics"))
        weekly = weekly_tables(config, params)
        descriptions, campaigns, coupons, plan = _campaign_tables(config, params, households)
        emit("campaigns", _table(campaigns, "campaigns"))
        department = params.products.set_index("product_id")["department"]
        product_ids = params.products["product_id"].to_numpy()
        departments = list(params.departments["department"])
        tally = ShardTally(
            len(households.ids),
            params.products["department"].map({d: i for i, d in enumerate(departments)})
            .fillna(0).to_numpy(np.int64),
            params.products["quantity_group"].str.endswith("|metered").to_numpy(),
            len(departments), config["run"]["weeks"], weekly.on_promotion,
        )  # fmt: skip
        redeemed = None
        for rows, units in shard_chunks(config, params, households, weekly, engine, shard):
            h, _, basket, product, _, regular, discount, time = rows
            coupon, match, redemptions, redeemed = apply_coupons(
                {"household_id": households.ids[h], "product_id": product_ids[product],
                 "row_key": row_keys(basket), "time": time, "regular_cents": regular,
                 "discount_cents": discount},
                descriptions=descriptions, campaigns=campaigns, coupons=coupons,
                plan=plan, rates=params.coupon_rates,
                values=params.coupon_values, product_department=department,
                seed=config["run"]["seed"], redeemed=redeemed,
            )  # fmt: skip
            emit("transactions", _transactions(rows, households.ids, product_ids, coupon, match,
                                               config["run"]))  # fmt: skip
            emit("coupon_redemptions", _table(redemptions, "coupon_redemptions"))
            week = (time - weekly.week_start_seconds[0]) // (7 * 86400)
            tally.feed(rows, week, coupon, match, len(redemptions))
            advance(units)
        return tally.summary(departments)

    def run_metrics(self, config: dict[str, Any], read, summary) -> dict[str, float]:
        """Revenue, units, baskets, visits per household, retention, discounted share,
        promotion lift, coupon redemptions and each department's penetration
        (:mod:`scenarios.retail.metrics`), from the tallies each shard summed."""
        return retail_metrics(summary, list(parameters_of(config).departments["department"]))

    def metric_names(self, config: dict[str, Any]) -> tuple[str, ...]:
        departments = parameters_of(config).departments["department"]
        return (*METRICS, *(f"penetration.{d}" for d in departments))


def _campaign_tables(config, params, households):
    """The run's campaign descriptions and coupons, the targeting of ``households`` (a
    shard's, ranked by expected spend; None: no targeting rows), and the campaign plan after
    the ``[coupons]`` what-ifs."""
    run = config["run"]
    ids = rank = None
    if households is not None:
        spend = households.trip_rate * households.items_mean
        ids = households.ids
        rank = (np.argsort(np.argsort(spend, kind="stable")) + 0.5) / len(spend)
    scale = config["coupons"]
    plan = params.campaign_plan.copy()
    targets = [c for c in plan.columns if c.startswith("target_q")]
    plan[targets] = (plan[targets] * scale["targeting_scale"]).clip(upper=1.0)
    plan["redeem_probability"] = (plan["redeem_probability"]
                                  * scale["redemption_scale"]).clip(upper=1.0)  # fmt: skip
    return build_campaigns(plan, ids, rank, run["seed"], run["start_date"],
                           products=params.products, categories=params.coupon_categories,
                           days=7 * run["weeks"]) + (plan,)  # fmt: skip


def _table(frame, name: str) -> pa.Table:
    return pa.Table.from_pandas(frame, schema=SCHEMAS[name], preserve_index=False)


def _transactions(rows: np.ndarray, ids: np.ndarray, product_ids: np.ndarray,
                  coupon_cents: np.ndarray, match_cents: np.ndarray, run) -> pa.RecordBatch:
    """Kernel rows and their coupons as a ``transactions`` batch (money from cents to
    dollars)."""
    h, store, basket, product, quantity, regular, discount, time = rows
    start = np.datetime64(run["start_date"], "s").astype(np.int64)
    return pa.RecordBatch.from_arrays([
        pa.array(ids[h]), pa.array(store), pa.array(basket), pa.array(product_ids[product]),
        pa.array(quantity), pa.array((regular - discount) / 100.0),
        pa.array(discount / 100.0), pa.array(coupon_cents / 100.0),
        pa.array(match_cents / 100.0), pa.array(1 + (time - start) // (7 * 86400)),
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
