"""Scoring every disease for a case: phenotype and genotype log-likelihood ratios, vectorised."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from raregraph.retrieval.index import INHERITANCE_MODES, RankingIndex

__all__ = ["ScoringParams", "CaseVector", "VariantHit", "PhenotypeScorer", "GenotypeScorer", "ColumnMax"]


@dataclass(frozen=True)
class ScoringParams:
    """The model's knobs (tuned on the dev split only; see README for how)."""

    ic_weight: float = 4.0  # weight of the matched ancestor's IC against log(frequency)
    partial_ic: float = 0.5  # share of IC credited when the match is only a common ancestor
    frequency_floor: float = 0.02  # a matched term is never rarer than this in the disease
    excluded_weight: float = 0.0  # weight of log(1 - c·f) for each excluded term the disease has
    excluded_certainty: float = 0.9  # c: an excluded obligate feature costs log(1 - c)
    negated_match: float = 1.0  # nats per excluded term the disease is annotated NOT to have
    negated_penalty: float = 2.0  # nats lost per present term the disease is annotated NOT to have
    gene_match: float = 1.0  # unit of a candidate variant in a disease gene (the engine scales it to a log LR)
    zygosity_mismatch: float = 0.4  # share of that taken back when zygosity contradicts every mode of inheritance
    phenotype_scale: float = 0.1  # weight of the summed phenotype evidence (terms are not independent); fitted by max likelihood on dev cases


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
    Cost: three column slices of `(n_diseases, n_terms)` CSC matrices per case term.
    """

    def __init__(self, index: RankingIndex, params: ScoringParams) -> None:
        self.index = index
        self.params = params
        # shift keeps every stored value > 0 so the implicit zeros of the sparse max mean "no match"
        self._shift = float(-np.log(params.frequency_floor)) + 1e-3
        self._direct = ColumnMax(self._matrix(index.direct, params.ic_weight))
        self._full = ColumnMax(self._matrix(index.freq, params.ic_weight))
        self._partial = ColumnMax(self._matrix(index.freq, params.ic_weight * params.partial_ic))
        self._freq = index.freq.tocsc()
        self._negated = ColumnMax(index.negated)

    def _matrix(self, freq: sp.csr_matrix, ic_weight: float) -> sp.csc_matrix:
        """Match values w·IC(a) + log f(a|d), shifted above zero, as CSC."""
        coo = freq.tocoo()
        values = ic_weight * self.index.ic[coo.col] + np.log(np.maximum(coo.data, self.params.frequency_floor))
        return sp.csc_matrix(((values + self._shift).astype(np.float32), (coo.row, coo.col)), shape=coo.shape)

    def term_scores(self, q: int) -> np.ndarray:
        """float32 `(n_diseases,)`: how well each disease explains present term position q."""
        closure = self.index.closure
        ancestors = closure.indices[closure.indptr[q]:closure.indptr[q + 1]]
        best = self._direct(ancestors)
        np.maximum(best, self._full([q]), out=best)
        np.maximum(best, self._partial(ancestors), out=best)
        best -= self._shift
        contradicted = self._negated(ancestors) > 0
        return best - self.params.negated_penalty * contradicted

    def scores(self, case: CaseVector) -> np.ndarray:
        """float32 `(n_diseases,)`, in nats."""
        params = self.params
        total = np.zeros(len(self.index.disease_ids), dtype=np.float32)
        for q in case.present:
            total += self.term_scores(q)
        closure = self.index.closure
        for e in case.excluded:
            ancestors = closure.indices[closure.indptr[e]:closure.indptr[e + 1]]
            total += params.negated_match * (self._negated(ancestors) > 0)
        if case.excluded and params.excluded_weight:
            f = self._freq[:, list(case.excluded)].toarray()
            total += params.excluded_weight * np.log1p(-params.excluded_certainty * f).sum(axis=1)
        return total


class ColumnMax:
    """Row-wise max over a few columns of a sparse matrix, fast: heavy columns are kept dense.

    Implicit zeros count as values. float32 results `(n_rows,)`.
    """

    def __init__(self, matrix: sp.spmatrix, dense_share: float = 0.1) -> None:
        csc = matrix.tocsc().astype(np.float32)
        self._ptr, self._rows, self._data = csc.indptr, csc.indices, csc.data
        self._n = csc.shape[0]
        heavy = np.flatnonzero(np.diff(csc.indptr) > dense_share * self._n)
        self._dense = {int(c): csc[:, [c]].toarray().ravel() for c in heavy}

    def __call__(self, columns: Sequence[int] | np.ndarray) -> np.ndarray:
        best = np.zeros(self._n, dtype=np.float32)
        for c in columns:  # a term has ~10 ancestors; numpy does the work inside each column
            dense = self._dense.get(int(c))
            if dense is not None:
                np.maximum(best, dense, out=best)
                continue
            span = slice(self._ptr[c], self._ptr[c + 1])
            rows = self._rows[span]  # unique within a column, so fancy assignment is safe
            best[rows] = np.maximum(best[rows], self._data[span])
        return best


class GenotypeScorer:
    """log LR from candidate variants: a variant in a disease gene, with zygosity against inheritance."""

    _DOMINANT = [list(INHERITANCE_MODES).index(m) for m in ("AD", "XLD", "XL", "MT", "YL")]
    _RECESSIVE = [list(INHERITANCE_MODES).index(m) for m in ("AR", "XLR", "XL")]

    def __init__(self, index: RankingIndex, params: ScoringParams) -> None:
        self.index = index
        self.params = params
        self._gene_diseases = index.disease_genes.T.tocsr()  # (n_genes, n_diseases)
        known = index.inheritance.any(axis=1)
        self._dominant = index.inheritance[:, self._DOMINANT].any(axis=1) | ~known
        self._recessive = index.inheritance[:, self._RECESSIVE].any(axis=1) | ~known

    def scores(self, variants: Sequence[VariantHit]) -> np.ndarray:
        """float32 `(n_diseases,)`, in nats; 0 where no candidate variant touches the disease."""
        n = len(self.index.disease_ids)
        best = np.zeros(n, dtype=np.float32)
        by_gene: dict[int, list[str | None]] = {}
        for hit in variants:
            by_gene.setdefault(hit.gene_row, []).append(hit.zygosity)
        for gene_row, zygosities in by_gene.items():
            rows = self._gene_diseases.indices[self._gene_diseases.indptr[gene_row]:self._gene_diseases.indptr[gene_row + 1]]
            if not len(rows):
                continue
            biallelic = len(zygosities) > 1 or any(z in ("homozygous", "hemizygous") for z in zygosities)
            monoallelic = any(z in (None, "heterozygous") for z in zygosities) or biallelic
            consistent = (self._recessive[rows] & biallelic) | (self._dominant[rows] & monoallelic)
            score = self.params.gene_match - self.params.zygosity_mismatch * ~consistent
            best[rows] = np.maximum(best[rows], score)
        return best
