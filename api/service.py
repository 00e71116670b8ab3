"""The one place a service is wired from settings: snapshot, graph back-end, ranking index, text linker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from raregraph.api.pipeline import DiagnosisPipeline
from raregraph.settings import Settings
from raregraph.errors import SnapshotNotFoundError
from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.active import read_active
from raregraph.etl.locate import release_inputs
from raregraph.etl.snapshot import Snapshot
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.ontology import SnapshotOntology
from raregraph.retrieval.retriever import Retriever

__all__ = ["build_service", "build_pipeline", "ensure_snapshot"]

Progress = Callable[[str], None]


def ensure_snapshot(settings: Settings, progress: Progress | None = None) -> Snapshot:
    """The snapshot the settings name, else the active one, else the release's snapshot (pulled and built on first use)."""
    if settings.snapshot:
        candidate = Path(settings.snapshot)
        folder = candidate if candidate.is_dir() else settings.snapshot_dir / settings.snapshot
        if not folder.is_dir():
            raise SnapshotNotFoundError(f"snapshot {settings.snapshot!r} not found (looked in {folder})")
        return Snapshot.open(folder)
    if settings.source_dir:  # a release folder: HPO files plus any Orphadata/OMIM/ClinVar files found there
        inputs = BuildInputs.discover(settings.source_dir)
    else:
        active = None if settings.release else read_active(settings.snapshot_dir)
        if active:  # switched to by `data refresh` / `data use`
            return Snapshot.open(settings.snapshot_dir / active)
        inputs = release_inputs(settings.release or "latest", settings.release_root, say=progress)
    return build_snapshot(inputs, settings.snapshot_dir, progress=progress)


def build_service(settings: Settings, progress: Progress | None = None) -> Retriever:
    """Open the graph (embedded, or Neo4j's active snapshot) and load the ranking index once."""
    graph, snapshot, ontology = _open_graph(settings, progress)
    if progress:
        progress("loading the ranking index")
    retriever = Retriever.from_snapshot(graph, snapshot, settings, ontology)
    if settings.case_evidence:
        from raregraph.api.feedback.confirmed import use_store_cases  # SQLAlchemy loads only when it is on

        use_store_cases(retriever, settings)
    return retriever


def build_pipeline(settings: Settings, progress: Progress | None = None) -> DiagnosisPipeline:
    """The diagnosis pipeline over `build_service(settings)` (the CLI's; the HTTP app builds its own per app)."""
    return DiagnosisPipeline(build_service(settings, progress), settings)


def _open_graph(settings: Settings, progress: Progress | None) -> tuple[KnowledgeGraph, Snapshot, SnapshotOntology]:
    """The graph the settings select, the snapshot files its ranking index is built from, and their one ontology index."""
    if settings.backend == "embedded":
        snapshot = ensure_snapshot(settings, progress)
        ontology = SnapshotOntology(snapshot)  # shared: the graph's look-ups and the ranking index read the same one
        return EmbeddedGraph(snapshot, ontology), snapshot, ontology
    from raregraph.kg.neo4j import Neo4jGraph

    if progress:
        progress(f"connecting to Neo4j at {settings.neo4j_uri}")
    graph = Neo4jGraph.connect(
        settings.neo4j_uri, user=settings.neo4j_user, password=settings.neo4j_password.get_secret_value(),
        database=settings.neo4j_database, snapshot_id=Path(settings.snapshot).name if settings.snapshot else None,
    )
    # The ranking index is built from the same snapshot's Parquet files (each replica holds it in memory).
    folder = settings.snapshot_dir / graph.snapshot_id
    if not folder.is_dir():
        graph.close()
        raise SnapshotNotFoundError(
            f"Neo4j serves snapshot {graph.snapshot_id}, but its files are not under {settings.snapshot_dir}; "
            "the ranking index is built from them (set RAREGRAPH_SNAPSHOT_DIR)"
        )
    snapshot = Snapshot.open(folder)
    return graph, snapshot, SnapshotOntology(snapshot)
