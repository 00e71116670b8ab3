"""What changed between two snapshots: terms, synonyms, diseases, annotations, gene associations,
ClinVar classifications and exact (equivalence) mappings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from raregraph.etl.snapshot import Snapshot
from raregraph.etl.tables import empty_frame

__all__ = ["SnapshotDiff", "diff_snapshots"]


@dataclass(frozen=True)
class SnapshotDiff:
    """Changes from snapshot `a` to snapshot `b`, as plain JSON-able lists."""

    a: str
    b: str
    terms_added: list[dict[str, Any]]
    terms_removed: list[dict[str, Any]]
    terms_obsoleted: list[dict[str, Any]]
    terms_relabelled: list[dict[str, Any]]
    synonyms_added: list[dict[str, Any]]
    synonyms_removed: list[dict[str, Any]]
    diseases_added: list[dict[str, Any]]
    diseases_removed: list[dict[str, Any]]
    annotations_by_disease: list[dict[str, Any]]
    # per disease: {"disease_id", "added": [{gene_id, gene_symbol, sources}], "removed": [...]}
    gene_associations_by_disease: list[dict[str, Any]] = field(default_factory=list)
    # same ClinVar variant id, other clinical_significance or stars
    clinvar_significance_changes: list[dict[str, Any]] = field(default_factory=list)
    variants_added: int = 0  # counts only: a ClinVar release adds thousands
    variants_removed: int = 0
    equivalences_added: list[dict[str, Any]] = field(default_factory=list)  # exact mappings {disease_id, xref_id}
    equivalences_removed: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts of each kind of change."""
        return {
            "terms added": len(self.terms_added),
            "terms removed": len(self.terms_removed),
            "terms obsoleted": len(self.terms_obsoleted),
            "terms relabelled": len(self.terms_relabelled),
            "synonyms added": len(self.synonyms_added),
            "synonyms removed": len(self.synonyms_removed),
            "diseases added": len(self.diseases_added),
            "diseases removed": len(self.diseases_removed),
            "diseases with annotation changes": len(self.annotations_by_disease),
            "annotations added": sum(len(d["added"]) for d in self.annotations_by_disease),
            "annotations removed": sum(len(d["removed"]) for d in self.annotations_by_disease),
            "diseases with gene association changes": len(self.gene_associations_by_disease),
            "gene associations added": sum(len(d["added"]) for d in self.gene_associations_by_disease),
            "gene associations removed": sum(len(d["removed"]) for d in self.gene_associations_by_disease),
            "variants added": self.variants_added,
            "variants removed": self.variants_removed,
            "variants with significance changes": len(self.clinvar_significance_changes),
            "equivalences added": len(self.equivalences_added),
            "equivalences removed": len(self.equivalences_removed),
        }

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "summary": self.summary(), **{
            name: getattr(self, name) for name in (
                "terms_added", "terms_removed", "terms_obsoleted", "terms_relabelled", "synonyms_added",
                "synonyms_removed", "diseases_added", "diseases_removed", "annotations_by_disease",
                "gene_associations_by_disease", "clinvar_significance_changes", "variants_added", "variants_removed",
                "equivalences_added", "equivalences_removed",
            )
        }}


def diff_snapshots(a: Snapshot, b: Snapshot) -> SnapshotDiff:
    """Compare two snapshots table by table (joins in polars; cost linear in table sizes)."""
    ta, tb = a.table("terms"), b.table("terms")
    joined = ta.join(tb, on="id", how="inner", suffix="_b")
    obsoleted = joined.filter(~pl.col("obsolete") & pl.col("obsolete_b")).select(
        "id", "label", replaced_by="replaced_by_b", consider="consider_b"
    )
    relabelled = joined.filter(pl.col("label") != pl.col("label_b")).select("id", old_label="label", new_label="label_b")
    syn_keys = ["term_id", "synonym", "scope"]
    sa, sb = a.table("term_synonyms").select(syn_keys), b.table("term_synonyms").select(syn_keys)
    da, db = a.table("diseases").select("id", "name"), b.table("diseases").select("id", "name")
    return SnapshotDiff(
        a=a.id, b=b.id,
        terms_added=_rows(tb.join(ta, on="id", how="anti").select("id", "label")),
        terms_removed=_rows(ta.join(tb, on="id", how="anti").select("id", "label")),
        terms_obsoleted=_rows(obsoleted),
        terms_relabelled=_rows(relabelled),
        synonyms_added=_rows(sb.join(sa, on=syn_keys, how="anti", nulls_equal=True)),
        synonyms_removed=_rows(sa.join(sb, on=syn_keys, how="anti", nulls_equal=True)),
        diseases_added=_rows(db.join(da, on="id", how="anti")),
        diseases_removed=_rows(da.join(db, on="id", how="anti")),
        annotations_by_disease=_annotation_changes(a, b),
        gene_associations_by_disease=_gene_association_changes(a, b),
        clinvar_significance_changes=_significance_changes(a, b),
        variants_added=_count_new_ids(b, a, "variants"),
        variants_removed=_count_new_ids(a, b, "variants"),
        equivalences_added=_rows(_exact(b).join(_exact(a), on=["disease_id", "xref_id"], how="anti")),
        equivalences_removed=_rows(_exact(a).join(_exact(b), on=["disease_id", "xref_id"], how="anti")),
    )


def _annotation_changes(a: Snapshot, b: Snapshot) -> list[dict[str, Any]]:
    keys = ["disease_id", "term_id", "negated", "aspect"]
    pa = a.table("disease_phenotypes").select(*keys, "frequency_raw").unique()
    pb = b.table("disease_phenotypes").select(*keys, "frequency_raw").unique()
    added = pb.join(pa, on=keys, how="anti", nulls_equal=True).with_columns(change=pl.lit("added"))
    removed = pa.join(pb, on=keys, how="anti", nulls_equal=True).with_columns(change=pl.lit("removed"))
    both = pl.concat([added, removed]).sort("disease_id", "term_id")
    out = []
    for (disease_id,), group in both.group_by("disease_id", maintain_order=True):
        entry: dict[str, Any] = {"disease_id": disease_id, "added": [], "removed": []}
        for row in group.iter_rows(named=True):
            entry[row["change"]].append({k: row[k] for k in ("term_id", "negated", "aspect", "frequency_raw")})
        out.append(entry)
    return out


def _gene_association_changes(a: Snapshot, b: Snapshot) -> list[dict[str, Any]]:
    """disease_genes pairs (disease, gene key) present in one snapshot only, whatever the source."""
    keys = ["disease_id", "gene_id"]
    ga, gb = _associations(a), _associations(b)
    added = gb.join(ga, on=keys, how="anti").with_columns(change=pl.lit("added"))
    removed = ga.join(gb, on=keys, how="anti").with_columns(change=pl.lit("removed"))
    out = []
    for (disease_id,), group in pl.concat([added, removed]).sort(keys).group_by("disease_id", maintain_order=True):
        entry: dict[str, Any] = {"disease_id": disease_id, "added": [], "removed": []}
        for row in group.iter_rows(named=True):
            entry[row["change"]].append({k: row[k] for k in ("gene_id", "gene_symbol", "sources")})
        out.append(entry)
    return out


def _associations(s: Snapshot) -> pl.DataFrame:
    symbols = s.table("genes").select(gene_id="id", gene_symbol="symbol")
    return (
        s.table("disease_genes").group_by("disease_id", "gene_id")
        .agg(pl.col("source").cast(pl.Utf8).unique().sort().alias("sources"))
        .join(symbols, on="gene_id", how="left")
    )


def _scan(s: Snapshot, table: str, columns: list[str]) -> pl.LazyFrame:
    """Columns of a table read lazily (ClinVar tables hold millions of rows); Categoricals as text."""
    file = s.path / f"{table}.parquet"
    frame = pl.scan_parquet(file) if file.is_file() else empty_frame(table).lazy()
    return frame.select(pl.col(c).cast(pl.Utf8) if c in _CATEGORICAL else pl.col(c) for c in columns)


_CATEGORICAL = ("clinical_significance", "review_status")


def _significance_changes(a: Snapshot, b: Snapshot) -> list[dict[str, Any]]:
    """Variants in both snapshots whose ClinVar classification or gold stars changed."""
    columns = ["id", "gene_symbol", "clinical_significance", "stars", "review_status"]
    changed = (
        _scan(a, "variants", columns).join(_scan(b, "variants", columns), on="id", suffix="_b")
        .filter(pl.col("clinical_significance").ne_missing(pl.col("clinical_significance_b"))
                | pl.col("stars").ne_missing(pl.col("stars_b")))
        .select(variant_id="id", gene_symbol="gene_symbol_b",
                old_significance="clinical_significance", new_significance="clinical_significance_b",
                old_stars="stars", new_stars="stars_b", old_review_status="review_status", new_review_status="review_status_b")
        .collect()
    )
    return _rows(changed)


def _count_new_ids(x: Snapshot, y: Snapshot, table: str) -> int:
    """How many ids of `table` are in snapshot `x` and not in `y`."""
    return int(_scan(x, table, ["id"]).join(_scan(y, table, ["id"]), on="id", how="anti").select(pl.len()).collect().item())


def _exact(s: Snapshot) -> pl.DataFrame:
    xrefs = s.table("disease_xrefs")
    return xrefs.filter(pl.col("mapping_exact").fill_null(False)).select("disease_id", "xref_id").unique()


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.sort(frame.columns[0]).to_dicts()
