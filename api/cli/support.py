"""What every CLI sub-app shares: the consoles and the one error wrapper."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from raregraph.api.errors import describe_error

if TYPE_CHECKING:
    from raregraph.settings import Settings
    from raregraph.etl.snapshot import Snapshot

__all__ = ["err_console", "out_console", "guard", "progress", "encode_progress", "open_snapshot"]

T = TypeVar("T")
err_console = Console(stderr=True)
out_console = Console()
log = logging.getLogger("raregraph")


def guard(fn: Callable[[], T]) -> T:
    """Run `fn`; our errors become a one-line message on stderr and their mapped exit code."""
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - mapped below, anything unmapped re-raised
        info = describe_error(err)
        if info is None:
            raise
        err_console.print(f"[bold red]error[/]: {escape(info.message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(info.exit_code) from None


@contextmanager
def progress() -> Iterator[Callable[[str], None]]:
    """A step reporter: a spinner on a terminal, log lines elsewhere."""
    if not err_console.is_terminal:
        yield lambda message: log.info(message)
        return
    with err_console.status("starting") as status:
        def update(message: str) -> None:
            status.update(message)
            err_console.log(message)
        yield update


@contextmanager
def encode_progress(what: str = "embedding index: encoding HPO names") -> Iterator[Callable[[int, int], None]]:
    """A `(done, total)` reporter for a long build: a bar with rate and time left on a terminal, log lines elsewhere."""
    if not err_console.is_terminal:
        def log_step(done: int, total: int) -> None:
            log.info("%s: %d/%d", what, done, total)
        yield log_step
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("left"), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
        yield update


def open_snapshot(settings: "Settings", ref: str) -> "Snapshot":
    """A snapshot given as a folder or as an id under the snapshot folder."""
    from raregraph.errors import SnapshotNotFoundError
    from raregraph.etl.snapshot import Snapshot

    path = Path(ref)
    if not path.is_dir():
        path = settings.snapshot_dir / ref
    if not path.is_dir():
        raise SnapshotNotFoundError(f"snapshot {ref!r} not found (neither a folder nor an id under {settings.snapshot_dir})")
    return Snapshot.open(path)
