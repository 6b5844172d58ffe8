"""Numba kernel of the retail scenario: households' trips, baskets and items, week by week.

Each household owns a random stream (xoshiro256** seeded from the run seed and its id), so
its draws do not move when another household, a price or a promotion changes (common random
numbers), and a fixed number of uniforms per item keeps them aligned item for item.

Per household and active week: trips ~ Poisson(rate x season); each trip a weekday and an
hour from the fitted profiles; 1 + Geometric further baskets minutes apart; each basket a
store (home with the household's loyalty, else by store weight) and 1 + NegBin items; each
item a category from the household's affinities, a product by multinomial logit (intercept,
discount depth, display, mailer, plus ``habit`` for the household's last product in the
category), a quantity, and its prices.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulations.bits import gamma, poisson, seed_bits, uniform

__all__ = ["MAX_BASKETS_PER_WEEK", "MAX_ITEMS", "ROW_FIELDS", "simulate_weeks"]

MAX_ITEMS = 250
"""Most items in one basket (The Complete Journey's largest holds 161)."""

MAX_BASKETS_PER_WEEK = 40
"""Most baskets of one household in one week (trips are capped to keep to it)."""

ROW_FIELDS = ("household", "store", "basket", "product", "quantity", "regular_cents",
              "discount_cents", "time")  # fmt: skip
"""Rows of the output array (int64, shape (len(ROW_FIELDS), capacity))."""

_H, _STORE, _BASKET, _PRODUCT, _QUANTITY, _REGULAR, _DISCOUNT, _TIME = range(8)


@nb.njit(cache=True)
def _first_above(cumulative, lo, hi, target):
    """First index in [lo, hi) whose running sum exceeds ``target`` (hi - 1 if none)."""
    end = hi
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    return min(lo, end - 1)


@nb.njit(cache=True)
def _pick(cumulative, target):
    return _first_above(cumulative, 0, len(cumulative), target)


@nb.njit(cache=True)
def _choose_product(bits, utility, cumulative, start, end, last, habit):
    """A product of [start, end) by logit: weights ``utility`` (exp of the utility, shape
    (n_products,)), ``cumulative`` their running sum within the category; ``last`` gets
    weight e^habit times its own. Exact, one uniform."""
    before = cumulative[start - 1] if start > 0 else 0.0
    total = cumulative[end - 1] - before
    boost = 0.0
    if last >= 0:
        boost = (np.exp(habit) - 1.0) * utility[last]
    r = uniform(bits) * (total + boost)
    if last >= 0:
        own = np.exp(habit) * utility[last]
        if r < own:
            return last
        r -= own  # uniform on the other products' mass: skip over the last product's own
        last_before = cumulative[last - 1] if last > 0 else 0.0
        if before + r >= last_before:
            r += utility[last]
    return _first_above(cumulative, start, end, before + r)


@nb.njit(cache=True)
def simulate_weeks(
    seed_key, household_ids, first_week, last_week, trip_rate, items_mean, items_shape,
    home_store, home_share, affinity, last_product, bits, busy_until,
    week_from, week_to, season, week_start_seconds, weekday_offset_cum, hour_cum,
    gap_quantiles, extra_mean, same_store, other_store_cum, store_ids,
    category_start, category_end, category_department, unit_price,
    utility, utility_cum, depth, on_promotion, card_share, habit, quantity_group,
    quantity_values, quantity_cum, quantity_start, quantity_end,
    basket_base, households_from, out,
):
    """Simulate households ``households_from``.. for weeks [week_from, week_to) into ``out``.

    Parameters (arrays indexed by household of the shard unless said)
    ----------
    seed_key : uint64
        The run's key; a household's stream is seeded from it and its id on first use.
    first_week, last_week : int64
        Weeks (0-based) a household is active in, inclusive; -1 / huge when censored.
    trip_rate : float64
        Mean trips per active week. ``items_mean``: mean items - 1 per basket;
        ``items_shape``: the negative binomial's shape (scalar).
    home_store : int64 index into ``store_ids``; ``home_share``: share of trips there.
    affinity : float32 (n, n_categories)
        Cumulative category shares of each household (last column 1).
    last_product : int32 (n, n_categories)
        Last product bought in each category (-1: none); updated.
    bits : uint64 (n, 4)
        Household streams (all zero: not yet seeded); updated. ``busy_until``: int64
        seconds of each household's last basket; updated.
    season : float64 (n_weeks,)
        Trip multiplier of each run week. ``week_start_seconds``: epoch seconds of each
        week's first day.
    weekday_offset_cum : float64 (7,)
        Cumulative shares of trips by day offset within the run week. ``hour_cum``: (24,).
    gap_quantiles : float64 (q,)
        Minutes between a trip's baskets at evenly spaced quantiles.
    utility, utility_cum, depth, on_promotion : (n_weeks, n_products)
        exp(utility) of each product in each week, its running sum within categories
        (products sorted by category), discount depth and whether it is on promotion.
    category_start, category_end, category_department : int64 (n_categories,)
        Each category's products [start, end) and department. ``unit_price``: float64
        (n_products,), regular USD per unit of quantity.
    card_share, habit : float64 (n_departments,)
    quantity_group : int64 (n_products,)
        Each product's quantity distribution: group g's values and cumulative shares are
        ``quantity_values``, ``quantity_cum`` (m,) in [quantity_start[g], quantity_end[g]).
    basket_base : int64
        First basket id of this call; ids count up from it.
    out : int64 (len(ROW_FIELDS), capacity)

    Returns
    -------
    (rows, next_household, next_basket)
        Rows written, the first household not simulated (len(household_ids) when all were)
        and the next basket id. A call stops before a household that might not fit.
    """
    n = len(household_ids)
    capacity = out.shape[1]
    per_household = (week_to - week_from) * MAX_BASKETS_PER_WEEK * MAX_ITEMS
    rows = 0
    basket = basket_base
    starts = np.empty(MAX_BASKETS_PER_WEEK, np.int64)
    n_categories = affinity.shape[1]
    for h in range(households_from, n):
        if capacity - rows < per_household:
            return rows, h, basket
        state = bits[h]
        if state[0] == 0 and state[1] == 0 and state[2] == 0 and state[3] == 0:
            seed_bits(state, seed_key ^ np.uint64(household_ids[h]) * np.uint64(0x9E3779B97F4A7C15))
        for w in range(week_from, week_to):
            if w < first_week[h] or w > last_week[h]:
                continue
            trips = min(poisson(state, trip_rate[h] * season[w]), MAX_BASKETS_PER_WEEK // 2)
            # trip start times, sorted: day offset and second of the day
            for t in range(trips):
                day = _pick(weekday_offset_cum, uniform(state))
                hour = _pick(hour_cum, uniform(state))
                starts[t] = (week_start_seconds[w] + day * 86400 + hour * 3600
                             + np.int64(uniform(state) * 3600))  # fmt: skip
            starts[:trips].sort()
            baskets_this_week = 0
            for t in range(trips):
                time = max(starts[t], busy_until[h] + 60)
                u = uniform(state)
                store = home_store[h] if u < home_share[h] else _pick(other_store_cum,
                                                                      uniform(state))
                extra = 0
                while uniform(state) < extra_mean / (1.0 + extra_mean) and extra < 5:
                    extra += 1
                for b in range(1 + extra):
                    if baskets_this_week >= MAX_BASKETS_PER_WEEK:
                        break
                    baskets_this_week += 1
                    if b > 0:
                        q = uniform(state) * (len(gap_quantiles) - 1)
                        i = min(np.int64(q), len(gap_quantiles) - 2)
                        gap = gap_quantiles[i] + (q - i) * (gap_quantiles[i + 1]
                                                            - gap_quantiles[i])  # fmt: skip
                        time += 60 + np.int64(gap * 60.0)
                        if uniform(state) >= same_store:
                            store = _pick(other_store_cum, uniform(state))
                    busy_until[h] = time
                    mean = items_mean[h]
                    items = 1 + poisson(state, gamma(state, items_shape) * mean / items_shape)
                    items = min(items, MAX_ITEMS)
                    for _ in range(items):
                        c = _pick(affinity[h], uniform(state))
                        c = min(c, n_categories - 1)
                        start, end = category_start[c], category_end[c]
                        if end <= start:
                            uniform(state)
                            uniform(state)
                            uniform(state)
                            continue
                        p = _choose_product(state, utility[w], utility_cum[w], start, end,
                                            last_product[h, c], habit[category_department[c]])
                        last_product[h, c] = p
                        d = category_department[c]
                        g = quantity_group[p]
                        q_index = _pick(quantity_cum[quantity_start[g]:quantity_end[g]],
                                        uniform(state))  # fmt: skip
                        quantity = quantity_values[quantity_start[g] + q_index]
                        regular = np.int64(np.round(unit_price[p] * quantity * 100.0))
                        discount = 0
                        if on_promotion[w, p] and uniform(state) < card_share[d]:
                            discount = np.int64(np.round(regular * depth[w, p]))
                        else:
                            uniform(state)
                        out[_H, rows] = h
                        out[_STORE, rows] = store_ids[store]
                        out[_BASKET, rows] = basket
                        out[_PRODUCT, rows] = p
                        out[_QUANTITY, rows] = quantity
                        out[_REGULAR, rows] = regular
                        out[_DISCOUNT, rows] = discount
                        out[_TIME, rows] = time
                        rows += 1
                    basket += 1
    return rows, n, basket
