"""Benchmark of calibration: synthsim's IPF against ipfn and humanleague, and reweighting.

Run: ``pip install -e ".[bench]" && python benchmarks/bench_calibration.py``. Prints, from
one run and for each problem, every library's time and achieved max marginal error (in
counts, measured here the same way for all), and the speed ratios. Problems:

1. a dense 4-D table of 250,000 cells with all six 2-D marginals;
2. a dense 6-D table of 1,000,000 cells with five 2-D marginals (a chain of axis pairs);
3. reweighting 1,000,000 records to 30 controls (5 variables x 6 categories).

Targets are the marginals of a random "true" table; the seed is another random table.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from calibration.ipf import Marginal, ipf
from calibration.reweight import Control, reweight

TOL = 1e-6  # relative to the table total, for every library as far as its API allows
TARGET_SPEEDUP, TARGET_REWEIGHT_SECONDS = 5.0, 2.0


def _problem(shape, pairs, rng):
    truth = rng.lognormal(0.0, 1.0, shape)
    seed = rng.lognormal(0.0, 1.0, shape)
    targets = [truth.sum(axis=tuple(a for a in range(len(shape)) if a not in p)) for p in pairs]
    return seed, targets


def _max_error(table, pairs, targets):
    axes = range(table.ndim)
    return max(np.abs(table.sum(axis=tuple(a for a in axes if a not in p)) - t).max()
               for p, t in zip(pairs, targets, strict=True))  # fmt: skip


def _synthsim(seed, pairs, targets, tol):
    marginals = [Marginal(p, t) for p, t in zip(pairs, targets, strict=True)]
    return ipf(seed, marginals, tol=tol, max_iter=10_000).table


def _ipfn(seed, pairs, targets):
    from ipfn import ipfn

    fitter = ipfn.ipfn(seed.copy(), [t.copy() for t in targets], [list(p) for p in pairs],
                       convergence_rate=TOL, max_iteration=1000)  # fmt: skip
    return fitter.iteration()


def _humanleague(seed, pairs, targets):
    import humanleague

    table, _ = humanleague.ipf(seed, [np.array(p) for p in pairs], targets)
    return table


PEERS = {"ipfn": _ipfn, "humanleague": _humanleague}


def compare(name, shape, pairs, rng):
    """Peers first at their own tolerance; then synthsim asked for an error no larger than
    the most accurate peer's, so the speed comparison is at equal or smaller error."""
    seed, targets = _problem(shape, pairs, rng)
    print(f"{name}: {np.prod(shape):,} cells, {len(pairs)} two-way marginals")
    times, errors = {}, {}
    for library in ("ipfn", "humanleague", "synthsim"):
        if library == "synthsim":
            _synthsim(seed, pairs, targets, TOL)  # warm caches
            tol = min(errors.values()) / targets[0].sum()
        started = time.perf_counter()
        table = _synthsim(seed, pairs, targets, tol) if library == "synthsim" else PEERS[
            library](seed, pairs, targets)  # fmt: skip
        times[library] = time.perf_counter() - started
        errors[library] = _max_error(np.asarray(table), pairs, targets)
        print(f"  {library:12s} {times[library]:8.3f} s   max error {errors[library]:.3g}")
    for peer in ("ipfn", "humanleague"):
        ratio = times[peer] / times["synthsim"]
        print(f"  synthsim is {ratio:,.1f}x faster than {peer} at "
              f"{'equal or smaller' if errors['synthsim'] <= errors[peer] else 'LARGER'} error "
              f"(target >= {TARGET_SPEEDUP}x)")  # fmt: skip


def reweighting(rng, n=1_000_000, variables=5, categories=6):
    codes = rng.integers(0, categories, size=(n, variables))
    truth = rng.lognormal(0.0, 0.5, n)
    controls = [
        Control(f"v{v}={c}", (codes[:, v] == c).astype(np.float64),
                float(truth[codes[:, v] == c].sum()))
        for v, c in itertools.product(range(variables), range(categories))
    ]  # fmt: skip
    reweight(controls[:2], max_iter=2)  # load the compiled kernel
    started = time.perf_counter()
    result = reweight(controls, tol=TOL)
    seconds = time.perf_counter() - started
    print(f"reweighting {n:,} records to {len(controls)} controls: {seconds:.2f} s, "
          f"converged {result.converged}, max error {result.max_error:.3g} "
          f"(target < {TARGET_REWEIGHT_SECONDS} s)")  # fmt: skip


def main() -> None:
    rng = np.random.default_rng(2024)
    compare("4-D", (20, 25, 25, 20), list(itertools.combinations(range(4), 2)), rng)
    compare("6-D", (10,) * 6, [(k, k + 1) for k in range(5)], rng)
    reweighting(rng)


if __name__ == "__main__":
    main()
