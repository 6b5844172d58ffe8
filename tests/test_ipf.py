"""Tests for calibration.ipf: published and analytic fits, validation, honesty, layout."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.ipf import IPFResult, Marginal, ipf
from calibration.tidy_ipf import ipf_frame
from simulations.errors import CalibrationError


def _sig6(values) -> np.ndarray:
    """Round to 6 significant digits, the precision Julia prints a Float64 matrix with."""
    return np.vectorize(lambda x: float(f"{x:.6g}"))(values)


def _sums(table: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    return table.sum(axis=tuple(a for a in range(table.ndim) if a not in axes))


# The 4x4 seed and 1-D targets of ProportionalFitting.jl's "Getting started" example.
SEED_4X4 = np.array([[40, 30, 20, 10], [35, 50, 100, 75], [30, 80, 70, 120], [20, 30, 40, 50]])
ROWS_4X4 = Marginal((0,), np.array([150, 300, 400, 150]), "rows")
COLS_4X4 = Marginal((1,), np.array([200, 300, 400, 100]), "cols")


# --------------------------------------------------------------------------- published


def test_published_2d_example_with_1d_marginals():
    # E. J. van Kesteren et al., "ProportionalFitting.jl" documentation (v0.6.0, 2025),
    # "Getting started": the fitted 4x4 matrix Z printed to 6 significant digits.
    printed = [
        [64.5585, 46.2325, 35.3843, 3.82473],
        [49.9679, 68.1594, 156.499, 25.3742],
        [56.7219, 144.428, 145.082, 53.7673],
        [28.7516, 41.18, 63.0347, 17.0337],
    ]
    result = ipf(SEED_4X4, [ROWS_4X4, COLS_4X4], tol=1e-12)
    assert result.converged
    np.testing.assert_array_equal(_sig6(result.table), printed)


def test_published_3d_example_with_a_2d_marginal_on_unsorted_axes():
    # E. J. van Kesteren et al., "ProportionalFitting.jl" documentation (v0.6.0, 2025),
    # "Multidimensional margins": X = reshape(1:12, 2, 3, 2) (column-major), a margin
    # [48, 60] on dimension 1 and a margin [9 11 14; 19 25 30] on dimensions (3, 2) in
    # that order; the adjusted array Z printed to 6 significant digits.
    seed = np.arange(1, 13).reshape((2, 3, 2), order="F")
    margins = [Marginal((0,), [48, 60]), Marginal((2, 1), [[9, 11, 14], [19, 25, 30]])]
    printed = np.empty((2, 3, 2))
    printed[:, :, 0] = [[2.91518, 4.59958, 6.21567], [6.08482, 6.40042, 7.78433]]
    printed[:, :, 1] = [[8.66498, 11.5762, 14.0284], [10.335, 13.4238, 15.9716]]
    result = ipf(seed, margins, tol=1e-12)
    assert result.converged
    np.testing.assert_array_equal(_sig6(result.table), printed)


def test_published_3d_example_with_1d_marginals():
    # E. J. van Kesteren et al., "ProportionalFitting.jl" documentation (v0.6.0, 2025),
    # "Multidimensional arrays": the same X with margins [48, 60], [28, 36, 44], [34, 74].
    seed = np.arange(1, 13).reshape((2, 3, 2), order="F")
    margins = [Marginal((0,), [48, 60]), Marginal((1,), [28, 36, 44]), Marginal((2,), [34, 74])]
    printed = np.empty((2, 3, 2))
    printed[:, :, 0] = [[1.84211, 4.79335, 7.36711], [3.89487, 6.75656, 9.34601]]
    printed[:, :, 1] = [[10.082, 11.2433, 12.6722], [12.1811, 13.2068, 14.6147]]
    result = ipf(seed, margins, tol=1e-12)
    assert result.converged
    np.testing.assert_array_equal(_sig6(result.table), printed)


# --------------------------------------------------------------------------- analytic


def test_analytic_uniform_seed_with_1d_marginals_gives_scaled_outer_product():
    # Not a published example: with a constant seed and 1-D marginals the fit is
    # independence, a_i * b_j * c_k / total**2 (it is exact after one sweep).
    a, b, c = np.array([2.0, 8.0]), np.array([1.0, 3.0, 6.0]), np.array([4.0, 1.0, 3.0, 2.0])
    margins = [Marginal((0,), a), Marginal((1,), b), Marginal((2,), c)]
    result = ipf(np.full((2, 3, 4), 7.0), margins, tol=1e-12)
    expected = np.einsum("i,j,k->ijk", a, b, c) / 10.0**2
    assert result.converged
    np.testing.assert_allclose(result.table, expected, rtol=1e-12)


def test_analytic_known_table_fitted_to_its_own_2d_marginals_is_unchanged():
    # Not a published example: a seed that already has all three 2-D marginals is returned
    # bitwise unchanged, with zero iterations.
    known = np.arange(1.0, 25.0).reshape(2, 3, 4) ** 1.5
    axes = [(0, 1), (0, 2), (1, 2)]
    margins = [Marginal(ax, _sums(known, ax)) for ax in axes]
    result = ipf(known, margins)
    assert result.converged and result.iterations == 0
    np.testing.assert_array_equal(result.table, known)


def test_analytic_two_2d_marginals_sharing_an_axis_give_conditional_independence():
    # The problem of ProportionalFitting.jl's "Repeated margins" section (a 2x3x4 seed of
    # ones, margins on dimensions (1, 3) and (2, 3)); the docs print only the margins, so
    # the expected table is derived here: X[i, j, k] = A[i, k] * B[j, k] / A[:, k].sum().
    a = np.array([[10.0, 15, 20, 25], [30, 35, 40, 45]])
    b = np.array([[12.0, 16, 20, 24], [18, 22, 26, 30], [10, 12, 14, 16]])
    result = ipf(np.ones((2, 3, 4)), [Marginal((0, 2), a), Marginal((1, 2), b)], tol=1e-12)
    expected = a[:, None, :] * b[None, :, :] / a.sum(axis=0)
    assert result.converged
    np.testing.assert_allclose(result.table, expected, rtol=1e-12)


# --------------------------------------------------------------------------- behaviour


def test_marginal_stores_sorted_axes_and_transposed_target():
    m = Marginal((2, 0), [[1, 2, 3], [4, 5, 6]])
    assert m.axes == (0, 2)
    np.testing.assert_array_equal(m.target, [[1, 4], [2, 5], [3, 6]])
    assert m.target.flags.c_contiguous and not m.target.flags.writeable


def test_fit_reproduces_every_marginal_and_reports_them():
    result = ipf(SEED_4X4, [ROWS_4X4, COLS_4X4])
    report = result.report()
    assert list(report.columns) == ["name", "target_total", "max_abs_error", "max_rel_error"]
    assert list(report["name"]) == ["rows", "cols"]
    assert list(report["target_total"]) == [1000.0, 1000.0]
    assert (report["max_abs_error"] <= result.threshold).all()
    assert result.threshold == pytest.approx(1e-6 * 1000)


def test_unnamed_marginals_are_named_by_position():
    margins = [Marginal((0,), [150, 300, 400, 150]), Marginal((1,), [200, 300, 400, 100])]
    assert set(ipf(SEED_4X4, margins).errors) == {"marginal 0", "marginal 1"}


def test_seed_is_not_modified_and_result_is_c_contiguous_float64():
    seed = SEED_4X4.astype(float)
    before = seed.copy()
    result = ipf(seed, [ROWS_4X4, COLS_4X4])
    np.testing.assert_array_equal(seed, before)
    assert result.table.dtype == np.float64 and result.table.flags.c_contiguous


def test_zero_seed_cells_stay_zero():
    seed = SEED_4X4.astype(float)
    seed[1, 2] = seed[3, 0] = 0.0
    result = ipf(seed, [ROWS_4X4, COLS_4X4])
    assert result.converged
    assert result.table[1, 2] == 0.0 and result.table[3, 0] == 0.0


def test_c_and_fortran_ordered_inputs_give_bitwise_identical_results():
    rng = np.random.default_rng(7)
    seed = rng.uniform(0.1, 5.0, (4, 5, 6))
    truth = rng.uniform(0.1, 5.0, (4, 5, 6))
    axes = [(0, 1), (1, 2), (0, 2)]
    c_margins = [Marginal(ax, np.ascontiguousarray(_sums(truth, ax))) for ax in axes]
    f_margins = [Marginal(ax, np.asfortranarray(_sums(truth, ax))) for ax in axes]
    c_result = ipf(np.ascontiguousarray(seed), c_margins, tol=1e-10)
    f_result = ipf(np.asfortranarray(seed), f_margins, tol=1e-10)
    assert np.array_equal(c_result.table, f_result.table)
    assert c_result.errors == f_result.errors
    assert c_result.iterations == f_result.iterations


# --------------------------------------------------------------------------- honesty


def test_max_iter_reached_returns_unconverged_table_with_errors():
    result = ipf(SEED_4X4, [ROWS_4X4, COLS_4X4], max_iter=1)
    assert isinstance(result, IPFResult)
    assert not result.converged and result.iterations == 1
    assert set(result.errors) == {"rows", "cols"}
    assert result.errors["rows"] > result.threshold
    assert result.max_error == max(result.errors.values()) > result.threshold


def test_zero_pattern_making_targets_unreachable_is_reported_not_converged():
    # A diagonal seed forces x[0, 0] to be both 3 (row) and 5 (column). Each marginal alone
    # is carried by non-zero seed cells and the totals agree, so only fitting reveals it.
    rows = Marginal((0,), [3.0, 7.0], "rows")
    cols = Marginal((1,), [5.0, 5.0], "cols")
    result = ipf(np.eye(2), [rows, cols], max_iter=50)
    assert not result.converged and result.iterations == 50
    assert result.errors["rows"] == pytest.approx(2.0)


def test_targets_reachable_only_in_the_limit_are_reported_not_converged():
    # Feasible only with the positive seed cell (0, 0) at zero: IPF creeps towards it
    # (error about 1 / (2 n) after n sweeps), so 1000 sweeps do not reach tol.
    rows = Marginal((0,), [1.0, 1.0], "rows")
    cols = Marginal((1,), [1.0, 1.0], "cols")
    result = ipf([[1.0, 1.0], [1.0, 0.0]], [rows, cols], tol=1e-6, max_iter=1000)
    assert not result.converged
    assert result.errors["rows"] > result.threshold


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("value", "kind"), [(-1.0, "negative"), (np.nan, "non-finite")])
def test_bad_seed_value_names_the_cell(value, kind):
    seed = SEED_4X4.astype(float)
    seed[2, 1] = value
    with pytest.raises(CalibrationError, match=rf"seed has a {kind} value .* cell \(2, 1\)"):
        ipf(seed, [ROWS_4X4, COLS_4X4])


@pytest.mark.parametrize(("value", "kind"), [(-5.0, "negative"), (np.inf, "non-finite")])
def test_bad_target_value_names_the_marginal_and_cell(value, kind):
    target = np.array([[10.0, 20.0], [30.0, 40.0], [50.0, 60.0]])
    target[2, 1] = value
    margin = Marginal((2, 0), target, "by k and i")
    with pytest.raises(CalibrationError, match=rf"'by k and i' target has a {kind} .*\(2, 1\)"):
        ipf(np.ones((2, 4, 3)), [margin])


def test_axes_out_of_range_name_the_marginal():
    with pytest.raises(CalibrationError, match=r"'late': axes \(0, 3\) out of range .* 3 axes"):
        ipf(np.ones((2, 2, 2)), [Marginal((0, 3), np.ones((2, 2)), "late")])


def test_repeated_axes_name_the_marginal():
    with pytest.raises(CalibrationError, match=r"'twice': axes \(1, 1\) repeat an axis"):
        Marginal((1, 1), np.ones((2, 2)), "twice")


def test_target_shape_mismatch_names_the_marginal_and_lengths():
    margin = Marginal((1, 0), np.ones((3, 2)), "wrong")
    pattern = r"'wrong': target shape \(3, 2\) .* axis lengths \(4, 2\) for axes \(1, 0\)"
    with pytest.raises(CalibrationError, match=pattern):
        ipf(np.ones((2, 4)), [margin])


def test_inconsistent_totals_name_both_marginals():
    cols = Marginal((1,), [200, 300, 400, 101], "cols")
    with pytest.raises(CalibrationError, match=r"'rows' sums to 1000.0 .* 'cols' sums to 1001"):
        ipf(SEED_4X4, [ROWS_4X4, cols])


def test_overlapping_marginals_disagreeing_on_shared_axis_name_both_and_the_cell():
    # Sums onto axis 1: "ab" gives [4, 6, 10], "bc" gives [4, 7, 9]; totals agree (20).
    ab = Marginal((0, 1), [[1.0, 2.0, 4.0], [3.0, 4.0, 6.0]], "ab")
    bc = Marginal((1, 2), [[2.0, 2.0], [3.0, 4.0], [4.0, 5.0]], "bc")
    pattern = r"'ab' and 'bc' disagree on shared axes \(1,\): at cell \(1,\) 'ab' sums to 6"
    with pytest.raises(CalibrationError, match=pattern):
        ipf(np.ones((2, 3, 2)), [ab, bc])


def test_positive_target_over_only_zero_seed_cells_names_the_marginal_and_cell():
    seed = np.ones((3, 2, 2))
    seed[2, 1, :] = 0.0
    margin = Marginal((1, 0), [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], "ji")
    pattern = r"'ji': target 1.0 at cell \(1, 2\) is positive but every seed cell .* zero"
    with pytest.raises(CalibrationError, match=pattern):
        ipf(seed, [margin])


def test_empty_marginal_list_is_rejected():
    with pytest.raises(CalibrationError, match="at least one Marginal"):
        ipf(SEED_4X4, [])


def test_all_zero_seed_with_positive_targets_is_rejected():
    with pytest.raises(CalibrationError, match="seed is all zeros but the targets total 1000"):
        ipf(np.zeros((4, 4)), [ROWS_4X4, COLS_4X4])


@pytest.mark.parametrize(("kwargs", "word"), [({"tol": 0.0}, "tol"), ({"max_iter": 0}, "max_iter")])
def test_bad_tol_or_max_iter_is_rejected(kwargs, word):
    with pytest.raises(CalibrationError, match=word):
        ipf(SEED_4X4, [ROWS_4X4, COLS_4X4], **kwargs)


# --------------------------------------------------------------------------- properties


@st.composite
def consistent_problems(draw):
    """A random positive seed and the 1-D/2-D marginals of a random positive truth."""
    ndim = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(2, 4), min_size=ndim, max_size=ndim)))
    subsets = [ax for r in (1, 2) for ax in itertools.combinations(range(ndim), r)]
    chosen = draw(st.lists(st.sampled_from(subsets), min_size=1, max_size=5, unique=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([1.0, 1e3, 1e6]))
    truth = rng.uniform(0.1, 10.0, shape) * scale
    seed = rng.uniform(0.1, 10.0, shape)
    return seed, [Marginal(ax, _sums(truth, ax)) for ax in chosen], float(truth.sum())


@settings(max_examples=50, deadline=None, derandomize=True)
@given(consistent_problems())
def test_property_consistent_problems_converge_within_tol(problem):
    seed, margins, total = problem
    result = ipf(seed, margins, tol=1e-9)
    assert result.converged
    for m in margins:
        error = np.abs(_sums(result.table, m.axes) - m.target).max()
        assert error <= 1e-9 * max(1.0, total)
    assert result.table.sum() == pytest.approx(total, rel=1e-9)


# --------------------------------------------------------------------------- tidy frames


def _tidy_seed() -> pd.DataFrame:
    # No row for (age="65+", sex="M"): that cell is zero. ("F", "18-64") is listed as zero.
    return pd.DataFrame(
        {
            "age": ["0-17", "0-17", "18-64", "18-64", "65+"],
            "sex": ["F", "M", "F", "M", "F"],
            "count": [5.0, 6.0, 0.0, 20.0, 4.0],
        }
    )


def test_ipf_frame_round_trip_keeps_rows_and_fits_marginals():
    seed = _tidy_seed()
    by_age = pd.DataFrame({"age": ["0-17", "18-64", "65+"], "count": [30.0, 50.0, 20.0]})
    by_sex = pd.DataFrame({"sex": ["M", "F"], "count": [55.0, 45.0]})
    fitted, result = ipf_frame(seed, [by_age, by_sex])
    assert result.converged and set(result.errors) == {"age", "sex"}
    assert list(fitted.columns) == ["age", "sex", "count"]
    pd.testing.assert_frame_equal(fitted[["age", "sex"]], seed[["age", "sex"]])
    assert result.table.shape == (3, 2)
    assert result.table[2, 1] == 0.0  # the combination missing from the seed
    assert fitted["count"].iloc[2] == 0.0  # the listed zero cell
    age_sums = fitted.groupby("age")["count"].sum()
    sex_sums = fitted.groupby("sex")["count"].sum()
    np.testing.assert_allclose(age_sums[["0-17", "18-64", "65+"]], [30, 50, 20], atol=1e-4)
    np.testing.assert_allclose(sex_sums[["F", "M"]], [45, 55], atol=1e-4)


def test_ipf_frame_rejects_marginal_categories_missing_from_the_seed():
    by_age = pd.DataFrame({"age": ["0-17", "18-64", "80+"], "count": [30.0, 50.0, 20.0]})
    with pytest.raises(CalibrationError, match=r"marginal 'age': categories of 'age' .* '80\+'"):
        ipf_frame(_tidy_seed(), [by_age])


def test_ipf_frame_messages_name_cells_by_category_labels():
    # Only the missing (65+, M) seed cell could carry this target.
    by_both = pd.DataFrame(
        {"sex": ["M"], "age": ["65+"], "count": [3.0]},
    )
    pattern = r"'sex,age': target 3.0 at cell \(1, 2\) \(sex='M', age='65\+'\)"
    with pytest.raises(CalibrationError, match=pattern):
        ipf_frame(_tidy_seed(), [by_both])
