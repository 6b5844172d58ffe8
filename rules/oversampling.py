"""Rare-event oversampling with weights: simulate rare events K times as often, and weight
their rows 1/K, so that a model sees enough of them while weighted statistics still give
the natural rates.

Any scenario can use it: add :data:`SCHEMA` to its config schema (a ``factor`` key),
multiply its rare-event rates with :meth:`Oversampling.rates` and write the column
:meth:`Oversampling.weights` gives. The weights are exact in expectation when rare events
only add rows (a crime case's transactions); rows the events change rather than add (a
victim's later payments declined) keep weight 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulations.errors import ConfigError
from simulations.params import Interval, Param

__all__ = ["SCHEMA", "WEIGHT_COLUMN", "Oversampling"]

SCHEMA = {
    "factor": Param(
        "float", Interval(float, 1.0, 1000.0),
        "multiplies the rate of every rare event (crime cases); their rows get sample_weight "
        "1/factor, so weighted statistics give the natural rates",
    ),
}  # fmt: skip
"""Config section of a scenario that oversamples (``[oversampling]``)."""

WEIGHT_COLUMN = "sample_weight"


@dataclass(frozen=True)
class Oversampling:
    """Oversampling of rare events by ``factor`` (>= 1; 1 is the natural rate)."""

    factor: float = 1.0

    def __post_init__(self) -> None:
        if not 1.0 <= self.factor <= 1000.0:
            raise ConfigError(f"The 'oversampling.factor' parameter must be a float in the "
                              f"range [1.0, 1000.0]. Got {self.factor!r} instead.")  # fmt: skip

    def rates(self, natural: np.ndarray, limit: float | None = None,
              names: list[str] | None = None) -> np.ndarray:  # fmt: skip
        """The rates to simulate: ``natural`` times the factor, refused above ``limit``
        (a probability per trial cannot exceed 1), naming the offending event."""
        rates = np.asarray(natural, dtype=np.float64) * self.factor
        if limit is not None and (rates > limit).any():
            k = int(np.argmax(rates > limit))
            name = names[k] if names else f"rate {k}"
            raise ConfigError(f"{name} oversampled {self.factor:g} times is "
                              f"{rates[k]:g}, above the limit of {limit:g}; lower the rate or "
                              f"the oversampling factor.")  # fmt: skip
        return rates

    def weights(self, rare: np.ndarray) -> np.ndarray:
        """``sample_weight`` of each row (float64): ``1 / factor`` for rows of rare events
        (``rare``, bool), 1 for the others."""
        return np.where(rare, 1.0 / self.factor, 1.0)
