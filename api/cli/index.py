"""`raregraph index build`: build a snapshot's ranking index and text-linking embedding index ahead of first use."""

from __future__ import annotations

import sys
import time

import typer

from raregraph.api.cli.support import encode_progress, err_console, guard, progress
from raregraph.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="Indexes built ahead of first use (ranking matrices, embedding index of HPO names).",
                  no_args_is_help=True)


@app.command("build")
def build(ctx: typer.Context) -> None:
    """Build (or load from cache) the active snapshot's ranking index and embedding index; prints where they are."""
    from raregraph.api.service import build_service

    settings: Settings = ctx.obj

    def run() -> None:
        started = time.perf_counter()
        with progress() as say:
            service = build_service(settings, say)  # the ranking index is built and cached beside the snapshot
        linker = service.linker
        with encode_progress() as report:
            index = linker.build_index(report)
        seconds = time.perf_counter() - started
        if index is None:
            err_console.print(f"ranking index ready; embedding index not built: {linker.embedding_status}", highlight=False)
        else:
            source = "loaded from cache" if index.loaded_from_cache else "built"
            err_console.print(f"ranking index ready; embedding index {source}: {len(index):,} names, "
                              f"{index.model} ({seconds:.1f} s)", highlight=False)
            sys.stdout.write(f"{index.path or '(in memory)'}\n")

    guard(run)
