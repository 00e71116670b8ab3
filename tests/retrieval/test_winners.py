"""`PhenotypeScorer.winners` reads every term's columns in one gather and finds the cited annotations in one pass:
it must name the same matches as reading one term and one (row, term) at a time, the way it used to."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raregraph.etl.snapshot import Snapshot
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.scoring import PhenotypeScorer, ScoringParams, TermWin, _annotation_sources


@pytest.fixture(scope="module")
def scorer(default_snapshot: Snapshot) -> PhenotypeScorer:
    index = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))
    return PhenotypeScorer(index, ScoringParams())


def _source_one_at_a_time(index: RankingIndex, row: int, term: int) -> int:
    """The direct annotation of `row` at or below `term` with the largest frequency, then IC, then lowest position."""
    direct = index.direct
    best: tuple[float, float, int] | None = None
    for annotated, frequency in zip(direct.indices[direct.indptr[row]:direct.indptr[row + 1]].tolist(),
                                    direct.data[direct.indptr[row]:direct.indptr[row + 1]].tolist()):
        if term in index.closure[annotated].indices:
            key = (-frequency, -float(index.ic[annotated]), annotated)
            best = key if best is None or key < best else best
    assert best is not None, (row, term)
    return best[2]


def _winners_one_term_at_a_time(scorer: PhenotypeScorer, terms: list[int], rows: list[int]) -> dict[int, list[TermWin | None]]:
    """Each term's columns in tie-break order (q exact, q propagated, ancestors by IC then position, the same
    partially), read and argmaxed on their own; each propagated source looked up on its own."""
    index, n, shift = scorer.index, len(scorer.index.term_ids), scorer._shift
    picked = np.asarray(rows, dtype=np.int64)
    found: dict[int, list[TermWin | None]] = {}
    for q in terms:
        ancestors = index.closure.indices[index.closure.indptr[q]:index.closure.indptr[q + 1]]
        others = sorted((int(a) for a in ancestors if a != q), key=lambda a: (-index.ic[a], a))
        columns = np.array([q, n + q, *others, *(a + 2 * n for a in [q, *others])], dtype=np.int64)
        values = scorer._match.cells(picked, columns)
        wins: list[TermWin | None] = []
        for i, row in enumerate(rows):
            j = int(values[i].argmax())
            if values[i, j] <= 0:
                wins.append(None)
                continue
            kind, term = ("direct", "propagated", "partial")[int(columns[j]) // n], int(columns[j]) % n
            source = term if kind == "direct" else _source_one_at_a_time(index, row, term)
            wins.append(TermWin(kind, term, source, float(values[i, j]) - shift))  # type: ignore[arg-type]
        found[q] = wins
    return found


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_winners_equal_reading_one_term_at_a_time(scorer: PhenotypeScorer, data: st.DataObject) -> None:
    n_rows, n_terms = len(scorer.index.disease_ids), len(scorer.index.term_ids)
    rows = data.draw(st.lists(st.integers(0, n_rows - 1), min_size=1, max_size=12, unique=True), label="rows")
    # annotated terms of those rows (direct, propagated and partial matches), and any terms
    annotated = scorer.index.direct[rows].indices.tolist()
    terms = data.draw(st.lists(st.sampled_from(annotated) | st.integers(0, n_terms - 1), max_size=8, unique=True),
                      label="terms")
    assert scorer.winners(terms, rows) == _winners_one_term_at_a_time(scorer, terms, rows)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_annotation_sources_equal_looking_each_up_alone(scorer: PhenotypeScorer, data: st.DataObject) -> None:
    index = scorer.index
    annotated_rows = np.flatnonzero(np.diff(index.direct.indptr) > 0).tolist()
    rows = data.draw(st.lists(st.sampled_from(annotated_rows), min_size=1, max_size=10, unique=True), label="rows")
    needs = set()
    for _ in range(data.draw(st.integers(1, 12), label="needs")):
        i = data.draw(st.integers(0, len(rows) - 1))
        row = rows[i]
        annotation = data.draw(st.sampled_from(index.direct[row].indices.tolist()))
        needs.add((i, data.draw(st.sampled_from(index.closure[annotation].indices.tolist()))))  # a term the row carries
    assert _annotation_sources(index, rows, needs) == {(i, t): _source_one_at_a_time(index, rows[i], t) for i, t in needs}


def test_no_terms_or_no_needs(scorer: PhenotypeScorer) -> None:
    assert scorer.winners([], [0, 1]) == {}
    assert _annotation_sources(scorer.index, [0, 1], []) == {}
