"""Loading snapshots into a real Neo4j: complete-before-active, idempotent, safe to interrupt, droppable."""

from __future__ import annotations

import os
import signal
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import neo4j
import polars as pl
import pytest
from typer.testing import CliRunner

from raregraph.errors import GraphUnavailableError, RaregraphError, SnapshotNotFoundError
from raregraph.etl.snapshot import Snapshot
from raregraph.etl.tables import TABLES
from raregraph.kg import neo4j_server as local_neo4j
from raregraph.kg.cypher_files import load_cypher
from raregraph.kg.neo4j import Neo4jGraph, open_driver
from raregraph.kg.neo4j_load import (
    TABLE_MAP, activate_snapshot, drop_snapshot, list_snapshots, load_snapshot, refresh_snapshot, snapshot_info,
)
from tests.conftest import copy_snapshot
from tests.process_tree import kill_when_flagged

pytestmark = pytest.mark.integration


class Interrupt(Exception):
    """Raised from a progress hook to stop a load mid-way, as a crash would."""


def test_every_snapshot_table_has_a_graph_mapping() -> None:
    """A table added to etl/tables.py is loaded as :Record nodes until it gets a real mapping here."""
    assert set(TABLES) == set(TABLE_MAP)


@pytest.fixture
def copies(crafted_snapshot: Snapshot, tmp_path: Path) -> Callable[[str], Snapshot]:
    """Copies of the crafted snapshot under new ids (same content, so the same counts)."""
    return lambda tag: copy_snapshot(crafted_snapshot, tmp_path, f"{crafted_snapshot.id}-{tag}")


@pytest.fixture
def keep_active(neo4j_driver: neo4j.Driver, neo4j_default_graph: Neo4jGraph) -> Iterator[None]:
    """Tests here change the active snapshot; give it back to the session's default snapshot."""
    yield
    activate_snapshot(neo4j_driver, neo4j_default_graph.snapshot_id)


@pytest.fixture
def reference_counts(neo4j_driver: neo4j.Driver, neo4j_crafted_graph: Neo4jGraph) -> tuple[int, int]:
    """Nodes and relationships of one complete copy of the crafted snapshot (loaded by the session)."""
    info = snapshot_info(neo4j_driver, neo4j_crafted_graph.snapshot_id)
    assert info is not None and info.nodes and info.relationships
    return info.nodes, info.relationships


def _counts(driver: neo4j.Driver, snapshot_id: str) -> tuple[int, int]:
    nodes, _, _ = driver.execute_query("MATCH (n) WHERE n.snapshot = $s RETURN count(n) AS n", s=snapshot_id)
    rels, _, _ = driver.execute_query("MATCH (n)-[r]->() WHERE n.snapshot = $s RETURN count(r) AS n", s=snapshot_id)
    return int(nodes[0]["n"]), int(rels[0]["n"])


def _markers(driver: neo4j.Driver, snapshot_id: str) -> int:
    records, _, _ = driver.execute_query("MATCH (s:Snapshot {id: $s}) RETURN count(s) AS n", s=snapshot_id)
    return int(records[0]["n"])


def _stop_after(batches: int) -> Callable[[str, int, int], None]:
    seen = {"n": 0}

    def hook(step: str, done: int, total: int) -> None:
        if done and total:
            seen["n"] += 1
            if seen["n"] >= batches:
                raise Interrupt(f"stopped after {batches} batches, in {step}")

    return hook


def test_load_then_reload_is_idempotent(
    neo4j_driver: neo4j.Driver, copies: Callable[[str], Snapshot], reference_counts: tuple[int, int]
) -> None:
    snap = copies("twice")
    first = load_snapshot(neo4j_driver, snap, activate=False, batch_size=4)
    assert first.status == "loaded" and not first.active
    assert first.steps["variant_diseases"].skipped == 2  # MONDO:0007947 and OMIM:113705 are no diseases here
    assert _counts(neo4j_driver, snap.id) == reference_counts == (first.nodes, first.relationships)
    again = load_snapshot(neo4j_driver, snap, activate=False)
    assert again.status == "already-loaded"
    assert _counts(neo4j_driver, snap.id) == reference_counts and _markers(neo4j_driver, snap.id) == 1
    assert Neo4jGraph(neo4j_driver, snapshot_id=snap.id).terms(["HP:0001250"])["HP:0001250"].label == "Seizure"
    drop_snapshot(neo4j_driver, snap.id)


def test_interrupted_load_is_invisible_and_a_rerun_completes_it(
    neo4j_driver: neo4j.Driver, copies: Callable[[str], Snapshot], reference_counts: tuple[int, int]
) -> None:
    snap = copies("interrupted")
    with pytest.raises(Interrupt):
        load_snapshot(neo4j_driver, snap, batch_size=2, progress=_stop_after(6))
    info = snapshot_info(neo4j_driver, snap.id)
    assert info is not None and info.state == "loading" and not info.active
    assert 0 < _counts(neo4j_driver, snap.id)[0] < reference_counts[0]  # half-written, and nobody reads it
    with pytest.raises(GraphUnavailableError, match="not loaded completely"):
        Neo4jGraph(neo4j_driver, snapshot_id=snap.id)
    report = load_snapshot(neo4j_driver, snap, activate=False, batch_size=3)
    assert report.status == "loaded"
    assert _counts(neo4j_driver, snap.id) == reference_counts and _markers(neo4j_driver, snap.id) == 1
    drop_snapshot(neo4j_driver, snap.id)


_KILLABLE_LOADER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from raregraph.etl.snapshot import Snapshot
    from raregraph.kg.neo4j import open_driver
    from raregraph.kg.neo4j_load import load_snapshot

    uri, folder, flag = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    seen = []
    def hook(step, done, total):
        if done and total:
            seen.append(step)
            if len(seen) == 8:
                flag.write_text(step)
                time.sleep(600)  # hang mid-load until the test kills this process
    driver = open_driver(uri)
    load_snapshot(driver, Snapshot.open(folder), batch_size=1, progress=hook)
""")


def test_killed_loader_process_then_rerun_gives_one_complete_copy(
    neo4j_driver: neo4j.Driver, neo4j_server: local_neo4j.ServerInfo, copies: Callable[[str], Snapshot],
    reference_counts: tuple[int, int], tmp_path: Path,
) -> None:
    snap, flag = copies("killed"), tmp_path / "mid-load"
    kill_when_flagged(_KILLABLE_LOADER, [neo4j_server.bolt_uri, str(snap.path), str(flag)], flag,
                      "the loader never reached its eighth batch", 180)
    assert snapshot_info(neo4j_driver, snap.id).state == "loading"  # type: ignore[union-attr]
    assert 0 < _counts(neo4j_driver, snap.id)[0] < reference_counts[0]
    report = load_snapshot(neo4j_driver, snap, activate=False)
    assert report.status == "loaded" and _counts(neo4j_driver, snap.id) == reference_counts
    assert _markers(neo4j_driver, snap.id) == 1
    drop_snapshot(neo4j_driver, snap.id)


@pytest.mark.usefixtures("keep_active")
def test_active_switch_is_atomic(neo4j_driver: neo4j.Driver, copies: Callable[[str], Snapshot]) -> None:
    first, second = copies("first"), copies("second")
    load_snapshot(neo4j_driver, first)
    pinned = Neo4jGraph(neo4j_driver)
    assert pinned.snapshot_id == first.id
    seen: list[str] = []

    def during_second_load(step: str, done: int, total: int) -> None:
        if done and total and len(seen) < 3:  # mid-load: readers still get the first snapshot, whole
            graph = Neo4jGraph(neo4j_driver)
            seen.append(graph.snapshot_id)
            assert graph.terms(["HP:0001250"])["HP:0001250"].label == "Seizure"
            assert [g.symbol for g in graph.genes_of_diseases(["OMIM:154700"])["OMIM:154700"]] == ["FBN1"]
            with pytest.raises(GraphUnavailableError):
                Neo4jGraph(neo4j_driver, snapshot_id=second.id)

    load_snapshot(neo4j_driver, second, batch_size=2, progress=during_second_load)
    assert seen == [first.id] * 3
    assert Neo4jGraph(neo4j_driver).snapshot_id == second.id
    active = [info.id for info in list_snapshots(neo4j_driver) if info.active]
    assert active == [second.id]
    assert pinned.diseases(["OMIM:154700"])  # a graph opened before the switch keeps its snapshot
    activate_snapshot(neo4j_driver, first.id)
    assert [info.id for info in list_snapshots(neo4j_driver) if info.active] == [first.id]
    # drop: the active one only with force; a dropped snapshot's readers get GraphUnavailableError
    with pytest.raises(RaregraphError, match="active"):
        drop_snapshot(neo4j_driver, first.id)
    drop_snapshot(neo4j_driver, second.id)
    drop_snapshot(neo4j_driver, first.id, force=True)
    assert _counts(neo4j_driver, first.id) == (0, 0) and _markers(neo4j_driver, first.id) == 0
    assert snapshot_info(neo4j_driver, second.id) is None
    with pytest.raises(GraphUnavailableError, match="no longer complete"):
        pinned.terms(["HP:0001250"])
    with pytest.raises(GraphUnavailableError, match="no longer complete"):
        pinned.case_terms(["HP:0001250"])
    with pytest.raises(GraphUnavailableError, match="no longer complete"):
        pinned.evidence_reads(["OMIM:154700"], ["HP:0001166"], ["HP:0001166"], ["OMIM:154700"])
    with pytest.raises(SnapshotNotFoundError):
        drop_snapshot(neo4j_driver, first.id)
    with pytest.raises(SnapshotNotFoundError):
        activate_snapshot(neo4j_driver, first.id)


def test_unmapped_table_is_kept_as_record_nodes(
    neo4j_driver: neo4j.Driver, crafted_snapshot: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(TABLES, "future_facts", {"id": pl.Utf8, "value": pl.Int64, "source": pl.Utf8})
    frame = pl.DataFrame({"id": ["F:1", "F:2", "F:3"], "value": [1, 2, None], "source": ["test"] * 3})
    snap = copy_snapshot(crafted_snapshot, tmp_path, f"{crafted_snapshot.id}-future", {"future_facts": frame})
    report = load_snapshot(neo4j_driver, snap, activate=False)
    assert report.steps["future_facts"].created == 3
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (r:Record {snapshot: $s, table: 'future_facts'}) RETURN r.id AS id, r.value AS value ORDER BY id", s=snap.id
    )
    assert [(r["id"], r["value"]) for r in records] == [("F:1", 1), ("F:2", 2), ("F:3", None)]
    drop_snapshot(neo4j_driver, snap.id)


@pytest.mark.usefixtures("keep_active")
def test_cli_load_list_status_drop(neo4j_server: local_neo4j.ServerInfo, copies: Callable[[str], Snapshot], free_port: Callable[[], int]) -> None:
    from raregraph.api.cli import app

    runner = CliRunner()
    snap = copies("cli")
    env = {"RAREGRAPH_NEO4J_URI": neo4j_server.bolt_uri, "RAREGRAPH_SNAPSHOT_DIR": str(snap.path.parent)}
    loaded = runner.invoke(app, ["kg", "load", snap.id, "--backend", "neo4j", "--batch-size", "5", "--no-activate"], env=env)
    assert loaded.exit_code == 0, loaded.output
    assert loaded.stdout.strip() == snap.id
    listed = runner.invoke(app, ["kg", "list"], env=env)
    assert listed.exit_code == 0 and snap.id in listed.stdout and "complete" in listed.stdout
    status = runner.invoke(app, ["kg", "status"], env=env)
    assert status.exit_code == 0 and "active snapshot: hpo-2025-01-16" in status.stdout and "community" in status.stdout
    dropped = runner.invoke(app, ["kg", "drop", snap.id], env=env)
    assert dropped.exit_code == 0, dropped.output
    missing = runner.invoke(app, ["kg", "drop", snap.id], env=env)
    assert missing.exit_code == 4 and "no snapshot" in missing.output
    unknown = runner.invoke(app, ["kg", "load", "no-such-snapshot"], env=env)
    assert unknown.exit_code == 4
    embedded = runner.invoke(app, ["kg", "load", snap.id, "--backend", "embedded"], env=env)
    assert embedded.exit_code == 0 and "nothing to load" in embedded.output
    down = runner.invoke(app, ["kg", "status"], env={"RAREGRAPH_NEO4J_URI": f"bolt://127.0.0.1:{free_port()}"})
    assert down.exit_code == 5 and "cannot reach Neo4j" in down.output


@pytest.mark.usefixtures("java_and_maven")
def test_neo4j_killed_mid_load_then_rerun_gives_one_complete_copy(
    tmp_path: Path, free_port: Callable[[], int], neo4j_start_timeout_s: float, crafted_snapshot: Snapshot,
    reference_counts: tuple[int, int],
) -> None:
    """A second server of its own: SIGKILL it mid-load, start it again (recovery), re-run the load."""
    data_dir = tmp_path / "neo4j-crash"
    info = local_neo4j.start(data_dir, free_port(), timeout_s=neo4j_start_timeout_s)
    try:
        with open_driver(info.bolt_uri, timeout_s=3.0) as driver:
            with pytest.raises(GraphUnavailableError, match="no active snapshot"):
                Neo4jGraph(driver)
            seen: list[str] = []

            def crash(step: str, done: int, total: int) -> None:
                if done and total:
                    seen.append(step)
                    if len(seen) == 10:
                        os.kill(info.pid, signal.SIGKILL)

            with pytest.raises(GraphUnavailableError):
                load_snapshot(driver, crafted_snapshot, batch_size=1, progress=crash)
        local_neo4j.stop(data_dir)
        info = local_neo4j.start(data_dir, info.port, timeout_s=neo4j_start_timeout_s)
        with open_driver(info.bolt_uri) as driver:
            assert snapshot_info(driver, crafted_snapshot.id).state == "loading"  # type: ignore[union-attr]
            with pytest.raises(GraphUnavailableError, match="no active snapshot"):
                Neo4jGraph(driver)
            report = load_snapshot(driver, crafted_snapshot)
            assert report.status == "loaded" and _counts(driver, crafted_snapshot.id) == reference_counts
            assert _markers(driver, crafted_snapshot.id) == 1
            assert Neo4jGraph(driver).snapshot_id == crafted_snapshot.id
    finally:
        local_neo4j.stop(data_dir)


def test_every_column_of_a_step_is_set_by_its_statement(crafted_snapshot: Snapshot) -> None:
    """Statements set properties column by column: a column added to a table fails here until its statement sets it."""
    from raregraph.kg.cypher_files import cypher_file
    from raregraph.kg.neo4j_rows import steps

    for step in steps(crafted_snapshot):
        body = cypher_file(step.statement).body
        if "keys($cols)" in body:  # :Record nodes take whatever columns an unmapped table has
            continue
        for column in step.frame.columns:
            if column not in ("start", "end"):
                assert f".{column} = $cols.{column}[i]" in body, f"{step.statement} does not set {column!r} of {step.name}"


@pytest.mark.usefixtures("java_and_maven")
def test_refresh_switches_side_by_side_while_a_reader_runs(
    tmp_path: Path, free_port: Callable[[], int], neo4j_start_timeout_s: float, crafted_snapshot: Snapshot,
) -> None:
    """A server of its own (a refresh drops older snapshots): a reader thread reads before, during and after
    the switch; no read fails, none mixes two snapshots, and the oldest snapshot is dropped in the background."""
    terms = crafted_snapshot.table("terms")
    oldest, old = (copy_snapshot(crafted_snapshot, tmp_path, f"{crafted_snapshot.id}-{tag}") for tag in ("oldest", "old"))
    new = copy_snapshot(crafted_snapshot, tmp_path, f"{crafted_snapshot.id}-new",
                        {"terms": terms.with_columns(pl.col("label") + " (new)")})
    term_ids = terms["id"].to_list()
    data_dir = tmp_path / "neo4j-refresh"
    info = local_neo4j.start(data_dir, free_port(), timeout_s=neo4j_start_timeout_s)
    try:
        with open_driver(info.bolt_uri, timeout_s=30.0) as driver:
            load_snapshot(driver, oldest)
            first = refresh_snapshot(driver, old, keep=1)
            assert first.previous == [oldest.id] and first.dropping == [] and first.wait(60)
            reads = {"before": 0, "after": 0, "mixed": 0}
            failures: list[str] = []
            stop, switched = threading.Event(), threading.Event()

            def reader() -> None:
                while not stop.is_set():
                    try:
                        graph = Neo4jGraph(driver)  # follows the active snapshot, one read at a time
                        labels = [t.label or "" for t in graph.terms(term_ids).values()]
                        genes = graph.genes_of_diseases(["OMIM:154700"])
                        fresh = [label.endswith(" (new)") for label in labels]
                        if len(labels) != len(term_ids) or len(set(fresh)) != 1 or fresh[0] != (graph.snapshot_id == new.id) \
                                or [g.symbol for g in genes["OMIM:154700"]] != ["FBN1"]:
                            reads["mixed"] += 1
                        reads["after" if graph.snapshot_id == new.id else "before"] += 1
                    except Exception as err:  # noqa: BLE001 - every failed read is counted and shown
                        failures.append(repr(err))
                    if reads["before"] >= 500 and not switched.is_set():
                        switched.set()

            thread = threading.Thread(target=reader)
            thread.start()
            try:
                assert switched.wait(300), f"the reader never reached 500 reads: {reads} {failures[:3]}"
                report = refresh_snapshot(driver, new, keep=1, drop_batch_size=5)
                assert report.previous == [old.id] and report.dropping == [oldest.id]
                assert report.wait(120) and report.dropped == [oldest.id] and not report.errors
                deadline = time.monotonic() + 300
                while reads["after"] < 500 and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                stop.set()
                thread.join(60)
            assert failures == [] and reads["mixed"] == 0, (reads, failures[:3])
            assert reads["before"] >= 500 and reads["after"] >= 500
            states = {i.id: (i.state, i.active) for i in list_snapshots(driver)}
            assert states == {new.id: ("complete", True), old.id: ("complete", False)}
            assert _counts(driver, oldest.id) == (0, 0)
            # a drop killed half-way leaves its marker 'dropping': the next refresh finishes it
            driver.execute_query(load_cypher("snapshot_retire_by_id"), snapshot=old.id)
            again = refresh_snapshot(driver, new, keep=1, background=False)
            assert again.load.status == "already-loaded" and again.dropped == [old.id]
            assert [i.id for i in list_snapshots(driver)] == [new.id] and _counts(driver, old.id) == (0, 0)
    finally:
        local_neo4j.stop(data_dir)
