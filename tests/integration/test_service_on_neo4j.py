"""The diagnosis service on the Neo4j back-end gives the embedded back-end's answer."""

from __future__ import annotations

import logging

import pytest

from raregraph.models import CaseRequest, VariantIn
from raregraph.api.service import build_service
from raregraph.settings import Settings
from raregraph.errors import SnapshotNotFoundError
from raregraph.etl.snapshot import Snapshot
from raregraph.kg import neo4j_server as local_neo4j
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.kg.neo4j import Neo4jGraph

pytestmark = pytest.mark.integration


def test_neo4j_backend_matches_embedded(
    neo4j_server: local_neo4j.ServerInfo, neo4j_default_graph: Neo4jGraph, default_snapshot: Snapshot
) -> None:
    case = CaseRequest(hpo_present=["HP:0001166", "HP:0001083", "HP:0002616"], variants=[VariantIn(gene="FBN1")])
    common = {"snapshot_dir": default_snapshot.path.parent, "snapshot": default_snapshot.id, "embedding_enabled": False}
    embedded = build_service(Settings(**common)).diagnose(case, top=5)
    on_neo4j = build_service(Settings(backend="neo4j", neo4j_uri=neo4j_server.bolt_uri, **common))
    try:
        answer = on_neo4j.diagnose(case, top=5)
    finally:
        on_neo4j.graph.close()  # type: ignore[attr-defined]
    assert answer.snapshot_id == embedded.snapshot_id
    assert [c.disease_id for c in answer.candidates] == [c.disease_id for c in embedded.candidates]
    assert answer.candidates[0].evidence == embedded.candidates[0].evidence


def test_neo4j_backend_needs_the_snapshot_files(neo4j_server: local_neo4j.ServerInfo, neo4j_default_graph: Neo4jGraph, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SnapshotNotFoundError, match="files are not under"):
        build_service(Settings(backend="neo4j", neo4j_uri=neo4j_server.bolt_uri, snapshot_dir=tmp_path))


def test_a_diagnosis_with_evidence_reads_neo4j_in_two_round_trips(
    neo4j_server: local_neo4j.ServerInfo, neo4j_default_graph: Neo4jGraph, default_snapshot: Snapshot,
    default_graph: EmbeddedGraph, caplog: pytest.LogCaptureFixture,
) -> None:
    """Term resolution, then the shown candidates' annotations, labels and genes: one statement each, whatever
    the case's size, counted in the driver's own Bolt log (each RUN message is a statement, BEGIN a transaction)."""
    marfan = sorted({a.term_id for a in default_graph.disease_phenotypes(["OMIM:154700"])["OMIM:154700"] if not a.negated})
    cases = [
        CaseRequest(hpo_present=["HP:0001166", "HP:0001083", "HP:0002616"], hpo_excluded=["HP:0001250"],
                    variants=[VariantIn(gene="FBN1")]),
        CaseRequest(hpo_present=marfan, hpo_excluded=["HP:0001250", "HP:0000518"]),  # dozens of terms
    ]
    common = {"snapshot_dir": default_snapshot.path.parent, "snapshot": default_snapshot.id, "embedding_enabled": False}
    embedded = build_service(Settings(**common))
    on_neo4j = build_service(Settings(backend="neo4j", neo4j_uri=neo4j_server.bolt_uri, **common))
    try:
        for case in cases:
            caplog.clear()
            with caplog.at_level(logging.DEBUG, logger="neo4j.io"):
                answer = on_neo4j.diagnose(case, top=10)
            messages = [r.getMessage() for r in caplog.records]
            sent = [m.split("  C: ", 1)[1].split(" ", 1)[0] for m in messages if "  C: " in m]
            assert (sent.count("RUN"), sent.count("BEGIN")) == (2, 0), sent
            assert answer.model_dump_json() == embedded.diagnose(case, top=10).model_dump_json()
    finally:
        on_neo4j.graph.close()  # type: ignore[attr-defined]
