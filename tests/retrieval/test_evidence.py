"""Evidence is what the scorer used (issue 16): each cited match is the one `PhenotypeScorer.term_scores` took."""

from __future__ import annotations

import pytest

from raregraph.etl.snapshot import Snapshot
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.models import CaseRequest
from raregraph.retrieval.engine import RankingEngine
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.retriever import Retriever
from raregraph.retrieval.scoring import ScoringParams

# Cases whose evidence used to differ from the score (IC-only choice of the matched ancestor), from dev_sample.
CASES = [
    ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545"],  # Marfan
    ["HP:0001337", "HP:0001250", "HP:0001263", "HP:0000252"],  # tremor, seizure, developmental delay, microcephaly
    ["HP:0025403", "HP:0000232", "HP:0001155", "HP:0001785"],
]


@pytest.fixture(scope="module")
def retriever(default_graph: EmbeddedGraph, default_snapshot: Snapshot) -> Retriever:
    index = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))
    return Retriever(default_graph, RankingEngine(index, ScoringParams()))


@pytest.mark.parametrize("terms", CASES)
def test_each_match_is_the_scorers_and_adds_up_to_the_phenotype_score(retriever: Retriever, terms: list[str]) -> None:
    engine = retriever.engine
    scorer, position = engine.phenotype, engine.index.term_position
    response = retriever.diagnose(CaseRequest(hpo_present=terms), top=15)
    for candidate in response.candidates:
        row = engine.index.disease_position[candidate.disease_id]
        evidence = candidate.evidence
        assert evidence is not None
        by_term = {m.case_term: m for m in evidence.matched}
        total = 0.0
        for term in terms:
            q = position[term]
            scored = float(scorer.term_scores(q)[row])
            negated = any(c.case_term == term and c.kind == "present_but_negated" for c in evidence.contradicted)
            taken = scored + scorer.params.negated_penalty * negated
            if term in by_term:
                assert by_term[term].score == pytest.approx(taken, abs=1e-3), (candidate.disease_id, term)
                disease_term = position[by_term[term].disease_term]
                assert q in engine.index.closure[disease_term].indices or by_term[term].relation in (
                    "more_specific", "related")
            else:
                assert term in evidence.unmatched and taken <= 1e-3  # no informative match: at most the root's 0 nats
            total += scored
        assert total == pytest.approx(candidate.phenotype_score, abs=0.01)
