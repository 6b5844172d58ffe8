"""The shipped ED arrival profile (scenarios/patients/ed_arrivals.csv) against its source.

Source: NHS England, "Hospital Accident and Emergency Activity 2024-25", ECDS National Data
Tables, table "Attendances by time of day distribution" (unplanned A&E attendances, England,
by weekday and arrival hour); see scenarios/patients/ARRIVALS_SOURCE.md. ``PUBLISHED`` below
is the table's "Total" row for each weekday, hours 00:00..23:00, copied as published.
"""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.patients.arrivals import DEFAULT_PROFILE, WEEKDAYS, load_arrival_profile

#: Published "Total" rows of the time-of-day table, hours 0..23.
# fmt: off
PUBLISHED = {
    "Mon": (
        86129, 52324, 39644, 36233, 35688, 39145, 39464, 71954,
        201500, 297368, 320480, 328234, 310454, 289044, 273265, 267886,
        275562, 268927, 248923, 208623, 174777, 140815, 111269, 86341,
    ),
    "Tue": (
        80950, 49901, 37681, 34048, 34045, 36980, 36942, 66822,
        184356, 261242, 279243, 285911, 274293, 255749, 244967, 240411,
        248811, 244177, 231981, 196177, 166022, 133088, 105929, 83496,
    ),
    "Wed": (
        78212, 49672, 37238, 34247, 33565, 36128, 35770, 63504,
        172543, 248529, 264777, 271852, 261669, 246496, 237858, 233179,
        241184, 237149, 224965, 193146, 163695, 133680, 107350, 84214,
    ),
    "Thu": (
        79064, 50189, 37459, 33903, 33699, 36384, 35294, 62536,
        170708, 243991, 262955, 272019, 262674, 246860, 237222, 231197,
        239523, 234824, 220324, 188656, 162474, 132443, 105689, 83014,
    ),
    "Fri": (
        78284, 50038, 37890, 34317, 33873, 36178, 35378, 63323,
        174849, 238075, 257100, 266081, 256040, 244058, 237267, 232287,
        244368, 236818, 213051, 182024, 158215, 131973, 108443, 88872,
    ),
    "Sat": (
        84751, 56556, 43403, 39825, 38459, 41084, 38530, 69973,
        184176, 207367, 236430, 245721, 236338, 226694, 221484, 217029,
        204054, 192656, 173756, 158530, 148110, 127653, 109329, 91552,
    ),
    "Sun": (
        88773, 59739, 46665, 42225, 40540, 42426, 39158, 69048,
        182535, 212310, 242737, 252990, 242381, 229580, 219545, 210530,
        199621, 191010, 175186, 164413, 150570, 127954, 104439, 84634,
    ),
}
# fmt: on

#: Published "Total" column of those rows (attendances per weekday over the year).
PUBLISHED_DAY_TOTALS = {
    "Mon": 4204049,
    "Tue": 3813222,
    "Wed": 3690622,
    "Thu": 3663101,
    "Fri": 3638802,
    "Sat": 3393460,
    "Sun": 3419009,
}

#: Published total of unplanned attendances in the same workbook ("Attendance Source Total",
#: sheet "Source, arrival, discharge", 2024/25), an independent check on the two axes.
PUBLISHED_GRAND_TOTAL = 25822265


@pytest.fixture(scope="module")
def profile():
    return load_arrival_profile(DEFAULT_PROFILE)


def test_file_exists_and_cites_the_publication(profile):
    assert DEFAULT_PROFILE.name == "ed_arrivals.csv" and DEFAULT_PROFILE.exists()
    assert "Hospital Accident and Emergency Activity 2024-25" in profile.source
    assert "Attendances by time of day distribution" in profile.source
    assert "digital.nhs.uk" in profile.source


def test_shapes_and_non_negative_counts(profile):
    assert profile.hourly.shape == (24,)
    assert profile.weekday.shape == (7,)
    assert (profile.hourly >= 0).all()
    assert (profile.weekday >= 0).all()
    assert (profile.hourly == np.round(profile.hourly)).all(), "counts are whole attendances"
    assert (profile.weekday == np.round(profile.weekday)).all(), "counts are whole attendances"


def test_published_rows_are_self_consistent():
    assert list(PUBLISHED) == list(WEEKDAYS) == list(PUBLISHED_DAY_TOTALS)
    for day, counts in PUBLISHED.items():
        assert len(counts) == 24, day
        assert sum(counts) == PUBLISHED_DAY_TOTALS[day], day


def test_weekday_counts_are_the_published_day_totals(profile):
    expected = [PUBLISHED_DAY_TOTALS[day] for day in WEEKDAYS]
    assert profile.weekday.tolist() == expected


def test_hour_counts_are_exact_sums_of_the_published_day_rows(profile):
    expected = [sum(PUBLISHED[day][hour] for day in WEEKDAYS) for hour in range(24)]
    assert profile.hourly.tolist() == expected


def test_both_axes_total_the_published_grand_total(profile):
    assert int(profile.hourly.sum()) == PUBLISHED_GRAND_TOTAL
    assert int(profile.weekday.sum()) == PUBLISHED_GRAND_TOTAL
    assert sum(PUBLISHED_DAY_TOTALS.values()) == PUBLISHED_GRAND_TOTAL


def test_published_shape_features(profile):
    # Features stated by the data: Monday is the busiest day, 11:00-11:59 the busiest hour,
    # and 04:00-04:59 the quietest.
    assert WEEKDAYS[int(np.argmax(profile.weekday))] == "Mon"
    assert int(np.argmax(profile.hourly)) == 11
    assert int(np.argmin(profile.hourly)) == 4
    assert profile.hour_shares.sum() == pytest.approx(1.0)
    assert profile.weekday_shares.sum() == pytest.approx(1.0)
