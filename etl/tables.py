"""The snapshot's tables: names and polars schemas, the contract between ETL and everything else.

Every table is one Parquet file `<name>.parquet` in `snapshots/<id>/`. Nodes carry an `id`
(a CURIE); edges carry the ids of both ends. Every node and edge row carries `source` (the
release file's short name, e.g. ``hpo:phenotype.hpoa``) and `release` (that file's release
date or version) so a differential can cite where each fact came from.
"""

from __future__ import annotations

import polars as pl

__all__ = ["TABLES", "empty_frame", "conform"]

_STR = pl.Utf8
_LIST_STR = pl.List(pl.Utf8)
_PROV = {"source": _STR, "release": _STR}

TABLES: dict[str, dict[str, pl.DataType]] = {
    # --- nodes -------------------------------------------------------------------------
    "terms": {
        "id": _STR, "label": _STR, "definition": _STR, "comment": _STR,
        "obsolete": pl.Boolean, "replaced_by": _STR, "consider": _LIST_STR,
        "alt_ids": _LIST_STR, "xrefs": _LIST_STR, **_PROV,
    },
    "diseases": {
        "id": _STR, "name": _STR, "database": _STR, **_PROV,
    },
    "genes": {
        # `id` is the HGNC CURIE where a source gives one, else the NCBIGene CURIE.
        "id": _STR, "symbol": _STR, "ncbi_gene_id": _STR, "hgnc_id": _STR, **_PROV,
    },
    # --- edges -------------------------------------------------------------------------
    "term_synonyms": {
        "term_id": _STR, "synonym": _STR, "scope": _STR, "synonym_type": _STR, **_PROV,
    },
    "term_parents": {  # IS_A: child -> parent
        "term_id": _STR, "parent_id": _STR, **_PROV,
    },
    "disease_phenotypes": {  # HAS_PHENOTYPE (aspects P, C, M, H)
        "disease_id": _STR, "term_id": _STR, "negated": pl.Boolean,
        "frequency": pl.Float64, "frequency_min": pl.Float64, "frequency_max": pl.Float64,
        "frequency_raw": _STR, "onset": _STR, "sex": _STR, "modifiers": _LIST_STR,
        "aspect": _STR, "evidence": _STR, "references": _LIST_STR, "biocuration": _STR, **_PROV,
    },
    "disease_inheritance": {  # HAS_INHERITANCE (aspect I)
        "disease_id": _STR, "term_id": _STR, "evidence": _STR, "references": _LIST_STR, **_PROV,
    },
    "disease_genes": {  # ASSOCIATED_WITH (disease -> gene)
        "disease_id": _STR, "gene_id": _STR, "association_type": _STR, "association_status": _STR, **_PROV,
    },
    "gene_phenotypes": {  # gene -> term, through the disease HPO gives for it
        "gene_id": _STR, "term_id": _STR, "disease_id": _STR, "frequency_raw": _STR, **_PROV,
    },
}


def empty_frame(table: str) -> pl.DataFrame:
    """An empty frame with the schema of `table`."""
    return pl.DataFrame(schema=TABLES[table])


def conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Select and cast `frame` to the schema of `table` (extra columns dropped, missing ones null)."""
    schema = TABLES[table]
    cols = [
        (pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype)).alias(name)
        for name, dtype in schema.items()
    ]
    return frame.select(cols)
