"""Orphanet-only disorders as ranking candidates (RAREGRAPH_RANK_ORPHANET_ONLY): which ones, and that adding
them leaves the rest of the index as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from raregraph.etl.snapshot import Snapshot
from raregraph.retrieval.index import RankingIndex, orphanet_only_disorders
from tests.conftest import copy_snapshot

DATABASES = ("OMIM", "DECIPHER")


@pytest.fixture(scope="module")
def orphanet_snapshot(default_snapshot: Snapshot, tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, list[str]]:
    """The default snapshot with five annotated Orphanet entries classified as Orphadata product 1 would."""
    annotated = (default_snapshot.table("disease_phenotypes").filter(pl.col("disease_id").str.starts_with("ORPHA:"))
                 ["disease_id"].unique().sort().to_list()[:5])
    lone, mapped, group, gone, twinned = annotated
    diseases = default_snapshot.table("diseases")
    crafted = pl.DataFrame([
        {"id": lone, "disorder_group": "Disorder", "obsolete": False},
        {"id": mapped, "disorder_group": "Disorder", "obsolete": False},  # has an OMIM mapping (narrower)
        {"id": group, "disorder_group": "Group of disorders", "obsolete": False},
        {"id": gone, "disorder_group": "Disorder", "obsolete": True},
        {"id": twinned, "disorder_group": "Disorder", "obsolete": False},  # the same disease as an OMIM entry, via MONDO
    ]).with_columns(name=pl.lit("x"), database=pl.lit("ORPHA"))
    diseases = pl.concat([diseases.filter(~pl.col("id").is_in(annotated)), crafted], how="diagonal_relaxed")
    xrefs = pl.DataFrame([
        {"disease_id": mapped, "xref_id": "OMIM:100100", "xref_database": "OMIM", "mapping_relation": "NTBT",
         "mapping_exact": False},
        {"disease_id": twinned, "xref_id": "MONDO:0000001", "xref_database": "MONDO", "mapping_relation": "E",
         "mapping_exact": True},
        {"disease_id": "MONDO:0000001", "xref_id": "OMIM:100200", "xref_database": "OMIM", "mapping_relation": "E",
         "mapping_exact": True},
    ])
    xrefs = pl.concat([default_snapshot.table("disease_xrefs").clear(), xrefs], how="diagonal_relaxed")
    root = Path(tmp_path_factory.mktemp("universe"))
    return copy_snapshot(default_snapshot, root, "orphanet-universe", {"diseases": diseases, "disease_xrefs": xrefs}), annotated


def test_only_unmapped_current_disorders_are_chosen(orphanet_snapshot: tuple[Snapshot, list[str]]) -> None:
    snapshot, (lone, _mapped, _group, _gone, _twinned) = orphanet_snapshot
    assert orphanet_only_disorders(snapshot) == (lone,)  # the MONDO-twinned entry stays its OMIM equivalent's twin


def test_a_snapshot_without_orphadata_product_1_adds_nothing(default_snapshot: Snapshot) -> None:
    assert orphanet_only_disorders(default_snapshot) == ()


def test_the_added_disorders_are_ranked_and_the_rest_of_the_index_is_unchanged(
        orphanet_snapshot: tuple[Snapshot, list[str]]) -> None:
    snapshot, (lone, *_) = orphanet_snapshot
    base = RankingIndex.build(snapshot, unknown_frequency=0.5, databases=DATABASES)
    wider = RankingIndex.build(snapshot, unknown_frequency=0.5, databases=DATABASES, also=(lone,))
    assert lone not in base.disease_ids and lone in wider.disease_ids
    assert [d for d in wider.disease_ids if d != lone] == list(base.disease_ids)
    assert np.array_equal(base.ic, wider.ic)  # information content stays over the OMIM and DECIPHER corpus
    row = wider.disease_ids.index(lone)
    assert wider.direct[row].nnz > 0
