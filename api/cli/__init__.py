"""The `raregraph` command (Typer): one sub-app per area, one error wrapper; commands parse, call and render."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from raregraph.api.cli import data, diagnosis, etl, index, kg, llm, neo4j, serve
from raregraph.api.cli.support import guard
from raregraph.api.feedback.cli import app as feedback_app
from raregraph.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(help="Grounded rare-disease differential diagnosis.", no_args_is_help=True, add_completion=False)


@app.callback()
def _root(ctx: typer.Context, verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Settings come from RAREGRAPH_* environment variables or .env."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ctx.obj = guard(Settings)


diagnosis.register(app)
serve.register(app)
app.add_typer(etl.app, name="etl")
app.add_typer(data.app, name="data")
app.add_typer(index.app, name="index")
app.add_typer(neo4j.app, name="neo4j")
app.add_typer(kg.app, name="kg")
app.add_typer(llm.app, name="llm")
app.add_typer(feedback_app, name="feedback")


def main() -> None:
    """Console-script entry point."""
    app()
