"""The local Neo4j server (`raregraph.kg.neo4j_server`): it starts, answers Cypher, and stops."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import neo4j
import pytest
from neo4j.exceptions import AuthError

from raregraph.errors import GraphUnavailableError
from raregraph.kg import neo4j_server as local_neo4j

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _process_gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (a zombie that init has not reaped yet counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text(encoding="utf-8").rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def test_server_answers_cypher(neo4j_server: local_neo4j.ServerInfo, neo4j_driver: neo4j.Driver) -> None:
    assert neo4j_server.bolt_uri == f"bolt://127.0.0.1:{neo4j_server.port}"
    assert not neo4j_server.auth_enabled
    records, _, _ = neo4j_driver.execute_query("RETURN 1 AS ok")
    assert records[0]["ok"] == 1
    records, _, _ = neo4j_driver.execute_query(
        "CALL dbms.components() YIELD name, versions, edition RETURN name, versions, edition"
    )
    assert (records[0]["name"], records[0]["versions"], records[0]["edition"]) == (
        "Neo4j Kernel", [local_neo4j.NEO4J_VERSION], "community",
    )  # fmt: skip


def test_create_and_read_node(neo4j_driver: neo4j.Driver) -> None:
    key = f"test-{uuid.uuid4()}"
    neo4j_driver.execute_query(
        "CREATE (:IntegrationProbe {key: $key, label: $label, frequency: $frequency})",
        key=key, label="Seizure", frequency=0.5,
    )  # fmt: skip
    try:
        records, _, _ = neo4j_driver.execute_query(
            "MATCH (n:IntegrationProbe {key: $key}) RETURN n.label AS label, n.frequency AS frequency",
            key=key,
            routing_=neo4j.RoutingControl.READ,
        )
        assert [(r["label"], r["frequency"]) for r in records] == [("Seizure", 0.5)]
    finally:
        neo4j_driver.execute_query("MATCH (n:IntegrationProbe {key: $key}) DELETE n", key=key)


def test_start_twice_returns_the_running_server(
    neo4j_server: local_neo4j.ServerInfo, free_port: Callable[[], int]
) -> None:
    # Another port is asked for on purpose: the running server for the folder wins.
    again = local_neo4j.start(neo4j_server.data_dir, free_port(), timeout_s=30.0)
    assert again == neo4j_server


def test_status_sees_the_running_server(neo4j_server: local_neo4j.ServerInfo) -> None:
    assert local_neo4j.status(neo4j_server.data_dir) == neo4j_server
    assert neo4j_server.log_path.is_file()


def test_status_reports_heap_page_cache_and_store(neo4j_server: local_neo4j.ServerInfo) -> None:
    """The session server was started with a 2g heap and a 512m page cache; `raregraph neo4j status` says so."""
    from typer.testing import CliRunner

    from raregraph.api.cli import app

    assert neo4j_server.heap_bytes is not None and 1.5 * 2**30 < neo4j_server.heap_bytes <= 2 * 2**30
    assert neo4j_server.page_cache_bytes == 512 * 2**20
    assert local_neo4j.store_bytes(neo4j_server.data_dir) > 0
    shown = CliRunner().invoke(app, ["neo4j", "status", "--data-dir", str(neo4j_server.data_dir)])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == neo4j_server.bolt_uri and lines[2] == "page cache: 512 MiB"
    assert lines[1].startswith("heap: ") and lines[3].startswith("store: ")


def test_memory_settings_auto_sizes_and_checks() -> None:
    heap, page_cache = local_neo4j.memory_settings()
    assert 512 <= int(heap[:-1]) <= 8192 and heap.endswith("m")
    assert 256 <= int(page_cache[:-1]) <= 16384
    assert local_neo4j.memory_settings("2g", "512M") == ("2g", "512m")
    for bad in ("lots", "0g", "12", "-1m"):
        with pytest.raises(GraphUnavailableError, match="auto"):
            local_neo4j.memory_settings(bad)


def test_status_of_an_empty_folder_is_none(tmp_path: Path) -> None:
    assert local_neo4j.status(tmp_path) is None
    assert local_neo4j.stop(tmp_path) is False


def test_start_refuses_a_port_in_use(neo4j_server: local_neo4j.ServerInfo, tmp_path: Path) -> None:
    with pytest.raises(GraphUnavailableError, match="already in use"):
        local_neo4j.start(tmp_path / "other", neo4j_server.port, timeout_s=30.0)


@pytest.mark.usefixtures("java_and_maven")
def test_auth_then_stop_on_a_second_server(
    tmp_path: Path, free_port: Callable[[], int], neo4j_start_timeout_s: float
) -> None:
    """A second server (own folder and port, auth enabled) is checked and stopped; the session one stays up."""
    data_dir, port, password = tmp_path / "neo4j-auth", free_port(), "integration-secret"
    info = local_neo4j.start(data_dir, port, timeout_s=neo4j_start_timeout_s, password=password)
    try:
        assert info.auth_enabled and info.user == local_neo4j.USER
        with neo4j.GraphDatabase.driver(info.bolt_uri, auth=(local_neo4j.USER, password)) as driver:
            records, _, _ = driver.execute_query("RETURN 1 AS ok")
            assert records[0]["ok"] == 1
        with neo4j.GraphDatabase.driver(info.bolt_uri, auth=(local_neo4j.USER, "wrong-password")) as driver:
            with pytest.raises(AuthError):
                driver.execute_query("RETURN 1 AS ok")
        # The server is up even for a caller without the password.
        assert local_neo4j.status(data_dir) == info
        assert local_neo4j.status(data_dir, password=password) == info
    finally:
        assert local_neo4j.stop(data_dir, timeout_s=60.0) is True
    assert local_neo4j.status(data_dir) is None
    assert not _listening(port)
    assert _process_gone(info.pid)
    assert not (data_dir / "neo4j.pid").exists()
    assert local_neo4j.stop(data_dir) is False
