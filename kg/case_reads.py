"""The graph reads one case's differential needs, as one call: term resolution and labels, the
annotations of the candidates shown (on the case's terms), their genes, and the variants of the
case's genes.

Any `KnowledgeGraph` answers it with five batch calls; a back-end with a `case_reads` method of
its own (Neo4j: five statements in one read transaction, a fixed number of round trips whatever
the case's size) answers it in one go, with the same result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raregraph.kg.model import Annotation, Gene, HpoId, Term, Variant

__all__ = ["CaseReads", "case_reads"]


@dataclass(frozen=True)
class CaseReads:
    """Keyed as the batch calls key them: input term id, current term id, disease id, gene key."""

    resolved: dict[str, HpoId]  # each case term id (primary, alt or obsolete) -> current term id
    terms: dict[str, Term]  # the current terms, for labels
    annotations: dict[str, list[Annotation]]  # candidate disease -> its annotations on the current terms
    genes: dict[str, list[Gene]]  # candidate disease -> its genes
    variants: dict[str, list[Variant]]  # case gene key -> ClinVar variants of that gene


def case_reads(graph: Any, term_ids: Sequence[str], disease_ids: Sequence[str], gene_keys: Sequence[str] = ()) -> CaseReads:
    """The reads for one case from `graph` (its own `case_reads` when it has one)."""
    own = getattr(graph, "case_reads", None)
    if own is not None:
        return own(term_ids, disease_ids, gene_keys)
    resolved = graph.resolve_terms(term_ids)
    current = sorted(set(resolved.values()))
    return CaseReads(
        resolved=resolved, terms=graph.terms(current),
        annotations=graph.disease_phenotypes(disease_ids, terms=current) if current else {},
        genes=graph.genes_of_diseases(disease_ids), variants=graph.variants_by_gene(gene_keys),
    )  # fmt: skip
