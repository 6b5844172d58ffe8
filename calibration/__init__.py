"""Fitting synthetic populations to real marginals (IPF, reweighting, integerisation).

Not built yet (issue 3); the bank scenario draws its customers from cited shares for now.
"""

__all__: list[str] = []
