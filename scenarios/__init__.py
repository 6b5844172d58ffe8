"""Domain scenarios shipped with synthsim: ``bank`` and ``patients``.

Scenarios are found through the entry-point group ``synthsim.scenarios`` (see
``pyproject.toml`` and :func:`simulations.scenario.get_scenario`), not through this package,
so another distribution can add its own; a scenario's module is imported only when used.
"""

__all__: list[str] = []
