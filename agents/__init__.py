"""Agent machinery shared by scenarios: columnar populations, shards and seeded identities."""

from agents.identities import company_names, draw_names, name_lists
from agents.population import Population
from agents.shards import shard_bounds

__all__ = ["Population", "company_names", "draw_names", "name_lists", "shard_bounds"]
