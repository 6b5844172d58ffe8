"""Tests for simulations.config: TOML loading, overrides, merging, validation and layering."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from simulations.config import (
    apply_overrides,
    describe_schema,
    flatten,
    load_toml,
    merge,
    parse_override,
    resolve,
    unflatten,
    validate,
)
from simulations.errors import ConfigError
from simulations.params import Interval, Options, Param

DEFAULTS_TOML = """\
[population]
n_customers = 1000
mule_fraction = 0.01

[run]
start_date = 2025-01-01
fraud = true

[output]
format = "parquet"
"""

VALID_KEYS = (
    "population.n_customers, population.mule_fraction, run.start_date, run.fraud, output.format"
)


@pytest.fixture
def schema() -> dict[str, Any]:
    return {
        "population": {
            "n_customers": Param("int", Interval(int, 1, None), doc="Number of customers"),
            "mule_fraction": Param(
                "float", Interval(float, 0.0, 1.0), doc="Share of mules", unit="fraction"
            ),
        },
        "run": {
            "start_date": Param("date", doc="First simulated day"),
            "fraud": Param("bool"),
        },
        "output": {"format": Param("str", Options(["csv", "parquet"]), unit="format")},
    }


@pytest.fixture
def defaults_path(tmp_path: Path) -> Path:
    path = tmp_path / "defaults.toml"
    path.write_text(DEFAULTS_TOML)
    return path


@pytest.fixture
def defaults(defaults_path: Path) -> dict[str, Any]:
    return load_toml(defaults_path)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- load_toml


def test_load_toml_reads_nested_tables(defaults_path: Path) -> None:
    data = load_toml(defaults_path)
    assert data["population"]["n_customers"] == 1000
    assert data["run"]["start_date"] == dt.date(2025, 1, 1)


def test_load_toml_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_toml(path)
    assert str(path) in str(info.value)
    assert "does not exist" in str(info.value)


def test_load_toml_syntax_error_names_file_and_position(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.toml", "[population]\nn_customers = = 3\n")
    with pytest.raises(ConfigError) as info:
        load_toml(path)
    message = str(info.value)
    assert message.startswith(f"Config file '{path}' is not valid TOML: ")
    assert "line 2" in message
    assert "column" in message
    assert "\n" not in message


def test_load_toml_directory_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_toml(tmp_path)


# --------------------------------------------------------------------------- parse_override


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a.b=3", 3),
        ("a.b=0.5", 0.5),
        ("a.b=true", True),
        ('a.b="x y"', "x y"),
        ("a.b=2025-01-01", dt.date(2025, 1, 1)),
        ("a.b=[1,2]", [1, 2]),
        ("a.b=csv", "csv"),
        ("a.b=hello world", "hello world"),
    ],
)
def test_parse_override_value_kinds(text: str, value: object) -> None:
    parts, parsed = parse_override(text)
    assert parts == ("a", "b")
    assert parsed == value
    assert type(parsed) is type(value)


def test_parse_override_strips_whitespace() -> None:
    assert parse_override("  population.n_customers =  5000 ") == (
        ("population", "n_customers"),
        5000,
    )


def test_parse_override_single_part_key() -> None:
    assert parse_override("_seed2=7") == (("_seed2",), 7)


def test_parse_override_value_may_contain_equals() -> None:
    assert parse_override("a.b=x=y") == (("a", "b"), "x=y")


def test_parse_override_does_not_take_extra_toml_lines() -> None:
    assert parse_override("a.b=1\nw = 2") == (("a", "b"), "1\nw = 2")


def test_parse_override_malformed_message_is_exact() -> None:
    with pytest.raises(ConfigError) as info:
        parse_override("abc")
    assert str(info.value) == (
        "Malformed --set 'abc': expected KEY=VALUE, e.g. population.n_customers=5000."
    )


@pytest.mark.parametrize(
    "text",
    ["abc", "=5", "  =5", "a.b=", "a.b=   ", "a..b=1", ".a=1", "a.=1", "1a=1", "a-b=1", "a.b c=1"],
)
def test_parse_override_malformed(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^Malformed --set .*: expected KEY=VALUE"):
        parse_override(text)


# --------------------------------------------------------------------------- merge


def test_merge_is_deep() -> None:
    base = {"a": {"x": 1, "y": 2}, "b": 3}
    update = {"a": {"y": 20, "z": 30}}
    assert merge(base, update) == {"a": {"x": 1, "y": 20, "z": 30}, "b": 3}


def test_merge_does_not_mutate_inputs() -> None:
    base = {"a": {"x": [1]}, "b": 3}
    update = {"a": {"y": {"deep": 1}}}
    base_copy, update_copy = copy.deepcopy(base), copy.deepcopy(update)
    result = merge(base, update)
    result["a"]["x"].append(2)
    result["a"]["y"]["deep"] = 99
    assert base == base_copy
    assert update == update_copy


def test_merge_scalar_replaces_table() -> None:
    assert merge({"a": {"x": 1}}, {"a": 5}) == {"a": 5}


# --------------------------------------------------------------------------- apply_overrides


def test_apply_overrides_sets_nested_key_and_later_wins() -> None:
    cfg = {"population": {"n_customers": 1}}
    result = apply_overrides(cfg, ["population.n_customers=5", "population.n_customers=7"])
    assert result == {"population": {"n_customers": 7}}
    assert cfg == {"population": {"n_customers": 1}}


def test_apply_overrides_creates_sections() -> None:
    assert apply_overrides({}, ["a.b.c=1"]) == {"a": {"b": {"c": 1}}}


def test_apply_overrides_rejects_setting_a_section() -> None:
    with pytest.raises(ConfigError, match="'population' is a section"):
        apply_overrides({"population": {"n_customers": 1}}, ["population=3"])


def test_apply_overrides_rejects_leaf_as_section() -> None:
    with pytest.raises(ConfigError, match="'population.n_customers' is a value, not a section"):
        apply_overrides({"population": {"n_customers": 1}}, ["population.n_customers.x=3"])


def test_apply_overrides_propagates_malformed() -> None:
    with pytest.raises(ConfigError, match="Malformed --set 'oops'"):
        apply_overrides({}, ["oops"])


# --------------------------------------------------------------------------- validate


def test_validate_normalises_and_returns_new_dict(
    schema: dict[str, Any], defaults: dict[str, Any]
) -> None:
    snapshot = copy.deepcopy(defaults)
    result = validate(defaults, schema, "bank")
    assert result["run"]["start_date"] == "2025-01-01"
    assert result["population"]["mule_fraction"] == 0.01
    assert defaults == snapshot
    assert result is not defaults


def test_validate_int_to_float(schema: dict[str, Any], defaults: dict[str, Any]) -> None:
    cfg = merge(defaults, {"population": {"mule_fraction": 0}})
    value = validate(cfg, schema, "bank")["population"]["mule_fraction"]
    assert value == 0.0
    assert type(value) is float


def test_validate_output_follows_schema_order(
    schema: dict[str, Any], defaults: dict[str, Any]
) -> None:
    shuffled = {key: defaults[key] for key in reversed(list(defaults))}
    assert list(validate(shuffled, schema, "bank")) == ["population", "run", "output"]


def test_validate_unknown_key_with_suggestion(
    schema: dict[str, Any], defaults: dict[str, Any]
) -> None:
    cfg = merge(defaults, {"population": {"n_customer": 5}})
    with pytest.raises(ConfigError) as info:
        validate(cfg, schema, "bank")
    assert str(info.value) == (
        "Unknown config key 'population.n_customer' for bank. "
        "Did you mean 'population.n_customers'? "
        f"Valid keys: {VALID_KEYS}."
    )


def test_validate_unknown_key_without_suggestion(
    schema: dict[str, Any], defaults: dict[str, Any]
) -> None:
    cfg = merge(defaults, {"zzzz": 1})
    with pytest.raises(ConfigError) as info:
        validate(cfg, schema, "bank")
    assert str(info.value) == f"Unknown config key 'zzzz' for bank. Valid keys: {VALID_KEYS}."
    assert "Did you mean" not in str(info.value)


def test_validate_unknown_section_suggests_section(
    schema: dict[str, Any], defaults: dict[str, Any]
) -> None:
    cfg = merge(defaults, {"populaton": {"n_customers": 5}})
    with pytest.raises(ConfigError, match=r"'populaton' for bank\. Did you mean 'population'\?"):
        validate(cfg, schema, "bank")


def test_validate_unknown_key_reported_before_missing(schema: dict[str, Any]) -> None:
    cfg = {"population": {"n_customer": 5, "mule_fraction": 0.1}}
    with pytest.raises(ConfigError, match="^Unknown config key 'population.n_customer'"):
        validate(cfg, schema, "bank")


def test_validate_missing_key(schema: dict[str, Any], defaults: dict[str, Any]) -> None:
    del defaults["population"]["n_customers"]
    with pytest.raises(ConfigError) as info:
        validate(defaults, schema, "bank")
    assert str(info.value) == "Missing config key 'population.n_customers' for bank."


def test_validate_missing_section_reports_first_key(
    schema: dict[str, Any], defaults: dict[str, Any]
) -> None:
    del defaults["run"]
    with pytest.raises(ConfigError, match=r"^Missing config key 'run\.start_date' for bank\.$"):
        validate(defaults, schema, "bank")


def test_validate_section_given_scalar(schema: dict[str, Any], defaults: dict[str, Any]) -> None:
    defaults["population"] = 5
    with pytest.raises(ConfigError, match=r"^Config key 'population' for bank is a section"):
        validate(defaults, schema, "bank")


def test_validate_leaf_given_table(schema: dict[str, Any], defaults: dict[str, Any]) -> None:
    defaults["output"]["format"] = {"kind": "csv"}
    with pytest.raises(ConfigError, match=r"^Config key 'output\.format' for bank is a value"):
        validate(defaults, schema, "bank")


def test_validate_uses_dotted_name_in_value_errors(
    schema: dict[str, Any], defaults: dict[str, Any]
) -> None:
    defaults["output"]["format"] = "xml"
    with pytest.raises(ConfigError) as info:
        validate(defaults, schema, "bank")
    assert str(info.value) == (
        "The 'output.format' parameter of bank must be a str among {'csv', 'parquet'}. "
        "Got 'xml' instead."
    )


def test_validate_rejects_malformed_schema() -> None:
    with pytest.raises(TypeError):
        validate({"a": 1}, {"a": int}, "bank")


# --------------------------------------------------------------------------- resolve


def test_resolve_defaults_only(schema: dict[str, Any], defaults_path: Path) -> None:
    cfg = resolve(schema, defaults_path, "bank")
    assert cfg["population"]["n_customers"] == 1000
    assert cfg["output"]["format"] == "parquet"


def test_resolve_layering_order(
    schema: dict[str, Any], defaults_path: Path, tmp_path: Path
) -> None:
    user = write(
        tmp_path,
        "user.toml",
        "[population]\nn_customers = 2000\nmule_fraction = 0.2\n",
    )
    cfg = resolve(
        schema,
        defaults_path,
        "bank",
        config_path=user,
        overrides=["population.n_customers=3000", "output.format=csv"],
    )
    assert cfg["population"]["n_customers"] == 3000  # --set beats file
    assert cfg["population"]["mule_fraction"] == 0.2  # file beats default
    assert cfg["run"]["fraud"] is True  # default kept
    assert cfg["output"]["format"] == "csv"


def test_resolve_validates_overrides(schema: dict[str, Any], defaults_path: Path) -> None:
    with pytest.raises(ConfigError, match="Got 0 instead"):
        resolve(schema, defaults_path, "bank", overrides=["population.n_customers=0"])


def test_resolve_unknown_override_key(schema: dict[str, Any], defaults_path: Path) -> None:
    with pytest.raises(ConfigError, match="Did you mean 'run.fraud'"):
        resolve(schema, defaults_path, "bank", overrides=["run.frad=false"])


def test_resolve_user_file_syntax_error_names_file(
    schema: dict[str, Any], defaults_path: Path, tmp_path: Path
) -> None:
    user = write(tmp_path, "user.toml", "[population\n")
    with pytest.raises(ConfigError, match="user.toml"):
        resolve(schema, defaults_path, "bank", config_path=user)


# --------------------------------------------------------------------------- flatten


def test_flatten_dotted_keys_in_order(defaults: dict[str, Any]) -> None:
    assert list(flatten(defaults)) == VALID_KEYS.split(", ")


def test_flatten_unflatten_round_trip(defaults: dict[str, Any]) -> None:
    flat = flatten(defaults)
    assert flat["run.fraud"] is True
    assert unflatten(flat) == defaults


def test_unflatten_conflict() -> None:
    with pytest.raises(ConfigError):
        unflatten({"a": 1, "a.b": 2})
    with pytest.raises(ConfigError):
        unflatten({"a.b": 2, "a": 1})


# --------------------------------------------------------------------------- describe_schema


def test_describe_schema_rows(schema: dict[str, Any], defaults: dict[str, Any]) -> None:
    rows = describe_schema(schema, defaults)
    assert rows == [
        ("population.n_customers", "int", 1000, "[1, inf)", "Number of customers"),
        ("population.mule_fraction", "float", 0.01, "[0.0, 1.0]", "Share of mules [fraction]"),
        ("run.start_date", "date", dt.date(2025, 1, 1), "", "First simulated day"),
        ("run.fraud", "bool", True, "", ""),
        ("output.format", "str", "parquet", "{'csv', 'parquet'}", "[format]"),
    ]


def test_describe_schema_missing_default_is_none(schema: dict[str, Any]) -> None:
    rows = describe_schema(schema, {})
    assert [row[2] for row in rows] == [None] * 5
