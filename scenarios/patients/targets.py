"""Published figures the default emergency department is calibrated to, and a run's metrics
set against them.

The reference is NHS England's type-1 (consultant-led, 24-hour) emergency departments over
the financial year 2024-25 (1 April 2024 - 31 March 2025). Where each figure comes from, and
how it was read, is in ``TARGETS_SOURCE.md`` beside this module; the monthly national totals
behind most of them are typed into ``nhs_ae_type1_2024_25.csv`` and summed here.

Tolerances are the calibration's, not sampling error: a year of the default ED has about
60,000 attendances (a share's standard error about 0.2 points), so a run misses a target
because the model does, and the tolerances say how closely the defaults were fitted
(+-3 percentage points on the 4-hour and admission shares, as the calibration brief asks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

__all__ = ["MONTHLY_TOTALS", "Target", "compare", "published_targets"]

MONTHLY_TOTALS = Path(__file__).with_name("nhs_ae_type1_2024_25.csv")
"""NHS England "A&E Attendances and Emergency Admissions", monthly national totals."""

REFERENCE = "NHS England type-1 emergency departments, 2024-25"
_UEC_PLAN_OVER_12H = 1_700_000
"""Attendances a year spending more than 12 hours in A&E from arrival, in NHS England's
"Urgent and emergency care plan 2025/26" (June 2025)."""


@dataclass(frozen=True)
class Target:
    """A published figure for one run metric (:func:`department_metrics` key)."""

    metric: str
    value: float
    tolerance: float
    """Largest accepted ``|achieved - value|``, in the metric's unit."""
    description: str
    source: str


@cache
def published_targets() -> tuple[Target, ...]:
    """The targets, computed from the typed-in monthly totals where they come from them."""
    year = pd.read_csv(MONTHLY_TOTALS).drop(columns="month").sum()
    attendances = year.type1_attendances  # unplanned: the booked ones are left out
    admissions = year.type1_emergency_admissions
    monthly = "NHS England, A&E Attendances and Emergency Admissions, April 2024 - March 2025"
    return (
        Target("within_4h_share", 1 - year.type1_over_4h / attendances, 0.03,
               "attendances leaving A&E within 4 hours of arrival",
               f"{monthly}: type 1, {year.type1_over_4h:,} of {attendances:,} over 4 hours"),
        Target("over_12h_share", _UEC_PLAN_OVER_12H / (attendances
                                                       + year.type1_booked_attendances), 0.03,
               "attendances spending more than 12 hours in A&E from arrival",
               "NHS England, Urgent and emergency care plan 2025/26: about 1.7 million type-1 "
               "attendances a year over 12 hours"),
        Target("admitted_share", admissions / attendances, 0.03,
               "attendances admitted",
               f"{monthly}: {admissions:,} emergency admissions via type-1 A&E"),
        Target("bed_wait_over_4h_share",
               (year.dta_wait_4_to_12h + year.dta_wait_over_12h) / admissions, 0.05,
               "admitted patients waiting more than 4 hours from decision to admit",
               f"{monthly}: {year.dta_wait_4_to_12h + year.dta_wait_over_12h:,} 'trolley "
               "waits' over 4 hours"),
        Target("bed_wait_over_12h_share", year.dta_wait_over_12h / admissions, 0.03,
               "admitted patients waiting more than 12 hours from decision to admit",
               f"{monthly}: {year.dta_wait_over_12h:,} 'trolley waits' over 12 hours"),
        Target("left_without_being_seen_share", 0.03, 0.015,
               "attendances leaving before being seen (approximate)",
               "A&E quality indicator 'left before being seen for treatment', national "
               "average about 3% (Department of Health, 2012; no 2024-25 national figure)"),
        Target("admitted_share_65_plus", 0.47, 0.05,
               "attendances aged 65+ admitted",
               "Hospital Episode Statistics 2015, quoted by Gilbert & Conroy, Br J Hosp Med "
               "78(10), 2017"),
        Target("occupancy.ward_bed", 96_057.96 / 105_446.26, 0.03,
               "general and acute beds occupied overnight",
               "NHS England, Bed Availability and Occupancy (KH03), 2024-25: 96,058 of "
               "105,446 beds"),
    )  # fmt: skip


def compare(metrics: Mapping[str, float],
            targets: tuple[Target, ...] | None = None) -> dict[str, dict]:  # fmt: skip
    """Each target whose metric the run reports: ``target``, ``tolerance``, ``achieved``,
    ``within`` (``|achieved - target| <= tolerance``), ``description``, ``source`` and the
    ``reference`` population, keyed by metric."""
    return {
        t.metric: {
            "target": float(t.value), "tolerance": t.tolerance,
            "achieved": float(metrics[t.metric]),
            "within": bool(abs(metrics[t.metric] - t.value) <= t.tolerance),
            "description": t.description, "source": t.source, "reference": REFERENCE,
        }
        for t in (published_targets() if targets is None else targets)
        if t.metric in metrics
    }  # fmt: skip
