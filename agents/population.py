"""Columnar (structure-of-arrays) agent state.

A :class:`Population` keeps one numpy array per attribute, all of the same length, so
Numba kernels can take the arrays directly and no per-agent Python object exists on the
hot path. Mesa reference models read individual agents out of it with :meth:`row`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

__all__ = ["Population"]


class Population(Mapping[str, np.ndarray]):
    """Named, equally long 1-D (or row-aligned N-D) arrays: one per agent attribute.

    Parameters
    ----------
    columns : mapping of str to ndarray
        Attribute arrays; every array's first dimension is the number of agents.
    """

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"Population columns must have equal lengths. Got {lengths}.")
        self._columns = {name: np.asarray(values) for name, values in columns.items()}
        self.n = next(iter(lengths.values()), 0)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __repr__(self) -> str:
        return f"Population(n={self.n}, columns={list(self._columns)})"
