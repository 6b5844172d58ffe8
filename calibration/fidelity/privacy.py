"""Privacy: does the synthetic table copy real rows, or sit closer to them than real rows
sit to each other?

- **exact copies**: the share of synthetic rows equal to some real row on every compared
  column (whole tables, by row hash);
- **distance to closest record (DCR)**: on seeded samples, each synthetic row's distance to
  its nearest real row, against the same for rows of a real holdout that the reference
  sample does not contain. Numeric columns enter as their rank in the real reference
  (so every column spans [0, 1] whatever its units), categorical ones as one-hot codes
  scaled so that two different values are 1 apart; a missing value is 1 away from any
  present one. ``dcr_ratio`` is the synthetic median over the holdout median: below 1, the
  synthetic rows are closer to real people than real people are to each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from calibration.fidelity.metrics import numeric_values
from calibration.fidelity.sources import column_kind

__all__ = ["Privacy", "privacy"]

TOP_CATEGORIES = 30
"""Categories beyond the most frequent this many share one code in the distance."""


@dataclass(frozen=True)
class Privacy:
    """Privacy figures; see the module docstring. ``score`` is the smaller of
    ``1 - exact_copy_share`` and ``min(1, dcr_ratio)``."""

    exact_copy_share: float
    dcr_synthetic: np.ndarray
    dcr_holdout: np.ndarray
    dcr_ratio: float
    score: float
    rows: dict[str, int]


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _encoder(reference: pd.DataFrame, columns: list[str]):
    """A function mapping a frame to the distance space fitted on ``reference``."""
    parts = []
    for name in columns:
        if column_kind(reference[name]) in ("numeric", "datetime"):
            ranks = np.sort(numeric_values(reference[name]))
            ranks = ranks[~np.isnan(ranks)]
            parts.append(("numeric", name, ranks))
        else:
            top = reference[name].astype(object).value_counts().index[:TOP_CATEGORIES]
            parts.append(("categorical", name, list(top)))

    def encode(frame: pd.DataFrame) -> np.ndarray:
        blocks = []
        for kind, name, fitted in parts:
            if kind == "numeric":
                values = numeric_values(frame[name])
                rank = np.searchsorted(fitted, values, side="right") / max(len(fitted), 1)
                blocks.append(np.where(np.isnan(values), -1.0, rank)[:, None])
            else:
                values = frame[name].astype(object)
                codes = pd.Categorical(values, categories=fitted).codes
                codes = np.where(values.isna(), len(fitted) + 1, np.where(codes < 0,
                                 len(fitted), codes))  # fmt: skip
                block = np.zeros((len(frame), len(fitted) + 2))
                block[np.arange(len(frame)), codes] = np.sqrt(0.5)
                blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))

    return encode


def privacy(real: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str],
            sample_rows: int, rng: np.random.Generator) -> Privacy:  # fmt: skip
    """Exact copies over the whole tables, and DCR on samples of at most ``sample_rows``
    reference rows and ``sample_rows // 10`` synthetic and holdout rows each."""
    copies = float(np.isin(_row_hashes(synthetic[columns]), _row_hashes(real[columns])).mean())
    queries = max(sample_rows // 10, 1)
    shuffled = rng.permutation(len(real))
    holdout = shuffled[: min(queries, len(real) // 2)]
    reference = shuffled[len(holdout):][:sample_rows]
    chosen = rng.choice(len(synthetic), size=min(queries, len(synthetic)), replace=False)
    encode = _encoder(real.iloc[reference], columns)
    index = NearestNeighbors(n_neighbors=1).fit(encode(real.iloc[reference]))
    d_synthetic = index.kneighbors(encode(synthetic.iloc[chosen]))[0][:, 0]
    d_holdout = index.kneighbors(encode(real.iloc[holdout]))[0][:, 0] if len(holdout) \
        else np.zeros(0)  # fmt: skip
    holdout_median = float(np.median(d_holdout)) if len(d_holdout) else float("nan")
    ratio = float(np.median(d_synthetic)) / holdout_median if holdout_median > 0 else \
        float("nan")  # fmt: skip
    score = min(1.0 - copies, min(1.0, ratio)) if np.isfinite(ratio) else 1.0 - copies
    rows = {"reference": len(reference), "synthetic": len(chosen), "holdout": len(holdout)}
    return Privacy(copies, d_synthetic, d_holdout, ratio, float(score), rows)
