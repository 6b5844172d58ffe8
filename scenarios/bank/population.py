"""Customers, accounts and merchants of the bank scenario, built from a config and a seed.

Customers are built shard by shard (shard ``s`` holds customers ``s*shard_size`` onward),
each from its own random stream, so any worker can build any shard alone. Merchants are
shared by all shards and built from a run-wide stream.

Money is held in integer cents throughout (int64); tables convert to dollars on output.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from agents.identities import company_names, draw_names
from agents.population import Population
from agents.shards import shard_bounds
from calibration.synthesis import synthesise
from scenarios.bank import behaviour as B
from scenarios.bank.marginals import attributes as _attributes
from scenarios.bank.marginals import income_median, load_marginals
from simulations.columns import label_column
from simulations.seeding import GLOBAL_SHARD, stream

__all__ = [
    "MerchantIndex",
    "MERCHANT_MCC",
    "account_numbers",
    "card_numbers",
    "build_merchants",
    "build_customers",
]

_ACCOUNT_PRIME = 8_999_999_993
_ACCOUNT_MULTIPLIER = 2_654_435_761
_ACCOUNT_OFFSET = 1_234_567_891
_BILL_SLOTS = ("housing", "utilities", "telecom")
_CENTS = 100


def account_numbers(customer_index: np.ndarray) -> np.ndarray:
    """Ten-digit account numbers: a bijection of the customer index that reveals no order.

    An affine map modulo a prime is one-to-one on [0, prime), so numbers never collide, and
    neighbouring customers (and so the shard, the role, the build order) cannot be read back.
    """
    g = np.asarray(customer_index, dtype=np.int64)
    return 1_000_000_000 + (g * _ACCOUNT_MULTIPLIER + _ACCOUNT_OFFSET) % _ACCOUNT_PRIME


_CARD_PRIME = 999_999_999_999_989  # the largest prime below 10**15
_CARD_MULTIPLIER = 377_964_473_245_789
_CARD_OFFSET = 271_828_182_845_904


def card_numbers(customer_index: np.ndarray) -> np.ndarray:
    """Sixteen-digit debit-card numbers (one card per account) starting with 4, another
    affine bijection modulo a prime, so a card number reveals neither the customer's order
    nor the account number."""
    g = np.asarray(customer_index, dtype=np.int64).astype(object)
    numbers = (g * _CARD_MULTIPLIER + _CARD_OFFSET) % _CARD_PRIME  # exact: beyond int64
    return 4_000_000_000_000_000 + numbers.astype(np.int64)


@dataclass(frozen=True)
class MerchantIndex:
    """Merchants grouped by (category, region) for fast sampling.

    Attributes
    ----------
    order : ndarray of int64, shape (n_merchants,)
        Merchant row numbers sorted by category then region.
    offsets : ndarray of int64, shape (n_categories * n_regions + 1,)
        ``order[offsets[c*R + r]:offsets[c*R + r + 1]]`` are the merchants of category c in
        region r; those of category c are ``order[offsets[c*R]:offsets[(c+1)*R]]``.
    """

    order: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, category: np.ndarray, region: np.ndarray) -> MerchantIndex:
        n_regions = len(B.REGIONS)
        key = category.astype(np.int64) * n_regions + region
        order = np.argsort(key, kind="stable")
        counts = np.bincount(key, minlength=len(B.MERCHANT_CATEGORIES) * n_regions)
        return cls(order.astype(np.int64), np.concatenate([[0], np.cumsum(counts)]))

    def pick(
        self,
        category: np.ndarray,
        region: np.ndarray,
        in_region: np.ndarray,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """One merchant row per request: in the region when asked and possible, else any."""
        n_regions = len(B.REGIONS)
        cell = category * n_regions + region
        lo, hi = self.offsets[cell], self.offsets[cell + 1]
        use_region = in_region & (hi > lo)
        lo = np.where(use_region, lo, self.offsets[category * n_regions])
        hi = np.where(use_region, hi, self.offsets[(category + 1) * n_regions])
        return self.order[lo + (rng.random(len(cell)) * (hi - lo)).astype(np.int64)]


# fmt: skip


MERCHANT_MCC = np.array([c.mcc for c in B.MERCHANT_CATEGORIES], dtype=np.int16)
"""ISO 18245 merchant category code of each merchant category code number."""


def build_merchants(config: dict, seed: int) -> tuple[Population, pa.Table]:
    """All merchants: columns ``category``, ``region`` (codes), and the output table (with
    each merchant's ISO 18245 ``mcc``)."""
    rng = stream(seed, GLOBAL_SHARD, "merchants")
    n = config["population"]["n_merchants"]
    weights = np.array([c.weight for c in B.MERCHANT_CATEGORIES])
    n_cat = len(weights)
    # Every category gets at least one merchant, so any category can always be paid; the
    # shuffle keeps merchant ids from revealing which rows were the guaranteed ones.
    category = rng.permutation(
        np.concatenate(
            [np.arange(n_cat), rng.choice(n_cat, size=n - n_cat, p=weights / weights.sum())]
        )
    ).astype(np.int8)
    p_region = B.REGION_POPULATION / B.REGION_POPULATION.sum()
    region = rng.choice(len(B.REGIONS), size=n, p=p_region).astype(np.int8)
    merchants = Population({"category": category, "region": region})
    table = pa.table({
        "merchant_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
        "name": company_names(n, rng, config["population"]["locale"]),
        "category": label_column(category, [c.name for c in B.MERCHANT_CATEGORIES]),
        "region": label_column(region, B.REGIONS),
        "mcc": pa.array(MERCHANT_MCC[category]),
    })  # fmt: skip
    return merchants, table


def _bands(values: pd.Series) -> pa.DictionaryArray:
    """Categorical band labels as a dictionary array (int32 codes, string labels)."""
    codes = pa.array(values.cat.codes.to_numpy().astype(np.int32))
    labels = pa.array([str(c) for c in values.cat.categories], pa.string())
    return pa.DictionaryArray.from_arrays(codes, labels)


def build_customers(
    config: dict, seed: int, shard: int, merchants: Population, index: MerchantIndex
) -> tuple[Population, pa.Table, pa.Table, pd.DataFrame]:
    """Customers of one shard with their accounts.

    Age band, sex, region and household-income band are synthesised from the configured
    marginal tables (``population.marginals``, see :mod:`scenarios.bank.marginals`).

    Returns
    -------
    state : Population
        Columnar state the simulation reads and updates (money in cents); bill columns
        have shape (n, 3) for the housing, utilities and telecom slots (day 0 = no bill).
    customers, accounts : pyarrow.Table
        Output tables (the accounts' closing balances are added after the run).
    fit : pandas.DataFrame
        The synthesis fit report of this shard (targets and achieved counts per cell).
    """
    pop, beh = config["population"], config["behaviour"]
    start, stop = shard_bounds(pop["n_customers"], config["run"]["shard_size"])[shard]
    n = stop - start
    rng = stream(seed, shard, "population")
    g = np.arange(start, stop, dtype=np.int64)

    marginals = load_marginals(pop["marginals"])
    people = synthesise(marginals, n, rng=rng)
    age, is_male, region, income = _attributes(people.population, rng)
    median = income_median(marginals)
    income_cents = np.round(income * _CENTS).astype(np.int64)

    segment = np.full(n, B.SEGMENTS.index("mass"), dtype=np.int8)
    segment[income > 2.5 * median] = B.SEGMENTS.index("affluent")
    segment[(age < 23) & (income < median)] = B.SEGMENTS.index("student")
    segment[age >= 67] = B.SEGMENTS.index("retired")
    working = (age >= 23) & (age < 67)
    segment[working & (rng.random(n) < beh["business_share"])] = B.SEGMENTS.index("business")
    retired = segment == B.SEGMENTS.index("retired")
    business = segment == B.SEGMENTS.index("business")

    pay_day = np.where(retired, 3, rng.choice([1, 15, 25, 28], size=n)).astype(np.int8)
    pay_second = rng.integers(2 * 3600, 6 * 3600, n).astype(np.int32)
    overdraft_cents = np.round(B.SEGMENT_OVERDRAFT[segment] * _CENTS).astype(np.int64)
    atm_limit_cents = np.round(B.SEGMENT_ATM_LIMIT[segment] * _CENTS).astype(np.int64)
    card_rate = (
        beh["card_payments_per_day"] * B.SEGMENT_CARD_ACTIVITY[segment] * rng.gamma(4.0, 0.25, n)
    )
    takings, clients = B.FLOWS["takings"], B.FLOWS["client_payment"]
    # Receipts from outside, plus what other businesses of the bank pay in: SUPPLIER_INSIDE of
    # every business's supplier payments, which are BUSINESS_PASS_ON of its receipts.
    outside = takings.per_month * takings.mean + clients.per_month * clients.mean
    receipts = np.where(business, outside / (1 - B.BUSINESS_PASS_ON * B.SUPPLIER_INSIDE), 0.0)
    supplier_per_day = (receipts * B.BUSINESS_PASS_ON / B.FLOWS["supplier_payment"].mean
                        / B.DAYS_PER_MONTH)  # fmt: skip
    scale = income + receipts  # dollars a month through the account
    opening_cents = np.round(scale * _CENTS * rng.uniform(0.2, 1.5, n)).astype(np.int64)

    bill_day, bill_cents, bill_merchant = _bills(n, retired, income_cents, region, beh, rng,
                                                 index)  # fmt: skip
    log_spend = _log_spend(income + receipts * (1 - B.BUSINESS_PASS_ON), bill_cents,
                           opening_cents, atm_limit_cents, card_rate, beh)
    is_mule = np.zeros(n, dtype=bool)
    n_mules = min(n // 2, max(2, int(round(pop["mule_fraction"] * n))))
    is_mule[rng.choice(n, size=n_mules, replace=False)] = True

    state = Population({
        "account_id": account_numbers(g), "card_id": card_numbers(g), "region": region,
        "segment": segment,
        "income_cents": income_cents, "pay_day": pay_day, "pay_second": pay_second,
        "overdraft_cents": overdraft_cents, "opening_cents": opening_cents,
        "card_rate": card_rate, "log_spend": log_spend, "bill_day": bill_day,
        "bill_cents": bill_cents, "bill_merchant": bill_merchant, "is_mule": is_mule,
        "atm_limit_cents": atm_limit_cents, "scale_cents": np.round(scale * _CENTS),
        "supplier_per_day": supplier_per_day,
    })  # fmt: skip
    first, last = draw_names(is_male, rng, pop["locale"])
    start_day = np.datetime64(dt.date.fromisoformat(config["run"]["start_date"]), "D")
    birth = start_day - (age.astype(np.int64) * 365 + rng.integers(0, 365, n)).astype(
        "timedelta64[D]"
    )
    customers = pa.table(
        {
            "customer_id": pa.array(g + 1),
            "first_name": first,
            "last_name": last,
            "sex": label_column(is_male.astype(np.int8), B.SEXES),
            "birth_date": pa.array(birth),
            "age": pa.array(age),
            "region": label_column(region, B.REGIONS),
            "segment": label_column(segment, B.SEGMENTS),
            "monthly_income": pa.array(income_cents / _CENTS),
            "age_band": _bands(people.population["age_band"]),
            "income_band": _bands(people.population["household_income"]),
        }
    )
    accounts = pa.table(
        {
            "account_id": pa.array(state["account_id"]),
            "customer_id": pa.array(g + 1),
            "overdraft_limit": pa.array(overdraft_cents / _CENTS),
            "atm_daily_limit": pa.array(atm_limit_cents / _CENTS),
            "opening_balance": pa.array(opening_cents / _CENTS),
            "is_mule": pa.array(is_mule),
            "card_id": pa.array(state["card_id"]),
        }
    )
    return state, customers, accounts, people.report


def _log_spend(net_income, bill_cents, opening_cents, atm_limit_cents, card_rate, beh):
    """Shift of log card amounts that makes each customer's expected monthly outgoings match
    the expected incomings: what income and deposits leave after bills, cash, transfers to
    other banks, savings sweeps and micro-payments goes on card payments and shopping
    trips (at least a tenth of income). Customers therefore start in balance, and the
    spending feedback only corrects chance."""
    flows = B.FLOWS
    cash = B.CASH_WITHDRAWAL_AMOUNTS
    atm_mean = (np.minimum(cash[0][None, :] * _CENTS, atm_limit_cents[:, None]) @ cash[1]
                / cash[1].sum() / _CENTS)  # fmt: skip
    bills = bill_cents.sum(axis=1) / _CENTS
    micro_count = sum(B.MICRO_BURST[:2]) / 2
    passed_on = np.mean(B.PASS_THROUGH[:2])
    budget = (
        net_income
        # cash passed on: what the customer keeps, and what others pass to them
        + beh["cash_passed_on_per_month"] * flows["pass_through"].mean
        * (1 - passed_on + passed_on * B.PASS_THROUGH[2])
        + beh["cash_deposits_per_month"] * flows["cash_deposit"].mean
        + beh["external_transfers_in_per_month"] * flows["external_transfer"].mean
        - bills
        - beh["cash_withdrawals_per_month"] * atm_mean
        - beh["external_transfers_out_per_month"] * flows["external_transfer"].mean
        - beh["savings_sweeps_per_month"] * np.mean(B.SWEEP_FRACTION)
        * np.maximum(opening_cents, 0) / _CENTS
        - beh["micro_bursts_per_month"] * micro_count * flows["micro_payment"].mean
    )
    weights = np.array([c.weight for c in B.CARD_CATEGORIES])
    card_mean = weights @ np.array([c.median * np.exp(c.sigma**2 / 2) for c in B.CARD_CATEGORIES])
    per_unit = (card_rate * B.DAYS_PER_MONTH * card_mean / weights.sum()
                + beh["shopping_trips_per_month"] * sum(B.SPREE[:2]) / 2
                * flows["spree_payment"].mean)  # fmt: skip
    return np.log(np.maximum(budget, 0.1 * net_income) / per_unit)


def _bills(n, retired, income_cents, region, beh, rng, index):
    """Monthly direct debits: housing (a share of income, on the 1st), utilities, telecom."""
    slots = len(_BILL_SLOTS)
    day = np.zeros((n, slots), dtype=np.int8)
    cents = np.zeros((n, slots), dtype=np.int64)
    merchant = np.full((n, slots), -1, dtype=np.int64)
    categories = [c.name for c in B.MERCHANT_CATEGORIES]
    pays_housing = rng.random(n) < np.where(retired, 0.5, 0.8)
    for slot, name in enumerate(_BILL_SLOTS):
        has = pays_housing if name == "housing" else np.ones(n, dtype=bool)
        category = B.MERCHANT_CATEGORIES[categories.index(name)]
        if name == "housing":
            amount = income_cents * rng.uniform(0.22, 0.35, n)
            day[:, slot] = np.where(has, 1, 0)
        else:
            amount = category.median * _CENTS * rng.lognormal(0.0, category.sigma, n)
            day[:, slot] = np.where(has, rng.integers(5, 26, n), 0)
        cents[:, slot] = np.where(has, np.round(amount), 0).astype(np.int64)
        codes = np.full(n, categories.index(name), dtype=np.int64)
        picked = index.pick(codes, region.astype(np.int64), rng.random(n) < beh["in_region_share"],
                            rng)  # fmt: skip
        merchant[:, slot] = np.where(has, picked, -1)
    return day, cents, merchant
