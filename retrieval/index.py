"""The ranking index of a snapshot: every matrix scoring needs, built once and cached beside it."""

from __future__ import annotations

import hashlib

import json
import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

from raregraph.etl.merge import connected_ids
from raregraph.etl.snapshot import Snapshot
from raregraph.kg.model import DiseaseId, HpoId
from raregraph.kg.ontology import SnapshotOntology
from raregraph.staging import remove_orphans, staging_path

__all__ = ["RankingIndex", "INHERITANCE_MODES", "CACHE_VERSION"]

log = logging.getLogger(__name__)
CACHE_VERSION = 5  # bump when the cached arrays change meaning

# HPO mode-of-inheritance terms the genotype model distinguishes (descendants count as the mode).
INHERITANCE_MODES: dict[str, str] = {
    "AD": "HP:0000006",  # autosomal dominant
    "AR": "HP:0000007",  # autosomal recessive
    "XL": "HP:0001417",  # X-linked (XLR HP:0001419 and XLD HP:0001423 are its children)
    "XLR": "HP:0001419",
    "XLD": "HP:0001423",
    "MT": "HP:0001427",  # mitochondrial
    "YL": "HP:0001450",  # Y-linked
}


@dataclass(frozen=True)
class RankingIndex:
    """Arrays over terms `(n_terms,)`, diseases `(n_diseases,)` and genes `(n_genes,)`.

    direct: float32 CSR `(n_diseases, n_terms)`, frequency of each directly annotated term.
    freq: float32 CSR `(n_diseases, n_terms)`, propagated frequency of each term: the largest
    annotated frequency among the term and its annotated descendants (unknown = `unknown_frequency`).
    negated: bool CSR `(n_diseases, n_terms)`, NOT annotations as given (not propagated).
    disease_genes: bool CSR `(n_diseases, n_genes)`.
    inheritance: bool `(n_diseases, len(INHERITANCE_MODES))`.
    """

    snapshot_id: str
    term_ids: tuple[HpoId, ...]
    term_position: dict[str, int]
    closure: sp.csr_matrix
    ic: np.ndarray
    disease_ids: tuple[DiseaseId, ...]
    disease_names: tuple[str, ...]
    direct: sp.csr_matrix
    freq: sp.csr_matrix
    negated: sp.csr_matrix
    gene_ids: tuple[str, ...]
    gene_symbols: tuple[str, ...]
    disease_genes: sp.csr_matrix
    inheritance: np.ndarray
    unknown_frequency: float
    # Diseases ranked beyond the index's databases (`load(also=...)`, the Orphanet-only disorders): candidates
    # that leave how the others are scored alone (IC and the chance-level sample stay over the databases).
    also: tuple[DiseaseId, ...] = ()

    @property
    def disease_position(self) -> dict[str, int]:
        return {d: i for i, d in enumerate(self.disease_ids)}

    def stacked_with(self, other: "RankingIndex") -> "RankingIndex":
        """This index's diseases followed by `other`'s (same terms and genes), for scoring both in one pass."""
        if other.term_ids != self.term_ids or other.gene_ids != self.gene_ids:
            raise ValueError("stacked indices must share their terms and genes")
        return replace(
            self, disease_ids=self.disease_ids + other.disease_ids, disease_names=self.disease_names + other.disease_names,
            direct=sp.vstack([self.direct, other.direct], format="csr"), freq=sp.vstack([self.freq, other.freq], format="csr"),
            negated=sp.vstack([self.negated, other.negated], format="csr"),
            disease_genes=sp.vstack([self.disease_genes, other.disease_genes], format="csr"),
            inheritance=np.concatenate([self.inheritance, other.inheritance]),
        )

    def gene_position(self) -> dict[str, int]:
        """Gene row by id and by upper-case symbol."""
        position = {g: i for i, g in enumerate(self.gene_ids)}
        for i, symbol in enumerate(self.gene_symbols):
            position.setdefault(symbol.upper(), i)
        return position

    # --- building and caching -------------------------------------------------------------------

    @classmethod
    def load(cls, snapshot: Snapshot, *, unknown_frequency: float, databases: tuple[str, ...],
             also: tuple[str, ...] = (), ontology: SnapshotOntology | None = None) -> "RankingIndex":
        """Load from the snapshot's cache, building (and caching) it on first use from the snapshot's `ontology`."""
        key = f"v{CACHE_VERSION}-f{unknown_frequency:.3f}-{'+'.join(sorted(databases))}"
        if also:
            key += f"-also{len(also)}-{hashlib.sha256(' '.join(sorted(also)).encode()).hexdigest()[:12]}"
        folder = snapshot.cache_dir("ranking") / key
        if (folder / "meta.json").is_file():
            try:
                return cls._read(folder)
            except (OSError, ValueError, KeyError) as err:  # a damaged cache is rebuilt, never trusted
                log.warning("ranking cache %s unreadable (%s); rebuilding", folder, err)
        index = cls.build(snapshot, unknown_frequency=unknown_frequency, databases=databases, also=also,
                          ontology=ontology)
        index._write(folder)
        return index

    @classmethod
    def build(cls, snapshot: Snapshot, *, unknown_frequency: float, databases: tuple[str, ...],
              also: tuple[str, ...] = (), ontology: SnapshotOntology | None = None) -> "RankingIndex":
        """Build from the snapshot's tables; cost ~1 s for the default snapshot.

        The diseases ranked are those of `databases` plus the ids in `also`. Terms, closure and IC are the
        snapshot's one ontology index (IC over the corpus of `databases`).
        """
        onto = (ontology or SnapshotOntology(snapshot)).index
        term_ids, position, closure = onto.term_ids, dict(onto.position), onto.closure
        pheno = snapshot.table("disease_phenotypes").filter(
            (pl.col("aspect") == "P") & pl.col("term_id").is_in(list(position))
            & (pl.col("disease_id").str.split(":").list.first().is_in(list(databases))
               | pl.col("disease_id").is_in(list(also)))
        )
        present = pheno.filter(~pl.col("negated"))
        disease_ids = tuple(DiseaseId(d) for d in present["disease_id"].unique().sort().to_list())
        row_of = {d: i for i, d in enumerate(disease_ids)}
        shape = (len(disease_ids), len(term_ids))

        rows = present["disease_id"].replace_strict(row_of, return_dtype=pl.Int64).to_numpy()
        cols = present["term_id"].replace_strict(position, return_dtype=pl.Int64).to_numpy()
        values = present["frequency"].fill_null(unknown_frequency).clip(1e-6, 1.0).to_numpy().astype(np.float32)
        direct = _max_by_cell(rows, cols, values, shape)
        ic = onto.ic_of(databases)
        freq = _max_propagate(rows, cols, values, closure, shape)

        neg = pheno.filter(pl.col("negated") & pl.col("disease_id").is_in(list(row_of)))
        negated = sp.csr_matrix(
            (np.ones(neg.height, dtype=bool),
             (neg["disease_id"].replace_strict(row_of, return_dtype=pl.Int64).to_numpy(),
              neg["term_id"].replace_strict(position, return_dtype=pl.Int64).to_numpy())),
            shape=shape,
        )
        names = dict(snapshot.table("diseases").select("id", "name").iter_rows())
        gene_ids, gene_symbols, disease_genes = _gene_matrix(snapshot, row_of)
        inheritance = _inheritance_flags(snapshot, row_of, position, closure)
        return cls(
            snapshot_id=snapshot.id, term_ids=term_ids, term_position=position, closure=closure, ic=ic,
            disease_ids=disease_ids, disease_names=tuple(names.get(d, "") for d in disease_ids),
            direct=direct, freq=freq, negated=negated, gene_ids=gene_ids, gene_symbols=gene_symbols,
            disease_genes=disease_genes, inheritance=inheritance, unknown_frequency=unknown_frequency,
            also=tuple(d for d in disease_ids if d in set(also) and d.split(":", 1)[0] not in databases),
        )

    def _write(self, folder: Path) -> None:
        remove_orphans(folder.parent, "*")  # what killed runs left half-written
        staging = staging_path(folder.parent, folder.name)  # one per process: N server workers may build at once
        staging.mkdir(parents=True, exist_ok=True)
        for name in ("closure", "direct", "freq", "negated", "disease_genes"):
            sp.save_npz(staging / f"{name}.npz", getattr(self, name), compressed=False)
        np.save(staging / "ic.npy", self.ic)
        np.save(staging / "inheritance.npy", self.inheritance)
        meta = {
            "snapshot_id": self.snapshot_id, "term_ids": list(self.term_ids), "disease_ids": list(self.disease_ids),
            "disease_names": list(self.disease_names), "gene_ids": list(self.gene_ids),
            "gene_symbols": list(self.gene_symbols), "unknown_frequency": self.unknown_frequency,
            "also": list(self.also),
        }
        (staging / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        try:
            staging.rename(folder)
        except OSError:
            if not folder.exists():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process cached it first; ours is identical

    @classmethod
    def _read(cls, folder: Path) -> "RankingIndex":
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        term_ids = tuple(meta["term_ids"])
        return cls(
            snapshot_id=meta["snapshot_id"], term_ids=term_ids, term_position={t: i for i, t in enumerate(term_ids)},
            closure=sp.load_npz(folder / "closure.npz").tocsr(), ic=np.load(folder / "ic.npy"),
            disease_ids=tuple(meta["disease_ids"]), disease_names=tuple(meta["disease_names"]),
            direct=sp.load_npz(folder / "direct.npz").tocsr(), freq=sp.load_npz(folder / "freq.npz").tocsr(), negated=sp.load_npz(folder / "negated.npz").tocsr(),
            gene_ids=tuple(meta["gene_ids"]), gene_symbols=tuple(meta["gene_symbols"]),
            disease_genes=sp.load_npz(folder / "disease_genes.npz").tocsr(),
            inheritance=np.load(folder / "inheritance.npy"), unknown_frequency=float(meta["unknown_frequency"]),
            also=tuple(meta.get("also", ())),
        )


def _max_propagate(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, closure: sp.csr_matrix, shape: tuple[int, int]
) -> sp.csr_matrix:
    """F[d, a] = max over annotated t with a ∈ ancestors(t) of f(d, t), as float32 CSR."""
    counts = np.diff(closure.indptr)[cols]
    spans = [closure.indices[closure.indptr[c]:closure.indptr[c + 1]] for c in cols]
    ancestors = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
    return _max_by_cell(np.repeat(rows, counts), ancestors, np.repeat(values, counts), shape)


def _max_by_cell(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Sparse float32 CSR keeping, for each repeated (row, col), the largest value."""
    keys = rows.astype(np.int64) * shape[1] + cols
    order = np.lexsort((-values, keys))  # per key, largest value first
    keys, values = keys[order], values[order]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    keys, values = keys[first], values[first]
    return sp.csr_matrix((values.astype(np.float32), (keys // shape[1], keys % shape[1])), shape=shape)


def _gene_matrix(snapshot: Snapshot, row_of: dict[str, int]) -> tuple[tuple[str, ...], tuple[str, ...], sp.csr_matrix]:
    genes = snapshot.table("genes").sort("id")
    gene_ids = tuple(genes["id"].to_list())
    gene_pos = {g: i for i, g in enumerate(gene_ids)}
    links = snapshot.table("disease_genes").filter(
        pl.col("disease_id").is_in(list(row_of)) & pl.col("gene_id").is_in(list(gene_pos))
    ).unique(subset=["disease_id", "gene_id"])
    matrix = sp.csr_matrix(
        (np.ones(links.height, dtype=bool),
         (links["disease_id"].replace_strict(row_of, return_dtype=pl.Int64).to_numpy(),
          links["gene_id"].replace_strict(gene_pos, return_dtype=pl.Int64).to_numpy())),
        shape=(len(row_of), len(gene_ids)),
    )
    return gene_ids, tuple(genes["symbol"].fill_null("").to_list()), matrix


def _inheritance_flags(
    snapshot: Snapshot, row_of: dict[str, int], position: dict[str, int], closure: sp.csr_matrix
) -> np.ndarray:
    flags = np.zeros((len(row_of), len(INHERITANCE_MODES)), dtype=bool)
    modes = snapshot.table("disease_inheritance").filter(
        pl.col("disease_id").is_in(list(row_of)) & pl.col("term_id").is_in(list(position))
    )
    for disease_id, term_id in modes.select("disease_id", "term_id").iter_rows():
        t = position[term_id]
        ancestors = set(closure.indices[closure.indptr[t]:closure.indptr[t + 1]].tolist())
        for j, mode_term in enumerate(INHERITANCE_MODES.values()):
            if mode_term in position and position[mode_term] in ancestors:
                flags[row_of[disease_id], j] = True
    return flags


def orphanet_only_disorders(snapshot: Snapshot) -> tuple[str, ...]:
    """Orphanet disorders (classification level "Disorder": no groups, no subtypes) with no OMIM mapping of any
    kind, not obsolete, and not the same disease as an OMIM entry through exact mappings (MONDO's): such an entry
    is already ranked as its OMIM equivalent's twin, which it would stop being as a candidate of its own
    (retrieval/twins.py). Empty without Orphadata product 1."""
    diseases = snapshot.table("diseases")
    xrefs = snapshot.table("disease_xrefs")
    mapped = set(xrefs.filter(pl.col("xref_database") == "OMIM")["disease_id"].unique().to_list())
    exact = xrefs.filter(pl.col("mapping_exact").fill_null(False)) if "mapping_exact" in xrefs.columns else xrefs.clear()
    root_of = connected_ids(exact.select("disease_id", "xref_id").rows())
    omim_groups = {root for member, root in root_of.items() if member.startswith("OMIM:")}
    mapped |= {member for member, root in root_of.items() if root in omim_groups}
    chosen = diseases.filter(
        (pl.col("database") == "ORPHA") & (pl.col("disorder_group") == "Disorder")
        & ~pl.col("obsolete").fill_null(False) & ~pl.col("id").is_in(sorted(mapped))
    )
    return tuple(sorted(chosen["id"].to_list()))
