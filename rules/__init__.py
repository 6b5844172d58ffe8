"""Rule-based behaviour as data: safe expressions, rate schedules, multi-step typologies."""

from rules.expressions import Expression, parse
from rules.financial_crime import FRAUD_TYPOLOGIES, LAUNDERING_TYPOLOGIES, TYPOLOGIES
from rules.oversampling import Oversampling
from rules.schedules import Schedule, guide_table
from rules.typology import Step, Typology, compile_typologies

__all__ = [
    "Expression",
    "parse",
    "FRAUD_TYPOLOGIES",
    "LAUNDERING_TYPOLOGIES",
    "Oversampling",
    "TYPOLOGIES",
    "Schedule",
    "Step",
    "Typology",
    "compile_typologies",
    "guide_table",
]
