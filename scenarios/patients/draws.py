"""Random draws of the patients kernel from a xoshiro256** state (:mod:`simulations.bits`).

Uniforms and Box-Muller normals come from :mod:`simulations.bits`; gammas by
Marsaglia and Tsang (2000). Distribution codes and parameters are those of
:mod:`scenarios.patients.compile`; every duration is in minutes.
"""

from __future__ import annotations

import math

import numba as nb

from simulations.bits import normal, uniform

__all__ = ["exponential", "sample_service"]


@nb.njit(cache=True)
def exponential(mean, bits):
    """An exponential duration of ``mean`` minutes (``inf`` when the mean is ``inf``)."""
    if mean == math.inf:
        return math.inf
    return -mean * math.log(1.0 - uniform(bits))


@nb.njit(cache=True)
def _gamma(shape, bits):
    """Standard gamma by Marsaglia and Tsang (2000); shape < 1 by the u**(1/shape) boost."""
    boost = 1.0
    if shape < 1.0:
        boost = (1.0 - uniform(bits)) ** (1.0 / shape)
        shape += 1.0
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = normal(bits)
        v = (1.0 + c * x) ** 3
        if v <= 0.0:
            continue
        u = 1.0 - uniform(bits)
        if u < 1.0 - 0.0331 * x**4 or math.log(u) < 0.5 * x * x + d * (1.0 - v + math.log(v)):
            return d * v * boost


@nb.njit(cache=True)
def sample_service(dist, p, bits):
    """One duration in minutes of distribution code ``dist`` with parameters ``p``."""
    if dist == 0:
        return -p[0] * math.log(1.0 - uniform(bits))
    if dist == 1:
        return math.exp(p[0] + p[1] * normal(bits))
    if dist == 2:
        return _gamma(p[0], bits) * p[1]
    if dist == 3:
        return p[0]
    low, mode, high = p[0], p[1], p[2]
    u = uniform(bits)
    if u < (mode - low) / (high - low):
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1.0 - u) * (high - low) * (high - mode))
