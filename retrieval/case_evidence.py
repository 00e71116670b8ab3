"""Confirmed cases as a second annotation source of their diseases (RAREGRAPH_CASE_EVIDENCE=on).

A confirmed case is a clinician's verdict in the feedback store naming the diagnosis of a case the
service ranked. The cases confirmed for one disease describe it a second time, apart from the
release data (which is never changed):

    f_cases(t | d) = (confirmed cases of d showing t or a more specific form of t) / (confirmed cases of d)

scored by the release annotations' rule (`PhenotypeScorer`: the universe's IC, the same frequency
floor, chance-corrected over the same background terms). Like a gene twin (retrieval/twins.py), the
cases' description is one more component of the disease's phenotype likelihood:

    P(case | d) ∝ exp(own(d) [⊕ twin]) + case_weight · exp(cases(d))

so a patient like the confirmed ones scores high even where the release annotations miss their
findings, and a disease without confirmed cases is scored as before. Measured against a per-term
alternative (each term explained by the better source, chance level of the union): the mixture
ranked higher or equal on every population and protocol (README "Measured", benchmarks/case_evidence.py).

Evidence shows the cases' share of the likelihood and the terms they explain, each with provenance
"confirmed case #<feedback id>" for every case showing it; withdrawing a verdict removes its case
at the next refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from raregraph.errors import RaregraphError
from raregraph.kg.ontology_math import concatenated_ranges
from raregraph.retrieval.scoring import CaseVector, PhenotypeScorer, ScoringParams

__all__ = ["ConfirmedCase", "CaseDescriptions", "CaseSource", "CaseEvidence", "CASE_SOURCE", "case_label"]

log = logging.getLogger(__name__)
CASE_SOURCE = "confirmed cases"  # `Fact.source` of a term the confirmed cases supplied


def case_label(feedback_id: int) -> str:
    """How evidence names one confirmed case: "confirmed case #12"."""
    return f"confirmed case #{feedback_id}"


@dataclass(frozen=True)
class ConfirmedCase:
    """A verdict's confirmed diagnosis and the present terms of the case it confirmed."""

    feedback_id: int
    disease_id: str
    present: tuple[str, ...]  # HPO ids


@dataclass(frozen=True)
class CaseDescriptions:
    """The confirmed cases of each described universe disease, as a small ranking index of their own.

    Description i describes universe row `rows[i]`; `scorer` scores all descriptions at once.
    """

    rows: np.ndarray  # int64 `(m,)`
    scorer: PhenotypeScorer  # over `m` description rows
    cases: tuple[tuple[ConfirmedCase, ...], ...]  # per description, its cases (feedback id order)
    shown: tuple[tuple[frozenset[int], ...], ...]  # per description, per case: term positions shown, ancestors included
    background: np.ndarray  # float32 `(m,)`: what one present term is worth to each description by chance
    skipped: int = 0  # confirmed cases left out: disease not ranked on this snapshot, or no known present term

    @cached_property
    def description_of(self) -> dict[int, int]:
        """Universe row → description index."""
        return {int(r): i for i, r in enumerate(self.rows.tolist())}

    @classmethod
    def build(cls, universe: PhenotypeScorer, n_universe: int, row_of: Mapping[str, int],
              confirmed: Sequence[ConfirmedCase]) -> "CaseDescriptions | None":
        """Descriptions of the confirmed cases' diseases; None when no case names a ranked disease.

        `universe` is the engine's phenotype scorer (its first `n_universe` rows are the ranked
        diseases); `row_of` maps every disease id a universe disease is known by to its row.
        """
        index = universe.index
        by_row: dict[int, list[tuple[ConfirmedCase, list[int]]]] = {}
        skipped = 0
        for item in sorted(confirmed, key=lambda c: c.feedback_id):
            row = row_of.get(item.disease_id)
            terms = sorted({index.term_position[t] for t in item.present if t in index.term_position})
            if row is None or row >= n_universe or not terms:
                skipped += 1
                continue
            by_row.setdefault(row, []).append((item, terms))
        if not by_row:
            return None
        rows = np.array(sorted(by_row), dtype=np.int64)
        closure = index.closure
        direct_cells: list[tuple[int, int, float]] = []
        freq_cells: list[tuple[int, int, float]] = []
        shown: list[tuple[frozenset[int], ...]] = []
        for i, row in enumerate(rows.tolist()):
            items = by_row[row]
            per_case = [_with_ancestors(closure, terms) for _, terms in items]
            shown.append(tuple(per_case))
            n = len(items)
            for term, count in _counts(terms for _, terms in items).items():
                direct_cells.append((i, term, count / n))
            for term, count in _counts(per_case).items():
                freq_cells.append((i, term, count / n))
        shape = (len(rows), len(index.term_ids))
        described = replace(
            index, disease_ids=tuple(index.disease_ids[r] for r in rows.tolist()),
            disease_names=tuple(index.disease_names[r] for r in rows.tolist()),
            direct=_csr(direct_cells, shape), freq=_csr(freq_cells, shape),
            negated=sp.csr_matrix(shape, dtype=bool),
            disease_genes=sp.csr_matrix((len(rows), len(index.gene_ids)), dtype=bool),
            inheritance=np.zeros((len(rows), index.inheritance.shape[1]), dtype=bool),
        )
        scorer = PhenotypeScorer(described, universe.params)
        background = _background(scorer, universe.background_terms(slice(0, n_universe)))
        return cls(rows, scorer, tuple(tuple(c for c, _ in by_row[r]) for r in rows.tolist()), tuple(shown),
                   background, skipped)

    def component(self, case: CaseVector, chance_weight: float, params: ScoringParams) -> np.ndarray:
        """float64 `(m,)`: each description's mixture component for the case, in nats on the engine's scale:
        log(case_weight) + phenotype_scale x (phenotype - chance_weight x n_present x background)."""
        evidence = self.scorer.scores(case) - (chance_weight * len(case.present)) * self.background
        return np.log(params.case_weight) + params.phenotype_scale * evidence.astype(np.float64)

    def case_ids(self, description: int, term: int | None = None) -> list[int]:
        """Feedback ids of the description's cases (those showing `term`, ancestors included, when given)."""
        return [c.feedback_id for c, shown in zip(self.cases[description], self.shown[description])
                if term is None or term in shown]


def _with_ancestors(closure: sp.csr_matrix, terms: list[int]) -> frozenset[int]:
    """The terms and every ancestor of them (the closure rows hold each term's ancestors, itself included)."""
    starts, ends = closure.indptr[terms], closure.indptr[np.add(terms, 1)]
    return frozenset(closure.indices[concatenated_ranges(starts, ends)].tolist()) | frozenset(terms)


def _counts(term_sets: Iterable[Iterable[int]]) -> dict[int, int]:
    """How many of the sets hold each term."""
    counts: dict[int, int] = {}
    for terms in term_sets:
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
    return counts


def _csr(cells: list[tuple[int, int, float]], shape: tuple[int, int]) -> sp.csr_matrix:
    if not cells:
        return sp.csr_matrix(shape, dtype=np.float32)
    rows, cols, values = zip(*cells)
    return sp.csr_matrix((np.array(values, np.float32), (np.array(rows), np.array(cols))), shape=shape)


def _background(cases: PhenotypeScorer, picks: np.ndarray) -> np.ndarray:
    """Mean score of each description for the universe's background terms: the sample the release
    descriptions' chance level is taken over, so both components are corrected for the same chance."""
    return cases.mean_term_scores(picks).astype(np.float32)  # refresh cost only: the descriptions' rows


class CaseSource(Protocol):
    """Where confirmed cases come from (the feedback store: api/feedback/confirmed.py)."""

    def version(self) -> Hashable:
        """Changes whenever the confirmed cases may have changed (cheap: read every refresh interval)."""
        ...

    def cases(self) -> list[ConfirmedCase]:
        """Every confirmed case not withdrawn."""
        ...


Builder = Callable[[Sequence[ConfirmedCase]], "CaseDescriptions | None"]


class CaseEvidence:
    """The confirmed cases ranking uses now: read at start, re-read when the source's version changes.

    The version is checked at most every `interval_s` seconds, by the first ranking call after that
    (one thread rebuilds; the others keep ranking with the previous descriptions). A source that
    fails (the feedback database down) leaves the previous descriptions in use.
    """

    def __init__(self, source: CaseSource, build: Builder, interval_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.interval_s = interval_s
        self._build = build
        self._clock = clock
        self._lock = threading.Lock()
        self._version: Hashable = object()  # matches nothing: the first call reads
        self._checked: float | None = None
        self._current: CaseDescriptions | None = None

    def current(self) -> CaseDescriptions | None:
        """The descriptions to rank with (refreshed first when due)."""
        now = self._clock()
        due = self._checked is None or now - self._checked >= self.interval_s
        if due and self._lock.acquire(blocking=self._checked is None):
            try:
                self._refresh(now)
            finally:
                self._lock.release()
        return self._current

    def _refresh(self, now: float) -> None:
        try:
            version = self.source.version()
            if version != self._version:
                cases = self.source.cases()
                self._current = self._build(cases)
                self._version = version
                described = 0 if self._current is None else sum(map(len, self._current.cases))
                log.info("case evidence refreshed", extra={"confirmed_cases": len(cases), "described": described})
        except RaregraphError as err:  # the store down: keep ranking with what was read before
            log.warning("case evidence not refreshed", extra={"reason": str(err)})
        self._checked = now
