"""Provenance per file, never per folder: each source file's release is read from the file itself (issue 14)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from raregraph.etl.build import BuildInputs, build_snapshot
from raregraph.etl.catalog import FilePin, Release, WheelPin
from raregraph.etl.provenance import read_release
from raregraph.etl.pull import PullOptions, pull_release
from raregraph.etl.sources.base import sha256_of
from tests.conftest import MINI_RELEASE

MONDO_EXCERPT = Path(__file__).parents[1] / "data" / "mondo" / "mondo.sssom.tsv"


def _newer_ontology_beside_older_genes(folder: Path) -> None:
    """The mini release with hp.obo and phenotype.hpoa stating 2026-06-06; genes_to_phenotype.txt untouched."""
    for name, old, new in (("hp.obo", "hp/releases/2024-04-26", "hp/releases/2026-06-06"),
                           ("phenotype.hpoa", "#version: 2024-04-26", "#version: 2026-06-06")):
        text = (folder / name).read_text(encoding="utf-8")
        assert old in text
        (folder / name).write_text(text.replace(old, new), encoding="utf-8")


def test_genes_table_beside_a_newer_ontology_is_not_recorded_as_the_ontology_release(mini_copy: Path, tmp_path: Path) -> None:
    _newer_ontology_beside_older_genes(mini_copy)
    snapshot = build_snapshot(BuildInputs.discover(mini_copy), tmp_path / "snapshots")
    releases = {s["name"]: s["release"] for s in snapshot.manifest["sources"]}
    assert releases["hpo:hp.obo"] == "2026-06-06" and releases["hpo:phenotype.hpoa"] == "2026-06-06"
    assert releases["hpo:genes_to_phenotype.txt"] == "unknown"  # it states none: never its neighbour's
    for table in ("genes", "disease_genes", "gene_phenotypes"):
        rows = snapshot.table(table).filter(pl.col("source") == "hpo:genes_to_phenotype.txt")
        assert rows.height and set(rows["release"]) == {"unknown"}, table
    assert set(snapshot.table("terms")["release"]) == {"2026-06-06"}


def test_a_pulled_release_records_where_each_file_came_from(mini_copy: Path, tmp_path: Path) -> None:
    _newer_ontology_beside_older_genes(mini_copy)
    (mini_copy / "mondo.sssom.tsv").write_bytes(MONDO_EXCERPT.read_bytes())
    wheel = WheelPin("minidata", "0.1.0", "0" * 64)
    pins = Release("2026-06-06", tuple(
        FilePin(path, sha256_of(mini_copy / Path(path).name), kind, release, wheel, f"m/{path}", f"https://example.org/{path}")
        for path, kind, release in (("hp.obo", "obo", "2026-06-06"), ("phenotype.hpoa", "hpoa", "2026-06-06"),
                                    ("genes_to_phenotype.txt", "none", None), ("mondo/mondo.sssom.tsv", "sssom", None))
    ), note="test")
    folder = pull_release(PullOptions(source=mini_copy, dest=tmp_path / "releases"), pins=pins)
    snapshot = build_snapshot(BuildInputs.discover(folder), tmp_path / "snapshots")
    sources = {s["name"]: s for s in snapshot.manifest["sources"]}
    assert sources["hpo:genes_to_phenotype.txt"]["release"] == "unknown"
    assert sources["hpo:genes_to_phenotype.txt"]["origin"] == {"path": str((mini_copy / "genes_to_phenotype.txt").resolve())}
    assert sources["mondo:mondo.sssom.tsv"]["release"] == "unknown"  # this SSSOM file has no mapping_set_version
    assert sources["hpo:hp.obo"]["release"] == "2026-06-06"


def test_release_readers_read_each_format_header() -> None:
    assert read_release(MINI_RELEASE / "hp.obo") == "2024-04-26"
    assert read_release(MINI_RELEASE / "phenotype.hpoa") == "2024-04-26"
    assert read_release(MINI_RELEASE / "genes_to_phenotype.txt") is None
    assert read_release(MONDO_EXCERPT) is None
