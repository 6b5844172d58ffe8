"""What each column of a table is for: the part of the scenario contract that the audit and
the comparison read, so that neither has to know a domain.

A scenario declares one :class:`TableRoles` per table; the runner writes them into the
manifest, so a dataset explains itself even where the scenario that wrote it is not installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from simulations.errors import ConfigError

__all__ = ["TableRoles"]


@dataclass(frozen=True)
class TableRoles:
    """Roles of a table's columns. Every field names columns of the table.

    Parameters
    ----------
    labels : tuple of str
        Columns a model would be trained to predict: booleans (``is_fraud``) or categoricals
        (``fraud_type``, audited value by value). Never used as features.
    label_details : tuple of str
        Columns that exist only because a row is labelled (a case id, a report date). They
        describe the label, so they are never features either.
    cases : tuple of str
        Keys that tie labelled rows together (a crime case spanning several accounts). They
        are never features, and the audit keeps the rows of one case in one fold.
    entities : tuple of str
        Keys of the entity a row belongs to (an account, a patient). A row's entity is the
        first non-null of them; the audit groups folds by it (joined through cases) and
        computes per-entity histories.
    time : str or None
        The event timestamp, for time-of-day, weekday and per-entity window features.
    event_type : str or None
        A categorical column whose values are different kinds of event (``type``); rules are
        also searched within each kind, since a tell can hide inside one.
    amounts : tuple of str
        Numeric columns that are amounts (money, quantities): their roundness, their sums over
        an entity's recent history and their ratio to the entity's median are features.
    identifiers : tuple of str
        Ids and names that carry no behaviour. They are not features of the behavioural
        audit; the leakage check models the label from them (and from the entity keys) alone.
    references : tuple of str
        Ids of shared entities of another table (a merchant). Which one a row names is
        behaviour (fraud favours some merchants), so the audit uses them as features; their
        values mean nothing outside the dataset, so ``compare`` leaves them out.
    """

    labels: tuple[str, ...] = ()
    label_details: tuple[str, ...] = ()
    cases: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    time: str | None = None
    event_type: str | None = None
    amounts: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in ("time", "event_type"):
                if value is not None and not isinstance(value, str):
                    raise ConfigError(f"The {item.name!r} role must be a column name or None. "
                                      f"Got {value!r} instead.")  # fmt: skip
            else:
                if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"The {item.name!r} role must be a sequence of column "
                                      f"names. Got {value!r} instead.")  # fmt: skip
                object.__setattr__(self, item.name, tuple(value))

    @property
    def columns(self) -> set[str]:
        """Every column named by some role."""
        named = {self.time, self.event_type} - {None}
        for item in fields(self):
            if item.name not in ("time", "event_type"):
                named.update(getattr(self, item.name))
        return named  # type: ignore[return-value]

    @property
    def keys(self) -> set[str]:
        """Columns whose values only name things (not compared between datasets)."""
        return {*self.identifiers, *self.entities, *self.cases, *self.references}

    @property
    def not_features(self) -> set[str]:
        """Columns the behavioural audit never uses as features."""
        return {*self.labels, *self.label_details, *self.cases, *self.identifiers,
                *self.entities}

    def check(self, columns: Iterable[str], table: str = "table") -> None:
        """Refuse roles that name a column the table does not have."""
        present = set(columns)
        missing = sorted(self.columns - present)
        if missing:
            raise ConfigError(f"{table} has no column {', '.join(map(repr, missing))}; its "
                              f"columns are: {', '.join(sorted(present))}.")  # fmt: skip

    def replace(self, **changes: Any) -> TableRoles:
        """A copy with the given roles replaced (``None`` values are ignored)."""
        current = asdict(self)
        current.update({k: v for k, v in changes.items() if v is not None})
        return TableRoles(**current)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (lists for tuples), as written into the manifest."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableRoles:
        """Inverse of :meth:`to_dict`; unknown keys are refused with the valid ones named."""
        valid = [item.name for item in fields(cls)]
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ConfigError(f"Unknown role {', '.join(map(repr, unknown))}; valid roles: "
                              f"{', '.join(valid)}.")  # fmt: skip
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
