"""Hardening under a real `raregraph serve` on loopback, over raw sockets and a headless browser (issue 19, items 7-10).

Slow clients are cut off (a 1 s header and body deadline here), broken framing is answered as
problem+json, X-Forwarded-For from a client that is not a trusted proxy is ignored, and /docs and
/redoc render their operations in Chromium with every host but loopback unresolvable.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from raregraph.etl.snapshot import Snapshot
from tests.api.live import live_server

PROBLEM = "application/problem+json"
SOCKET_TIMEOUT_S = 60.0  # a guard against hanging for ever; the server answers after its 1 s deadlines


@pytest.fixture(scope="module")
def served(default_snapshot: Snapshot, free_port: Callable[[], int],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve-hardening") / "server.log"
    env = {**os.environ, "RAREGRAPH_SNAPSHOT": str(default_snapshot.path), "RAREGRAPH_EMBEDDING_ENABLED": "false",
           "RAREGRAPH_API_HEADER_TIMEOUT_S": "1", "RAREGRAPH_API_BODY_TIMEOUT_S": "1"}
    with live_server(env, port, log_path) as base:
        yield base, log_path


@pytest.fixture(scope="module")
def server(served: tuple[str, Path]) -> str:
    return served[0]


def _address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def _connect(base: str) -> socket.socket:
    sock = socket.create_connection(_address(base), timeout=SOCKET_TIMEOUT_S)
    sock.settimeout(SOCKET_TIMEOUT_S)
    return sock


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    data = b""
    with sock:
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _problem(raw: bytes, status: int, kind: str) -> tuple[dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].split(" ")[1] == str(status), raw[:500]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == PROBLEM and headers["connection"] == "close"
    doc = json.loads(body)
    assert doc["type"] == f"urn:raregraph:problem:{kind}" and doc["status"] == status
    assert doc["instance"] == f"urn:request:{headers['x-request-id']}"
    return headers, doc


# --- 8. slow clients ---------------------------------------------------------------------------------


def test_bodies_sent_too_slowly_are_408_and_their_connections_closed(server: str) -> None:
    opened = []
    for _ in range(20):
        sock = _connect(server)
        sock.sendall(b"POST /v1/diagnose HTTP/1.1\r\nHost: rg\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n" + b'{"hpo_')
        opened.append(sock)
    for sock in opened:
        _, doc = _problem(_until_closed(sock), 408, "request-timeout")
        assert "RAREGRAPH_API_BODY_TIMEOUT_S" in doc["detail"]


def test_a_chunked_body_sent_too_slowly_is_408(server: str) -> None:
    sock = _connect(server)
    sock.sendall(b"POST /v1/diagnose HTTP/1.1\r\nHost: rg\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n6\r\n{\"hpo_\r\n")
    _problem(_until_closed(sock), 408, "request-timeout")


def test_headers_sent_too_slowly_are_408(server: str) -> None:
    sock = _connect(server)
    sock.sendall(b"POST /v1/diagnose HTTP/1.1\r\nHost: rg\r\n")
    _, doc = _problem(_until_closed(sock), 408, "request-timeout")
    assert "RAREGRAPH_API_HEADER_TIMEOUT_S" in doc["detail"]


def test_a_connection_that_sends_nothing_is_closed(server: str) -> None:
    assert _until_closed(_connect(server)) == b""


def test_a_client_that_keeps_its_connection_is_still_served(server: str) -> None:
    with httpx.Client(base_url=server, timeout=SOCKET_TIMEOUT_S) as client:
        first = client.post("/v1/diagnose", params={"top": 2, "evidence": "false"},
                            json={"hpo_present": ["HP:0001166", "HP:0001083"]})
        second = client.get("/readyz")
    assert first.status_code == 200 and second.status_code == 200
    assert first.headers.get("connection") != "close"


# --- 9. broken HTTP framing --------------------------------------------------------------------------


@pytest.mark.parametrize("request_bytes", [
    b"GET /readyz HTTP/1.1\r\nHost: rg\r\nContent-Length: nope\r\n\r\n",
    b"NOT HTTP AT ALL\r\n\r\n",
])
def test_broken_framing_is_a_400_problem(server: str, request_bytes: bytes) -> None:
    sock = _connect(server)
    sock.sendall(request_bytes)
    _, doc = _problem(_until_closed(sock), 400, "bad-request")
    assert doc["detail"].startswith("the request is not valid HTTP/1.1: ")


# --- 7. forwarded addresses --------------------------------------------------------------------------


def test_forwarded_for_from_an_untrusted_client_is_ignored(served: tuple[str, Path]) -> None:
    base, log_path = served
    with httpx.Client(base_url=base, timeout=SOCKET_TIMEOUT_S) as client:
        for i in range(5):
            client.get("/readyz", headers={"X-Forwarded-For": f"198.51.100.{i}", "X-Request-ID": f"xff-{i}"})
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    clients = {line["client"] for line in lines if str(line.get("request_id", "")).startswith("xff-")}
    assert clients == {"127.0.0.1"}


# --- 10. the docs in a browser without the internet --------------------------------------------------


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("needs Debian's chromium (make chromium, or apt-get install chromium)")
    return found


def _rendered(url: str, profile: Path) -> str:
    """The DOM Chromium renders for `url` with every host but loopback unresolvable (as air-gapped)."""
    run = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.browser
def test_docs_list_the_operations_in_a_browser_without_network(server: str, tmp_path: Path) -> None:
    dom = _rendered(f"{server}/docs", tmp_path / "profile")
    assert 'class="swagger-ui' in dom
    for path in ("/v1/diagnose", "/v1/diagnose/batch", "/v1/terms/{curie}", "/readyz"):
        assert f'data-path="{path}"' in dom, path


@pytest.mark.browser
def test_redoc_lists_the_operations_in_a_browser_without_network(server: str, tmp_path: Path) -> None:
    dom = _rendered(f"{server}/redoc", tmp_path / "profile")
    assert "/v1/diagnose/batch" in dom and "A grounded differential for one case" in dom
