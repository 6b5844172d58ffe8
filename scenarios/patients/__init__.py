"""Patient pathways scenario: emergency department pathways as data."""

__all__ = []
