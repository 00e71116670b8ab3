"""Snapshot builder: content-derived ids, atomic writes, clear errors on broken release files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from raregraph.errors import SourceFormatError, SourceMissingError
from raregraph.etl.build import BuildInputs, BuildOptions, build_snapshot, snapshot_id_for
from raregraph.etl.locate import default_hpo_dir
from raregraph.etl.snapshot import Snapshot, list_snapshots
from raregraph.etl.sources.hpo import find_hpo_files
from tests.conftest import MINI_RELEASE


def _build(release: Path, out: Path, **options: object) -> Snapshot:
    return build_snapshot(BuildInputs(find_hpo_files(release)), out, BuildOptions(**options))  # type: ignore[arg-type]


def _replace_line(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _assert_nothing_written(out: Path) -> None:
    assert not out.exists() or list(out.iterdir()) == []


def test_same_inputs_same_id(tmp_path: Path, mini_snapshot: Snapshot) -> None:
    again = _build(MINI_RELEASE, tmp_path / "other")
    assert again.id == mini_snapshot.id
    assert again.manifest["tables"] == mini_snapshot.manifest["tables"]


def test_the_real_hp_obo_gives_the_same_tables_in_any_process() -> None:
    """pronto iterates in hash order, which differs per process: the tables must not (the ranking's chance
    level samples annotations in term order, so two builds of one release ranked slightly differently)."""
    import os
    import subprocess
    import sys

    digest = ("import hashlib, sys; from pathlib import Path; from raregraph.etl.sources.hpo import parse_obo; "
              "frames, _ = parse_obo(Path(sys.argv[1])); "
              "print(hashlib.sha256(repr([f.rows() for f in frames.values()]).encode()).hexdigest())")
    obo = str(default_hpo_dir() / "hp.obo")
    out = {seed: subprocess.run([sys.executable, "-c", digest, obo], check=True, capture_output=True, text=True,
                                env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip() for seed in ("1", "2")}
    assert out["1"] and out["1"] == out["2"]


def test_changed_input_changes_id(mini_copy: Path, mini_snapshot: Snapshot) -> None:
    _replace_line(mini_copy / "hp.obo", "name: Arachnodactyly", "name: Arachnodactyly (long fingers)")
    assert snapshot_id_for(BuildInputs(find_hpo_files(mini_copy)), BuildOptions()) != mini_snapshot.id


def test_manifest_lists_tables_and_every_source(mini_snapshot: Snapshot) -> None:
    manifest = mini_snapshot.manifest
    assert manifest["tables"]["terms"] == 12
    assert manifest["tables"]["disease_inheritance"] == 1
    assert {s["name"] for s in manifest["sources"]} == {"hpo:hp.obo", "hpo:phenotype.hpoa", "hpo:genes_to_phenotype.txt"}
    assert manifest["code_version"] and manifest["built_at"] and manifest["build_seconds"] >= 0
    for table in manifest["tables"]:
        assert (mini_snapshot.path / f"{table}.parquet").is_file()


def test_orphanet_excluded_class_becomes_not_annotation(mini_snapshot: Snapshot) -> None:
    row = mini_snapshot.table("disease_phenotypes").filter(
        (pl.col("disease_id") == "ORPHA:558") & (pl.col("term_id") == "HP:0001166")
    ).to_dicts()[0]
    assert row["negated"] is True and row["frequency"] == 0.0


def test_exclude_references_drops_only_fully_excluded_annotations(tmp_path: Path) -> None:
    refs = tmp_path / "refs.txt"
    refs.write_text("# papers of the evaluated cases\nPMID:1\nPMID:4\n", encoding="utf-8")
    from raregraph.etl.build import read_reference_list

    snapshot = _build(MINI_RELEASE, tmp_path / "out", exclude_references=read_reference_list(refs))
    pheno = snapshot.table("disease_phenotypes")
    # HP:0001166 of OMIM:154700 cites PMID:1 and PMID:2: one reference survives, so it stays.
    assert pheno.filter((pl.col("disease_id") == "OMIM:154700") & (pl.col("term_id") == "HP:0001166")).height == 1
    assert pheno.filter(pl.col("disease_id") == "OMIM:604403").height == 0
    assert snapshot.manifest["notes"]["annotations_dropped_by_excluded_references"] == 2
    assert snapshot.manifest["options"]["exclude_references"] == ["PMID:1", "PMID:4"]


def test_missing_file_names_it(mini_copy: Path) -> None:
    (mini_copy / "phenotype.hpoa").unlink()
    with pytest.raises(SourceMissingError, match="phenotype.hpoa"):
        find_hpo_files(mini_copy)


def test_malformed_obo_stanza_names_file_and_line(mini_copy: Path, tmp_path: Path) -> None:
    _replace_line(mini_copy / "hp.obo", "name: Seizure\n", "name Seizure\n")
    with pytest.raises(SourceFormatError) as caught:
        _build(mini_copy, tmp_path / "out")
    line = (mini_copy / "hp.obo").read_text().splitlines().index("name Seizure") + 1
    assert caught.value.line == line
    assert f"hp.obo:{line}" in str(caught.value)
    _assert_nothing_written(tmp_path / "out")


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        ("\t124/197\t\t\tP\t", "\t124/197\t\tP\t", None, "expected 12 tab-separated columns"),
        ("\t124/197\t\t\tP\t", "\t124/197\t\t\tX\t", "aspect", "expected one of C/H/I/M/P"),
        ("\t124/197\t", "\t198/197\t", "frequency", "n <= m"),
        ("\t124/197\t", "\tsometimes\t", "frequency", "expected an HPO frequency term"),
    ],
)
def test_bad_hpoa_row_names_file_line_and_field(
    mini_copy: Path, tmp_path: Path, old: str, new: str, field: str | None, expected: str
) -> None:
    _replace_line(mini_copy / "phenotype.hpoa", old, new)
    with pytest.raises(SourceFormatError) as caught:
        _build(mini_copy, tmp_path / "out")
    err = caught.value
    assert err.path.name == "phenotype.hpoa"
    assert err.line == 6  # 4 comment lines, the header, then the first data row
    assert err.field == field
    assert expected in str(err)
    _assert_nothing_written(tmp_path / "out")


def test_skip_bad_records_counts_and_lists_them(mini_copy: Path, tmp_path: Path) -> None:
    _replace_line(mini_copy / "phenotype.hpoa", "\t124/197\t\t\tP\t", "\t124/197\t\t\tX\t")
    snapshot = _build(mini_copy, tmp_path / "out", skip_bad_records=True)
    report = snapshot.manifest["parse_report"]
    assert report["skipped"] == {"bad_aspect": 1}
    assert report["listed"][0]["line"] == 6
    assert snapshot.manifest["tables"]["disease_phenotypes"] == 6


def test_bad_genes_to_phenotype_value_names_line(mini_copy: Path, tmp_path: Path) -> None:
    _replace_line(mini_copy / "genes_to_phenotype.txt", "6323\tSCN1A\tHP:0002373", "6323\tSCN1A\tHP:02373")
    with pytest.raises(SourceFormatError, match=r"genes_to_phenotype.txt:4: field 'hpo_id'"):
        _build(mini_copy, tmp_path / "out")
    _assert_nothing_written(tmp_path / "out")


def test_failure_while_writing_leaves_previous_snapshots_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    first = _build(MINI_RELEASE, out)

    def explode(self: pl.DataFrame, *args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    refs = frozenset({"PMID:1"})  # a different option set, so a different snapshot id
    monkeypatch.setattr(pl.DataFrame, "write_parquet", explode)
    with pytest.raises(OSError, match="disk full"):
        _build(MINI_RELEASE, out, exclude_references=refs)
    assert [p.name for p in out.iterdir()] == [first.id]
    assert [s.id for s in list_snapshots(out)] == [first.id]
