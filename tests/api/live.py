"""`raregraph serve` as a real uvicorn process on loopback, for the live tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from raregraph.processes import dies_with_this_process

READY_TIMEOUT_S = 120.0  # a loaded two-core machine opens the snapshot and loads the index in 2-20 s
RAREGRAPH = Path(sys.executable).parent / "raregraph"


@contextmanager
def live_server(env: dict[str, str], port: int, log_path: Path, headers: dict[str, str] | None = None) -> Iterator[str]:
    """`raregraph serve` on 127.0.0.1:`port` until /readyz answers 200 (its base URL), stopped with SIGINT."""
    with live_process(env, port, log_path, headers) as (base, _process):
        yield base


@contextmanager
def live_process(env: dict[str, str], port: int, log_path: Path,
                 headers: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`live_server`, with the server's process (one worker: the process that serves)."""
    with log_path.open("w") as log:
        process = subprocess.Popen([str(RAREGRAPH), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=dies_with_this_process())  # a killed test session leaves none
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"raregraph serve exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}/readyz", headers=headers or {}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"not ready after {READY_TIMEOUT_S} s:\n{log_path.read_text()}")
            time.sleep(0.25)
        yield base, process
    finally:
        if process.poll() is None:  # a test may have killed it
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
