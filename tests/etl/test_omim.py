"""OMIM loader on the fixture-sized samples in tests/data/omim (issue: Orphadata, OMIM and ClinVar loaders)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raregraph.errors import SourceFormatError
from raregraph.etl.sources.base import SourceOutput
from raregraph.etl.sources.omim import (
    OMIM_INHERITANCE_TO_HPO, OmimPaths, find_omim_files, iter_genemap2, iter_mim2gene, iter_morbidmap,
    load_omim, parse_phenotype, parse_phenotypes, read_release,
)
from raregraph.etl.tables import TABLES

OMIM = Path(__file__).resolve().parents[1] / "data" / "omim"
GENEMAP2, MIM2GENE, MORBIDMAP = OMIM / "genemap2.fixture.txt", OMIM / "mim2gene.head40.txt", OMIM / "morbidmap.head40.txt"
BROKEN = Path(__file__).parent / "broken"

# grep -v '^#' genemap2.fixture.txt | wc -l
GENEMAP2_ROWS = 12
# grep -v '^#' genemap2.fixture.txt | cut -f13 | tr ';' '\n' | grep -c .
GENEMAP2_PHENOTYPES = 26
# grep -v '^#' mim2gene.head40.txt | awk -F'\t' '$3!=""' | wc -l
MIM2GENE_WITH_ENTREZ = 15


@pytest.fixture(scope="module")
def omim() -> SourceOutput:
    return load_omim(OmimPaths(MIM2GENE, GENEMAP2, MORBIDMAP))


def _rows(frame: pl.DataFrame, **where: object) -> list[dict[str, object]]:
    return frame.filter(pl.all_horizontal(pl.col(k) == v for k, v in where.items())).to_dicts()


def test_release_dates_come_from_the_generated_line() -> None:
    assert (read_release(GENEMAP2), read_release(MIM2GENE), read_release(MORBIDMAP)) == ("2021-03-29", "2019-02-20", "2019-02-20")


def test_genemap2_rows_and_phenotypes() -> None:
    rows = list(iter_genemap2(GENEMAP2))
    assert len(rows) == GENEMAP2_ROWS and sum(len(r.phenotypes) for r in rows) == GENEMAP2_PHENOTYPES
    tardbp = rows[0]
    assert (tardbp.mim, tardbp.symbol, tardbp.entrez_id, tardbp.ensembl_id, tardbp.line) == ("605078", "TARDBP", "23435", "ENSG00000120948", 5)
    assert tardbp.gene_symbols == ("TARDBP", "TDP43", "ALS10")


def test_provisional_susceptibility_modifier() -> None:
    (eef1aknmt,) = [r for r in iter_genemap2(GENEMAP2) if r.symbol == "EEF1AKNMT"]
    (p,) = eef1aknmt.phenotypes  # ?{Deafness, autosomal recessive 26, modifier of}, 605429 (3), Autosomal dominant
    assert (p.name, p.mim, p.mapping_key, p.inheritance) == ("Deafness, autosomal recessive 26, modifier of", "605429", 3, ("Autosomal dominant",))
    assert (p.provisional, p.susceptibility, p.nondisease) == (True, True, False)


def test_susceptibility_without_inheritance_and_commas_in_names() -> None:
    (gdf5,) = [r for r in iter_genemap2(GENEMAP2) if r.symbol == "GDF5"]
    by_mim = {p.mim: p for p in gdf5.phenotypes}
    oa5 = by_mim["612400"]  # {Osteoarthritis-5}, 612400 (3)
    assert (oa5.name, oa5.susceptibility, oa5.provisional, oa5.inheritance) == ("Osteoarthritis-5", True, False, ())
    bda1c = by_mim["615072"]  # Brachydactyly, type A1, C, 615072 (3), Autosomal recessive, Autosomal dominant
    assert bda1c.name == "Brachydactyly, type A1, C"
    assert bda1c.inheritance == ("Autosomal recessive", "Autosomal dominant")


def test_leading_colon_and_phenotype_without_own_mim() -> None:
    (lamtor2,) = [r for r in iter_genemap2(GENEMAP2) if r.symbol == "LAMTOR2"]
    assert lamtor2.phenotypes[0].name == "Immunodeficiency due to defect in MAPBP-interacting protein"
    assert lamtor2.phenotypes[0].disease_id == "OMIM:610798"
    (itgb3,) = [r for r in iter_genemap2(GENEMAP2) if r.symbol == "ITGB3"]
    purpura = itgb3.phenotypes[0]  # "Purpura, posttransfusion (3)": no MIM entry of its own
    assert (purpura.name, purpura.mim, purpura.disease_id) == ("Purpura, posttransfusion", None, None)


def test_tables_link_phenotype_to_entrez_gene(omim: SourceOutput) -> None:
    (link,) = _rows(omim.tables["disease_genes"], disease_id="OMIM:605429")
    assert link["gene_id"] == "NCBIGene:51603" and link["gene_symbol"] == "EEF1AKNMT"
    assert (link["mapping_key"], link["provisional"], link["susceptibility"], link["nondisease"]) == (3, True, True, False)
    assert link["association_status"] == "provisional" and link["source"] == "omim:genemap2.fixture.txt"
    (acat2,) = _rows(omim.tables["disease_genes"], disease_id="OMIM:614055")  # ?ACAT2 deficiency, 614055 (1)
    assert acat2["mapping_key"] == 1 and acat2["association_type"] == "mapped by association, defect unknown"
    (disease,) = _rows(omim.tables["diseases"], id="OMIM:612400")
    assert (disease["name"], disease["database"], disease["release"]) == ("Osteoarthritis-5", "OMIM", "2021-03-29")


def test_inheritance_goes_to_disease_inheritance(omim: SourceOutput) -> None:
    table = omim.tables["disease_inheritance"]
    assert {r["term_id"] for r in _rows(table, disease_id="OMIM:615072")} == {"HP:0000006", "HP:0000007"}
    assert _rows(table, disease_id="OMIM:302905")[0]["term_id"] == "HP:0001417"  # X-linked
    assert _rows(table, disease_id="OMIM:614055")[0]["inheritance_raw"] == "Isolated cases"
    assert set(table["term_id"]) <= set(OMIM_INHERITANCE_TO_HPO.values())


def test_genes_from_genemap2_and_mim2gene(omim: SourceOutput) -> None:
    (gdf5,) = _rows(omim.tables["genes"], id="NCBIGene:8200")
    assert (gdf5["symbol"], gdf5["omim_id"], gdf5["locus"], gdf5["hgnc_id"]) == ("GDF5", "OMIM:601146", "20q11.2", None)
    (aldh1a1,) = _rows(omim.tables["genes"], id="NCBIGene:216")  # mim2gene 100640 gene 216 ALDH1A1
    assert (aldh1a1["omim_id"], aldh1a1["ensembl_id"]) == ("OMIM:100640", "ENSG00000165092")
    assert sum(1 for m in iter_mim2gene(MIM2GENE) if m.entrez_id) == MIM2GENE_WITH_ENTREZ


def test_morbidmap_phenotypes() -> None:
    rows = {r.phenotype.name: r for r in iter_morbidmap(MORBIDMAP)}
    three_m = rows["3-M syndrome 1"]
    assert (three_m.phenotype.mim, three_m.gene_mim, three_m.gene_symbols[0], three_m.cyto_location) == ("273750", "609577", "CUL7", "6p21.1")
    assert rows["3p- syndrome"].phenotype.mapping_key == 4 and rows["3p- syndrome"].phenotype.mim is None
    assert rows["2,4-dienoyl-CoA reductase deficiency"].phenotype.provisional


def test_morbidmap_disease_without_known_gene_is_counted(omim: SourceOutput) -> None:
    assert _rows(omim.tables["diseases"], id="OMIM:273750")[0]["source"] == "omim:morbidmap.head40.txt"
    assert _rows(omim.tables["disease_genes"], disease_id="OMIM:273750") == []  # CUL7's MIM is not in the 40-line mim2gene
    assert omim.report.skipped["gene/locus without Entrez id"] > 0


def test_every_table_has_its_schema(omim: SourceOutput) -> None:
    for name, frame in omim.tables.items():
        assert dict(frame.schema) == TABLES[name], name
    assert omim.tables["disease_genes"].select("disease_id", "gene_id").is_duplicated().any() is False


def test_load_from_a_folder_with_usual_names(tmp_path: Path) -> None:
    assert find_omim_files(tmp_path) is None
    shutil.copy(GENEMAP2, tmp_path / "genemap2.txt")
    assert find_omim_files(tmp_path) == OmimPaths(genemap2=tmp_path / "genemap2.txt")
    out = load_omim(tmp_path)
    assert [f.name for f in out.files] == ["omim:genemap2.txt"] and out.files[0].release == "2021-03-29"


# --- broken files ----------------------------------------------------------------------------


def test_genemap2_line_that_does_not_parse() -> None:
    with pytest.raises(SourceFormatError) as err:
        load_omim(OmimPaths(genemap2=BROKEN / "genemap2_bad_phenotype.txt"))
    assert err.value.path == BROKEN / "genemap2_bad_phenotype.txt" and err.value.line == 6 and err.value.field == "Phenotypes"
    assert "expected 'name[, MIM number] (mapping key 1-4)[, inheritance]'" in str(err.value)
    assert "MAPBP-interacting protein, 610798, Autosomal recessive" in str(err.value)


def test_genemap2_bad_line_is_counted_in_skip_mode() -> None:
    out = load_omim(OmimPaths(genemap2=BROKEN / "genemap2_bad_phenotype.txt"), skip_bad_records=True)
    assert out.report.skipped["bad genemap2 phenotype"] == 1 and out.report.listed[0]["line"] == 6
    assert set(out.tables["diseases"]["id"]) == {"OMIM:612069", "OMIM:605429"}  # lines 5 and 7 still load


def test_genemap2_line_with_too_few_columns(tmp_path: Path) -> None:
    path = tmp_path / "genemap2.txt"
    path.write_text("chr1\t1\t2\t1p36\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match=r"genemap2\.txt:1: expected at least 13 tab-separated columns, got 4"):
        list(iter_genemap2(path))


# --- the Phenotypes-column parser ------------------------------------------------------------

_NAME_CHARS = st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" ,-'/.")
_NAMES = st.text(_NAME_CHARS, min_size=1, max_size=40).map(str.strip).filter(
    lambda n: bool(n) and not n.startswith(",") and not re.search(r",\s*\d{6}$", n)
)
_MODES = st.lists(st.sampled_from(sorted(OMIM_INHERITANCE_TO_HPO)), max_size=3)


@st.composite
def _phenotypes(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    name, mim = draw(_NAMES), draw(st.one_of(st.none(), st.integers(100000, 999999).map(str)))
    key, modes = draw(st.integers(1, 4)), draw(_MODES)
    provisional, susceptibility, nondisease = draw(st.booleans()), draw(st.booleans()), draw(st.booleans())
    text = f"[{name}]" if nondisease else name
    text = f"{{{text}}}" if susceptibility else text
    text = f"?{text}" if provisional else text
    text += (f", {mim}" if mim else "") + f" ({key})" + "".join(f", {m}" for m in modes)
    expected = {"name": name, "mim": mim, "mapping_key": key, "inheritance": tuple(modes),
                "provisional": provisional, "susceptibility": susceptibility, "nondisease": nondisease}
    return text, expected


@settings(deadline=None)  # timing varies on a shared machine; correctness does not
@given(_phenotypes())
def test_phenotype_parser_round_trips(case: tuple[str, dict[str, object]]) -> None:
    text, expected = case
    parsed = parse_phenotype(text)
    assert {k: getattr(parsed, k) for k in expected} == expected


@settings(deadline=None)  # timing varies on a shared machine; correctness does not
@given(st.lists(_phenotypes(), min_size=1, max_size=5))
def test_phenotypes_field_splits_on_semicolons(cases: list[tuple[str, dict[str, object]]]) -> None:
    parsed = parse_phenotypes("; ".join(text for text, _ in cases))
    assert [p.mim for p in parsed] == [expected["mim"] for _, expected in cases]


@settings(deadline=None)  # timing varies on a shared machine; correctness does not
@given(st.text(st.characters(blacklist_characters="()"), max_size=60))
def test_phenotype_without_mapping_key_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="mapping key"):
        parse_phenotype(text)
