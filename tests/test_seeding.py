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
