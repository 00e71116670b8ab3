"""`raregraph kg ...`: load snapshots into the graph database, list, drop and inspect them.

Connection settings come from `Settings` (RAREGRAPH_NEO4J_URI, _USER, _PASSWORD, _DATABASE).
A load is safe to interrupt and re-run; readers only ever see a complete, active snapshot
(see `raregraph.kg.neo4j_load`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from raregraph.api.cli.support import guard, open_snapshot
from raregraph.settings import Settings

if TYPE_CHECKING:
    import neo4j


__all__ = ["app"]


app = typer.Typer(
    help="Load snapshots into the Neo4j knowledge graph, list, drop and inspect them.",
    no_args_is_help=True,
    add_completion=False,
)
_err = Console(stderr=True, highlight=False, soft_wrap=True)
_out = Console(highlight=False, soft_wrap=True)

BackendOption = Annotated[
    Literal["neo4j", "embedded"],
    typer.Option("--backend", help="Graph back-end; the embedded one reads snapshots in-process and needs no load."),
]
BatchOption = Annotated[int, typer.Option("--batch-size", min=1, max=200_000, help="Rows per write transaction.")]


def _settings(ctx: typer.Context) -> Settings:
    """The root callback's Settings, or fresh ones when this sub-app runs on its own."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else guard(Settings)




@contextmanager
def _driver(settings: Settings) -> Iterator[neo4j.Driver]:
    from raregraph.kg.neo4j import open_driver

    driver = open_driver(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password.get_secret_value())
    try:
        yield driver
    finally:
        driver.close()




@contextmanager
def _progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A rich progress bar per load step on a terminal; nothing elsewhere."""
    if not _err.is_terminal:
        yield lambda step, done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tasks: dict[str, Any] = {}
    columns = (TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=_err) as bar:
        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total or None)
            bar.update(tasks[step], completed=done, total=total or None)

        yield update


@app.command("load")
def load(
    ctx: typer.Context,
    snapshot: Annotated[str, typer.Argument(help="Snapshot folder, or id under RAREGRAPH_SNAPSHOT_DIR")],
    backend: BackendOption = "neo4j",
    batch_size: BatchOption = 10_000,
    activate: Annotated[bool, typer.Option(help="Make the snapshot the active one once it is loaded.")] = True,
) -> None:
    """Load a snapshot completely, then make it the active one; re-running finishes an interrupted load."""
    settings = _settings(ctx)

    def run() -> None:
        snap = open_snapshot(settings, snapshot)
        if backend == "embedded":
            _err.print(f"the embedded back-end reads snapshot {snap.id} in-process; nothing to load")
            return
        from raregraph.kg.neo4j_load import load_snapshot

        with _driver(settings) as driver, _progress_bar() as progress:
            report = load_snapshot(
                driver, snap, database=settings.neo4j_database, batch_size=batch_size, activate=activate, progress=progress
            )
        if report.steps:
            table = Table(title=f"snapshot {report.snapshot_id} → {settings.neo4j_uri}")
            for column in ("step", "rows", "created", "skipped"):
                table.add_column(column, justify="left" if column == "step" else "right")
            for step, counts in report.steps.items():
                table.add_row(step, f"{counts.rows:,}", f"{counts.created:,}", f"{counts.skipped:,}")
            _err.print(table)
        state = "active" if report.active else "not active"
        _err.print(
            f"{report.status}: {report.nodes:,} nodes, {report.relationships:,} relationships"
            f" in {report.seconds:.1f} s; {state}"
        )
        sys.stdout.write(f"{report.snapshot_id}\n")

    guard(run)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Snapshots in the database, newest first (state, active, counts)."""
    settings = _settings(ctx)

    def run() -> None:
        from raregraph.kg.neo4j_load import list_snapshots

        with _driver(settings) as driver:
            infos = list_snapshots(driver, database=settings.neo4j_database)
        header = ("id", "state", "active", "loaded", "nodes", "relationships", "load_s")
        rows = [
            (
                info.id, info.state, "*" if info.active else "", info.loaded_at or "-",
                f"{info.nodes:,}" if info.nodes is not None else "-",
                f"{info.relationships:,}" if info.relationships is not None else "-",
                f"{info.load_seconds:.1f}" if info.load_seconds is not None else "-",
            )
            for info in infos
        ]
        if not _out.is_terminal:  # one tab-separated line per snapshot, for scripts
            sys.stdout.write("".join("\t".join(row) + "\n" for row in (header, *rows)))
            return
        table = Table(title=f"snapshots in {settings.neo4j_uri} ({settings.neo4j_database})")
        for column in header:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        _out.print(table)

    guard(run)


@app.command("drop")
def drop(
    ctx: typer.Context,
    snapshot_id: Annotated[str, typer.Argument(help="Id of a snapshot in the database (see 'raregraph kg list')")],
    force: Annotated[bool, typer.Option("--force", help="Drop it even if it is the active snapshot.")] = False,
    batch_size: BatchOption = 10_000,
) -> None:
    """Delete a snapshot from the database in batches (readers stop seeing it at once)."""
    settings = _settings(ctx)

    def run() -> None:
        from raregraph.kg.neo4j_load import drop_snapshot

        with _driver(settings) as driver, _progress_bar() as progress:
            deleted = drop_snapshot(
                driver, snapshot_id, database=settings.neo4j_database, force=force, batch_size=batch_size, progress=progress
            )
        _err.print(f"dropped snapshot {snapshot_id} ({deleted:,} nodes)")

    guard(run)


@app.command("status")
def status(ctx: typer.Context) -> None:
    """The server (version, edition), the database and its active snapshot; exit code 5 when unreachable."""
    settings = _settings(ctx)

    def run() -> None:
        from raregraph.kg.neo4j_load import list_snapshots, server_info

        with _driver(settings) as driver:
            server = server_info(driver, database=settings.neo4j_database)
            infos = list_snapshots(driver, database=settings.neo4j_database)
        active = next((i for i in infos if i.active and i.state == "complete"), None)
        _out.print(f"server: {escape(settings.neo4j_uri)} ({server['name']} {server['version']}, {server['edition']})")
        _out.print(f"database: {escape(settings.neo4j_database)}")
        _out.print(f"snapshots: {len(infos)} ({sum(i.state == 'complete' for i in infos)} complete)")
        if active is None:
            _out.print("active snapshot: none (load one with 'raregraph kg load SNAPSHOT')")
        else:
            _out.print(
                f"active snapshot: {active.id} ({active.nodes or 0:,} nodes, {active.relationships or 0:,} relationships,"
                f" activated {active.activated_at})"
            )

    guard(run)
