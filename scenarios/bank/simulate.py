"""Drive one shard of the bank scenario through time, chunk by chunk.

The shard's state (balances) lives here; each day is generated and settled by an engine:
the Numba kernels (default) or the Mesa reference model. Both emit the same output table
(see :mod:`scenarios.bank.kernels`), converted to Arrow by :mod:`scenarios.bank.tables`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from rules.financial_crime import TYPOLOGIES
from rules.oversampling import Oversampling
from rules.schedules import guide_table, stack_hour_cdfs
from rules.typology import compile_typologies
from scenarios.bank import behaviour as B
from scenarios.bank import kernels as K
from scenarios.bank.population import MerchantIndex
from simulations.bits import new_bits

__all__ = ["ShardInputs", "kernel_inputs", "calendar_days", "run_kernel", "epoch_seconds",
           "business_row_share"]



@dataclass(frozen=True)
class ShardInputs:
    """Everything an engine needs for one shard (kernel namedtuples over numpy arrays)."""

    customers: K.Customers
    behaviour: K.Behaviour
    crime: K.Crime
    opening_cents: np.ndarray
    overdraft_cents: np.ndarray
    atm_limit_cents: np.ndarray

    def atm(self, codes) -> tuple:
        """The ATM rails :func:`scenarios.bank.kernels.settle` applies: CASH_OUT and atm
        codes, daily limits, and a withdrawn-today counter per account."""
        return (codes[K.CASH_OUT], codes[K.ATM], self.atm_limit_cents,
                np.zeros_like(self.atm_limit_cents))  # fmt: skip


def epoch_seconds(start_date: str) -> int:
    """Unix time in seconds of midnight at the start of ``start_date`` (ISO date)."""
    return calendar.timegm(dt.date.fromisoformat(start_date).timetuple())


def calendar_days(start_date: str, days: int) -> np.ndarray:
    """Per simulated day: weekday (Monday 0), day of month, days in month; shape (days, 3)."""
    first = dt.date.fromisoformat(start_date)
    rows = []
    for d in range(days):
        date = first + dt.timedelta(days=d)
        rows.append((date.weekday(), date.day, calendar.monthrange(date.year, date.month)[1]))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def case_probabilities(config: dict, names: list[str]) -> np.ndarray:
    """Probability that a customer-day starts a case of each typology: its rate per year over
    365, times the oversampling factor (refused where that would exceed 1)."""
    rates = {**config["fraud"], **config["laundering"]}
    return Oversampling(config["oversampling"]["factor"]).rates(
        np.array([rates[name] / 365.0 for name in names]), limit=1.0,
        names=[f"The daily case probability of {name}" for name in names])


def kernel_inputs(config: dict, state, merchants, index: MerchantIndex) -> ShardInputs:
    """Translate the config, the shard's population and the rule tables into kernel inputs."""
    beh = config["behaviour"]
    schedules = [s.name for s in B.SCHEDULES]
    types = {name: code for code, name in enumerate(B.TRANSACTION_TYPES)}
    channels = {name: code for code, name in enumerate(B.CHANNELS)}
    vocabulary = {**types, **channels, **{name: k for k, name in enumerate(schedules)}}
    codes = np.array([vocabulary[name] for name in K.CODE_NAMES], dtype=np.int64)
    cards = B.CARD_CATEGORIES
    weights = np.array([c.weight for c in cards])
    cash_amounts, cash_p = B.CASH_WITHDRAWAL_AMOUNTS
    rates = np.zeros(K.N_RATES)
    for entry, key in ((K.P_CASH_OUT, "cash_withdrawals_per_month"),
                       (K.P_CASH_IN, "cash_deposits_per_month"),
                       (K.P_TRANSFER, "transfers_per_month"),
                       (K.P_EXT_OUT, "external_transfers_out_per_month"),
                       (K.P_EXT_IN, "external_transfers_in_per_month"),
                       (K.P_SWEEP, "savings_sweeps_per_month"),
                       (K.P_MICRO, "micro_bursts_per_month"),
                       (K.P_SPREE, "shopping_trips_per_month"),
                       (K.P_PASS, "cash_passed_on_per_month")):  # fmt: skip
        rates[entry] = beh[key] / B.DAYS_PER_MONTH
    rates[K.P_TAKINGS] = B.FLOWS["takings"].per_month / B.DAYS_PER_MONTH
    rates[K.P_CLIENT] = B.FLOWS["client_payment"].per_month / B.DAYS_PER_MONTH
    rates[K.IN_REGION], rates[K.LARGE_SHARE] = beh["in_region_share"], B.LARGE_TRANSFER_SHARE
    rates[K.FEEDBACK], rates[K.SUPPLIER_INSIDE] = B.SPENDING_FEEDBACK, B.SUPPLIER_INSIDE
    rates[K.SWEEP_LO], rates[K.SWEEP_HI] = B.SWEEP_FRACTION
    rates[K.PASS_LO], rates[K.PASS_HI], rates[K.PASS_INSIDE] = B.PASS_THROUGH
    behaviour = K.Behaviour(
        codes=codes,
        rates=rates,
        flows=np.array([[np.log(f.median * 100.0), f.sigma] for f in B.FLOWS.values()]),
        bursts=np.array(B.MICRO_BURST + B.SPREE, dtype=np.int64),
        cat_cdf=(cat_cdf := np.cumsum(weights) / weights.sum()),
        cat_guide=guide_table(cat_cdf),
        cat_mu=np.log(np.array([c.median * 100.0 for c in cards])),
        cat_sigma=np.array([c.sigma for c in cards]),
        cat_online=np.array([c.online_share for c in cards]),
        cat_schedule=np.array([schedules.index(c.schedule) for c in cards], dtype=np.int64),
        schedule_cdf=(schedule_cdf := stack_hour_cdfs(list(B.SCHEDULES))),
        schedule_guide=guide_table(schedule_cdf),
        schedule_weekday=np.array([s.weekday for s in B.SCHEDULES]),
        card_weekday=B.CARD_WEEKDAY.astype(np.float64),
        cash_cents=(cash_amounts * 100).astype(np.int64),
        cash_cdf=(cash_cdf := np.cumsum(cash_p) / cash_p.sum()),
        cash_guide=guide_table(cash_cdf),
        bill_variable=np.array([False, True, False]),
        small_categories=_category_codes(B.SMALL_PAYMENT_CATEGORIES),
        spree_categories=_category_codes(B.HIGH_VALUE_CATEGORIES),
        merchant_order=index.order,
        merchant_offsets=index.offsets,
        n_regions=len(B.REGIONS),
    )
    compiled = compile_typologies(TYPOLOGIES, types, channels)
    crime = K.Crime(
        steps=compiled.steps,
        bounds=compiled.bounds,
        start_cdf=compiled.start_cdf,
        start_guide=guide_table(compiled.start_cdf),
        p_case=case_probabilities(config, compiled.names),
        threshold_cents=np.int64(round(config["laundering"]["reporting_threshold"] * 100)),
        high_categories=_category_codes(B.HIGH_VALUE_CATEGORIES),
        mimicry=np.array([config["difficulty"][name] for name in compiled.names]),
        business_share=business_row_share(beh, state, compiled, types),
        first_weekday=np.int64(dt.date.fromisoformat(config["run"]["start_date"]).weekday()),
    )
    is_mule, business = state["is_mule"], state["supplier_per_day"] > 0
    days = calendar_days(config["run"]["start_date"], 1)
    customers = K.Customers(
        card_rate=state["card_rate"],
        log_spend=state["log_spend"],
        pay_day=state["pay_day"].astype(np.int64),
        pay_second=state["pay_second"].astype(np.int64),
        income_cents=state["income_cents"],
        bill_day=state["bill_day"].astype(np.int64),
        bill_cents=state["bill_cents"],
        bill_merchant=state["bill_merchant"],
        region=state["region"].astype(np.int64),
        target_cents=state["opening_cents"] - state["income_cents"] * K.pay_phase(
            days[0, 1], days[0, 2], state["pay_day"].astype(np.int64)),
        # infinite for mules: crime money passing through does not change their spending
        scale_cents=np.where(is_mule, np.inf, state["scale_cents"]),
        supplier_per_day=state["supplier_per_day"],
        businesses=np.flatnonzero(state["supplier_per_day"] > 0).astype(np.int64),
        mules=np.flatnonzero(is_mule).astype(np.int64),
        business_mules=np.flatnonzero(is_mule & business).astype(np.int64),
        individual_mules=np.flatnonzero(is_mule & ~business).astype(np.int64),
        victims=np.flatnonzero(~is_mule).astype(np.int64),
    )
    return ShardInputs(customers, behaviour, crime, state["opening_cents"],
                       state["overdraft_cents"], state["atm_limit_cents"])  # fmt: skip


def business_row_share(beh: dict, state, compiled, types: dict) -> np.ndarray:
    """Per typology, the share of the ordinary rows of its first step's type (cash paid in,
    or transfers) that the shard's business mules would make among all its mules; a
    mimicking case draws its mules from businesses this often, so that they take part in
    such rows as often as ordinary accounts of their kind do. Zero for other types."""
    months = B.DAYS_PER_MONTH
    cash_in = beh["cash_deposits_per_month"] + beh["cash_passed_on_per_month"]
    transfers = sum(beh[key] for key in (
        "transfers_per_month", "external_transfers_out_per_month",
        "external_transfers_in_per_month", "savings_sweeps_per_month",
        "cash_passed_on_per_month"))  # fmt: skip
    is_mule, supplier = state["is_mule"], state["supplier_per_day"]
    n_business = int((is_mule & (supplier > 0)).sum())
    n_individual = int(is_mule.sum()) - n_business
    suppliers = float(supplier[supplier > 0].mean()) * months if n_business else 0.0
    cash_weekday = next(s.weekday for s in B.SCHEDULES if s.name == "cash")
    takings = B.FLOWS["takings"].per_month * float(np.mean(cash_weekday))
    per_month = {  # (an individual's rows, a business's rows) per month
        types["CASH_IN"]: (cash_in, cash_in + takings),
        types["TRANSFER"]: (transfers, transfers + B.FLOWS["client_payment"].per_month
                            + suppliers),
    }  # fmt: skip
    shares = np.zeros(len(compiled.names))
    for k, (first, _) in enumerate(compiled.bounds[:, :2]):
        individual, business = per_month.get(int(compiled.steps[first, 2]), (0.0, 0.0))
        total = n_individual * individual + n_business * business
        shares[k] = n_business * business / total if total > 0 else 0.0
    return shares


def _category_codes(names) -> np.ndarray:
    categories = [c.name for c in B.MERCHANT_CATEGORIES]
    return np.array([categories.index(name) for name in names], dtype=np.int64)


def run_kernel(
    inputs: ShardInputs, config: dict, rng: np.random.Generator
) -> Iterator[tuple[np.ndarray, int, np.ndarray, np.ndarray]]:
    """Simulate the shard with the Numba kernels, one chunk of days at a time.

    Yields
    ------
    out, n, balance, n_cases
        The chunk's output table and row count, the running balances (cents, updated in
        place) and the cases started so far per typology. ``out`` is reused by the next
        chunk: copy what you need from it before advancing the generator.
    """
    run = config["run"]
    days = calendar_days(run["start_date"], run["days"])
    balance = inputs.opening_cents.copy()
    # Crime gets its own stream, split off before anything else is drawn; the customers'
    # streams are keyed by (key, day, customer), so a crime rate changes no ordinary draw.
    crime_rng = np.random.default_rng(rng.integers(0, 2**63, size=4))
    crime_bits = new_bits(crime_rng)
    key = new_bits(rng)[0]
    n_cases = np.zeros(len(inputs.crime.p_case), dtype=np.int64)
    expected = int(len(balance) * (config["behaviour"]["card_payments_per_day"] + 0.8))
    atm = inputs.atm(inputs.behaviour.codes)
    cand, m = K.new_candidates(2 * expected), 0
    # One output buffer for all chunks: fresh pages cost a fault each on first write,
    # which was half of the booking time when every chunk had a new buffer.
    out = K.new_output(expected * min(run["chunk_days"], run["days"]))
    for first in range(0, run["days"], run["chunk_days"]):
        last = min(first + run["chunk_days"], run["days"])
        n_out = 0
        for day in range(first, last):
            weekday, dom, dim = days[day]
            cand, m = K.generate_day(day, weekday, dom, dim, inputs.customers, inputs.behaviour,
                                     inputs.crime, balance, key, crime_rng, crime_bits,
                                     cand, m, n_cases)  # fmt: skip
            out, n_out, m = K.settle(cand, m, (day + 1) * 86400, balance,
                                     inputs.overdraft_cents, atm, out, n_out)  # fmt: skip
        yield out, n_out, balance, n_cases
