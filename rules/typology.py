"""Typologies: multi-step crime patterns written as data.

A :class:`Typology` is a list of :class:`Step` s over a few roles. When a case starts, the
engine picks its participants (a victim, a hub account, a ring of member accounts), then
walks the steps in order. Each occurrence of a step advances the case clock by a random
delay and emits one transaction whose source, destination and amount follow the step's
rules. Both the Mesa reference model and the Numba kernel interpret the same definitions;
the kernel receives them as the numeric table built by :func:`compile_typologies`.

Roles
    ``external`` (outside the bank), ``victim`` (an ordinary customer), ``hub`` (a mule
    account), ``member`` (each ring member in turn), ``next_member`` (the following ring
    member, wrapping round: a cycle), ``first_member`` (ring member 0, once),
    ``merchant`` (any merchant), ``merchant_high`` (a merchant in a high-value category),
    ``merchant_small`` (a merchant where small payments are common).
Amount rules, with parameters ``(a, b)``
    ``lognormal`` (median a, log-sd b, currency units); ``uniform`` (a..b currency units);
    ``balance_fraction`` (a..b of the source's positive balance when it settles);
    ``threshold_fraction`` (a..b of the reporting threshold); ``received_fraction`` (a..b of
    what the source last received in this case); ``received_split`` (the same, divided by
    the ring size).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rules.schedules import Schedule

__all__ = [
    "ROLES",
    "AMOUNT_RULES",
    "STEP_FIELDS",
    "Step",
    "Typology",
    "CompiledTypologies",
    "compile_typologies",
]

ROLES = (
    "external", "victim", "hub", "member", "next_member", "first_member", "merchant",
    "merchant_high", "merchant_small",
)  # fmt: skip
AMOUNT_RULES = (
    "lognormal",
    "uniform",
    "balance_fraction",
    "threshold_fraction",
    "received_fraction",
    "received_split",
)
_ACCOUNT_ROLES = {"victim", "hub", "member", "next_member", "first_member"}
STEP_FIELDS = (
    "src", "dst", "type", "channel", "rule", "a", "b",
    "delay_lo", "delay_hi", "repeat_lo", "repeat_hi", "per_member",
    "mimic_delay_lo", "mimic_delay_hi", "mimic_repeat_lo", "mimic_repeat_hi",
)  # fmt: skip
"""Column order of the compiled step table (one row per step)."""


def _received_slot(role: str) -> str:
    """Ring roles all name one member's slot; what a member received is tracked per member."""
    return "member" if role in ("next_member", "first_member") else role


@dataclass(frozen=True)
class Step:
    """One kind of transaction in a typology.

    Parameters
    ----------
    src, dst : str
        Roles paying and receiving (see :data:`ROLES`).
    type, channel : str
        Transaction type and channel names of the scenario's vocabulary.
    amount : tuple of (str, float, float)
        Amount rule and its parameters (see :data:`AMOUNT_RULES`).
    delay : tuple of (float, float)
        Seconds since the case's previous transaction, drawn uniformly.
    repeat : tuple of (int, int)
        How many times the step occurs, drawn uniformly (inclusive). Ignored for steps
        that run once per ring member.
    mimic_delay, mimic_repeat : tuple, optional
        ``delay`` and ``repeat`` of a case that mimics ordinary behaviour: those of the
        ordinary activity the step passes for (a shopping trip, a burst of in-app
        payments, business flows days apart). Default: ``delay`` and ``repeat``.
    """

    src: str
    dst: str
    type: str
    channel: str
    amount: tuple[str, float, float]
    delay: tuple[float, float] = (0.0, 0.0)
    repeat: tuple[int, int] = (1, 1)
    mimic_delay: tuple[float, float] | None = None
    mimic_repeat: tuple[int, int] | None = None

    @property
    def per_member(self) -> bool:
        return any(role in ("member", "next_member") for role in (self.src, self.dst))


@dataclass(frozen=True)
class Typology:
    """A named crime pattern.

    Parameters
    ----------
    name : str
        Label written to ``fraud_type``.
    family : {"fraud", "laundering"}
        Which label column (``is_fraud`` or ``is_laundering``) its transactions set.
    steps : tuple of Step
    start : Schedule
        Hour-of-day profile of the case's first transaction.
    ring : tuple of (int, int)
        Number of ring members, drawn uniformly (inclusive); (0, 0) when no ring is used.
    """

    name: str
    family: str
    steps: tuple[Step, ...]
    start: Schedule
    ring: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if self.family not in ("fraud", "laundering"):
            raise ValueError(f"Typology {self.name!r}: family must be 'fraud' or 'laundering'.")
        uses_ring = any(step.per_member for step in self.steps)
        if uses_ring != (self.ring[1] > 0) or not 0 <= self.ring[0] <= self.ring[1]:
            raise ValueError(f"Typology {self.name!r}: ring {self.ring} does not fit its steps.")
        received: set[str] = set()
        for step in self.steps:
            self._check_step(step, received)
            if step.dst in _ACCOUNT_ROLES and step.amount[0] != "balance_fraction":
                received.add(_received_slot(step.dst))

    def _check_step(self, step: Step, received: set[str]) -> None:
        where = f"Typology {self.name!r}, step {step.type} {step.src}->{step.dst}"
        for role in (step.src, step.dst):
            if role not in ROLES:
                raise ValueError(f"{where}: unknown role {role!r}; valid roles: {ROLES}.")
        if step.src.startswith("merchant") or step.src == step.dst:
            raise ValueError(f"{where}: the source must be an account or external.")
        rule = step.amount[0]
        if rule not in AMOUNT_RULES:
            raise ValueError(f"{where}: unknown amount rule {rule!r}; valid: {AMOUNT_RULES}.")
        if rule == "balance_fraction" and step.src not in _ACCOUNT_ROLES:
            raise ValueError(f"{where}: balance_fraction needs an account as source.")
        if rule.startswith("received") and _received_slot(step.src) not in received:
            raise ValueError(
                f"{where}: {rule} needs an earlier step that pays the source a known amount."
            )

    @property
    def roles(self) -> set[str]:
        return {role for step in self.steps for role in (step.src, step.dst)}


@dataclass(frozen=True)
class CompiledTypologies:
    """Numeric form of a typology list for kernels.

    Attributes
    ----------
    steps : ndarray of float64, shape (n_steps, len(STEP_FIELDS))
        All steps of all typologies, codes for roles, types, channels and rules.
    bounds : ndarray of int64, shape (n_typologies, 5)
        Per typology: first step row, end step row, ring min, ring max, family (0 fraud,
        1 laundering).
    start_cdf : ndarray of float64, shape (n_typologies, 24)
        Hour-of-day CDF of each typology's first transaction.
    names : tuple of str
    """

    steps: np.ndarray
    bounds: np.ndarray
    start_cdf: np.ndarray
    names: tuple[str, ...]


def compile_typologies(
    typologies: Sequence[Typology],
    type_codes: Mapping[str, int],
    channel_codes: Mapping[str, int],
) -> CompiledTypologies:
    """Translate typologies into the numeric tables kernels read.

    Raises
    ------
    ValueError
        If a step names a transaction type or channel outside the given vocabularies.
    """
    rows, bounds = [], []
    for typology in typologies:
        first = len(rows)
        for step in typology.steps:
            for value, vocabulary, what in (
                (step.type, type_codes, "type"),
                (step.channel, channel_codes, "channel"),
            ):
                if value not in vocabulary:
                    raise ValueError(
                        f"Typology {typology.name!r}: unknown {what} {value!r}; "
                        f"valid: {sorted(vocabulary)}."
                    )
            rule, a, b = step.amount
            rows.append([
                ROLES.index(step.src), ROLES.index(step.dst), type_codes[step.type],
                channel_codes[step.channel], AMOUNT_RULES.index(rule), a, b,
                step.delay[0], step.delay[1], step.repeat[0], step.repeat[1],
                float(step.per_member), *(step.mimic_delay or step.delay),
                *(step.mimic_repeat or step.repeat),
            ])  # fmt: skip
        family = 0 if typology.family == "fraud" else 1
        bounds.append([first, len(rows), typology.ring[0], typology.ring[1], family])
    return CompiledTypologies(
        steps=np.asarray(rows, dtype=np.float64).reshape(-1, len(STEP_FIELDS)),
        bounds=np.asarray(bounds, dtype=np.int64).reshape(-1, 5),
        start_cdf=np.stack([t.start.hour_cdf() for t in typologies])
        if typologies
        else np.zeros((0, 24)),
        names=tuple(t.name for t in typologies),
    )
