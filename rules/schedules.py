"""Rate schedules: how often something happens by hour of day and by weekday.

A :class:`Schedule` holds 24 relative hourly weights and 7 weekday multipliers
(Monday first). Scenarios sample event times from it; kernels receive its arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Schedule", "stack_hour_cdfs", "guide_table"]


@dataclass(frozen=True)
class Schedule:
    """Hour-of-day weights and weekday multipliers of an activity.

    Parameters
    ----------
    name : str
        Identifier, e.g. ``"daytime"``.
    hourly : tuple of 24 float
        Relative weight of each hour 0..23 (any positive scale); normalised on use.
    weekday : tuple of 7 float
        Rate multiplier for Monday..Sunday; 1.0 means the base rate.
    """

    name: str
    hourly: tuple[float, ...]
    weekday: tuple[float, ...] = (1.0,) * 7

    def __post_init__(self) -> None:
        if len(self.hourly) != 24 or min(self.hourly) < 0 or sum(self.hourly) <= 0:
            raise ValueError(
                f"Schedule {self.name!r} needs 24 non-negative hourly weights with a positive "
                f"sum. Got {len(self.hourly)} weights."
            )
        if len(self.weekday) != 7 or min(self.weekday) < 0:
            raise ValueError(
                f"Schedule {self.name!r} needs 7 non-negative weekday multipliers. "
                f"Got {self.weekday!r}."
            )

    def hour_cdf(self) -> np.ndarray:
        """Cumulative distribution over hours, shape (24,), last value exactly 1."""
        cdf = np.cumsum(np.asarray(self.hourly, dtype=np.float64))
        return cdf / cdf[-1]


def stack_hour_cdfs(schedules: list[Schedule]) -> np.ndarray:
    """Hour CDFs of several schedules, shape (len(schedules), 24), for kernels."""
    return np.stack([s.hour_cdf() for s in schedules])


def guide_table(cdf: np.ndarray, size: int = 64) -> np.ndarray:
    """Guide table for drawing from ``cdf`` (Chen & Asau, 1974), int64, shape (..., size).

    ``guide[..., j]`` is the first index whose cumulative probability exceeds ``j / size``,
    so the draw for a uniform ``u`` starts its search at ``guide[int(u * size)]`` and almost
    always ends there: constant time instead of a scan over every category.
    """
    cdf = np.asarray(cdf, dtype=np.float64)
    steps = np.arange(size) / size
    rows = cdf.reshape(-1, cdf.shape[-1])
    guide = np.stack([np.searchsorted(row, steps, side="right") for row in rows])
    return guide.reshape(cdf.shape[:-1] + (size,)).astype(np.int64)
