"""Case input readers: phenopackets, VCF, typed-in variants and cohort files."""

from __future__ import annotations

import copy
import gzip
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from raregraph.models import CaseRequest
from raregraph.errors import InvalidCaseError, SourceFormatError
from raregraph.retrieval.case_input import (
    case_from_phenopacket,
    cases_from_path,
    refseq_chromosome,
    variant_from_text,
    variants_from_vcf,
    zygosity_from_gt,
)
from tests.conftest import TEST_DATA

EVAL = TEST_DATA / "eval"
PHENOPACKETS = EVAL / "phenopackets"
VCF_DIR = Path(__file__).resolve().parents[1] / "data" / "vcf"
CLINVAR_TEST_VCF = TEST_DATA / "clinvar" / "exomiser-extracts" / "clinvar-test.vcf.gz"
CLINVAR_FAKE_VCF = TEST_DATA / "clinvar" / "ncbi-format-samples_FAKE-DATA" / "clinvar.vcf"

# ls tests/data/eval/phenopackets/*.json | wc -l
N_SAMPLE_PHENOPACKETS = 43
# zcat clinvar-test.vcf.gz | grep -vc '^#'  → 2000 records; one has ALT "." (1:877831), so 1999 variants
N_CLINVAR_TEST_RECORDS = 2000
N_CLINVAR_TEST_VARIANTS = 1999


def _eval_rows() -> dict[str, dict]:
    """dev_sample.jsonl keyed by the phenopacket file stem `<cohort>__<id>`."""
    rows = {}
    for line in (EVAL / "dev_sample.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows[f"{row['path'].split('/')[1]}__{row['id']}"] = row
    return rows


def _minimal_packet(**extra: object) -> dict:
    packet = {
        "id": "case-1",
        "subject": {"id": "s1", "sex": "MALE", "timeAtLastEncounter": {"age": {"iso8601duration": "P3Y"}}},
        "phenotypicFeatures": [{"type": {"id": "HP:0001250", "label": "Seizure"}}],
        "metaData": {"created": "2024-01-01T00:00:00Z", "createdBy": "test", "phenopacketSchemaVersion": "2.0"},
    }
    packet.update(extra)
    return packet


# --- phenopackets ---------------------------------------------------------------------------


def test_every_sample_phenopacket_matches_its_eval_jsonl_line() -> None:
    rows = _eval_rows()
    files = sorted(PHENOPACKETS.glob("*.json"))
    assert len(files) == N_SAMPLE_PHENOPACKETS
    for file in files:
        case = case_from_phenopacket(file)
        row = rows[file.stem]
        assert case.id == row["id"]
        assert case.hpo_present == row["hpo_present"]
        assert case.hpo_excluded == row["hpo_excluded"]
        assert (case.sex, case.age) == (row["sex"], row["age"])
        assert [(v.gene, v.zygosity, v.structural_type) for v in case.variants] == [
            (v["gene"], v["zygosity"], v.get("structural_type")) for v in row["variants"]
        ]
        expected = [{k: x for k, x in v.items() if k not in ("status", "acmg")} for v in row["variants"]]
        assert [v.model_dump(exclude_none=True) for v in case.variants] == expected


def test_phenopacket_answer_never_reaches_the_case() -> None:
    file = PHENOPACKETS / "ACBD6__PMID_37951597_Family_12_Subject_1.json"
    dumped = case_from_phenopacket(file).model_dump_json()
    raw = json.loads(file.read_text(encoding="utf-8"))
    assert raw["interpretations"][0]["diagnosis"]["disease"]["id"] == "OMIM:620785"
    for answer in ("OMIM:620785", "Neurodevelopmental", "CAUSATIVE", "PATHOGENIC", "SOLVED"):
        assert answer not in dumped


def test_phenopacket_from_dict_text_and_path_agree() -> None:
    file = PHENOPACKETS / "ACBD6__PMID_37951597_Family_12_Subject_1.json"
    text = file.read_text(encoding="utf-8")
    from_path = case_from_phenopacket(file)
    assert case_from_phenopacket(str(file)) == from_path
    assert case_from_phenopacket(text) == from_path
    assert case_from_phenopacket(json.loads(text)) == from_path
    assert from_path.hpo_present[0] == "HP:0001263" and "HP:0001344" in from_path.hpo_excluded
    variant = from_path.variants[0]
    assert (variant.gene, variant.hgnc, variant.chrom, variant.pos, variant.ref, variant.alt) == (
        "ACBD6", "HGNC:23339", "chr1", 180314691, "C", "T"
    )
    assert (variant.hgvs_c, variant.zygosity, variant.assembly) == ("NM_032360.4:c.694+1G>A", "homozygous", "hg38")


@pytest.mark.parametrize(
    ("time_element", "age"),
    [
        ({"age": {"iso8601duration": "P2Y6M"}}, "P2Y6M"),
        ({"gestationalAge": {"weeks": 22, "days": 2}}, "GA:22w2d"),
        ({"ontologyClass": {"id": "HP:0003577", "label": "Congenital onset"}}, "HP:0003577"),
        ({"ageRange": {"start": {"iso8601duration": "P1Y"}, "end": {"iso8601duration": "P2Y"}}}, None),
    ],
)
def test_phenopacket_age_is_written_as_the_eval_jsonl_writes_it(time_element: dict, age: str | None) -> None:
    packet = _minimal_packet()
    packet["subject"]["timeAtLastEncounter"] = time_element
    assert case_from_phenopacket(packet).age == age


def test_phenopacket_without_subject_or_id_and_with_a_gene_call(tmp_path: Path) -> None:
    packet = _minimal_packet(id="")
    del packet["subject"]
    packet["interpretations"] = [{
        "id": "i1", "progressStatus": "IN_PROGRESS",
        "diagnosis": {"disease": {"id": "OMIM:154700", "label": "Marfan syndrome"}, "genomicInterpretations": [
            {"subjectOrBiosampleId": "s1", "interpretationStatus": "CANDIDATE",
             "gene": {"valueId": "HGNC:3603", "symbol": "FBN1"}},
        ]},
    }]
    file = tmp_path / "no_subject.json"
    file.write_text(json.dumps(packet), encoding="utf-8")
    case = case_from_phenopacket(file)
    assert (case.id, case.sex, case.age) == ("no_subject", None, None)
    assert [(v.gene, v.hgnc, v.zygosity) for v in case.variants] == [("FBN1", "HGNC:3603", None)]


def test_phenopacket_v1_or_unknown_field_is_an_invalid_case() -> None:
    with pytest.raises(InvalidCaseError, match="not a valid GA4GH Phenopacket v2.*genes"):
        case_from_phenopacket(_minimal_packet(genes=[{"id": "HGNC:3603", "symbol": "FBN1"}]))
    with pytest.raises(InvalidCaseError, match="JSON object"):
        case_from_phenopacket("[1, 2]")


def test_phenopacket_with_a_non_hpo_feature_is_an_invalid_case() -> None:
    packet = _minimal_packet(phenotypicFeatures=[{"type": {"id": "MONDO:0007947"}}])
    with pytest.raises(InvalidCaseError, match="hpo_present"):
        case_from_phenopacket(packet)


def test_phenopacket_file_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    file = tmp_path / "broken.json"
    file.write_text('{\n  "id": "x",\n  "subject": {,\n}\n', encoding="utf-8")
    with pytest.raises(SourceFormatError) as info:
        case_from_phenopacket(file)
    assert (info.value.path, info.value.line) == (file, 3)


def test_phenopacket_does_not_mutate_the_given_dict() -> None:
    packet = _minimal_packet()
    before = copy.deepcopy(packet)
    case_from_phenopacket(packet)
    assert packet == before


# --- VCF ------------------------------------------------------------------------------------


def test_clinvar_test_vcf_reads_every_allele_with_gene_and_assembly() -> None:
    variants = variants_from_vcf(CLINVAR_TEST_VCF)
    assert len(variants) == N_CLINVAR_TEST_VARIANTS
    assert {v.assembly for v in variants} == {"GRCh37"}
    assert {v.zygosity for v in variants} == {"unknown"}  # no sample columns
    assert all(v.gene for v in variants)
    first = variants[0]
    assert (first.gene, first.chrom, first.pos, first.ref, first.alt, first.hgvs_g) == (
        "OR4F5", "1", 69134, "A", "G", "NC_000001.10:g.69134A>G"
    )
    assert [v.alt for v in variants if v.pos == 877831] == ["C"]  # of two records there, ALT "." is no variant
    with gzip.open(CLINVAR_TEST_VCF, "rt", encoding="utf-8") as handle:
        records = [line for line in handle if not line.startswith("#")]
    assert len(records) == N_CLINVAR_TEST_RECORDS
    agrn = [v for v, r in zip(variants, [r for r in records if r.split("\t")[4] != "."], strict=True)
            if "GENEINFO=AGRN:375790|LOC" in r]
    assert agrn and {v.gene for v in agrn} == {"AGRN"}  # a LOC symbol never wins over a named gene


def test_ncbi_sample_clinvar_vcf() -> None:
    variants = variants_from_vcf(CLINVAR_FAKE_VCF)
    assert [(v.gene, v.chrom, v.pos, v.ref, v.alt, v.assembly) for v in variants] == [
        ("EGFR", "7", 55249071, "C", "T", "GRCh37"),
        ("KRAS", "12", 25398285, "C", "A", "GRCh37"),
    ]


def test_genotypes_of_the_first_or_named_sample() -> None:
    first = variants_from_vcf(VCF_DIR / "genotypes.vcf")
    assert [(v.gene, v.alt, v.zygosity) for v in first] == [
        ("AAA1", "G", "heterozygous"),
        ("BBB2", "T", "heterozygous"),
        ("DDD4", "G", "heterozygous"),  # MOTHER is 0/2: ALT C is not hers
        ("EEE5", "T", "unknown"),  # ./.
        ("GGG7", "A", "unknown"),  # no GT in FORMAT
    ]
    proband = variants_from_vcf(VCF_DIR / "genotypes.vcf", sample="PROBAND")
    assert [(v.gene, v.alt, v.zygosity) for v in proband] == [
        ("AAA1", "G", "heterozygous"),
        ("BBB2", "T", "homozygous"),
        ("CCC3", "A", "hemizygous"),
        ("DDD4", "C", "heterozygous"),
        ("DDD4", "G", "heterozygous"),
        ("EEE5", "T", "unknown"),
        ("GGG7", "A", "unknown"),
    ]
    assert {v.assembly for v in proband} == {"GRCh38"}
    with pytest.raises(InvalidCaseError, match="FATHER.*MOTHER, PROBAND"):
        variants_from_vcf(VCF_DIR / "genotypes.vcf", sample="FATHER")


def test_snpeff_ann_gives_gene_and_hgvs_of_its_own_allele() -> None:
    variants = variants_from_vcf(VCF_DIR / "snpeff.vcf")
    assert [(v.gene, v.alt, v.hgvs_c, v.hgvs_p, v.assembly) for v in variants] == [
        ("FBN1", "A", "NM_000138.5:c.8080C>T", "p.Arg2694Cys", "GRCh37"),  # GRCh37 from chr1's contig length
        ("FBN1", "A", None, None, "GRCh37"),  # no ANN entry for this allele: gene only
        ("FBN1", "G", "NM_000138.5:c.8080C>G", "p.Arg2694Arg", "GRCh37"),
    ]


def test_vep_csq_uses_its_header_format_and_prefers_the_picked_transcript() -> None:
    variants = variants_from_vcf(VCF_DIR / "vep.vcf")
    assert [(v.gene, v.ref, v.alt, v.hgvs_c, v.hgvs_p, v.zygosity) for v in variants] == [
        ("SCN1A", "CAG", "C", "ENST2.3:c.100_101del", "ENSP2.1:p.Gln34ValfsTer2", "homozygous"),
        ("SCN2A", "T", "TA", "ENST3.1:c.5dup", "ENSP3.1:p.Glu2=", "heterozygous"),
        ("SCN3A", "T", "G", "ENST4.1:c.7T>G", "ENSP4.1:p.Cys3Gly", "heterozygous"),
    ]


def test_structural_variants_get_a_sequence_ontology_type() -> None:
    variants = variants_from_vcf(VCF_DIR / "sv.vcf")
    assert [(v.gene, v.alt, v.structural_type, v.label) for v in variants] == [
        ("LEF1", "<DEL>", "chromosomal_deletion", "DEL 4:108978450-109340680"),
        (None, "G]17:198982]", "chromosomal_translocation", None),
        (None, "<DUP:TANDEM>", "chromosomal_duplication", "DUP:TANDEM 7:5000-6000"),
    ]
    assert {v.assembly for v in variants} == {"GRCh37"}  # ##reference=hg19


def test_vcf_text_plain_and_gzip_files_agree(tmp_path: Path) -> None:
    text = (VCF_DIR / "genotypes.vcf").read_text(encoding="utf-8")
    packed = tmp_path / "genotypes.vcf.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    expected = variants_from_vcf(VCF_DIR / "genotypes.vcf")
    assert variants_from_vcf(text) == expected
    assert variants_from_vcf(packed) == expected
    assert variants_from_vcf(str(packed)) == expected


def test_default_assembly_only_fills_in_for_a_silent_header() -> None:
    silent = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t100\t.\tA\tG\t.\t.\tSYMBOL=XYZ\n"
    assert variants_from_vcf(silent)[0].assembly is None
    assert variants_from_vcf(silent, default_assembly="GRCh38")[0].assembly == "GRCh38"
    assert variants_from_vcf(silent)[0].gene == "XYZ"
    told = "##reference=GRCh37\n" + silent
    assert variants_from_vcf(told, default_assembly="GRCh38")[0].assembly == "GRCh37"


_HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        (_HEADER + "1\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\n1\t200\t.\tA\tG\t.\t.\t.\tGT\n", 4, None, "expected 10"),
        (_HEADER + "1\t1e5\t.\tA\tG\t.\t.\t.\tGT\t0/1\n", 3, "POS", "positive integer"),
        (_HEADER + "1\t0\t.\tA\tG\t.\t.\t.\tGT\t0/1\n", 3, "POS", "positive integer"),
        (_HEADER + "1\t100\t.\tX\tG\t.\t.\t.\tGT\t0/1\n", 3, "REF", "bases"),
        (_HEADER + "1\t100\t.\tA\tG\t.\t.\t.\tGT\tA/B\n", 3, "GT", "malformed GT"),
        ("##fileformat=VCFv4.2\n1\t100\t.\tA\tG\t.\t.\t.\n", 2, None, "before the #CHROM"),
        ("##fileformat=VCFv4.2\n##reference=GRCh38\n", 2, None, "no #CHROM"),
        ("##fileformat=VCFv4.2\n#CHROM POS ID REF ALT QUAL FILTER INFO\n", 2, None, "tab-separated"),
        (_HEADER + "1 100 . A G . . . GT 0/1\n", 3, None, "tab-separated"),
        (_HEADER + "c" * 40 + "\t100\t.\tA\tG\t.\t.\t.\tGT\t0/1\n", 3, "CHROM", "at most 32"),
    ],
)
def test_a_vcf_line_that_does_not_parse_is_named(text: str, line: int, field: str | None, message: str) -> None:
    with pytest.raises(SourceFormatError, match=message) as info:
        variants_from_vcf(text)
    assert (info.value.line, info.value.field, info.value.path) == (line, field, Path("<vcf text>"))


def test_an_allele_or_hgvs_over_the_model_limit_is_dropped_not_refused() -> None:
    long_alt = "A" + "C" * 100_001  # VariantIn takes alleles up to 100,000 bases
    hgvs = f"NC_000001.10:g.100_101ins{'C' * 600},NC_000001.10:g.100A%3EG"
    text = _HEADER + f"1\t100\t.\tA\t{long_alt},G\t.\t.\tCLNHGVS={hgvs}\tGT\t1/2\n"
    long_one, short_one = variants_from_vcf(text)
    assert (long_one.pos, long_one.ref, long_one.alt, long_one.hgvs_g) == (100, "A", None, None)
    assert (short_one.alt, short_one.hgvs_g) == ("G", "NC_000001.10:g.100A>G")


def test_unreadable_gzip_and_missing_file(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.vcf.gz"
    body = "".join(f"1\t{pos}\t.\tA\tG\t.\t.\tDP={pos * 7919 % 1000}\tGT\t0/1\n" for pos in range(1, 2000))
    packed = gzip.compress((_HEADER + body).encode())
    truncated.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(SourceFormatError, match="unreadable gzip") as info:
        variants_from_vcf(truncated)
    assert info.value.path == truncated and info.value.line is not None
    latin1 = tmp_path / "latin1.vcf"
    latin1.write_bytes((_HEADER + "1\t100\t.\tA\tG\t.\t.\tNOTE=caf\xe9\tGT\t0/1\n").encode("latin-1"))
    with pytest.raises(SourceFormatError, match="UTF-8") as info:
        variants_from_vcf(latin1)
    assert info.value.line == 3
    with pytest.raises(SourceFormatError, match="cannot read"):
        variants_from_vcf(tmp_path / "absent.vcf")


_CALL = st.one_of(st.none(), st.integers(min_value=0, max_value=3))


@given(calls=st.lists(_CALL, min_size=1, max_size=4), allele=st.integers(min_value=1, max_value=3), phased=st.booleans())
def test_zygosity_from_gt_follows_the_calls(calls: list[int | None], allele: int, phased: bool) -> None:
    texts = ["." if c is None else str(c) for c in calls]
    zygosity = zygosity_from_gt(("|" if phased else "/").join(texts), allele)
    assert zygosity == zygosity_from_gt("/".join(reversed(texts)), allele)  # phasing and call order do not matter
    carried = calls.count(allele)
    if carried == 0:
        assert zygosity == ("unknown" if None in calls else None)
    elif None in calls:
        assert zygosity == "unknown"
    elif len(calls) == 1:
        assert zygosity == "hemizygous"
    else:
        assert zygosity == ("homozygous" if carried == len(calls) else "heterozygous")


@given(st.text(min_size=1, max_size=6).filter(lambda s: any(not (c.isdigit() or c in "./|") for c in s)))
def test_zygosity_from_gt_refuses_garbage(gt: str) -> None:
    with pytest.raises(ValueError, match="malformed GT"):
        zygosity_from_gt(gt, 1)


_BASE_SEQ = st.text(alphabet="ACGT", min_size=1, max_size=8)


@given(
    records=st.lists(
        st.tuples(
            st.sampled_from(["1", "chr2", "X", "MT"]),
            st.integers(min_value=1, max_value=10**9),
            _BASE_SEQ,
            st.lists(_BASE_SEQ, min_size=1, max_size=3, unique=True),
            st.lists(_CALL, min_size=1, max_size=2),
        ),
        max_size=6,
    )
)
def test_vcf_records_round_trip(records: list[tuple[str, int, str, list[str], list[int | None]]]) -> None:
    lines = [_HEADER.rstrip("\n")]
    expected = []
    for chrom, pos, ref, alts, calls in records:
        gt = "/".join("." if c is None else str(c) for c in calls)
        lines.append(f"{chrom}\t{pos}\trs1\t{ref}\t{','.join(alts)}\t50\tPASS\tGENE=G{pos}\tGT:DP\t{gt}:9")
        for index, alt in enumerate(alts, start=1):
            zygosity = zygosity_from_gt(gt, index)
            if zygosity is not None:
                expected.append((chrom, pos, ref, alt, zygosity, f"G{pos}"))
    variants = variants_from_vcf("\n".join(lines) + "\n")
    assert [(v.chrom, v.pos, v.ref, v.alt, v.zygosity, v.gene) for v in variants] == expected


# --- typed-in variants ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FBN1", {"gene": "FBN1"}),
        ("fbn1", {"gene": "FBN1"}),
        ("c9orf72", {"gene": "C9orf72"}),
        ("NM_000138.5(FBN1):c.8080C>T", {"gene": "FBN1", "hgvs_c": "NM_000138.5:c.8080C>T"}),
        ("NM_000138.5(FBN1):c.8080C>T (p.Arg2694Cys)",
         {"gene": "FBN1", "hgvs_c": "NM_000138.5:c.8080C>T", "hgvs_p": "p.Arg2694Cys"}),
        ("FBN1:c.8080C>T", {"gene": "FBN1", "hgvs_c": "c.8080C>T"}),
        ("FBN1 p.Arg2694Cys", {"gene": "FBN1", "hgvs_p": "p.Arg2694Cys"}),
        ("NP_055529.2:p.(Gly522Glu)", {"hgvs_p": "NP_055529.2:p.(Gly522Glu)"}),
        ("NM_014714.4:c.3454-488_4182+2588dup", {"hgvs_c": "NM_014714.4:c.3454-488_4182+2588dup"}),
        ("chr15:48411241:G:A", {"chrom": "chr15", "pos": 48411241, "ref": "G", "alt": "A"}),
        ("15-48411241-G-A", {"chrom": "15", "pos": 48411241, "ref": "G", "alt": "A"}),
        ("15:48411241 g>a", {"chrom": "15", "pos": 48411241, "ref": "G", "alt": "A"}),
        ("chrX:100del", None),
        ("NC_000015.10:g.48411241G>A", {
            "chrom": "chr15", "pos": 48411241, "ref": "G", "alt": "A", "assembly": "GRCh38",
            "hgvs_g": "NC_000015.10:g.48411241G>A",
        }),
        ("NC_000016.10:g.1515634_1521302dup",
         {"chrom": "chr16", "assembly": "GRCh38", "hgvs_g": "NC_000016.10:g.1515634_1521302dup"}),
    ],
)
def test_variant_from_text(text: str, expected: dict | None) -> None:
    if expected is None:
        with pytest.raises(InvalidCaseError, match="cannot read variant 'chrX:100del'"):
            variant_from_text(text)
        return
    assert variant_from_text(text).model_dump(exclude_none=True) == expected


def test_variant_from_text_takes_assembly_and_zygosity() -> None:
    variant = variant_from_text("chr15:48411241:G:A", assembly="GRCh38", zygosity="homozygous")
    assert (variant.assembly, variant.zygosity) == ("GRCh38", "homozygous")
    assert variant_from_text("NC_000001.10:g.69134A>G", assembly="GRCh38").assembly == "GRCh37"  # the accession says


@pytest.mark.parametrize("text", ["", "   ", "FBN1 is broken", "15-0-G-A", "chr15:abc:G:A", "c.8080C>T"])
def test_unreadable_variant_text_is_an_invalid_case(text: str) -> None:
    with pytest.raises(InvalidCaseError):
        variant_from_text(text)


def test_refseq_chromosome_versions_match_the_eval_data() -> None:
    seen = set()
    for line in (EVAL / "dev_sample.jsonl").read_text(encoding="utf-8").splitlines():
        for v in json.loads(line)["variants"]:
            if (v.get("hgvs_g") or "").startswith("NC_0000"):
                seen.add((v["hgvs_g"].split(":")[0], v["chrom"]))
    assert len(seen) >= 20
    for accession, chrom in seen:
        assert refseq_chromosome(accession) == (chrom, "GRCh38")


# --- cohorts --------------------------------------------------------------------------------


def test_jsonl_cohort_yields_every_line_and_its_errors(tmp_path: Path) -> None:
    good = {"id": "c1", "hpo_present": ["HP:0001250"], "variants": [{"gene": "SCN1A", "zygosity": "Heterozygous"}]}
    cohort = tmp_path / "cases.jsonl"
    cohort.write_text(
        "\n".join([
            json.dumps(good), "", json.dumps({"id": "c2", "hpo_present": ["seizure"]}), "{not json", json.dumps({"id": "c4"})
        ]) + "\n",
        encoding="utf-8",
    )
    results = list(cases_from_path(cohort))
    assert [n for n, _ in results] == [1, 3, 4, 5]
    first = results[0][1]
    assert isinstance(first, CaseRequest) and first.variants[0].zygosity == "heterozygous"
    assert isinstance(results[1][1], ValidationError) and isinstance(results[2][1], ValidationError)
    assert isinstance(results[3][1], CaseRequest)
    packed = tmp_path / "cases.jsonl.gz"
    packed.write_bytes(gzip.compress(cohort.read_bytes()))
    assert [n for n, _ in cases_from_path(packed)] == [1, 3, 4, 5]


def test_dev_sample_jsonl_and_phenopackets_give_the_same_cases() -> None:
    by_id = {c.id: c for _, c in cases_from_path(PHENOPACKETS) if isinstance(c, CaseRequest)}
    assert len(by_id) == N_SAMPLE_PHENOPACKETS
    results = list(cases_from_path(EVAL / "dev_sample.jsonl"))
    assert len(results) == N_SAMPLE_PHENOPACKETS
    for _, case in results:
        assert isinstance(case, CaseRequest)  # long alleles too: ref/alt may hold 100,000 bases
        assert case == by_id[case.id]


def test_phenopacket_directory_is_read_in_name_order_with_errors_in_place(tmp_path: Path) -> None:
    for name in ("ADA2__PMID_28830446_Patient_2.json", "ACBD6__PMID_37951597_Family_12_Subject_1.json"):
        shutil.copy(PHENOPACKETS / name, tmp_path / name)
    (tmp_path / "B_broken.json").write_text('{"id": "b", "genes": []}', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a case", encoding="utf-8")
    results = list(cases_from_path(tmp_path))
    assert [n for n, _ in results] == [1, 2, 3]
    assert isinstance(results[0][1], CaseRequest) and results[0][1].id == "PMID_37951597_Family_12_Subject_1"
    assert isinstance(results[1][1], CaseRequest) and results[1][1].id == "PMID_28830446_Patient_2"
    assert isinstance(results[2][1], InvalidCaseError)
    single = list(cases_from_path(tmp_path / "ADA2__PMID_28830446_Patient_2.json"))
    assert single == [(1, results[1][1])]


def test_missing_cohort_path_is_an_invalid_case(tmp_path: Path) -> None:
    with pytest.raises(InvalidCaseError, match="no such file"):
        list(cases_from_path(tmp_path / "absent.jsonl"))
