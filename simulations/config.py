"""Layered TOML configuration: defaults < user file < ``--set`` overrides, then validation.

A *schema* is a nested dict whose keys are section names mapping to dicts and whose leaves
are :class:`~simulations.params.Param` objects; a section may be a
:class:`~simulations.params.Section` whose values are also checked together (e.g. branch
probabilities summing to 1), and a Param may carry a ``default`` used when the config omits
it (for keys generated from data files). A *config* is a nested plain dict of the same shape
holding values. :func:`resolve` builds a validated config from a default TOML file, an
optional user TOML file and ``KEY=VALUE`` override strings. Config values are only ever parsed
as TOML, never evaluated as Python.
"""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from os import PathLike
from typing import Any

from simulations.errors import ConfigError
from simulations.params import Param, Section, validate_value

__all__ = [
    "apply_overrides",
    "describe_schema",
    "flatten",
    "load_toml",
    "merge",
    "parse_override",
    "resolve",
    "unflatten",
    "validate",
]

_KEY_PART = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def load_toml(path: str | PathLike[str]) -> dict[str, Any]:
    """Read a TOML file into a nested dict.

    Parameters
    ----------
    path : str or path-like
        The file to read.

    Returns
    -------
    dict
        The parsed document.

    Raises
    ------
    ConfigError
        If the file is missing or unreadable, or is not valid TOML. The one-line message names
        the file and, for syntax errors, includes the parser's line and column.
    """
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Config file '{path}' does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"Config file '{path}' is not valid TOML: {detail}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"Config file '{path}' cannot be read: {detail}.") from None


def _malformed(text: str) -> ConfigError:
    return ConfigError(
        f"Malformed --set {text!r}: expected KEY=VALUE, e.g. population.n_customers=5000."
    )


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """Parse one ``KEY=VALUE`` override such as ``population.n_customers=5000``.

    Parameters
    ----------
    text : str
        The override. The key is a dotted path of identifiers; the value is parsed as a TOML
        value (``3``, ``0.5``, ``true``, ``"x"``, ``2025-01-01``, ``[1, 2]``, ...) and, if it is
        not valid TOML, kept as the raw string (so ``output.format=csv`` needs no quotes).
        Whitespace around the key and the value is ignored.

    Returns
    -------
    tuple
        ``(key_parts, value)``, e.g. ``(("population", "n_customers"), 5000)``.

    Raises
    ------
    ConfigError
        If there is no ``=``, the key or value is empty, or a key part is not an identifier.
    """
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise _malformed(text)
    parts = tuple(key.split("."))
    if not all(_KEY_PART.fullmatch(part) for part in parts):
        raise _malformed(text)
    try:
        document = tomllib.loads("v = " + raw)
    except tomllib.TOMLDecodeError:
        return parts, raw
    if list(document) != ["v"]:  # e.g. a value smuggling in a second line "w = 1"
        return parts, raw
    return parts, document["v"]


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into ``base`` and return a new dict.

    Tables present in both are merged recursively; any other value in ``update`` replaces the
    one in ``base``. Neither input is modified and the result shares no mutable values with
    them.
    """
    result = copy.deepcopy(dict(base))
    for key, value in update.items():
        current = result.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            result[key] = merge(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def apply_overrides(cfg: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``KEY=VALUE`` overrides (see :func:`parse_override`) to a copy of ``cfg``.

    Missing sections along a key's path are created. Later overrides win.

    Raises
    ------
    ConfigError
        If an override is malformed, targets a key that is a section in ``cfg``, or treats a
        value as a section.
    """
    result = copy.deepcopy(dict(cfg))
    for text in overrides:
        parts, value = parse_override(text)
        dotted = ".".join(parts)
        node = result
        for depth, part in enumerate(parts[:-1], start=1):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                prefix = ".".join(parts[:depth])
                raise ConfigError(
                    f"Cannot apply --set {text.strip()!r}: '{prefix}' is a value, not a section."
                )
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise ConfigError(
                f"Cannot apply --set {text.strip()!r}: '{dotted}' is a section; "
                f"set one of its keys instead, e.g. {dotted}.KEY=VALUE."
            )
        node[parts[-1]] = value
    return result


def _iter_schema(schema: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted key, Param or section dict)`` for every entry, depth first."""
    for key, spec in schema.items():
        dotted = f"{prefix}{key}"
        yield dotted, spec
        if isinstance(spec, Mapping):
            yield from _iter_schema(spec, dotted + ".")
        elif not isinstance(spec, Param):
            raise TypeError(f"Schema entry {dotted!r} must be a Param or a dict, got {spec!r}.")


def _leaf_keys(schema: Mapping[str, Any]) -> list[str]:
    return [dotted for dotted, spec in _iter_schema(schema) if isinstance(spec, Param)]


def _check_unknown(
    cfg: Mapping[str, Any],
    schema: Mapping[str, Any],
    prefix: str,
    owner: str,
    root: Mapping[str, Any],
) -> None:
    """Raise on the first config key (at any depth) that the schema does not declare."""
    for key, value in cfg.items():
        dotted = f"{prefix}{key}"
        if key not in schema:
            valid = _leaf_keys(root)
            candidates = [name for name, _ in _iter_schema(root)]
            message = f"Unknown config key {dotted!r} for {owner}."
            close = difflib.get_close_matches(dotted, candidates, n=1)
            if close:
                message += f" Did you mean {close[0]!r}?"
            message += f" Valid keys: {', '.join(valid)}."
            raise ConfigError(message)
        spec = schema[key]
        if isinstance(spec, Mapping) and isinstance(value, Mapping):
            _check_unknown(value, spec, dotted + ".", owner, root)


def _validate_section(
    cfg: Mapping[str, Any], schema: Mapping[str, Any], prefix: str, owner: str
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, spec in schema.items():
        dotted = f"{prefix}{key}"
        if isinstance(spec, Mapping):
            value = cfg.get(key, {})
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"Config key {dotted!r} for {owner} is a section and must be a table, "
                    f"not {value!r}."
                )
            result[key] = _validate_section(value, spec, dotted + ".", owner)
            problem = spec.check(result[key]) if isinstance(spec, Section) else None
            if problem:
                raise ConfigError(f"The {dotted + '.*'!r} parameters of {owner} {problem}.")
        else:
            if key not in cfg and spec.default is None:
                raise ConfigError(f"Missing config key {dotted!r} for {owner}.")
            value = cfg.get(key, spec.default)
            if isinstance(value, Mapping):
                raise ConfigError(
                    f"Config key {dotted!r} for {owner} is a value, not a section; "
                    f"got a table with keys {', '.join(map(str, value))}."
                )
            result[key] = validate_value(owner, dotted, spec, value)
    return result


def validate(cfg: Mapping[str, Any], schema: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """Validate a config against a schema and return a new, normalised nested dict.

    Parameters
    ----------
    cfg : dict
        The nested config.
    schema : dict
        The nested schema (sections are dicts, leaves are :class:`Param`).
    owner : str
        Who the config is for (e.g. ``"bank"``); used in messages.

    Returns
    -------
    dict
        The config in schema order, each leaf normalised by
        :func:`~simulations.params.validate_value`.

    Raises
    ------
    ConfigError
        On the first unknown key (checked over the whole tree first, with a "Did you mean"
        suggestion when one is close and the list of all valid keys), missing key (one
        without a Param ``default``), section given a scalar, leaf given a table, invalid
        value, or section failing its :class:`~simulations.params.Section` check (checked
        after its own values).
    """
    list(_iter_schema(schema))  # fail early on a malformed schema
    _check_unknown(cfg, schema, "", owner, schema)
    return _validate_section(cfg, schema, "", owner)


def resolve(
    schema: Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]],
    default_path: str | PathLike[str],
    owner: str,
    config_path: str | PathLike[str] | None = None,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """Build the validated config: defaults, then the user file, then overrides.

    Parameters
    ----------
    schema : dict or callable
        The nested schema, or a function of the merged (not yet validated) config that
        returns it: for a schema that depends on a setting, such as a file the config names.
    default_path : str or path-like
        The TOML file with the defaults.
    owner : str
        Who the config is for; used in messages.
    config_path : str or path-like, optional
        A user TOML file deep-merged over the defaults.
    overrides : sequence of str, default ()
        ``KEY=VALUE`` strings applied last, in order.

    Returns
    -------
    dict
        The validated, normalised config.
    """
    cfg = load_toml(default_path)
    if config_path is not None:
        cfg = merge(cfg, load_toml(config_path))
    cfg = apply_overrides(cfg, overrides)
    return validate(cfg, schema(cfg) if callable(schema) else schema, owner)


def flatten(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a nested config to ``{"section.key": value}`` in insertion order.

    Empty sections vanish, so they do not survive a round trip through :func:`unflatten`.
    """
    flat: dict[str, Any] = {}
    for key, value in cfg.items():
        if isinstance(value, Mapping):
            for sub_key, sub_value in flatten(value).items():
                flat[f"{key}.{sub_key}"] = sub_value
        else:
            flat[str(key)] = value
    return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"section.key": value}`` back into a nested dict (inverse of :func:`flatten`).

    Raises
    ------
    ConfigError
        If a key is used both as a value and as a section.
    """
    nested: dict[str, Any] = {}
    for dotted, value in flat.items():
        parts = dotted.split(".")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"Key {dotted!r} conflicts: {part!r} is both value and section.")
        if parts[-1] in node:
            raise ConfigError(f"Key {dotted!r} conflicts with another key.")
        node[parts[-1]] = value
    return nested


def describe_schema(
    schema: Mapping[str, Any], defaults: Mapping[str, Any]
) -> list[tuple[str, str, Any, str, str]]:
    """Describe every parameter, e.g. for ``--help`` or documentation tables.

    Parameters
    ----------
    schema : dict
        The nested schema.
    defaults : dict
        The nested default config (e.g. the loaded default TOML); a key absent from it gets
        its Param's ``default`` (``None`` unless declared).

    Returns
    -------
    list of tuple
        One ``(dotted key, kind, default, constraint, doc)`` row per parameter in schema order;
        ``constraint`` is the constraint's string form or ``""``, and ``doc`` has the unit
        appended as ``"doc [unit]"`` when there is one.
    """
    flat_defaults = flatten(defaults)
    rows: list[tuple[str, str, Any, str, str]] = []
    for dotted, spec in _iter_schema(schema):
        if not isinstance(spec, Param):
            continue
        constraint = "" if spec.constraint is None else str(spec.constraint)
        doc = spec.doc
        if spec.unit:
            doc = f"{doc} [{spec.unit}]" if doc else f"[{spec.unit}]"
        rows.append((dotted, spec.kind, flat_defaults.get(dotted, spec.default), constraint, doc))
    return rows
