"""Why a disease ranks where it does: the graph facts behind each candidate, with their provenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.model import Annotation
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.scoring import CaseVector

__all__ = ["TermMatch", "Contradiction", "GeneEvidence", "CandidateEvidence", "explain"]


@dataclass(frozen=True)
class Fact:
    """Where an annotation came from."""

    source: str | None
    release: str | None
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class TermMatch:
    """A case term explained by a disease annotation.

    relation: exact (the disease is annotated with the term), more_specific (the patient's term is
    a more specific form of the disease's), less_specific (the disease has a more specific form),
    related (they share only the ancestor `via`).
    """

    case_term: str
    disease_term: str
    relation: str
    via: str | None
    ic: float  # nats, of the term credited
    frequency: float | None
    frequency_raw: str | None
    provenance: Fact | None


@dataclass(frozen=True)
class Contradiction:
    """kind: excluded_but_annotated (the patient lacks a feature the disease has) or
    present_but_negated (the disease is annotated NOT to have the patient's feature)."""

    case_term: str
    disease_term: str
    kind: str
    frequency: float | None
    provenance: Fact | None


@dataclass(frozen=True)
class GeneEvidence:
    gene_id: str
    symbol: str
    variant_indices: tuple[int, ...]  # positions in the case's variant list
    zygosities: tuple[str | None, ...]


@dataclass(frozen=True)
class CandidateEvidence:
    matched: list[TermMatch] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    contradicted: list[Contradiction] = field(default_factory=list)
    confirmed_absent: list[str] = field(default_factory=list)  # excluded terms the disease is annotated NOT to have
    genes: list[GeneEvidence] = field(default_factory=list)


def explain(
    index: RankingIndex,
    graph: KnowledgeGraph,
    row: int,
    case: CaseVector,
    variant_genes: Sequence[tuple[int, int, str | None]] = (),
) -> CandidateEvidence:
    """Evidence for universe disease `row`; variant_genes holds (variant index, gene row, zygosity)."""
    disease_id = index.disease_ids[row]
    annotations = graph.disease_phenotypes([disease_id]).get(disease_id, [])
    by_term: dict[str, Annotation] = {}
    for a in annotations:
        if a.aspect == "P":
            by_term.setdefault(a.term_id + ("!" if a.negated else ""), a)

    direct = _row_terms(index.direct, row)
    propagated = _row_terms(index.freq, row)
    negated = set(_row_terms(index.negated, row))
    ids, ic = index.term_ids, index.ic
    evidence = CandidateEvidence()

    for q in case.present:
        ancestors = set(_row_terms(index.closure, q))
        match = _best_match(q, ancestors, direct, propagated, index)
        if match is None:
            evidence.unmatched.append(ids[q])
        else:
            relation, credited, via, disease_term = match
            note = by_term.get(ids[disease_term])
            evidence.matched.append(TermMatch(
                case_term=ids[q], disease_term=ids[disease_term], relation=relation,
                via=ids[via] if via is not None else None, ic=round(float(ic[credited]), 4),
                frequency=note.frequency if note else _freq(index, row, disease_term),
                frequency_raw=note.frequency_raw if note else None,
                provenance=_fact(note),
            ))
        for n in sorted(ancestors & negated):
            evidence.contradicted.append(Contradiction(ids[q], ids[n], "present_but_negated", None, _fact(by_term.get(ids[n] + "!"))))

    for e in case.excluded:
        ancestors = set(_row_terms(index.closure, e))
        if ancestors & negated:
            evidence.confirmed_absent.append(ids[e])
        elif e in propagated:
            evidence.contradicted.append(Contradiction(
                ids[e], ids[e], "excluded_but_annotated", _freq(index, row, e), _fact(by_term.get(ids[e])),
            ))

    gene_rows = set(_row_terms(index.disease_genes, row))
    grouped: dict[int, list[tuple[int, str | None]]] = {}
    for variant_index, gene_row, zygosity in variant_genes:
        if gene_row in gene_rows:
            grouped.setdefault(gene_row, []).append((variant_index, zygosity))
    for gene_row, hits in sorted(grouped.items()):
        evidence.genes.append(GeneEvidence(
            index.gene_ids[gene_row], index.gene_symbols[gene_row],
            tuple(i for i, _ in hits), tuple(z for _, z in hits),
        ))
    return evidence


def _row_terms(csr: sp.csr_matrix, row: int) -> Any:
    """One row's column indices: a list for bool matrices, else a dict column → value."""
    start, end = csr.indptr[row], csr.indptr[row + 1]
    cols = csr.indices[start:end]
    if csr.dtype == bool:
        return cols.tolist()
    return dict(zip(cols.tolist(), csr.data[start:end].tolist()))


def _best_match(
    q: int, ancestors: set[int], direct: dict[int, float], propagated: dict[int, float], index: RankingIndex
) -> tuple[str, int, int | None, int] | None:
    """(relation, credited term, common ancestor, disease term) of the most informative link, or None."""
    ic = index.ic
    if q in direct:
        return "exact", q, None, q
    candidates: list[tuple[float, str, int, int | None, int]] = []
    general = [a for a in ancestors & direct.keys()]
    if general:
        a = max(general, key=lambda t: (ic[t], -t))
        candidates.append((ic[a], "more_specific", a, None, a))
    if q in propagated:
        below = [t for t in direct if q in _ancestors(index, t)]
        t = max(below, key=lambda x: (ic[x], -x)) if below else q
        candidates.append((ic[q], "less_specific", q, None, t))
    if not candidates:
        shared = [a for a in ancestors & propagated.keys() if ic[a] > 0]
        if shared:
            a = max(shared, key=lambda t: (ic[t], -t))
            below = [t for t in direct if a in _ancestors(index, t)]
            t = max(below, key=lambda x: (ic[x], -x)) if below else a
            candidates.append((ic[a], "related", a, a, t))
    if not candidates:
        return None
    _, relation, credited, via, disease_term = max(candidates, key=lambda c: c[0])
    return relation, credited, via, disease_term


def _ancestors(index: RankingIndex, t: int) -> np.ndarray:
    return index.closure.indices[index.closure.indptr[t]:index.closure.indptr[t + 1]]


def _freq(index: RankingIndex, row: int, term: int) -> float | None:
    value = float(index.freq[row, term])
    return round(value, 4) if value > 0 else None


def _fact(annotation: Annotation | None) -> Fact | None:
    if annotation is None:
        return None
    return Fact(annotation.source, annotation.release, annotation.references)
