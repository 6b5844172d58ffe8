"""Fidelity: how close a dataset is to reality, and what a model can learn from it.

``audit`` looks for labels that single-feature rules or identifiers give away and measures how
learnable each label is; ``compare`` scores a synthetic table against a real one.
"""

from calibration.fidelity.audit import AuditReport, audit
from calibration.fidelity.compare import CompareReport, compare

__all__ = ["AuditReport", "CompareReport", "audit", "compare"]
