"""Rich progress bars with rows/s and ETA for every long-running step; silent when asked."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)


class RateColumn(ProgressColumn):
    """Items per second, e.g. ``152,301 rows/s``."""

    def __init__(self, unit: str = "rows"):
        super().__init__()
        self.unit = unit

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else f"- {self.unit}/s", style="cyan")


class RowProgress:
    """A context-managed progress bar. ``quiet=True`` (tests, library use) renders nothing."""

    def __init__(self, description: str, total: int | None = None, *, unit: str = "rows", quiet: bool = False,
                 completed: int = 0, extra: str = ""):
        self.quiet = quiet
        self._progress = None
        if not quiet:
            self._progress = Progress(
                SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                RateColumn(unit), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                TextColumn("{task.fields[extra]}"), console=console, transient=False,
            )
            self._task = self._progress.add_task(description, total=total, completed=completed, extra=extra)

    def __enter__(self) -> "RowProgress":
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if self._progress is not None:
            if exc_type is not None:  # the error is the one line left: no half-done bar above it
                self._progress.live.transient = True
            self._progress.stop()

    def total(self, total: int | None) -> None:
        """Set the total once it is known (a file's row count comes from its footer)."""
        if self._progress is not None:
            self._progress.update(self._task, total=total)

    def counted(self, batches):
        """Pass record batches through, advancing by their rows."""
        for batch in batches:
            self.advance(batch.num_rows)
            yield batch

    def advance(self, n: int = 1, extra: str | None = None) -> None:
        if self._progress is not None:
            fields = {} if extra is None else {"extra": extra}
            self._progress.update(self._task, advance=n, **fields)
