"""Inputs of the retail kernel: households of a shard, and the run's weekly product tables.

Everything here is vectorised numpy over households or products; the per-item work is the
kernel's (:mod:`scenarios.retail.kernels`).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from agents.shards import shard_bounds
from calibration.synthesis import synthesise
from scenarios.retail.parameters import RetailParameters, load_parameters
from simulations.errors import ConfigError
from simulations.seeding import stream

__all__ = ["Households", "Weekly", "build_households", "parameters_of", "weekly_tables"]

CENSORED = 10**6
"""A last active week that is no end: the household was still shopping when the data ended."""


@functools.lru_cache(maxsize=4)
def _cached_parameters(folder: str) -> RetailParameters:
    return load_parameters(folder or None)


def parameters_of(config: dict) -> RetailParameters:
    """The fitted parameters a config names (read once per process)."""
    params = _cached_parameters(config["population"]["parameters"])
    departments = set(params.departments["department"])
    for section in ("promotions", "prices"):
        name = config[section]["department"]
        if name != "all" and name not in departments:
            raise ConfigError(f"The '{section}.department' parameter of retail must be 'all' "
                              f"or a department among {sorted(departments)}. Got {name!r} "
                              "instead.")  # fmt: skip
    closed_stores(config, params)
    return params


def closed_stores(config: dict, params: RetailParameters) -> np.ndarray:
    """Whether each store of ``params.stores`` is closed by ``stores.closed`` (bool, shape
    (n_stores,)); refuses unknown store ids and closing every store."""
    text = config["stores"]["closed"].strip()
    ids = params.stores["store_id"].to_numpy()
    try:
        closed = {int(part) for part in text.split(",") if part.strip()}
    except ValueError:
        raise ConfigError("The 'stores.closed' parameter of retail must be comma-separated "
                          f"store_id values. Got {text!r} instead.") from None
    unknown = sorted(closed - set(ids.tolist()))
    if unknown:
        raise ConfigError(f"The 'stores.closed' parameter of retail names stores that do not "
                          f"exist: {unknown[:5]}.")  # fmt: skip
    mask = np.isin(ids, list(closed))
    if mask.all():
        raise ConfigError("The 'stores.closed' parameter of retail closes every store.")
    return mask


def open_store_weights(weights: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """Cumulative shares of ``weights`` over open stores (closed ones get none)."""
    open_weights = np.where(closed, 0.0, weights + 1e-9)
    return np.cumsum(open_weights / open_weights.sum())


@dataclass
class Households:
    """A shard's households (arrays of shape (n,)) and their demographics table."""

    ids: np.ndarray
    first_week: np.ndarray
    last_week: np.ndarray
    trip_rate: np.ndarray
    items_mean: np.ndarray
    home_store: np.ndarray
    home_share: np.ndarray
    affinity: np.ndarray
    demographics: pd.DataFrame


def build_households(config: dict, params: RetailParameters, shard: int) -> Households:
    """Synthesise shard ``shard``'s households: demographics from the fitted marginals, then
    trip rate, basket size, home store and category affinities drawn from the fitted
    distributions (stream ``households`` of the shard)."""
    start, stop = shard_bounds(config["population"]["n_households"],
                               config["run"]["shard_size"])[shard]  # fmt: skip
    n = stop - start
    rng = stream(config["run"]["seed"], shard, "households")
    s = params.scalars
    demographics = synthesise(list(params.marginals.values()), n, rng=rng).population
    ids = np.arange(start, stop, dtype=np.int64) + 1
    demographics.insert(0, "household_id", ids)
    effects = params.household_effects.set_index(params.household_effects["household_size"]
                                                 .astype(str))  # fmt: skip
    size = demographics["household_size"].astype(str)
    trip_effect = size.map(effects["trip_multiplier"]).fillna(1.0).to_numpy()
    items_effect = size.map(effects["items_multiplier"]).fillna(1.0).to_numpy()
    shape = s["trip_rate_shape"]
    rate = rng.gamma(shape, s["trips_per_week"] / shape, n)
    log_rate = np.log(np.maximum(rate, 1e-9))
    z_rate = (log_rate - log_rate.mean()) / (log_rate.std() or 1.0)
    rho = s["items_trip_correlation"]
    z_items = rho * z_rate + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    items_mean = np.exp(s["items_log_mean"] + s["items_log_sd"] * z_items)
    activity = params.activity
    pick = rng.choice(len(activity), n, p=activity["households"] / activity["households"].sum())
    data_last = activity["last_week"].max()
    first = activity["first_week"].to_numpy()[pick] - 1
    last = activity["last_week"].to_numpy()[pick] - 1
    first = np.where(first == 0, -1, first)  # active before the data began
    last = np.where(last == data_last - 1, CENSORED, last)
    stores = params.stores
    # Inverse CDF on the fitted weights, then households of a closed store redraw among the
    # open ones: closing a store moves only its own households (common random numbers).
    weights = stores["home_weight"].to_numpy(float)
    u_home, u_moved = rng.random(n), rng.random(n)
    home = np.searchsorted(open_store_weights(weights, np.zeros(len(weights), bool)), u_home)
    closed = closed_stores(config, params)
    moved = closed[np.minimum(home, len(weights) - 1)]
    home[moved] = np.searchsorted(open_store_weights(weights, closed), u_moved[moved])
    home = np.minimum(home, len(weights) - 1)
    home_share = rng.beta(s["home_store_a"], s["home_store_b"], n)
    affinity = np.cumsum(_affinities(params, rng, n), axis=1)
    affinity[:, -1] = 1.0
    behaviour = config["behaviour"]
    return Households(
        ids=ids, first_week=first.astype(np.int64), last_week=last.astype(np.int64),
        trip_rate=rate * trip_effect * behaviour["trip_rate_scale"],
        items_mean=items_mean * items_effect * behaviour["basket_size_scale"],
        home_store=home.astype(np.int64), home_share=home_share,
        affinity=affinity.astype(np.float32), demographics=demographics,
    )  # fmt: skip


def _affinities(params: RetailParameters, rng: np.random.Generator, n: int) -> np.ndarray:
    """Each household's share of items by category (shape (n, n_categories)): Dirichlet
    shares of departments times Dirichlet shares of each department's categories."""
    categories = params.categories
    share = categories["share"].to_numpy()
    department = categories["department"].to_numpy()
    names, index = np.unique(department, return_inverse=True)
    department_share = np.bincount(index, share)
    weight = rng.gamma(np.maximum(params.scalars["department_concentration"] * department_share,
                                  1e-6), size=(n, len(names)))  # fmt: skip
    weight /= weight.sum(axis=1, keepdims=True)
    within = share / department_share[index]
    inner = rng.gamma(np.maximum(params.scalars["category_concentration"] * within, 1e-6),
                      size=(n, len(share)))  # fmt: skip
    totals = np.zeros((n, len(names)))
    for column in range(len(names)):
        totals[:, column] = inner[:, index == column].sum(axis=1)
    inner /= np.maximum(totals[:, index], 1e-300)
    affinity = weight[:, index] * inner
    return affinity / affinity.sum(axis=1, keepdims=True)


@dataclass
class Weekly:
    """The run's product tables by week (shape (weeks, n_products), products in category
    order; ``utility_cum`` is the running sum of ``utility`` over all products, a category's
    mass the difference across its range) and calendar."""

    utility: np.ndarray
    utility_cum: np.ndarray
    depth: np.ndarray
    on_promotion: np.ndarray
    display: np.ndarray
    mailer: np.ndarray
    unit_price: np.ndarray
    season: np.ndarray
    week_start_seconds: np.ndarray
    weekday_offset_cum: np.ndarray


def _scoped(products: pd.DataFrame, department: str, value: float, neutral: float) -> np.ndarray:
    """``value`` for products of ``department`` (or every product for "all"), else neutral."""
    mask = np.ones(len(products), bool) if department == "all" else (
        products["department"] == department).to_numpy()
    return np.where(mask, value, neutral)


def weekly_tables(config: dict, params: RetailParameters) -> Weekly:
    """Promotions per product and week (a Markov chain per product, run-wide stream
    ``promotions``) and the logit weights and prices they give, after the config's
    what-ifs."""
    run, promo = config["run"], config["promotions"]
    weeks, products = run["weeks"], params.products
    rng = stream(run["seed"], 0, "promotions")
    dept = params.departments.set_index("department")
    per = dept.reindex(products["department"].fillna("(none)")).fillna(0.0)
    odds_scale = _scoped(products, promo["department"], promo["frequency_scale"], 1.0)
    p_start = _scaled_probability(per["p_on_after_off"].to_numpy(), odds_scale)
    p_stay = per["p_on_after_on"].to_numpy()
    depth_scale = _scoped(products, promo["department"], promo["depth_scale"], 1.0)
    depths = _depth_sampler(params.depths, products)
    n = len(products)
    on = np.zeros((weeks, n), bool)
    depth = np.zeros((weeks, n))
    stationary = p_start / np.maximum(1 - p_stay + p_start, 1e-12)
    state = rng.random(n) < stationary
    current = np.where(state, depths(rng), 0.0)
    for w in range(weeks):
        if w:
            u = rng.random(n)
            started = ~state & (u < p_start)
            state = np.where(state, u < p_stay, started)
            current = np.where(started, depths(rng), current)
        on[w], depth[w] = state, np.where(state, np.minimum(current * depth_scale, 0.95), 0.0)
    display = rng.random((weeks, n)) < np.where(on, per["display_when_on"].to_numpy(),
                                                per["display_when_off"].to_numpy())  # fmt: skip
    mailer = rng.random((weeks, n)) < np.where(on, per["mailer_when_on"].to_numpy(),
                                               per["mailer_when_off"].to_numpy())  # fmt: skip
    log_utility = (products["intercept"].to_numpy() + per["beta_depth"].to_numpy() * depth
                   + per["beta_display"].to_numpy() * display
                   + per["beta_mailer"].to_numpy() * mailer)  # fmt: skip
    utility = np.exp(log_utility - log_utility.max())
    price = products["regular_price"].to_numpy() * (
        1 + _scoped(products, config["prices"]["department"], config["prices"]["change"], 0.0))
    start = dt.date.fromisoformat(run["start_date"])
    epoch = int(dt.datetime(start.year, start.month, start.day,
                            tzinfo=dt.UTC).timestamp())  # fmt: skip
    season_table = params.weeks.set_index("week")["multiplier"]
    season = season_table.reindex(np.arange(weeks) % len(season_table) + 1).fillna(1.0)
    weekday_share = params.weekdays["share"].to_numpy()
    offsets_share = weekday_share[(start.weekday() + np.arange(7)) % 7]
    return Weekly(
        utility=utility, utility_cum=np.cumsum(utility, axis=1), depth=depth, on_promotion=on,
        display=display, mailer=mailer, unit_price=price, season=season.to_numpy(),
        week_start_seconds=epoch + 7 * 86400 * np.arange(weeks, dtype=np.int64),
        weekday_offset_cum=np.cumsum(offsets_share / offsets_share.sum()),
    )  # fmt: skip


def _scaled_probability(p: np.ndarray, odds_scale: np.ndarray) -> np.ndarray:
    odds = p / np.maximum(1 - p, 1e-12) * odds_scale
    return odds / (1 + odds)


def _depth_sampler(depths: pd.DataFrame, products: pd.DataFrame):
    """A function of a generator that draws one discount depth per product from its
    department's fitted distribution (25% where a department has none)."""
    department = products["department"].fillna("(none)").to_numpy()
    tables = {d: (g["depth"].to_numpy(), np.cumsum(g["probability"].to_numpy()))
              for d, g in depths.groupby("department")}  # fmt: skip
    codes, index = np.unique(department, return_inverse=True)

    def draw(rng: np.random.Generator) -> np.ndarray:
        u = rng.random(len(products))
        out = np.full(len(products), 0.25)
        for code, name in enumerate(codes):
            if name in tables:
                values, cum = tables[name]
                at = index == code
                out[at] = values[np.minimum(np.searchsorted(cum, u[at] * cum[-1]),
                                            len(values) - 1)]  # fmt: skip
        return out

    return draw
