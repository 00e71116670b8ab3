"""The graph reads one diagnosis needs, as two calls: the case's terms before ranking, the shown
candidates' evidence after it.

Ranking needs the case's terms resolved first, and the evidence needs the ranking, so two reads
is the least a diagnosis can make. Any `KnowledgeGraph` answers each with batch calls (two, then
three); a back-end with a `case_terms` / `evidence_reads` method of its own (Neo4j: one
parameterised statement each, one round trip) answers it in one go, with the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raregraph.kg.model import Annotation, Gene, HpoId, Term

__all__ = ["CaseTerms", "EvidenceReads", "TermBrief", "case_terms", "evidence_reads"]


@dataclass(frozen=True)
class TermBrief:
    """What resolving a case needs of a term record: its label, and whether (and by what) it was obsoleted."""

    id: HpoId
    label: str
    obsolete: bool
    consider: tuple[HpoId, ...]

    @classmethod
    def of(cls, term: Term) -> "TermBrief":
        return cls(term.id, term.label, term.obsolete, term.consider)


@dataclass(frozen=True)
class CaseTerms:
    """The case's ids resolved: each given id -> current term id, and the records of given and current ids."""

    resolved: dict[str, HpoId]
    records: dict[str, TermBrief]  # keyed by primary id, as `KnowledgeGraph.terms` keys them


@dataclass(frozen=True)
class EvidenceReads:
    """What evidence cites from the graph, for the candidates shown."""

    annotations: dict[str, list[Annotation]]  # disease -> its annotations on the cited terms, by term id
    labels: dict[str, str]  # term id -> label
    genes: dict[str, list[Gene]]  # disease -> its genes, by symbol then id


def case_terms(graph: Any, ids: Sequence[str]) -> CaseTerms:
    """Resolution and records of a case's term ids (the graph's own `case_terms` when it has one)."""
    own = getattr(graph, "case_terms", None)
    if own is not None:
        return own(ids)  # type: ignore[no-any-return]
    unique = list(dict.fromkeys(ids))
    if not unique:
        return CaseTerms({}, {})
    resolved = graph.resolve_terms(unique)
    records = graph.terms(list(dict.fromkeys([*unique, *resolved.values()])))
    return CaseTerms(resolved, {key: TermBrief.of(term) for key, term in records.items()})


def evidence_reads(
    graph: Any, annotated: Sequence[str], cited: Sequence[str], labelled: Sequence[str], with_genes: Sequence[str]
) -> EvidenceReads:
    """The annotations of `annotated` diseases on the `cited` terms, the labels of `labelled` terms and the
    genes of `with_genes` diseases (the graph's own `evidence_reads` when it has one)."""
    own = getattr(graph, "evidence_reads", None)
    if own is not None:
        return own(annotated, cited, labelled, with_genes)  # type: ignore[no-any-return]
    return EvidenceReads(
        annotations=graph.disease_phenotypes(annotated, terms=cited) if cited else {},
        labels={t: term.label for t, term in graph.terms(labelled).items()},
        genes=graph.genes_of_diseases(with_genes),
    )
