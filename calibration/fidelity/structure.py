"""Event-log structure: does the synthetic log have real rhythms and real histories?

Four measures, each a similarity in [0, 1] on the whole of both tables:

- ``hour of day`` and ``weekday`` profiles: TV complement of the share of events per hour
  (per weekday);
- ``events per entity``: KS complement of the number of events each entity has;
- ``time between an entity's events``: KS complement of the gaps (seconds) between
  consecutive events of the same entity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from calibration.fidelity.features import entity_codes
from calibration.fidelity.metrics import ks_complement, numeric_values

__all__ = ["Profile", "event_structure"]


@dataclass(frozen=True)
class Profile:
    """One table's event-log summaries: shares per hour (24,) and weekday (7,), events per
    entity, and gaps between an entity's consecutive events (seconds)."""

    hours: np.ndarray
    weekdays: np.ndarray
    per_entity: np.ndarray
    gaps: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, time: str, entities: tuple[str, ...]) -> Profile:
        stamps = frame[time]
        present = stamps.notna().to_numpy()
        hours = np.bincount(stamps.dt.hour[present].astype(int), minlength=24)
        weekdays = np.bincount(stamps.dt.weekday[present].astype(int), minlength=7)
        entity = entity_codes(frame, entities)[present]
        seconds = numeric_values(stamps)[present] / 1e9
        order = np.lexsort((seconds, entity))
        entity, seconds = entity[order], seconds[order]
        same = entity[1:] == entity[:-1]
        per_entity = np.bincount(entity)
        return cls(hours / max(hours.sum(), 1), weekdays / max(weekdays.sum(), 1),
                   per_entity[per_entity > 0].astype(np.float64),
                   np.diff(seconds)[same])  # fmt: skip


def _tv(real_shares: np.ndarray, synthetic_shares: np.ndarray) -> float:
    return float(1.0 - 0.5 * np.abs(real_shares - synthetic_shares).sum())


def event_structure(real: Profile, synthetic: Profile) -> pd.DataFrame:
    """One row per measure: ``measure``, ``metric``, ``score``, and the medians of the
    distributions compared (for the per-entity measures)."""
    rows = [
        ("hour of day", "TVComplement", _tv(real.hours, synthetic.hours), np.nan, np.nan),
        ("weekday", "TVComplement", _tv(real.weekdays, synthetic.weekdays), np.nan, np.nan),
    ]
    for name, a, b in (("events per entity", real.per_entity, synthetic.per_entity),
                       ("seconds between an entity's events", real.gaps, synthetic.gaps)):
        median = [float(np.median(x)) if len(x) else np.nan for x in (a, b)]
        rows.append((name, "KSComplement", ks_complement(a, b), *median))
    return pd.DataFrame(rows, columns=["measure", "metric", "score", "real_median",
                                       "synthetic_median"])  # fmt: skip
