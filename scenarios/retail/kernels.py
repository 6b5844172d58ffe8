"""Numba kernel of the retail scenario: households' trips, baskets and items, week by week.

Each household owns a random stream (xoshiro256** seeded from the run seed and its id), so
its draws do not move when another household, a price or a promotion changes (common random
numbers), and a fixed number of uniforms per item keeps them aligned item for item.

Per household and active week: trips ~ Poisson(rate x season); each trip a weekday and an
hour from the fitted profiles (but at least ``TRIP_GAP_SECONDS`` after the household's last
basket); 1 + Geometric further baskets minutes apart (within the week); each basket a
store (home with the household's loyalty, else by store weight) and 1 + NegBin items; each
item a category from the household's affinities, a product by multinomial logit (intercept,
discount depth, display, mailer, plus ``habit`` for the household's last product in the
category), a quantity, and its prices.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from simulations.bits import gamma, poisson, seed_bits, uniform

__all__ = ["MAX_BASKETS_PER_WEEK", "MAX_ITEMS", "ROW_FIELDS", "TRIP_GAP_SECONDS",
           "guide_tables", "product_weeks", "simulate_weeks"]

MAX_ITEMS = 250
"""Most items in one basket (The Complete Journey's largest holds 161)."""

TRIP_GAP_SECONDS = 180 * 60 + 60
"""A trip starts at least this long after the household's last basket: closer baskets are
one trip (:data:`scenarios.retail.fit_shoppers.TRIP_GAP_MINUTES`), so the fit reads trips
back as the kernel made them."""

MAX_BASKETS_PER_WEEK = 40
"""Most baskets of one household in one week (trips are capped to keep to it)."""

ROW_FIELDS = ("household", "store", "basket", "product", "quantity", "regular_cents",
              "discount_cents", "time")  # fmt: skip
"""Columns of the output array (int64, shape (capacity, len(ROW_FIELDS)))."""

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
def _fill_guide(values, lo, hi, guide, counts):
    """Write the guide table of the running sums ``values[lo:hi]`` into ``guide[lo:hi]``:
    entry lo + j is the first index whose running sum reaches the segment's share
    j / (hi - lo), found by counting the entries below each share (no search). ``counts``:
    scratch of at least hi - lo + 1 entries."""
    k = hi - lo
    base = values[lo - 1] if lo > 0 else 0.0
    total = values[hi - 1] - base
    scale = k / total if total > 0 else 0.0
    counts[: k + 1] = 0
    for i in range(lo, hi):
        counts[min(np.int64((values[i] - base) * scale), k)] += 1
    below = 0
    for j in range(k):
        guide[lo + j] = min(lo + below, hi - 1)
        below += counts[j]


@nb.njit(cache=True)
def guide_tables(cumulative, starts, ends):
    """Guide tables of the segments [starts[j], ends[j]) of each row of ``cumulative``
    (running sums, shape (n, k)), so that a draw starts its search at the entry of its share
    and takes a step or two (the guide-table method of H.-C. Chen and Y. Asau, 1974).
    int32, (n, k)."""
    n, k = cumulative.shape
    guide = np.zeros((n, k), np.int32)
    counts = np.empty(k + 1, np.int64)
    for row in range(n):
        for j in range(len(starts)):
            if ends[j] > starts[j]:
                _fill_guide(cumulative[row], starts[j], ends[j], guide[row], counts)
    return guide


@nb.njit(cache=True)
def _guided_draw(cumulative, guide, lo, hi, base, total, u):
    """The index in [lo, hi) whose share of the segment's running sums holds ``u``
    (``base``: the running sum before ``lo``; ``total``: the segment's mass)."""
    target = base + u * total
    i = np.int64(guide[lo + min(np.int64(u * (hi - lo)), hi - lo - 1)])
    while i < hi - 1 and cumulative[i] <= target:
        i += 1
    return i


# Columns of a week's product table (float64, shape (n_products, 4)): one cache line holds
# all an item needs of its product.
UTILITY, CUMULATIVE, GUIDE, DEPTH = range(4)


@nb.njit(cache=True)
def _choose_product(u, products, before, total, start, end, last, habit_odds):
    """A product of [start, end) by logit from the uniform ``u``: ``products`` is the week's
    product table (exp of the utility, its running sum, guide table, depth), ``before`` the
    running sum before the category and ``total`` its mass; ``last`` gets ``habit_odds``
    (e^habit) times its own weight. Exact: the habit's extra weight is a mixture component
    drawn first."""
    if last >= 0:
        extra = (habit_odds - 1.0) * products[last, UTILITY]
        habitual = extra / (total + extra)
        if u < habitual:
            return last
        u = (u - habitual) / (1.0 - habitual)
    return _guided_draw(products[:, CUMULATIVE], products[:, GUIDE], start, end, before,
                        total, u)  # fmt: skip


@nb.njit(cache=True)
def product_weeks(utility, depth, starts, ends):
    """The kernel's weekly product tables (n_weeks, n_products, 4) from exp(utility) and
    discount depth (0 off promotion), each (n_weeks, n_products), and each category's running
    sum before it and mass (n_weeks, n_categories, 2): small, so it stays in cache."""
    n_weeks, n_products = utility.shape
    table = np.empty((n_weeks, n_products, 4))
    categories = np.zeros((n_weeks, len(starts), 2))
    counts = np.empty(n_products + 1, np.int64)
    for w in range(n_weeks):
        running = 0.0
        for p in range(n_products):
            running += utility[w, p]
            table[w, p, UTILITY] = utility[w, p]
            table[w, p, CUMULATIVE] = running
            table[w, p, DEPTH] = depth[w, p]
        for j in range(len(starts)):
            lo, hi = starts[j], ends[j]
            if hi > lo:
                before = table[w, lo - 1, CUMULATIVE] if lo > 0 else 0.0
                categories[w, j, 0] = before
                categories[w, j, 1] = table[w, hi - 1, CUMULATIVE] - before
                _fill_guide(table[w, :, CUMULATIVE], lo, hi, table[w, :, GUIDE], counts)
    return table, categories


@nb.njit(cache=True)
def simulate_weeks(
    seed_key, household_ids, first_week, last_week, trip_rate, items_mean, items_shape,
    home_store, home_share, affinity, affinity_guide, last_product, bits, busy_until,
    week_from, week_to, season, week_start_seconds, weekday_offset_cum, hour_cum,
    gap_quantiles, extra_mean, same_store, other_store_cum, store_ids,
    category_start, category_end, category_department, product_static, product_week,
    category_mass,
    card_share, habit_odds, quantity_values, quantity_cum, quantity_start,
    quantity_end,
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
    affinity, affinity_guide : float32, int32 (n, n_categories)
        Each household's running category shares (ending at 1) and their guide tables
        (:func:`guide_tables`).
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
    product_static : float64 (n_products, 2)
        Regular USD per unit of quantity, and the product's quantity group.
    product_week, category_mass : float64 (n_weeks, n_products, 4), (n_weeks, n_categories, 2)
        Each week's product tables and category masses (:func:`product_weeks`); products
        sorted by category.
    card_share, habit_odds : float64 (n_departments,)
        Share of a promoted product's rows that get the discount; e^habit.
    quantity_values, quantity_cum : (m,)
        Quantity group g's values and cumulative shares in [quantity_start[g],
        quantity_end[g]).
    basket_base : int64
        First basket id of this call; ids count up from it.
    out : int64 (capacity, len(ROW_FIELDS))
        One row per item (a row is one cache line).

    Returns
    -------
    (rows, next_household, next_basket)
        Rows written, the first household not simulated (len(household_ids) when all were)
        and the next basket id. A call stops before a household that might not fit.
    """
    n = len(household_ids)
    capacity = out.shape[0]
    per_household = (week_to - week_from) * MAX_BASKETS_PER_WEEK * MAX_ITEMS
    rows = 0
    basket = basket_base
    starts = np.empty(MAX_BASKETS_PER_WEEK, np.int64)
    week_seconds = 7 * 86400
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
            for t in range(1, trips):  # insertion sort: a week holds a handful of trips
                value, k = starts[t], t
                while k > 0 and starts[k - 1] > value:
                    starts[k] = starts[k - 1]
                    k -= 1
                starts[k] = value
            baskets_this_week = 0
            week_products, week_categories = product_week[w], category_mass[w]
            for t in range(trips):
                time = max(starts[t], busy_until[h] + TRIP_GAP_SECONDS)
                if time >= week_start_seconds[w] + week_seconds:
                    continue  # pushed out of its week by the trips before it: not made
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
                        if time >= week_start_seconds[w] + week_seconds:
                            break  # a trip's last baskets stay in its week
                        if uniform(state) >= same_store:
                            store = _pick(other_store_cum, uniform(state))
                    busy_until[h] = time
                    mean = items_mean[h]
                    items = 1 + poisson(state, gamma(state, items_shape) * mean / items_shape)
                    items = min(items, MAX_ITEMS)
                    for _ in range(items):
                        c = _guided_draw(affinity[h], affinity_guide[h], 0, n_categories, 0.0,
                                         1.0, uniform(state))  # fmt: skip
                        start, end = category_start[c], category_end[c]
                        if end <= start:
                            uniform(state)
                            uniform(state)
                            uniform(state)
                            continue
                        p = _choose_product(uniform(state), week_products,
                                            week_categories[c, 0], week_categories[c, 1],
                                            start, end, last_product[h, c],
                                            habit_odds[category_department[c]])  # fmt: skip
                        last_product[h, c] = p
                        g = np.int64(product_static[p, 1])
                        q_index = _pick(quantity_cum[quantity_start[g]:quantity_end[g]],
                                        uniform(state))  # fmt: skip
                        quantity = quantity_values[quantity_start[g] + q_index]
                        regular = np.int64(np.round(product_static[p, 0] * quantity * 100.0))
                        discount = 0
                        depth = week_products[p, DEPTH]
                        if uniform(state) < card_share[category_department[c]] and depth > 0:
                            discount = np.int64(np.round(regular * depth))
                        out[rows, _H] = h
                        out[rows, _STORE] = store_ids[store]
                        out[rows, _BASKET] = basket
                        out[rows, _PRODUCT] = p
                        out[rows, _QUANTITY] = quantity
                        out[rows, _REGULAR] = regular
                        out[rows, _DISCOUNT] = discount
                        out[rows, _TIME] = time
                        rows += 1
                    basket += 1
    return rows, n, basket
