"""Declarative parameter specifications, in the style of scikit-learn's constraints.

A simulation declares its parameters as :class:`Param` objects, optionally constrained by an
:class:`Interval` or an :class:`Options` set. :func:`validate_value` checks one value against
one spec and returns it normalised, or raises :class:`~simulations.errors.ConfigError` with a
one-line message such as::

    The 'population.n_customers' parameter of bank must be an int in the range [1, inf).
    Got 0 instead.

(printed on a single line).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simulations.errors import ConfigError

__all__ = ["KINDS", "Interval", "Options", "Param", "Section", "validate_value",
           "validate_section"]

KINDS: tuple[str, ...] = ("int", "float", "str", "bool", "date")
"""The parameter kinds a :class:`Param` may declare."""

_CLOSED = ("both", "left", "right", "neither")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_real(value: object) -> bool:
    """Return True for Python ints and floats, excluding bools."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Interval:
    """A range of numbers of one kind.

    Parameters
    ----------
    kind : type
        ``int`` or ``float``. An ``int`` interval contains only ints; a ``float`` interval
        contains ints and floats. Bools are never contained.
    low, high : int, float or None
        The bounds; ``None`` means unbounded (``-inf`` / ``inf``). An unbounded side is always
        open, so ``None`` never admits an infinite value. To admit ``inf`` itself, give
        ``math.inf`` explicitly with that side closed (float intervals only).
    closed : {"both", "left", "right", "neither"}, default "both"
        Which of the finite (or explicitly infinite) bounds belong to the interval.

    Examples
    --------
    >>> str(Interval(int, 1, None, closed="left"))
    '[1, inf)'
    >>> 0.0 in Interval(float, 0.0, 1.0, closed="right")
    False
    """

    kind: type
    low: int | float | None = None
    high: int | float | None = None
    closed: str = "both"

    def __post_init__(self) -> None:
        if self.kind not in (int, float):
            raise TypeError(f"Interval kind must be int or float, got {self.kind!r}.")
        if self.closed not in _CLOSED:
            raise ValueError(f"Interval closed must be one of {_CLOSED}, got {self.closed!r}.")
        for side in ("low", "high"):
            bound = getattr(self, side)
            if bound is None:
                continue
            if not _is_real(bound) or (self.kind is int and not isinstance(bound, int)):
                raise TypeError(
                    f"Interval {side} bound must be None or {self.kind.__name__}, got {bound!r}."
                )
            if math.isnan(bound):
                raise ValueError(f"Interval {side} bound must not be nan.")
            object.__setattr__(self, side, self.kind(bound))
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"Interval low {self.low!r} is above high {self.high!r}.")

    @property
    def _left_closed(self) -> bool:
        return self.low is not None and self.closed in ("both", "left")

    @property
    def _right_closed(self) -> bool:
        return self.high is not None and self.closed in ("both", "right")

    def __contains__(self, value: object) -> bool:
        if not _is_real(value) or (self.kind is int and not isinstance(value, int)):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        above_low = low <= value if self._left_closed else low < value
        below_high = value <= high if self._right_closed else value < high
        return above_low and below_high

    def __str__(self) -> str:
        left = "[" if self._left_closed else "("
        right = "]" if self._right_closed else ")"
        low = "-inf" if self.low is None else repr(self.low)
        high = "inf" if self.high is None else repr(self.high)
        return f"{left}{low}, {high}{right}"


@dataclass(frozen=True, init=False)
class Options:
    """A finite set of allowed values.

    Membership is type-strict about bools: ``True`` is not in ``Options([1])``.

    Parameters
    ----------
    values : iterable
        The allowed values (hashable, at least one).

    Examples
    --------
    >>> str(Options(["parquet", "csv"]))
    "{'csv', 'parquet'}"
    """

    values: frozenset[Any] = field()

    def __init__(self, values: Iterable[Any]) -> None:
        if isinstance(values, str):
            raise TypeError("Options takes an iterable of values, not a single string.")
        frozen = frozenset(values)
        if not frozen:
            raise ValueError("Options needs at least one allowed value.")
        object.__setattr__(self, "values", frozen)

    def __contains__(self, value: object) -> bool:
        try:
            hit = value in self.values
        except TypeError:  # unhashable values are never allowed
            return False
        return hit and any(
            allowed == value and isinstance(allowed, bool) == isinstance(value, bool)
            for allowed in self.values
        )

    def sorted_values(self) -> list[Any]:
        """Return the allowed values sorted (by ``repr`` when they are not comparable)."""
        try:
            return sorted(self.values)
        except TypeError:
            return sorted(self.values, key=repr)

    def __str__(self) -> str:
        return "{" + ", ".join(repr(v) for v in self.sorted_values()) + "}"


@dataclass(frozen=True)
class Param:
    """The specification of one configuration parameter.

    Parameters
    ----------
    kind : {"int", "float", "str", "bool", "date"}
        The value's type. Dates are stored as ISO ``'YYYY-MM-DD'`` strings.
    constraint : Interval, Options or None, default None
        An :class:`Interval` (int and float kinds, of the same kind) or an :class:`Options`
        set (int, float and str kinds, with values of that kind). Bool and date parameters
        take no constraint.
    doc : str, default ""
        A one-line description.
    unit : str, default ""
        The unit of the value, e.g. ``"EUR"`` or ``"days"``.
    default : object, default None
        The value used when a config omits the key, for keys whose defaults come from data
        rather than from the scenario's default TOML file (e.g. generated from a pathway
        file). ``None`` means the key must be given; no kind admits ``None`` as a value.
    """

    kind: str
    constraint: Interval | Options | None = None
    doc: str = ""
    unit: str = ""
    default: Any = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Param kind must be one of {KINDS}, got {self.kind!r}.")
        constraint = self.constraint
        if constraint is None:
            return
        if isinstance(constraint, Interval):
            if self.kind not in ("int", "float") or constraint.kind.__name__ != self.kind:
                raise TypeError(
                    f"A {self.kind} Param cannot take an Interval of kind "
                    f"{constraint.kind.__name__}."
                )
        elif isinstance(constraint, Options):
            if self.kind not in ("int", "float", "str"):
                raise TypeError(f"A {self.kind} Param cannot take Options.")
            check = {
                "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
                "float": _is_real,
                "str": lambda v: isinstance(v, str),
            }[self.kind]
            bad = [v for v in constraint.sorted_values() if not check(v)]
            if bad:
                raise TypeError(f"Options of a {self.kind} Param contain invalid values {bad!r}.")
            if self.kind == "float":
                object.__setattr__(self, "constraint", Options(float(v) for v in constraint.values))
        else:
            raise TypeError(
                f"Param constraint must be an Interval, Options or None, got {constraint!r}."
            )


class Section(dict):
    """A schema section (a dict of Params and sections) whose values are also checked together.

    Parameters
    ----------
    entries : Mapping
        The section's Params and sub-sections, as in a plain schema dict.
    check : callable
        ``check(values)`` receives the section's validated values (a dict) and returns
        ``None`` when they are consistent, or the problem as a phrase completing
        "The 'SECTION.*' parameters of OWNER ...", e.g. ``"must sum to 1. Got a=0.5 + b=0.6 =
        1.1 instead"``.
    """

    def __init__(self, entries: Mapping[str, Any], check: Callable[[dict], str | None]):
        super().__init__(entries)
        self.check = check


def _expectation(param: Param) -> str:
    """Describe what a parameter accepts, e.g. "an int in the range [1, inf)"."""
    if param.kind == "date":
        return "a date as 'YYYY-MM-DD'"
    article = "an" if param.kind == "int" else "a"
    noun = param.kind
    if param.kind == "float" and param.constraint is None:
        noun = "finite float"
    text = f"{article} {noun}"
    if isinstance(param.constraint, Interval):
        text += f" in the range {param.constraint}"
    elif isinstance(param.constraint, Options):
        text += f" among {param.constraint}"
    return text


def _normalise(param: Param, value: Any) -> Any:
    """Return the normalised value, or raise ValueError if it is not acceptable."""
    kind = param.kind
    if kind == "int":
        if not (isinstance(value, int) and not isinstance(value, bool)):
            raise ValueError
        result: Any = int(value)
    elif kind == "float":
        if not _is_real(value):
            raise ValueError
        result = float(value)  # may raise OverflowError for huge ints
        if math.isnan(result):
            raise ValueError
        if math.isinf(result) and not isinstance(param.constraint, Interval):
            raise ValueError  # only an Interval with an explicit closed inf bound admits inf
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ValueError
        result = value
    elif kind == "str":
        if not isinstance(value, str):
            raise ValueError
        result = str(value)
    else:  # date
        if isinstance(value, dt.datetime):
            raise ValueError
        if isinstance(value, dt.date):
            result = value.isoformat()
        elif isinstance(value, str) and _ISO_DATE.fullmatch(value):
            result = dt.date.fromisoformat(value).isoformat()
        else:
            raise ValueError
    if param.constraint is not None and result not in param.constraint:
        raise ValueError
    return result


def validate_value(owner: str, name: str, param: Param, value: Any) -> Any:
    """Check one value against its parameter spec and return it normalised.

    Parameters
    ----------
    owner : str
        Who owns the parameter (e.g. the simulation name ``"bank"``); used in messages.
    name : str
        The parameter's (dotted) name, e.g. ``"population.n_customers"``.
    param : Param
        The specification to check against.
    value : object
        The candidate value.

    Returns
    -------
    object
        The value normalised to the parameter's kind: ints stay ``int``, ints given to float
        parameters become ``float``, dates become ISO ``'YYYY-MM-DD'`` strings.

    Raises
    ------
    ConfigError
        If the value has the wrong type or violates the constraint. Int parameters reject
        bools and floats (even ``2.0``); float parameters reject bools, ``nan`` and infinities
        (unless their Interval explicitly includes ``inf``); date parameters reject datetimes.
    """
    try:
        return _normalise(param, value)
    except (ValueError, OverflowError):
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be {_expectation(param)}. "
            f"Got {value!r} instead."
        ) from None


def validate_section(owner: str, section: str, schema: dict[str, Param], values: dict[str, Any],
                     defaults: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Validate one config section given directly to an API (not through a config file):
    unknown keys are refused with the valid ones named, missing keys take ``defaults``.

    Returns
    -------
    dict
        Every key of ``schema``, normalised by :func:`validate_value`.
    """
    if unknown := sorted(set(values) - set(schema)):
        raise ConfigError(f"Unknown key {', '.join(map(repr, unknown))} in [{section}] of "
                          f"{owner}; valid keys: {', '.join(schema)}.")  # fmt: skip
    return {key: validate_value(owner, f"{section}.{key}", param, values.get(key, defaults[key]))
            for key, param in schema.items()}  # fmt: skip
