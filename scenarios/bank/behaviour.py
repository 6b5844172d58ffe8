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
    "TRANSACTION_TYPES", "CHANNELS", "STATUSES", "SEXES", "SEGMENTS", "REGIONS",
    "REGION_POPULATION", "Category", "CARD_CATEGORIES", "BILL_CATEGORIES",
    "MERCHANT_CATEGORIES", "HIGH_VALUE_CATEGORIES", "SCHEDULES", "CARD_WEEKDAY",
    "CASH_WITHDRAWAL_AMOUNTS", "SEGMENT_OVERDRAFT", "SEGMENT_CARD_ACTIVITY",
]  # fmt: skip

TRANSACTION_TYPES = ("PAYMENT", "TRANSFER", "CASH_OUT", "CASH_IN", "SALARY", "BILL")
CHANNELS = ("card_present", "online", "mobile", "atm", "branch", "direct_debit", "direct_credit")
STATUSES = ("approved", "declined")
SEXES = ("F", "M")
SEGMENTS = ("student", "mass", "affluent", "retired")

REGIONS = ("Northeast", "Midwest", "South", "West")
REGION_POPULATION = np.array([57_609_148, 68_985_454, 126_266_107, 78_588_572], dtype=np.int64)
"""Resident population of the four US Census regions, 2020 Census (U.S. Census Bureau,
"2020 Census Apportionment Results" / table P1, released April 2021)."""

SCHEDULES = (
    Schedule("daytime",
             (0, 0, 0, 0, 0, 1, 2, 4, 6, 8, 9, 10, 11, 10, 9, 9, 10, 11, 10, 8, 6, 4, 2, 1),
             weekday=(0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 0.85)),
    Schedule("meals",
             (0, 0, 0, 0, 0, 0, 1, 3, 4, 2, 2, 6, 10, 8, 3, 2, 3, 6, 10, 10, 7, 4, 2, 1),
             weekday=(0.8, 0.85, 0.9, 1.0, 1.25, 1.35, 0.85)),
    Schedule("commute",
             (0, 0, 0, 0, 1, 3, 8, 10, 8, 5, 4, 4, 5, 4, 4, 6, 9, 10, 7, 4, 3, 2, 1, 1),
             weekday=(1.05, 1.05, 1.05, 1.05, 1.05, 0.85, 0.7)),
    Schedule("evening",
             (2, 1, 1, 0, 0, 0, 1, 2, 3, 3, 3, 4, 4, 4, 4, 4, 5, 6, 8, 10, 10, 9, 6, 4),
             weekday=(1.0, 1.0, 1.0, 1.0, 1.05, 1.1, 1.1)),
    Schedule("cash",
             (0, 0, 0, 0, 0, 0, 1, 3, 5, 6, 7, 8, 9, 8, 7, 7, 8, 9, 8, 6, 4, 2, 1, 0),
             weekday=(0.9, 0.9, 0.95, 1.0, 1.2, 1.2, 0.8)),
    Schedule("overnight", (6, 8, 8, 8, 8, 6, 4) + (0,) * 17),
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
CARD_WEEKDAY = np.array([0.92, 0.95, 0.97, 1.0, 1.12, 1.2, 0.84])
"""Card-payment rate multiplier Monday..Sunday (mean 1.0)."""

CASH_WITHDRAWAL_AMOUNTS = (
    np.array([20, 40, 60, 80, 100, 200, 300]),
    np.array([0.10, 0.20, 0.15, 0.10, 0.25, 0.15, 0.05]),
)
"""ATM withdrawal amounts in dollars and their probabilities."""

SEGMENT_OVERDRAFT = np.array([250.0, 1_000.0, 5_000.0, 500.0])
"""Arranged overdraft limit of each segment in dollars (student, mass, affluent, retired)."""
SEGMENT_CARD_ACTIVITY = np.array([1.1, 1.0, 1.3, 0.7])
"""Card-payment rate multiplier of each segment."""
