"""`raregraph neo4j ...`: start, check and stop a local Neo4j 5.26 server on 127.0.0.1.

The server is the one `raregraph.kg.neo4j_server` builds from Maven Central (Java 17 and Maven
needed, no Docker). Its data, pid file and log live in the data folder (default `.neo4j/`).
Without a password the server runs with auth disabled and accepts any credentials.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from raregraph.api.cli.support import err_console as _err
from raregraph.api.cli.support import guard
from raregraph.kg import neo4j_server

__all__ = ["app"]

app = typer.Typer(
    help="Run a local Neo4j 5.26 Community server (Bolt on 127.0.0.1) for development and tests.",
    no_args_is_help=True,
    add_completion=False,
)

DataDirOption = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        envvar="RAREGRAPH_NEO4J_DATA_DIR",
        help="Folder for the stores, pid file and log.",
        file_okay=False,
    ),
]
PortOption = Annotated[
    int,
    typer.Option("--port", envvar="RAREGRAPH_NEO4J_PORT", min=1, max=65535, help="Bolt port on 127.0.0.1."),
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar=neo4j_server.PASSWORD_ENV,
        show_default=False,
        help="Enable auth with this password for user 'neo4j' (8+ characters); unset or empty: auth disabled.",
    ),
]
TimeoutOption = Annotated[float, typer.Option("--timeout", min=1.0, help="Seconds to wait.")]
HeapOption = Annotated[
    str, typer.Option("--heap", envvar="RAREGRAPH_NEO4J_HEAP", help="JVM heap: 'auto' (1/8 of memory, 512m-8g) or a size (2g).")
]
PageCacheOption = Annotated[
    str,
    typer.Option("--page-cache", envvar="RAREGRAPH_NEO4J_PAGE_CACHE", help="Page cache: 'auto' (1/8 of memory, 256m-16g) or a size."),
]

DEFAULT_DATA_DIR = Path(".neo4j")


@app.command("start")
def start(
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    port: PortOption = neo4j_server.DEFAULT_PORT,
    password: PasswordOption = None,
    timeout: TimeoutOption = 180.0,
    heap: HeapOption = "auto",
    page_cache: PageCacheOption = "auto",
) -> None:
    """Start the server (building the launcher first if needed) and print its Bolt URI once it answers."""
    info = guard(lambda: neo4j_server.start(
        data_dir, port, timeout_s=timeout, password=password or None, heap=heap, page_cache=page_cache,
        detach=True,  # it outlives this command, until `neo4j stop`
    ))
    auth = f"auth enabled, user '{info.user}'" if info.auth_enabled else "auth disabled, any credentials work"
    _err.print(escape(f"Neo4j {neo4j_server.NEO4J_VERSION} running (pid {info.pid}, {auth}); log: {info.log_path}"))
    typer.echo(info.bolt_uri)


@app.command("status")
def status(data_dir: DataDirOption = DEFAULT_DATA_DIR, password: PasswordOption = None) -> None:
    """Print the Bolt URI of the running server, then its heap, page cache and store size; or "not running" (exit 1)."""
    info = guard(lambda: neo4j_server.status(data_dir, password=password or None))
    if info is None:
        typer.echo("not running")
        raise typer.Exit(1)
    typer.echo(info.bolt_uri)
    typer.echo(f"heap: {_size(info.heap_bytes)}")
    typer.echo(f"page cache: {_size(info.page_cache_bytes)}")
    typer.echo(f"store: {_size(neo4j_server.store_bytes(data_dir))} in {data_dir}")


def _size(n: int | None) -> str:
    if n is None:
        return "unknown (a launcher built before sizes were reported)"
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


@app.command("stop")
def stop(data_dir: DataDirOption = DEFAULT_DATA_DIR, timeout: TimeoutOption = 30.0) -> None:
    """Stop the server (SIGTERM, then SIGKILL after --timeout seconds); a no-op when none runs."""
    was_running = guard(lambda: neo4j_server.stop(data_dir, timeout_s=timeout))
    typer.echo("stopped" if was_running else "not running")


@app.command("import")
def import_(
    ctx: typer.Context,
    snapshot: Annotated[str, typer.Argument(help="Snapshot folder, or id under RAREGRAPH_SNAPSHOT_DIR")],
    data_dir: DataDirOption = DEFAULT_DATA_DIR,
    port: PortOption = neo4j_server.DEFAULT_PORT,
    password: PasswordOption = None,
    timeout: TimeoutOption = 240.0,
    heap: HeapOption = "auto",
    page_cache: PageCacheOption = "auto",
) -> None:
    """Replace the local server's store by a snapshot, bulk-imported (neo4j-admin import); restarts the server.

    For a first load or a cold rebuild: every snapshot the store held is replaced, and readers
    get errors while the server restarts. Safe to interrupt and re-run. Side-by-side refresh is
    `raregraph kg load` (online).
    """
    from raregraph.api.cli.support import open_snapshot
    from raregraph.kg.neo4j_import import import_snapshot
    from raregraph.settings import Settings

    def run() -> None:
        settings = ctx.find_root().obj
        snap = open_snapshot(settings if isinstance(settings, Settings) else Settings(), snapshot)
        report = import_snapshot(
            data_dir, snap, port=port, password=password or None, heap=heap, page_cache=page_cache,
            detach=True,  # the server outlives this command, as with `neo4j start`
            timeout_s=timeout, phase=lambda name: _err.print(f"{name} ..."),
        )
        load = report.load
        replaced = f"; replaced {', '.join(report.replaced)}" if report.replaced else ""
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.seconds.items())
        _err.print(escape(f"imported {load.snapshot_id}: {load.nodes:,} nodes, {load.relationships:,} relationships"
                          f" in {load.seconds:.1f} s ({phases}); active{replaced}"))
        typer.echo(report.bolt_uri)

    guard(run)
