"""Evidence attached by the diagnosis service: every candidate, the first N, or none."""

from __future__ import annotations

import pytest

from raregraph.retrieval.retriever import Retriever
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.models import CaseRequest
from raregraph.retrieval.engine import RankingEngine, ScoringParams
from raregraph.retrieval.index import RankingIndex

MARFAN = CaseRequest(hpo_present=["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545"], hpo_excluded=["HP:0001250"])


@pytest.fixture(scope="module")
def service(default_graph: EmbeddedGraph, default_snapshot) -> Retriever:  # type: ignore[no-untyped-def]
    index = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))
    return Retriever(default_graph, RankingEngine(index, ScoringParams()))


def test_evidence_top_explains_only_the_first_candidates(service: Retriever) -> None:
    full = service.diagnose(MARFAN, top=12)
    first = service.diagnose(MARFAN, top=12, evidence_top=4)
    assert [c.disease_id for c in first.candidates] == [c.disease_id for c in full.candidates]
    assert [c.evidence is not None for c in first.candidates] == [True] * 4 + [False] * 8
    assert first.candidates[:4] == full.candidates[:4]
    assert all(c.evidence is None for c in service.diagnose(MARFAN, top=5, evidence=False, evidence_top=3).candidates)


def test_evidence_cites_annotation_provenance(service: Retriever) -> None:
    marfan = next(c for c in service.diagnose(MARFAN, top=5).candidates if c.disease_id == "OMIM:154700")
    assert marfan.evidence is not None
    arachno = next(m for m in marfan.evidence.matched if m.case_term == "HP:0001166")
    assert arachno.relation == "exact" and arachno.provenance is not None and arachno.provenance.source
    assert arachno.frequency_raw and arachno.frequency is not None
    seizure = [c for c in marfan.evidence.contradicted if c.case_term == "HP:0001250"]
    assert all(c.provenance is not None for c in seizure)
