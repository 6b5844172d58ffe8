"""Attributes that drive outcomes: tables keyed by attribute bands, and return times.

A pathway file may define ``[tables.NAME]`` sections, each keyed by one or two declared
attributes::

    [tables.admission_odds]
    age = [0, 18, 65, 80]          # lower edges of the bands: 0-17, 18-64, 65-79, 80+
    acuity = [1, 2, 3, 4, 5]       # one band per level
    values = [[...5 numbers...], ...]   # one row per band of the first key, one column
                                        # per band of the second

A value below the first edge falls in the first band. Tables are used by name:

* a transition's ``odds_by = "NAME"``: the table is an **odds ratio** on the transition's
  probability ``p`` for the patient (``p' = p r / (1 - p + p r)``); the other probabilistic
  transitions of the same source share ``1 - p'`` in proportion to their probabilities (at
  most one transition per source has ``odds_by``);
* an activity's ``service_scale = "NAME"``: the service time is multiplied by the value
  (e.g. a ward stay longer for older, sicker patients);
* ``[adverse_events] death_scale = "NAME"``: both death hazards are multiplied by it;
* ``[patience] scale = "NAME"``: the patience is multiplied by it (e.g. urgent patients
  rarely leave);
* ``[adverse_events] readmission_odds = "NAME"``: an odds ratio on ``readmission_30d``,
  times ``readmission_odds_by_outcome`` (a table of odds ratios by terminal state, 1 for
  states not named).

Odds ratios keep probabilities in [0, 1] whatever the base (so the what-if keys on the base
probabilities keep their meaning); multipliers are >= 0.

Return times: with ``[adverse_events] readmission_mean_days = m`` (> 0), a readmitted
patient returns after a delay drawn from an exponential of mean ``m`` days truncated to
``[0, 30)`` days (so most returns come in the first week when ``m`` is a week), and the
hour of the return is redrawn from the arrival profile's hours (``return_hours``, shares of
a day's arrivals by hour; uniform when not given) on the day the delay points to, keeping
the return after the discharge and within 30 days. Without it, the delay is uniform on
``[0, 30)`` days, at any hour. Hours are the wall clock's when the engines are given
``local_offsets`` (minutes the wall clock runs ahead of the simulation clock on each day, from
:func:`day_offsets`, so returns keep to local hours across summer time), else the
simulation clock's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numba as nb
import numpy as np

from simulations.errors import ConfigError

__all__ = [
    "BandTable", "day_offsets", "evaluate_tables", "local_hour", "parse_tables", "return_time",
    "with_odds",
]

#: Days within which a readmission returns (``pathway.READMISSION_DAYS``).
_DAYS = 30


@dataclass(frozen=True)
class BandTable:
    """Values by bands of one or two attributes.

    Parameters
    ----------
    name : str
    keys : tuple of str
        The attributes (one or two), in file order.
    edges : tuple of tuple of float
        Lower edges of each key's bands, strictly increasing.
    values : tuple of float, or tuple of tuple of float
        Shape ``(len(edges[0]),)`` or ``(len(edges[0]), len(edges[1]))``; all >= 0.
    """

    name: str
    keys: tuple[str, ...]
    edges: tuple[tuple[float, ...], ...]
    values: tuple

    def lookup(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """The value for each patient (float64, shape (n,)) from attribute arrays (n,)."""
        index = tuple(
            np.maximum(np.searchsorted(np.asarray(e), np.asarray(columns[k], float),
                                       side="right") - 1, 0)
            for k, e in zip(self.keys, self.edges, strict=True)
        )  # fmt: skip
        return np.asarray(np.asarray(self.values, dtype=np.float64)[index], dtype=np.float64)


def parse_tables(raw: object, attributes: tuple[str, ...],
                 error: Callable[[str, str | None, str], ConfigError]) -> dict[str, BandTable]:
    """Validate the ``[tables]`` section (module docstring); ``error(section, item,
    problem)`` builds the loader's one-line error."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise error("tables", None, "must be a table of [tables.NAME] tables")
    out = {}
    for name, table in raw.items():
        if not isinstance(table, Mapping):
            raise error("tables", name, f"must be a table, not {table!r}")
        keys = tuple(k for k in table if k != "values")
        if not 1 <= len(keys) <= 2:
            raise error("tables", name, f"needs one or two attribute keys besides 'values', "
                                        f"got {list(keys)}")  # fmt: skip
        edges = []
        for key in keys:
            if key not in attributes:
                raise error("tables", name, f"key {key!r} is not a declared attribute; "
                                            f"declared: {', '.join(attributes) or '(none)'}")
            e = table[key]
            ok = isinstance(e, list) and e and all(
                isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
                for x in e)  # fmt: skip
            if not ok or any(b <= a for a, b in zip(e, e[1:], strict=False)):
                raise error("tables", name, f"{key} must be a non-empty list of strictly "
                                            f"increasing band edges, got {e!r}")  # fmt: skip
            edges.append(tuple(float(x) for x in e))
        shape = tuple(len(e) for e in edges)
        try:
            values = np.array(table.get("values"), dtype=np.float64)
        except (TypeError, ValueError):
            values = None
        if values is None or values.shape != shape:
            raise error("tables", name, f"values must be a list of numbers of shape {shape} "
                                        f"(bands of {' x '.join(keys)}), got "
                                        f"{table.get('values')!r}")  # fmt: skip
        if not (np.isfinite(values) & (values >= 0)).all():
            raise error("tables", name, f"values must be finite numbers >= 0, got "
                                        f"{table['values']!r}")  # fmt: skip
        out[name] = BandTable(name, keys, tuple(edges), _nested(values.tolist()))
    return out


def _nested(values: object) -> object:
    return tuple(_nested(v) for v in values) if isinstance(values, list) else values


def evaluate_tables(tables: Mapping[str, BandTable], names: tuple[str, ...],
                    columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
    """float64[max(len(names), 1), n]: row ``j`` is table ``names[j]`` for each patient."""
    out = np.ones((max(len(names), 1), n))
    for j, name in enumerate(names):
        out[j] = tables[name].lookup(columns)
    return out


@nb.njit(cache=True)
def with_odds(p, ratio):
    """Probability ``p`` with its odds multiplied by ``ratio`` (>= 0)."""
    if p >= 1.0 or p <= 0.0:
        return p
    return p * ratio / (1.0 - p + p * ratio)


def day_offsets(local_minutes: Callable[[np.ndarray], np.ndarray], days: int) -> np.ndarray:
    """float64[days]: minutes the wall clock runs ahead of the simulation clock at noon of
    each day (``local_minutes`` maps elapsed minutes to wall-clock minutes, e.g.
    :meth:`scenarios.patients.arrivals.LocalClock.local_minutes`)."""
    noon = np.arange(max(days, 1)) * 1440.0 + 720.0
    return np.asarray(local_minutes(noon), np.float64) - noon


@nb.njit(cache=True)
def _offset(offsets, day):
    if offsets.shape[0] == 0:
        return 0.0
    return offsets[min(max(day, 0), offsets.shape[0] - 1)]


@nb.njit(cache=True)
def local_hour(hour, start_minute, offsets):
    """The wall clock's hour (0-23) during simulation hour ``hour`` (counted from the first
    day's midnight, as shift rosters are), summer time included by day (``offsets``, minutes,
    :func:`day_offsets`; empty for none): staff rosters keep to local hours."""
    day = int(math.floor((hour * 60.0 - start_minute) / 1440.0))
    return (hour + int(round(_offset(offsets, day) / 60.0))) % 24


@nb.njit(cache=True)
def return_time(t, start_minute, mean_days, hour_cum, offsets, u1, u2, u3):
    """Minute of a readmission of a case discharged at minute ``t`` (module docstring).

    ``start_minute`` is the minute of the day of minute 0; ``mean_days`` the mean of the
    truncated exponential delay (days; <= 0 for a uniform delay on [0, 30) days);
    ``hour_cum`` float64[24], cumulative shares of arrivals by hour; ``offsets`` float64[D],
    minutes the wall clock is ahead on each day (:func:`day_offsets`; empty for none);
    ``u1, u2, u3`` uniforms on [0, 1). The result is in ``(t, t + 30 days)``
    (``[t, t + 30 days)`` when uniform).
    """
    span = _DAYS * 1440.0
    if mean_days <= 0.0:
        return t + span * u1
    mean = mean_days * 1440.0
    delay = -mean * math.log(1.0 - u1 * (1.0 - math.exp(-span / mean)))
    now = start_minute + t
    local = now + _offset(offsets, int(math.floor(now / 1440.0)))
    day = math.floor((local + delay) / 1440.0)
    h = 0
    while h < 23 and hour_cum[h] <= u2 * hour_cum[23]:
        h += 1
    back = day * 1440.0 + h * 60.0 + 60.0 * u3 - _offset(offsets, int(day)) - start_minute
    if back <= t:
        back += 1440.0
    if back >= t + span:
        back -= 1440.0
    return back
