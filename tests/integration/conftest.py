"""Session fixtures for integration tests: a real Neo4j 5.26 server on 127.0.0.1 and a driver.

The server is started once per test session by `raregraph.kg.neo4j_server` (which builds the
Java launcher with Maven on first use) in a temporary folder on a free port, and stopped at the
end. Without java or mvn on PATH the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from raregraph.kg import neo4j_server as local_neo4j

if TYPE_CHECKING:
    import neo4j

# Generous: a two-core machine running other tests starts Neo4j in 10 to 30 s. A first build of
# the launcher (downloads from Maven Central) comes before this and is not counted in it.
NEO4J_START_TIMEOUT_S = 240.0


def _free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A function returning a TCP port on 127.0.0.1 that nothing listens on right now."""
    return _free_port


@pytest.fixture(scope="session")
def neo4j_start_timeout_s() -> float:
    """Seconds a test waits for a local Neo4j server to answer."""
    return NEO4J_START_TIMEOUT_S


@pytest.fixture(scope="session")
def java_and_maven() -> None:
    """Skip the test when the tools the local Neo4j server needs are missing."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the local Neo4j server needs {' and '.join(missing)} on PATH (see tools/neo4j/install.sh)")


@pytest.fixture(scope="session")
def neo4j_server(java_and_maven: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_neo4j.ServerInfo]:
    """The session's Neo4j server (auth disabled) in a temporary folder on a free port."""
    data_dir = tmp_path_factory.mktemp("neo4j")
    info = local_neo4j.start(data_dir, _free_port(), timeout_s=NEO4J_START_TIMEOUT_S)
    try:
        yield info
    finally:
        local_neo4j.stop(data_dir)


@pytest.fixture(scope="session")
def neo4j_driver(neo4j_server: local_neo4j.ServerInfo) -> Iterator[neo4j.Driver]:
    """A driver connected to the session's server, closed at session end."""
    import neo4j

    # Auth is disabled on the session server, so any basic credentials are accepted.
    with neo4j.GraphDatabase.driver(neo4j_server.bolt_uri, auth=("neo4j", "any-password")) as driver:
        driver.verify_connectivity()
        yield driver
