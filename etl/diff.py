"""What changed between two snapshots: terms, synonyms, diseases and annotations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from raregraph.etl.snapshot import Snapshot

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
        }

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "summary": self.summary(), **{
            name: getattr(self, name) for name in (
                "terms_added", "terms_removed", "terms_obsoleted", "terms_relabelled", "synonyms_added",
                "synonyms_removed", "diseases_added", "diseases_removed", "annotations_by_disease",
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


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.sort(frame.columns[0]).to_dicts()
