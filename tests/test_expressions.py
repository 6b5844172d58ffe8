"""The rule expression language: parsed and checked, never executed, same answer per agent
and vectorised."""

import ast
import builtins
import pickle
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.expressions import MAX_DEPTH, MAX_LENGTH, Expression, parse
from simulations.errors import ConfigError

NAMES = ("acuity", "age", "arrived_by_ambulance", "score")

EXPRESSIONS = [
    "age >= 65 and acuity <= 2",
    "arrived_by_ambulance or acuity == 1",
    "not arrived_by_ambulance",
    "0.2 if age > 80 else 0.05",
    "min(age / 100, 0.9)",
    "max(score, 0, -age) * 2 - 1",
    "clip(score * 3, -1, 1)",
    "abs(score - 0.5) < 0.25",
    "round(score * 10)",
    "round(score, 2)",
    "1 < acuity < 4",
    "age // 7 + age % 7",
    "-score ** 2 + +age",
    "2 ** (score * 4 - 2)",
    "score ** 0.5",
    "(age > 50) + arrived_by_ambulance",
    "acuity == 3 or age < 10 and not arrived_by_ambulance",
    "1 / acuity if acuity != 0 else 0",
    "0.5",
    "age",
    "True",
]


def _population(n, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "acuity": rng.integers(0, 6, n),
        "age": rng.integers(0, 101, n),
        "arrived_by_ambulance": rng.random(n) < 0.3,
        "score": rng.normal(0.5, 1.0, n),
    }


def _row(columns, i):
    return {name: column[i].item() for name, column in columns.items()}


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_scalar_and_vectorised_agree(source):
    expression = parse(source, NAMES)
    columns = _population(400)
    vector = expression.evaluate(columns)
    assert vector.shape == (400,)
    scalar = np.array([expression(_row(columns, i)) for i in range(400)], dtype=np.float64)
    np.testing.assert_allclose(vector.astype(np.float64), scalar, rtol=1e-12, equal_nan=True)


def test_parse_records_source_and_names_read():
    expression = parse("age >= 65 and acuity <= 2", NAMES)
    assert isinstance(expression, Expression)
    assert expression.source == "age >= 65 and acuity <= 2"
    assert expression.names == {"age", "acuity"}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("-2 ** 2", -4.0),
        ("2 ** 3 ** 2", 512.0),
        ("not 1 == 2", True),
        ("True or False and False", True),
        ("10 - 4 - 3", 3),
        ("7 // 2 * 2", 6),
    ],
)
def test_precedence_follows_python(source, expected):
    assert parse(source, NAMES)({}) == expected


@pytest.mark.parametrize(("age", "expected"), [(0, False), (1, False), (3, True), (5, False)])
def test_chained_comparison(age, expected):
    assert parse("1 < age < 5", NAMES)({"age": age}) is expected


def test_if_else_picks_a_branch():
    expression = parse("0.2 if age > 80 else 0.05", NAMES)
    assert expression({"age": 81}) == 0.2
    assert expression({"age": 80}) == 0.05


def test_and_or_not_give_booleans():
    assert parse("age and acuity", NAMES)({"age": 3, "acuity": 4}) is True
    assert parse("age or acuity", NAMES)({"age": 0, "acuity": 0}) is False
    assert parse("not age", NAMES)({"age": 0}) is True


def test_scalar_and_or_if_short_circuit():
    # The right-hand sides would divide by zero, or read a missing attribute, if evaluated.
    attributes = {"acuity": 0}
    assert parse("acuity == 0 or 1 / acuity > 1", NAMES)(attributes) is True
    assert parse("acuity != 0 and 1 / acuity > 1", NAMES)(attributes) is False
    assert parse("1 if acuity == 0 else 1 / acuity", NAMES)(attributes) == 1
    assert parse("acuity == 0 or age > 1", NAMES)(attributes) is True
    assert parse("0 < acuity < 1 / acuity", NAMES)(attributes) is False


def test_scalar_division_by_zero_raises_a_config_error_naming_the_part():
    expression = parse("age > 3 and 1 / acuity > 0.5", NAMES)
    with pytest.raises(ConfigError, match=r"Division by zero in '1 / acuity' .*acuity=0, age=70"):
        expression({"age": 70, "acuity": 0})


@pytest.mark.parametrize("source", ["1 // acuity", "1 % acuity", "acuity ** -1"])
def test_scalar_floor_division_modulo_and_negative_power_of_zero_raise(source):
    with pytest.raises(ConfigError, match="Division by zero"):
        parse(source, NAMES)({"acuity": 0})


def test_vectorised_division_by_zero_follows_numpy_silently():
    expression = parse("age / acuity", NAMES)
    with np.errstate(all="raise"):  # the evaluator must not warn or raise
        out = expression.evaluate({"age": np.array([1, 0, 4]), "acuity": np.array([0, 0, 2])})
    assert np.isinf(out[0]) and np.isnan(out[1]) and out[2] == 2.0


def test_powers_overflow_to_inf_and_have_nan_for_no_real_value():
    assert parse("10.0 ** 400", NAMES)({}) == np.inf
    assert np.isnan(parse("(-8) ** 0.5", NAMES)({}))
    assert parse("9 ** 9 ** 9", NAMES)({}) == np.inf  # never builds a huge integer


def test_evaluate_broadcasts_constants_and_copies_columns():
    columns = {"age": np.array([1, 2, 3])}
    assert parse("0.5", NAMES).evaluate(columns).tolist() == [0.5, 0.5, 0.5]
    out = parse("age", NAMES).evaluate(columns)
    out[0] = 99
    assert columns["age"][0] == 1


def test_evaluate_gives_bool_for_conditions_and_float_for_arithmetic():
    columns = _population(10)
    assert parse("age > 3 or not arrived_by_ambulance", NAMES).evaluate(columns).dtype == bool
    assert parse("age + acuity", NAMES).evaluate(columns).dtype == np.float64


def test_evaluate_refuses_missing_or_ragged_columns():
    expression = parse("age + acuity", NAMES)
    with pytest.raises(ConfigError, match="needs column.*acuity"):
        expression.evaluate({"age": np.arange(3)})
    with pytest.raises(ConfigError, match="equal length"):
        expression.evaluate({"age": np.arange(3), "acuity": np.arange(4)})


def test_call_refuses_missing_attributes():
    with pytest.raises(ConfigError, match=r"needs attribute\(s\) acuity"):
        parse("age + acuity", NAMES)({"age": 1})


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("__import__('os')", "Call to '__import__'"),
        ("age.real", "Attribute access"),
        ("age[0]", "Subscript"),
        ("lambda: 1", "Lambda"),
        ("open('f')", "Call to 'open'"),
        ("[a for a in age]", "List comprehension"),
        ("'s' * 3", "String constant"),
        ("(age := 1)", r"Assignment expression \(:=\)"),
        ("f'{age}'", "f-string"),
        ("age & 1", "Operator '&'"),
        ("~age", "Operator '~'"),
        ("age in 1", "Comparison 'in'"),
        ("age is None", "Comparison 'is'"),
        ("min(age, key=1)", "Keyword argument"),
        ("(1, 2)", "Tuple"),
        ("1j", "Constant of type complex"),
        ("None", "Constant of type NoneType"),
        ("min(age)()", "Call of a computed function"),
        ("clip(age, 1)", r"clip\(\) takes 3 arguments, got 2"),
        ("round(age, acuity)", "second argument must be an integer constant"),
    ],
)
def test_forbidden_constructs_are_refused_by_name(source, named):
    with pytest.raises(ConfigError, match=named) as info:
        parse(source, NAMES)
    assert repr(source) in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_name_lists_valid_names_and_suggests_one():
    message = (
        "Unknown name 'agee' in 'agee >= 65' (did you mean 'age'?); "
        "valid names: acuity, age, arrived_by_ambulance."
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        parse("agee >= 65", ["age", "acuity", "arrived_by_ambulance"])


def test_unknown_name_without_a_close_match_has_no_suggestion():
    with pytest.raises(ConfigError) as info:
        parse("zzz > 1", NAMES)
    assert "did you mean" not in str(info.value)


def test_function_names_must_be_called():
    with pytest.raises(ConfigError, match=r"must be called, as in min\(...\)"):
        parse("min + 1", NAMES)


@pytest.mark.parametrize("names", ["age", ["age", "class"], ["age", 3]])
def test_allowed_names_must_be_identifiers(names):
    with pytest.raises(ConfigError, match="iterable of Python identifiers"):
        parse("age", names)


def test_syntax_errors_are_config_errors():
    with pytest.raises(ConfigError, match="Syntax error in 'age >='"):
        parse("age >=", NAMES)


def test_sloppy_syntax_that_python_only_warns_about_is_refused():
    with pytest.raises(ConfigError, match="Syntax error in '1if age else 2'"):
        parse("1if age else 2", NAMES)


def test_too_long_and_too_deep_sources_are_refused():
    with pytest.raises(ConfigError, match=f"the limit is {MAX_LENGTH}"):
        parse("1 + " * 300 + "1", NAMES)
    with pytest.raises(ConfigError, match=f"deeper than {MAX_DEPTH} levels"):
        parse("-" * (MAX_DEPTH + 1) + "1", NAMES)
    assert parse("-" * (MAX_DEPTH - 1) + "1", NAMES)({}) == -1


def test_expressions_pickle_by_source():
    expression = pickle.loads(pickle.dumps(parse("age > 3", NAMES)))
    assert expression.source == "age > 3" and expression({"age": 4}) is True


_TOKENS = [
    *NAMES, "nope", "__import__", "open", "min", "max", "abs", "clip", "round", "lambda", "for",
    "in", "if", "else", "and", "or", "not", "is", "None", "True", "(", ")", "[", "]", "{", "}",
    ".", ",", ":", ":=", "'os'", '"x"', "f'{age}'", "0", "1", "2.5", "1e308", "-", "+", "*",
    "/", "//", "%", "**", "==", "<", ">=", "!=", "&", "~", "@", "\\", "#", "\n", "\x00", "",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.lists(st.sampled_from(_TOKENS), max_size=12).map(" ".join),
        st.lists(st.sampled_from(_TOKENS), max_size=12).map("".join),
        st.text(max_size=40),
    )
)
def test_garbage_never_executes_and_only_raises_config_error(source):
    real_compile = builtins.compile

    def ast_only_compile(*args, **kwargs):
        flags = kwargs.get("flags", args[3] if len(args) > 3 else 0)
        assert flags & ast.PyCF_ONLY_AST, "something tried to compile code"
        return real_compile(*args, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("something tried to execute code")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(builtins, "compile", ast_only_compile)
        patch.setattr(builtins, "eval", forbidden)
        patch.setattr(builtins, "exec", forbidden)
        patch.setattr(builtins, "open", forbidden)
        try:
            expression = parse(source, NAMES)
        except ConfigError as err:
            assert "\n" not in str(err)
            return
        columns = _population(5)
        assert expression.evaluate(columns).shape == (5,)
        try:
            expression(_row(columns, 0))
        except ConfigError as err:
            assert "Division by zero" in str(err)
