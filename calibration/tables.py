"""The tidy CSV marginal format (variable columns, a ``count`` column, ``#`` comment lines
citing the source) and the tables shipped in ``calibration/data``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["DATA", "read_marginal"]

DATA = Path(__file__).with_name("data")
"""Folder of the shipped marginal tables (sources in ``SOURCES.md`` there)."""


def read_marginal(path: str | Path) -> pd.DataFrame:
    """Read one tidy CSV marginal; a bare file name is looked up in :data:`DATA`."""
    path = Path(path)
    if not path.exists() and path.parent == Path(".") and (DATA / path).exists():
        path = DATA / path
    return pd.read_csv(path, comment="#")
