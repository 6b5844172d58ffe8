"""Tests for calibration.integerise: truncate-replicate-sample integerisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from calibration.integerise import integerise
from simulations.errors import CalibrationError

# --------------------------------------------------------------------------- published examples

# Lovelace and Dumont (2016), "Spatial Microsimulation with R", CRC Press, chapter 5,
# section "Integerisation" (after Lovelace and Ballas 2013; source: github.com/Robinlovelace/
# spatial-microsim-book, 05-smsim-in-R.Rmd): TRS never turns a weight above
# one into a count below one, so for w1 = (0.333, 0.667, 3) and w2 = (1.333, 1.333, 1.333),
# both of total 4, the count (4, 0, 0) that proportional probabilities can give is impossible.


def test_trs_keeps_the_integer_parts_of_lovelace_dumont_w1() -> None:
    for seed in range(200):
        counts = integerise(np.array([0.333, 0.667, 3.0]), rng=seed)
        assert counts.tolist() in ([1, 0, 3], [0, 1, 3])


def test_trs_keeps_the_integer_parts_of_lovelace_dumont_w2() -> None:
    seen = set()
    for seed in range(200):
        counts = integerise(np.array([1.333, 1.333, 1.333]), rng=seed)
        assert sorted(counts.tolist()) == [1, 1, 2]
        seen.add(tuple(counts))
    assert len(seen) == 3  # each cell can be the one topped up


def test_trs_tops_up_the_simpleworld_zone_1_weights_as_printed() -> None:
    # Same chapter, "Example of integerisation": the zone 1 IPF weights integerise as
    # "(1, 1, 3, 1, 4)" plus "the two missing individuals" added to two cells. The weights are
    # the raked SimpleWorld zone 1 weights (a, a, 6 - 2a, 4 - 2a, 2 + 2a), a = (11 - sqrt 73)/2.
    a = (11 - math.sqrt(73)) / 2
    weights = np.array([a, a, 6 - 2 * a, 4 - 2 * a, 2 + 2 * a])
    for seed in range(100):
        extra = integerise(weights, rng=seed) - np.array([1, 1, 3, 1, 4])
        assert set(extra.tolist()) <= {0, 1} and extra.sum() == 2


# --------------------------------------------------------------------------- behaviour


def test_whole_weights_come_back_unchanged_without_drawing() -> None:
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    np.testing.assert_array_equal(integerise(np.array([2.0, 0.0, 3.0]), rng=rng), [2, 0, 3])
    assert rng.bit_generator.state == state


def test_n_dimensional_tables_keep_their_shape() -> None:
    table = np.array([[[0.5, 1.5], [2.25, 0.75]], [[1.0, 0.0], [0.6, 0.4]]])
    counts = integerise(table, rng=3)
    assert counts.shape == table.shape and counts.dtype == np.int64
    assert counts.sum() == 7


def test_explicit_total_above_the_rounded_sum_tops_up_the_largest_fractions_first() -> None:
    # Analytic: 2 units among fractions (0.1, 0.1, 0.9): the 0.9 cell's share 2 * 0.9 / 1.1
    # exceeds 1, so it is always topped up and one of the other two gets the second unit.
    for seed in range(50):
        counts = integerise(np.array([0.1, 0.1, 0.9]), total=2, rng=seed)
        assert counts[2] == 1 and counts.sum() == 2


def test_expected_counts_equal_the_weights_where_draw_by_draw_sampling_is_biased() -> None:
    # Analytic: for fractions (0.9, 0.9, 0.1, 0.1) and 2 units, drawing one unit at a time
    # without replacement (R's sample(prob = f, replace = FALSE)) includes a 0.9 cell with
    # probability 0.45 + 0.45 * 9/11 + 0.05 * 2 * 9/19 = 0.866, not 0.9. TRS here is unbiased.
    weights = np.array([0.9, 0.9, 0.1, 0.1])
    draws = 10_000
    mean = np.mean([integerise(weights, rng=seed) for seed in range(draws)], axis=0)
    tolerance = 5 * np.sqrt(weights * (1 - weights) / draws)  # 5 standard errors
    assert (np.abs(mean - weights) <= tolerance).all()
    assert abs(0.866 - 0.9) > tolerance.max()  # the bias would have been detected


def test_generator_and_int_seed_give_the_same_result() -> None:
    weights = np.linspace(0.1, 3.3, 17)
    by_seed = integerise(weights, rng=42)
    by_generator = integerise(weights, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(by_seed, by_generator)


weight_arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
    elements=st.floats(0.0, 50.0, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(weight_arrays, st.integers(0, 2**32 - 1))
def test_total_is_exact_and_each_count_is_floor_or_floor_plus_one(weights, seed) -> None:
    counts = integerise(weights, rng=seed)
    assert counts.shape == weights.shape
    assert counts.sum() == round(float(weights.sum()))
    extra = counts - np.floor(weights)
    assert ((extra == 0) | (extra == 1)).all()
    assert (extra[weights == np.floor(weights)] == 0).all()


@settings(max_examples=100, deadline=None, derandomize=True)
@given(weight_arrays, st.data())
def test_any_reachable_total_is_met_exactly(weights, data) -> None:
    floors = int(np.floor(weights).sum())
    room = int((weights > np.floor(weights)).sum())
    total = data.draw(st.integers(floors, floors + room))
    counts = integerise(weights, total=total, rng=data.draw(st.integers(0, 1000)))
    assert counts.sum() == total
    assert set(np.unique(counts - np.floor(weights)).tolist()) <= {0, 1}


@settings(max_examples=50, deadline=None, derandomize=True)
@given(weight_arrays, st.integers(0, 2**32 - 1))
def test_same_seed_gives_the_same_counts(weights, seed) -> None:
    np.testing.assert_array_equal(integerise(weights, rng=seed), integerise(weights, rng=seed))


@settings(max_examples=20, deadline=None, derandomize=True)
@given(
    st.lists(st.floats(0.0, 6.0, allow_nan=False), min_size=1, max_size=8),
    st.integers(0, 6),
)
def test_mean_count_over_many_seeds_approaches_the_weight(head, whole) -> None:
    # The last weight completes the sum to an integer, so total == sum(w) and E[count] == w.
    weights = np.array(head + [math.ceil(sum(head)) - sum(head) + whole])
    draws = 2_000
    counts = np.array([integerise(weights, rng=seed) for seed in range(draws)])
    # Each count is floor(w) + Bernoulli(frac(w)): 5 standard errors of the mean, plus slack
    # for the float rounding of the fractions.
    fractions = weights - np.floor(weights)
    tolerance = 5 * np.sqrt(fractions * (1 - fractions) / draws) + 1e-9
    assert (np.abs(counts.mean(axis=0) - weights) <= tolerance).all()


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf")])
def test_negative_or_non_finite_weights_are_rejected(bad: float) -> None:
    with pytest.raises(CalibrationError, match=r"finite weights >= 0. Got \[.*\] at \[\(1,\)\]"):
        integerise(np.array([1.0, bad]), rng=0)


def test_total_below_the_integer_parts_is_impossible() -> None:
    message = "Cannot integerise to total=2: the integer parts of the weights already sum to 3"
    with pytest.raises(CalibrationError, match=message):
        integerise(np.array([1.5, 2.5]), total=2, rng=0)


def test_total_above_one_extra_unit_per_fractional_cell_is_impossible() -> None:
    match = r"only 2 cells have a fractional part .* the most TRS can reach is 7"
    with pytest.raises(CalibrationError, match=match):
        integerise(np.array([1.5, 2.5, 2.0]), total=8, rng=0)


@pytest.mark.parametrize("total", [2.0, -1, True, "4"])
def test_total_must_be_a_non_negative_int(total) -> None:
    with pytest.raises(CalibrationError, match=r"The 'total' parameter of integerise must be"):
        integerise(np.array([1.5, 0.5]), total=total, rng=0)


@pytest.mark.parametrize("rng", [None, 1.5, -1, True, "seed", np.random.RandomState(0)])
def test_rng_must_be_a_seed_or_generator(rng) -> None:
    message = (
        r"The 'rng' parameter of integerise must be an int in the range \[0, inf\) or a "
        r"numpy.random.Generator. Got .* instead."
    )
    with pytest.raises(CalibrationError, match=message):
        integerise(np.array([1.5, 0.5]), rng=rng)
