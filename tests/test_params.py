"""Tests for simulations.params: Interval, Options, Param and validate_value."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from simulations.errors import ConfigError, SynthsimError
from simulations.params import Interval, Options, Param, validate_value

# --------------------------------------------------------------------------- Interval


@pytest.mark.parametrize(
    ("closed", "low_in", "high_in"),
    [
        ("both", True, True),
        ("left", True, False),
        ("right", False, True),
        ("neither", False, False),
    ],
)
def test_interval_boundaries_follow_closed(closed: str, low_in: bool, high_in: bool) -> None:
    interval = Interval(float, 0.0, 1.0, closed=closed)
    assert (0.0 in interval) is low_in
    assert (1.0 in interval) is high_in
    assert 0.5 in interval
    assert -0.1 not in interval
    assert 1.1 not in interval


@pytest.mark.parametrize(
    ("closed", "text"),
    [
        ("both", "[0.0, 1.0]"),
        ("left", "[0.0, 1.0)"),
        ("right", "(0.0, 1.0]"),
        ("neither", "(0.0, 1.0)"),
    ],
)
def test_interval_str_shows_closed_sides(closed: str, text: str) -> None:
    assert str(Interval(float, 0.0, 1.0, closed=closed)) == text


def test_interval_float_bounds_are_shown_as_floats() -> None:
    assert str(Interval(float, 0, 1, closed="right")) == "(0.0, 1.0]"


def test_interval_unbounded_side_is_shown_open_as_inf() -> None:
    assert str(Interval(int, 1, None, closed="both")) == "[1, inf)"
    assert str(Interval(int, None, 5, closed="both")) == "(-inf, 5]"
    assert str(Interval(float, None, None)) == "(-inf, inf)"


def test_interval_unbounded_side_excludes_infinity() -> None:
    interval = Interval(float, 0.0, None, closed="both")
    assert 1e300 in interval
    assert math.inf not in interval
    assert -math.inf not in Interval(float, None, 0.0)


def test_interval_explicit_closed_inf_contains_inf() -> None:
    interval = Interval(float, 0.0, math.inf, closed="both")
    assert math.inf in interval
    assert str(interval) == "[0.0, inf]"


def test_interval_never_contains_nan_or_bool() -> None:
    interval = Interval(float, None, None)
    assert math.nan not in interval
    assert True not in Interval(int, 0, 1)


def test_int_interval_rejects_floats() -> None:
    interval = Interval(int, 0, 10)
    assert 2 in interval
    assert 2.0 not in interval


def test_float_interval_accepts_ints() -> None:
    assert 1 in Interval(float, 0.0, 1.0)


def test_interval_rejects_bad_definitions() -> None:
    with pytest.raises(TypeError):
        Interval(str, 0, 1)
    with pytest.raises(ValueError):
        Interval(int, 0, 1, closed="open")
    with pytest.raises(ValueError):
        Interval(float, 2.0, 1.0)
    with pytest.raises(TypeError):
        Interval(int, 0.5, 1)


# --------------------------------------------------------------------------- Options


def test_options_str_is_sorted() -> None:
    assert str(Options(["parquet", "csv"])) == "{'csv', 'parquet'}"


def test_options_membership() -> None:
    options = Options(["csv", "parquet"])
    assert "csv" in options
    assert "xml" not in options
    assert ["csv"] not in options  # unhashable values are simply not allowed


def test_options_bool_is_not_int() -> None:
    assert True not in Options([1, 2])
    assert 1 in Options([1, 2])


def test_options_rejects_empty_and_single_string() -> None:
    with pytest.raises(ValueError):
        Options([])
    with pytest.raises(TypeError):
        Options("csv")


# --------------------------------------------------------------------------- Param


def test_param_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError):
        Param("complex")


def test_param_rejects_mismatched_interval_kind() -> None:
    with pytest.raises(TypeError):
        Param("int", Interval(float, 0.0, 1.0))
    with pytest.raises(TypeError):
        Param("str", Interval(int, 0, 1))


def test_param_rejects_options_of_wrong_type() -> None:
    with pytest.raises(TypeError):
        Param("str", Options(["csv", 1]))
    with pytest.raises(TypeError):
        Param("bool", Options([True]))


def test_param_is_frozen() -> None:
    param = Param("int")
    with pytest.raises(AttributeError):
        param.kind = "float"  # type: ignore[misc]


# --------------------------------------------------------------------------- messages


def test_int_range_message_is_exact() -> None:
    param = Param("int", Interval(int, 1, None, closed="left"))
    with pytest.raises(ConfigError) as info:
        validate_value("bank", "population.n_customers", param, 0)
    assert str(info.value) == (
        "The 'population.n_customers' parameter of bank must be an int in the range [1, inf). "
        "Got 0 instead."
    )


def test_options_message_is_exact() -> None:
    param = Param("str", Options(["csv", "parquet"]))
    with pytest.raises(ConfigError) as info:
        validate_value("bank", "output.format", param, "xml")
    assert str(info.value) == (
        "The 'output.format' parameter of bank must be a str among {'csv', 'parquet'}. "
        "Got 'xml' instead."
    )


def test_date_message_is_exact() -> None:
    with pytest.raises(ConfigError) as info:
        validate_value("bank", "run.start_date", Param("date"), "2025-13-01")
    assert str(info.value) == (
        "The 'run.start_date' parameter of bank must be a date as 'YYYY-MM-DD'. "
        "Got '2025-13-01' instead."
    )


def test_bool_message_is_exact() -> None:
    with pytest.raises(ConfigError) as info:
        validate_value("bank", "x", Param("bool"), 1)
    assert str(info.value) == "The 'x' parameter of bank must be a bool. Got 1 instead."


def test_float_range_message() -> None:
    param = Param("float", Interval(float, 0.0, 1.0, closed="right"))
    with pytest.raises(ConfigError, match=r"must be a float in the range \(0\.0, 1\.0\]\. Got 0 "):
        validate_value("bank", "p", param, 0)


def test_plain_int_message_uses_an() -> None:
    with pytest.raises(ConfigError, match=r"^The 'n' parameter of bank must be an int\. Got "):
        validate_value("bank", "n", Param("int"), "5")


def test_plain_str_message() -> None:
    with pytest.raises(ConfigError) as info:
        validate_value("bank", "s", Param("str"), 5)
    assert str(info.value) == "The 's' parameter of bank must be a str. Got 5 instead."


def test_config_error_is_a_value_error_and_synthsim_error() -> None:
    with pytest.raises(ConfigError) as info:
        validate_value("bank", "x", Param("bool"), "yes")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SynthsimError)
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- int


def test_int_accepts_int() -> None:
    result = validate_value("bank", "n", Param("int", Interval(int, 1, None)), 5)
    assert result == 5
    assert type(result) is int


def test_int_rejects_bool() -> None:
    with pytest.raises(ConfigError, match="Got True instead"):
        validate_value("bank", "n", Param("int"), True)


@pytest.mark.parametrize("value", [2.0, 2.5])
def test_int_rejects_float(value: float) -> None:
    with pytest.raises(ConfigError, match="must be an int"):
        validate_value("bank", "n", Param("int"), value)


def test_int_options() -> None:
    param = Param("int", Options([1, 2, 4]))
    assert validate_value("bank", "k", param, 4) == 4
    with pytest.raises(ConfigError, match=r"must be an int among \{1, 2, 4\}\. Got 3 instead\."):
        validate_value("bank", "k", param, 3)


# --------------------------------------------------------------------------- float


def test_float_accepts_int_and_returns_float() -> None:
    result = validate_value("bank", "p", Param("float", Interval(float, 0.0, 1.0)), 1)
    assert result == 1.0
    assert type(result) is float


def test_float_rejects_bool() -> None:
    with pytest.raises(ConfigError, match="Got False instead"):
        validate_value("bank", "p", Param("float"), False)


def test_float_rejects_str() -> None:
    with pytest.raises(ConfigError, match="Got '0.5' instead"):
        validate_value("bank", "p", Param("float"), "0.5")


def test_float_rejects_nan() -> None:
    with pytest.raises(ConfigError, match="Got nan instead"):
        validate_value("bank", "p", Param("float", Interval(float, None, None)), math.nan)


def test_unconstrained_float_rejects_nan_and_inf() -> None:
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ConfigError, match="must be a finite float"):
            validate_value("bank", "p", Param("float"), value)


def test_float_rejects_inf_in_unbounded_interval() -> None:
    with pytest.raises(ConfigError, match="Got inf instead"):
        validate_value("bank", "p", Param("float", Interval(float, 0.0, None)), math.inf)


def test_float_accepts_inf_when_interval_allows_it() -> None:
    param = Param("float", Interval(float, 0.0, math.inf, closed="both"))
    assert validate_value("bank", "p", param, math.inf) == math.inf


def test_float_rejects_int_too_large_for_float() -> None:
    with pytest.raises(ConfigError, match="must be a finite float"):
        validate_value("bank", "p", Param("float"), 10**400)


def test_float_options_accept_int_value() -> None:
    param = Param("float", Options([0.5, 1]))
    assert validate_value("bank", "p", param, 1) == 1.0
    with pytest.raises(ConfigError, match=r"among \{0\.5, 1\.0\}"):
        validate_value("bank", "p", param, 2)


# --------------------------------------------------------------------------- bool and str


def test_bool_accepts_bool() -> None:
    assert validate_value("bank", "x", Param("bool"), False) is False


def test_bool_rejects_string() -> None:
    with pytest.raises(ConfigError, match="Got 'true' instead"):
        validate_value("bank", "x", Param("bool"), "true")


def test_str_accepts_option() -> None:
    assert validate_value("bank", "f", Param("str", Options(["csv", "parquet"])), "csv") == "csv"


# --------------------------------------------------------------------------- date


def test_date_accepts_date_object() -> None:
    assert validate_value("bank", "d", Param("date"), dt.date(2025, 1, 31)) == "2025-01-31"


def test_date_accepts_iso_string() -> None:
    assert validate_value("bank", "d", Param("date"), "2024-02-29") == "2024-02-29"


@pytest.mark.parametrize(
    "value",
    ["2025-13-01", "2023-02-29", "2025-1-1", "20250101", "2025-W01-1", "2025-01-01T00:00", ""],
)
def test_date_rejects_invalid_strings(value: str) -> None:
    with pytest.raises(ConfigError, match="must be a date as 'YYYY-MM-DD'"):
        validate_value("bank", "d", Param("date"), value)


def test_date_rejects_datetime() -> None:
    with pytest.raises(ConfigError, match=r"Got datetime\.datetime\(2025, 1, 1, 0, 0\) instead"):
        validate_value("bank", "d", Param("date"), dt.datetime(2025, 1, 1))


def test_date_rejects_int() -> None:
    with pytest.raises(ConfigError, match="Got 20250101 instead"):
        validate_value("bank", "d", Param("date"), 20250101)
