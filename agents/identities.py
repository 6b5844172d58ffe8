"""Seeded, vectorised identities drawn from Faker's published name data.

Calling ``Faker().name()`` a million times takes minutes and depends on Faker's global
state. Instead we read the weighted name lists that Faker ships for a locale once and
draw indices from them with an explicit numpy generator: the same seed gives the same
names, and a million identities take well under a second. Names come back as Arrow
dictionary arrays (index into the name list), which is also how they are written.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

__all__ = ["NameLists", "name_lists", "draw_names", "company_names"]


@dataclass(frozen=True)
class NameLists:
    """Faker's weighted name lists of one locale: names (tuple) and probabilities (array)."""

    first_male: tuple[str, ...]
    p_first_male: np.ndarray
    first_female: tuple[str, ...]
    p_first_female: np.ndarray
    last: tuple[str, ...]
    p_last: np.ndarray
    company_suffixes: tuple[str, ...]


def _weighted(names) -> tuple[tuple[str, ...], np.ndarray]:
    if isinstance(names, dict):
        keys = tuple(names)
        weights = np.fromiter(names.values(), dtype=np.float64, count=len(keys))
    else:
        keys = tuple(dict.fromkeys(names))
        weights = np.ones(len(keys))
    return keys, weights / weights.sum()


@cache
def name_lists(locale: str = "en_US") -> NameLists:
    """Load the name lists Faker ships for ``locale`` (e.g. ``"en_US"``, ``"en_GB"``)."""
    person = importlib.import_module(f"faker.providers.person.{locale}").Provider
    try:
        company = importlib.import_module(f"faker.providers.company.{locale}").Provider
    except ModuleNotFoundError:
        company = importlib.import_module("faker.providers.company").Provider
    first_male, p_male = _weighted(person.first_names_male)
    first_female, p_female = _weighted(person.first_names_female)
    last, p_last = _weighted(person.last_names)
    return NameLists(
        first_male, p_male, first_female, p_female, last, p_last, tuple(company.company_suffixes)
    )


def _dictionary(indices: np.ndarray, values: tuple[str, ...]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(values))


def draw_names(
    is_male: np.ndarray, rng: np.random.Generator, locale: str = "en_US"
) -> tuple[pa.DictionaryArray, pa.DictionaryArray]:
    """First and last names consistent with each person's sex.

    Parameters
    ----------
    is_male : ndarray of bool, shape (n,)
        Sex of each person; first names are drawn from the matching list.
    rng : numpy.random.Generator
        Source of randomness; the only one used.
    locale : str
        Faker locale whose lists are used.

    Returns
    -------
    first_names, last_names : pyarrow.DictionaryArray, length n
        Indices into the distinct first names (male list, then the female names not already
        in it) and into the last names.
    """
    lists = name_lists(locale)
    n = len(is_male)
    # Names such as Jordan are in both lists: one dictionary entry each, because Parquet
    # writers handle duplicate dictionary values badly (and non-deterministically).
    dictionary = tuple(dict.fromkeys(lists.first_male + lists.first_female))
    position = {name: k for k, name in enumerate(dictionary)}
    female_code = np.array([position[name] for name in lists.first_female], dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    male = np.flatnonzero(is_male)
    female = np.flatnonzero(~np.asarray(is_male, dtype=bool))
    first[male] = rng.choice(len(lists.first_male), size=male.size, p=lists.p_first_male)
    first[female] = female_code[
        rng.choice(len(lists.first_female), size=female.size, p=lists.p_first_female)
    ]
    last = rng.choice(len(lists.last), size=n, p=lists.p_last)
    return _dictionary(first, dictionary), _dictionary(last, lists.last)


def company_names(n: int, rng: np.random.Generator, locale: str = "en_US") -> pa.Array:
    """``n`` company names in Faker's "Lastname Suffix" style, as a string array."""
    lists = name_lists(locale)
    last = np.asarray(lists.last, dtype=object)[rng.choice(len(lists.last), n, p=lists.p_last)]
    suffix = np.asarray(lists.company_suffixes, dtype=object)[
        rng.integers(0, len(lists.company_suffixes), n)
    ]
    return pa.array(last + " " + suffix, type=pa.string())
