"""Agent machinery shared by scenarios: columnar populations and seeded identities."""

from agents.identities import company_names, draw_names, name_lists
from agents.population import Population

__all__ = ["Population", "company_names", "draw_names", "name_lists"]
