"""Mesa reference model of the retail scenario: the kernel's behaviour in plain Python.

The Numba kernel (:func:`scenarios.retail.kernels.simulate_weeks`) is fast but hard to
read. This module simulates the same model one household at a time so its rules can be
read and checked. Each household is a :class:`Household` agent whose step is one week:

* trips ~ Poisson(trip rate x the week's season), at most ``MAX_BASKETS_PER_WEEK // 2``;
  each trip a day of the week, an hour and a second of that hour from the fitted profiles;
  trips in time order, a trip's first basket no sooner than ``TRIP_GAP_SECONDS`` after the
  household's previous basket (a trip pushed past the week's end is not made);
* a trip's store is the home store with the household's ``home_share``, else a store drawn
  by weight; a trip has 1 + Geometric (mean ``extra_baskets_per_trip``, at most 5) baskets,
  each further basket a minute plus a fitted gap later (none past the week's end), in the
  same store with probability
  ``extra_basket_same_store``; at most ``MAX_BASKETS_PER_WEEK`` baskets a week;
* a basket holds 1 + Poisson(Gamma(shape) x mean / shape) items (at most ``MAX_ITEMS``);
  each item a category from the household's affinities, a product of that category by a
  multinomial logit whose weights are the week's exp(utility), the household's last product
  in the category weighted e^habit times its own, a quantity from the product's quantity
  distribution, its regular value (cents) and a loyalty-card discount when the product is
  on promotion that week and the household uses its card in that department.

Random draws come from one numpy generator in a different order than the kernel's
per-household streams, so the two engines agree in distribution, not row for row.
:meth:`RetailModel.run_weeks` returns rows in the kernel's layout and order.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from scenarios.retail import kernels as K
from scenarios.retail.simulate import Households, Weekly

__all__ = ["Household", "RetailModel"]

MAX_TRIPS_PER_WEEK = K.MAX_BASKETS_PER_WEEK // 2
MAX_EXTRA_BASKETS = 5
MINUTE, HOUR, DAY = 60, 3600, 86400


def _pick(cumulative: np.ndarray, u: float) -> int:
    """The index drawn by uniform ``u`` from cumulative shares ``cumulative`` (the first
    entry above ``u``; the last one when rounding leaves the total just under 1)."""
    return min(int(np.searchsorted(cumulative, u, side="right")), len(cumulative) - 1)


class Household(mesa.Agent):
    """A household of the shard (row ``row`` of its :class:`Households`)."""

    def __init__(self, model: RetailModel, row: int):
        super().__init__(model)
        h = model.households
        self.row = row
        self.first_week = int(h.first_week[row])
        self.last_week = int(h.last_week[row])
        self.trip_rate = float(h.trip_rate[row])
        self.items_mean = float(h.items_mean[row])
        self.home_store = int(h.home_store[row])
        self.home_share = float(h.home_share[row])
        self.affinity = h.affinity[row]  # cumulative category shares
        self.last_product = model.last_product[row]  # a view: updates reach the engine's array
        self.busy_until = int(model.busy_until[row])
        self.rows: list[tuple[int, ...]] = []  # this chunk's rows, basket counted per household
        self.baskets = 0

    def step(self) -> None:
        """Shop through the model's current week."""
        week = self.model.week
        if not self.first_week <= week <= self.last_week:
            return
        m = self.model
        rng = m.rng
        baskets_this_week = 0
        for start in self.trip_starts(week):
            time = max(start, self.busy_until + K.TRIP_GAP_SECONDS)
            if time >= m.weekly.week_start_seconds[week] + 7 * DAY:
                continue  # pushed out of its week by the trips before it: not made
            store = self.home_store if rng.random() < self.home_share else m.other_store()
            extra = min(int(rng.geometric(1.0 / (1.0 + m.extra_mean))) - 1, MAX_EXTRA_BASKETS)
            for b in range(1 + extra):
                if baskets_this_week >= K.MAX_BASKETS_PER_WEEK:
                    break
                baskets_this_week += 1
                if b > 0:
                    time += MINUTE + int(m.gap_minutes(rng.random()) * MINUTE)
                    if time >= m.weekly.week_start_seconds[week] + 7 * DAY:
                        break  # a trip's last baskets stay in its week
                    if rng.random() >= m.same_store:
                        store = m.other_store()
                self.busy_until = time
                self.basket(week, store, time)
        m.busy_until[self.row] = self.busy_until

    def trip_starts(self, week: int) -> list[int]:
        """Epoch seconds of this week's trips, in time order."""
        m = self.model
        rng = m.rng
        trips = min(int(rng.poisson(self.trip_rate * m.weekly.season[week])), MAX_TRIPS_PER_WEEK)
        starts = []
        for _ in range(trips):
            day = _pick(m.weekly.weekday_offset_cum, rng.random())
            hour = _pick(m.hour_cum, rng.random())
            second = int(rng.random() * HOUR)
            starts.append(int(m.weekly.week_start_seconds[week]) + day * DAY + hour * HOUR
                          + second)  # fmt: skip
        return sorted(starts)

    def basket(self, week: int, store: int, time: int) -> None:
        """One basket: its items' rows."""
        m = self.model
        rng = m.rng
        mean = self.items_mean
        items = 1 + int(rng.poisson(rng.gamma(m.items_shape) * mean / m.items_shape))
        items = min(items, K.MAX_ITEMS)
        for _ in range(items):
            category = _pick(self.affinity, rng.random())
            if m.category_end[category] <= m.category_start[category]:
                continue  # a category without products sells nothing
            department = int(m.category_department[category])
            product = m.choose_product(week, category, int(self.last_product[category]),
                                       m.habit[department])  # fmt: skip
            self.last_product[category] = product
            quantity = m.quantity(product)
            regular = int(np.round(m.weekly.unit_price[product] * quantity * 100.0))
            discount = 0
            if m.weekly.on_promotion[week, product] and rng.random() < m.card_share[department]:
                discount = int(np.round(regular * m.weekly.depth[week, product]))
            self.rows.append((self.row, int(m.store_ids[store]), self.baskets, product,
                              quantity, regular, discount, time))  # fmt: skip
        self.baskets += 1


class RetailModel(mesa.Model):
    """The households of one shard shopping week by week.

    Parameters
    ----------
    households, weekly
        The shard's households and the run's weekly tables
        (:func:`scenarios.retail.simulate.build_households`, ``weekly_tables``).
    inputs
        :func:`scenarios.retail.engine.kernel_inputs` of the run's parameters.
    scalars
        The fitted scalars (``items_dispersion``, ``extra_baskets_per_trip``,
        ``extra_basket_same_store``).
    last_product, busy_until
        int32 (n, n_categories) and int64 (n,) state of the households, updated in place as
        the kernel updates them.
    basket
        The first basket id; ids count up from it, household by household within a chunk.
    rng
        The shard's ``numpy.random.Generator``.
    """

    def __init__(self, households: Households, weekly: Weekly, inputs: dict, scalars: dict,
                 last_product: np.ndarray, busy_until: np.ndarray, basket: int,
                 rng: np.random.Generator):  # fmt: skip
        super().__init__(rng=rng)
        self.households, self.weekly = households, weekly
        self.last_product, self.busy_until = last_product, busy_until
        self.next_basket = int(basket)
        self.hour_cum = inputs["hour_cum"]
        self.gap_quantiles = inputs["gap_quantiles"]
        self.gap_levels = np.linspace(0.0, 1.0, len(self.gap_quantiles))
        self.other_store_cum = inputs["other_store_cum"]
        self.store_ids = inputs["store_ids"]
        self.category_start = inputs["category_start"]
        self.category_end = inputs["category_end"]
        self.category_department = inputs["category_department"]
        self.card_share, self.habit = inputs["card_share"], inputs["habit"]
        self.quantity_group = inputs["quantity_group"]
        self.quantity_values, self.quantity_cum = inputs["quantity_values"], inputs["quantity_cum"]
        self.quantity_start, self.quantity_end = inputs["quantity_start"], inputs["quantity_end"]
        self.items_shape = float(scalars["items_dispersion"])
        self.extra_mean = float(scalars["extra_baskets_per_trip"])
        self.same_store = float(scalars["extra_basket_same_store"])
        self.week = 0
        self._weights: dict[tuple[int, int], np.ndarray] = {}
        for row in range(len(households.ids)):
            Household(self, row)

    # -- shared draws -----------------------------------------------------------------------

    def other_store(self) -> int:
        """A store (index into ``store_ids``) drawn by the stores' occasional weights."""
        return _pick(self.other_store_cum, self.rng.random())

    def gap_minutes(self, u: float) -> float:
        """Minutes between two baskets of a trip at quantile ``u`` (linear between the
        fitted quantiles)."""
        return float(np.interp(u, self.gap_levels, self.gap_quantiles))

    def category_weights(self, week: int, category: int) -> np.ndarray:
        """Running sum of exp(utility) over the category's products in ``week``."""
        key = (week, category)
        if key not in self._weights:
            start, end = self.category_start[category], self.category_end[category]
            self._weights[key] = np.cumsum(self.weekly.utility[week, start:end])
        return self._weights[key]

    def choose_product(self, week: int, category: int, last: int, habit: float) -> int:
        """A product of ``category`` by multinomial logit: each product's weight is its
        exp(utility) in ``week``, the household's last product in the category (``last``,
        -1 for none) weighted e^habit times its own."""
        rng = self.rng
        start = int(self.category_start[category])
        cumulative = self.category_weights(week, category)
        total = cumulative[-1]

        def by_utility() -> int:
            return start + _pick(cumulative, rng.random() * total)

        if last < 0:
            return by_utility()
        own = self.weekly.utility[week, last]
        habitual = math.exp(habit) * own
        if rng.random() * (total - own + habitual) < habitual:
            return last
        while True:  # another product, by utility: redraw until it is not the last one
            product = by_utility()
            if product != last:
                return product

    def quantity(self, product: int) -> int:
        """A quantity from the product's quantity distribution."""
        g = self.quantity_group[product]
        start, end = self.quantity_start[g], self.quantity_end[g]
        return int(self.quantity_values[start + _pick(self.quantity_cum[start:end],
                                                      self.rng.random())])  # fmt: skip

    # -- running ----------------------------------------------------------------------------

    def step(self) -> None:
        """One week of every household."""
        self.agents.do("step")

    def run_weeks(self, week_from: int, week_to: int) -> np.ndarray:
        """Simulate weeks [week_from, week_to): rows (int64, shape (len(ROW_FIELDS), m)) in
        the kernel's layout, household by household, each household's in time order."""
        self._weights.clear()
        for agent in self.agents:
            agent.rows, agent.baskets = [], 0
        for week in range(week_from, week_to):
            self.week = week
            self.step()
        rows = [row for agent in self.agents for row in agent.rows]
        out = np.array(rows, dtype=np.int64).reshape(-1, len(K.ROW_FIELDS)).T.copy()
        # basket ids: consecutive from the next free id, in row order (the kernel's)
        basket = out[2]
        new = np.ones(len(basket), bool)
        new[1:] = (basket[1:] != basket[:-1]) | (out[0, 1:] != out[0, :-1])
        ids = self.next_basket + np.cumsum(new) - 1
        self.next_basket += int(new.sum())
        out[2] = ids
        return out
