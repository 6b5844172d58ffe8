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

The profile is in local hours. A :class:`LocalClock` maps the simulation's elapsed minutes
(minute 0 = local midnight of the first day) to the wall clock of an IANA time zone, so that
across a change to or from summer time arrivals keep following local hours (an hour earlier
in UTC in British summer time), and turns the simulated times into time-zone-aware
timestamps.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulations.errors import ConfigError

__all__ = [
    "DEFAULT_PROFILE",
    "WEEKDAYS",
    "ArrivalProfile",
    "LocalClock",
    "check_timezone",
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


def check_timezone(name: object, parameter: str = "run.timezone") -> zoneinfo.ZoneInfo:
    """The IANA time zone called ``name``.

    Raises
    ------
    simulations.errors.ConfigError
        Naming ``parameter``, what is allowed and the value given.
    """
    problem = ConfigError(
        f"The {parameter!r} parameter must be an IANA time zone name such as "
        f"'Europe/London' or 'UTC'. Got {name!r} instead."
    )
    if not isinstance(name, str) or not name:
        raise problem
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise problem from None


@dataclass(frozen=True)
class LocalClock:
    """Elapsed simulation minutes on the wall clock of a time zone.

    Minute 0 is local midnight of ``start`` (``start_local``, the instant ``start_utc``).
    Within ``[0, horizon_minutes]`` the zone's UTC offset changes at the elapsed minutes
    ``changes`` (found to the minute), after which the wall clock runs ``shifts`` minutes
    ahead of (negative: behind) the elapsed time.

    Build one with :meth:`of`.
    """

    zone: str
    start_local: dt.datetime
    start_utc: dt.datetime
    changes: np.ndarray = field(hash=False)
    shifts: np.ndarray = field(hash=False)

    @classmethod
    def of(cls, start: dt.date | str, zone: str, horizon_minutes: float) -> LocalClock:
        """The clock of ``zone`` from local midnight of ``start`` for ``horizon_minutes``."""
        tz = check_timezone(zone)
        day = dt.date.fromisoformat(start) if isinstance(start, str) else start
        local = dt.datetime.combine(day, dt.time())
        utc = local.replace(tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)
        hours = np.arange(int(math.ceil(max(horizon_minutes, 0.0) / 60.0)) + 2)
        offsets = cls._offsets(utc, zone, hours * 60)
        base = int(offsets[0])
        changes, shifts = [], []
        for h in np.flatnonzero(np.diff(offsets)):
            minutes = np.arange(h * 60 + 1, h * 60 + 61)
            found = cls._offsets(utc, zone, minutes)
            first = int(np.argmax(found != offsets[h]))
            changes.append(int(minutes[first]))
            shifts.append(int(found[first]) - base)
        return cls(zone, local, utc, np.array(changes, np.float64), np.array(shifts, np.int64))

    @staticmethod
    def _offsets(utc: dt.datetime, zone: str, minutes: np.ndarray) -> np.ndarray:
        """UTC offsets (minutes) of ``zone`` at ``utc`` + ``minutes``."""
        instants = pd.DatetimeIndex(np.datetime64(utc, "m") + minutes.astype("timedelta64[m]"))
        wall = instants.tz_localize("UTC").tz_convert(zone).tz_localize(None)
        return ((wall - instants) // pd.Timedelta(minutes=1)).to_numpy(np.int64)

    def local_minutes(self, minutes: np.ndarray | float) -> np.ndarray:
        """Wall-clock minutes since local midnight of the first day at elapsed ``minutes``
        (an hour is skipped when the clocks go forward and repeated when they go back)."""
        minutes = np.asarray(minutes, dtype=np.float64)
        if not self.changes.size:
            return minutes
        shift = np.concatenate(([0], self.shifts))
        return minutes + shift[np.searchsorted(self.changes, minutes, side="right")]

    def timestamps(self, local: pd.Series) -> pd.Series:
        """Time-zone-aware timestamps of simulated times given as naive ``start_local`` +
        elapsed time (as the engines write them)."""
        offset = self.start_local - self.start_utc
        return (local - offset).dt.tz_localize("UTC").dt.tz_convert(self.zone)
