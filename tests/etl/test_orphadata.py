"""Orphadata XML loader on the real samples in tests/data/orphadata (issue: Orphadata, OMIM and ClinVar loaders)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raregraph.errors import SourceFormatError
from raregraph.etl.sources.base import SourceOutput
from raregraph.etl.sources.frequency import (
    ORPHANET_FREQUENCY_CLASSES, FrequencyClass, parse_orphanet_frequency,
)
from raregraph.etl.sources.orphadata import (
    OrphadataPaths, find_orphadata_files, iter_product1, iter_product4, iter_product6, iter_product9_ages,
    load_orphadata, read_header,
)
from raregraph.etl.tables import TABLES

ORPHA = Path(__file__).resolve().parents[1] / "data" / "orphadata"
HEADS = ORPHA / "release-heads_1.3.29-1.3.42"
EXOMISER = ORPHA / "exomiser-fixtures"
PHENOL = ORPHA / "phenol-fixtures"
LINK = ORPHA / "orphanet-link-fixtures"
BROKEN = Path(__file__).parent / "broken"

# grep -c '^        <Disorder id=' exomiser-fixtures/en_product1_test.xml
EXOMISER_PRODUCT1_DISORDERS = 8
# grep -c '<HPODisorderAssociation id' release-heads_1.3.29-1.3.42/en_product4.head.xml
HEAD_PRODUCT4_ANNOTATIONS = 47
# grep -c '^    <Disorder id=' phenol-fixtures/orphanet_disease2gene_en_product6_head.xml
PHENOL_PRODUCT6_DISORDERS = 34


def _rows(frame: pl.DataFrame, **where: object) -> list[dict[str, object]]:
    return frame.filter(pl.all_horizontal(pl.col(k) == v for k, v in where.items())).to_dicts()


@pytest.fixture(scope="module")
def release_heads() -> SourceOutput:
    return load_orphadata(OrphadataPaths(HEADS / "en_product1.head.xml", HEADS / "en_product4.head.xml",
                                         HEADS / "en_product6.head.xml", HEADS / "en_product9_ages.head.xml"))


@pytest.mark.parametrize(("path", "product", "release", "schema"), [
    (HEADS / "en_product1.head.xml", "product1", "2024-12-03", "1.3.29"),
    (HEADS / "en_product4.head.xml", "product4", "2024-12-03", "1.3.29"),
    (HEADS / "en_product6.head.xml", "product6", "2025-06-24", "1.3.42"),  # UTF-8
    (HEADS / "en_product9_ages.head.xml", "product9_ages", "2024-12-03", "1.3.29"),
    (HEADS / "en_product9_prev.head.xml", "product9_prev", "2024-12-03", "1.3.29"),
    (HEADS / "en_product7.head.xml", "product7", "2025-06-24", "1.3.42"),
    (HEADS / "en_funct_consequences.head.xml", "funct_consequences", "2024-12-03", "1.3.29"),
    (EXOMISER / "en_product1_test.xml", "product1", "2020-05-06", "1.3.1"),  # licence comment after the declaration
    (EXOMISER / "en_product6_test.xml", "product6", "2020-05-22", "1.3.1"),
    (PHENOL / "en_product9_ages-small.xml", "product9_ages", "2019-06-01", "1.2.11"),  # OrphaNumber
    (PHENOL / "en_product4_small.xml", "product4", "2020-07-01", "1.3.6"),
    (LINK / "en_product3_156.xml", "product3", "2025-12-09", "1.3.42"),
])
def test_header_gives_product_release_and_schema(path: Path, product: str, release: str, schema: str) -> None:
    header = read_header(path)
    assert (header.product, header.release, header.schema_version) == (product, release, schema)


def test_product1_exact_omim_mapping_and_names(release_heads: SourceOutput) -> None:
    out = release_heads
    xrefs = out.tables["disease_xrefs"]
    (omim,) = _rows(xrefs, disease_id="ORPHA:166024", xref_id="OMIM:607131")
    assert omim["mapping_relation"] == "E" and omim["mapping_exact"] and omim["validation_status"] == "Validated"
    (icd10,) = _rows(xrefs, disease_id="ORPHA:166024", xref_id="ICD10:Q77.3")
    assert icd10["mapping_relation"] == "NTBT" and not icd10["mapping_exact"]
    assert icd10["icd_relation"].startswith("Attributed code")
    assert _rows(xrefs, disease_id="ORPHA:58", xref_id="OMIM:203450")[0]["mapping_exact"]
    (alexander,) = _rows(out.tables["diseases"], id="ORPHA:58")
    assert alexander["name"] == "Alexander disease" and alexander["database"] == "ORPHA"
    assert (alexander["disorder_type"], alexander["disorder_group"]) == ("Disease", "Disorder")
    assert alexander["source"] == "orphadata:en_product1.head.xml" and alexander["release"] == "2024-12-03"
    assert {"disease_id": "ORPHA:58", "synonym": "AxD"}.items() <= _rows(out.tables["disease_synonyms"], disease_id="ORPHA:58")[0].items()


def test_only_orphanet_E_counts_as_exact(release_heads: SourceOutput) -> None:
    xrefs = release_heads.tables["disease_xrefs"]
    assert xrefs.filter(pl.col("mapping_exact"))["mapping_relation"].unique().to_list() == ["E"]
    assert xrefs.filter(pl.col("mapping_relation") != "E")["mapping_exact"].any() is False


def test_product1_old_schema_with_licence_comment_and_latin1() -> None:
    disorders = list(iter_product1(EXOMISER / "en_product1_test.xml"))
    assert len(disorders) == EXOMISER_PRODUCT1_DISORDERS
    first = disorders[0]
    assert (first.entity.id, first.entity.name) == ("ORPHA:166024", "Multiple epiphyseal dysplasia, Al-Gazali type")
    # 1.3.1 words the relation "E (exact mapping (the terms and the concepts are equivalent))"
    assert [x.xref_id for x in first.xrefs if x.exact] == ["OMIM:607131", "UMLS:C1846722"]


def test_obsolete_entity_points_to_its_referred_target() -> None:
    out = load_orphadata([EXOMISER / "en_product1_test_obsolete.xml"])
    (row,) = out.tables["diseases"].to_dicts()
    assert (row["id"], row["obsolete"], row["replaced_by"]) == ("ORPHA:93216", True, "ORPHA:656")
    assert row["disorder_group"] == "Subtype of disorder"


def test_mondo_xref_of_the_2025_schema() -> None:
    (mondo,) = _rows(load_orphadata([LINK / "en_product1.xml"]).tables["disease_xrefs"], xref_id="MONDO:0011778")
    assert mondo["disease_id"] == "ORPHA:166024" and mondo["mapping_exact"]


def test_product4_very_frequent_is_the_80_99_range(release_heads: SourceOutput) -> None:
    phenotypes = release_heads.tables["disease_phenotypes"]
    assert phenotypes.height == HEAD_PRODUCT4_ANNOTATIONS
    (seizure,) = _rows(phenotypes, disease_id="ORPHA:58", term_id="HP:0001250")
    assert (seizure["frequency"], seizure["frequency_min"], seizure["frequency_max"]) == (0.895, 0.80, 0.99)
    assert seizure["frequency_raw"] == "Very frequent (99-80%)" and seizure["negated"] is False


def test_product4_occasional_and_frequent_ranges() -> None:
    records = {r.entity.id: r for r in iter_product4(PHENOL / "en_product4_small.xml")}
    by_term = {a.hpo_id: a for a in records["ORPHA:93"].annotations}
    assert by_term["HP:0007686"].frequency.label == "Occasional"
    assert (by_term["HP:0007686"].frequency.minimum, by_term["HP:0007686"].frequency.maximum) == (0.05, 0.29)
    assert by_term["HP:0100886"].frequency.midpoint == 0.545
    assert records["ORPHA:93"].validation_date == "2016-06-01 00:00:00.0"


def test_excluded_frequency_becomes_a_not_annotation(tmp_path: Path) -> None:
    """No sample holds an excluded (0%) association: copy a real record and rename two classes."""
    text = (LINK / "en_product4.xml").read_text(encoding="utf-8")
    crafted = text.replace("Very frequent (99-80%)", "Excluded (0%)", 1).replace("Very frequent (99-80%)", "Obligate (100%)", 1)
    path = tmp_path / "en_product4.xml"
    path.write_text(crafted, encoding="utf-8")
    phenotypes = load_orphadata(OrphadataPaths(product4=path)).tables["disease_phenotypes"]
    (excluded,) = _rows(phenotypes, term_id="HP:0000256")
    assert excluded["negated"] is True and (excluded["frequency_min"], excluded["frequency_max"]) == (0.0, 0.0)
    (obligate,) = _rows(phenotypes, term_id="HP:0001249")
    assert obligate["negated"] is False and obligate["frequency"] == 1.0


def test_product6_gene_keyed_by_hgnc_with_other_ids(release_heads: SourceOutput) -> None:
    (kif7,) = _rows(release_heads.tables["genes"], id="HGNC:30497")
    assert (kif7["symbol"], kif7["ensembl_id"], kif7["omim_id"], kif7["locus"]) == ("KIF7", "ENSG00000166813", "OMIM:611254", "15q26.1")
    (link,) = _rows(release_heads.tables["disease_genes"], disease_id="ORPHA:166024")
    assert link["gene_id"] == "HGNC:30497" and link["references"] == ["PMID:22587682"]
    assert (link["association_type"], link["association_status"]) == ("Disease-causing germline mutation(s) in", "Assessed")


def test_product6_gene_without_hgnc_id_is_counted_not_keyed() -> None:
    out = load_orphadata([PHENOL / "orphanet_disease2gene_en_product6_head.xml"])
    assert len(list(iter_product6(PHENOL / "orphanet_disease2gene_en_product6_head.xml"))) == PHENOL_PRODUCT6_DISORDERS
    assert out.report.skipped["gene without HGNC id"] == 1  # CWC27 for ORPHA:166035 has no ExternalReference
    assert out.tables["disease_genes"].filter(pl.col("gene_symbol") == "CWC27").is_empty()
    vwf = out.tables["disease_genes"].filter(pl.col("gene_id") == "HGNC:12726")["disease_id"].to_list()
    assert {"ORPHA:166078", "ORPHA:166084", "ORPHA:166096"} <= set(vwf)  # von Willebrand disease types 1, 2A, 3
    (crohn_il23r,) = _rows(out.tables["disease_genes"], disease_id="ORPHA:206", gene_symbol="IL23R")
    assert crohn_il23r["association_type"] == "Major susceptibility factor in"


def test_product9_inheritance_maps_to_hpo_modes() -> None:
    modes = {(h.entity.id, name): term for h in iter_product9_ages(EXOMISER / "en_product9_ages.xml") for name, term in h.inheritance}
    assert modes[("ORPHA:58", "Autosomal dominant")] == "HP:0000006"
    assert modes[("ORPHA:586", "Autosomal recessive")] == "HP:0000007"  # cystic fibrosis
    assert modes[("ORPHA:461", "X-linked recessive")] == "HP:0001419"
    assert modes[("ORPHA:163966", "X-linked dominant")] == "HP:0001423"
    assert modes[("ORPHA:550", "Mitochondrial inheritance")] == "HP:0001427"  # MELAS
    assert modes[("ORPHA:550", "Not applicable")] is None
    table = load_orphadata([EXOMISER / "en_product9_ages.xml"]).tables["disease_inheritance"]
    assert {row["term_id"] for row in _rows(table, disease_id="ORPHA:550")} == {"HP:0001427"}


def test_product9_schema_1_2_uses_orphanumber() -> None:
    (first, *_) = iter_product9_ages(PHENOL / "en_product9_ages-small.xml")
    assert first.entity.id == "ORPHA:166024" and first.entity.disorder_group is None
    assert first.inheritance == (("Autosomal recessive", "HP:0000007"),) and first.onsets == ("Infancy", "Neonatal")


def test_every_table_has_its_schema_and_provenance(release_heads: SourceOutput) -> None:
    for name, frame in release_heads.tables.items():
        assert dict(frame.schema) == TABLES[name], name
        assert frame["source"].null_count() == 0 and frame["release"].null_count() == 0, name


def test_product1_names_win_over_other_products(release_heads: SourceOutput) -> None:
    (row,) = _rows(release_heads.tables["diseases"], id="ORPHA:166024")
    assert row["source"] == "orphadata:en_product1.head.xml"


def test_find_files_by_usual_names(tmp_path: Path) -> None:
    assert find_orphadata_files(tmp_path) is None
    shutil.copy(HEADS / "en_product4.head.xml", tmp_path / "en_product4.xml")
    found = find_orphadata_files(tmp_path)
    assert found == OrphadataPaths(product4=tmp_path / "en_product4.xml")
    assert load_orphadata(tmp_path).tables["disease_phenotypes"].height == HEAD_PRODUCT4_ANNOTATIONS


# --- broken files ----------------------------------------------------------------------------


@pytest.mark.parametrize("skip", [False, True])
def test_truncated_xml_names_file_and_line(skip: bool) -> None:
    path = BROKEN / "product4_truncated.xml"
    with pytest.raises(SourceFormatError) as err:
        load_orphadata(OrphadataPaths(product4=path), skip_bad_records=skip)
    assert err.value.path == path and err.value.line == 41
    assert "not well-formed" in str(err.value) and "Premature end of data" in str(err.value)


def test_non_well_formed_xml_names_file_and_line() -> None:
    with pytest.raises(SourceFormatError, match=r"product6_not_well_formed\.xml:55: .*mismatch: Symbol line 55 and Symbl"):
        list(iter_product6(BROKEN / "product6_not_well_formed.xml"))


@pytest.mark.parametrize("skip", [False, True])
def test_product4_given_where_product6_expected(skip: bool) -> None:
    with pytest.raises(SourceFormatError) as err:
        load_orphadata(OrphadataPaths(product6=LINK / "en_product4.xml"), skip_bad_records=skip)
    message = str(err.value)
    assert err.value.line == 9 and "/JDBOR/HPODisorderSetStatusList/HPODisorderSetStatus[@id='1']" in message
    assert "this is an Orphadata product4 file" in message and "expected product6" in message


def test_unsupported_product_in_a_list_of_files() -> None:
    with pytest.raises(SourceFormatError, match=r"en_product7\.xml: this is an Orphadata product7 file .*expected one of"):
        load_orphadata([LINK / "en_product7.xml"])


def test_unknown_frequency_class_raises_with_xml_path() -> None:
    with pytest.raises(SourceFormatError) as err:
        load_orphadata(OrphadataPaths(product4=BROKEN / "product4_unknown_frequency.xml"))
    message = str(err.value)
    assert err.value.line == 24 and "HPODisorderAssociation[@id='554367']/HPOFrequency[@id='28412']/Name" in message
    assert "unknown Orphanet frequency class 'Sometimes (50%)'" in message and "Very frequent (99-80%)" in message


def test_unknown_frequency_class_is_counted_in_skip_mode() -> None:
    out = load_orphadata(OrphadataPaths(product4=BROKEN / "product4_unknown_frequency.xml"), skip_bad_records=True)
    assert out.report.skipped == {"unknown frequency class": 1}
    assert out.report.listed[0]["line"] == 24
    assert out.tables["disease_phenotypes"]["term_id"].to_list() == ["HP:0000256"]  # the good one is kept


# --- frequency classes -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "low", "high", "point"), [
    ("Obligate (100%)", 1.0, 1.0, 1.0),
    ("Very frequent (99-80%)", 0.80, 0.99, 0.895),
    ("Frequent (79-30%)", 0.30, 0.79, 0.545),
    ("Occasional (29-5%)", 0.05, 0.29, 0.17),
    ("Very rare (<4-1%)", 0.01, 0.04, 0.025),
    ("Excluded (0%)", 0.0, 0.0, 0.0),
])
def test_frequency_classes_map_to_documented_ranges(text: str, low: float, high: float, point: float) -> None:
    cls = parse_orphanet_frequency(text)
    assert (cls.minimum, cls.maximum, cls.midpoint) == (low, high, point)
    assert cls.excluded is (high == 0.0)


def test_frequency_classes_agree_with_hpo_frequency_terms() -> None:
    from raregraph.etl.sources.hpo_frequency import HPO_FREQUENCY_TERMS

    for cls in ORPHANET_FREQUENCY_CLASSES:
        assert HPO_FREQUENCY_TERMS[cls.hpo_id] == (cls.minimum, cls.maximum)


def _written(cls: FrequencyClass, style: int) -> str:
    high, low = round(cls.maximum * 100), round(cls.minimum * 100)
    bounds = f"{high}%" if high == low else (f"<{high}-{low}%" if style == 2 else f"{high}-{low}%")
    return cls.label if style == 0 else f"{cls.label} ({bounds})"


@settings(deadline=None)  # timing varies on a shared machine; correctness does not
@given(st.sampled_from(ORPHANET_FREQUENCY_CLASSES), st.integers(0, 2), st.sampled_from([str, str.lower, str.upper]))
def test_frequency_parser_reads_every_written_form(cls: FrequencyClass, style: int, case) -> None:
    assert parse_orphanet_frequency(case(_written(cls, style))) == cls


@settings(deadline=None)  # timing varies on a shared machine; correctness does not
@given(st.text(max_size=30))
def test_frequency_parser_accepts_only_known_classes(text: str) -> None:
    try:
        cls = parse_orphanet_frequency(text)
    except ValueError as err:
        assert "Orphanet frequency class" in str(err)
    else:
        assert cls.label.casefold() == " ".join(text.split("(")[0].split()).casefold()
        assert 0.0 <= cls.minimum <= cls.midpoint <= cls.maximum <= 1.0
