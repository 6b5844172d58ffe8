"""Named, shard-local random streams derived from one root seed.

Every random draw in a run comes from a generator built by :func:`stream`. The generator
depends only on the root seed, the shard number and the stream's name, so any worker can
rebuild a shard's randomness alone and the output never depends on how many workers ran.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["GLOBAL_SHARD", "stream", "stream_key"]

GLOBAL_SHARD = 2**32 - 1
"""Shard number used for streams that belong to the whole run (e.g. the merchant table)."""


def stream_key(name: str) -> int:
    """Stable 32-bit key of a stream name (CRC-32, identical on every platform and run)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(seed: int, shard: int, name: str) -> np.random.Generator:
    """Return the generator of stream ``name`` in ``shard`` for root ``seed``.

    Parameters
    ----------
    seed : int
        Root seed of the run (non-negative).
    shard : int
        Shard number, or :data:`GLOBAL_SHARD` for run-wide streams.
    name : str
        Stream name, e.g. ``"population"`` or ``"behaviour"``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(
            f"The 'seed' parameter must be an int in the range [0, inf). Got {seed!r} instead."
        )
    sequence = np.random.SeedSequence(int(seed), spawn_key=(int(shard), stream_key(name)))
    return np.random.Generator(np.random.PCG64(sequence))
