"""Where shards and runs execute: local processes (the default) or a Dask cluster.

Both backends are used through :class:`concurrent.futures.Executor` (Dask's through
``Client.get_executor``), so callers submit plain picklable functions and collect results in
their own order; what a task computes never depends on where it ran, so the output is the
same whatever the backend or the number of workers.

``scheduler``: None for local processes; ``"local"`` starts a Dask ``LocalCluster`` of
``workers`` single-threaded worker processes for the duration; any other value is the
address of a running scheduler (``tcp://host:8786``), whose workers must see the output
folder (a shared file system) and have this package installed.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from simulations.errors import ConfigError

__all__ = ["check_scheduler", "executor"]


def check_scheduler(scheduler: str | None) -> str | None:
    """``scheduler`` if valid (None, ``"local"`` or an address), else a ValueError."""
    if scheduler is None or scheduler == "local" or (isinstance(scheduler, str) and scheduler):
        return scheduler
    raise ValueError("The 'scheduler' parameter must be None, 'local' or a scheduler address "
                     f"such as 'tcp://host:8786'. Got {scheduler!r} instead.")  # fmt: skip


@contextmanager
def executor(workers: int = 1, scheduler: str | None = None) -> Iterator[Executor]:
    """An executor of ``workers`` local processes (spawned: no state inherited), or of a Dask
    cluster (see the module docstring); closed, and a started cluster stopped, on exit."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"The 'workers' parameter must be an int in the range [1, inf). "
                         f"Got {workers!r} instead.")  # fmt: skip
    if check_scheduler(scheduler) is None:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            yield pool
        return
    from dask.distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)  # fmt: skip
        with cluster, Client(cluster) as client:
            yield client.get_executor(pure=False)
    else:
        try:
            client = Client(scheduler)
        except (OSError, ValueError) as error:  # unreachable, or not an address
            message = (f"Cannot use the Dask scheduler {scheduler!r}: {error}. Start one with "
                       "'dask scheduler', or pass --scheduler local.")  # fmt: skip
            raise ConfigError(message) from error
        with client:
            yield client.get_executor(pure=False)
