"""Normal banking behaviour as data: vocabularies, merchant categories, schedules, segments.

These tables are modelling assumptions, chosen to give plausible retail-banking shapes
(daytime grocery spend, evening dining, pay-day spikes, weekend peaks); both the Mesa
reference model and the Numba kernel read them. Amounts are in US dollars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rules.schedules import Schedule

__all__ = [
    "DAYS_PER_MONTH", "TRANSACTION_TYPES", "CHANNELS", "STATUSES", "SEXES", "SEGMENTS", "REGIONS",
    "REGION_POPULATION", "Category", "CARD_CATEGORIES", "BILL_CATEGORIES",
    "MERCHANT_CATEGORIES", "HIGH_VALUE_CATEGORIES", "SCHEDULES", "CARD_WEEKDAY",
    "CASH_WITHDRAWAL_AMOUNTS", "AS_MUCH_AS_ALLOWED", "SEGMENT_OVERDRAFT",
    "SEGMENT_CARD_ACTIVITY", "SEGMENT_ATM_LIMIT",
    "SMALL_PAYMENT_CATEGORIES", "Flow", "FLOWS", "LARGE_TRANSFER_SHARE", "BUSINESS_PASS_ON",
    "SUPPLIER_INSIDE", "MICRO_BURST", "SPREE", "PASS_THROUGH", "SWEEP_FRACTION",
    "SPENDING_FEEDBACK", "COUNTERPARTY_BANKS",
]  # fmt: skip

TRANSACTION_TYPES = ("PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "SALARY", "BILL")
CHANNELS = ("card_present", "online", "mobile", "atm", "branch", "direct_debit", "direct_credit")
STATUSES = ("approved", "declined")
SEXES = ("F", "M")
SEGMENTS = ("student", "mass", "affluent", "retired", "business")

DAYS_PER_MONTH = 365.25 / 12
"""Mean days in a month: rates "per month" become per-day probabilities with it."""

REGIONS = ("Northeast", "Midwest", "South", "West")
REGION_POPULATION = np.array([57_609_148, 68_985_454, 126_266_107, 78_588_572], dtype=np.int64)
"""Resident population of the four US Census regions, 2020 Census (U.S. Census Bureau,
"2020 Census Apportionment Results" / table P1, released April 2021)."""

SCHEDULES = (
    Schedule("daytime",
             (0.4, 0.2, 0.15, 0.15, 0.2, 1, 2, 4, 6, 8, 9, 10, 11, 10, 9, 9, 10, 11, 10, 8, 6, 4, 2,
              1),
             weekday=(0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 0.85)),
    Schedule("meals",
             (0.6, 0.4, 0.2, 0.15, 0.15, 0.3, 1, 3, 4, 2, 2, 6, 10, 8, 3, 2, 3, 6, 10, 10, 7, 4, 2,
              1),
             weekday=(0.8, 0.85, 0.9, 1.0, 1.25, 1.35, 0.85)),
    Schedule("commute",
             (0.4, 0.3, 0.3, 0.4, 1, 3, 8, 10, 8, 5, 4, 4, 5, 4, 4, 6, 9, 10, 7, 4, 3, 2, 1, 1),
             weekday=(1.05, 1.05, 1.05, 1.05, 1.05, 0.85, 0.7)),
    Schedule("evening",
             (2, 1.2, 0.8, 0.6, 0.5, 0.6, 1, 2, 3, 3, 3, 4, 4, 4, 4, 4, 5, 6, 8, 10, 10, 9, 6, 4),
             weekday=(1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.1)),
    Schedule("cash",
             (0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1, 3, 5, 6, 7, 8, 9, 8, 7, 7, 8, 9, 8, 6, 4, 2, 1.5, 1),
             weekday=(0.9, 0.9, 0.95, 1.0, 1.2, 1.2, 0.8)),
    Schedule("overnight", (6, 8, 8, 8, 8, 6, 4) + (0,) * 17),
    Schedule("opening_hours", (0,) * 9 + (3, 4, 4, 4, 4, 4, 4, 3) + (0,) * 7,
             weekday=(1.0, 1.0, 1.0, 1.0, 1.1, 0.6, 0.0)),
)  # fmt: skip
"""Activity schedules referenced by name from the tables below."""


@dataclass(frozen=True)
class Category:
    """A merchant category and how card payments there look.

    Parameters
    ----------
    name : str
    weight : float
        Share of card payments (card categories) or of merchants (bill categories).
    median : float
        Median amount in dollars; amounts are log-normal.
    sigma : float
        Standard deviation of log(amount).
    online_share : float
        Probability that a card payment here is made online rather than in person.
    schedule : str
        Name of the schedule in :data:`SCHEDULES` giving its time of day.
    mcc : int
        ISO 18245 merchant category code of the category's merchants.
    """

    name: str
    weight: float
    median: float
    sigma: float
    online_share: float = 0.0
    schedule: str = "daytime"
    mcc: int = 0


CARD_CATEGORIES = (
    Category("grocery", 0.26, 45.0, 0.70, 0.05, "daytime", 5411),
    Category("restaurant", 0.16, 28.0, 0.60, 0.10, "meals", 5812),
    Category("fuel", 0.08, 48.0, 0.40, 0.00, "commute", 5541),
    Category("retail", 0.14, 60.0, 0.90, 0.35, "daytime", 5311),
    Category("online_services", 0.10, 15.0, 0.80, 1.00, "evening", 5817),
    Category("entertainment", 0.07, 35.0, 0.70, 0.50, "evening", 7999),
    Category("travel", 0.03, 220.0, 0.90, 0.60, "daytime", 4722),
    Category("health", 0.06, 40.0, 0.80, 0.10, "daytime", 5912),
    Category("electronics", 0.05, 180.0, 0.90, 0.50, "daytime", 5732),
    Category("jewelry", 0.01, 300.0, 0.90, 0.30, "daytime", 5944),
    Category("transport", 0.04, 12.0, 0.50, 0.30, "commute", 4111),
)
BILL_CATEGORIES = (
    Category("housing", 0.03, 0.0, 0.0, mcc=6513),
    Category("utilities", 0.01, 150.0, 0.35, mcc=4900),
    Category("telecom", 0.01, 65.0, 0.25, mcc=4814),
)
"""Bill payees. ``median`` 0 for housing: rent is a share of income (see population).

Merchant category codes are ISO 18245's, with the titles of the Visa Merchant Data Standards
Manual: 5411 grocery stores and supermarkets, 5812 eating places and restaurants, 5541
service stations, 5311 department stores, 5817 digital goods (applications), 7999
recreation services, 4722 travel agencies and tour operators, 5912 drug stores and
pharmacies, 5732 electronics stores, 5944 jewelry stores, 4111 local and suburban commuter
transportation, 6513 real estate agents and managers (rentals), 4900 utilities (electric,
gas, water, sanitary), 4814 telecommunication services."""

MERCHANT_CATEGORIES = CARD_CATEGORIES + BILL_CATEGORIES
HIGH_VALUE_CATEGORIES = ("retail", "travel", "electronics", "jewelry")
SMALL_PAYMENT_CATEGORIES = ("online_services", "transport")
"""Categories where payments of a dollar or two are common (apps, games, streaming add-ons,
transit fares): legitimate micro-payment bursts happen there, and card testers use them."""
CARD_WEEKDAY = np.array([0.92, 0.95, 0.97, 1.0, 1.12, 1.2, 0.84])
"""Card-payment rate multiplier Monday..Sunday (mean 1.0)."""

AS_MUCH_AS_ALLOWED = (10_000, 0.005)
"""A withdrawal of as much as the card allows today (a cash purchase, travel money), asked
for as this many dollars, above every daily limit, and its share of withdrawals (a
modelling assumption)."""


def _withdrawal_amounts() -> tuple[np.ndarray, np.ndarray]:
    notes = np.arange(20, 2_001, 20)
    weight = 40.0 * notes**-1.5  # any multiple of $20 can be keyed in ...
    for amount, extra in ((20, .08), (40, .16), (60, .11), (80, .08), (100, .17), (200, .09),
                          (300, .05), (400, .02), (500, .02), (1000, .005)):  # fmt: skip
        weight[notes == amount] += extra  # ... but the ATM's quick-pick amounts dominate
    most, share = AS_MUCH_AS_ALLOWED
    weight = np.append(weight / weight.sum() * (1 - share), share)
    return np.append(notes, most), weight


CASH_WITHDRAWAL_AMOUNTS = _withdrawal_amounts()
"""ATM withdrawal amounts in dollars (every multiple of $20, the note ATMs dispense, up to
$2,000, then :data:`AS_MUCH_AS_ALLOWED`) and their probabilities: the quick-pick amounts
most, other keyed-in amounts with a tail falling as amount^-1.5 (a modelling assumption).
A draw above the account's daily ATM limit is cut to what the limit leaves."""

SEGMENT_OVERDRAFT = np.array([250.0, 1_000.0, 5_000.0, 500.0, 5_000.0])
"""Arranged overdraft limit of each segment in dollars (student, mass, affluent, retired,
business)."""
SEGMENT_CARD_ACTIVITY = np.array([1.1, 1.0, 1.3, 0.7, 1.2])
"""Card-payment rate multiplier of each segment."""
SEGMENT_ATM_LIMIT = np.array([500.0, 1_000.0, 2_000.0, 800.0, 2_000.0])
"""Daily ATM withdrawal limit of each segment's debit card in dollars: US banks set $300 to
$1,000 on standard cards and more on premium and business cards. Every ATM withdrawal obeys
it, a criminal's included."""


@dataclass(frozen=True)
class Flow:
    """An ordinary money flow with log-normal amounts.

    Parameters
    ----------
    per_month : float
        Mean occurrences per customer per month (rate of the flow's customers).
    median : float
        Median amount in dollars.
    sigma : float
        Standard deviation of log(amount).
    """

    per_month: float
    median: float
    sigma: float

    @property
    def mean(self) -> float:
        """Mean amount in dollars."""
        return self.median * float(np.exp(self.sigma**2 / 2))


FLOWS = {
    "cash_deposit": Flow(0.0, 200.0, 0.8),
    "transfer": Flow(0.0, 80.0, 1.0),
    "large_transfer": Flow(0.0, 2_000.0, 0.9),
    "external_transfer": Flow(0.0, 250.0, 1.2),
    "micro_payment": Flow(0.0, 1.5, 0.6),
    "spree_payment": Flow(0.0, 120.0, 0.8),
    "takings": Flow(6.0, 1_500.0, 1.0),
    "client_payment": Flow(8.0, 1_500.0, 1.4),
    "supplier_payment": Flow(0.0, 2_000.0, 1.2),
    "pass_through": Flow(0.0, 1_500.0, 0.9),
}
"""Amounts of the ordinary flows besides card payments and bills (rates of the first six are
config keys; business flows are monthly rates of business customers, and supplier payments
are paced to pass on ``BUSINESS_PASS_ON`` of receipts). Modelling assumptions, chosen so that
ordinary behaviour covers the amounts, hours and velocities crime uses: a small-business
account takes cash deposits of several thousand dollars, receives and pays five-figure
transfers, and people send money to other banks, move savings, make bursts of in-app
payments, go on shopping trips, and pay in cash that they pass on days later (money
collected for family, a remittance, rent shared out)."""
LARGE_TRANSFER_SHARE = 0.04
"""Share of transfers between customers that are large (rent to a landlord, a car, family
support) and follow ``large_transfer`` rather than ``transfer``."""
BUSINESS_PASS_ON = 0.85
"""Share of a business's receipts paid out to suppliers; the rest is the owner's income."""
SUPPLIER_INSIDE = 0.3
"""Share of supplier payments that go to another business customer of the bank."""
MICRO_BURST = (3, 30, 5, 180)
"""Micro-payment burst: payments (min, max) and seconds between them (min, max)."""
SPREE = (3, 8, 180, 1_500)
"""Shopping trip: card-present payments (min, max) and seconds between them (min, max)."""
PASS_THROUGH = (0.85, 0.99, 0.6)
"""Cash passed on: share of the deposit transferred on (min, max) and the share of those
transfers that go to another customer of the bank (the rest to another bank)."""
SWEEP_FRACTION = (0.2, 0.8)
"""Share of the positive balance a savings sweep moves to an account at another bank."""
SPENDING_FEEDBACK = 2.0
"""Buffer-stock saving (Carroll, "Buffer-stock saving and the life cycle/permanent income
hypothesis", QJE 1997): discretionary spending is multiplied by
exp(SPENDING_FEEDBACK * (balance - aim) / monthly turnover), within [1/4, 4], where the aim
is the opening balance moved along the pay cycle (one income higher just after pay day than
just before the next): people short of their buffer cut back, people above it spend more, so
balances neither drift nor explode, and the cycle itself does not swing spending."""

COUNTERPARTY_BANKS = (
    ("JPMorgan Chase Bank", 11.7), ("Bank of America", 10.8), ("Wells Fargo Bank", 7.8),
    ("Citibank", 4.1), ("U.S. Bank", 2.7), ("PNC Bank", 2.4), ("Truist Bank", 2.3),
    ("Capital One", 1.9), ("TD Bank", 1.8), ("other US bank", 54.5),
)
"""Banks on the other side of transfers to and from outside, with their approximate share
(percent) of US domestic deposits: FDIC Summary of Deposits, June 2023, rounded; the rest
of the market is one "other US bank" category. Criminals' outside accounts follow the same
shares."""
