"""`raregraph serve` as a real uvicorn process on loopback: ready, diagnose, JSON logs, clean stop (issue 6)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator

import httpx
import pytest

from raregraph.etl.snapshot import Snapshot
from tests.api.live import live_server



@pytest.fixture(scope="module")
def server(default_snapshot: Snapshot, free_port: Callable[[], int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "server.log"
    env = {**os.environ, "RAREGRAPH_SNAPSHOT": str(default_snapshot.path), "RAREGRAPH_EMBEDDING_ENABLED": "false",
           "RAREGRAPH_API_KEYS": json.dumps({"ci": "live-key"})}
    with live_server(env, port, log_path, headers={"X-API-Key": "live-key"}) as base:
        yield base
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
