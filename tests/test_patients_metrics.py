"""Run metrics of the emergency department on a hand-made log with known answers."""

from __future__ import annotations

import pandas as pd
import pytest

from scenarios.patients.eventlog import COLUMNS
from scenarios.patients.metrics import department_metrics

CASE, CONCEPT, TIME, RESOURCE, LIFE = COLUMNS


def _log() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    t0 = pd.Timestamp("2025-01-06")
    at = lambda minutes: t0 + pd.Timedelta(minutes=minutes)  # noqa: E731
    rows = [  # (case, activity, minute, transition)
        ("0", "arrival", 0, "complete"), ("0", "discharged", 180, "complete"),
        ("1", "arrival", 0, "complete"), ("1", "ward_stay", 120, "schedule"),
        ("1", "deterioration", 200, "complete"), ("1", "ward_stay", 420, "start"),
        ("1", "ward_stay", 3000, "complete"), ("1", "discharged_from_ward", 3000, "complete"),
        ("2", "arrival", 60, "complete"), ("2", "left_without_being_seen", 840, "complete"),
    ]  # fmt: skip
    events = pd.DataFrame({CASE: [r[0] for r in rows], CONCEPT: [r[1] for r in rows],
                           TIME: [at(r[2]) for r in rows], RESOURCE: None,
                           LIFE: [r[3] for r in rows]})  # fmt: skip
    cases = pd.DataFrame({"case_id": ["0", "1", "2"], "arrival": [at(0), at(0), at(60)],
                          "outcome": ["discharged", "discharged_from_ward",
                                      "left_without_being_seen"],
                          "length_of_stay_minutes": [180.0, 3000.0, 780.0],
                          "age": [30, 70, 90]})  # fmt: skip
    resources = pd.DataFrame({"resource": ["ward_bed", "ward_bed"], "capacity": [10, 30],
                              "utilisation": [0.5, 0.9], "occupancy": [0.4, 0.8],
                              "hospital": [0, 1]})  # fmt: skip
    return events, cases, resources


def test_department_metrics_on_a_known_log():
    figures = department_metrics(*_log(), inpatient={"ward_stay"},
                                 left_outcome="left_without_being_seen",
                                 inpatient_resources=["ward_bed"])  # fmt: skip
    # times in department: 180 (discharged), 420 (admitted at the ward bed's start), 780
    assert figures["attendances"] == 3
    assert figures["within_4h_share"] == pytest.approx(1 / 3)
    assert figures["over_12h_share"] == pytest.approx(1 / 3)
    assert figures["time_in_department_median_minutes"] == pytest.approx(420)
    assert figures["non_admitted_time_in_department_mean_minutes"] == pytest.approx(480)
    assert figures["admitted_share"] == pytest.approx(1 / 3)
    assert figures["left_without_being_seen_share"] == pytest.approx(1 / 3)
    assert figures["bed_wait_median_minutes"] == pytest.approx(300)  # queued 120, bed at 420
    assert figures["bed_wait_over_4h_share"] == 1 and figures["bed_wait_over_12h_share"] == 0
    assert figures["admitted_share_65_plus"] == pytest.approx(1 / 2)  # aged 70 (admitted), 90
    assert figures["utilisation.ward_bed"] == pytest.approx((5 + 27) / 40)
    assert figures["occupancy.ward_bed"] == pytest.approx((4 + 24) / 40)
