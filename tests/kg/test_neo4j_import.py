"""Bulk import (`kg.neo4j_import`): the online loader's graph, and one complete active snapshot after any kill and a re-run."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import neo4j
import polars as pl
import pytest
from typer.testing import CliRunner

from raregraph.errors import GraphUnavailableError
from raregraph.etl.snapshot import Snapshot
from raregraph.kg import neo4j_server as local_neo4j
from raregraph.kg.neo4j import Neo4jGraph, open_driver
from raregraph.kg.neo4j_import import import_snapshot, write_import_files
from raregraph.kg.neo4j_load import list_snapshots, snapshot_info
from tests.conftest import copy_snapshot
from tests.process_tree import kill_when_flagged


def test_switch_home_replaces_the_pointer_and_home_dir_follows_it(tmp_path: Path) -> None:
    assert local_neo4j.home_dir(tmp_path) == tmp_path.resolve() / "home"
    with pytest.raises(GraphUnavailableError, match="no such folder"):
        local_neo4j.switch_home(tmp_path, "home-new")
    (tmp_path / "home-new").mkdir()
    local_neo4j.switch_home(tmp_path, "home-new")
    assert local_neo4j.home_dir(tmp_path) == tmp_path.resolve() / "home-new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home-new", "home.current"]  # no temporary file left
    (tmp_path / "home.current").write_text("../elsewhere\n", encoding="utf-8")
    with pytest.raises(GraphUnavailableError, match="must name a folder"):
        local_neo4j.home_dir(tmp_path)


def test_a_value_holding_the_array_delimiter_is_refused(crafted_snapshot: Snapshot, tmp_path: Path) -> None:
    terms = crafted_snapshot.table("terms").with_columns(
        pl.when(pl.col("id") == "HP:0001250").then(pl.lit(["MSH:D012640\x1fsplit"])).otherwise(pl.col("xrefs")).alias("xrefs"))
    broken = copy_snapshot(crafted_snapshot, tmp_path, "broken-delimiter", {"terms": terms})
    with pytest.raises(GraphUnavailableError, match=r"terms\.xrefs: a list element holds the array delimiter"):
        write_import_files(broken, tmp_path / "files")


def _dump(driver: neo4j.Driver, snapshot_id: str) -> tuple[list[str], list[str]]:
    """Every node (labels, properties) and relationship (type, both ends' properties, its own) of a snapshot, as sorted JSON."""
    def rows(query: str) -> list[str]:
        records, _, _ = driver.execute_query(query, s=snapshot_id)
        return sorted(json.dumps(r.data(), sort_keys=True, default=str) for r in records)

    nodes = rows("MATCH (n) WHERE n.snapshot = $s RETURN labels(n) AS labels, properties(n) AS props")
    rels = rows("MATCH (a)-[r]->(b) WHERE a.snapshot = $s RETURN type(r) AS type, properties(a) AS a, properties(b) AS b,"
                " properties(r) AS props")
    return nodes, rels


@pytest.mark.integration
@pytest.mark.usefixtures("java_and_maven")
def test_import_gives_the_graph_the_online_loader_gives(
    neo4j_driver: neo4j.Driver, neo4j_crafted_graph: Neo4jGraph, crafted_snapshot: Snapshot, tmp_path: Path,
    free_port: Callable[[], int], neo4j_start_timeout_s: float,
) -> None:
    """Every node, relationship and property of the crafted snapshot, imported by `raregraph neo4j import`, equals
    the session's online load of it."""
    from raregraph.api.cli import app

    data_dir = tmp_path / "bulk"
    env = {"RAREGRAPH_SNAPSHOT_DIR": str(crafted_snapshot.path.parent)}
    args = ["neo4j", "import", crafted_snapshot.id, "--data-dir", str(data_dir), "--port", str(free_port()),
            "--heap", "1g", "--page-cache", "256m", "--timeout", str(neo4j_start_timeout_s)]
    try:
        done = CliRunner().invoke(app, args, env=env)
        assert done.exit_code == 0, done.output
        assert f"imported {crafted_snapshot.id}:" in done.stderr and "active" in done.stderr
        with open_driver(done.stdout.strip(), timeout_s=30.0) as driver:
            assert _dump(driver, crafted_snapshot.id) == _dump(neo4j_driver, crafted_snapshot.id)
            imported, online = snapshot_info(driver, crafted_snapshot.id), snapshot_info(neo4j_driver, crafted_snapshot.id)
            assert imported is not None and online is not None and imported.state == "complete" and imported.active
            assert (imported.nodes, imported.relationships) == (online.nodes, online.relationships)
            counts = [_marker(d, crafted_snapshot.id)["counts_json"] for d in (driver, neo4j_driver)]
            assert json.loads(counts[0]) == json.loads(counts[1])  # per step: rows, created, duplicates
            graph = Neo4jGraph(driver)  # the active snapshot, read through the schema the import created
            assert graph.snapshot_id == crafted_snapshot.id and graph.terms(["HP:0001250"])["HP:0001250"].label == "Seizure"
            assert [hit.id for hit in graph.search("seizure", 3)] == [hit.id for hit in neo4j_crafted_graph.search("seizure", 3)]
    finally:
        local_neo4j.stop(data_dir)  # the CLI detaches its server, as `neo4j start` does


def _marker(driver: neo4j.Driver, snapshot_id: str) -> dict[str, Any]:
    records, _, _ = driver.execute_query("MATCH (s:Snapshot {id: $s}) RETURN s {.*} AS m", s=snapshot_id)
    return dict(records[0]["m"])


_KILLABLE_IMPORT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from raregraph.etl.snapshot import Snapshot
    from raregraph.kg.neo4j_import import import_snapshot

    data_dir, folder, port, stop_at, flag = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], Path(sys.argv[5])
    def phase(name):
        if name == stop_at:
            flag.write_text(name)
            if name != "import":
                time.sleep(600)  # hang until the test kills this process; at "import", the tool runs on
    import_snapshot(data_dir, Snapshot.open(folder), port=port, heap="1g", page_cache="256m", phase=phase)
""")


def _import_killed_at(data_dir: Path, snap: Snapshot, port: int, phase: str, tmp_path: Path, after_s: float = 0.0) -> None:
    """Run an import in a child process and SIGKILL it once it reaches `phase` (plus `after_s`)."""
    flag = tmp_path / f"at-{phase}"
    kill_when_flagged(_KILLABLE_IMPORT, [str(data_dir), str(snap.path), str(port), phase, str(flag)], flag,
                      f"the import never reached {phase}", 300, after_s)


def _import_tools(data_dir: Path) -> list[int]:
    """Pids of import tools writing under `data_dir`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"org.neo4j.cli.AdminTool" in cmdline and str(data_dir).encode() in cmdline:
            found.append(int(proc.name))
    return found


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):
            return
        assert time.monotonic() < deadline, f"process {pid} outlived the import it was tied to"
        time.sleep(0.1)


@pytest.mark.integration
@pytest.mark.usefixtures("java_and_maven")
def test_import_killed_anywhere_then_rerun_gives_one_complete_active_snapshot(
    crafted_snapshot: Snapshot, tmp_path: Path, free_port: Callable[[], int], neo4j_start_timeout_s: float,
) -> None:
    """kill -9 during the import tool (the store in use untouched, the tool gone too), then after the switch
    (the server, tied to the import, dies with it: the new store holds the snapshot `loading`), then a re-run."""
    data_dir, port = (tmp_path / "bulk").resolve(), free_port()
    old = copy_snapshot(crafted_snapshot, tmp_path, f"{crafted_snapshot.id}-old")
    new = copy_snapshot(crafted_snapshot, tmp_path, f"{crafted_snapshot.id}-new")
    first = import_snapshot(data_dir, old, port=port, heap="1g", page_cache="256m", timeout_s=neo4j_start_timeout_s)
    try:
        _import_killed_at(data_dir, new, port, "import", tmp_path, after_s=1.0)  # the tool's JVM is starting
        deadline = time.monotonic() + 20
        while _import_tools(data_dir):
            assert time.monotonic() < deadline, "the import tool outlived the killed import"
            time.sleep(0.2)
        with open_driver(first.bolt_uri, timeout_s=30.0) as driver:  # the old store still serves, unchanged
            assert Neo4jGraph(driver).snapshot_id == old.id
            assert [i.id for i in list_snapshots(driver)] == [old.id]

        _import_killed_at(data_dir, new, port, "verify", tmp_path)  # switched, server up on the new store
        _wait_gone(int((data_dir / "neo4j.pid").read_text()))  # the server died with the import that started it
        assert local_neo4j.wait_port_free(port)
        info = local_neo4j.start(data_dir, port, heap="1g", page_cache="256m", timeout_s=neo4j_start_timeout_s)
        with open_driver(info.bolt_uri, timeout_s=30.0) as driver:
            assert [(i.id, i.state, i.active) for i in list_snapshots(driver)] == [(new.id, "loading", False)]
            with pytest.raises(GraphUnavailableError, match="no active snapshot"):
                Neo4jGraph(driver)

        again = import_snapshot(data_dir, new, port=port, heap="1g", page_cache="256m", timeout_s=neo4j_start_timeout_s)
        assert again.replaced == [new.id]
        with open_driver(again.bolt_uri, timeout_s=30.0) as driver:
            assert [(i.id, i.state, i.active) for i in list_snapshots(driver)] == [(new.id, "complete", True)]
            assert (again.load.nodes, again.load.relationships) == (first.load.nodes, first.load.relationships)
            assert Neo4jGraph(driver).terms(["HP:0001250"])["HP:0001250"].label == "Seizure"
        homes = sorted(p.name for p in data_dir.iterdir() if p.is_dir())
        assert homes == [local_neo4j.home_dir(data_dir).name]  # the stores and files of the killed runs are gone
    finally:
        local_neo4j.stop(data_dir)
