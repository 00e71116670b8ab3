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

# --- Orphadata, OMIM and ClinVar: added columns (after the existing ones) and tables ---------
_CAT = pl.Categorical()
_CAT_PROV = {"source": _CAT, "release": _CAT}
TABLES["diseases"].update({
    "disorder_type": _STR, "disorder_group": _STR,  # Orphanet classification level ("Disease", "Disorder")
    "obsolete": pl.Boolean, "replaced_by": _STR,  # Orphanet obsolete entity -> its "Referred to" target
})
TABLES["genes"].update({
    "name": _STR, "gene_type": _STR, "ensembl_id": _STR, "omim_id": _STR, "locus": _STR,
    # other symbols the sources give for the gene: a second source's symbol, OMIM's "Gene/Locus
    # And Other Related Symbols" (previous symbols and aliases); never the `symbol` itself
    "previous_symbols": _LIST_STR,
})
TABLES["disease_phenotypes"].update({"diagnostic_criteria": _STR})  # Orphanet "Pathognomonic sign", …
TABLES["disease_inheritance"].update({"inheritance_raw": _STR})  # the source's own wording
TABLES["disease_genes"].update({
    "gene_symbol": _STR, "references": _LIST_STR,
    # OMIM phenotype mapping key 1-4 and the markers ? (provisional), { } (susceptibility), [ ] (nondisease)
    "mapping_key": pl.Int8, "provisional": pl.Boolean, "susceptibility": pl.Boolean, "nondisease": pl.Boolean,
})
TABLES.update({
    "disease_synonyms": {
        "disease_id": _STR, "synonym": _STR, **_PROV,
    },
    "disease_xrefs": {  # Orphanet mapping; only relation "E" is mapping_exact (an equivalence)
        "disease_id": _STR, "xref_id": _STR, "xref_database": _STR, "mapping_relation": _STR,
        "mapping_relation_label": _STR, "mapping_exact": pl.Boolean, "icd_relation": _STR,
        "validation_status": _STR, **_PROV,
    },
    # ClinVar tables hold millions of rows: repetitive text columns are Categorical (4 bytes a row
    # instead of a 16-byte string view plus the text), which keeps a full load within memory.
    # Ids and join keys stay Utf8.
    "variants": {  # ClinVar variant_summary, one assembly; `id` is "ClinVar:<VariationID>"
        "id": _STR, "allele_id": pl.Int64, "variant_type": _CAT, "name": _STR,
        "gene_id": _STR, "gene_symbol": _STR, "hgnc_id": _STR, "ncbi_gene_id": _STR,
        "clinical_significance": _CAT, "clinsig_simple": pl.Int8, "last_evaluated": _CAT,
        "review_status": _CAT, "stars": pl.Int8, "number_submitters": pl.Int32,
        "assembly": _CAT, "chrom": _CAT, "pos": pl.Int64, "ref": _STR, "alt": _STR,
        "rs_id": _STR, "origin": _CAT, "somatic_clinical_impact": _CAT, "oncogenicity": _CAT, **_CAT_PROV,
    },
    # ASSERTED_FOR: one row per phenotype id ClinVar gives (OMIM, MONDO, ORPHA, HP, MedGen, …); the
    # significance and stars of the assertion are those of the variant (join `variants` on variant_id)
    "variant_diseases": {
        "variant_id": _STR, "disease_id": _STR, "phenotype_db": _CAT, "phenotype_name": _CAT, **_CAT_PROV,
    },
})


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
