"""Dense iterative proportional fitting (IPF) of a seed table to marginal totals.

IPF (Deming & Stephan 1940; Bishop, Fienberg & Holland 1975, ch. 3) rescales a non-negative
seed table, one marginal at a time, until its sums over each marginal's axes equal that
marginal's targets. The limit keeps the seed's interactions that the marginals do not fix.

Layout and conventions
----------------------
* The seed is a dense ``numpy`` array of counts, any number of axes. It is converted to a
  C-contiguous ``float64`` copy first, so a Fortran-ordered (or strided) seed gives a
  bitwise-identical answer; targets are converted the same way.
* A :class:`Marginal` constrains a subset of the seed's axes; its target has one axis per
  constrained seed axis, in the order the axes were given.
* One iteration is one sweep over all marginals: sum the table over the marginal's
  complementary axes, divide target by sum (``0/0`` and ``t/0`` give 0, so zero cells stay
  zero), multiply the table by that factor, broadcast. No Python loop touches cells.
* Convergence is judged on the returned table itself: ``converged`` is True only when every
  marginal's largest absolute error is at most ``tol * max(1, total)`` counts, where
  ``total`` is the targets' grand total (so ``tol`` is *relative* to the table total). A
  small change between iterations is never enough on its own. When ``max_iter`` is reached
  the table is returned with ``converged=False`` and the errors per marginal.
* Inputs are validated up front (values, axes, shapes, totals, pairwise agreement of
  overlapping marginals, targets only zero seed cells could carry); each problem raises
  :class:`~simulations.errors.CalibrationError` naming the marginal and the cell. Problems
  that only show during fitting (zero patterns that make the targets unreachable) are
  reported honestly through ``converged=False``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from simulations.errors import CalibrationError

__all__ = ["IPFResult", "Marginal", "ipf"]

_RTOL = 1e-9
"""Relative tolerance (of the table total) for totals and shared sums of two marginals."""


@dataclass(frozen=True, eq=False)
class Marginal:
    """Target totals over a subset of the seed's axes.

    Parameters
    ----------
    axes : tuple of int
        The seed axes this marginal constrains, in any order, each once. Stored sorted.
    target : array_like of float, shape ``tuple(seed.shape[a] for a in axes)``
        Target totals in counts, with axes in the order of ``axes`` as given. Stored as a
        read-only C-contiguous ``float64`` array transposed to match the sorted ``axes``.
    name : str, default ""
        Used in messages and reports; ``ipf`` names an unnamed marginal ``"marginal k"``
        (``k`` its position in the list).

    Raises
    ------
    CalibrationError
        If an axis is not an int or is repeated, or the target's number of axes differs
        from ``len(axes)``.
    """

    axes: tuple[int, ...]
    target: np.ndarray
    name: str = ""
    _given_axes: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        label = repr(self.name) if self.name else f"with axes {self.axes!r}"
        try:
            raw = tuple(self.axes)
            axes = tuple(operator.index(a) for a in raw if not isinstance(a, bool))
        except TypeError:
            raw, axes = None, ()
        if raw is None or len(axes) != len(raw):
            raise CalibrationError(f"Marginal {label}: axes must be ints, got {self.axes!r}.")
        if len(set(axes)) != len(axes):
            raise CalibrationError(f"Marginal {label}: axes {axes} repeat an axis.")
        target = np.array(self.target, dtype=np.float64)
        if target.ndim != len(axes):
            raise CalibrationError(
                f"Marginal {label}: {len(axes)} axes {axes} but a {target.ndim}-D target "
                f"of shape {target.shape}."
            )
        order = sorted(range(len(axes)), key=axes.__getitem__)
        target = np.array(target.transpose(order) if order else target, order="C")
        target.flags.writeable = False
        object.__setattr__(self, "axes", tuple(axes[i] for i in order))
        object.__setattr__(self, "target", target)
        object.__setattr__(self, "_given_axes", axes)

    def _given_target(self) -> np.ndarray:
        """The target with its axes in the order they were given (a view)."""
        order = [self.axes.index(a) for a in self._given_axes]
        return self.target.transpose(order) if order else self.target


@dataclass(frozen=True, eq=False)
class IPFResult:
    """The outcome of :func:`ipf`.

    Attributes
    ----------
    table : numpy.ndarray of float64, seed's shape
        The fitted table in counts, C-contiguous.
    converged : bool
        Whether ``max_error <= threshold``.
    iterations : int
        Full sweeps over the marginals performed (0 when the seed already fits).
    max_error : float
        Largest absolute marginal error of ``table``, in counts.
    errors : dict of str to float
        Per marginal (by name): its largest absolute cell error, in counts.
    threshold : float
        The convergence threshold used, ``tol * max(1, total)``, in counts.
    marginals : tuple of Marginal
        The marginals fitted, with their resolved names (used by :meth:`report`).
    """

    table: np.ndarray
    converged: bool
    iterations: int
    max_error: float
    errors: dict[str, float]
    threshold: float = 0.0
    marginals: tuple[Marginal, ...] = field(default=(), repr=False)

    def report(self) -> pd.DataFrame:
        """One row per marginal: how well ``table`` reproduces it.

        Returns
        -------
        pandas.DataFrame
            Columns ``name``, ``target_total`` (counts), ``max_abs_error`` (counts) and
            ``max_rel_error`` (largest ``|fitted - target| / target`` over cells with a
            positive target; a zero-target cell fitted non-zero counts as ``inf``).
        """
        rows = []
        for m in self.marginals:
            fitted = _sum_onto(self.table, m.axes)
            diff = np.abs(fitted - m.target)
            rel = np.divide(diff, m.target, out=np.zeros_like(diff), where=m.target > 0)
            rel[(m.target == 0) & (diff > 0)] = np.inf
            rows.append(
                {
                    "name": m.name,
                    "target_total": float(m.target.sum()),
                    "max_abs_error": float(diff.max(initial=0.0)),
                    "max_rel_error": float(rel.max(initial=0.0)),
                }
            )
        columns = ["name", "target_total", "max_abs_error", "max_rel_error"]
        return pd.DataFrame(rows, columns=columns)


def ipf(
    seed: np.ndarray, marginals: Sequence[Marginal], *, tol: float = 1e-6, max_iter: int = 1000
) -> IPFResult:
    """Fit ``seed`` to ``marginals`` by iterative proportional fitting.

    Parameters
    ----------
    seed : array_like of float, any shape with at least one axis
        Non-negative, finite counts. Never modified; its memory layout does not matter.
    marginals : sequence of Marginal
        At least one. Targets must be non-negative and finite, agree on their grand totals
        and, pairwise, on their sums onto shared axes (relative ``1e-9`` of the total).
    tol : float, default 1e-6
        Convergence tolerance *relative to the table total*: converged when every
        marginal's largest absolute error is at most ``tol * max(1, total)`` counts.
    max_iter : int, default 1000
        Most sweeps over the marginals. Reaching it returns ``converged=False``.

    Returns
    -------
    IPFResult
        The fitted table (C-contiguous ``float64``, seed's shape) and its errors.

    Raises
    ------
    CalibrationError
        For invalid or inconsistent inputs, naming the marginal and the cell.
    """
    return _ipf(seed, marginals, tol=tol, max_iter=max_iter, labels=None)


def _ipf(seed, marginals, *, tol, max_iter, labels) -> IPFResult:
    """Validate, then fit. ``labels`` is ``(variable names, categories per axis)`` or None."""
    namer = _Namer(labels)
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0 < tol < np.inf:
        raise CalibrationError(f"tol must be a positive finite number. Got {tol!r} instead.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise CalibrationError(f"max_iter must be an int >= 1. Got {max_iter!r} instead.")
    try:
        table = np.array(seed, dtype=np.float64, order="C")
    except (TypeError, ValueError) as exc:
        raise CalibrationError(f"seed cannot be read as float64 counts: {exc}") from None
    if table.ndim == 0:
        raise CalibrationError("seed must have at least one axis; got a scalar.")
    _check_values(table, "seed", tuple(range(table.ndim)), namer)
    marginals = _resolve(list(marginals), table.shape, namer)

    total = float(marginals[0].target.sum())
    for m in marginals[1:]:
        other = float(m.target.sum())
        if abs(other - total) > _RTOL * max(abs(total), abs(other)):
            raise CalibrationError(
                f"Inconsistent totals: marginal {marginals[0].name!r} sums to {total!r} but "
                f"marginal {m.name!r} sums to {other!r}."
            )
    for i, a in enumerate(marginals):
        for b in marginals[i + 1 :]:
            _check_shared(a, b, total, namer)

    seed_sums = [_sum_onto(table, m.axes) for m in marginals]
    if total > 0 and not table.any():
        raise CalibrationError(f"seed is all zeros but the targets total {total!r}.")
    for m, s in zip(marginals, seed_sums, strict=True):
        _check_support(m, s, namer)

    threshold = tol * max(1.0, total)
    plans = [_plan(m, table.shape) for m in marginals]
    errors = [
        float(np.abs(s - m.target).max(initial=0.0))
        for m, s in zip(marginals, seed_sums, strict=True)
    ]
    iterations, previous = 0, np.inf
    while max(errors) > threshold and iterations < max_iter:
        iterations += 1
        worst_before = 0.0
        for axes, target, factor in plans:
            sums = _sum_onto(table, axes).reshape(target.shape)
            worst_before = max(worst_before, float(np.abs(sums - target).max(initial=0.0)))
            factor.fill(0.0)
            np.divide(target, sums, out=factor, where=sums > 0)
            table *= factor
        # The errors seen just before each update, extrapolated one sweep at their current
        # rate, estimate the errors of the table now. Only when that estimate is within the
        # threshold (or after the first or the last sweep) are the errors measured exactly,
        # which costs one sweep of sums; convergence is decided on the exact errors alone.
        estimate = worst_before * min(1.0, worst_before / previous) if previous else 0.0
        if iterations in (1, max_iter) or estimate <= threshold:
            errors = _errors(table, marginals)
        previous = worst_before
    errors_by_name = {m.name: e for m, e in zip(marginals, errors, strict=True)}
    return IPFResult(
        table=table,
        converged=max(errors) <= threshold,
        iterations=iterations,
        max_error=max(errors),
        errors=errors_by_name,
        threshold=threshold,
        marginals=tuple(marginals),
    )


def _plan(m: Marginal, shape: tuple[int, ...]):
    """(sorted axes, target broadcast to the table, factor buffer) for one marginal."""
    bshape = tuple(n if a in m.axes else 1 for a, n in enumerate(shape))
    return m.axes, m.target.reshape(bshape), np.empty(bshape)


def _sum_onto(table: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``table`` summed over every axis not in (sorted) ``axes``; shape of the kept axes.

    Runs of consecutive kept or summed axes are merged first (a free reshape of the
    C-contiguous table), then the summed runs are reduced one at a time, largest first. This
    is several times faster than one ``table.sum(axis=tuple)`` when inner axes are kept, and
    the summation order depends only on the shape, never on the memory layout of the input.
    """
    sizes: list[int] = []
    summed: list[bool] = []
    for a, n in enumerate(table.shape):
        if sizes and summed[-1] == (a not in axes):
            sizes[-1] *= n
        else:
            sizes.append(n)
            summed.append(a not in axes)
    out = table.reshape(sizes)
    alive = list(range(len(sizes)))
    for block in sorted((i for i in alive if summed[i]), key=lambda i: -sizes[i]):
        out = out.sum(axis=alive.index(block))
        alive.remove(block)
    return out.reshape(tuple(table.shape[a] for a in axes))


def _errors(table: np.ndarray, marginals: list[Marginal]) -> list[float]:
    """Largest absolute error of each marginal in ``table``, in counts."""
    return [float(np.abs(_sum_onto(table, m.axes) - m.target).max(initial=0.0)) for m in marginals]


# --------------------------------------------------------------------------- validation


class _Namer:
    """Formats cells for messages: index tuples, plus category labels for tidy frames."""

    def __init__(self, labels) -> None:
        self.labels = labels

    def cell(self, axes: Sequence[int], index: Sequence[int]) -> str:
        index = tuple(int(i) for i in index)
        text = f"cell {index}"
        if self.labels is not None:
            names, categories = self.labels
            pairs = (
                f"{names[a]}={_fmt(categories[a][i])}" for a, i in zip(axes, index, strict=True)
            )
            text += f" ({', '.join(pairs)})"
        return text


def _check_values(values: np.ndarray, what: str, axes: Sequence[int], namer: _Namer) -> None:
    """Raise if ``values`` (axes ``axes`` of the seed) has a non-finite or negative entry."""
    for bad, kind in ((~np.isfinite(values), "non-finite"), (values < 0, "negative")):
        if bad.any():
            index = np.unravel_index(int(np.argmax(bad)), values.shape)
            raise CalibrationError(
                f"{what} has a {kind} value {float(values[index])!r} at {namer.cell(axes, index)}."
            )


def _resolve(marginals: list, shape: tuple[int, ...], namer: _Namer) -> list[Marginal]:
    """Check each marginal against the seed and give every one a unique name."""
    if not marginals:
        raise CalibrationError("No marginals given: ipf needs at least one Marginal.")
    resolved, names = [], set()
    for k, m in enumerate(marginals):
        if not isinstance(m, Marginal):
            raise CalibrationError(f"marginal {k} must be a Marginal, got {type(m).__name__}.")
        name = m.name or f"marginal {k}"
        if name in names:
            name = f"{name} (marginal {k})"
        names.add(name)
        given = m._given_axes
        if any(not 0 <= a < len(shape) for a in given):
            raise CalibrationError(
                f"marginal {name!r}: axes {given} out of range for a seed with "
                f"{len(shape)} axes (0 to {len(shape) - 1})."
            )
        expected = tuple(shape[a] for a in given)
        target = m._given_target()
        if target.shape != expected:
            raise CalibrationError(
                f"marginal {name!r}: target shape {target.shape} does not match the seed's "
                f"axis lengths {expected} for axes {given}."
            )
        _check_values(target, f"marginal {name!r} target", given, namer)
        resolved.append(m if m.name == name else replace(m, name=name))
    return resolved


def _check_shared(a: Marginal, b: Marginal, total: float, namer: _Namer) -> None:
    """Raise if ``a`` and ``b`` disagree on their sums onto their shared axes."""
    shared = tuple(x for x in a.axes if x in b.axes)
    if not shared:
        return  # their grand totals were compared already
    sa = a.target.sum(axis=tuple(i for i, x in enumerate(a.axes) if x not in shared))
    sb = b.target.sum(axis=tuple(i for i, x in enumerate(b.axes) if x not in shared))
    bad = np.abs(sa - sb) > _RTOL * total
    if bad.any():
        index = np.unravel_index(int(np.argmax(bad)), bad.shape)
        raise CalibrationError(
            f"Marginals {a.name!r} and {b.name!r} disagree on shared axes {shared}: at "
            f"{namer.cell(shared, index)} {a.name!r} sums to {float(sa[index])!r} and {b.name!r} "
            f"to {float(sb[index])!r}."
        )


def _check_support(m: Marginal, seed_sum: np.ndarray, namer: _Namer) -> None:
    """Raise if a positive target cell of ``m`` covers only zero seed cells."""
    order = [m.axes.index(a) for a in m._given_axes]
    bad = (m.target > 0) & (seed_sum == 0)
    if bad.any():
        bad = bad.transpose(order) if order else bad
        index = np.unravel_index(int(np.argmax(bad)), bad.shape)
        value = float(m._given_target()[index])
        raise CalibrationError(
            f"marginal {m.name!r}: target {value!r} at {namer.cell(m._given_axes, index)} "
            "is positive but every seed cell it covers is zero."
        )


# --------------------------------------------------------------------------- tidy frames


def _fmt(value) -> str:
    """A category label for messages (numpy scalars shown as plain Python values)."""
    return repr(value.item() if isinstance(value, np.generic) else value)
