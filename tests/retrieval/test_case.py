"""Case resolution (retrieval/case.py): ids, obsolete and alternative ids, variants, in a constant number of graph reads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from raregraph.errors import ObsoleteTermError, UnknownTermError
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.models import CaseRequest, VariantIn
from raregraph.retrieval.case import LENIENT, CaseResolver, PlacedVariant
from raregraph.retrieval.engine import RankingEngine
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.linking import EmbeddingSettings, TermLinker
from raregraph.retrieval.retriever import Retriever
from raregraph.retrieval.scoring import ScoringParams, VariantHit
from raregraph.etl.snapshot import Snapshot


class CountingGraph:
    """A graph that counts the calls it answers (each is one round trip on Neo4j)."""

    def __init__(self, graph: EmbeddedGraph) -> None:
        self._graph = graph
        self.calls: Counter[str] = Counter()
        self.snapshot_id = graph.snapshot_id

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._graph, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return method(*args, **kwargs)
        return counted


@pytest.fixture(scope="module")
def engine(default_snapshot: Snapshot) -> RankingEngine:
    index = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))
    return RankingEngine(index, ScoringParams())


def _terms(engine: RankingEngine, n: int) -> list[str]:
    """n annotated terms of the index, spread over it (deterministic)."""
    annotated = sorted(set(engine.index.direct.indices.tolist()))
    return [engine.index.term_ids[annotated[i * len(annotated) // n]] for i in range(n)]


@pytest.mark.parametrize("n", [5, 20, 50])
def test_graph_reads_per_diagnosis_do_not_grow_with_the_terms(default_graph: EmbeddedGraph, engine: RankingEngine,
                                                              n: int) -> None:
    """Issue 16: a diagnose with N HPO ids (evidence on) makes the same graph calls whatever N."""
    graph = CountingGraph(default_graph)
    retriever = Retriever(graph, engine, TermLinker(graph, EmbeddingSettings(enabled=False)))  # type: ignore[arg-type]
    terms = _terms(engine, n)
    response = retriever.diagnose(CaseRequest(hpo_present=terms[1:], hpo_excluded=terms[:1]), top=10)
    assert len(response.case.present) + len(response.case.excluded) == n
    assert dict(graph.calls) == {"resolve_terms": 1, "terms": 2, "disease_phenotypes": 1, "genes_of_diseases": 1}


def test_obsolete_alt_and_unknown_ids(default_graph: EmbeddedGraph, engine: RankingEngine) -> None:
    resolver = CaseResolver(default_graph, engine, TermLinker(default_graph, EmbeddingSettings(enabled=False)))
    case = resolver.resolve(CaseRequest(hpo_present=["HP:0000057", "HP:0002279", "HP:9999999", "HP:0001250"]), LENIENT)
    assert [(t.id, t.given_as) for t in case.present] == [("HP:0008665", "HP:0000057"), ("HP:0001250", "HP:0002279")]
    assert case.present[0].label == default_graph.terms(["HP:0008665"])["HP:0008665"].label
    assert any("HP:9999999" in w for w in case.warnings) and any("obsolete" in w for w in case.warnings)
    with pytest.raises(UnknownTermError):
        resolver.resolve(CaseRequest(hpo_present=["HP:9999999", "HP:0001250"]))
    with pytest.raises(ObsoleteTermError):
        resolver.resolve(CaseRequest(hpo_present=["HP:0000057"]))


def test_variants_are_placed_on_gene_rows(default_graph: EmbeddedGraph, engine: RankingEngine) -> None:
    resolver = CaseResolver(default_graph, engine, TermLinker(default_graph, EmbeddingSettings(enabled=False)))
    request = CaseRequest(variants=[VariantIn(gene="NOTAGENE"), VariantIn(gene="fbn1", zygosity="unknown"),
                                    VariantIn(gene="FBN1", zygosity="heterozygous")])
    case = resolver.resolve(request)
    _, hits, placed = resolver.vectors(case)
    row = engine.gene_lookup["FBN1"]
    assert placed == [PlacedVariant(1, row, "unknown"), PlacedVariant(2, row, "heterozygous")]
    assert hits == [VariantHit(row, None), VariantHit(row, "heterozygous")]  # "unknown" zygosity is not scored
