"""The one ontology index of a snapshot: terms as positions, is_a closure, and information content per corpus.

Built once per snapshot (`SnapshotOntology`, on first use) and shared by the embedded graph's
look-ups and the ranking index, so both read the same closure and the same IC. IC is keyed by
corpus as hpo3 keys it: the diseases of some databases (`ic_of(("OMIM", "DECIPHER"))`, what
ranking uses) or every annotated disease (`ic`, what `KnowledgeGraph.information_content` reports).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import polars as pl
import scipy.sparse as sp

from raregraph.etl.snapshot import Snapshot
from raregraph.kg.model import DiseaseId, HpoId
from raregraph.kg.ontology_math import ancestor_closure, annotation_closure, information_content

__all__ = ["OntologyIndex", "SnapshotOntology"]


@dataclass(frozen=True)
class OntologyIndex:
    """Terms as matrix positions, for vectorised work (ranking, IC).

    `closure`: bool CSR `(n_terms, n_terms)`, row t = t and its ancestors.
    `ic`: float64 `(n_terms,)` in nats over every disease with a present phenotype (aspect P)
    annotation; `disease_ids`: those diseases, rows of `direct`/`propagated`.
    """

    term_ids: tuple[HpoId, ...]
    position: Mapping[str, int]
    closure: sp.csr_matrix
    ic: np.ndarray
    disease_ids: tuple[DiseaseId, ...]
    direct: sp.csr_matrix  # bool (n_diseases, n_terms): present P annotations
    propagated: sp.csr_matrix  # bool (n_diseases, n_terms): true-path closure of `direct`
    _ic_by_corpus: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, terms: pl.DataFrame, parents: pl.DataFrame, phenotypes: pl.DataFrame) -> "OntologyIndex":
        """From the snapshot's `terms`, `term_parents` and `disease_phenotypes` tables; ~1 s on the default snapshot."""
        term_ids = tuple(HpoId(t) for t in terms["id"].to_list())
        position = {t: i for i, t in enumerate(term_ids)}
        child = parents["term_id"].replace_strict(position, return_dtype=pl.Int64).to_numpy()
        parent = parents["parent_id"].replace_strict(position, return_dtype=pl.Int64).to_numpy()
        closure = ancestor_closure(len(term_ids), child, parent)

        present = phenotypes.filter((pl.col("aspect") == "P") & ~pl.col("negated"))
        present = present.filter(pl.col("term_id").is_in(list(position)))
        disease_ids = tuple(DiseaseId(d) for d in present["disease_id"].unique().sort().to_list())
        row_of = {d: i for i, d in enumerate(disease_ids)}
        rows = present["disease_id"].replace_strict(row_of, return_dtype=pl.Int64).to_numpy()
        cols = present["term_id"].replace_strict(position, return_dtype=pl.Int64).to_numpy()
        direct = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(len(disease_ids), len(term_ids)))
        direct.sum_duplicates()
        propagated = annotation_closure(direct, closure)
        return cls(term_ids, position, closure, information_content(propagated), disease_ids, direct, propagated)

    def ic_of(self, databases: Sequence[str]) -> np.ndarray:
        """float64 `(n_terms,)`: IC in nats over the diseases of `databases` (id prefixes, e.g. OMIM); cached per corpus."""
        corpus = tuple(sorted(databases))
        if corpus not in self._ic_by_corpus:
            rows = [i for i, d in enumerate(self.disease_ids) if d.split(":")[0] in corpus]
            self._ic_by_corpus[corpus] = information_content(self.propagated[rows])
        return self._ic_by_corpus[corpus]


class SnapshotOntology:
    """A snapshot's `OntologyIndex`, built on first use and then shared by whoever holds this object."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    @cached_property
    def index(self) -> OntologyIndex:
        snapshot = self.snapshot
        return OntologyIndex.build(snapshot.table("terms"), snapshot.table("term_parents"),
                                   snapshot.table("disease_phenotypes"))
