"""Named random streams: reproducible, independent of each other and of worker layout."""

import numpy as np
import pytest

from agents.identities import draw_names
from simulations.seeding import stream


def test_same_seed_shard_and_name_give_the_same_stream():
    assert (stream(3, 1, "behaviour").random(5) == stream(3, 1, "behaviour").random(5)).all()


@pytest.mark.parametrize("other", [(4, 1, "behaviour"), (3, 2, "behaviour"), (3, 1, "people")])
def test_any_difference_gives_another_stream(other):
    assert (stream(3, 1, "behaviour").random(5) != stream(*other).random(5)).all()


def test_negative_or_non_int_seed_is_refused():
    with pytest.raises(ValueError, match="'seed' parameter must be an int"):
        stream(-1, 0, "x")
    with pytest.raises(ValueError, match="'seed' parameter must be an int"):
        stream(1.5, 0, "x")


def test_names_follow_sex_and_are_reproducible():
    is_male = np.arange(2000) % 2 == 0
    first, last = draw_names(is_male, stream(1, 0, "names"))
    again, _ = draw_names(is_male, stream(1, 0, "names"))
    assert first.equals(again)
    from faker.providers.person.en_US import Provider

    names = np.asarray(first.to_pylist(), dtype=object)
    assert set(names[is_male]) <= set(Provider.first_names_male)
    assert set(names[~is_male]) <= set(Provider.first_names_female)
    assert len(set(first.dictionary.to_pylist())) == len(first.dictionary)
    assert len(last) == 2000 and last.null_count == 0


def test_xoshiro_matches_the_reference_implementation():
    from simulations.bits import next_u64

    # First outputs of xoshiro256** from state {1, 2, 3, 4} (Blackman & Vigna's C code).
    state = np.array([1, 2, 3, 4], dtype=np.uint64)
    assert [int(next_u64(state)) for _ in range(4)] == [
        11520, 0, 1509978240, 1215971899390074240,
    ]  # fmt: skip


def test_fast_uniforms_are_uniform_and_reproducible():
    from simulations.bits import below, new_bits, uniform

    state = new_bits(stream(9, 0, "bits"))
    again = state.copy()
    values = np.array([uniform(state) for _ in range(20_000)])
    assert values.min() >= 0.0 and values.max() < 1.0
    assert uniform(again) == values[0]
    # Chi-square over 20 equal bins, 19 df: the 0.999 quantile is 43.8.
    counts = np.histogram(values, bins=20, range=(0, 1))[0]
    assert ((counts - 1000) ** 2 / 1000).sum() < 43.8
    assert {below(state, 3) for _ in range(200)} == {0, 1, 2}


@pytest.mark.parametrize("mean", [0.0, 0.3, 2.5, 9.0])
def test_small_poisson_counts_follow_the_poisson_law(mean):
    from scipy import stats as st

    from simulations.bits import new_bits, poisson_small

    state = new_bits(stream(11, 0, "poisson"))
    counts = np.array([poisson_small(state, mean) for _ in range(20_000)])
    if mean == 0.0:
        assert (counts == 0).all()
        return
    top = int(st.poisson.ppf(0.999, mean))  # pool the tail so expected counts stay large
    observed = np.bincount(np.minimum(counts, top), minlength=top + 1)
    expected = st.poisson.pmf(np.arange(top + 1), mean) * counts.size
    expected[-1] = st.poisson.sf(top - 1, mean) * counts.size
    # Chi-square goodness of fit, alpha = 1e-3, df = bins - 1.
    assert st.chisquare(observed, expected).pvalue > 1e-3
