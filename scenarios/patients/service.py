"""Service-time distributions of pathway activities (all durations in minutes).

A :class:`ServiceTime` is data: a distribution name and its parameters, validated by
:func:`parse_service`, and sampled with an explicit ``numpy.random.Generator``.

=============  ========================  =============================================
distribution   parameters (minutes)      meaning
=============  ========================  =============================================
exponential    ``mean``                  memoryless, mean > 0
lognormal      ``median``, ``sigma``     median > 0, sigma (of the log) > 0
gamma          ``mean``, ``cv``          mean > 0, coefficient of variation cv > 0
fixed          ``value``                 always ``value`` >= 0
triangular     ``low``, ``mode``,        0 <= low <= mode <= high, low < high
               ``high``
=============  ========================  =============================================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

__all__ = ["DISTRIBUTIONS", "ServiceTime", "parse_service"]

#: Parameter names of each distribution, in their documented order.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
    "gamma": ("mean", "cv"),
    "fixed": ("value",),
    "triangular": ("low", "mode", "high"),
}


@dataclass(frozen=True)
class ServiceTime:
    """A duration distribution in minutes.

    Parameters
    ----------
    distribution : str
        One of ``exponential``, ``lognormal``, ``gamma``, ``fixed``, ``triangular``.
    params : Mapping[str, float]
        The distribution's parameters (see the module table), in minutes except ``sigma``
        and ``cv``, which are unitless.
    """

    distribution: str
    params: Mapping[str, float] = field(hash=False)

    @property
    def mean(self) -> float:
        """Expected duration in minutes."""
        p = self.params
        if self.distribution == "lognormal":
            return p["median"] * math.exp(p["sigma"] ** 2 / 2)
        if self.distribution == "fixed":
            return p["value"]
        if self.distribution == "triangular":
            return (p["low"] + p["mode"] + p["high"]) / 3
        return p["mean"]

    def sample(self, rng: np.random.Generator, size: int | None = None) -> float | np.ndarray:
        """Draw durations in minutes from ``rng`` (the only source of randomness).

        Parameters
        ----------
        rng : numpy.random.Generator
            Generator the draws come from.
        size : int, optional
            Number of draws; a single float when omitted.

        Returns
        -------
        float or numpy.ndarray of shape (size,)
            Durations in minutes, all >= 0.
        """
        p = self.params
        kind = self.distribution
        if kind == "exponential":
            return rng.exponential(p["mean"], size)
        if kind == "lognormal":
            return rng.lognormal(math.log(p["median"]), p["sigma"], size)
        if kind == "gamma":
            shape = 1.0 / p["cv"] ** 2
            return rng.gamma(shape, p["mean"] / shape, size)
        if kind == "triangular":
            return rng.triangular(p["low"], p["mode"], p["high"], size)
        return p["value"] if size is None else np.full(size, float(p["value"]))


def _checks(kind: str, p: Mapping[str, float]) -> str | None:
    """Return what is wrong with the parameters ``p`` of ``kind``, or None."""
    if kind in ("exponential", "gamma") and not p["mean"] > 0:
        return f"'mean' must be > 0 minutes, got {p['mean']!r}"
    if kind == "gamma" and not p["cv"] > 0:
        return f"'cv' must be > 0, got {p['cv']!r}"
    if kind == "lognormal" and not p["median"] > 0:
        return f"'median' must be > 0 minutes, got {p['median']!r}"
    if kind == "lognormal" and not p["sigma"] > 0:
        return f"'sigma' must be > 0, got {p['sigma']!r}"
    if kind == "fixed" and not p["value"] >= 0:
        return f"'value' must be >= 0 minutes, got {p['value']!r}"
    if kind == "triangular":
        low, mode, high = p["low"], p["mode"], p["high"]
        if not (0 <= low <= mode <= high and low < high):
            return (
                f"need 0 <= low <= mode <= high and low < high (minutes), "
                f"got low={low!r}, mode={mode!r}, high={high!r}"
            )
    return None


def parse_service(raw: object, fail: Callable[[str], Exception]) -> ServiceTime:
    """Validate a TOML table such as ``{distribution = "gamma", mean = 30, cv = 0.5}``.

    Parameters
    ----------
    raw : object
        The table read from the pathway file.
    fail : callable
        Builds the exception to raise from a message (it adds file, section and item).

    Returns
    -------
    ServiceTime
    """
    if not isinstance(raw, Mapping):
        raise fail(f'must be a table like {{distribution = "exponential", mean = 10}}, not {raw!r}')
    kind = raw.get("distribution")
    if kind not in DISTRIBUTIONS:
        raise fail(f"unknown distribution {kind!r}; valid: {', '.join(DISTRIBUTIONS)}")
    names = DISTRIBUTIONS[kind]
    unknown = [k for k in raw if k != "distribution" and k not in names]
    if unknown:
        raise fail(
            f"unknown key {unknown[0]!r} for {kind}; valid keys: distribution, {', '.join(names)}"
        )
    missing = [k for k in names if k not in raw]
    if missing:
        raise fail(f"{kind} needs {', '.join(names)}; missing {', '.join(missing)}")
    params: dict[str, float] = {}
    for name in names:
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(f"{name!r} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise fail(f"{name!r} must be finite, got {value!r}")
        params[name] = float(value)
    problem = _checks(kind, params)
    if problem:
        raise fail(f"bad {kind} parameters: {problem}")
    return ServiceTime(kind, params)
