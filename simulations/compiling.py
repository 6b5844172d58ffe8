"""Whether Numba kernels are already compiled: their on-disk cache, read without compiling.

A kernel declared ``@numba.njit(cache=True)`` compiles on its first call and saves the
machine code under ``__pycache__`` beside its module (or under ``NUMBA_CACHE_DIR``, or a
user-wide folder when that one is read-only): one index file (``*.nbi``) per function,
stamped with the source file's modification time and size and the Numba version. Later
runs load it instead of compiling. This module reads those indexes through the function's
own cache locator, so it looks where Numba will look and ignores stale files left by an
older source (index names carry the function's line number).

A module counts as compiled when at least one of its cached functions has a current index:
functions a run never calls (helpers of another engine) never get one, and a source edit
or a Numba upgrade invalidates the whole file at once.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence

__all__ = ["cached_functions", "is_compiled", "cold_modules", "compile_seconds",
           "COMPILING_MESSAGE"]

COMPILING_MESSAGE = "compiling kernels, first run only"
"""What ``synthsim run`` prints on stderr when a scenario's kernels are not cached yet."""


def cached_functions(module_name: str) -> list:
    """The ``cache=True`` Numba dispatchers defined in module ``module_name`` (imported, not
    compiled), sorted by name."""
    module = importlib.import_module(module_name)
    found = []
    for name in sorted(vars(module)):
        value = vars(module)[name]
        cache = getattr(value, "_cache", None)
        py_func = getattr(value, "py_func", None)
        if (cache is not None and py_func is not None and hasattr(cache, "_cache_file")
                and py_func.__module__ == module_name):  # fmt: skip
            found.append(value)
    return found


def is_compiled(dispatcher) -> bool:
    """Whether Numba's cache holds a current index (this source, this Numba) for
    ``dispatcher``; reads one small file, compiles nothing."""
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:  # Numba internals moved, or an unreadable cache: assume compiled
        return True


def cold_modules(module_names: Iterable[str]) -> list[str]:
    """The modules among ``module_names`` whose cached kernels will compile on first use:
    modules with cached functions none of which has a current index."""
    cold = []
    for name in module_names:
        functions = cached_functions(name)
        if functions and not any(is_compiled(f) for f in functions):
            cold.append(name)
    return cold


_TINY_RUN = """import sys
from simulations.runner import run
from simulations.scenario import get_scenario
scenario = get_scenario(sys.argv[1])
run(scenario, scenario.resolve_config(overrides=sys.argv[3:]), sys.argv[2], progress=False)
"""


def compile_seconds(scenario: str, overrides: Sequence[str] = ()) -> tuple[float, float]:
    """Wall seconds of a small run of ``scenario`` (config ``overrides``) in a fresh process
    whose Numba cache (``NUMBA_CACHE_DIR``) starts empty, then of the same run in another
    process reading the cache the first left. The difference is what compiling the kernels
    costs a first run; imports and the simulation itself count in both."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        seconds = []
        for attempt in ("cold", "warm"):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", _TINY_RUN, scenario,
                            os.path.join(out, attempt), *overrides], env=env,
                           check=True)  # fmt: skip
            seconds.append(time.perf_counter() - started)
    return seconds[0], seconds[1]
