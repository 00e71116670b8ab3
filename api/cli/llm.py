"""`raregraph llm …`: the vLLM launch command for the production model, and a probe of the endpoint."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from raregraph.api.cli.support import err_console, guard
from raregraph.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="The LLM endpoint: vLLM launch command (base model + LoRA) and a probe.", no_args_is_help=True)


@app.command("serve-command")
def serve_command_cmd(
    ctx: typer.Context,
    run: Annotated[bool, typer.Option("--run", help="Execute vllm serve instead of printing it")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print argv as a JSON list")] = False,
) -> None:
    """Print the `vllm serve` command for RAREGRAPH_LLM_BASE_MODEL + RAREGRAPH_LLM_LORA_MODULES (or run it)."""
    from raregraph.llm.serve_command import exec_serve_command, serve_command

    settings: Settings = ctx.obj

    def go() -> None:
        command = serve_command(settings)
        if run:
            err_console.print(f"exec {command.shell()}", highlight=False, soft_wrap=True)
            exec_serve_command(command)
        sys.stdout.write((json.dumps(list(command.argv)) if as_json else command.shell()) + "\n")
        if command.adapters and not settings.llm_model:
            err_console.print(f"clients address an adapter by name: RAREGRAPH_LLM_MODEL={command.adapters[0]}",
                              highlight=False)

    guard(go)


@app.command("local-server")
def local_server_cmd(
    threads: Annotated[int, typer.Option(min=1, max=64, help="CPU threads for llama.cpp")] = 1,
    n_ctx: Annotated[int, typer.Option(help="Context length (tokens)")] = 4096,
) -> None:
    """Serve the small test model (SmolLM2-135M-Instruct, `llm` extra) on loopback until Ctrl-C; prints its URL."""
    import tempfile
    import time
    from pathlib import Path

    from raregraph.llm.local_server import local_server

    def go() -> None:
        with tempfile.TemporaryDirectory() as logs, local_server(Path(logs), n_ctx=n_ctx, threads=threads) as server:
            sys.stdout.write(f"RAREGRAPH_LLM_BASE_URL={server.base_url}\n")
            sys.stdout.flush()
            err_console.print(f"serving {server.model} (pid {server.pid}); Ctrl-C stops it", highlight=False)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass

    guard(go)


@app.command("ping")
def ping(ctx: typer.Context) -> None:
    """List the models the configured endpoint serves (exit 6 when it cannot be reached)."""
    import asyncio

    from raregraph.errors import LlmOutputError
    from raregraph.llm.client import LlmClient, LlmUnavailableError

    settings: Settings = ctx.obj

    async def models() -> list[str]:
        async with LlmClient.from_settings(settings) as client:
            return await client.list_models()

    def go() -> None:
        if not settings.llm_base_url:
            raise LlmOutputError("no endpoint: set RAREGRAPH_LLM_BASE_URL")
        try:
            names = asyncio.run(models())
        except LlmUnavailableError as err:
            raise LlmOutputError(f"{settings.llm_base_url}: {err}") from err
        sys.stdout.write("\n".join(names) + "\n")

    guard(go)
