"""Why a disease ranks where it does: the graph facts behind each candidate, with their provenance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from raregraph.kg.model import Annotation
from raregraph.retrieval.case import PlacedVariant
from raregraph.retrieval.case_evidence import CASE_SOURCE, CaseDescriptions, case_label
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.scoring import CaseVector, PhenotypeScorer, TermWin

__all__ = ["TermMatch", "Contradiction", "GeneEvidence", "CandidateEvidence", "Fact", "explain", "cited_terms",
           "with_provenance", "case_matches"]


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
    score: float | None = None  # nats the scorer took from this match (w·IC + log f)


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
    scorer: PhenotypeScorer,
    rows: Sequence[int],
    case: CaseVector,
    placed: Sequence[PlacedVariant] = (),
) -> list[CandidateEvidence]:
    """Evidence for each disease row of the scorer's index (universe rows, then any gene twins' rows).

    Each matched term is the match the scorer took for that disease (`PhenotypeScorer.winners`),
    so the explanation is the computation that ranked. No graph read: the annotations of just the
    disease terms it cites (`cited_terms`), read with the rest of the evidence's graph facts, give
    their frequency wording and provenance (`with_provenance`).
    """
    index = scorer.index
    wins = scorer.winners(case.present, rows)
    excluded = {e: set(_ancestors(index, e).tolist()) for e in case.excluded}
    present = {q: set(_ancestors(index, q).tolist()) for q in case.present}
    return [
        _explain_row(index, row, case, present, excluded, {q: wins[q][i] for q in case.present}, placed)
        for i, row in enumerate(rows)
    ]


def cited_terms(found: Sequence[CandidateEvidence]) -> list[str]:
    """The disease terms the evidence cites (matched or contradicted), sorted."""
    return sorted({m.disease_term for f in found for m in f.matched}
                  | {c.disease_term for f in found for c in f.contradicted})


def with_provenance(
    found: Sequence[CandidateEvidence], disease_ids: Sequence[str], annotations: dict[str, list[Annotation]],
    unknown: float,
) -> list[CandidateEvidence]:
    """Each disease's evidence with the wording and source of its cited annotations (disease -> annotations)."""
    return [_with_provenance(f, annotations.get(d, []), unknown) for f, d in zip(found, disease_ids)]


def _with_provenance(evidence: CandidateEvidence, annotations: list[Annotation], unknown: float) -> CandidateEvidence:
    """The cited annotations' frequency wording and source attached.

    Of several annotations of one term (different references), the one with the largest frequency is
    cited: the ranking index keeps that one (unknown frequency counting as `unknown`); ties go to the
    wording, then the references, so both back-ends cite the same row whatever order they return.
    """
    def weight(a: Annotation) -> tuple[float, str, tuple[str, ...]]:
        return (a.frequency if a.frequency is not None else unknown, a.frequency_raw or "", a.references)

    by_term: dict[tuple[str, bool], Annotation] = {}
    for a in annotations:
        key = (a.term_id, a.negated)
        if a.aspect == "P" and (key not in by_term or weight(a) > weight(by_term[key])):
            by_term[key] = a
    # Built anew rather than with dataclasses.replace: ~130 matches a case, and replace cost a fifth of the evidence.
    matched = [m if (note := by_term.get((m.disease_term, False))) is None else _cited(m, note) for m in evidence.matched]
    contradicted = [
        Contradiction(c.case_term, c.disease_term, c.kind, c.frequency,
                      _fact(by_term.get((c.disease_term, c.kind == "present_but_negated"))))
        for c in evidence.contradicted
    ]
    return CandidateEvidence(matched=matched, unmatched=evidence.unmatched, contradicted=contradicted,
                             confirmed_absent=evidence.confirmed_absent, genes=evidence.genes)


def _cited(match: TermMatch, note: Annotation) -> TermMatch:
    """The match with the frequency wording and source of the annotation it cites."""
    return TermMatch(match.case_term, match.disease_term, match.relation, match.via, match.ic, note.frequency,
                     note.frequency_raw, _fact(note), match.score)


_RELATION = {"direct": "more_specific", "propagated": "less_specific", "partial": "related"}


def _explain_row(
    index: RankingIndex,
    row: int,
    case: CaseVector,
    present: dict[int, set[int]],
    excluded: dict[int, set[int]],
    wins: dict[int, TermWin | None],
    placed: Sequence[PlacedVariant],
) -> CandidateEvidence:
    """The evidence of one disease row: the scorer's matches, NOT annotations and genes (provenance attached later)."""
    ids = index.term_ids
    propagated = _row_terms(index.freq, row)
    negated = set(_row_terms(index.negated, row))
    evidence = CandidateEvidence()

    for q in case.present:
        match = _match(index, q, wins[q], propagated)
        if match is None:
            evidence.unmatched.append(ids[q])
        else:
            evidence.matched.append(match)
        for n in sorted(present[q] & negated):
            evidence.contradicted.append(Contradiction(ids[q], ids[n], "present_but_negated", None, None))

    for e in case.excluded:
        if excluded[e] & negated:
            evidence.confirmed_absent.append(ids[e])
        elif e in propagated:
            evidence.contradicted.append(Contradiction(ids[e], ids[e], "excluded_but_annotated", _freq(propagated, e), None))

    gene_rows = set(_row_terms(index.disease_genes, row))
    grouped: dict[int, list[tuple[int, str | None]]] = {}
    for variant in placed:
        if variant.gene_row in gene_rows:
            grouped.setdefault(variant.gene_row, []).append((variant.index, variant.zygosity))
    for gene_row, hits in sorted(grouped.items()):
        evidence.genes.append(GeneEvidence(
            index.gene_ids[gene_row], index.gene_symbols[gene_row],
            tuple(i for i, _ in hits), tuple(z for _, z in hits),
        ))
    return evidence


def _match(index: RankingIndex, q: int, win: TermWin | None, propagated: dict[int, float]) -> TermMatch | None:
    """The scorer's match of present term q (None: unmatched, or only the root shared: no information)."""
    if win is None or index.ic[win.term] <= 0:
        return None
    ids = index.term_ids
    exact = win.kind != "partial" and win.term == q and win.disease_term == q
    return TermMatch(
        case_term=ids[q], disease_term=ids[win.disease_term], relation="exact" if exact else _RELATION[win.kind],
        via=ids[win.term] if win.kind == "partial" else None, ic=round(float(index.ic[win.term]), 4),
        frequency=_freq(propagated, win.disease_term), frequency_raw=None, provenance=None, score=round(win.value, 4),
    )


def case_matches(cases: CaseDescriptions, description: int, case: CaseVector) -> tuple[list[TermMatch], list[str]]:
    """The present terms the confirmed cases of one description explain, as the scorer matched them, and the
    unmatched ones. A match's provenance names every confirmed case showing its term (or a more specific form,
    "confirmed case #<id>"); its frequency is their share of the disease's confirmed cases."""
    index = cases.scorer.index
    wins = cases.scorer.winners(case.present, [description])
    propagated = _row_terms(index.freq, description)
    n = len(cases.cases[description])
    matched, unmatched = [], []
    for q in case.present:
        match = _match(index, q, wins[q][0], propagated)
        if match is None:
            unmatched.append(index.term_ids[q])
            continue
        shown = cases.case_ids(description, index.term_position[match.disease_term])
        matched.append(replace(match, frequency=round(len(shown) / n, 4), frequency_raw=f"{len(shown)}/{n} confirmed cases",
                               provenance=Fact(CASE_SOURCE, None, tuple(case_label(i) for i in shown))))
    return matched, unmatched


def _row_terms(csr: sp.csr_matrix, row: int) -> Any:
    """One row's column indices: a list for bool matrices, else a dict column → value."""
    start, end = csr.indptr[row], csr.indptr[row + 1]
    cols = csr.indices[start:end]
    if csr.dtype == bool:
        return cols.tolist()
    return dict(zip(cols.tolist(), csr.data[start:end].tolist()))


def _ancestors(index: RankingIndex, t: int) -> np.ndarray:
    return index.closure.indices[index.closure.indptr[t]:index.closure.indptr[t + 1]]


def _freq(propagated: dict[int, float], term: int) -> float | None:
    value = propagated.get(term, 0.0)
    return round(value, 4) if value > 0 else None


def _fact(annotation: Annotation | None) -> Fact | None:
    if annotation is None:
        return None
    return Fact(annotation.source, annotation.release, annotation.references)
