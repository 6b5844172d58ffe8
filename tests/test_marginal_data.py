"""The published marginal tables in calibration/data: format, and consistency with their sources.

The totals below are published figures (see calibration/data/SOURCES.md), typed in separately
from the tables so that a typo in a table, or a table edited by mistake, shows up here.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "calibration" / "data"

# Vintage 2022 population estimates, July 1, 2022 (U.S. Census Bureau).
V2022_TOTAL = 333_287_557  # NST-EST2022-POP, United States; NC-EST2022-AGESEX-RES SEX=0 AGE=999
V2022_MALE = 165_283_553  # NC-EST2022-AGESEX-RES, SEX=1, AGE=999
V2022_FEMALE = 168_004_004  # NC-EST2022-AGESEX-RES, SEX=2, AGE=999
V2022_ADULTS = 260_836_730  # SCPRC-EST2022-18+POP, United States, age 18 and over
# 2020 Census resident population, April 1, 2020.
CENSUS2020_TOTAL = 331_449_281
# CPS ASEC 2022, HINC-01, all households, thousands.
HINC01_2021_TOTAL_THOUSANDS = 131_202

SEXES = ["F", "M"]
REGIONS = ["Northeast", "Midwest", "South", "West"]
ADULT_BANDS = {
    "18-24": (18, 24),
    "25-34": (25, 34),
    "35-44": (35, 44),
    "45-54": (45, 54),
    "55-64": (55, 64),
    "65-74": (65, 74),
    "75+": (75, 100),
}
SINGLE_AGES = [str(a) for a in range(100)] + ["100+"]
INCOME_BRACKETS = (
    ["<5000"] + [f"{lo}-{lo + 4999}" for lo in range(5000, 200_000, 5000)] + [">=200000"]
)

# file -> (variable columns, categories of each variable)
TABLES = {
    "us_v2022_adult_age_sex.csv": {"age_band": list(ADULT_BANDS), "sex": SEXES},
    "us_v2022_age_sex_single_year.csv": {"age": SINGLE_AGES, "sex": SEXES},
    "us_v2022_age_single_year_total.csv": {"age": SINGLE_AGES},
    "us_v2022_region.csv": {"region": REGIONS},
    "us_v2022_region_adult.csv": {"region": REGIONS},
    "us_2020census_region.csv": {"region": REGIONS},
    "us_cps_asec2022_household_income.csv": {"household_income": INCOME_BRACKETS},
}


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, comment="#", dtype={"age": str})


def header(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line)
    return out


def age_number(label: str) -> int:
    return 100 if label == "100+" else int(label)


# --- format ------------------------------------------------------------------------------


def test_every_csv_in_the_folder_is_listed_here_and_in_sources():
    on_disk = sorted(p.name for p in DATA.glob("*.csv"))
    assert on_disk == sorted(TABLES)
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    for name in on_disk:
        assert f"`{name}`" in sources, f"{name} is not described in SOURCES.md"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_header_names_the_source_and_the_unit(name):
    lines = header(name)
    assert lines, f"{name} has no comment header"
    assert lines[0].startswith("# source: U.S. Census Bureau"), lines[0]
    assert any("unit:" in line for line in lines), f"{name} does not state its unit"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_columns_are_the_documented_variables_then_count(name):
    df = load(name)
    assert list(df.columns) == [*TABLES[name], "count"]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_counts_are_positive_integers(name):
    counts = load(name)["count"]
    assert pd.api.types.is_integer_dtype(counts), counts.dtype
    assert counts.notna().all()
    assert (counts > 0).all()


@pytest.mark.parametrize("name", sorted(TABLES))
def test_cells_are_exactly_the_full_cross_of_the_categories(name):
    df = load(name)
    variables = TABLES[name]
    assert not df.duplicated(subset=list(variables)).any()
    for column, categories in variables.items():
        assert set(df[column]) == set(categories), column
    expected_cells = 1
    for categories in variables.values():
        expected_cells *= len(categories)
    assert len(df) == expected_cells


# --- consistency with the published totals -----------------------------------------------


def test_single_year_sexes_add_up_to_the_published_both_sexes_rows():
    by_sex = load("us_v2022_age_sex_single_year.csv").pivot(
        index="age", columns="sex", values="count"
    )
    total = load("us_v2022_age_single_year_total.csv").set_index("age")["count"]
    both = (by_sex["F"] + by_sex["M"]).reindex(total.index)
    mismatched = total.index[both != total].tolist()
    assert not mismatched, f"F + M differs from the published total at ages {mismatched}"


def test_single_years_sum_to_the_published_totals():
    by_sex = load("us_v2022_age_sex_single_year.csv").groupby("sex")["count"].sum()
    assert by_sex["M"] == V2022_MALE
    assert by_sex["F"] == V2022_FEMALE
    assert load("us_v2022_age_single_year_total.csv")["count"].sum() == V2022_TOTAL


def test_single_year_adults_sum_to_the_published_18_plus_total():
    total = load("us_v2022_age_single_year_total.csv")
    adults = total[total["age"].map(age_number) >= 18]
    assert adults["count"].sum() == V2022_ADULTS


def test_adult_bands_are_the_sums_of_the_published_single_years():
    single = load("us_v2022_age_sex_single_year.csv")
    single["age_number"] = single["age"].map(age_number)
    bands = load("us_v2022_adult_age_sex.csv").set_index(["age_band", "sex"])["count"]
    for band, (lo, hi) in ADULT_BANDS.items():
        in_band = single[(single["age_number"] >= lo) & (single["age_number"] <= hi)]
        for sex in SEXES:
            expected = in_band.loc[in_band["sex"] == sex, "count"].sum()
            assert bands[(band, sex)] == expected, (band, sex)


def test_adult_age_sex_table_sums_to_the_published_18_plus_total():
    assert load("us_v2022_adult_age_sex.csv")["count"].sum() == V2022_ADULTS


def test_v2022_regions_sum_to_the_published_national_total():
    assert load("us_v2022_region.csv")["count"].sum() == V2022_TOTAL


def test_v2022_adult_regions_sum_to_the_published_18_plus_total():
    assert load("us_v2022_region_adult.csv")["count"].sum() == V2022_ADULTS


def test_adults_are_a_plausible_share_of_each_region():
    everyone = load("us_v2022_region.csv").set_index("region")["count"]
    adults = load("us_v2022_region_adult.csv").set_index("region")["count"]
    share = (adults / everyone).reindex(REGIONS)
    # Published state shares of the same vintage run from 72% (Utah) to 83% (Vermont).
    assert share.between(0.72, 0.83).all(), share.to_dict()


def test_vintage_2022_tables_agree_on_the_population():
    regions = load("us_v2022_region.csv")["count"].sum()
    ages = load("us_v2022_age_sex_single_year.csv")["count"].sum()
    assert regions == ages


def test_2020_census_regions_sum_to_the_published_resident_population():
    assert load("us_2020census_region.csv")["count"].sum() == CENSUS2020_TOTAL


def test_household_income_cells_sum_to_the_published_total_up_to_rounding():
    counts = load("us_cps_asec2022_household_income.csv")["count"]
    # Each published cell is rounded to the nearest thousand households.
    assert abs(counts.sum() - HINC01_2021_TOTAL_THOUSANDS) <= 0.5 * len(counts)


def test_household_income_brackets_are_contiguous_and_ordered():
    labels = load("us_cps_asec2022_household_income.csv")["household_income"].tolist()
    assert labels == INCOME_BRACKETS
    upper = 4999
    for label in labels[1:-1]:
        lo, hi = (int(x) for x in label.split("-"))
        assert lo == upper + 1
        upper = hi
    assert labels[-1] == f">={upper + 1}"
