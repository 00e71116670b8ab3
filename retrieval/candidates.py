"""The ranked candidates as the wire model: names, scores and the scorer's evidence (labels and provenance attached)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter

from raregraph.models import CandidateOut
from raregraph.kg.case_reads import evidence_reads
from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.model import Gene
from raregraph.retrieval.case import PlacedVariant
from raregraph.retrieval.engine import Ranked, RankingEngine, ScoredCase
from raregraph.retrieval.case_evidence import case_label
from raregraph.retrieval.evidence import (
    CandidateEvidence, Fact, TermMatch, case_matches, cited_terms, explain, with_provenance,
)
from raregraph.retrieval.prior import PriorFacts
from raregraph.retrieval.scoring import CaseVector
from raregraph.retrieval.twins import TwinMatch

__all__ = ["candidates_out"]

_CANDIDATES = TypeAdapter(list[CandidateOut])
TWIN_SHOWN_FROM = 0.05  # a twin supplying under 5 % of a candidate's phenotype likelihood does not explain its rank


def candidates_out(
    engine: RankingEngine,
    graph: KnowledgeGraph,
    ranked: Sequence[Ranked],
    scored: ScoredCase,
    case: CaseVector,
    placed: Sequence[PlacedVariant],
    *,
    explained: int,
) -> list[CandidateOut]:
    """The ranked candidates, best first, with names, scores and, for the first `explained`, their evidence.

    Evidence reads the graph once (`kg.case_reads.evidence_reads`: annotations, term labels, gene
    provenance of all candidates together; one round trip on Neo4j whatever the number of terms).
    """
    evidence: list[dict[str, Any] | None] = [None] * len(ranked)
    shown = ranked[:explained]
    if shown:
        twins = [twin if twin is not None and twin.share >= TWIN_SHOWN_FROM else None
                 for twin in (engine.twin_of(scored, item.row) for item in shown)]
        twin_rows = sorted({t.row for t in twins if t is not None})
        # Twins are rows after the universe's in the scorer's stacked index: one explanation, one annotation read.
        universe = len(engine.index.disease_ids)
        rows = [item.row for item in shown] + [universe + row for row in twin_rows]
        explained_rows = explain(engine.phenotype, rows, case, placed)
        described = _described(scored, shown)
        from_cases = [None if d is None else case_matches(scored.cases, d, case)[0]  # type: ignore[arg-type]
                      for d in described]
        term_ids = {t for f in explained_rows for m in f.matched for t in (m.case_term, m.disease_term)}
        term_ids |= {t for matched in from_cases for m in matched or () for t in (m.case_term, m.disease_term)}
        stacked = engine.phenotype.index
        disease_ids = [stacked.disease_ids[row] for row in rows]
        facts = evidence_reads(graph, sorted(set(disease_ids)), cited_terms(explained_rows), sorted(term_ids),
                               [item.disease_id for item in shown])
        every = with_provenance(explained_rows, disease_ids, facts.annotations, stacked.unknown_frequency)
        found, twin_found = every[: len(shown)], dict(zip(twin_rows, every[len(shown):]))
        labels, gene_sources = facts.labels, _gene_provenance(facts.genes)
        evidence[: len(shown)] = [
            _evidence_out(f, labels, gene_sources.get(item.disease_id, {}),
                          _twin_out(twin, twin_found[twin.row].matched, labels) if twin else None,
                          _prior_out(engine.prior.facts(item.row, scored.prior_scale)),
                          None if d is None else _cases_out(scored, d, matched, labels))  # type: ignore[arg-type]
            for f, item, twin, d, matched in zip(found, shown, twins, described, from_cases)
        ]
    index = engine.index
    # Plain dicts validated in one call: a model constructed per match (~300 a case) cost a fifth of the evidence.
    return _CANDIDATES.validate_python([
        {
            "rank": rank, "disease_id": item.disease_id, "equivalent_ids": list(item.equivalent_ids),
            "name": index.disease_names[item.row], "score": round(item.score, 6), "probability": round(item.probability, 6),
            "phenotype_score": round(float(scored.phenotype[item.row]), 4),
            "genotype_score": round(float(scored.genotype[item.row]), 4), "evidence": found_evidence,
        }
        for rank, (item, found_evidence) in enumerate(zip(ranked, evidence), start=1)
    ])


def _described(scored: ScoredCase, shown: Sequence[Ranked]) -> list[int | None]:
    """Per shown candidate, its description among the confirmed cases scored with (None: none)."""
    if scored.cases is None or scored.case_share is None:
        return [None] * len(shown)
    where = scored.cases.description_of
    return [where.get(item.row) for item in shown]


def _cases_out(scored: ScoredCase, description: int, matched: Sequence[TermMatch],
               labels: dict[str, str]) -> dict[str, Any]:
    """A `ConfirmedCasesOut`, as its fields."""
    cases, share = scored.cases, scored.case_share
    return {"cases": [case_label(i) for i in cases.case_ids(description)],  # type: ignore[union-attr]
            "share": round(float(share[description]), 4),  # type: ignore[index]
            "matched": _matches_out(matched, labels)}


def _evidence_out(
    found: CandidateEvidence, labels: dict[str, str], gene_source: dict[str, dict[str, Any]],
    twin: dict[str, Any] | None, prior: dict[str, Any], confirmed_cases: dict[str, Any] | None,
) -> dict[str, Any]:
    """An `EvidenceOut`, as its fields."""
    return {
        "matched": _matches_out(found.matched, labels),
        "unmatched": found.unmatched,
        "contradicted": [
            {"case_term": c.case_term, "disease_term": c.disease_term, "kind": c.kind, "frequency": c.frequency,
             "provenance": _fact(c.provenance)}
            for c in found.contradicted
        ],
        "confirmed_absent": found.confirmed_absent,
        "genes": [
            {"gene_id": g.gene_id, "symbol": g.symbol, "variant_indices": list(g.variant_indices),
             "zygosities": list(g.zygosities), "provenance": gene_source.get(g.gene_id)}
            for g in found.genes
        ],
        "twin": twin,
        "prior": prior,
        "confirmed_cases": confirmed_cases,
    }


def _matches_out(matched: Sequence[TermMatch], labels: dict[str, str]) -> list[dict[str, Any]]:
    """`TermMatchOut`s, as their fields."""
    return [
        {
            "case_term": m.case_term, "case_label": labels.get(m.case_term, ""), "disease_term": m.disease_term,
            "disease_label": labels.get(m.disease_term, ""), "relation": m.relation, "via": m.via, "ic": m.ic,
            "frequency": m.frequency, "frequency_raw": m.frequency_raw, "provenance": _fact(m.provenance), "score": m.score,
        }
        for m in matched
    ]


def _twin_out(twin: TwinMatch, matched: Sequence[TermMatch], labels: dict[str, str]) -> dict[str, Any]:
    """A `TwinOut`, as its fields."""
    return {"disease_id": twin.disease_id, "name": twin.name, "shared_genes": list(twin.shared_genes),
            "share": round(twin.share, 4), "matched": _matches_out(matched, labels)}


def _prior_out(facts: PriorFacts) -> dict[str, Any]:
    """A `PriorOut`, as its fields."""
    used = [facts.publications_source] if facts.publications else []
    if facts.clinical_code:
        used.append(facts.code_source)
    return {"log_prior": facts.log_prior, "publications": facts.publications, "clinical_code": facts.clinical_code,
            "coded_by": facts.coded_by, "provenance": [{"source": s, "release": r, "references": []} for s, r in used]}


def _gene_provenance(genes: dict[str, list[Gene]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Disease id → gene id → where that gene association comes from (a `FactOut`'s fields)."""
    return {
        disease_id: {g.id: {"source": g.source, "release": g.release, "references": []} for g in found}
        for disease_id, found in genes.items()
    }


def _fact(fact: Fact | None) -> dict[str, Any] | None:
    if fact is None:
        return None
    return {"source": fact.source, "release": fact.release, "references": list(fact.references)}
