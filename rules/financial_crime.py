"""Fraud and money-laundering typologies as rule sets.

The patterns follow the typologies described by FATF ("Money Laundering Using New Payment
Methods", 2010; "Professional Money Laundering", 2018) and those used by the AMLSim and
PaySim generators: account takeover with a mule cash-out, stolen-card bursts, card testing,
and the laundering shapes fan-in, fan-out, cycle and structuring below a reporting threshold.
Criminals use the same rails as everyone: ATM withdrawals are whole $20 notes within the
card's daily limit (so mules pass the rest on by transfer), branch deposits wait for opening
hours, card testers use merchants where small payments are common, and a drain takes a
share of what the account can spend (overdraft included). Each step also says how a case
that mimics ordinary behaviour paces itself (``mimic_delay``, ``mimic_repeat``): like the
ordinary activity it passes for (a stolen or tested card used as its owner uses it, hours
apart; laundering flows days apart, a few deposits at a time).
Amounts are in currency units; delays in seconds.
"""

from __future__ import annotations

from rules.schedules import Schedule
from rules.typology import Step, Typology

__all__ = ["FRAUD_TYPOLOGIES", "LAUNDERING_TYPOLOGIES", "TYPOLOGIES"]

_HOUR = 3600.0
_DAY = 86400.0

# Account takeovers and card fraud cluster at night, when victims are not watching.
_NIGHT = Schedule("night", (5, 5, 5, 4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5))
# Cash is placed during branch hours.
_BRANCH = Schedule("branch", (0,) * 9 + (3, 4, 4, 4, 4, 4, 4, 3) + (0,) * 7)

FRAUD_TYPOLOGIES = (
    Typology(
        "account_takeover",
        "fraud",
        steps=(
            Step("victim", "hub", "TRANSFER", "online", ("balance_fraction", 0.8, 0.99),
                 delay=(0, 600)),
            Step("hub", "external", "CASH_OUT", "atm", ("balance_fraction", 0.9, 1.0),
                 delay=(300, _HOUR), mimic_delay=(_DAY, 3 * _DAY)),
            Step("hub", "external", "TRANSFER", "online", ("balance_fraction", 0.8, 0.95),
                 delay=(1 * _HOUR, 12 * _HOUR), mimic_delay=(_DAY, 5 * _DAY)),
        ),
        start=_NIGHT,
    ),
    Typology(
        "stolen_card_burst",
        "fraud",
        steps=(
            Step("victim", "merchant_high", "PAYMENT", "card_present",
                 ("lognormal", 400.0, 0.5), delay=(60, 600), repeat=(4, 12),
                 mimic_delay=(2 * _HOUR, 12 * _HOUR), mimic_repeat=(3, 8)),
        ),
        start=_NIGHT,
    ),
    Typology(
        "card_testing",
        "fraud",
        steps=(
            Step("victim", "merchant_small", "PAYMENT", "online", ("uniform", 0.5, 1.0),
                 delay=(5, 60), repeat=(10, 30), mimic_delay=(2 * _HOUR, 12 * _HOUR),
                 mimic_repeat=(3, 8)),
            Step("victim", "merchant_high", "PAYMENT", "online", ("lognormal", 400.0, 0.5),
                 delay=(300, 3600)),
        ),
        start=_NIGHT,
    ),
)  # fmt: skip

LAUNDERING_TYPOLOGIES = (
    Typology(
        "fan_in",
        "laundering",
        steps=(
            Step("external", "member", "CASH_IN", "branch", ("threshold_fraction", 0.3, 0.9),
                 delay=(600, 2 * _HOUR), mimic_delay=(_DAY, 3 * _DAY)),
            Step("member", "hub", "TRANSFER", "online", ("received_fraction", 0.9, 0.98),
                 delay=(_HOUR, _DAY), mimic_delay=(_DAY, 4 * _DAY)),
            Step("hub", "external", "TRANSFER", "online", ("balance_fraction", 0.8, 0.95),
                 delay=(_HOUR, _DAY), mimic_delay=(_DAY, 4 * _DAY)),
        ),
        start=_BRANCH,
        ring=(5, 12),
    ),
    Typology(
        "fan_out",
        "laundering",
        steps=(
            Step("external", "hub", "TRANSFER", "online", ("uniform", 20_000.0, 80_000.0)),
            Step("hub", "member", "TRANSFER", "online", ("received_split", 0.85, 0.95),
                 delay=(600, 6 * _HOUR), mimic_delay=(_DAY, 4 * _DAY)),
            Step("member", "external", "CASH_OUT", "atm", ("received_fraction", 0.9, 1.0),
                 delay=(_HOUR, _DAY), mimic_delay=(_DAY, 3 * _DAY)),
            Step("member", "external", "TRANSFER", "online", ("balance_fraction", 0.8, 0.95),
                 delay=(_HOUR, _DAY), mimic_delay=(_DAY, 3 * _DAY)),
        ),
        start=_BRANCH,
        ring=(5, 12),
    ),
    Typology(
        "cycle",
        "laundering",
        steps=(
            Step("external", "first_member", "CASH_IN", "branch",
                 ("threshold_fraction", 0.5, 0.95)),
            Step("member", "next_member", "TRANSFER", "online", ("received_fraction", 0.95, 0.99),
                 delay=(_HOUR, _DAY), mimic_delay=(_DAY, 5 * _DAY)),
        ),
        start=_BRANCH,
        ring=(3, 6),
    ),
    Typology(
        "structuring",
        "laundering",
        steps=(
            Step("external", "hub", "CASH_IN", "branch", ("threshold_fraction", 0.6, 0.99),
                 delay=(2 * _HOUR, 30 * _HOUR), repeat=(3, 8), mimic_delay=(2 * _DAY, 7 * _DAY),
                 mimic_repeat=(2, 4)),
            Step("hub", "external", "TRANSFER", "online", ("balance_fraction", 0.8, 0.95),
                 delay=(_HOUR, 2 * _DAY), mimic_delay=(_DAY, 5 * _DAY)),
        ),
        start=_BRANCH,
    ),
)  # fmt: skip

TYPOLOGIES = FRAUD_TYPOLOGIES + LAUNDERING_TYPOLOGIES
"""All typologies in label order: ``fraud_type`` code k+1 is ``TYPOLOGIES[k]``."""
