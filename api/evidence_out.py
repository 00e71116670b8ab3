"""Turning an engine result and its evidence into the wire model (labels and provenance attached)."""

from __future__ import annotations

from collections.abc import Sequence

from raregraph.models import (
    CandidateOut, ContradictionOut, EvidenceOut, FactOut, GeneEvidenceOut, TermMatchOut,
)
from raregraph.kg.graph import KnowledgeGraph
from raregraph.retrieval.engine import Ranked, RankingEngine, ScoredCase
from raregraph.retrieval.evidence import Fact, explain
from raregraph.retrieval.scoring import CaseVector

__all__ = ["candidate_out"]


def candidate_out(
    engine: RankingEngine,
    graph: KnowledgeGraph,
    rank: int,
    item: Ranked,
    scored: ScoredCase,
    case: CaseVector,
    variant_genes: Sequence[tuple[int, int, str | None]],
    *,
    with_evidence: bool,
) -> CandidateOut:
    """One ranked candidate with names, scores and (optionally) its evidence."""
    index = engine.index
    evidence = None
    if with_evidence:
        found = explain(index, graph, item.row, case, variant_genes)
        term_ids = {m.case_term for m in found.matched} | {m.disease_term for m in found.matched}
        labels = {t: term.label for t, term in graph.terms(sorted(term_ids)).items()}
        gene_source = _gene_provenance(graph, item.disease_id)
        evidence = EvidenceOut(
            matched=[
                TermMatchOut(
                    case_term=m.case_term, case_label=labels.get(m.case_term, ""), disease_term=m.disease_term,
                    disease_label=labels.get(m.disease_term, ""), relation=m.relation, via=m.via, ic=m.ic,
                    frequency=m.frequency, frequency_raw=m.frequency_raw, provenance=_fact(m.provenance),
                )
                for m in found.matched
            ],
            unmatched=found.unmatched,
            contradicted=[
                ContradictionOut(case_term=c.case_term, disease_term=c.disease_term, kind=c.kind,
                                 frequency=c.frequency, provenance=_fact(c.provenance))
                for c in found.contradicted
            ],
            confirmed_absent=found.confirmed_absent,
            genes=[
                GeneEvidenceOut(gene_id=g.gene_id, symbol=g.symbol, variant_indices=list(g.variant_indices),
                                zygosities=list(g.zygosities), provenance=gene_source.get(g.gene_id))
                for g in found.genes
            ],
        )
    return CandidateOut(
        rank=rank, disease_id=item.disease_id, equivalent_ids=list(item.equivalent_ids),
        name=index.disease_names[item.row], score=round(item.score, 6), probability=round(item.probability, 6),
        phenotype_score=round(float(scored.phenotype[item.row]), 4),
        genotype_score=round(float(scored.genotype[item.row]), 4), evidence=evidence,
    )


def _gene_provenance(graph: KnowledgeGraph, disease_id: str) -> dict[str, FactOut]:
    genes = graph.genes_of_diseases([disease_id]).get(disease_id, [])
    return {g.id: FactOut(source=g.source, release=g.release) for g in genes}


def _fact(fact: Fact | None) -> FactOut | None:
    if fact is None:
        return None
    return FactOut(source=fact.source, release=fact.release, references=list(fact.references))
