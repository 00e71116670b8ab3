"""MONDO's SSSOM mappings: a real excerpt (tests/data/mondo, from the pheval 0.7.14 wheel) through the loader,
the snapshot build and the ranking service."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from raregraph.api.cli import app
from raregraph.api.service import build_service
from raregraph.errors import SourceFormatError
from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.locate import default_hpo_dir
from raregraph.etl.snapshot import Snapshot
from raregraph.etl.sources.mondo import load_mondo_sssom
from raregraph.models import CaseRequest
from raregraph.retrieval.engine import EquivalenceGroups
from raregraph.settings import Settings
from tests.conftest import MINI_RELEASE
from tests.etl.test_snapshot_sources import make_release

EXCERPT = Path(__file__).resolve().parents[1] / "data" / "mondo" / "mondo.sssom.tsv"
HEADER = "subject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\tmapping_justification\n"
MARFAN = ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545"]


def _write(tmp_path: Path, rows: list[str], meta: str = "# license: https://creativecommons.org/licenses/by/4.0/\n") -> Path:
    path = tmp_path / "mondo.sssom.tsv"
    path.write_text(meta + HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_real_excerpt_gives_mondo_diseases_and_their_omim_orphanet_ids() -> None:
    out = load_mondo_sssom(EXCERPT)
    diseases, xrefs = out.tables["diseases"], out.tables["disease_xrefs"]
    marfan = diseases.filter(pl.col("id") == "MONDO:0007947").to_dicts()
    assert marfan and marfan[0]["name"] == "Marfan syndrome" and marfan[0]["database"] == "MONDO"
    of_marfan = xrefs.filter(pl.col("disease_id") == "MONDO:0007947")
    assert set(of_marfan["xref_id"]) == {"OMIM:154700", "ORPHA:284963", "ORPHA:558"}  # Orphanet: spelled ORPHA:
    assert of_marfan["mapping_exact"].all() and set(of_marfan["mapping_relation"]) == {"skos:exactMatch"}
    # DOID, UMLS, MeSH, … (and the broadMatch to SNOMED) are counted, not kept: the snapshot has no such diseases
    assert set(xrefs["xref_database"]) <= {"OMIM", "ORPHA", "DECIPHER"}
    assert out.extra["mondo"]["mappings_to_other_vocabularies"] > 20
    assert out.files[0].name == "mondo:mondo.sssom.tsv" and out.files[0].release is None  # this file states no version
    assert set(xrefs["source"]) == {"mondo:mondo.sssom.tsv"}


def test_release_comes_from_the_metadata_block(tmp_path: Path) -> None:
    path = _write(tmp_path, ["MONDO:0008752\tAlexander disease\tskos:exactMatch\tOMIM:203450\t\t"],
                  meta="# curie_map:\n#   OMIM: https://omim.org/entry/\n# mapping_set_version: 2025-06-03\n")
    assert load_mondo_sssom(path).files[0].release == "2025-06-03"


def test_non_exact_mapping_is_kept_but_is_no_equivalence(tmp_path: Path) -> None:
    path = _write(tmp_path, ["MONDO:0008752\tAlexander disease\tskos:exactMatch\tOrphanet:58\t\t",
                             "MONDO:0008752\tAlexander disease\tskos:broadMatch\tOMIM:203450\t\t"])
    xrefs = load_mondo_sssom(path).tables["disease_xrefs"]
    assert dict(xrefs.select("xref_id", "mapping_exact").iter_rows()) == {"ORPHA:58": True, "OMIM:203450": False}


@pytest.mark.parametrize(("row", "field"), [
    ("MONDO:12\tx\tskos:exactMatch\tOMIM:203450\t\t", "subject_id"),
    ("MONDO:0008752\tx\towl:sameAs\tOMIM:203450\t\t", "predicate_id"),
    ("MONDO:0008752\tx\tskos:exactMatch\tOMIM:20345O\t\t", "object_id"),
])
def test_bad_row_names_file_line_and_field_or_is_skipped(tmp_path: Path, row: str, field: str) -> None:
    path = _write(tmp_path, ["MONDO:0007947\tMarfan syndrome\tskos:exactMatch\tOMIM:154700\t\t", row])
    with pytest.raises(SourceFormatError) as err:
        load_mondo_sssom(path)
    assert err.value.line == 4 and err.value.field == field and str(path) in str(err.value)  # 1 metadata line, header
    out = load_mondo_sssom(path, skip_bad_records=True)
    assert out.report.skipped == {f"bad {field}": 1} and out.tables["disease_xrefs"].height == 1


def test_table_without_a_required_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mondo.sssom.tsv"
    path.write_text("# license: x\nsubject_id\tobject_id\nMONDO:0008752\tOMIM:203450\n", encoding="utf-8")
    with pytest.raises(SourceFormatError, match="predicate_id") as err:
        load_mondo_sssom(path)
    assert err.value.line == 2


_PREDICATES = ["skos:exactMatch", "skos:broadMatch", "skos:narrowMatch", "skos:closeMatch", "skos:relatedMatch"]
_PREFIXES = ["OMIM", "Orphanet", "DECIPHER", "DOID", "UMLS", "NCIT"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.sampled_from(_PREDICATES), st.sampled_from(_PREFIXES), st.integers(1, 999_999)),
                min_size=1, max_size=40))
def test_every_disease_mapping_is_kept_once_with_its_exactness(rows: list[tuple[int, str, str, int]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), [f"MONDO:{s:07d}\tlabel {s}\t{p}\t{x}:{n}\t\t" for s, p, x, n in rows])
        out = load_mondo_sssom(path)
    kept = {(f"MONDO:{s:07d}", f"{'ORPHA' if x == 'Orphanet' else x}:{n}", p) for s, p, x, n in rows
            if x in ("OMIM", "Orphanet", "DECIPHER")}
    xrefs = out.tables["disease_xrefs"]
    assert set(xrefs.select("disease_id", "xref_id", "mapping_relation").iter_rows()) == kept
    assert xrefs.height == len(kept)
    assert all(exact == (relation == "skos:exactMatch") for relation, exact in xrefs.select("mapping_relation", "mapping_exact").iter_rows())
    assert set(out.tables["diseases"]["id"]) == {d for d, _, _ in kept}
    assert out.extra["mondo"]["mappings_to_other_vocabularies"] == sum(x not in ("OMIM", "Orphanet", "DECIPHER") for _, _, x, _ in rows)


# --- through the build and the ranking ----------------------------------------------------------


def _release_with_mondo(target: Path) -> Path:
    """The mini HPO release with real OMIM and ORPHA rows (no Orphadata file) and the MONDO excerpt in mondo/."""
    make_release(target, samples={})
    (target / "mondo").mkdir()
    shutil.copyfile(EXCERPT, target / "mondo" / "mondo.sssom.tsv")
    return target


def test_build_finds_the_mappings_and_mondo_joins_omim_and_orphanet(tmp_path: Path) -> None:
    release = _release_with_mondo(tmp_path / "release")
    inputs = BuildInputs.discover(release)
    assert inputs.mondo == release / "mondo" / "mondo.sssom.tsv"
    snapshot = build_snapshot(inputs, tmp_path / "snaps")
    xrefs = snapshot.table("disease_xrefs")
    pairs = xrefs.filter(pl.col("mapping_exact")).select("disease_id", "xref_id").rows()
    groups = EquivalenceGroups.from_pairs(["OMIM:203450", "ORPHA:58"], pairs)
    assert groups.group_of[0] == groups.group_of[1]  # Alexander disease: only MONDO says these are one disease
    assert "MONDO:0008752" in groups.members[0]
    assert any(s["name"] == "mondo:mondo.sssom.tsv" and s["sha256"] for s in snapshot.manifest["sources"])
    assert snapshot.manifest["merge"]["equivalence"]["groups_joining_snapshot_diseases"] >= 1


def test_cli_takes_a_mondo_file_and_names_a_missing_one(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["etl", "build", "--source-dir", str(MINI_RELEASE), "--mondo-sssom", str(tmp_path / "no.tsv"),
                                  "--out", str(tmp_path / "snaps")])
    assert missing.exit_code != 0 and "no.tsv" in missing.output
    assert not (tmp_path / "snaps").exists() or not list((tmp_path / "snaps").iterdir())
    built = runner.invoke(app, ["etl", "build", "--source-dir", str(MINI_RELEASE), "--mondo-sssom", str(EXCERPT),
                                "--out", str(tmp_path / "snaps")])
    assert built.exit_code == 0, built.output
    assert "mondo:mondo.sssom.tsv" in built.output


def test_default_release_with_mondo_lists_mondo_and_orphanet_ids_and_ranks_as_before(
    default_snapshot: Snapshot, tmp_path: Path,
) -> None:
    """MONDO adds ids to a candidate; the Orphanet entry it names stays the OMIM disease's twin, so scores hold."""
    snapshot = build_snapshot(BuildInputs(BuildInputs.discover(default_hpo_dir(), search_source_dir=False).hpo, mondo=EXCERPT),
                              tmp_path / "snaps")
    case = CaseRequest(hpo_present=MARFAN)
    with_mondo = build_service(Settings(snapshot=str(snapshot.path), embedding_enabled=False)).diagnose(case, top=10)
    plain = build_service(Settings(snapshot=str(default_snapshot.path), embedding_enabled=False)).diagnose(case, top=10)
    marfan = next(c for c in with_mondo.candidates if c.disease_id == "OMIM:154700")
    assert {"MONDO:0007947", "ORPHA:558", "ORPHA:284963"} <= set(marfan.equivalent_ids)
    assert [(c.disease_id, c.score) for c in with_mondo.candidates] == [(c.disease_id, c.score) for c in plain.candidates]
