"""Ontology maths on sparse matrices: is_a closure and information content (and the range helper they share with callers)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["ancestor_closure", "annotation_closure", "concatenated_ranges", "information_content"]


def ancestor_closure(n_terms: int, child: np.ndarray, parent: np.ndarray) -> sp.csr_matrix:
    """Reflexive-transitive is_a closure: bool CSR `(n_terms, n_terms)`, row t marks t and all its ancestors.

    Repeated squaring, so the cost is O(log depth) sparse products.
    """
    step = sp.csr_matrix((np.ones(len(child), dtype=bool), (child, parent)), shape=(n_terms, n_terms))
    closure = (sp.identity(n_terms, dtype=bool, format="csr") + step).astype(bool)
    while True:
        grown = (closure @ closure).astype(bool)
        if grown.nnz == closure.nnz:
            return grown.tocsr()
        closure = grown


def annotation_closure(direct: sp.csr_matrix, closure: sp.csr_matrix) -> sp.csr_matrix:
    """True-path propagation: bool CSR `(n_diseases, n_terms)` of each disease's terms and their ancestors."""
    return (direct.astype(bool) @ closure).astype(bool).tocsr()


def information_content(propagated: sp.csr_matrix) -> np.ndarray:
    """IC per term in nats, float64 `(n_terms,)`, from a propagated disease × term matrix.

    IC(t) = -ln(n_t / N) with N the number of annotated diseases. A term no disease carries
    gets the IC of a term seen once (-ln(1/N)): it is at least that specific, and an infinite
    value would let one unannotated query term dominate every similarity.
    """
    annotated = np.asarray(propagated.getnnz(axis=1) > 0).sum()
    total = max(int(annotated), 1)
    counts = np.asarray(propagated.sum(axis=0)).ravel().astype(np.float64)
    counts = np.maximum(counts, 1.0)
    return 0.0 - np.log(counts / total)  # 0.0 - keeps the root at +0.0, not -0.0


def concatenated_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """int64 positions of every range [starts[i], ends[i]) back to back, without a Python loop."""
    lengths = ends - starts
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
