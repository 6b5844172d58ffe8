"""Domain scenarios. ``REGISTRY`` maps a scenario's name to ``module:class``; modules are
imported only when the scenario is used, so listing scenarios stays fast."""

__all__ = ["REGISTRY"]

REGISTRY = {
    "bank": "scenarios.bank:BankScenario",
    "patients": "scenarios.patients:PatientsScenario",
}
