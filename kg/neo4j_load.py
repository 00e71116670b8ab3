"""Loading snapshots into Neo4j safely, and listing, activating and dropping them.

Layout: every data node carries `snapshot` (the snapshot id), so several snapshots live side by
side in one database (Community edition has one user database). One `:Snapshot {id}` marker per
snapshot holds its state: `loading` → `complete` (→ `dropping` while it is dropped), and at
most one complete marker is `active`.

A load (`load_snapshot`):
1. applies `cypher/schema.cypher` (constraints and indexes, idempotent);
2. returns at once if the snapshot is already `complete` with this layout version (then only
   activates it); otherwise sets its marker to `loading` with a fresh token and deletes, in
   batches, whatever an earlier interrupted load of the same id left behind;
3. writes nodes, then relationships, then derived keys, each table in column-wise batches (one
   transaction per batch, `workers` in flight; see `kg.neo4j_rows`), relationships by the element
   ids the node batches returned, reporting progress after each batch;
4. counts what is in the database and compares it with what the batches created; only then
   marks the snapshot `complete` (one transaction, only for the token that began the load);
5. activates it (one transaction: the previous active marker loses `active` in the same commit).

Readers (`kg.neo4j.Neo4jGraph`) only read a `complete` snapshot, so a load killed at any point —
the loader process or Neo4j itself — is never seen, and re-running it ends with exactly one
complete copy. One loader per snapshot id at a time. `refresh_snapshot` is the side-by-side
refresh: load without activating, switch in one transaction, drop older snapshots in the background.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import neo4j

from raregraph.errors import GraphUnavailableError, RaregraphError, SnapshotNotFoundError
from raregraph.etl.snapshot import Snapshot
from raregraph.kg.cypher_files import load_cypher, schema_statements
from raregraph.kg.neo4j import neo4j_errors
from raregraph.kg.neo4j_rows import TABLE_MAP, EdgeTable, IdMap, NodeTable, Step, edge_batches, node_batches
from raregraph.kg.neo4j_rows import steps as load_steps

__all__ = [
    "DEFAULT_BATCH_SIZE", "DEFAULT_WORKERS", "LAYOUT_VERSION", "TABLE_MAP", "NodeTable", "EdgeTable", "StepReport", "LoadReport",
    "SnapshotInfo", "Progress", "apply_schema", "load_snapshot", "complete_snapshot", "activate_snapshot", "drop_snapshot",
    "list_snapshots", "snapshot_info", "server_info", "RefreshReport", "refresh_snapshot",
]

DEFAULT_BATCH_SIZE = 20_000
DROP_BATCH_SIZE = 10_000  # nodes or relationships deleted per transaction
DEFAULT_WORKERS = 2  # write transactions in flight: one packs its batch while the server runs the other
LAYOUT_VERSION = 1  # bump when the graph layout changes: complete snapshots of an older layout are reloaded

_log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""Called with (step, rows done, rows in the step) when a step starts and after each committed batch."""


@dataclass(frozen=True)
class StepReport:
    """Rows sent for one step and what they created; `skipped` rows named a node the snapshot lacks."""

    rows: int
    created: int
    duplicates: int = 0

    @property
    def skipped(self) -> int:
        return self.rows - self.created


@dataclass(frozen=True)
class LoadReport:
    snapshot_id: str
    status: str  # "loaded" | "already-loaded"
    active: bool
    steps: dict[str, StepReport] = field(default_factory=dict)
    nodes: int = 0
    relationships: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class SnapshotInfo:
    """A `:Snapshot` marker: what `raregraph kg list` shows."""

    id: str
    state: str  # loading | complete | dropping
    active: bool
    started_at: str | None = None
    loaded_at: str | None = None
    activated_at: str | None = None
    nodes: int | None = None
    relationships: int | None = None
    load_seconds: float | None = None
    layout_version: int | None = None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read(driver: neo4j.Driver, database: str, name: str, **params: Any) -> list[dict[str, Any]]:
    with neo4j_errors(f"query {name}"):
        records, _, _ = driver.execute_query(load_cypher(name), params, database_=database, routing_=neo4j.RoutingControl.READ)
    return [r.data() for r in records]


def _write(driver: neo4j.Driver, database: str, name: str, **params: Any) -> list[dict[str, Any]]:
    """One statement in one write transaction (retried by the driver on transient errors)."""
    text = load_cypher(name)

    def work(tx: neo4j.ManagedTransaction) -> list[dict[str, Any]]:
        return [r.data() for r in tx.run(text, params)]

    with neo4j_errors(f"write {name}"), driver.session(database=database) as session:
        return session.execute_write(work)


def apply_schema(driver: neo4j.Driver, *, database: str = "neo4j") -> None:
    """Create the layout's constraints and indexes (IF NOT EXISTS) and wait until they are online."""
    with neo4j_errors("applying the schema"), driver.session(database=database) as session:
        for statement in schema_statements():
            session.run(statement).consume()
        session.run("CALL db.awaitIndexes(300)").consume()


def snapshot_info(driver: neo4j.Driver, snapshot_id: str, *, database: str = "neo4j") -> SnapshotInfo | None:
    rows = _read(driver, database, "snapshot_by_id", snapshot=snapshot_id)
    return _info(rows[0]["marker"]) if rows else None


def list_snapshots(driver: neo4j.Driver, *, database: str = "neo4j") -> list[SnapshotInfo]:
    """Every snapshot marker, newest first."""
    return [_info(row["marker"]) for row in _read(driver, database, "snapshots_by_loaded_at")]


def server_info(driver: neo4j.Driver, *, database: str = "neo4j") -> dict[str, str]:
    """The server's product name, version and edition."""
    row = _read(driver, database, "server_by_components")[0]
    return {"name": row["name"], "version": ",".join(row["versions"]), "edition": row["edition"]}


def activate_snapshot(driver: neo4j.Driver, snapshot_id: str, *, database: str = "neo4j") -> list[str]:
    """Make a complete snapshot the active one (one transaction); returns the ids that were active before.

    Raises:
        SnapshotNotFoundError: no complete snapshot `snapshot_id` in the database.
    """
    rows = _write(driver, database, "snapshot_activate_by_id", snapshot=snapshot_id, activated_at=_now())
    if not rows:
        raise SnapshotNotFoundError(f"snapshot {snapshot_id!r} is not loaded completely in Neo4j; nothing activated")
    return list(rows[0]["previous"])


def drop_snapshot(
    driver: neo4j.Driver, snapshot_id: str, *, database: str = "neo4j", force: bool = False,
    batch_size: int = DROP_BATCH_SIZE, progress: Progress | None = None, pause_s: float = 0.0,
) -> int:
    """Delete a snapshot's nodes and relationships in batches, then its marker; returns nodes deleted.

    The marker leaves `complete` first, so readers stop at once; an interrupted drop is finished
    by running it again. `pause_s` between batches leaves the server to readers (background drops).

    Raises:
        SnapshotNotFoundError: no marker for `snapshot_id`.
        RaregraphError: the snapshot is the active one and `force` is not set.
    """
    info = snapshot_info(driver, snapshot_id, database=database)
    if info is None:
        raise SnapshotNotFoundError(f"no snapshot {snapshot_id!r} in Neo4j database {database!r}")
    if info.active and not force:
        raise RaregraphError(f"snapshot {snapshot_id!r} is the active one; activate another first or pass --force")
    _write(driver, database, "snapshot_retire_by_id", snapshot=snapshot_id)
    deleted = _delete_snapshot_data(driver, database, snapshot_id, batch_size, progress, pause_s)
    _write(driver, database, "snapshot_delete_by_id", snapshot=snapshot_id)
    return deleted


def _delete_snapshot_data(
    driver: neo4j.Driver, database: str, snapshot_id: str, batch_size: int, progress: Progress | None, pause_s: float = 0.0
) -> int:
    """Delete relationships, then nodes, of one snapshot, `batch_size` per transaction; returns nodes deleted."""
    nodes = 0
    for name, step in (("snapshot_relationships_by_snapshot", "delete relationships"), ("snapshot_nodes_by_snapshot", "delete nodes")):
        done = 0
        if progress:
            progress(step, 0, 0)
        while True:
            deleted = int(_write(driver, database, name, snapshot=snapshot_id, batch_size=batch_size)[0]["deleted"])
            done += deleted
            if progress:
                progress(step, done, 0)
            if deleted == 0:
                break
            if pause_s:
                time.sleep(pause_s)
        nodes = done
    return nodes


def load_snapshot(
    driver: neo4j.Driver, snapshot: Snapshot, *, database: str = "neo4j", batch_size: int = DEFAULT_BATCH_SIZE,
    activate: bool = True, progress: Progress | None = None, workers: int = DEFAULT_WORKERS,
) -> LoadReport:
    """Load `snapshot` completely, then (with `activate`) make it the active one; see the module docstring.

    Idempotent: a snapshot already complete is not loaded again. `progress` is called after each
    committed batch; an exception it raises stops the load (as a crash would: batches in flight
    finish first) and is re-raised. `workers` batches of one step are written at a time.

    Raises:
        GraphUnavailableError: the server fails or is unreachable, or the counts after loading
            do not match what was written (the snapshot then stays `loading`, never active).
    """
    if batch_size < 1 or workers < 1:
        raise ValueError("batch_size and workers must be at least 1")
    started = time.perf_counter()
    apply_schema(driver, database=database)
    snapshot_id = snapshot.id
    info = snapshot_info(driver, snapshot_id, database=database)
    if info is not None and info.state == "complete" and info.layout_version == LAYOUT_VERSION:
        if activate:
            activate_snapshot(driver, snapshot_id, database=database)
        return LoadReport(snapshot_id, "already-loaded", active=activate or info.active,
                          nodes=info.nodes or 0, relationships=info.relationships or 0)
    token = uuid.uuid4().hex
    _write(driver, database, "snapshot_begin_by_id", snapshot=snapshot_id, token=token, started_at=_now(),
           manifest_json=json.dumps(snapshot.manifest, sort_keys=True), layout_version=LAYOUT_VERSION)
    _delete_snapshot_data(driver, database, snapshot_id, batch_size, progress)

    steps: dict[str, StepReport] = {}
    created_nodes: dict[str, int] = {}
    relationships = 0
    ids = IdMap()
    with neo4j_errors(f"loading snapshot {snapshot_id}"), _Writer(driver, database, workers) as writer:
        for step in load_steps(snapshot):
            created = writer.step(step, snapshot_id, batch_size, ids, progress)
            steps[step.name] = StepReport(rows=step.frame.height, created=created, duplicates=step.duplicates)
            label = step.created_label
            if label is not None:
                created_nodes[label] = created_nodes.get(label, 0) + created
            if step.edge is not None:
                relationships += created  # every edge step creates one relationship per row it creates
    node_total = complete_snapshot(driver, snapshot_id, token, steps, created_nodes, relationships,
                                   seconds=time.perf_counter() - started, database=database)
    if activate:
        activate_snapshot(driver, snapshot_id, database=database)
    return LoadReport(snapshot_id, "loaded", active=activate, steps=steps, nodes=node_total,
                      relationships=relationships, seconds=time.perf_counter() - started)


def complete_snapshot(
    driver: neo4j.Driver, snapshot_id: str, token: str, steps: dict[str, StepReport], created_nodes: dict[str, int],
    relationships: int, *, seconds: float, database: str = "neo4j", counted_nodes: int | None = None,
) -> int:
    """Count the snapshot in the database against what was written, then mark it `complete` (for `token` only); its nodes.

    `counted_nodes`: the caller has counted the snapshot already (a bulk import, from the store's
    counts), and this is its node total.

    Raises:
        GraphUnavailableError: the counts differ (the snapshot stays `loading`), or another load
            took the marker over.
    """
    node_total = _verify(driver, database, snapshot_id, created_nodes, relationships) if counted_nodes is None else counted_nodes
    counts = {"nodes": created_nodes, "steps": {k: {"rows": v.rows, "created": v.created, "duplicates": v.duplicates}
                                                for k, v in steps.items()}}
    done = _write(driver, database, "snapshot_complete_by_id", snapshot=snapshot_id, token=token, loaded_at=_now(),
                  counts_json=json.dumps(counts, sort_keys=True), nodes=node_total, relationships=relationships,
                  load_seconds=round(seconds, 3))
    if not done:
        raise GraphUnavailableError(f"the load of snapshot {snapshot_id!r} was taken over by another loader; not completed")
    return node_total


@dataclass
class RefreshReport:
    """A side-by-side refresh: the load, the ids active before the switch, and the background drop."""

    load: LoadReport
    previous: list[str]
    dropping: list[str]
    dropped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dropper: threading.Thread | None = None

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the background drop; True when it has finished."""
        if self.dropper is not None:
            self.dropper.join(timeout_s)
            return not self.dropper.is_alive()
        return True


def refresh_snapshot(
    driver: neo4j.Driver, snapshot: Snapshot, *, database: str = "neo4j", keep: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE, workers: int = DEFAULT_WORKERS, progress: Progress | None = None,
    background: bool = True, drop_batch_size: int = DROP_BATCH_SIZE, drop_pause_s: float = 0.05,
) -> RefreshReport:
    """Load `snapshot` next to the active one, switch to it in one transaction, then drop older snapshots.

    Readers see the old snapshot until the switch commits and the new one after it, never a mix
    (every read is pinned to one snapshot id). The `keep` most recently active other snapshots
    stay (the one just replaced serves graphs opened before the switch, and a switch back);
    older complete snapshots, and drops an earlier run left unfinished, are dropped in bounded
    batches, in a background thread when `background` (see `RefreshReport.wait`). A refresh
    killed at any point is finished by running it again.

    Raises:
        GraphUnavailableError: as `load_snapshot`; the active snapshot is then unchanged.
    """
    if keep < 0:
        raise ValueError("keep must be at least 0")
    report = load_snapshot(driver, snapshot, database=database, batch_size=batch_size, activate=False,
                           progress=progress, workers=workers)
    previous = activate_snapshot(driver, snapshot.id, database=database)
    others = [i for i in list_snapshots(driver, database=database) if i.id != snapshot.id]
    # the snapshot just replaced first, then the most recently active ones
    ranked = sorted((i for i in others if i.state == "complete"),
                    key=lambda i: (i.id in previous, i.activated_at or ""), reverse=True)
    kept = ranked[:keep]
    doomed = [i.id for i in others if i.state in ("complete", "dropping") and i not in kept]
    result = RefreshReport(load=report, previous=previous, dropping=doomed)

    def drop_all() -> None:
        for snapshot_id in doomed:
            try:
                drop_snapshot(driver, snapshot_id, database=database, force=True, batch_size=drop_batch_size,
                              pause_s=drop_pause_s)
                result.dropped.append(snapshot_id)
            except RaregraphError as err:  # the next refresh (or `kg drop`) finishes it
                _log.warning("dropping snapshot %s failed: %s", snapshot_id, err)
                result.errors.append(f"{snapshot_id}: {err}")

    if doomed and background:
        result.dropper = threading.Thread(target=drop_all, name="neo4j-drop", daemon=False)
        result.dropper.start()
    elif doomed:
        drop_all()
    return result


class _Writer:
    """Writes the batches of one step, up to `workers` write transactions at a time (one session each).

    Batches of one step never depend on each other (node steps create distinct nodes, edge steps
    relationships between nodes that already exist); a deadlock between two of them is a transient
    error the driver retries. Steps run one after the other: edges need the id map of the nodes.
    """

    def __init__(self, driver: neo4j.Driver, database: str, workers: int) -> None:
        self._driver, self._database, self._workers = driver, database, workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="neo4j-load")

    def __enter__(self) -> "_Writer":
        return self

    def __exit__(self, *exc: object) -> None:
        # On an error nothing more is started, and batches in flight finish before we return, so a
        # re-run never races a batch of the run it replaces.
        self._pool.shutdown(wait=True, cancel_futures=True)

    def step(self, step: Step, snapshot_id: str, batch_size: int, ids: IdMap, progress: Progress | None) -> int:
        """Send every batch of `step`; return what it created (node steps also fill `ids`)."""
        text = load_cypher(step.statement)
        total, done, created = step.frame.height, 0, 0
        if progress:
            progress(step.name, 0, total)
        pending: dict[Future[dict[str, Any]], tuple[int, list[str]]] = {}  # batch -> (rows it covers, node ids)

        def collect(block: bool) -> None:
            nonlocal done, created
            finished, _ = wait(pending, return_when=FIRST_COMPLETED) if block else (set(pending), None)
            for future in finished:
                size, batch_ids = pending.pop(future)
                result = future.result()
                if "ids" in result:
                    ids.add(step.label or "", batch_ids, result["ids"])
                    created += len(result["ids"])
                else:
                    created += int(result["created"])
                done += size
                if progress:
                    progress(step.name, done, total)

        for params, size, batch_ids in self._batches(step, snapshot_id, batch_size, ids):
            while len(pending) >= self._workers:
                collect(block=True)
            pending[self._pool.submit(self._run, text, params)] = (size, batch_ids)
        while pending:
            collect(block=True)
        return created

    @staticmethod
    def _batches(step: Step, snapshot_id: str, batch_size: int, ids: IdMap) -> Iterator[tuple[dict[str, Any], int, list[str]]]:
        """(statement parameters, rows of the step it covers, node ids) per batch."""
        base = {"snapshot": snapshot_id, **step.params}
        if step.edge is None:
            for params, batch_ids in node_batches(step.frame, batch_size):
                yield {**base, **params}, params["count"], batch_ids
        else:
            for params, size in edge_batches(step.frame, step.edge, ids, batch_size):
                yield {**base, **params}, size, []

    def _run(self, text: str, params: dict[str, Any]) -> dict[str, Any]:
        """One batch in one write transaction (retried by the driver on transient errors such as deadlocks)."""
        def work(tx: neo4j.ManagedTransaction) -> dict[str, Any]:
            return tx.run(text, params).single(strict=True).data()

        with self._driver.session(database=self._database) as session:
            return session.execute_write(work)


def _node_counts(driver: neo4j.Driver, database: str, snapshot_id: str) -> dict[str, int]:
    return {row["label"]: int(row["nodes"]) for row in _read(driver, database, "node_counts_by_snapshot", snapshot=snapshot_id)}


def _verify(driver: neo4j.Driver, database: str, snapshot_id: str, created_nodes: dict[str, int], relationships: int) -> int:
    """Compare the database's counts for the snapshot with what the batches reported creating; return its nodes."""
    counts = _node_counts(driver, database, snapshot_id)
    rel_rows = _read(driver, database, "relationship_counts_by_snapshot", snapshot=snapshot_id)
    in_db = sum(int(row["relationships"]) for row in rel_rows)
    problems = [f"{label}: {counts.get(label, 0)} in the database, {n} written"
                for label, n in created_nodes.items() if counts.get(label, 0) != n]
    if in_db != relationships:
        problems.append(f"relationships: {in_db} in the database, {relationships} written")
    if problems:
        raise GraphUnavailableError(f"snapshot {snapshot_id!r} did not load completely ({'; '.join(problems)}); run the load again")
    return sum(counts.values())


def _info(marker: dict[str, Any]) -> SnapshotInfo:
    return SnapshotInfo(
        id=marker["id"], state=marker.get("state") or "loading", active=bool(marker.get("active")),
        started_at=marker.get("started_at"), loaded_at=marker.get("loaded_at"), activated_at=marker.get("activated_at"),
        nodes=marker.get("nodes"), relationships=marker.get("relationships"), load_seconds=marker.get("load_seconds"),
        layout_version=marker.get("layout_version"),
    )
