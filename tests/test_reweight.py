"""Tests for calibration.reweight: raking / IPU of list microdata to marginal totals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.controls import controls_from_frame
from calibration.reweight import Control, ReweightResult, reweight
from simulations.errors import CalibrationError

# --------------------------------------------------------------------------- published examples

# Ye, Konduri, Pendyala, Sana and Waddell (2009), "A methodology to match distributions of both
# household and person attributes in the generation of synthetic populations", TRB 88th Annual
# Meeting, Table 1: 8 households of two types with persons of three types; household targets
# 35 and 65, person targets 91, 65 and 104. The weights after the first iteration and the final
# weights (2 decimals) are as transcribed from Table 1 in the test suites of UDST synthpop
# (synthpop/test/test_ipu.py) and ActivitySim PopulationSim (tests/test_balancer.py,
# "published_final_weights"); the paper's own table was not available to check directly.
YE_HOUSEHOLD_TYPE = [1, 1, 1, 2, 2, 2, 2, 2]
YE_PERSONS = {  # person types of each household's members
    1: [1, 2, 3],
    2: [1, 3],
    3: [1, 1, 2],
    4: [1, 3, 3],
    5: [2, 2, 3],
    6: [1, 2],
    7: [1, 1, 2, 3, 3],
    8: [1, 2],
}
YE_FREQUENCIES = [  # Table 1 columns: household type 1, 2; person type 1, 2, 3
    [1, 1, 1, 0, 0, 0, 0, 0],
    [0, 0, 0, 1, 1, 1, 1, 1],
    [1, 1, 2, 1, 0, 1, 2, 1],
    [1, 0, 1, 0, 2, 1, 1, 1],
    [1, 1, 0, 2, 1, 0, 2, 0],
]
YE_WEIGHTS_AFTER_ITERATION_1 = [12.37, 14.61, 8.05, 16.28, 16.91, 8.97, 13.78, 8.97]
YE_FINAL_WEIGHTS = [1.36, 25.66, 7.98, 27.79, 18.45, 8.64, 1.47, 8.64]


def ye_controls() -> list[Control]:
    households = pd.DataFrame({"household_id": range(1, 9), "type": YE_HOUSEHOLD_TYPE})
    persons = pd.DataFrame(
        [(hh, kind) for hh, kinds in YE_PERSONS.items() for kind in kinds],
        columns=["household_id", "type"],
    )
    return controls_from_frame(
        households,
        {"type": {1: 35, 2: 65}},
        persons=persons,
        person_margins={"type": {1: 91, 2: 65, 3: 104}},
    )


def test_controls_from_frame_counts_persons_per_household_as_in_ye_table_1() -> None:
    controls = ye_controls()
    assert [c.name for c in controls] == [
        "type=1",
        "type=2",
        "type=1 (persons)",
        "type=2 (persons)",
        "type=3 (persons)",
    ]
    np.testing.assert_array_equal([c.column for c in controls], YE_FREQUENCIES)
    assert [c.target for c in controls] == [35, 65, 91, 65, 104]


def test_ipu_first_iteration_matches_ye_et_al_2009_table_1() -> None:
    result = reweight(ye_controls(), max_iter=1)
    np.testing.assert_array_equal(np.round(result.weights, 2), YE_WEIGHTS_AFTER_ITERATION_1)
    assert not result.converged


def test_ipu_final_weights_match_ye_et_al_2009_table_1() -> None:
    result = reweight(ye_controls(), tol=1e-8, max_iter=5000)
    assert result.converged
    np.testing.assert_array_equal(np.round(result.weights, 2), YE_FINAL_WEIGHTS)


# Lovelace and Dumont (2016), "Spatial Microsimulation with R", CRC Press, chapter 5
# "Population synthesis", section "IPF in R" (source: github.com/Robinlovelace/
# spatial-microsim-book, 05-smsim-in-R.Rmd): SimpleWorld's five individuals (ages 59, 54, 35,
# 73, 49; sexes m, m, m, f, f) raked to zone 1 (8 aged 0-49, 4 aged 50+, 6 men, 6 women).
SIMPLEWORLD = pd.DataFrame({"age": ["50+", "50+", "0-49", "50+", "0-49"], "sex": list("mmmff")})
ZONE_1 = {"age": {"0-49": 8, "50+": 4}, "sex": {"m": 6, "f": 6}}


def test_raking_age_step_matches_lovelace_dumont_2016_simpleworld() -> None:
    controls = controls_from_frame(SIMPLEWORLD, {"age": ZONE_1["age"]})
    result = reweight(controls)
    # Printed: "the weights for zone 1 was (4/3, 4/3, 4, 4/3, 4)" after the age constraint.
    np.testing.assert_allclose(result.weights, [4 / 3, 4 / 3, 4, 4 / 3, 4], rtol=1e-12)
    assert result.converged and result.iterations == 1


def test_raking_sex_step_matches_lovelace_dumont_2016_simpleworld() -> None:
    result = reweight(controls_from_frame(SIMPLEWORLD, ZONE_1), max_iter=1)
    # Printed: weights2[1,1] = 4/3 * 6 / (4/3 + 4/3 + 4) = 6/5 = 1.2; the others follow "with an
    # analogous reasoning" (derived here: men * 9/10, women * 9/8).
    assert result.weights[0] == pytest.approx(1.2, rel=1e-12)
    np.testing.assert_allclose(result.weights, [1.2, 1.2, 3.6, 1.5, 4.5], rtol=1e-12)


def test_raking_converges_to_the_analytic_simpleworld_solution() -> None:
    # Analytic (not published): raked weights factor as row * column effects, so the weight a
    # of the two old men solves a * (2 + 2a) = (6 - 2a)(4 - 2a), i.e. a^2 - 11a + 12 = 0.
    a = (11 - np.sqrt(73)) / 2
    result = reweight(controls_from_frame(SIMPLEWORLD, ZONE_1), tol=1e-12)
    assert result.converged
    np.testing.assert_allclose(result.weights, [a, a, 6 - 2 * a, 4 - 2 * a, 2 + 2 * a], rtol=1e-9)


def test_ipu_can_cycle_on_a_reachable_two_level_problem_and_says_so() -> None:
    # Analytic (not published): both person-level controls cover all four households, so from
    # equal weights IPU scales everyone alike and the weights stay equal, ending each sweep at
    # 14/9; equal weights cannot give 3 households of type A and 14 persons of kind Y at once.
    # The weights (1, 1, 2, 2) reach every target, and the exact entropy update finds them.
    columns = [[0, 1, 1, 0], [1, 0, 0, 1], [3, 2, 2, 3], [3, 1, 3, 2]]
    targets = [3, 3, 15, 14]
    controls = [
        Control(f"c{j}", np.array(c, float), t)
        for j, (c, t) in enumerate(zip(columns, targets, strict=True))
    ]
    ipu = reweight(controls, max_iter=200)
    assert not ipu.converged and ipu.iterations == 200
    np.testing.assert_allclose(ipu.weights, 14 / 9)
    assert ipu.max_rel_error == pytest.approx(1 / 27)
    entropy = reweight(controls, max_iter=2000, method="entropy")
    assert entropy.converged
    np.testing.assert_allclose(entropy.achieved, targets, rtol=1e-6)


# --------------------------------------------------------------------------- behaviour


def test_report_lists_each_control_with_its_errors() -> None:
    result = reweight(ye_controls(), max_iter=1)
    report = result.report()
    assert list(report.columns) == ["name", "target", "achieved", "abs_error", "rel_error"]
    assert report["name"].tolist() == list(result.names)
    np.testing.assert_allclose(report["abs_error"], np.abs(report["achieved"] - report["target"]))
    assert report["abs_error"].max() == result.max_error
    np.testing.assert_allclose(report["rel_error"], report["abs_error"] / report["target"])


def test_unreachable_bounds_report_non_convergence_honestly() -> None:
    result = reweight(ye_controls(), bounds=(0.5, 20.0), max_iter=300)
    assert isinstance(result, ReweightResult)
    assert not result.converged and result.iterations == 300
    assert result.max_error > 1.0
    assert result.report()["abs_error"].max() == result.max_error
    ratio = result.weights  # to the initial weights, all 1
    assert ratio.min() >= 0.5 - 1e-12 and ratio.max() <= 20.0 + 1e-12


def test_loose_bounds_still_converge_and_hold() -> None:
    result = reweight(ye_controls(), bounds=(1.0, 30.0), tol=1e-6, max_iter=5000)
    assert result.converged
    assert result.weights.min() >= 1.0 - 1e-12 and result.weights.max() <= 30.0 + 1e-12


def test_initial_weights_scale_the_bounds_and_zero_weights_stay_zero() -> None:
    controls = controls_from_frame(SIMPLEWORLD, {"sex": ZONE_1["sex"]})
    result = reweight(controls, [2.0, 0.0, 4.0, 1.0, 1.0])
    np.testing.assert_allclose(result.weights, [2.0, 0.0, 4.0, 3.0, 3.0])


def test_zero_targets_drop_their_records() -> None:
    margins = {"age": {"0-49": 0, "50+": 12}}
    result = reweight(controls_from_frame(SIMPLEWORLD, margins))
    np.testing.assert_allclose(result.weights, [4, 4, 0, 4, 0])
    assert result.converged


def test_reweight_is_deterministic_and_leaves_inputs_untouched() -> None:
    controls = ye_controls()
    w0 = np.ones(8)
    first = reweight(controls, w0, max_iter=50)
    second = reweight(controls, w0, max_iter=50)
    np.testing.assert_array_equal(first.weights, second.weights)
    np.testing.assert_array_equal(w0, 1.0)


@st.composite
def consistent_problems(draw, person_level: bool):
    """A random population, a random 'true' weight vector, and targets = true weighted totals."""
    n = draw(st.integers(20, 80))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    columns = []
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(2, 5))
        codes = rng.integers(0, k, n)
        columns += [(codes == c).astype(float) for c in range(k)]
    if person_level:
        size = rng.integers(1, 6, n)
        for _ in range(draw(st.integers(1, 2))):
            k = draw(st.integers(2, 4))
            members = [np.bincount(rng.integers(0, k, s), minlength=k) for s in size]
            columns += list(np.array(members, dtype=float).T)
    true = rng.uniform(0.2, 5.0, n)
    return [Control(f"c{j}", c, float(c @ true)) for j, c in enumerate(columns)]


@settings(max_examples=50, deadline=None, derandomize=True)
@given(consistent_problems(person_level=False))
def test_raking_reaches_every_reachable_target(controls: list[Control]) -> None:
    result = reweight(controls, tol=1e-8, max_iter=5000)
    assert result.converged
    assert (result.report()["rel_error"] <= 1e-8).all()


@settings(max_examples=50, deadline=None, derandomize=True)
@given(consistent_problems(person_level=True))
def test_entropy_update_reaches_every_reachable_two_level_target(controls: list[Control]) -> None:
    result = reweight(controls, tol=1e-8, max_iter=5000, method="entropy")
    assert result.converged
    assert (result.report()["rel_error"] <= 1e-8).all()


# --------------------------------------------------------------------------- validation


def control(name: str = "c", column=(1.0, 0.0), target: float = 1.0) -> Control:
    return Control(name, np.array(column, dtype=float), target)


def test_max_iter_error_reads_like_sklearn() -> None:
    message = (
        "The 'max_iter' parameter of reweight must be an int in the range [1, inf). Got 0 instead."
    )
    with pytest.raises(CalibrationError) as info:
        reweight([control()], max_iter=0)
    assert str(info.value) == message


@pytest.mark.parametrize("tol", [0.0, -1.0, float("nan"), "1e-6"])
def test_tol_must_be_positive(tol) -> None:
    with pytest.raises(CalibrationError, match=r"The 'tol' parameter of reweight must be a float"):
        reweight([control()], tol=tol)


def test_method_must_be_known() -> None:
    with pytest.raises(CalibrationError, match=r"'method' parameter .* among .*Got 'newton'"):
        reweight([control()], method="newton")


@pytest.mark.parametrize("bounds", [(2.0, 1.0), (-1.0, 2.0), (0.0, 0.0), (1.0,), "ab", (0, None)])
def test_bounds_must_be_an_ordered_non_negative_pair(bounds) -> None:
    with pytest.raises(CalibrationError, match=r"The 'bounds' parameter of reweight"):
        reweight([control()], bounds=bounds)


def test_controls_must_be_a_non_empty_sequence_of_control() -> None:
    with pytest.raises(CalibrationError, match="non-empty sequence of Control"):
        reweight([])
    with pytest.raises(CalibrationError, match="non-empty sequence of Control"):
        reweight([np.ones(2)])


def test_control_columns_must_cover_the_same_records() -> None:
    with pytest.raises(CalibrationError, match=r"Control 'b' has 3 records but control 'a' has 2"):
        reweight([control("a"), control("b", (1.0, 1.0, 1.0))])


def test_control_names_must_be_unique() -> None:
    with pytest.raises(CalibrationError, match=r"repeated: \['a'\]"):
        reweight([control("a"), control("a")])


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_control_column_values_must_be_finite_and_non_negative(bad: float) -> None:
    with pytest.raises(CalibrationError, match=r"Control 'age=18' has negative or non-finite"):
        Control("age=18", np.array([1.0, bad]), 1.0)


@pytest.mark.parametrize("target", [-2.0, float("nan")])
def test_control_target_must_be_finite_and_non_negative(target: float) -> None:
    with pytest.raises(CalibrationError, match=r"Control 'c' needs a finite target >= 0"):
        control(target=target)


def test_control_column_must_be_one_dimensional() -> None:
    with pytest.raises(CalibrationError, match=r"needs a 1-d column. Got shape \(1, 2\)"):
        Control("c", np.ones((1, 2)), 1.0)


@pytest.mark.parametrize(
    ("weights", "match"),
    [([1.0], r"must have shape \(2,\)"), ([1.0, -1.0], r"finite and >= 0. Got \[-1.0\]")],
)
def test_initial_weights_are_validated(weights, match: str) -> None:
    with pytest.raises(CalibrationError, match=match):
        reweight([control()], weights)


def test_positive_target_without_contributors_is_unreachable() -> None:
    with pytest.raises(CalibrationError, match=r"Unreachable targets: 'b' \(target 2\)"):
        reweight([control("a"), control("b", (0.0, 1.0), 2.0)], [1.0, 0.0])


def test_zero_target_control_can_make_another_target_unreachable() -> None:
    zero = control("a", (1.0, 0.0), 0.0)
    with pytest.raises(CalibrationError, match=r"'b' \(target 2\).*zero-target controls \['a'\]"):
        reweight([zero, control("b", (1.0, 0.0), 2.0)])


# --------------------------------------------------------------------------- controls_from_frame


def test_margin_category_absent_from_records_is_unreachable() -> None:
    margins = {"age": {"0-49": 8, "50+": 4, "90+": 3}}
    with pytest.raises(CalibrationError, match=r"Margin 'age' .* absent .*\{'90\+': 3.0\}"):
        controls_from_frame(SIMPLEWORLD, margins)


def test_records_category_missing_from_margin_is_an_error() -> None:
    with pytest.raises(CalibrationError, match=r"values of 'age' with no target .*\['50\+'\]"):
        controls_from_frame(SIMPLEWORLD, {"age": {"0-49": 8}})


def test_negative_margin_target_is_an_error() -> None:
    with pytest.raises(CalibrationError, match=r"Margin 'sex' has negative .*\{'f': -6.0\}"):
        controls_from_frame(SIMPLEWORLD, {"sex": {"m": 6, "f": -6}})


def test_margins_of_one_level_must_agree_on_the_total() -> None:
    margins = {"age": ZONE_1["age"], "sex": {"m": 6, "f": 7}}
    with pytest.raises(CalibrationError, match=r"Margins 'age' and 'sex' disagree .*12 vs 13"):
        controls_from_frame(SIMPLEWORLD, margins)


def test_household_and_person_totals_are_not_compared() -> None:
    controls = ye_controls()  # 100 households, 260 persons
    assert sum(c.target for c in controls[:2]) == 100
    assert sum(c.target for c in controls[2:]) == 260


def test_margin_must_name_a_column() -> None:
    with pytest.raises(CalibrationError, match=r"Margin 'income' names no column of the records"):
        controls_from_frame(SIMPLEWORLD, {"income": {"low": 12}})


def test_margin_series_and_dict_give_the_same_controls() -> None:
    from_series = controls_from_frame(SIMPLEWORLD, {"sex": pd.Series({"m": 6, "f": 6})})
    from_dict = controls_from_frame(SIMPLEWORLD, {"sex": {"m": 6, "f": 6}})
    for a, b in zip(from_series, from_dict, strict=True):
        assert a.name == b.name and a.target == b.target
        np.testing.assert_array_equal(a.column, b.column)


def test_persons_and_person_margins_go_together() -> None:
    with pytest.raises(CalibrationError, match="give both or neither"):
        controls_from_frame(SIMPLEWORLD, ZONE_1, persons=pd.DataFrame({"household_id": [1]}))


def test_persons_must_belong_to_known_households() -> None:
    households = pd.DataFrame({"household_id": [1, 2], "type": [1, 2]})
    persons = pd.DataFrame({"household_id": [1, 3], "type": [1, 1]})
    with pytest.raises(CalibrationError, match=r"households missing from the records: \[3\]"):
        controls_from_frame(
            households, {"type": {1: 1, 2: 1}}, persons=persons, person_margins={"type": {1: 2}}
        )


def test_household_ids_must_be_unique() -> None:
    households = pd.DataFrame({"household_id": [1, 1], "type": [1, 2]})
    persons = pd.DataFrame({"household_id": [1], "type": [1]})
    with pytest.raises(CalibrationError, match=r"Household ids in records must be unique"):
        controls_from_frame(
            households, {"type": {1: 1, 2: 1}}, persons=persons, person_margins={"type": {1: 2}}
        )
