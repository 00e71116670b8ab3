"""ClinVar variant_summary loader on the samples in tests/data/clinvar (issue: Orphadata, OMIM and ClinVar loaders)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import polars as pl
import pytest

from raregraph.errors import SourceFormatError
from raregraph.etl.sources.base import SourceOutput
from raregraph.etl.sources.clinvar import REVIEW_STATUS_STARS, find_clinvar_file, iter_variants, load_clinvar
from raregraph.etl.tables import TABLES

CLINVAR = Path(__file__).resolve().parents[1] / "data" / "clinvar"
SAMPLE = CLINVAR / "exomiser-extracts" / "variant_summary.clinvar_test.txt.gz"  # real rows, 34-column layout
FORMAT_40 = CLINVAR / "ncbi-format-samples_FAKE-DATA" / "variant_summary.txt"  # NCBI's format sample, fake content
BROKEN = Path(__file__).parent / "broken"

# zcat variant_summary.clinvar_test.txt.gz | awk -F'\t' '$17=="GRCh38"' | wc -l
SAMPLE_GRCH38_ROWS = 6


@pytest.fixture(scope="module")
def sample() -> SourceOutput:
    return load_clinvar(SAMPLE, release="2021-05-07")


def _variant(out: SourceOutput, variant_id: str) -> dict[str, object]:
    (row,) = out.tables["variants"].filter(pl.col("id") == variant_id).to_dicts()
    return row


def _phenotype_ids(out: SourceOutput, variant_id: str) -> set[str]:
    return set(out.tables["variant_diseases"].filter(pl.col("variant_id") == variant_id)["disease_id"])


def test_pathogenic_variant_keeps_stars_position_and_gene(sample: SourceOutput) -> None:
    v = _variant(sample, "ClinVar:5")  # NM_017547.4(FOXRED1):c.694C>T (p.Gln232Ter)
    assert (v["clinical_significance"], v["review_status"], v["stars"]) == (
        "Pathogenic", "criteria provided, multiple submitters, no conflicts", 2)
    assert (v["assembly"], v["chrom"], v["pos"], v["ref"], v["alt"]) == ("GRCh38", "11", 126275389, "C", "T")
    assert (v["gene_id"], v["gene_symbol"], v["hgnc_id"], v["ncbi_gene_id"]) == ("HGNC:26927", "FOXRED1", "HGNC:26927", "55572")
    assert (v["allele_id"], v["rs_id"], v["origin"]) == (15044, "rs267606829", "germline")
    assert v["name"] == "NM_017547.4(FOXRED1):c.694C>T (p.Gln232Ter)"
    assert (v["source"], v["release"]) == ("clinvar:variant_summary.clinvar_test.txt.gz", "2021-05-07")


def test_pathogenic_variant_keeps_its_phenotype_ids(sample: SourceOutput) -> None:
    # MONDO:MONDO:0032624,MedGen:C4748791,OMIM:618241|MedGen:CN517202|MONDO:MONDO:0009723,MedGen:C0023264,OMIM:256000,Orphanet:506
    assert _phenotype_ids(sample, "ClinVar:5") == {
        "MONDO:0032624", "MedGen:C4748791", "OMIM:618241", "MedGen:CN517202",
        "MONDO:0009723", "MedGen:C0023264", "OMIM:256000", "ORPHA:506",
    }
    leigh = sample.tables["variant_diseases"].filter(pl.col("disease_id") == "ORPHA:506").to_dicts()
    assert [(r["variant_id"], r["phenotype_db"], r["phenotype_name"]) for r in leigh] == [("ClinVar:5", "ORPHA", "Leigh syndrome")]


def test_no_assertion_criteria_is_zero_stars(sample: SourceOutput) -> None:
    v = _variant(sample, "ClinVar:2")  # AP5Z1 indel, "no assertion criteria provided"
    assert (v["clinical_significance"], v["stars"], v["pos"]) == ("Pathogenic", 0, 4781213)
    assert {"OMIM:613647", "ORPHA:306511", "MONDO:0013342"} <= _phenotype_ids(sample, "ClinVar:2")


def test_variant_without_vcf_position_is_kept_without_one(sample: SourceOutput) -> None:
    v = _variant(sample, "ClinVar:25")  # PositionVCF -1, alleles "na"
    assert (v["pos"], v["ref"], v["alt"], v["gene_symbol"]) == (None, None, None, "ABHD12")


def test_assembly_filter(sample: SourceOutput) -> None:
    assert sample.tables["variants"].height == SAMPLE_GRCH38_ROWS
    assert set(sample.tables["variants"]["assembly"]) == {"GRCh38"}
    grch37 = load_clinvar(SAMPLE, assembly="GRCh37")
    assert _variant(grch37, "ClinVar:5")["pos"] == 126145284
    assert load_clinvar(SAMPLE, assembly=None).tables["variants"].height == 2 * SAMPLE_GRCH38_ROWS


def test_gzip_and_plain_text_give_the_same_tables(tmp_path: Path, sample: SourceOutput) -> None:
    plain = tmp_path / "variant_summary.txt"
    plain.write_bytes(gzip.decompress(SAMPLE.read_bytes()))
    out = load_clinvar(plain, release="2021-05-07")
    for name in ("variants", "variant_diseases"):
        assert out.tables[name].drop("source").equals(sample.tables[name].drop("source")), name


def test_forty_column_layout_and_origin_filter() -> None:
    germline = load_clinvar(FORMAT_40)
    # KRAS is "germline/somatic" (kept as germline); EGFR is somatic only (dropped)
    assert germline.tables["variants"]["gene_symbol"].to_list() == ["KRAS"]
    kras = germline.tables["variants"].row(0, named=True)
    assert (kras["somatic_clinical_impact"], kras["oncogenicity"], kras["stars"]) == ("Tier I - Strong", "Oncogenic", 1)
    somatic = load_clinvar(FORMAT_40, origin="somatic")
    assert set(somatic.tables["variants"]["gene_symbol"]) == {"KRAS", "EGFR"}
    egfr = somatic.tables["variant_diseases"].filter(pl.col("variant_id") == "ClinVar:16613")
    assert {"HP:0030358", "MESH:D002289", "ORPHA:488201", "MONDO:0007254"} <= set(egfr["disease_id"])
    assert _variant(somatic, "ClinVar:16613")["clinical_significance"] is None  # "-": no germline classification


@pytest.mark.parametrize(("status", "stars"), [
    ("practice guideline", 4), ("reviewed by expert panel", 3),
    ("criteria provided, multiple submitters, no conflicts", 2), ("criteria provided, single submitter", 1),
    ("criteria provided, conflicting classifications", 1), ("no assertion criteria provided", 0),
    ("no assertion provided", 0), ("no classification provided", 0),
])
def test_review_status_gold_stars(status: str, stars: int) -> None:
    assert REVIEW_STATUS_STARS[status] == stars


def test_every_table_has_its_schema(sample: SourceOutput) -> None:
    for name, frame in sample.tables.items():
        assert dict(frame.schema) == TABLES[name], name


def test_iter_variants_yields_records() -> None:
    records = {v.id: v for v in iter_variants(SAMPLE)}
    assert len(records) == SAMPLE_GRCH38_ROWS
    assert records["ClinVar:4"].clinical_significance == "Uncertain significance"
    assert "ORPHA:83472" in records["ClinVar:4"].phenotype_ids


def test_find_file(tmp_path: Path) -> None:
    assert find_clinvar_file(tmp_path) is None
    (tmp_path / "clinvar").mkdir()
    shutil.copy(SAMPLE, tmp_path / "clinvar" / "variant_summary.txt.gz")
    assert find_clinvar_file(tmp_path) == tmp_path / "clinvar" / "variant_summary.txt.gz"


# --- broken files ----------------------------------------------------------------------------


@pytest.mark.parametrize("skip", [False, True])
def test_missing_columns_are_named(skip: bool) -> None:
    path = BROKEN / "variant_summary_missing_columns.txt"
    with pytest.raises(SourceFormatError) as err:
        load_clinvar(path, skip_bad_records=skip)
    assert err.value.path == path and err.value.line == 1
    assert "missing required column(s) ReviewStatus, PositionVCF" in str(err.value)
    assert "34- or 40-column layout" in str(err.value)


def test_unknown_review_status_names_line_and_expected() -> None:
    with pytest.raises(SourceFormatError) as err:
        load_clinvar(BROKEN / "variant_summary_bad_review_status.txt")
    assert err.value.line == 5
    assert "unknown review status" in str(err.value) and "reviewed by a committee of cats" in str(err.value)
    assert "'reviewed by expert panel'" in str(err.value)


def test_unknown_review_status_is_counted_in_skip_mode() -> None:
    out = load_clinvar(BROKEN / "variant_summary_bad_review_status.txt", skip_bad_records=True)
    assert out.report.skipped == {"unknown review status": 1} and out.report.listed[0]["line"] == 5
    assert "ClinVar:3" not in set(out.tables["variants"]["id"])
    assert out.tables["variants"].height == SAMPLE_GRCH38_ROWS - 1


def test_short_line_is_a_bad_record(tmp_path: Path) -> None:
    lines = gzip.decompress(SAMPLE.read_bytes()).decode().splitlines(keepends=True)
    lines[3] = "\t".join(lines[3].split("\t")[:20]) + "\n"  # line 4 cut after 20 fields
    path = tmp_path / "variant_summary.txt"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"variant_summary\.txt:4: line has fewer than the header's 34 fields"):
        load_clinvar(path)
    assert load_clinvar(path, skip_bad_records=True).report.skipped == {"line has fewer than the header's 34 fields": 1}
