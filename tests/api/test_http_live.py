"""`raregraph serve` as a real uvicorn process on loopback: ready, diagnose, JSON logs, clean stop (issue 6)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from raregraph.etl.snapshot import Snapshot

READY_TIMEOUT_S = 120.0  # a loaded two-core machine opens the snapshot and loads the index in 2-20 s
RAREGRAPH = Path(sys.executable).parent / "raregraph"


@pytest.fixture(scope="module")
def server(default_snapshot: Snapshot, free_port: Callable[[], int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "server.log"
    env = {**os.environ, "RAREGRAPH_SNAPSHOT": str(default_snapshot.path), "RAREGRAPH_EMBEDDING_ENABLED": "false",
           "RAREGRAPH_API_KEYS": json.dumps({"ci": "live-key"})}
    with log_path.open("w") as log:
        process = subprocess.Popen([str(RAREGRAPH), "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"raregraph serve exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{base}/readyz", headers={"X-API-Key": "live-key"}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"not ready after {READY_TIMEOUT_S} s:\n{log_path.read_text()}")
            time.sleep(0.25)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert any(line.get("logger") == "raregraph.api.access" and line.get("path") == "/v1/diagnose" for line in lines)
    assert not any("Tall, long fingers" in json.dumps(line) for line in lines)  # no patient text in the logs


def test_live_server_diagnoses_on_loopback(server: str) -> None:
    headers = {"X-API-Key": "live-key", "X-Request-ID": "live-1"}
    r = httpx.post(f"{server}/v1/diagnose", params={"top": 5}, headers=headers, timeout=60,
                   json={"text": "Tall, long fingers.", "hpo_present": ["HP:0001166", "HP:0001083", "HP:0002616"]})
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "live-1"
    assert "OMIM:154700" in [c["disease_id"] for c in r.json()["candidates"]]
    assert httpx.get(f"{server}/healthz", timeout=10).json() == {"status": "ok"}
    denied = httpx.get(f"{server}/v1/snapshot", timeout=10)
    assert denied.status_code == 401 and denied.headers["content-type"] == "application/problem+json"
