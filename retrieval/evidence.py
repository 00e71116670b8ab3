"""Why a disease ranks where it does: the graph facts behind each candidate, with their provenance."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from raregraph.kg.graph import KnowledgeGraph
from raregraph.kg.model import Annotation
from raregraph.kg.ontology_math import concatenated_ranges
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.scoring import CaseVector

__all__ = ["TermMatch", "Contradiction", "GeneEvidence", "CandidateEvidence", "explain", "explain_many"]


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
    rows: Sequence[int],
    case: CaseVector,
    variant_genes: Sequence[tuple[int, int, str | None]] = (),
) -> list[CandidateEvidence]:
    """Evidence for each universe disease row in `rows`; variant_genes holds (variant index, gene row, zygosity).

    The matching runs on the index; then one graph read fetches the annotations of just the
    disease terms the evidence cites, for their frequency wording and provenance.
    """
    return explain_many(graph, [(index, rows)], case, variant_genes)[0]


def explain_many(
    graph: KnowledgeGraph,
    parts: Sequence[tuple[RankingIndex, Sequence[int]]],
    case: CaseVector,
    variant_genes: Sequence[tuple[int, int, str | None]] = (),
) -> list[list[CandidateEvidence]]:
    """`explain` for rows of several indices over the same terms (a universe and its twins), with one graph read."""
    found: list[list[CandidateEvidence]] = []
    disease_ids: list[list[str]] = []
    for index, rows in parts:
        case_terms = _CaseTerms(
            present={q: set(_ancestors(index, q).tolist()) for q in case.present},
            excluded={e: set(_ancestors(index, e).tolist()) for e in case.excluded},
        )
        found.append([_explain_row(index, row, case, case_terms, variant_genes) for row in rows])
        disease_ids.append([index.disease_ids[row] for row in rows])
    every = [f for part in found for f in part]
    cited = sorted({m.disease_term for f in every for m in f.matched} | {c.disease_term for f in every for c in f.contradicted})
    wanted = sorted({d for ids in disease_ids for d in ids})
    annotations = graph.disease_phenotypes(wanted, terms=cited) if cited else {}
    return [
        [_with_provenance(f, annotations.get(d, [])) for f, d in zip(part, ids)]
        for part, ids in zip(found, disease_ids)
    ]


def _with_provenance(evidence: CandidateEvidence, annotations: list[Annotation]) -> CandidateEvidence:
    """The cited annotations' frequency wording and source attached (the first annotation of a term counts)."""
    by_term: dict[tuple[str, bool], Annotation] = {}
    for a in annotations:
        if a.aspect == "P":
            by_term.setdefault((a.term_id, a.negated), a)
    matched = []
    for m in evidence.matched:
        note = by_term.get((m.disease_term, False))
        if note is not None:
            m = replace(m, frequency=note.frequency, frequency_raw=note.frequency_raw, provenance=_fact(note))
        matched.append(m)
    contradicted = [
        replace(c, provenance=_fact(by_term.get((c.disease_term, c.kind == "present_but_negated"))))
        for c in evidence.contradicted
    ]
    return replace(evidence, matched=matched, contradicted=contradicted)


@dataclass(frozen=True)
class _CaseTerms:
    """Ancestor sets (inclusive) of the case's present and excluded terms, by term position."""

    present: dict[int, set[int]]
    excluded: dict[int, set[int]]


class _DiseaseTerms:
    """One disease's annotated terms, with which of its direct terms lie below a given term."""

    def __init__(self, index: RankingIndex, row: int) -> None:
        self.direct: dict[int, float] = _row_terms(index.direct, row)
        self.propagated: dict[int, float] = _row_terms(index.freq, row)
        self.negated: set[int] = set(_row_terms(index.negated, row))
        # (direct term, one of its ancestors) pairs, flat: "direct terms below a" is one mask.
        direct = np.fromiter(self.direct, dtype=np.int64, count=len(self.direct))
        starts, ends = index.closure.indptr[direct], index.closure.indptr[direct + 1]
        offsets = concatenated_ranges(starts, ends)
        self._owner = np.repeat(direct, ends - starts)
        self._ancestor = index.closure.indices[offsets]

    def direct_below(self, term: int) -> np.ndarray:
        """Direct terms of the disease that are `term` or more specific forms of it."""
        return self._owner[self._ancestor == term]


def _explain_row(
    index: RankingIndex,
    row: int,
    case: CaseVector,
    case_terms: _CaseTerms,
    variant_genes: Sequence[tuple[int, int, str | None]],
) -> CandidateEvidence:
    """The evidence the index alone gives (frequencies as propagated; provenance attached later)."""
    disease = _DiseaseTerms(index, row)
    ids, ic = index.term_ids, index.ic
    evidence = CandidateEvidence()

    for q in case.present:
        ancestors = case_terms.present[q]
        match = _best_match(q, ancestors, disease, ic)
        if match is None:
            evidence.unmatched.append(ids[q])
        else:
            relation, credited, via, disease_term = match
            evidence.matched.append(TermMatch(
                case_term=ids[q], disease_term=ids[disease_term], relation=relation,
                via=ids[via] if via is not None else None, ic=round(float(ic[credited]), 4),
                frequency=_freq(disease, disease_term), frequency_raw=None, provenance=None,
            ))
        for n in sorted(ancestors & disease.negated):
            evidence.contradicted.append(Contradiction(ids[q], ids[n], "present_but_negated", None, None))

    for e in case.excluded:
        if case_terms.excluded[e] & disease.negated:
            evidence.confirmed_absent.append(ids[e])
        elif e in disease.propagated:
            evidence.contradicted.append(Contradiction(ids[e], ids[e], "excluded_but_annotated", _freq(disease, e), None))

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


def _most_informative(terms: Iterable[int], ic: np.ndarray) -> int:
    """Highest IC, ties to the lowest position (deterministic)."""
    return max(terms, key=lambda t: (ic[t], -t))


def _best_match(q: int, ancestors: set[int], disease: _DiseaseTerms, ic: np.ndarray) -> tuple[str, int, int | None, int] | None:
    """(relation, credited term, common ancestor, disease term) of the most informative link, or None."""
    if q in disease.direct:
        return "exact", q, None, q
    candidates: list[tuple[float, str, int, int | None, int]] = []
    general = ancestors & disease.direct.keys()
    if general:
        a = _most_informative(general, ic)
        candidates.append((ic[a], "more_specific", a, None, a))
    if q in disease.propagated:
        below = disease.direct_below(q)
        t = _most_informative(below.tolist(), ic) if below.size else q
        candidates.append((ic[q], "less_specific", q, None, t))
    if not candidates:
        shared = [a for a in ancestors & disease.propagated.keys() if ic[a] > 0]
        if shared:
            a = _most_informative(shared, ic)
            below = disease.direct_below(a)
            t = _most_informative(below.tolist(), ic) if below.size else a
            candidates.append((ic[a], "related", a, a, t))
    if not candidates:
        return None
    _, relation, credited, via, disease_term = max(candidates, key=lambda c: c[0])
    return relation, credited, via, disease_term


def _ancestors(index: RankingIndex, t: int) -> np.ndarray:
    return index.closure.indices[index.closure.indptr[t]:index.closure.indptr[t + 1]]


def _freq(disease: _DiseaseTerms, term: int) -> float | None:
    value = disease.propagated.get(term, 0.0)
    return round(value, 4) if value > 0 else None


def _fact(annotation: Annotation | None) -> Fact | None:
    if annotation is None:
        return None
    return Fact(annotation.source, annotation.release, annotation.references)
