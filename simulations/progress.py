"""A progress bar with rate and ETA for long runs (rich), silent when asked."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["progress_bar"]


class _RateColumn(TextColumn):
    """Units per second, e.g. '1.2M customer-days/s'."""

    def __init__(self, unit: str) -> None:
        super().__init__("")
        self.unit = unit

    def render(self, task):  # type: ignore[override]
        # rich estimates speed from several updates; a shard reporting once has none yet.
        average = task.completed / task.elapsed if task.elapsed else 0.0
        speed = task.finished_speed or task.speed or average
        for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, "")):
            if speed >= scale:
                return f"{speed / scale:.1f}{suffix} {self.unit}/s"
        return f"{speed:.2f} {self.unit}/s"


@contextmanager
def progress_bar(
    description: str, total: int, unit: str, enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """Show a bar for ``total`` units; yields ``advance(n)``.

    Drawn on standard error, so piped standard output stays clean; when disabled,
    ``advance`` does nothing.
    """
    if not enabled:
        yield lambda n: None
        return
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
        MofNCompleteColumn(), _RateColumn(unit), TimeElapsedColumn(), TextColumn("ETA"),
        TimeRemainingColumn(),
    )  # fmt: skip
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
