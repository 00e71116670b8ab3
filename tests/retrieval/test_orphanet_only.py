"""Orphanet-only disorders as candidates (RankingIndex.also): they are scored on their own description, and adding
them changes no other disease's score (real default snapshot; its Orphanet entries stand in for the added ones)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from raregraph.etl.snapshot import Snapshot
from raregraph.retrieval.engine import RankingEngine
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.prior import DiseasePrior
from raregraph.retrieval.scoring import CaseVector, GenotypeScorer, ScoringParams, VariantHit
from raregraph.retrieval.twins import GeneTwins

DATABASES = ("OMIM", "DECIPHER")
PARAMS = ScoringParams()


def _orphanet_sharing_genes(default_snapshot: Snapshot, n: int) -> tuple[str, ...]:
    """`n` Orphanet entries sharing a gene with another Orphanet entry (each would be the other's twin)."""
    everything = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("ORPHA",))
    genes = everything.disease_genes.tocsc()
    per_gene = np.diff(genes.indptr)
    shared = {int(g) for g in np.flatnonzero(per_gene > 1)}
    picked = [d for i, d in enumerate(everything.disease_ids) if shared & set(everything.disease_genes[i].indices.tolist())]
    return tuple(picked[:: max(1, len(picked) // n)][:n])


@pytest.fixture(scope="module")
def added(default_snapshot: Snapshot) -> tuple[str, ...]:
    return _orphanet_sharing_genes(default_snapshot, 40)


@pytest.fixture(scope="module")
def base(default_snapshot: Snapshot) -> RankingEngine:
    return _engine(default_snapshot, RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=DATABASES))


@pytest.fixture(scope="module")
def wider(default_snapshot: Snapshot, added: tuple[str, ...]) -> RankingEngine:
    index = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=DATABASES, also=added)
    return _engine(default_snapshot, index)


def _engine(snapshot: Snapshot, index: RankingIndex) -> RankingEngine:
    same = [(d,) for d in index.disease_ids]
    twins = GeneTwins.load(snapshot, index, PARAMS, databases=("ORPHA",), same_disease=same)
    prior = DiseasePrior.from_snapshot(snapshot, index.disease_ids, same, PARAMS, index.also)
    return RankingEngine(index, PARAMS, twins=twins, prior=prior)


def test_the_index_knows_which_candidates_were_added(wider: RankingEngine, added: tuple[str, ...]) -> None:
    assert set(wider.index.also) == set(added) and all(d in wider.index.disease_position for d in added)


def test_an_added_orphanet_disorder_has_no_orphanet_twin(wider: RankingEngine, added: tuple[str, ...]) -> None:
    """Orphanet describes each disorder once: an entry sharing its gene is an allelic disorder, not its twin."""
    links, position = wider.twins.links, wider.index.disease_position
    assert all(links[position[d]].nnz == 0 for d in added)
    assert links.nnz > 5000  # the OMIM diseases keep their Orphanet twins


@pytest.mark.parametrize("variants", [False, True])
def test_adding_them_leaves_every_other_disease_scored_as_before(
        base: RankingEngine, wider: RankingEngine, variants: bool) -> None:
    """Same IC, same chance level (its sample stays over the ranked databases), same twins, same prior."""
    terms = np.unique(base.index.direct.indices)
    case = CaseVector(tuple(int(t) for t in terms[[10, 400, 3000, 7000, len(terms) - 5]]))
    hits = [VariantHit(int(np.flatnonzero(np.diff(base.index.disease_genes.tocsc().indptr))[7]), "heterozygous")] if variants else []
    rows = [wider.index.disease_position[d] for d in base.index.disease_ids]
    before, after = base.score(case, hits), wider.score(case, hits)
    assert np.array_equal(before.total, after.total[rows])
    assert np.array_equal(base.background, wider.background[rows])


@pytest.mark.parametrize("variants", [False, True])
def test_an_added_disorder_carries_the_orphanet_only_prior(wider: RankingEngine, added: tuple[str, ...], variants: bool) -> None:
    """orphanet_only_prior is added to its score with or without variants (the disease prior only without)."""
    index = wider.index
    shifted = RankingEngine(index, wider.params, wider.groups, wider.twins,
                            replace(wider.prior, source=wider.prior.source + np.float32(1.5)))
    case = CaseVector(tuple(int(t) for t in np.unique(index.direct.indices)[[50, 900]]))
    hits = [VariantHit(0, "heterozygous")] if variants else []
    rows = np.array([index.disease_position[d] for d in added])
    difference = shifted.score(case, hits).total - wider.score(case, hits).total
    assert np.allclose(difference, 1.5, atol=1e-4)
    assert np.allclose(wider.prior.source[rows], PARAMS.orphanet_only_prior)
    assert np.count_nonzero(wider.prior.source) == len(added)
    facts = wider.prior.facts(int(rows[0]), 0.0)
    assert facts.log_prior == pytest.approx(PARAMS.orphanet_only_prior)


def test_no_unknown_gene_credit_for_an_orphanet_disorder_without_a_gene(wider: RankingEngine) -> None:
    """A geneless OMIM entry may have a gene the table does not know yet; a geneless Orphanet one has none."""
    index = wider.index
    geneless = np.diff(index.disease_genes.tocsr().indptr) == 0
    gene = int(np.flatnonzero(np.diff(index.disease_genes.tocsc().indptr))[0])
    orpha = [i for i in np.flatnonzero(geneless) if index.disease_ids[i].startswith("ORPHA:")]
    omim = [i for i in np.flatnonzero(geneless) if index.disease_ids[i].startswith("OMIM:")]
    if not orpha:  # the added entries were chosen with genes: make one geneless
        row = index.disease_position[index.also[0]]
        genes = index.disease_genes.tolil()
        genes.rows[row], genes.data[row] = [], []
        index = replace(index, disease_genes=genes.tocsr())
        orpha = [row]
    scores = GenotypeScorer(index, PARAMS).scores([VariantHit(gene, "heterozygous")])
    assert (scores[orpha] == 0).all() and (scores[omim] > 0).all()
    credited = GenotypeScorer(index, replace(PARAMS, gene_unknown_skip=())).scores([VariantHit(gene, "heterozygous")])
    assert (credited[orpha] > 0).all()
