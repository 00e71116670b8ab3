"""The embedded `KnowledgeGraph`: a snapshot loaded in-process (polars tables, sparse matrices)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from raregraph.etl.snapshot import Snapshot
from raregraph.kg.model import (
    Annotation, Disease, DiseaseId, Gene, GeneId, HpoId, Synonym, Term, normalize_label,
)
from raregraph.kg.ontology_math import ancestor_closure, annotation_closure, information_content

__all__ = ["EmbeddedGraph", "OntologyIndex"]


@dataclass(frozen=True)
class OntologyIndex:
    """Terms as matrix positions, for vectorised work (ranking, IC).

    `closure`: bool CSR `(n_terms, n_terms)`, row t = t and its ancestors.
    `ic`: float64 `(n_terms,)` in nats. `disease_ids`: rows of `direct`/`propagated`,
    the diseases with at least one present phenotype (aspect P) annotation.
    """

    term_ids: tuple[HpoId, ...]
    position: Mapping[str, int]
    closure: sp.csr_matrix
    ic: np.ndarray
    disease_ids: tuple[DiseaseId, ...]
    direct: sp.csr_matrix  # bool (n_diseases, n_terms): present P annotations
    propagated: sp.csr_matrix  # bool (n_diseases, n_terms): true-path closure of `direct`


class EmbeddedGraph:
    """`KnowledgeGraph` over one snapshot, in memory; loading the default snapshot takes about a second."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self.snapshot_id = snapshot.id
        self._terms_frame = snapshot.table("terms")
        self._synonyms = snapshot.table("term_synonyms")
        self._parents = snapshot.table("term_parents")
        self._phenotypes = snapshot.table("disease_phenotypes")
        self._inheritance = snapshot.table("disease_inheritance")
        self._diseases = snapshot.table("diseases")
        self._genes = snapshot.table("genes")
        self._disease_genes = snapshot.table("disease_genes")

    @classmethod
    def open(cls, path: Path) -> "EmbeddedGraph":
        return cls(Snapshot.open(path))

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def manifest(self) -> Mapping[str, Any]:
        return self._snapshot.manifest

    # --- terms ----------------------------------------------------------------------------

    @cached_property
    def _term_records(self) -> dict[str, Term]:
        synonyms: dict[str, list[Synonym]] = defaultdict(list)
        for term_id, text, scope in self._synonyms.select("term_id", "synonym", "scope").iter_rows():
            synonyms[term_id].append(Synonym(text, scope))
        parents: dict[str, list[str]] = defaultdict(list)
        for term_id, parent_id in self._parents.select("term_id", "parent_id").iter_rows():
            parents[term_id].append(parent_id)
        records = {}
        for row in self._terms_frame.iter_rows(named=True):
            tid = row["id"]
            records[tid] = Term(
                id=HpoId(tid), label=row["label"], definition=row["definition"],
                synonyms=tuple(synonyms.get(tid, ())), alt_ids=tuple(row["alt_ids"] or ()),
                xrefs=tuple(row["xrefs"] or ()), parents=tuple(sorted(parents.get(tid, ()))),
                obsolete=bool(row["obsolete"]), replaced_by=row["replaced_by"],
                consider=tuple(row["consider"] or ()), source=row["source"], release=row["release"],
            )
        return records

    @cached_property
    def _resolution(self) -> dict[str, HpoId]:
        records = self._term_records
        resolved: dict[str, HpoId] = {}
        for term in records.values():
            current = _follow_replacements(term.id, records)
            if current is not None:
                resolved[term.id] = current
                for alt in term.alt_ids:
                    resolved.setdefault(alt, current)
        return resolved

    @cached_property
    def _label_index(self) -> dict[str, list[HpoId]]:
        by_label: dict[str, list[HpoId]] = defaultdict(list)
        by_synonym: dict[str, list[HpoId]] = defaultdict(list)
        for term in self._term_records.values():
            if term.obsolete:
                continue
            by_label[normalize_label(term.label)].append(term.id)
            for syn in term.synonyms:
                by_synonym[normalize_label(syn.text)].append(term.id)
        index: dict[str, list[HpoId]] = {}
        for key in by_label.keys() | by_synonym.keys():
            labels = sorted(set(by_label.get(key, ())))
            index[key] = labels + sorted(set(by_synonym.get(key, ())) - set(labels))
        return index

    def terms(self, ids: Sequence[str]) -> dict[str, Term]:
        records = self._term_records
        return {i: records[i] for i in ids if i in records}

    def resolve_terms(self, ids: Sequence[str]) -> dict[str, HpoId]:
        resolution = self._resolution
        return {i: resolution[i] for i in ids if i in resolution}

    def terms_by_label(self, texts: Sequence[str]) -> dict[str, list[HpoId]]:
        index = self._label_index
        found = {t: index.get(normalize_label(t), []) for t in texts}
        return {t: ids for t, ids in found.items() if ids}

    def term_names(self) -> list[tuple[HpoId, str, str]]:
        names = []
        for term in self._term_records.values():
            if term.obsolete:
                continue
            names.append((term.id, term.label, "LABEL"))
            names.extend((term.id, syn.text, syn.scope) for syn in term.synonyms)
        return sorted(names)

    # --- ontology ---------------------------------------------------------------------------

    @cached_property
    def ontology(self) -> OntologyIndex:
        """Closure, IC and the disease × term matrices (built once per process)."""
        term_ids = tuple(HpoId(t) for t in self._terms_frame["id"].to_list())
        position = {t: i for i, t in enumerate(term_ids)}
        child = self._parents["term_id"].replace_strict(position, return_dtype=pl.Int64).to_numpy()
        parent = self._parents["parent_id"].replace_strict(position, return_dtype=pl.Int64).to_numpy()
        closure = ancestor_closure(len(term_ids), child, parent)

        present = self._phenotypes.filter((pl.col("aspect") == "P") & ~pl.col("negated"))
        present = present.filter(pl.col("term_id").is_in(list(position)))
        disease_ids = tuple(DiseaseId(d) for d in present["disease_id"].unique().sort().to_list())
        row_of = {d: i for i, d in enumerate(disease_ids)}
        rows = present["disease_id"].replace_strict(row_of, return_dtype=pl.Int64).to_numpy()
        cols = present["term_id"].replace_strict(position, return_dtype=pl.Int64).to_numpy()
        direct = sp.csr_matrix(
            (np.ones(len(rows), dtype=bool), (rows, cols)), shape=(len(disease_ids), len(term_ids))
        )
        direct.sum_duplicates()
        propagated = annotation_closure(direct, closure)
        ic = information_content(propagated)
        return OntologyIndex(term_ids, position, closure, ic, disease_ids, direct, propagated)

    def _related(self, ids: Sequence[str], matrix: sp.csr_matrix, include_self: bool) -> dict[str, frozenset[HpoId]]:
        onto = self.ontology
        out = {}
        for i in ids:
            pos = onto.position.get(i)
            if pos is None:
                continue
            cols = matrix.indices[matrix.indptr[pos]:matrix.indptr[pos + 1]]
            related = {onto.term_ids[c] for c in cols}
            if not include_self:
                related.discard(HpoId(i))
            out[i] = frozenset(related)
        return out

    @cached_property
    def _descendant_closure(self) -> sp.csr_matrix:
        return self.ontology.closure.T.tocsr()

    def ancestors(self, ids: Sequence[str], *, include_self: bool = True) -> dict[str, frozenset[HpoId]]:
        return self._related(ids, self.ontology.closure, include_self)

    def descendants(self, ids: Sequence[str], *, include_self: bool = True) -> dict[str, frozenset[HpoId]]:
        return self._related(ids, self._descendant_closure, include_self)

    def information_content(self, ids: Sequence[str]) -> dict[str, float]:
        onto = self.ontology
        return {i: float(onto.ic[onto.position[i]]) for i in ids if i in onto.position}

    # --- diseases and genes ---------------------------------------------------------------------

    @cached_property
    def _disease_records(self) -> dict[str, Disease]:
        return {
            row["id"]: Disease(DiseaseId(row["id"]), row["name"], row["database"], row["source"], row["release"])
            for row in self._diseases.iter_rows(named=True)
        }

    @cached_property
    def _gene_records(self) -> dict[str, Gene]:
        return {
            row["id"]: Gene(GeneId(row["id"]), row["symbol"], row["ncbi_gene_id"], row["hgnc_id"], row["source"], row["release"])
            for row in self._genes.iter_rows(named=True)
        }

    @cached_property
    def _gene_keys(self) -> dict[str, str]:
        keys: dict[str, str] = {}
        for gene in self._gene_records.values():
            for key in (gene.id, gene.hgnc_id, f"NCBIGene:{gene.ncbi_gene_id}" if gene.ncbi_gene_id else None):
                if key:
                    keys.setdefault(key, gene.id)
            keys.setdefault(gene.symbol.upper(), gene.id)
        return keys

    def diseases(self, ids: Sequence[str]) -> dict[str, Disease]:
        records = self._disease_records
        return {i: records[i] for i in ids if i in records}

    def diseases_for_terms(self, ids: Sequence[str]) -> dict[str, list[Annotation]]:
        rows = self._phenotypes.filter(pl.col("term_id").is_in(list(ids))).sort("term_id", "disease_id")
        return _group(_annotations(rows), key=lambda a: a.term_id)

    def disease_phenotypes(self, ids: Sequence[str]) -> dict[str, list[Annotation]]:
        rows = self._phenotypes.filter(pl.col("disease_id").is_in(list(ids))).sort("disease_id", "term_id")
        return _group(_annotations(rows), key=lambda a: a.disease_id)

    def disease_inheritance(self, ids: Sequence[str]) -> dict[str, list[Annotation]]:
        rows = self._inheritance.filter(pl.col("disease_id").is_in(list(ids))).sort("disease_id", "term_id")
        return _group(_annotations(rows.with_columns(aspect=pl.lit("I"))), key=lambda a: a.disease_id)

    def genes(self, keys: Sequence[str]) -> dict[str, Gene]:
        lookup, records = self._gene_keys, self._gene_records
        found = {k: lookup.get(k) or lookup.get(k.upper()) for k in keys}
        return {k: records[g] for k, g in found.items() if g}

    def genes_of_diseases(self, ids: Sequence[str]) -> dict[str, list[Gene]]:
        records = self._gene_records
        links = self._disease_genes.filter(pl.col("disease_id").is_in(list(ids)))
        out: dict[str, list[Gene]] = defaultdict(list)
        for disease_id, gene_id in links.select("disease_id", "gene_id").unique().iter_rows():
            if gene_id in records:
                out[disease_id].append(records[gene_id])
        return {d: sorted(genes, key=lambda g: (g.symbol, g.id)) for d, genes in out.items()}

    def diseases_of_genes(self, keys: Sequence[str]) -> dict[str, list[Disease]]:
        resolved = {k: g.id for k, g in self.genes(keys).items()}
        links = self._disease_genes.filter(pl.col("gene_id").is_in(list(set(resolved.values()))))
        by_gene: dict[str, set[str]] = defaultdict(set)
        for disease_id, gene_id in links.select("disease_id", "gene_id").iter_rows():
            by_gene[gene_id].add(disease_id)
        records = self._disease_records
        return {
            k: [records[d] for d in sorted(by_gene[g]) if d in records] for k, g in resolved.items() if by_gene.get(g)
        }


def _follow_replacements(term_id: str, records: Mapping[str, Term]) -> HpoId | None:
    seen: set[str] = set()
    current: str | None = term_id
    while current is not None and current not in seen:
        seen.add(current)
        term = records.get(current)
        if term is None:
            return None
        if not term.obsolete:
            return term.id
        current = term.replaced_by
    return None


def _annotations(rows: pl.DataFrame) -> list[Annotation]:
    columns = set(rows.columns)
    out = []
    for row in rows.iter_rows(named=True):
        out.append(Annotation(
            disease_id=DiseaseId(row["disease_id"]), term_id=HpoId(row["term_id"]),
            negated=bool(row.get("negated") or False), frequency=row.get("frequency"),
            frequency_raw=row.get("frequency_raw"), aspect=row.get("aspect") or "P",
            onset=row.get("onset") if "onset" in columns else None, evidence=row.get("evidence"),
            references=tuple(row.get("references") or ()), source=row.get("source"), release=row.get("release"),
        ))
    return out


def _group(items: Iterable[Annotation], key: Any) -> dict[str, list[Annotation]]:
    grouped: dict[str, list[Annotation]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return dict(grouped)
