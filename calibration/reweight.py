"""Reweighting seed microdata to marginal totals by raking / IPU.

Iterative proportional updating (IPU; X. Ye, K. Konduri, R. M. Pendyala, B. Sana and
P. Waddell, "A methodology to match distributions of both household and person attributes in
the generation of synthetic populations", 88th Annual Meeting of the Transportation Research
Board, 2009) adjusts one weight per record (usually per household) so that weighted columns
reach their targets, where a column may count households (0/1) or the persons of each
household in a category (0, 1, 2, ...). With 0/1 columns at one level it is plain raking
(iterative proportional fitting of a list, Deming and Stephan 1940).

Each sweep visits the controls in order; for control ``j`` with current weighted sum
``s = sum_i col_ij * w_i``, every record with ``col_ij > 0`` has its weight multiplied by
``target_j / s``. The sweeps repeat until every control is within ``tol`` relatively.

IPU is a heuristic: with person-level counts it can cycle without reaching targets that
some positive weights do reach (for instance, when every person-level control covers every
household, a uniform start stays uniform). ``method="entropy"`` replaces each update by the
exact entropy projection, ``w_i *= exp(lam * col_ij)`` with ``lam`` solved by Newton so the
control is met; for a control whose values are all equal this is the IPU update. The sweeps
are then cyclic Bregman projections (L. M. Bregman, USSR Comput. Math. Math. Phys. 7 (1967)
200-217), which converge whenever the targets are reachable with weights positive where the
initial weights are, to the raking calibration weights of J.-C. Deville and C.-E. Saerndal,
"Calibration estimators in survey sampling", JASA 87 (1992) 376-382: the weights closest to
the initial ones in Kullback-Leibler divergence.

Array layout of the kernel
--------------------------
The controls are stored column-compressed (CSC-like): control ``j`` owns the slice
``indptr[j]:indptr[j + 1]`` of ``indices`` (int64, ascending record positions with
``col_ij > 0``) and ``values`` (float64, those ``col_ij``). ``targets`` is float64
``(n_controls,)``; ``weights`` float64 ``(n_records,)`` is updated in place; ``low`` and
``high`` are the per-record weight bounds (float64 ``(n_records,)``, used when ``bounded``);
``kinds`` (int64 ``(n_controls,)``) selects each control's update (see ``_update``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numba as nb
import numpy as np
import pandas as pd

from simulations.errors import CalibrationError, ConfigError
from simulations.params import Interval, Options, Param, validate_value

__all__ = ["Control", "ReweightResult", "reweight"]

_MAX_ITER = Param("int", Interval(int, 1, None), doc="maximum number of sweeps")
_METHOD = Param("str", Options(["ipu", "entropy"]), doc="update rule")
_TOL = Param("float", Interval(float, 0.0, None, closed="neither"), doc="relative tolerance")
_MAX_LEVEL = 64  # integer-valued controls up to this value get the per-value exact update
_TOTAL_RTOL = 1e-9  # margins of one level must agree on their total to this relative precision


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _show(values: object, limit: int = 5) -> str:
    """A short list of offending values for a one-line message."""
    values = list(values)
    more = f" (and {len(values) - limit} more)" if len(values) > limit else ""
    return f"{[_plain(v) for v in values[:limit]]!r}{more}"


def _pairs(keys: object, values: object) -> str:
    """Offending category -> target pairs for a one-line message."""
    return repr({_plain(k): _plain(v) for k, v in zip(keys, values, strict=True)})


def _param(owner: str, name: str, spec: Param, value: object) -> object:
    """Validate one parameter, raising :class:`CalibrationError` in the sklearn style."""
    if isinstance(value, np.integer):
        value = int(value)
    elif isinstance(value, np.floating):
        value = float(value)
    try:
        return validate_value(owner, name, spec, value)
    except ConfigError as exc:
        raise CalibrationError(str(exc)) from None


@dataclass(frozen=True, eq=False)
class Control:
    """One marginal total the weighted records must reach.

    Parameters
    ----------
    name : str
        Label used in messages and reports, e.g. ``"age_band=18-24 (persons)"``.
    column : array_like of float, shape (n_records,)
        What each record contributes to the control (count): 0/1 for a category at the
        records' own level; the number of the household's persons in the category for a
        person-level control on household records. Finite and non-negative; stored as
        float64.
    target : float
        The total (count) the weighted column must reach; finite and non-negative.

    Notes
    -----
    Controls compare by identity (``eq=False``): their columns are arrays.
    """

    name: str
    column: np.ndarray
    target: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise CalibrationError(f"Control names must be str. Got {self.name!r} instead.")
        column = np.asarray(self.column, dtype=np.float64)
        if column.ndim != 1:
            raise CalibrationError(
                f"Control {self.name!r} needs a 1-d column. Got shape {column.shape} instead."
            )
        bad = ~np.isfinite(column) | (column < 0)
        if bad.any():
            raise CalibrationError(
                f"Control {self.name!r} has negative or non-finite column values "
                f"{_show(column[bad])} at records {_show(np.flatnonzero(bad))}."
            )
        target = float(self.target)
        if not np.isfinite(target) or target < 0:
            raise CalibrationError(
                f"Control {self.name!r} needs a finite target >= 0. Got {self.target!r} instead."
            )
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "target", target)


@dataclass(frozen=True, eq=False)
class ReweightResult:
    """The outcome of :func:`reweight`.

    Attributes
    ----------
    weights : numpy.ndarray
        float64 ``(n_records,)``: the fitted weight of each record (records represented).
    converged : bool
        True when every control is within ``tol`` relatively:
        ``|achieved - target| / max(target, 1) <= tol``.
    iterations : int
        Number of sweeps over all controls that were run.
    max_error : float
        Largest ``|achieved - target|`` over the controls, in counts.
    max_rel_error : float
        Largest ``|achieved - target| / max(target, 1)`` over the controls.
    names : tuple of str
        Control names, in the order given.
    targets, achieved : numpy.ndarray
        float64 ``(n_controls,)``: each control's target and weighted total (counts).
    """

    weights: np.ndarray
    converged: bool
    iterations: int
    max_error: float
    max_rel_error: float
    names: tuple[str, ...]
    targets: np.ndarray
    achieved: np.ndarray

    def report(self) -> pd.DataFrame:
        """Per-control fit: ``name``, ``target``, ``achieved``, ``abs_error`` (counts) and
        ``rel_error`` (``abs_error / max(target, 1)``), one row per control in order."""
        abs_error = np.abs(self.achieved - self.targets)
        return pd.DataFrame(
            {
                "name": list(self.names),
                "target": self.targets,
                "achieved": self.achieved,
                "abs_error": abs_error,
                "rel_error": abs_error / np.maximum(self.targets, 1.0),
            }
        )


@nb.njit(cache=True)
def _achieved(indptr, indices, values, weights):
    """Weighted total of every control (float64 ``(n_controls,)``)."""
    out = np.zeros(indptr.shape[0] - 1)
    for j in range(out.shape[0]):
        s = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            s += values[k] * weights[indices[k]]
        out[j] = s
    return out


@nb.njit(cache=True)
def _tilt(levels, masses, target):
    """The ``lam`` with ``sum_l levels_l * masses_l * exp(lam * levels_l) = target`` (> 0).

    Newton on the log of the sum, which is convex and increasing in ``lam``: the iterates
    reach the root monotonically after at most one overshoot.
    """
    lam = 0.0
    for _ in range(100):
        total = 0.0
        slope = 0.0
        for m in range(levels.shape[0]):
            term = levels[m] * masses[m] * np.exp(lam * levels[m])
            total += term
            slope += levels[m] * term
        step = (np.log(total) - np.log(target)) * total / slope
        if not np.isfinite(step):  # the sum under- or overflowed: keep the last finite lam
            break
        lam -= step
        if abs(step) <= 1e-15 * max(1.0, abs(lam)):
            break
    return lam


@nb.njit(cache=True)
def _update(start, stop, indices, values, target, s, kind, weights, low, high, bounded):
    """Scale the weights of one control's records so that it reaches ``target``.

    ``kind`` 0: every weight times ``target / s`` (IPU, and the exact update too when the
    control's values are all equal). Otherwise the exact (entropy) update, every weight
    times ``exp(lam * value)``: ``kind`` -1 for arbitrary values, ``kind`` = t > 0 when the
    values are integers in ``[0, t]`` (Newton then runs on per-value sums).
    """
    if kind == 0 or target == 0.0:
        factor = target / s
        for k in range(start, stop):
            i = indices[k]
            w = weights[i] * factor
            weights[i] = min(max(w, low[i]), high[i]) if bounded else w
        return
    if kind > 0:
        slot = values[start:stop].astype(np.int64)
        masses = np.zeros(kind + 1)
        for k in range(start, stop):
            masses[slot[k - start]] += weights[indices[k]]
        levels = np.arange(kind + 1).astype(np.float64)
        table = np.exp(_tilt(levels, masses, target) * levels)
    else:
        lam = _tilt(values[start:stop], weights[indices[start:stop]], target)
        table = np.exp(lam * values[start:stop])
        slot = np.arange(stop - start)
    for k in range(start, stop):
        i = indices[k]
        w = weights[i] * table[slot[k - start]]
        weights[i] = min(max(w, low[i]), high[i]) if bounded else w


@nb.njit(cache=True)
def _sweeps(indptr, indices, values, targets, kinds, weights, low, high, bounded, tol, max_iter):
    """Run sweeps on ``weights`` in place until converged; return (sweeps run, converged)."""
    for sweep in range(1, max_iter + 1):
        for j in range(targets.shape[0]):
            start, stop = indptr[j], indptr[j + 1]
            s = 0.0
            for k in range(start, stop):
                s += values[k] * weights[indices[k]]
            if s > 0.0 and s != targets[j]:  # s == 0: target 0 already met, or unreachable
                _update(start, stop, indices, values, targets[j], s, kinds[j], weights, low,
                        high, bounded)  # fmt: skip
        achieved = _achieved(indptr, indices, values, weights)
        worst = 0.0
        for j in range(targets.shape[0]):
            worst = max(worst, abs(achieved[j] - targets[j]) / max(targets[j], 1.0))
        if worst <= tol:
            return sweep, True
    return max_iter, False


def _kind(values: np.ndarray, method: str) -> int:
    """The update kind of one control (see :func:`_update`) from its positive values."""
    if method == "ipu" or values.size == 0 or values.min() == values.max():
        return 0
    top = values.max()
    if top <= _MAX_LEVEL and np.array_equal(values, np.floor(values)):
        return int(top)
    return -1


def _initial_weights(initial_weights: object, n: int) -> np.ndarray:
    if initial_weights is None:
        return np.ones(n)
    w0 = np.array(initial_weights, dtype=np.float64)  # a copy: updated in place
    if w0.shape != (n,):
        raise CalibrationError(
            f"The 'initial_weights' parameter of reweight must have shape ({n},), one weight "
            f"per record. Got shape {w0.shape} instead."
        )
    bad = ~np.isfinite(w0) | (w0 < 0)
    if bad.any():
        raise CalibrationError(
            f"The 'initial_weights' parameter of reweight must be finite and >= 0. Got "
            f"{_show(w0[bad])} at records {_show(np.flatnonzero(bad))} instead."
        )
    return w0


def _bounds(bounds: object) -> tuple[float, float] | None:
    if bounds is None:
        return None
    try:
        low, high = (float(b) for b in bounds)  # type: ignore[union-attr]
        ok = np.isfinite(low) and 0.0 <= low <= high and high > 0.0 and not np.isnan(high)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise CalibrationError(
            "The 'bounds' parameter of reweight must be None or a (low, high) pair of "
            f"weight ratios with 0 <= low <= high and high > 0. Got {bounds!r} instead."
        )
    return low, high


def _check_reachable(controls: Sequence[Control], w0: np.ndarray, zero_forced: bool) -> None:
    """Raise if a positive target has no record able to carry weight to it."""
    live = w0 > 0
    zero_names = [c.name for c in controls if c.target == 0 and (c.column[live] > 0).any()]
    if zero_forced and zero_names:
        for control in controls:
            if control.target == 0:
                live &= control.column == 0
    dead = [c for c in controls if c.target > 0 and not (c.column[live] > 0).any()]
    if dead:
        listed = ", ".join(f"{c.name!r} (target {c.target:g})" for c in dead[:5])
        why = "has a positive initial weight"
        if zero_forced and zero_names:
            why += f" and is outside the zero-target controls {_show(zero_names)}"
        raise CalibrationError(
            f"Unreachable targets: {listed}; no record that {why} contributes to them."
        )


def reweight(
    controls: Sequence[Control],
    initial_weights: object = None,
    *,
    bounds: tuple[float, float] | None = None,
    tol: float = 1e-6,
    max_iter: int = 1000,
    method: str = "ipu",
) -> ReweightResult:
    """Fit record weights to marginal totals by IPU (raking for 0/1 columns at one level).

    Parameters
    ----------
    controls : sequence of Control
        The totals to reach, visited in this order each sweep (Ye et al. put household
        controls before person controls). Columns all have length ``n_records``; names are
        unique.
    initial_weights : array_like of float, shape (n_records,), optional
        Starting weights (records represented), finite and >= 0; default all ones. A record
        with initial weight 0 keeps weight 0.
    bounds : (float, float), optional
        Multiplicative bounds ``(low, high)`` on each final weight relative to its initial
        weight: after every control update ``w_i / w0_i`` is clipped into ``[low, high]``
        (``high`` may be ``inf``). Bounded problems may have no solution, or IPU may cycle
        without reaching one; the result then says ``converged=False`` and reports the
        remaining errors.
    tol : float, default 1e-6
        Convergence tolerance on ``|achieved - target| / max(target, 1)`` for every control.
    max_iter : int, default 1000
        Maximum number of sweeps over all controls.
    method : {"ipu", "entropy"}, default "ipu"
        ``"ipu"``: every contributing weight times ``target / s`` (Ye et al. 2009).
        ``"entropy"``: the exact entropy projection ``w_i *= exp(lam * col_ij)``; identical
        to IPU for 0/1 columns, and without bounds it converges whenever positive weights
        reach the targets, where IPU may cycle on person-level counts (see the module
        notes). Slower per sweep on count columns (a Newton solve per control update).

    Returns
    -------
    ReweightResult
        Weights, convergence flag, sweeps run and per-control errors. Deterministic.

    Raises
    ------
    CalibrationError
        For invalid parameters, columns of different lengths, repeated names, or a positive
        target that no record can reach (every contributing record has initial weight 0 or
        is forced to 0 by a zero-target control).
    """
    max_iter = _param("reweight", "max_iter", _MAX_ITER, max_iter)
    method = _param("reweight", "method", _METHOD, method)
    tol = _param("reweight", "tol", _TOL, tol)
    controls = list(controls) if not isinstance(controls, Control) else [controls]
    if not controls or not all(isinstance(c, Control) for c in controls):
        raise CalibrationError(
            "The 'controls' parameter of reweight must be a non-empty sequence of Control. "
            f"Got {[type(c).__name__ for c in controls]!r} instead."
        )
    names = [c.name for c in controls]
    repeated = sorted(name for name, times in Counter(names).items() if times > 1)
    if repeated:
        raise CalibrationError(f"Control names must be unique; repeated: {_show(repeated)}.")
    n = controls[0].column.shape[0]
    for control in controls[1:]:
        if control.column.shape[0] != n:
            raise CalibrationError(
                f"Control {control.name!r} has {control.column.shape[0]} records but control "
                f"{controls[0].name!r} has {n}; every column must cover the same records."
            )
    w0 = _initial_weights(initial_weights, n)
    limits = _bounds(bounds)
    _check_reachable(controls, w0, zero_forced=limits is None or limits[0] == 0.0)

    indices = [np.flatnonzero(c.column > 0) for c in controls]
    indptr = np.zeros(len(controls) + 1, dtype=np.int64)
    np.cumsum([len(i) for i in indices], out=indptr[1:])
    flat_indices = np.concatenate(indices).astype(np.int64, copy=False)
    values = np.concatenate([c.column[i] for c, i in zip(controls, indices, strict=True)])
    targets = np.array([c.target for c in controls], dtype=np.float64)

    weights = w0.copy()
    if limits is None:
        low = high = np.empty(0)
    else:
        low = limits[0] * w0
        high = np.where(w0 > 0, limits[1] * w0, 0.0)  # avoids inf * 0
    kinds = np.array(
        [_kind(values[indptr[j] : indptr[j + 1]], method) for j in range(len(targets))]
    )
    iterations, converged = _sweeps(
        indptr, flat_indices, values, targets, kinds, weights, low, high, limits is not None,
        tol, max_iter,
    )  # fmt: skip
    achieved = _achieved(indptr, flat_indices, values, weights)
    abs_error = np.abs(achieved - targets)
    return ReweightResult(
        weights=weights,
        converged=bool(converged),
        iterations=int(iterations),
        max_error=float(abs_error.max()),
        max_rel_error=float((abs_error / np.maximum(targets, 1.0)).max()),
        names=tuple(names),
        targets=targets,
        achieved=achieved,
    )
