"""Configuration schema of the bank scenario (defaults live in ``default.toml``)."""

from __future__ import annotations

from pathlib import Path

from rules import oversampling
from rules.financial_crime import FRAUD_TYPOLOGIES, LAUNDERING_TYPOLOGIES
from scenarios.bank import alerts, sessions
from simulations.params import Interval, Options, Param

__all__ = ["DEFAULT_CONFIG", "SCHEMA", "CASE_RATE"]

DEFAULT_CONFIG = Path(__file__).with_name("default.toml")

CASE_RATE = Param(
    "float", Interval(float, 0.0, 365.0), "cases started per customer per year", "1/year"
)
_RATE_PER_MONTH = Interval(float, 0.0, 30.0)

SCHEMA = {
    "run": {
        "seed": Param("int", Interval(int, 0, 2**63 - 1), "root seed of every random stream"),
        "start_date": Param("date", None, "first simulated day"),
        "days": Param("int", Interval(int, 1, 3660), "number of simulated days", "days"),
        "shard_size": Param(
            "int", Interval(int, 100, 10_000_000),
            "customers per shard; transfers and rings stay inside a shard", "customers",
        ),
        "chunk_days": Param(
            "int", Interval(int, 1, 366), "days simulated between writes (bounds memory)", "days"
        ),
    },
    "population": {
        "n_customers": Param("int", Interval(int, 1, 10**9), "number of customers"),
        "n_merchants": Param(
            "int", Interval(int, 20, 10**8), "number of merchants (at least one per category)"
        ),
        "mule_fraction": Param(
            "float", Interval(float, 0.0, 0.5, closed="neither"),
            "share of accounts controlled as mules by criminals",
        ),
        "marginals": Param(
            "str", None,
            "census marginals customers are synthesised from: a shipped set (us_2022) or a "
            "folder of tidy CSV files covering age_band, sex, region, household_income",
        ),
        "locale": Param(
            "str", Options(["en_US", "en_GB", "en_CA", "en_AU"]), "Faker locale of names"
        ),
    },
    "behaviour": {
        "card_payments_per_day": Param(
            "float", Interval(float, 0.0, 50.0), "mean card payments per customer per day", "1/day"
        ),
        "cash_withdrawals_per_month": Param(
            "float", _RATE_PER_MONTH, "ATM withdrawals per customer per month", "1/month"
        ),
        "cash_deposits_per_month": Param(
            "float", _RATE_PER_MONTH, "cash deposits per customer per month", "1/month"
        ),
        "transfers_per_month": Param(
            "float", _RATE_PER_MONTH, "transfers to other customers per month", "1/month"
        ),
        "external_transfers_out_per_month": Param(
            "float", _RATE_PER_MONTH, "transfers to accounts at other banks per month",
            "1/month",
        ),
        "external_transfers_in_per_month": Param(
            "float", _RATE_PER_MONTH, "transfers received from other banks per month", "1/month"
        ),
        "savings_sweeps_per_month": Param(
            "float", _RATE_PER_MONTH,
            "moves of 20-80% of the balance to savings at another bank per month", "1/month",
        ),
        "micro_bursts_per_month": Param(
            "float", _RATE_PER_MONTH,
            "bursts of 3-30 small payments (in-app purchases, fares) per month", "1/month",
        ),
        "shopping_trips_per_month": Param(
            "float", _RATE_PER_MONTH,
            "trips with 3-8 card payments in high-value stores within hours, per month",
            "1/month",
        ),
        "cash_passed_on_per_month": Param(
            "float", _RATE_PER_MONTH,
            "cash deposits of which 85-99% is transferred on one to four days later (money "
            "collected for family, remittances), per month", "1/month",
        ),
        "business_share": Param(
            "float", Interval(float, 0.0, 1.0),
            "share of working-age customers (23-66) with a small business's flows (cash "
            "takings, client and supplier payments) through the account",
        ),
        "in_region_share": Param(
            "float", Interval(float, 0.0, 1.0), "share of card payments in the home region"
        ),
    },
    "fraud": {t.name: CASE_RATE for t in FRAUD_TYPOLOGIES},
    "laundering": {
        **{t.name: CASE_RATE for t in LAUNDERING_TYPOLOGIES},
        "reporting_threshold": Param(
            "float", Interval(float, 0.0, None, closed="neither"),
            "cash amount that triggers a currency transaction report", "USD",
        ),
    },
    "difficulty": {
        t.name: Param(
            "float", Interval(float, 0.0, 1.0),
            "mimicry: share of cases that pass for ordinary activity (each row at an ordinary "
            "time, through an ordinary channel, to ordinary payees, for the amount of the "
            "ordinary flow it resembles); 0 gives every case its textbook signature (easy to "
            "detect), 1 none",
        )
        for t in FRAUD_TYPOLOGIES + LAUNDERING_TYPOLOGIES
    },
    "oversampling": oversampling.SCHEMA,
    "sessions": sessions.CONFIG_SCHEMA,
    "alerts": alerts.CONFIG_SCHEMA,
    "reporting": {
        "fraud_median_days": Param(
            "float", Interval(float, 0.0, 365.0, closed="neither"),
            "median delay before a fraud case is reported (log-normal)", "days",
        ),
        "fraud_sigma": Param(
            "float", Interval(float, 0.0, 5.0), "sigma of the log of the fraud report delay",
        ),
        "laundering_median_days": Param(
            "float", Interval(float, 0.0, 3650.0, closed="neither"),
            "median delay before a laundering case is reported (log-normal)", "days",
        ),
        "laundering_sigma": Param(
            "float", Interval(float, 0.0, 5.0),
            "sigma of the log of the laundering report delay",
        ),
    },
}  # fmt: skip
