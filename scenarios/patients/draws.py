"""Random draws of the patients kernel from a xoshiro256** state (:mod:`simulations.bits`).

Uniforms and Box-Muller normals come from :mod:`simulations.bits`; gammas by
Marsaglia and Tsang (2000). Distribution codes and parameters are those of
:mod:`scenarios.patients.compile`; every duration is in minutes.
"""

from __future__ import annotations

import math

import numba as nb

from simulations.bits import gamma, normal, uniform

__all__ = ["exponential", "sample_service"]


@nb.njit(cache=True)
def exponential(mean, bits):
    """An exponential duration of ``mean`` minutes (``inf`` when the mean is ``inf``)."""
    if mean == math.inf:
        return math.inf
    return -mean * math.log(1.0 - uniform(bits))


@nb.njit(cache=True)
def sample_service(dist, p, bits):
    """One duration in minutes of distribution code ``dist`` with parameters ``p``."""
    if dist == 0:
        return -p[0] * math.log(1.0 - uniform(bits))
    if dist == 1:
        return math.exp(p[0] + p[1] * normal(bits))
    if dist == 2:
        return gamma(bits, p[0]) * p[1]
    if dist == 3:
        return p[0]
    low, mode, high = p[0], p[1], p[2]
    u = uniform(bits)
    if u < (mode - low) / (high - low):
        return low + math.sqrt(u * (high - low) * (mode - low))
    return high - math.sqrt((1.0 - u) * (high - low) * (high - mode))
