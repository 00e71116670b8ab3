"""Scoring every disease for a case: phenotype and genotype log-likelihood ratios, vectorised."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
import scipy.sparse as sp

from raregraph.kg.ontology_math import concatenated_ranges
from raregraph.retrieval.index import INHERITANCE_MODES, RankingIndex

TERMS_REFERENCE = 8  # present terms at which the softmax temperature is probability_temperature (the dev median)

__all__ = ["ScoringParams", "CaseVector", "VariantHit", "TermWin", "PhenotypeScorer", "GenotypeScorer", "ColumnMax"]


@dataclass(frozen=True)
class ScoringParams:
    """The model's knobs (tuned on the dev split only; see README and benchmarks/fit_ranking.py for how)."""

    ic_weight: float = 4.0  # weight of the matched ancestor's IC against log(frequency)
    partial_ic: float = 0.5  # share of IC credited when the match is only a common ancestor
    frequency_floor: float = 0.02  # a matched term is never rarer than this in the disease
    excluded_weight: float = 0.0  # weight of log(1 - c·f) for each excluded term the disease has
    excluded_certainty: float = 0.9  # c: an excluded obligate feature costs log(1 - c)
    negated_match: float = 1.0  # nats per excluded term the disease is annotated NOT to have
    negated_penalty: float = 2.0  # nats lost per present term the disease is annotated NOT to have
    phenotype_scale: float = 0.1  # weight of the summed phenotype evidence (terms are not independent); fitted by max likelihood on dev cases
    # Chance level: each present term is worth, on average, background(d) to disease d whatever the
    # case (large diseases match more by chance); this multiple of it is subtracted per present term.
    # 0.75 without variants (best MRR on the 3,148 dev cases outside dev_sample, both protocols),
    # 1.0 with variants (the free conditional-logit fit puts it at 1.2-1.4; of 0.75 / 1.0 / 1.5 compared
    # with diseases held out, 1.0 ranked best on both protocols). With gene twins the grid outside
    # dev_sample leans to 1.25-1.5 de-leaked, but dev_sample ranked worse there (README), so 0.75 stays.
    background_weight: float = 0.75
    background_weight_variants: float = 1.0
    background_sample: int = 2000  # annotations (systematic sample) the background mean is taken over
    # Genotype, in nats on the scale of phenotype_scale x phenotype (conditional-logit fit,
    # benchmarks/fit_ranking.py): a variant in a disease gene adds gene_scale x log(n_genes / n_case_genes)
    # + gene_bonus; zygosity contradicting every mode of inheritance costs zygosity_mismatch.
    # Probability = softmax(total / temperature) over the universe: the ranking is unchanged, the
    # spread is fitted by the gold's likelihood on the ~3,150 in-universe dev cases outside dev_sample
    # (benchmarks/fit_ranking.py --temperature-only); at 1.0 track P was under-confident. The temperature
    # is probability_temperature x (n_present / TERMS_REFERENCE) ** temperature_terms: summed term evidence
    # grows with the term count faster than what the terms tell (they are not independent), so one
    # temperature for all made cases with many terms over-confident and cases with few under-confident
    # (benchmarks/calibration.py, dev_sample ECE P 0.081 -> 0.047, PV 0.067 -> 0.032, RareBench dev 0.152 -> 0.119).
    # A fixed temperature was 0.57 / 0.69.
    probability_temperature: float = 0.60
    probability_temperature_variants: float = 0.63
    temperature_terms: float = 0.45
    temperature_terms_variants: float = 0.29
    # Gene twins (retrieval/twins.py): a twin description sharing the disease's gene enters the
    # phenotype likelihood as a mixture component with prior twin_weight / n_genes(twin). 1.0 without
    # variants: a one-gene twin weighs as much as the disease's own entry; on the dev cases outside
    # dev_sample (benchmarks/fit_ranking.py --twins-only, grid 0 / 0.5 / 1 / 1.5 / 2) it has the best
    # MRR on the standard snapshot (0.580) and is within 0.011 of the best de-leaked (2.0: 0.392).
    # 0.25 with variants, where the gene itself already points at the disease (best of 0 / 0.25 / 0.5 / 1
    # on both protocols).
    twin_weight: float = 1.0
    twin_weight_variants: float = 0.25
    # A twin's prior for one universe disease also has resemblance(disease, twin) ** twin_resemblance and
    # (universe diseases linked to the twin) ** -twin_fanout (retrieval/twins.py): allelic disorders of one gene
    # otherwise all took the same twin's description. 0.5 / 0.5 without variants: the best mean MRR over
    # phenopacket-store outside dev_sample (both protocols) and RareBench dev among settings costing dev_sample at
    # most half a point of top-1 (benchmarks/fit_ranking.py --twin-links; it costs the de-leaked cases outside
    # dev_sample MRR 0.410 -> 0.389, README). With variants 0 / 0: the same links lowered PV de-leaked.
    twin_resemblance: float = 0.5
    twin_fanout: float = 0.5
    twin_resemblance_variants: float = 0.0
    twin_fanout_variants: float = 0.0
    gene_scale: float = 2.10
    gene_bonus: float = 0.34
    zygosity_mismatch: float = 4.66
    # A disease the snapshot links to no gene (its gene unknown, or newer than the gene table: HPO
    # 2026 phenotypes with 2025 gene links) gets this share of a hit's credit when the case has a
    # variant in a known disease gene: without it the variant lifts only the diseases already linked to
    # that gene (e.g. an older allelic disorder) over the right, newer one (issue 14, item 5). 0.75: best
    # MRR on the 3,145 PV dev cases outside dev_sample on the 2026-06-06 snapshot (grid 0 / 0.25 / 0.5 /
    # 0.65 / 0.75 / 0.8 / 0.85 / 0.9 / 1: MRR 0.838 / 0.857 / 0.884 / 0.906 / 0.914 / 0.911 / 0.904 / 0.884 /
    # 0.769; top-1 0.789 at 0 → 0.870; the 443 cases whose gold has no gene link 0.156 → 0.847).
    gene_unknown_share: float = 0.75
    # ...but not for entries of these databases: Orphanet links its genetic disorders to their genes in the
    # same classification its phenotypes come from, so an Orphanet disorder without a gene is one with no
    # known gene (an infection, a poisoning, an autoimmune disease), not one whose gene link is newer than
    # the table. With Orphanet-only disorders ranked (RAREGRAPH_RANK_ORPHANET_ONLY) the credit let them take
    # PV cases from the disease the variant's gene is linked to (README "How ranking works").
    gene_unknown_skip: tuple[str, ...] = ("ORPHA",)
    # Disease prior (retrieval/prior.py): literature_prior x log(1 + PubMed ids its annotations cite) +
    # coded_prior when the disease has an exact MedDRA term. Fitted on both development populations at
    # once (benchmarks/fit_ranking.py --disease-prior-only): the best mean MRR over phenopacket-store
    # outside dev_sample (standard and de-leaked) and RareBench dev among weights costing dev_sample at
    # most half a point of top-1 on either protocol (grid 0-0.4 x 0-0.6; the free likelihood fit, 0.49 /
    # 0.73, costs it 3.1 points).
    literature_prior: float = 0.25
    coded_prior: float = 0.4
    # With candidate variants the prior is scaled by this: the gene already points at the disease, and on the
    # PV dev cases any prior ranked lower (weight 0 / 0.25 / 0.5 / 1, MRR outside dev_sample: standard
    # 0.914 / 0.915 / 0.913 / 0.908, de-leaked 0.839 / 0.831 / 0.822 / 0.818; dev_sample top-1 0.922 at 0 vs
    # 0.907 at 0.5).
    prior_weight_variants: float = 0.0
    # Orphanet-only candidates (RAREGRAPH_RANK_ORPHANET_ONLY, retrieval/prior.py): their log-prior, with or without
    # variants. Maximum likelihood on phenopacket-store outside dev_sample (both protocols) and RareBench dev,
    # weighted alike (benchmarks/fit_ranking.py --orphanet-only).
    orphanet_only_prior: float = -3.8
    # Confirmed cases (retrieval/case_evidence.py, RAREGRAPH_CASE_EVIDENCE): the description a disease's
    # confirmed cases make enters its phenotype likelihood as one more mixture component with prior
    # case_weight (a twin of one gene weighs 1.0 too). Not fitted: the split-halves benchmark
    # (benchmarks/case_evidence.py) is the only measurement, and fitting on it would grade itself.
    case_weight: float = 1.0

    def temperature(self, n_present: int, variants: bool) -> float:
        """The softmax temperature of a case with `n_present` present terms (see probability_temperature)."""
        base, exponent = ((self.probability_temperature_variants, self.temperature_terms_variants) if variants
                          else (self.probability_temperature, self.temperature_terms))
        return base * (max(n_present, 1) / TERMS_REFERENCE) ** exponent


@dataclass(frozen=True)
class CaseVector:
    """A case as term positions in the index."""

    present: tuple[int, ...]
    excluded: tuple[int, ...] = ()


@dataclass(frozen=True)
class VariantHit:
    """A case variant resolved to a gene row of the index."""

    gene_row: int
    zygosity: str | None  # heterozygous | homozygous | hemizygous | None


@dataclass(frozen=True)
class TermWin:
    """How one disease explained one present term in its score: the match that won the row-wise max.

    kind: `direct` (the credited term is annotated to the disease), `propagated` (the disease has the
    credited term through a more specific annotation), `partial` (only a common ancestor, IC scaled
    by `partial_ic`). `disease_term` is the annotation whose frequency the match used.
    """

    kind: Literal["direct", "propagated", "partial"]
    term: int  # position of the credited term: the case term itself or one of its ancestors
    disease_term: int  # position of the disease's annotated term that supplied the frequency
    value: float  # nats the match added, w·IC + log f (before any NOT-annotation penalty)


class PhenotypeScorer:
    """log LR of the case phenotype for every disease, in nats.

    A present term q is explained by disease d through the most informative ancestor a of q
    (q included) that d carries, scored w·IC(a) + log f(a|d):
    - fully when a is annotated to d directly (q is that feature or a more specific form of it)
      or a = q (q is a less specific form of one of d's features);
    - with IC scaled by `partial_ic` when a is only an ancestor of d's features (q and d's
      feature are cousins: related, but d does not have what the patient has).
    An excluded term e the disease carries costs log(1 - c·f(e|d)); an excluded term d is
    annotated NOT to have earns `negated_match`; a present term under one of d's NOT
    annotations costs `negated_penalty`.
    `background` is what one present term is worth to each disease by chance (see there).
    Cost per case term: one row-wise max over ~20 columns of the side-by-side match matrices and one
    column read for NOT annotations (`(n_diseases,)` float32 work, a few numpy calls).
    """

    def __init__(self, index: RankingIndex, params: ScoringParams, blocks: Sequence[int] = (),
                 sampled: np.ndarray | None = None) -> None:
        self.index = index
        self.params = params
        # bool `(n_diseases,)`: rows whose annotations the chance level's terms are drawn from (None: all). The
        # engine leaves out the diseases ranked beyond the index's databases (RankingIndex.also), so adding them
        # changes no other disease's chance level.
        self.sampled = sampled
        # Row counts of the indices stacked into this one (RankingIndex.stacked_with); each block's
        # chance level is taken over its own annotations, as if it were scored alone.
        self.blocks = tuple(blocks) or (len(index.disease_ids),)
        if sum(self.blocks) != len(index.disease_ids):
            raise ValueError(f"blocks {self.blocks} do not add up to the index's {len(index.disease_ids)} diseases")
        # shift keeps every stored value > 0 so the implicit zeros of the sparse max mean "no match"
        self._shift = float(-np.log(params.frequency_floor)) + 1e-3
        # The three ways a disease can explain a term, side by side: direct annotations with full IC
        # (columns [0, T)), propagated ones with full IC ([T, 2T)) and with partial IC ([2T, 3T)),
        # so a term's best match is one row-wise max over columns picked from all three.
        self._n_terms = len(index.term_ids)
        self._match = ColumnMax(sp.hstack([
            self._matrix(index.direct, params.ic_weight),
            self._matrix(index.freq, params.ic_weight),
            self._matrix(index.freq, params.ic_weight * params.partial_ic),
        ], format="csc"))
        self._freq = index.freq.tocsc()
        # (disease, q): d is annotated NOT to have q or one of its ancestors, one column per term
        # (~150k entries on the default snapshot) instead of ~10 ancestor columns per lookup.
        below = (index.negated.astype(np.float32) @ index.closure.astype(np.float32).T).tocsc()
        below.data[:] = 1.0
        self._negated_below = ColumnMax(below)

    def _matrix(self, freq: sp.csr_matrix, ic_weight: float) -> sp.csc_matrix:
        """Match values w·IC(a) + log f(a|d), shifted above zero, as CSC."""
        coo = freq.tocoo()
        values = ic_weight * self.index.ic[coo.col] + np.log(np.maximum(coo.data, self.params.frequency_floor))
        return sp.csc_matrix(((values + self._shift).astype(np.float32), (coo.row, coo.col)), shape=coo.shape)

    def term_scores(self, q: int) -> np.ndarray:
        """float32 `(n_diseases,)`: how well each disease explains present term position q."""
        closure = self.index.closure
        ancestors = closure.indices[closure.indptr[q]:closure.indptr[q + 1]]
        n = self._n_terms
        best = self._match(np.concatenate([ancestors, [n + q], ancestors + 2 * n]))
        best -= self._shift
        contradicted = self._negated_below([q]) > 0
        return best - self.params.negated_penalty * contradicted

    def winners(self, terms: Sequence[int], rows: Sequence[int]) -> dict[int, list[TermWin | None]]:
        """For each present term position q and disease row, the match `term_scores(q)` took its max from (None: none).

        Reads the same side-by-side matrix as the score; on ties the exact annotation wins, then the
        disease's own more specific forms of q, then ancestors by IC. Cost: one gather of the matrix's
        ~3 x ancestors columns of every term, and one pass over the rows' annotations' ancestors for
        the annotations propagated and partial matches came from (a few numpy calls per case, not per match).
        """
        index, n = self.index, self._n_terms
        picked = np.asarray(rows, dtype=np.int64)
        segments = [self._win_columns(q) for q in terms]
        columns = np.concatenate(segments) if segments else np.zeros(0, dtype=np.int64)
        values = self._match.cells(picked, columns, self._match.positions(picked))
        taken: list[tuple[int, list[tuple[int, int, float] | None]]] = []
        needs: set[tuple[int, int]] = set()  # (i, term): which annotation of rows[i] supplied freq[row, term]
        start = 0
        for q, segment in zip(terms, segments):
            block = values[:, start:start + len(segment)]
            start += len(segment)
            best = block.argmax(axis=1)
            top = block[np.arange(len(picked)), best].tolist()
            row_wins: list[tuple[int, int, float] | None] = []
            for i, (j, value) in enumerate(zip(best.tolist(), top)):
                if value <= 0:
                    row_wins.append(None)
                    continue
                column = int(segment[j])
                row_wins.append((column // n, column % n, value))
                if column >= n:
                    needs.add((i, column % n))
            taken.append((q, row_wins))
        sources = _annotation_sources(index, rows, needs)
        kinds = ("direct", "propagated", "partial")
        return {
            q: [None if w is None else
                TermWin(kinds[w[0]], w[1], w[1] if w[0] == 0 else sources[i, w[1]], w[2] - self._shift)  # type: ignore[arg-type]
                for i, w in enumerate(row_wins)]
            for q, row_wins in taken
        }

    def _win_columns(self, q: int) -> np.ndarray:
        """The side-by-side columns term q's match is read from, in tie-break order: q exact, q propagated,
        then its ancestors by IC (then position), then the same partially."""
        index, n = self.index, self._n_terms
        ancestors = index.closure.indices[index.closure.indptr[q]:index.closure.indptr[q + 1]].astype(np.int64)
        others = ancestors[ancestors != q]
        others = others[np.lexsort((others, -index.ic[others]))]
        return np.concatenate([[q, n + q], others, [2 * n + q], others + 2 * n]).astype(np.int64)

    @cached_property
    def background(self) -> np.ndarray:
        """float32 `(n_diseases,)`: mean `term_scores` of each disease for a present term drawn from
        the annotation background (terms weighted by how many diseases of its block carry them).

        A disease with many annotations explains a random term better than a small one; n present
        terms are worth about n x background(d) to d by chance. Taken over a systematic sample of
        `background_sample` annotations per block (deterministic); ~0.3 s per block, once per scorer.
        """
        background = np.zeros(len(self.index.disease_ids), dtype=np.float32)
        start = 0
        for size in self.blocks:
            rows = slice(start, start + size)
            start += size
            picks = self.background_terms(rows)
            if len(picks):
                background[rows] = self.mean_term_scores(picks)[rows]
        background.flags.writeable = False
        return background

    def mean_term_scores(self, terms: np.ndarray) -> np.ndarray:
        """float64 `(n_diseases,)`: each disease's mean `term_scores` over the term positions `terms` (zeros when none)."""
        total = np.zeros(len(self.index.disease_ids), dtype=np.float64)
        for q in terms:  # start-up or refresh cost only: a loop over sampled terms, each scored for all diseases
            total += self.term_scores(int(q))
        return total / max(len(terms), 1)

    def background_terms(self, rows: slice) -> np.ndarray:
        """The systematic sample of annotated terms (positions) the chance level of diseases `rows` is taken over."""
        direct = self.index.direct[rows]
        if self.sampled is not None:
            direct = direct[self.sampled[rows]]
        terms = np.sort(direct.indices)  # one entry per (disease, term) annotation
        if not len(terms):
            return terms
        return terms[np.linspace(0, len(terms) - 1, min(self.params.background_sample, len(terms))).astype(np.int64)]

    def scores(self, case: CaseVector) -> np.ndarray:
        """float32 `(n_diseases,)`, in nats."""
        params = self.params
        total = np.zeros(len(self.index.disease_ids), dtype=np.float32)
        for q in case.present:
            total += self.term_scores(q)
        for e in case.excluded:
            total += params.negated_match * (self._negated_below([e]) > 0)
        if case.excluded and params.excluded_weight:
            f = self._freq[:, list(case.excluded)].toarray()
            total += params.excluded_weight * np.log1p(-params.excluded_certainty * f).sum(axis=1)
        return total


def _annotation_sources(index: RankingIndex, rows: Sequence[int], needs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """For each (i, term) of `needs`, the direct annotation of disease row `rows[i]` at or below `term` with the
    largest frequency (then IC, then lowest position): where the propagated frequency `freq[rows[i], term]` came from.

    One pass over the needed rows' annotations and their ancestors, whatever the number of needs.
    """
    needs = sorted(set(needs))
    if not needs:
        return {}
    direct, closure, n = index.direct, index.closure, len(index.term_ids)
    which = np.array(sorted({i for i, _ in needs}), dtype=np.int64)
    disease = np.asarray(rows, dtype=np.int64)[which]
    starts, ends = direct.indptr[disease], direct.indptr[disease + 1]
    spans = concatenated_ranges(starts, ends)
    annotated = direct.indices[spans].astype(np.int64)
    frequency = direct.data[spans]
    owner_i = np.repeat(which, ends - starts)
    up_starts, up_ends = closure.indptr[annotated], closure.indptr[annotated + 1]
    repeat = up_ends - up_starts
    owner = np.repeat(annotated, repeat)
    key = np.repeat(owner_i, repeat) * n + closure.indices[concatenated_ranges(up_starts, up_ends)]
    keep = np.isin(key, np.array([i * n + t for i, t in needs], dtype=np.int64), kind="table")
    key, owner, frequency = key[keep], owner[keep], np.repeat(frequency, repeat)[keep]
    order = np.lexsort((owner, -index.ic[owner], -frequency, key))  # per key: max frequency, max IC, lowest position
    key, owner = key[order], owner[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return {(k // n, k % n): o for k, o in zip(key[first].tolist(), owner[first].tolist())}


class ColumnMax:
    """Row-wise max over a few columns of a sparse matrix, fast: heavy columns are kept dense.

    Implicit zeros count as values (stored values must be >= 0). float32 results `(n_rows,)`.
    """

    def __init__(self, matrix: sp.spmatrix, dense_share: float = 0.1) -> None:
        csc = matrix.tocsc().astype(np.float32)
        self._ptr, self._rows, self._data = csc.indptr, csc.indices, csc.data
        self._n = csc.shape[0]
        heavy = np.flatnonzero(np.diff(csc.indptr) > dense_share * self._n)
        self._slot = np.full(csc.shape[1], -1, dtype=np.int64)  # row of each heavy column in _dense
        self._slot[heavy] = np.arange(len(heavy))
        self._dense = csc[:, heavy].toarray().T.copy() if len(heavy) else np.zeros((0, self._n), np.float32)

    def cells(self, rows: np.ndarray, columns: np.ndarray, position: np.ndarray | None = None) -> np.ndarray:
        """float32 `(len(rows), len(columns))`: the stored values (0 where none) of a few rows and columns.

        `position` (int64 `(n_rows,)`, -1 outside `rows`) may be passed in when reading many column sets.
        """
        out = np.zeros((len(rows), len(columns)), dtype=np.float32)
        slots = self._slot[columns]
        heavy = np.flatnonzero(slots >= 0)
        if len(heavy):
            out[:, heavy] = self._dense[slots[heavy][:, None], rows[None, :]].T
        sparse = np.flatnonzero(slots < 0)
        if len(sparse):
            if position is None:
                position = self.positions(rows)
            starts, ends = self._ptr[columns[sparse]], self._ptr[columns[sparse] + 1]
            offsets = concatenated_ranges(starts, ends)
            where = position[self._rows[offsets]]
            keep = where >= 0
            out[where[keep], np.repeat(sparse, ends - starts)[keep]] = self._data[offsets][keep]
        return out

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """int64 `(n_rows,)`: each row's place in `rows`, -1 for the others."""
        position = np.full(self._n, -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        return position

    def __call__(self, columns: Sequence[int] | np.ndarray) -> np.ndarray:
        # Whole-array operations only: the per-column Python loop this replaces was half of a
        # case's scoring time (a term has ~10 ancestors, three matrices are read per term).
        cols = np.asarray(columns, dtype=np.int64)
        slots = self._slot[cols]
        heavy = slots[slots >= 0]
        if len(heavy):
            best = self._dense[heavy[0]].copy()
            for slot in heavy[1:]:
                np.maximum(best, self._dense[slot], out=best)
        else:
            best = np.zeros(self._n, dtype=np.float32)
        sparse = cols[slots < 0]
        if len(sparse) == 1:
            span = slice(self._ptr[sparse[0]], self._ptr[sparse[0] + 1])
            rows = self._rows[span]  # unique within a column, so fancy assignment is safe
            best[rows] = np.maximum(best[rows], self._data[span])
        elif len(sparse):
            offsets = concatenated_ranges(self._ptr[sparse], self._ptr[sparse + 1])
            np.maximum.at(best, self._rows[offsets], self._data[offsets])
        return best


class GenotypeScorer:
    """log LR from candidate variants: a variant in a disease gene, with zygosity against inheritance."""

    _DOMINANT = [list(INHERITANCE_MODES).index(m) for m in ("AD", "XLD", "XL", "MT", "YL")]
    _RECESSIVE = [list(INHERITANCE_MODES).index(m) for m in ("AR", "XLR", "XL")]

    def __init__(self, index: RankingIndex, params: ScoringParams) -> None:
        self.index = index
        self.params = params
        self._gene_diseases = index.disease_genes.T.tocsr()  # (n_genes, n_diseases)
        skip = tuple(f"{database}:" for database in params.gene_unknown_skip)
        geneless = np.diff(index.disease_genes.tocsr().indptr) == 0
        self._geneless = geneless & np.array([not d.startswith(skip) for d in index.disease_ids], dtype=bool)  # (n_diseases,)
        known = index.inheritance.any(axis=1)
        self._dominant = index.inheritance[:, self._DOMINANT].any(axis=1) | ~known
        self._recessive = index.inheritance[:, self._RECESSIVE].any(axis=1) | ~known

    def scores(self, variants: Sequence[VariantHit]) -> np.ndarray:
        """float32 `(n_diseases,)`, in nats; 0 where no candidate variant touches the disease.

        A hit is about n_genes / n_case_genes times likelier under the disease than by chance:
        gene_scale x log of that, plus gene_bonus; the best of the disease's hit genes counts, a
        gene whose zygosity fits none of the disease's modes of inheritance losing zygosity_mismatch.
        """
        n = len(self.index.disease_ids)
        best = np.full(n, -np.inf, dtype=np.float32)
        by_gene: dict[int, list[str | None]] = {}
        for hit in variants:
            by_gene.setdefault(hit.gene_row, []).append(hit.zygosity)
        if not by_gene:
            return np.zeros(n, dtype=np.float32)
        params = self.params
        unit = params.gene_scale * math.log(max(len(self.index.gene_ids), 2) / len(by_gene)) + params.gene_bonus
        for gene_row, zygosities in by_gene.items():
            rows = self._gene_diseases.indices[self._gene_diseases.indptr[gene_row]:self._gene_diseases.indptr[gene_row + 1]]
            if not len(rows):
                continue
            biallelic = len(zygosities) > 1 or any(z in ("homozygous", "hemizygous") for z in zygosities)
            monoallelic = any(z in (None, "heterozygous") for z in zygosities) or biallelic
            consistent = (self._recessive[rows] & biallelic) | (self._dominant[rows] & monoallelic)
            score = unit - params.zygosity_mismatch * ~consistent
            best[rows] = np.maximum(best[rows], score)
        lifted = not np.isneginf(best).all()
        best[np.isneginf(best)] = 0.0
        if params.gene_unknown_share and lifted:
            # only when some variant landed on a known disease gene (else nothing was lifted)
            best[self._geneless] = params.gene_unknown_share * unit
        return best
