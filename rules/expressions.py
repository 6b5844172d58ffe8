"""A safe expression language over agent attributes: parsed and checked, never ``eval``'d.

Pathway and rule files carry small formulas such as ``age >= 65 and acuity <= 2`` or
``0.2 if age > 80 else 0.05``. :func:`parse` reads one with :func:`ast.parse`, accepts only a
whitelist of node types, checks every name against the allowed attribute names, and compiles
the tree into two evaluators built from plain closures (no ``eval``, ``exec`` or code objects):

- ``expression(attributes)`` evaluates it for one agent (a mapping of scalars), with Python's
  short-circuit semantics for ``and``, ``or`` and ``x if c else y``;
- ``expression.evaluate(columns)`` evaluates it for ``n`` agents at once over columnar state
  (a mapping of equal-length 1-D arrays) with numpy, returning an array of shape ``(n,)``.

The language
------------
Numbers (``int``, ``float``), ``True``/``False``, attribute names, ``+ - * / // % **``, unary
``- + not``, comparisons ``== != < <= > >=`` (chains such as ``1 < age < 5`` allowed),
``and``/``or``, ``a if cond else b`` and the functions ``abs(x)``, ``min(x, y, ...)``,
``max(x, y, ...)``, ``round(x)``/``round(x, ndigits)`` and ``clip(x, lo, hi)``. Strings,
attribute access, subscripts, lambdas, comprehensions, other calls and everything else are
refused with a :class:`~simulations.errors.ConfigError` naming the construct. Sources longer
than 1,000 characters or nested deeper than 50 levels are refused too.

Semantics
---------
``and``, ``or`` and ``not`` always give booleans; comparisons give booleans. Vectorised
arithmetic is done in float64 (so ``True + True == 2.0``, as in Python). Division by zero
(``/``, ``//``, ``%``, or ``0 ** -1``): the scalar evaluator raises a ConfigError that quotes
the expression, the failing part and the attribute values, because a pathway that divides by
zero is a bug in the pathway; the vectorised evaluator follows numpy and returns ``inf`` or
``nan`` silently (it evaluates both sides of ``and``/``or``/``if`` for every agent, so it must
not fail on values that the scalar evaluator would never reach). Powers that overflow give
``inf`` and powers with no real value (``(-8) ** 0.5``) give ``nan`` in both evaluators.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
import operator
import warnings
from collections.abc import Callable, Iterable, Mapping
from functools import reduce
from typing import Any

import numpy as np

from simulations.errors import ConfigError

__all__ = ["FUNCTIONS", "MAX_DEPTH", "MAX_LENGTH", "Expression", "parse"]

MAX_LENGTH = 1000
"""Longest accepted expression source, in characters."""
MAX_DEPTH = 50
"""Deepest accepted nesting of expression nodes."""
FUNCTIONS = ("abs", "clip", "max", "min", "round")
"""Names of the functions an expression may call."""

_ALLOWED = (
    "expressions may use numbers, attribute names, + - * / // % **, comparisons, and/or/not, "
    "'a if cond else b' and the functions " + ", ".join(FUNCTIONS)
)
_ARITY = {"abs": (1, 1), "clip": (3, 3), "max": (2, None), "min": (2, None), "round": (1, 2)}
_MAX_INT = 2**53  # larger integer constants are not exactly representable in float64
_MAX_NDIGITS = 15

_CONSTRUCTS = {
    ast.Attribute: "Attribute access",
    ast.Subscript: "Subscript",
    ast.Slice: "Slice",
    ast.Lambda: "Lambda",
    ast.ListComp: "List comprehension",
    ast.SetComp: "Set comprehension",
    ast.DictComp: "Dict comprehension",
    ast.GeneratorExp: "Generator expression",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.NamedExpr: "Assignment expression (:=)",
    ast.List: "List display",
    ast.Tuple: "Tuple",
    ast.Dict: "Dict display",
    ast.Set: "Set display",
    ast.Starred: "Starred expression",
    ast.Await: "Await",
    ast.Yield: "Yield",
    ast.YieldFrom: "Yield",
}

Scalar = Callable[[Mapping[str, Any]], Any]
Vector = Callable[[Mapping[str, np.ndarray]], Any]


class _DivisionByZero(Exception):
    """Raised inside the scalar evaluator; turned into a ConfigError by Expression."""


class Expression:
    """A parsed, validated expression over named attributes (never ``eval``'d).

    Build one with :func:`parse`. Instances are immutable and picklable (they pickle as
    their source and allowed names, and are parsed again on loading).

    Attributes
    ----------
    source : str
        The expression as written.
    names : frozenset of str
        The attribute names the expression reads.
    """

    __slots__ = ("source", "names", "_allowed", "_scalar", "_vector")

    def __init__(
        self, source: str, names: frozenset[str], allowed: tuple[str, ...], scalar: Scalar,
        vector: Vector,
    ) -> None:  # fmt: skip
        self.source = source
        self.names = names
        self._allowed = allowed
        self._scalar = scalar
        self._vector = vector

    def __call__(self, attributes: Mapping[str, Any]) -> bool | int | float:
        """Evaluate for one agent.

        Parameters
        ----------
        attributes : mapping of str to scalar
            The agent's attribute values; must hold every name in :attr:`names`.

        Returns
        -------
        bool or int or float
            ``bool`` for conditions (comparisons, ``and``/``or``/``not``), a number otherwise.

        Raises
        ------
        ConfigError
            If an attribute is missing or the expression divides by zero for these values.
        """
        try:
            return self._scalar(attributes)
        except KeyError:
            missing = sorted(n for n in self.names if n not in attributes)
            raise ConfigError(
                f"Expression {self.source!r} needs attribute(s) {', '.join(missing)}, "
                f"missing from the agent; got: {', '.join(sorted(map(str, attributes)))}."
            ) from None
        except _DivisionByZero as err:
            values = ", ".join(f"{n}={attributes[n]!r}" for n in sorted(self.names))
            raise ConfigError(
                f"Division by zero in {err.args[0]!r} of {self.source!r} for "
                f"{values or 'no attributes'}; guard it, e.g. 'x / d if d != 0 else 0'."
            ) from None

    def evaluate(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Evaluate for ``n`` agents at once.

        Parameters
        ----------
        columns : mapping of str to array, each of shape (n,)
            Columnar agent state; must hold every name in :attr:`names`.

        Returns
        -------
        numpy.ndarray, shape (n,)
            A new array: bool for conditions, float64 for arithmetic, the column's dtype for a
            bare name. Division by zero gives ``inf``/``nan`` as in numpy, without warnings.

        Raises
        ------
        ConfigError
            If a column is missing, is not 1-D, or the columns differ in length.
        """
        missing = sorted(n for n in self.names if n not in columns)
        if missing:
            raise ConfigError(
                f"Expression {self.source!r} needs column(s) {', '.join(missing)}; "
                f"got: {', '.join(sorted(map(str, columns)))}."
            )
        used = {n: np.asarray(columns[n]) for n in self.names}
        if not used and columns:
            first = next(iter(columns))
            used_n = np.asarray(columns[first]).shape
        elif not used:
            raise ConfigError(
                f"Expression {self.source!r} reads no columns; pass at least one column so the "
                "number of agents is known."
            )
        else:
            used_n = next(iter(used.values())).shape
        shapes = {n: a.shape for n, a in used.items()}
        if len(used_n) != 1 or any(s != used_n for s in shapes.values()):
            raise ConfigError(
                f"Expression {self.source!r} needs 1-D columns of equal length; got shapes "
                + ", ".join(f"{n}={s}" for n, s in sorted(shapes.items()))
                + "."
            )
        with np.errstate(all="ignore"):
            result = np.asarray(self._vector(used))
        if result.shape == ():
            return np.full(used_n, result)
        return np.array(result, copy=True)

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (parse, (self.source, self._allowed))


def parse(source: str, names: Iterable[str]) -> Expression:
    """Parse and validate an expression over the attributes ``names``.

    Parameters
    ----------
    source : str
        The expression, e.g. ``"age >= 65 and acuity <= 2"``; at most 1,000 characters.
    names : iterable of str
        The attribute names the expression may read.

    Returns
    -------
    Expression
        The compiled expression; nothing in ``source`` is executed.

    Raises
    ------
    ConfigError
        On a syntax error, an unknown name (with a "did you mean" suggestion), a construct
        outside the language, or a source that is too long or too deeply nested.
    """
    if not isinstance(source, str):
        raise ConfigError(f"An expression must be a string. Got {source!r} instead.")
    unique = {names} if isinstance(names, str) else set(names)
    bad = [
        n for n in unique if not isinstance(n, str) or not n.isidentifier() or keyword.iskeyword(n)
    ]
    if isinstance(names, str) or bad:
        raise ConfigError(
            f"Attribute names must be an iterable of Python identifiers. Got {names!r} instead."
        )
    allowed = tuple(sorted(unique))
    if len(source) > MAX_LENGTH:
        raise ConfigError(
            f"Expression {source[:40]!r}... is {len(source)} characters long; the limit is "
            f"{MAX_LENGTH}."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SyntaxWarning)  # e.g. '1if x else 2' is refused
            tree = ast.parse(source.strip(), mode="eval")
    except SyntaxWarning as err:
        raise ConfigError(f"Syntax error in {source!r}: {err}.") from None
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset else " at the end"
        raise ConfigError(f"Syntax error in {source!r}{where}: {err.msg}.") from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise ConfigError(f"Cannot parse {source!r}: {type(err).__name__}.") from None
    compiler = _Compiler(source.strip(), source, allowed)
    scalar, vector = compiler.compile(tree.body, 1)
    return Expression(source, frozenset(compiler.read), allowed, scalar, vector)


class _Compiler:
    """Validates an AST against the whitelist and builds the scalar and vector closures."""

    def __init__(self, text: str, source: str, allowed: tuple[str, ...]) -> None:
        self.text = text  # what was parsed (offsets refer to it)
        self.source = source
        self.allowed = allowed
        self.read: set[str] = set()

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ast.unparse(node)

    def where(self, node: ast.AST) -> str:
        """``'part' in 'source'``, or just ``'source'`` when the part is all of it."""
        part = self.segment(node)
        return repr(self.source) if part == self.text else f"{part!r} in {self.source!r}"

    def refuse(self, what: str, node: ast.AST) -> ConfigError:
        return ConfigError(f"{what} is not allowed: {self.where(node)}; {_ALLOWED}.")

    def compile(self, node: ast.AST, depth: int) -> tuple[Scalar, Vector]:
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"Expression {self.source[:40]!r}{'...' if len(self.source) > 40 else ''} is "
                f"nested deeper than {MAX_DEPTH} levels."
            )
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            what = _CONSTRUCTS.get(type(node), f"{type(node).__name__} expression")
            raise self.refuse(what, node)
        return method(node, depth + 1)

    # -- leaves ----------------------------------------------------------------------------

    def _Constant(self, node: ast.Constant, depth: int) -> tuple[Scalar, Vector]:
        value = node.value
        if isinstance(value, str | bytes):
            raise self.refuse("String constant", node)
        if not isinstance(value, bool | int | float):
            raise self.refuse(f"Constant of type {type(value).__name__}", node)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _MAX_INT:
            raise self.refuse("Integer constant larger than 2**53", node)
        return (lambda a: value), (lambda c: value)

    def _Name(self, node: ast.Name, depth: int) -> tuple[Scalar, Vector]:
        name = node.id
        if name not in self.allowed:
            if name in FUNCTIONS:
                raise ConfigError(
                    f"Function {name!r} must be called, as in {name}(...), in {self.source!r}."
                )
            close = difflib.get_close_matches(name, self.allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            valid = ", ".join(self.allowed) or "(none)"
            raise ConfigError(
                f"Unknown name {name!r} in {self.source!r}{hint}; valid names: {valid}."
            )
        self.read.add(name)
        get = operator.itemgetter(name)
        return get, get

    # -- operators -------------------------------------------------------------------------

    def _BinOp(self, node: ast.BinOp, depth: int) -> tuple[Scalar, Vector]:
        op = type(node.op)
        if op not in _BINOPS:
            symbol = _SYMBOLS.get(op, op.__name__)
            raise ConfigError(
                f"Operator {symbol!r} is not allowed: {self.where(node)}; "
                "use + - * / // % ** (and 'and'/'or' for logic)."
            )
        left_s, left_v = self.compile(node.left, depth)
        right_s, right_v = self.compile(node.right, depth)
        scalar_op, vector_op = _BINOPS[op]
        segment = self.segment(node)

        if op in (ast.Div, ast.FloorDiv, ast.Mod):

            def scalar(a: Mapping[str, Any]) -> Any:
                x, d = left_s(a), right_s(a)
                if d == 0:
                    raise _DivisionByZero(segment)
                return scalar_op(x, d)

        elif op is ast.Pow:

            def scalar(a: Mapping[str, Any]) -> Any:
                return _scalar_pow(left_s(a), right_s(a), segment)

        else:

            def scalar(a: Mapping[str, Any]) -> Any:
                return scalar_op(left_s(a), right_s(a))

        def vector(c: Mapping[str, np.ndarray]) -> Any:
            return vector_op(_float(left_v(c)), _float(right_v(c)))

        return scalar, vector

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> tuple[Scalar, Vector]:
        inner_s, inner_v = self.compile(node.operand, depth)
        if isinstance(node.op, ast.Not):
            return (lambda a: not inner_s(a)), (lambda c: np.logical_not(inner_v(c)))
        if isinstance(node.op, ast.USub):
            return (lambda a: -inner_s(a)), (lambda c: np.negative(_float(inner_v(c))))
        if isinstance(node.op, ast.UAdd):
            return (lambda a: +inner_s(a)), (lambda c: _float(inner_v(c)))
        raise ConfigError(f"Operator '~' is not allowed: {self.where(node)}; use 'not' for logic.")

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> tuple[Scalar, Vector]:
        parts = [self.compile(v, depth) for v in node.values]
        scalars = tuple(s for s, _ in parts)
        vectors = tuple(v for _, v in parts)
        if isinstance(node.op, ast.And):

            def scalar(a: Mapping[str, Any]) -> bool:
                for s in scalars:
                    if not s(a):
                        return False
                return True

            return scalar, lambda c: reduce(np.logical_and, (v(c) for v in vectors))

        def scalar_or(a: Mapping[str, Any]) -> bool:
            for s in scalars:
                if s(a):
                    return True
            return False

        return scalar_or, lambda c: reduce(np.logical_or, (v(c) for v in vectors))

    def _Compare(self, node: ast.Compare, depth: int) -> tuple[Scalar, Vector]:
        for op in node.ops:
            if type(op) not in _COMPARISONS:
                symbol = _SYMBOLS.get(type(op), type(op).__name__)
                raise ConfigError(
                    f"Comparison {symbol!r} is not allowed: {self.where(node)}; "
                    "use == != < <= > >=."
                )
        first_s, first_v = self.compile(node.left, depth)
        rest = [self.compile(c, depth) for c in node.comparators]
        scalar_pairs = tuple(
            (_COMPARISONS[type(op)][0], s) for op, (s, _) in zip(node.ops, rest, strict=True)
        )
        vector_pairs = tuple(
            (_COMPARISONS[type(op)][1], v) for op, (_, v) in zip(node.ops, rest, strict=True)
        )

        def scalar(a: Mapping[str, Any]) -> bool:
            x = first_s(a)
            for compare, s in scalar_pairs:
                y = s(a)
                if not compare(x, y):
                    return False
                x = y
            return True

        def vector(c: Mapping[str, np.ndarray]) -> Any:
            x, result = first_v(c), None
            for compare, v in vector_pairs:
                y = v(c)
                step = compare(x, y)
                result = step if result is None else np.logical_and(result, step)
                x = y
            return result

        return scalar, vector

    def _IfExp(self, node: ast.IfExp, depth: int) -> tuple[Scalar, Vector]:
        test_s, test_v = self.compile(node.test, depth)
        body_s, body_v = self.compile(node.body, depth)
        else_s, else_v = self.compile(node.orelse, depth)

        def scalar(a: Mapping[str, Any]) -> Any:
            return body_s(a) if test_s(a) else else_s(a)

        def vector(c: Mapping[str, np.ndarray]) -> Any:
            return np.where(np.asarray(test_v(c), dtype=bool), body_v(c), else_v(c))

        return scalar, vector

    def _Call(self, node: ast.Call, depth: int) -> tuple[Scalar, Vector]:
        if not isinstance(node.func, ast.Name):
            raise self.refuse("Call of a computed function", node)
        name = node.func.id
        if name not in FUNCTIONS:
            raise ConfigError(
                f"Call to {name!r} is not allowed: {self.where(node)}; "
                f"allowed functions: {', '.join(FUNCTIONS)}."
            )
        if node.keywords:
            raise self.refuse("Keyword argument in call", node)
        low, high = _ARITY[name]
        n = len(node.args)
        if n < low or (high is not None and n > high):
            expected = f"{low}" if low == high else f"{low} to {high}" if high else f"{low}+"
            raise ConfigError(f"{name}() takes {expected} arguments, got {n}: {self.where(node)}.")
        if name == "round" and n == 2:
            digits = node.args[1]
            ok = isinstance(digits, ast.Constant) and type(digits.value) is int
            if not ok or abs(digits.value) > _MAX_NDIGITS:
                raise ConfigError(
                    f"round()'s second argument must be an integer constant in "
                    f"[-{_MAX_NDIGITS}, {_MAX_NDIGITS}]: {self.where(node)}."
                )
            nd = digits.value
            x_s, x_v = self.compile(node.args[0], depth)
            return (lambda a: round(float(x_s(a)), nd)), (lambda c: np.round(_float(x_v(c)), nd))
        args = [self.compile(arg, depth) for arg in node.args]
        scalars = tuple(s for s, _ in args)
        vectors = tuple(v for _, v in args)
        scalar_fn, vector_fn = _FUNCTIONS[name]

        def scalar(a: Mapping[str, Any]) -> Any:
            return scalar_fn(*[s(a) for s in scalars])

        def vector(c: Mapping[str, np.ndarray]) -> Any:
            return vector_fn(*[_float(v(c)) for v in vectors])

        return scalar, vector


def _float(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _scalar_pow(x: Any, y: Any, segment: str) -> float:
    """``x ** y`` in float64 semantics: overflow gives inf, no real value gives nan."""
    x, y = float(x), float(y)
    if x == 0 and y < 0:
        raise _DivisionByZero(segment)
    try:
        result = x**y
    except OverflowError:
        odd = y.is_integer() and y % 2 == 1
        return -math.inf if x < 0 and odd else math.inf
    return math.nan if isinstance(result, complex) else result


def _nan_aware(pick: Callable[..., Any]) -> Callable[..., Any]:
    """``min``/``max`` that return nan when any argument is nan, like ``np.minimum``."""

    def fn(*values: Any) -> Any:
        if any(v != v for v in values):
            return math.nan
        return pick(values)

    return fn


_BINOPS: dict[type, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    ast.Add: (operator.add, np.add),
    ast.Sub: (operator.sub, np.subtract),
    ast.Mult: (operator.mul, np.multiply),
    ast.Div: (operator.truediv, np.true_divide),
    ast.FloorDiv: (operator.floordiv, np.floor_divide),
    ast.Mod: (operator.mod, np.mod),
    ast.Pow: (operator.pow, np.power),
}
_COMPARISONS: dict[type, tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]] = {
    ast.Eq: (operator.eq, np.equal),
    ast.NotEq: (operator.ne, np.not_equal),
    ast.Lt: (operator.lt, np.less),
    ast.LtE: (operator.le, np.less_equal),
    ast.Gt: (operator.gt, np.greater),
    ast.GtE: (operator.ge, np.greater_equal),
}
_FUNCTIONS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "abs": (abs, np.abs),
    "min": (_nan_aware(min), lambda *xs: reduce(np.minimum, xs)),
    "max": (_nan_aware(max), lambda *xs: reduce(np.maximum, xs)),
    "round": (lambda x: round(float(x), 0), lambda x: np.round(x)),
    "clip": (
        lambda x, lo, hi: min(max(x, lo), hi),
        lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
    ),
}
_SYMBOLS = {
    ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^",
    ast.BitAnd: "&", ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not",
}  # fmt: skip
