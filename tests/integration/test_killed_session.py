"""`kill -9` of a test session: none of the servers it started keeps running, and the next start clears
what the killed one left (issue #19, item 2).

A real inner pytest session starts the session's Neo4j and PostgreSQL servers, a live `raregraph
serve` and (with the `llm` extra) the local LLM server, then waits to be killed; this test kills it with SIGKILL and polls until every process it
started is gone (no timed assertion: the deadline only bounds a failure).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from raregraph.processes import dies_with_this_process
from tests.api.feedback import pg_server
from tests.process_tree import descendants, kill_all, wait_for, wait_until_gone

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")]

ROOT = Path(__file__).resolve().parents[2]

_INNER = '''
import contextlib, os, time
from pathlib import Path
from raregraph.llm.local_server import local_server
from tests.api.live import live_server

def test_hold_servers(neo4j_server, postgres, mini_snapshot, free_port, tmp_path):
    env = {**os.environ, "RAREGRAPH_SNAPSHOT": str(mini_snapshot.path), "RAREGRAPH_EMBEDDING_ENABLED": "false"}
    with contextlib.ExitStack() as stack:
        stack.enter_context(live_server(env, free_port(), tmp_path / "serve.log"))
        if os.environ["WITH_LLM"] == "1":
            stack.enter_context(local_server(tmp_path / "llama"))
        Path(os.environ["HOLD_FLAG"]).write_text(str(postgres.base), encoding="utf-8")
        time.sleep(600)  # until killed
'''


@pytest.mark.usefixtures("java_and_maven")
def test_kill_9_of_a_test_session_leaves_none_of_its_servers(tmp_path: Path, free_port: Callable[[], int]) -> None:
    if pg_server.pg_bindir() is None:
        pytest.skip("PostgreSQL is not installed (make postgres)")
    with_llm = importlib.util.find_spec("llama_cpp") is not None  # the `llm` extra's local server, when installed
    inner, flag, log = tmp_path / "test_inner.py", tmp_path / "holding", tmp_path / "inner.log"
    inner.write_text(_INNER, encoding="utf-8")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
               "-p", "tests.api.feedback.conftest", "--basetemp", str(tmp_path / "inner-tmp"), str(inner)]
    with log.open("wb") as sink:
        session = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "HOLD_FLAG": str(flag), "WITH_LLM": str(int(with_llm))}, stdout=sink,
                                   stderr=subprocess.STDOUT, preexec_fn=dies_with_this_process())
    tree: list[psutil.Process] = []
    try:
        wait_for(lambda: flag.exists() or session.poll() is not None, "the inner session holding its servers", 600, 0.5)
        assert session.poll() is None, log.read_text(errors="replace")
        tree = _started_by(session.pid, [str(tmp_path), flag.read_text(encoding="utf-8")])
        commands = [" ".join(p.cmdline()) for p in tree]
        for server in ("raregraph-neo4j-launcher", "bin/postgres", "raregraph serve", *(["llama_cpp.server"] * with_llm)):
            assert any(server in c for c in commands), f"no {server} among {commands}"
        os.kill(session.pid, signal.SIGKILL)
        session.wait(timeout=30)
        left = wait_until_gone(tree)
        assert left == [], "servers of the killed session still run"
    finally:
        kill_all(tree)
        session.kill()
        session.wait()

    base = Path(flag.read_text(encoding="utf-8"))
    assert base.is_dir()  # the killed session's PostgreSQL folder, removed by the next start
    server = pg_server.start(free_port())
    try:
        assert not base.exists()
    finally:
        pg_server.stop(server)


def _started_by(pid: int, folders: list[str]) -> list[psutil.Process]:
    """The session's descendants, and any process working in its folders (a server started detached is no descendant)."""
    found = {p.pid: p for p in descendants(pid)}
    for process in psutil.process_iter(["cmdline"]):
        if any(folder in " ".join(process.info["cmdline"] or []) for folder in folders):
            found.setdefault(process.pid, process)
    return list(found.values())
