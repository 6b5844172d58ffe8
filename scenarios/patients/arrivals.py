"""Arrival profile of an emergency department by hour of day and day of week.

The profile is read from a small tidy CSV with optional ``#`` comment lines at the top (the
first one citing the source, as in ``calibration/data``) and the columns ``axis,label,count``:

* 24 rows with ``axis = hour`` and ``label`` 0..23 (arrivals from label:00 to label:59);
* 7 rows with ``axis = weekday`` and ``label`` Mon, Tue, Wed, Thu, Fri, Sat, Sun.

``count`` is a published non-negative figure (attendances or a percentage share); only the
proportions are used. The hourly rate on weekday ``d`` at hour ``h`` is
``mean_per_day * 7 * weekday_share[d] * hour_share[h]`` arrivals per hour, which assumes the
hour-of-day shape is the same on every weekday.

The shipped profile, ``ed_arrivals.csv`` (:data:`DEFAULT_PROFILE`), is NHS England's
*Hospital Accident and Emergency Activity 2024-25* attendances by arrival hour and weekday;
``ARRIVALS_SOURCE.md`` beside it cites the table and how it was checked.
:func:`poisson_arrivals` turns a rate into arrival times.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulations.errors import ConfigError

__all__ = [
    "DEFAULT_PROFILE",
    "WEEKDAYS",
    "ArrivalProfile",
    "default_arrival_profile",
    "load_arrival_profile",
    "poisson_arrivals",
]

#: Weekday labels in ``datetime.weekday()`` order (Monday = 0).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: The published profile shipped with the scenario (source in ``ARRIVALS_SOURCE.md``).
DEFAULT_PROFILE = Path(__file__).with_name("ed_arrivals.csv")


@dataclass(frozen=True)
class ArrivalProfile:
    """Shares of arrivals by hour of day and by weekday.

    Parameters
    ----------
    hourly : numpy.ndarray of shape (24,)
        Published figures for hours 0..23, as read (not normalised).
    weekday : numpy.ndarray of shape (7,)
        Published figures for Monday..Sunday, as read (not normalised).
    source : str
        The citation from the file's first comment line ("" if none).
    """

    hourly: np.ndarray = field(hash=False)
    weekday: np.ndarray = field(hash=False)
    source: str = ""

    @property
    def hour_shares(self) -> np.ndarray:
        """Shares of a day's arrivals by hour, shape (24,), summing to 1."""
        return self.hourly / self.hourly.sum()

    @property
    def weekday_shares(self) -> np.ndarray:
        """Shares of a week's arrivals by weekday (Monday first), shape (7,), summing to 1."""
        return self.weekday / self.weekday.sum()

    def rates_per_hour(self, mean_per_day: float) -> np.ndarray:
        """Arrival rates in arrivals per hour, shape (7, 24) (weekday, hour).

        Parameters
        ----------
        mean_per_day : float
            Mean arrivals per day over a whole week (>= 0).
        """
        if not (math.isfinite(mean_per_day) and mean_per_day >= 0):
            raise ConfigError(f"mean_per_day must be a finite number >= 0, got {mean_per_day!r}.")
        return mean_per_day * 7.0 * np.outer(self.weekday_shares, self.hour_shares)


def load_arrival_profile(path: str | Path) -> ArrivalProfile:
    """Read and validate an arrival-profile CSV (format in the module docstring).

    Raises
    ------
    simulations.errors.ConfigError
        One line naming the file and the offending row or label.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ConfigError(f"Arrival profile '{path}' does not exist.") from None
    comments = [ln.lstrip("#").strip() for ln in lines if ln.startswith("#")]
    rows = list(csv.DictReader(ln for ln in lines if ln.strip() and not ln.startswith("#")))
    if not rows or list(rows[0]) != ["axis", "label", "count"]:
        raise ConfigError(f"Arrival profile '{path}': expected the header axis,label,count.")
    labels = {"hour": [str(h) for h in range(24)], "weekday": list(WEEKDAYS)}
    values: dict[str, dict[str, float]] = {"hour": {}, "weekday": {}}
    for number, row in enumerate(rows, start=1):
        axis, label = row["axis"], row["label"]
        where = f"Arrival profile '{path}', data row {number} ({axis},{label})"
        if axis not in labels or label not in labels[axis]:
            raise ConfigError(
                f"{where}: axis must be hour (labels 0..23) or weekday "
                f"(labels {', '.join(WEEKDAYS)})."
            )
        if label in values[axis]:
            raise ConfigError(f"{where}: duplicate label.")
        try:
            count = float(row["count"])
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: count {row['count']!r} is not a number.") from None
        if not (math.isfinite(count) and count >= 0):
            raise ConfigError(f"{where}: count must be finite and >= 0, got {count!r}.")
        values[axis][label] = count
    for axis, wanted in labels.items():
        missing = [lab for lab in wanted if lab not in values[axis]]
        if missing:
            raise ConfigError(
                f"Arrival profile '{path}': missing {axis} labels {', '.join(missing)}."
            )
        if sum(values[axis].values()) <= 0:
            raise ConfigError(f"Arrival profile '{path}': {axis} counts sum to 0.")
    return ArrivalProfile(
        np.array([values["hour"][lab] for lab in labels["hour"]]),
        np.array([values["weekday"][lab] for lab in WEEKDAYS]),
        comments[0] if comments else "",
    )


def default_arrival_profile() -> ArrivalProfile:
    """The shipped published profile (:data:`DEFAULT_PROFILE`)."""
    return load_arrival_profile(DEFAULT_PROFILE)


def poisson_arrivals(
    arrivals_per_hour: float | Callable[[np.ndarray], np.ndarray],
    horizon_minutes: float,
    rng: np.random.Generator,
    peak_per_hour: float | None = None,
) -> np.ndarray:
    """Poisson arrival times in ``[0, horizon_minutes)``, vectorised.

    Parameters
    ----------
    arrivals_per_hour : float or callable
        Constant rate per hour, or a vectorised function of minutes (array in, array out)
        bounded by ``peak_per_hour`` (thinning).
    horizon_minutes : float
    rng : numpy.random.Generator
        Source of the count, the times and the thinning draws.
    peak_per_hour : float, optional
        Required with a callable rate.

    Returns
    -------
    numpy.ndarray of float64, sorted minutes.
    """
    peak = arrivals_per_hour if peak_per_hour is None else peak_per_hour
    if callable(peak) or not peak >= 0:
        raise ConfigError(f"peak_per_hour must be a number >= 0 with a callable rate; got {peak!r}")
    times = np.sort(rng.uniform(0.0, horizon_minutes, rng.poisson(peak * horizon_minutes / 60)))
    if callable(arrivals_per_hour):
        rates = np.broadcast_to(np.asarray(arrivals_per_hour(times), float), times.shape)
        if ((rates < 0) | (rates > peak)).any():
            raise ConfigError(f"arrivals_per_hour must stay in [0, peak_per_hour={peak!r}]")
        times = times[rng.random(times.size) * peak < rates]
    return times
