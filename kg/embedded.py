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
from raregraph.kg.model import (
    SearchHit, Variant, name_match_score, normalize_chrom, normalize_position, search_tokens, variant_from_row,
)
from raregraph.kg.ontology import OntologyIndex, SnapshotOntology
from raregraph.kg.ontology_math import concatenated_ranges

__all__ = ["EmbeddedGraph"]


class EmbeddedGraph:
    """`KnowledgeGraph` over one snapshot, in memory; loading the default snapshot takes about a second."""

    def __init__(self, snapshot: Snapshot, ontology: SnapshotOntology | None = None) -> None:
        self._snapshot = snapshot
        self._ontology = ontology or SnapshotOntology(snapshot)
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

    @property
    def ontology(self) -> OntologyIndex:
        """The snapshot's one ontology index (closure, IC over every annotated disease), shared with ranking."""
        return self._ontology.index

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

    @cached_property
    def _phenotypes_by_term(self) -> "_SortedRows":
        return _SortedRows(self._phenotypes, "term_id", "disease_id")

    @cached_property
    def _phenotypes_by_disease(self) -> "_SortedRows":
        return _SortedRows(self._phenotypes, "disease_id", "term_id")

    @cached_property
    def _inheritance_by_disease(self) -> "_SortedRows":
        return _SortedRows(self._inheritance.with_columns(aspect=pl.lit("I")), "disease_id", "term_id")

    def diseases_for_terms(self, ids: Sequence[str]) -> dict[str, list[Annotation]]:
        return _group(self._phenotypes_by_term.annotations(ids), key=lambda a: a.term_id)

    def disease_phenotypes(self, ids: Sequence[str], terms: Sequence[str] | None = None) -> dict[str, list[Annotation]]:
        return _group(self._phenotypes_by_disease.annotations(ids, then_in=terms), key=lambda a: a.disease_id)

    def disease_inheritance(self, ids: Sequence[str]) -> dict[str, list[Annotation]]:
        return _group(self._inheritance_by_disease.annotations(ids), key=lambda a: a.disease_id)

    def genes(self, keys: Sequence[str]) -> dict[str, Gene]:
        lookup, records = self._gene_keys, self._gene_records
        found = {k: lookup.get(k) or lookup.get(k.upper()) for k in keys}
        return {k: records[g] for k, g in found.items() if g}

    def genes_of_diseases(self, ids: Sequence[str]) -> dict[str, list[Gene]]:
        by_disease = self._genes_of_disease
        return {d: list(by_disease[d]) for d in sorted(set(ids)) if d in by_disease}

    @cached_property
    def _genes_of_disease(self) -> dict[str, tuple[Gene, ...]]:
        # Built once (~20 ms): evidence asks for the genes of ten candidates per request, and a
        # table read per request cost more than the rest of the evidence.
        records = self._gene_records
        out: dict[str, list[Gene]] = defaultdict(list)
        for disease_id, gene_id in self._disease_genes.unique(subset=["disease_id", "gene_id"]).select("disease_id", "gene_id").iter_rows():
            if gene_id in records:
                out[disease_id].append(records[gene_id])
        return {d: tuple(sorted(genes, key=lambda g: (g.symbol, g.id))) for d, genes in out.items()}

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


    # --- derived keys (also what the Neo4j loader stores, so both back-ends answer alike) ------

    def gene_keys(self) -> dict[str, GeneId]:
        """Every lookup key of `genes` (id, HGNC id, NCBIGene id, upper-case symbol) -> gene id."""
        return {k: GeneId(v) for k, v in self._gene_keys.items()}

    def term_aliases(self) -> dict[str, HpoId]:
        """Alt id -> the term declaring it, for alt ids `resolve_terms` reaches through that term.

        The first declaring term (table order) that resolves wins; an alt id that is itself a
        resolvable primary id is left out (the primary wins), as in `resolve_terms`.
        """
        aliases: dict[str, HpoId] = {}
        records = self._term_records
        for term in records.values():
            if _follow_replacements(term.id, records) is None:
                continue
            for alt in term.alt_ids:
                aliases.setdefault(alt, term.id)
        return {alt: tid for alt, tid in aliases.items() if _follow_replacements(alt, records) is None}

    @cached_property
    def _variants(self) -> pl.DataFrame:
        return self._snapshot.table("variants")

    @cached_property
    def _variant_records(self) -> dict[str, Variant]:
        return {row["id"]: variant_from_row(row) for row in self._variants.iter_rows(named=True)}

    @cached_property
    def _variant_links(self) -> dict[str, GeneId]:
        keys = self._gene_keys
        links: dict[str, GeneId] = {}
        for vid, gene_id, hgnc_id, ncbi, symbol in self._variants.select(
            "id", "gene_id", "hgnc_id", "ncbi_gene_id", "gene_symbol"
        ).iter_rows():
            for candidate in (gene_id, hgnc_id, f"NCBIGene:{ncbi}" if ncbi else None, symbol.upper() if symbol else None):
                if candidate and candidate in keys:
                    links[vid] = GeneId(keys[candidate])
                    break
        return links

    def variant_gene_ids(self) -> dict[str, GeneId]:
        """Variant id -> the gene of the snapshot it lies in: the first of its gene id, HGNC id,
        NCBIGene id and upper-case symbol that is a key of `genes`. Variants of genes the
        snapshot does not hold are absent."""
        return dict(self._variant_links)

    # --- search -----------------------------------------------------------------------------------

    @cached_property
    def _search_index(self) -> tuple[list[tuple[str, str, str, str, bool, str, frozenset[str]]], dict[str, list[int]]]:
        """Names of current terms and diseases: (kind, id, name, text, primary, norm, words), and word -> rows."""
        entries: list[tuple[str, str, str, str, bool, str, frozenset[str]]] = []
        for term in self._term_records.values():
            if term.obsolete:
                continue
            for text, primary in ((term.label, True), *((s.text, False) for s in term.synonyms)):
                norm = normalize_label(text)
                entries.append(("term", term.id, term.label, text, primary, norm, frozenset(norm.split())))
        synonyms: dict[str, list[str]] = defaultdict(list)
        for disease_id, text in self._snapshot.table("disease_synonyms").select("disease_id", "synonym").iter_rows():
            if text:
                synonyms[disease_id].append(text)
        for disease in self._disease_records.values():
            if disease.id in self._obsolete_diseases:
                continue
            for text, primary in ((disease.name, True), *((s, False) for s in synonyms.get(disease.id, ()))):
                norm = normalize_label(text or "")
                entries.append(("disease", disease.id, disease.name, text, primary, norm, frozenset(norm.split())))
        postings: dict[str, list[int]] = defaultdict(list)
        for row, entry in enumerate(entries):
            for word in entry[6]:
                postings[word].append(row)
        return entries, dict(postings)

    @cached_property
    def _obsolete_diseases(self) -> frozenset[str]:
        if "obsolete" not in self._diseases.columns:
            return frozenset()
        return frozenset(self._diseases.filter(pl.col("obsolete").fill_null(False))["id"].to_list())

    def search(self, text: str, limit: int = 10) -> list[SearchHit]:
        """Token-overlap scorer over normalised names (`name_match_score`). Linear in the names sharing a query word."""
        words = search_tokens(text) if isinstance(text, str) else ()
        limit = min(int(limit), 1000)
        if not words or limit < 1:
            return []
        query, wanted = normalize_label(text), frozenset(words)
        entries, postings = self._search_index
        best: dict[tuple[str, str], tuple[float, str, bool, str]] = {}
        rows = sorted({row for word in words for row in postings.get(word, ())})
        for row in rows:
            kind, eid, name, name_text, primary, norm, have = entries[row]
            score = name_match_score(norm, primary, query, wanted)
            if score > best.get((kind, eid), (-1.0, "", False, ""))[0]:
                best[(kind, eid)] = (score, name_text, norm == query, name)
        hits = [
            SearchHit(kind=kind, id=eid, name=name, matched=matched, exact=exact, score=score)
            for (kind, eid), (score, matched, exact, name) in best.items()
        ]
        hits.sort(key=lambda h: (-h.score, h.kind, h.id))
        return hits[:limit]

    # --- variants ---------------------------------------------------------------------------------

    @cached_property
    def _variants_by_gene_index(self) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, list[str]]]:
        by_link: dict[str, list[str]] = defaultdict(list)
        for vid, gid in self._variant_links.items():
            by_link[gid].append(vid)
        by_gene_id: dict[str, list[str]] = defaultdict(list)
        by_symbol: dict[str, list[str]] = defaultdict(list)
        for vid, gene_id, symbol in self._variants.select("id", "gene_id", "gene_symbol").iter_rows():
            if gene_id:
                by_gene_id[gene_id].append(vid)
            if symbol:
                by_symbol[symbol.upper()].append(vid)
        return dict(by_link), dict(by_gene_id), dict(by_symbol)

    def variants_by_gene(self, keys: Sequence[str]) -> dict[str, list[Variant]]:
        by_link, by_gene_id, by_symbol = self._variants_by_gene_index
        records = self._variant_records
        out: dict[str, list[Variant]] = {}
        for key in dict.fromkeys(k for k in keys if isinstance(k, str) and k.strip()):
            gene = self.genes([key]).get(key)
            found = set(by_link.get(gene.id, ())) if gene else set(by_gene_id.get(key, ())) | set(by_symbol.get(key.upper(), ()))
            if found:
                out[key] = [records[v] for v in sorted(found)]
        return out

    @cached_property
    def _variants_by_position_index(self) -> dict[tuple[str, int], list[Variant]]:
        index: dict[tuple[str, int], list[Variant]] = defaultdict(list)
        for variant in self._variant_records.values():
            if variant.chrom is not None and variant.pos is not None:
                index[(normalize_chrom(variant.chrom), variant.pos)].append(variant)
        return dict(index)

    def variants_by_position(self, positions: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], list[Variant]]:
        index = self._variants_by_position_index
        out: dict[tuple[Any, ...], list[Variant]] = {}
        for position in positions:
            parsed = normalize_position(position)
            if parsed is None:
                continue
            chrom, pos, ref, alt = parsed
            found = [
                v for v in index.get((chrom, pos), ())
                if (ref is None or v.ref == ref) and (alt is None or v.alt == alt)
            ]
            if found:
                out[tuple(position)] = sorted(found, key=lambda v: v.id)
        return out

class _SortedRows:
    """An annotation table sorted by one key column, each column held as numpy codes into its distinct values:
    the annotations of a few keys are a dict look-up per key and one numpy gather per column.

    A polars gather per request ran on polars' thread pool, and under load the request's thread waited on it
    (a quarter of a diagnose call's time in the server, benchmarks/api_load.py). Smaller than the sorted frame
    it replaces, too: one int32 per cell plus the distinct values.
    """

    def __init__(self, frame: pl.DataFrame, key: str, then: str) -> None:
        frame = frame.sort(key, then)
        spans = (frame.select(key).with_row_index("row").group_by(key, maintain_order=True)
                 .agg(pl.col("row").first(), pl.len()))
        self._span = {k: (first, first + n) for k, first, n in spans.iter_rows()}
        self._then = _Column.of(frame[then])
        self._then_code = {value: code for code, value in enumerate(self._then.values)}
        self._columns = [_Column.of(frame[name]) if name in frame.columns else None for name in _ANNOTATION_FIELDS]

    def annotations(self, ids: Sequence[str], then_in: Sequence[str] | None = None) -> list[Annotation]:
        """Annotations whose key is in `ids` (and, when given, whose second column is in `then_in`), in key then
        second-column order (unknown ids contribute nothing)."""
        spans = [self._span[k] for k in sorted(set(ids)) if k in self._span]
        if not spans:
            return []
        first, end = np.array(spans, dtype=np.int64).T
        positions = concatenated_ranges(first, end)
        if then_in is not None:
            wanted = np.array(sorted({self._then_code[t] for t in then_in if t in self._then_code}), dtype=np.int64)
            positions = positions[np.isin(self._then.codes[positions], wanted)]
        n = len(positions)
        columns = [[None] * n if column is None else column.take(positions) for column in self._columns]
        return _annotations(columns)


@dataclass(frozen=True)
class _Column:
    """One column as int32 codes into its distinct values (None for null), or for numbers and booleans the values
    themselves with a null mask."""

    codes: np.ndarray
    values: list[Any]
    nulls: np.ndarray | None = None  # numbers and booleans only

    @classmethod
    def of(cls, series: pl.Series) -> "_Column":
        if series.dtype.is_numeric() or series.dtype == pl.Boolean:
            return cls(series.to_numpy(), [], series.is_null().to_numpy())
        if isinstance(series.dtype, pl.List):  # a reference list: one string per distinct list
            series = series.list.join(_SEPARATOR)
            decode: Any = lambda joined: tuple(joined.split(_SEPARATOR)) if joined else ()  # noqa: E731
        else:
            decode = lambda value: value  # noqa: E731
        distinct = series.drop_nulls().unique().sort()
        codes = (series.rank("dense") - 1).fill_null(len(distinct)).cast(pl.Int32).to_numpy()
        return cls(codes, [decode(v) for v in distinct.to_list()] + [None])

    def take(self, positions: np.ndarray) -> list[Any]:
        if self.nulls is None:
            values = self.values
            return [values[c] for c in self.codes[positions].tolist()]
        return [None if null else v for v, null in zip(self.codes[positions].tolist(), self.nulls[positions].tolist())]


_SEPARATOR = "\x1f"  # unit separator: never inside an id


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


_ANNOTATION_FIELDS = ("disease_id", "term_id", "negated", "frequency", "frequency_raw", "aspect", "onset", "evidence",
                      "references", "source", "release")


def _annotations(columns: list[list[Any]]) -> list[Annotation]:
    # Column lists zipped positionally: a dict per row (iter_rows(named=True)) dominated evidence look-ups.
    return [
        Annotation(
            disease_id=DiseaseId(disease_id), term_id=HpoId(term_id), negated=bool(negated), frequency=frequency,
            frequency_raw=frequency_raw, aspect=aspect or "P", onset=onset, evidence=evidence,
            references=tuple(references or ()), source=source, release=release,
        )
        for (disease_id, term_id, negated, frequency, frequency_raw, aspect, onset, evidence, references, source,
             release) in zip(*columns)
    ]


def _group(items: Iterable[Annotation], key: Any) -> dict[str, list[Annotation]]:
    grouped: dict[str, list[Annotation]] = defaultdict(list)
    for item in items:
        grouped[key(item)].append(item)
    return dict(grouped)
