"""`raregraph serve`: the HTTP API under uvicorn (JSON logs on stderr)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Annotated

import typer

from raregraph.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["register", "serve", "worker_app"]


def register(app: typer.Typer) -> None:
    """Add `serve` to the root app."""
    app.command()(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (default RAREGRAPH_API_HOST, 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="Port (default RAREGRAPH_API_PORT, 8080)")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64, help="Worker processes, each with its own ranking index (default RAREGRAPH_API_WORKERS, 1)")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug | info | warning | error (default RAREGRAPH_API_LOG_LEVEL)")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs); settings come from RAREGRAPH_* variables or .env."""
    import uvicorn

    from raregraph.api.http.logging_setup import configure_logging

    settings: Settings = ctx.obj
    level = (log_level or settings.api_log_level).lower()
    if level not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter(f"unknown log level {level!r}", param_hint="--log-level")
    os.environ["RAREGRAPH_API_LOG_LEVEL"] = level  # worker processes read settings from the environment
    configure_logging(level.upper())
    logging.getLogger("raregraph.api").info(
        "starting", extra={"host": host or settings.api_host, "port": port if port is not None else settings.api_port,
                           "workers": workers or settings.api_workers},
    )
    # Open the snapshot here (building the default one on first use), so N workers never build it at once;
    # each worker then loads the ranking index in the background (GET /readyz says when).
    from raregraph.api.cli.support import guard, progress
    from raregraph.api.service import ensure_snapshot

    def open_snapshot() -> str:
        with progress() as say:
            return str(ensure_snapshot(settings, say).path)

    os.environ["RAREGRAPH_SNAPSHOT"] = guard(open_snapshot)
    # The factory re-reads the same RAREGRAPH_* settings in each worker process (`uvicorn --factory`).
    # The app believes X-Forwarded-For only from RAREGRAPH_API_TRUSTED_PROXIES, so uvicorn's own handling,
    # which trusts any loopback client by default, is off; the protocol adds the header deadline and
    # problem+json for requests that are not HTTP (api/http/protocol.py).
    uvicorn.run(
        "raregraph.api.cli.serve:worker_app", factory=True,
        host=host or settings.api_host, port=port if port is not None else settings.api_port,
        workers=workers or settings.api_workers, log_config=None, access_log=False, log_level=level,
        timeout_graceful_shutdown=10, server_header=False, proxy_headers=False,
        http="raregraph.api.http.protocol:ProblemHttpToolsProtocol",
    )


def worker_app() -> "FastAPI":
    """uvicorn's app factory: the API app; in a worker of `--workers N`, one that ends when `serve` ends."""
    from multiprocessing import parent_process

    from raregraph.api.http.app import app_from_env
    from raregraph.processes import end_with_parent

    supervisor = parent_process()  # None when uvicorn serves in this process (one worker)
    if supervisor is not None and supervisor.pid is not None:
        # uvicorn's supervisor starts its workers from its main thread; a kill -9 of it must not leave them serving
        end_with_parent(supervisor.pid, started_by_main_thread=True)
    return app_from_env()
