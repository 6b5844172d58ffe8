"""Splitting a population into fixed-size shards by agent index."""

from __future__ import annotations

__all__ = ["shard_bounds"]


def shard_bounds(n_agents: int, shard_size: int) -> list[tuple[int, int]]:
    """[start, stop) agent indices of each shard: ``shard_size`` agents each, the last one
    holding the rest."""
    return [(s, min(s + shard_size, n_agents)) for s in range(0, n_agents, shard_size)]
