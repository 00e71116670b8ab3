"""The vLLM command that serves the production model: a base model plus LoRA adapter(s), from settings.

One documented place for operators: `raregraph llm serve-command` prints it, `--run` executes it.
The adapter is then addressed as the request's `model` (RAREGRAPH_LLM_MODEL=NAME), as vLLM serves
each `--lora-modules NAME=PATH` under NAME.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

from raregraph.settings import Settings
from raregraph.errors import RaregraphError

__all__ = ["ServeCommandError", "ServeCommand", "serve_command", "exec_serve_command"]


class ServeCommandError(RaregraphError):
    """The settings do not describe a servable model, or vLLM is not installed here."""


@dataclass(frozen=True)
class ServeCommand:
    """argv of `vllm serve …` and the environment it needs (the API key goes in the env, never in argv)."""

    argv: tuple[str, ...]
    env: dict[str, str]
    adapters: tuple[str, ...]

    def shell(self) -> str:
        """The command as one shell line; the key, if any, is referred to as $VLLM_API_KEY."""
        prefix = "VLLM_API_KEY=\"$RAREGRAPH_LLM_API_KEY\" " if "VLLM_API_KEY" in self.env else ""
        return prefix + shlex.join(self.argv)


def _lora_modules(entries: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for entry in entries:
        name, sep, path = entry.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ServeCommandError(f"LoRA module {entry!r}: expected NAME=PATH (RAREGRAPH_LLM_LORA_MODULES)")
        out.append((name.strip(), path.strip()))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ServeCommandError(f"LoRA module names repeat: {names}")
    return out


def serve_command(settings: Settings) -> ServeCommand:
    """`vllm serve BASE [--enable-lora --lora-modules NAME=PATH… --max-lora-rank R] --tensor-parallel-size N …`.

    Raises:
        ServeCommandError: no base model, a malformed LoRA entry, or RAREGRAPH_LLM_MODEL naming an
            adapter that is not served.
    """
    if not settings.llm_base_model:
        raise ServeCommandError("no base model: set RAREGRAPH_LLM_BASE_MODEL (a Hugging Face id or a folder)")
    modules = _lora_modules(settings.llm_lora_modules)
    argv = ["vllm", "serve", settings.llm_base_model]
    if modules:
        argv += ["--enable-lora", "--lora-modules", *(f"{n}={p}" for n, p in modules),
                 "--max-lora-rank", str(settings.llm_max_lora_rank)]
    argv += ["--tensor-parallel-size", str(settings.llm_tensor_parallel_size),
             "--host", settings.llm_serve_host, "--port", str(settings.llm_serve_port)]
    if settings.llm_max_model_len:
        argv += ["--max-model-len", str(settings.llm_max_model_len)]
    if settings.llm_gpu_memory_utilization:
        argv += ["--gpu-memory-utilization", str(settings.llm_gpu_memory_utilization)]
    argv += list(settings.llm_serve_extra_args)
    names = {n for n, _ in modules}
    if settings.llm_model and modules and settings.llm_model not in names and settings.llm_model != settings.llm_base_model:
        raise ServeCommandError(
            f"RAREGRAPH_LLM_MODEL={settings.llm_model!r} is neither a served adapter ({', '.join(sorted(names))}) "
            "nor the base model"
        )
    key = settings.llm_api_key.get_secret_value()
    env = {"VLLM_API_KEY": key} if key and key != "EMPTY" else {}
    return ServeCommand(tuple(argv), env, tuple(n for n, _ in modules))


def exec_serve_command(command: ServeCommand) -> None:
    """Replace this process with vLLM (never returns).

    Raises:
        ServeCommandError: `vllm` is not on PATH (it is installed on the GPU host, not with raregraph).
    """
    program = shutil.which(command.argv[0])
    if program is None:
        raise ServeCommandError("vllm is not installed on this machine (pip install vllm on the GPU host)")
    os.execve(program, list(command.argv), {**os.environ, **command.env})
