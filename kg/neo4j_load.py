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
3. writes nodes, then relationships, then derived keys, each table in batches of `UNWIND $rows`
   (one transaction per batch), reporting progress after each batch;
4. counts what is in the database and compares it with what the batches created; only then
   marks the snapshot `complete` (one transaction, only for the token that began the load);
5. activates it (one transaction: the previous active marker loses `active` in the same commit).

Readers (`kg.neo4j.Neo4jGraph`) only read a `complete` snapshot, so a load killed at any point —
the loader process or Neo4j itself — is never seen, and re-running it ends with exactly one
complete copy. One loader per snapshot id at a time.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import neo4j
import polars as pl

from raregraph.errors import GraphUnavailableError, RaregraphError, SnapshotNotFoundError
from raregraph.etl.snapshot import Snapshot
from raregraph.etl.tables import TABLES
from raregraph.kg.cypher_files import load_cypher, schema_statements
from raregraph.kg.model import NodeLabel, normalize_chrom, normalize_label
from raregraph.kg.neo4j import neo4j_errors

__all__ = [
    "DEFAULT_BATCH_SIZE", "LAYOUT_VERSION", "TABLE_MAP", "NodeTable", "EdgeTable", "StepReport", "LoadReport",
    "SnapshotInfo", "Progress", "apply_schema", "load_snapshot", "activate_snapshot", "drop_snapshot",
    "list_snapshots", "snapshot_info", "server_info",
]

DEFAULT_BATCH_SIZE = 10_000
LAYOUT_VERSION = 1  # bump when the graph layout changes: complete snapshots of an older layout are reloaded

Progress = Callable[[str, int, int], None]
"""Called with (step, rows done, rows in the step) when a step starts and after each committed batch."""


@dataclass(frozen=True)
class NodeTable:
    """A snapshot table loaded as nodes (one per distinct `id`)."""

    statement: str
    label: str


@dataclass(frozen=True)
class EdgeTable:
    """A snapshot table loaded as relationships (or, for synonyms, nodes hung off their owner)."""

    statement: str
    start: str  # column holding the start node's id
    end: str | None = None  # column holding the end node's id (None: the statement creates the end node)
    rename: tuple[tuple[str, str], ...] = ()  # (column, property) renames


# Every table of etl/tables.py; a table added there without an entry here is still loaded, as
# :Record nodes (`record_nodes_by_rows`), and a test fails until it gets a real mapping.
TABLE_MAP: dict[str, NodeTable | EdgeTable] = {
    "terms": NodeTable("phenotype_nodes_by_rows", NodeLabel.TERM),
    "diseases": NodeTable("disease_nodes_by_rows", NodeLabel.DISEASE),
    "genes": NodeTable("gene_nodes_by_rows", NodeLabel.GENE),
    "variants": NodeTable("variant_nodes_by_rows", NodeLabel.VARIANT),
    "term_synonyms": EdgeTable("term_synonyms_by_rows", "term_id", rename=(("synonym", "text"),)),
    "disease_synonyms": EdgeTable("disease_synonyms_by_rows", "disease_id", rename=(("synonym", "text"),)),
    "disease_xrefs": EdgeTable("disease_xrefs_by_rows", "disease_id", "xref_id"),
    "term_parents": EdgeTable("is_a_edges_by_rows", "term_id", "parent_id"),
    "disease_phenotypes": EdgeTable("has_phenotype_edges_by_rows", "disease_id", "term_id"),
    "disease_inheritance": EdgeTable("has_inheritance_edges_by_rows", "disease_id", "term_id"),
    "disease_genes": EdgeTable("associated_with_edges_by_rows", "disease_id", "gene_id"),
    "gene_phenotypes": EdgeTable("gene_has_phenotype_edges_by_rows", "gene_id", "term_id"),
    "variant_diseases": EdgeTable("asserted_for_edges_by_rows", "variant_id", "disease_id"),
}
_NODES_ONLY = {spec.statement for spec in TABLE_MAP.values() if isinstance(spec, NodeTable)} | {"record_nodes_by_rows"}
_CREATES_NODES = {"term_synonyms_by_rows": "Synonym", "disease_synonyms_by_rows": "Synonym",
                  "term_aliases_by_rows": "TermAlias", "gene_keys_by_rows": "GeneKey"}


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
    batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress | None = None,
) -> int:
    """Delete a snapshot's nodes and relationships in batches, then its marker; returns nodes deleted.

    The marker leaves `complete` first, so readers stop at once; an interrupted drop is finished
    by running it again.

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
    deleted = _delete_snapshot_data(driver, database, snapshot_id, batch_size, progress)
    _write(driver, database, "snapshot_delete_by_id", snapshot=snapshot_id)
    return deleted


def _delete_snapshot_data(driver: neo4j.Driver, database: str, snapshot_id: str, batch_size: int, progress: Progress | None) -> int:
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
        nodes = done
    return nodes


def load_snapshot(
    driver: neo4j.Driver, snapshot: Snapshot, *, database: str = "neo4j", batch_size: int = DEFAULT_BATCH_SIZE,
    activate: bool = True, progress: Progress | None = None,
) -> LoadReport:
    """Load `snapshot` completely, then (with `activate`) make it the active one; see the module docstring.

    Idempotent: a snapshot already complete is not loaded again. `progress` is called after each
    committed batch; an exception it raises stops the load (as a crash would) and is re-raised.

    Raises:
        GraphUnavailableError: the server fails or is unreachable, or the counts after loading
            do not match what was written (the snapshot then stays `loading`, never active).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
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
    with neo4j_errors(f"loading snapshot {snapshot_id}"), driver.session(database=database) as session:
        for step, statement, frame, duplicates, params in _steps(snapshot):
            created = _load_step(session, step, statement, frame, snapshot_id, batch_size, progress, params)
            steps[step] = StepReport(rows=frame.height, created=created, duplicates=duplicates)
            label = _node_label(statement)
            if label is not None:
                created_nodes[label] = created_nodes.get(label, 0) + created
            if statement not in _NODES_ONLY:
                relationships += created  # every other step creates one relationship per row it creates
    _verify(driver, database, snapshot_id, created_nodes, relationships)
    counts = {"nodes": created_nodes, "steps": {k: {"rows": v.rows, "created": v.created, "duplicates": v.duplicates}
                                                for k, v in steps.items()}}
    node_total = sum(n for label, n in _node_counts(driver, database, snapshot_id).items())
    seconds = time.perf_counter() - started
    done = _write(driver, database, "snapshot_complete_by_id", snapshot=snapshot_id, token=token, loaded_at=_now(),
                  counts_json=json.dumps(counts, sort_keys=True), nodes=node_total, relationships=relationships,
                  load_seconds=round(seconds, 3))
    if not done:
        raise GraphUnavailableError(f"the load of snapshot {snapshot_id!r} was taken over by another loader; not completed")
    if activate:
        activate_snapshot(driver, snapshot_id, database=database)
    return LoadReport(snapshot_id, "loaded", active=activate, steps=steps, nodes=node_total,
                      relationships=relationships, seconds=time.perf_counter() - started)


def _node_label(statement: str) -> str | None:
    """The label of the nodes a step creates one per row (None: the step creates relationships only)."""
    for spec in TABLE_MAP.values():
        if isinstance(spec, NodeTable) and spec.statement == statement:
            return spec.label
    if statement == "record_nodes_by_rows":
        return "Record"
    return _CREATES_NODES.get(statement)


def _load_step(
    session: neo4j.Session, step: str, statement: str, frame: pl.DataFrame, snapshot_id: str, batch_size: int,
    progress: Progress | None, params: dict[str, Any],
) -> int:
    """Send `frame` in batches (one write transaction each); returns what the statement created."""
    text = load_cypher(statement)
    total, created = frame.height, 0

    def work(tx: neo4j.ManagedTransaction, rows: list[dict[str, Any]]) -> int:
        return int(tx.run(text, {"snapshot": snapshot_id, "rows": rows, **params}).single(strict=True)["created"])

    if progress:
        progress(step, 0, total)
    for offset in range(0, total, batch_size):
        rows = [_clean(row) for row in frame.slice(offset, batch_size).to_dicts()]
        created += session.execute_write(work, rows)
        if progress:
            progress(step, min(offset + batch_size, total), total)
    return created


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """A row as Neo4j stores it: no null values, no empty lists, no nulls inside lists (nested `props` too).

    Readers treat an absent property as null and an absent list as empty, so nothing is lost,
    and far fewer values travel over Bolt.
    """
    out = {}
    for key, value in row.items():
        if isinstance(value, list):
            value = [v for v in value if v is not None]
        elif isinstance(value, dict):
            value = _clean(value)
        if value is None or (isinstance(value, list) and not value):
            continue
        out[key] = value
    return out


def _steps(snapshot: Snapshot) -> Iterator[tuple[str, str, pl.DataFrame, int, dict[str, Any]]]:
    """(step name, statement, rows, duplicates dropped, extra params) in load order: nodes, edges, derived."""
    from raregraph.kg.embedded import EmbeddedGraph  # derived data comes from the embedded graph's rules

    graph = EmbeddedGraph(snapshot)
    tables = {name: snapshot.table(name) for name in TABLES}
    for name, spec in TABLE_MAP.items():
        if isinstance(spec, NodeTable):
            frame, duplicates = _node_frame(name, tables[name], tables, graph)
            yield name, spec.statement, frame, duplicates, {}
    for name in TABLES:
        if name not in TABLE_MAP:
            frame = tables[name].with_row_index("ord")
            yield name, "record_nodes_by_rows", frame, 0, {"table": name}
    for name, spec in TABLE_MAP.items():
        if isinstance(spec, EdgeTable):
            yield name, spec.statement, _edge_frame(tables[name], spec), 0, {}
    terms = tables["terms"]
    replaced = terms.filter(pl.col("replaced_by").is_not_null()).select(
        pl.col("id").alias("start"), pl.col("replaced_by").alias("end"))
    yield "replaced_by", "replaced_by_edges_by_rows", replaced, 0, {}
    yield "term_aliases", "term_aliases_by_rows", _pairs(graph.term_aliases()), 0, {}
    yield "gene_keys", "gene_keys_by_rows", _pairs(graph.gene_keys()), 0, {}
    yield "variant_genes", "in_gene_edges_by_rows", _pairs(graph.variant_gene_ids()), 0, {}


def _pairs(mapping: dict[str, str]) -> pl.DataFrame:
    return pl.DataFrame({"start": list(mapping), "end": list(mapping.values())}, schema={"start": pl.Utf8, "end": pl.Utf8})


def _node_frame(name: str, frame: pl.DataFrame, tables: dict[str, pl.DataFrame], graph: Any) -> tuple[pl.DataFrame, int]:
    """Node rows: distinct non-null ids (first kept), plus the derived properties readers rely on."""
    rows = frame.height
    frame = frame.filter(pl.col("id").is_not_null()).unique(subset="id", keep="first", maintain_order=True)
    duplicates = rows - frame.height
    if name == "terms":
        onto = graph.ontology
        synonyms = tables["term_synonyms"].group_by("term_id", maintain_order=True).agg(pl.col("synonym").alias("synonyms"))
        frame = frame.with_columns(
            pl.col("obsolete").fill_null(False),
            pl.Series("label_norm", [normalize_label(t or "") for t in frame["label"].to_list()], dtype=pl.Utf8),
            pl.Series("ic", [float(onto.ic[onto.position[t]]) for t in frame["id"].to_list()], dtype=pl.Float64),
        ).join(synonyms.rename({"term_id": "id"}), on="id", how="left", maintain_order="left")
    elif name == "diseases":
        synonyms = tables["disease_synonyms"].group_by("disease_id", maintain_order=True).agg(pl.col("synonym").alias("synonyms"))
        frame = frame.with_columns(
            pl.col("obsolete").fill_null(False) if "obsolete" in frame.columns else pl.lit(False).alias("obsolete"),
            pl.Series("name_norm", [normalize_label(t or "") for t in frame["name"].to_list()], dtype=pl.Utf8),
        ).join(synonyms.rename({"disease_id": "id"}), on="id", how="left", maintain_order="left")
    elif name == "variants":
        frame = frame.with_columns(
            pl.col("gene_symbol").str.to_uppercase().alias("gene_symbol_upper"),
            pl.Series("chrom_norm", [normalize_chrom(c) if c is not None else None for c in frame["chrom"].to_list()], dtype=pl.Utf8),
        )
    return frame, duplicates


def _edge_frame(frame: pl.DataFrame, spec: EdgeTable) -> pl.DataFrame:
    """Edge rows as {start, end, props}: props are every other column plus `ord` (the row's position)."""
    frame = frame.with_row_index("ord").with_columns(pl.col("ord").cast(pl.Int64))
    if "negated" in frame.columns:
        frame = frame.with_columns(pl.col("negated").fill_null(False))
    if spec.rename:
        frame = frame.rename(dict(spec.rename))
    if "text" in frame.columns:  # synonyms: the normalised text readers look up
        frame = frame.with_columns(
            pl.Series("norm", [normalize_label(t or "") for t in frame["text"].to_list()], dtype=pl.Utf8))
    ends = [spec.start] + ([spec.end] if spec.end else [])
    props = [c for c in frame.columns if c not in ends]
    return frame.select(
        pl.col(spec.start).alias("start"),
        (pl.col(spec.end) if spec.end else pl.lit(None, pl.Utf8)).alias("end"),
        pl.struct(props).alias("props") if props else pl.lit(None).alias("props"),
    )


def _node_counts(driver: neo4j.Driver, database: str, snapshot_id: str) -> dict[str, int]:
    return {row["label"]: int(row["nodes"]) for row in _read(driver, database, "node_counts_by_snapshot", snapshot=snapshot_id)}


def _verify(driver: neo4j.Driver, database: str, snapshot_id: str, created_nodes: dict[str, int], relationships: int) -> None:
    """Compare the database's counts for the snapshot with what the batches reported creating."""
    counts = _node_counts(driver, database, snapshot_id)
    rel_rows = _read(driver, database, "relationship_counts_by_snapshot", snapshot=snapshot_id)
    in_db = sum(int(row["relationships"]) for row in rel_rows)
    problems = [f"{label}: {counts.get(label, 0)} in the database, {n} written"
                for label, n in created_nodes.items() if counts.get(label, 0) != n]
    if in_db != relationships:
        problems.append(f"relationships: {in_db} in the database, {relationships} written")
    if problems:
        raise GraphUnavailableError(f"snapshot {snapshot_id!r} did not load completely ({'; '.join(problems)}); run the load again")


def _info(marker: dict[str, Any]) -> SnapshotInfo:
    return SnapshotInfo(
        id=marker["id"], state=marker.get("state") or "loading", active=bool(marker.get("active")),
        started_at=marker.get("started_at"), loaded_at=marker.get("loaded_at"), activated_at=marker.get("activated_at"),
        nodes=marker.get("nodes"), relationships=marker.get("relationships"), load_seconds=marker.get("load_seconds"),
        layout_version=marker.get("layout_version"),
    )
