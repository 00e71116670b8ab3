"""Gene twins on the real default snapshot: an Orphanet description sharing a gene joins the evidence."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from raregraph.api.service import build_service
from raregraph.retrieval.retriever import Retriever
from raregraph.etl.snapshot import Snapshot
from raregraph.retrieval.engine import RankingEngine
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.scoring import CaseVector, ScoringParams, VariantHit
from raregraph.retrieval.twins import GeneTwins, resemblance

from raregraph.models import CaseRequest
from raregraph.settings import Settings


@pytest.fixture(scope="module")
def index(default_snapshot: Snapshot) -> RankingIndex:
    return RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))


@pytest.fixture(scope="module")
def twins(default_snapshot: Snapshot, index: RankingIndex) -> GeneTwins:
    found = GeneTwins.load(default_snapshot, index, ScoringParams(), databases=("ORPHA",),
                           same_disease=[(d,) for d in index.disease_ids])
    assert found is not None
    return found


@pytest.fixture(scope="module")
def engine(index: RankingIndex, twins: GeneTwins) -> RankingEngine:
    return RankingEngine(index, ScoringParams(), twins=twins)


@pytest.fixture(scope="module")
def plain(index: RankingIndex) -> RankingEngine:
    return RankingEngine(index, ScoringParams())


def test_links_join_diseases_sharing_a_gene_with_the_twins_gene_count_as_prior(index: RankingIndex, twins: GeneTwins) -> None:
    links = twins.links.tocoo()
    assert np.array_equal(twins.index.ic, index.ic)  # one IC scale for both mixture components
    assert links.nnz > 5000 and all(d.startswith("ORPHA:") for d in twins.index.disease_ids)
    n_genes = np.diff(twins.index.disease_genes.indptr)
    plain = twins.links_variants.tocoo()  # with variants: no resemblance or fan-out terms
    assert np.array_equal(plain.row, links.row) and np.array_equal(plain.col, links.col)
    assert np.allclose(plain.data, -np.log(n_genes[plain.col]), atol=1e-5)  # one-gene twins kept at log 1 = 0
    for row, col in list(zip(links.row.tolist(), links.col.tolist()))[::500]:
        mine = set(index.disease_genes[row].indices.tolist())
        assert mine & set(twins.index.disease_genes[col].indices.tolist())


def test_a_disease_is_never_its_own_twin(default_snapshot: Snapshot) -> None:
    """When the universe holds Orphanet diseases too, neither a disease nor a known equivalent is its twin."""
    both = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "ORPHA"))
    orpha = next(i for i, d in enumerate(both.disease_ids) if d.startswith("ORPHA:") and both.disease_genes[i].nnz == 1)
    omim = next(i for i, d in enumerate(both.disease_ids)
                if d.startswith("OMIM:") and set(both.disease_genes[i].indices) == set(both.disease_genes[orpha].indices))
    same = [(d,) for d in both.disease_ids]
    same[omim] = (both.disease_ids[omim], both.disease_ids[orpha])  # as an exact cross-reference would say
    twins = GeneTwins.load(default_snapshot, both, ScoringParams(), databases=("ORPHA",), same_disease=same)
    assert twins is not None
    twin_ids = lambda row: {twins.index.disease_ids[c] for c in twins.links[row].indices}
    assert both.disease_ids[orpha] not in twin_ids(orpha)
    assert both.disease_ids[orpha] not in twin_ids(omim)


def test_an_equivalent_outside_the_universe_stays_a_twin(default_snapshot: Snapshot, index: RankingIndex) -> None:
    """An Orphanet entry exactly matching an OMIM disease (e.g. through MONDO) describes it a second time: with
    the universe OMIM only it is not listed, so it must stay that disease's twin (dropping it lowered the ranking)."""
    plain = GeneTwins.load(default_snapshot, index, ScoringParams(), databases=("ORPHA",),
                           same_disease=[(d,) for d in index.disease_ids])
    assert plain is not None
    row = next(r for r in range(len(index.disease_ids)) if plain.links[r].nnz)
    twin = plain.index.disease_ids[plain.links[row].indices[0]]
    same = [(d,) for d in index.disease_ids]
    same[row] = (index.disease_ids[row], twin, "MONDO:0000001")
    with_equivalent = GeneTwins.load(default_snapshot, index, ScoringParams(), databases=("ORPHA",), same_disease=same)
    assert with_equivalent is not None
    assert (with_equivalent.links != plain.links).nnz == 0


def test_no_twins_without_such_diseases(mini_snapshot: Snapshot, default_snapshot: Snapshot, index: RankingIndex) -> None:
    assert GeneTwins.load(default_snapshot, index, ScoringParams(), databases=(), same_disease=[]) is None
    mini = RankingIndex.load(mini_snapshot, unknown_frequency=0.5, databases=("OMIM",))
    assert GeneTwins.load(mini_snapshot, mini, ScoringParams(), databases=("DECIPHER",), same_disease=[]) is None


def _terms(index: RankingIndex) -> np.ndarray:
    return np.unique(index.direct.indices)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_twin_only_adds_and_leaves_twinless_diseases_alone(engine: RankingEngine, plain: RankingEngine, data: st.DataObject) -> None:
    """total = logaddexp(own, twin) + genotype: never below the plain engine's, equal where there is no twin."""
    terms = _terms(engine.index)
    present = tuple(int(terms[i]) for i in data.draw(st.lists(st.integers(0, len(terms) - 1), min_size=1, max_size=6, unique=True)))
    hits = [VariantHit(data.draw(st.integers(0, len(engine.index.gene_ids) - 1)), "heterozygous")] if data.draw(st.booleans()) else []
    with_twins, without = engine.score(CaseVector(present), hits), plain.score(CaseVector(present), hits)
    has_twin = np.diff(engine.twins.links.indptr) > 0
    assert (with_twins.total >= without.total - 1e-4).all()
    assert np.allclose(with_twins.total[~has_twin], without.total[~has_twin], atol=1e-4)
    share = np.array([with_twins.twin_share(r) for r in np.flatnonzero(has_twin)[:50]])
    assert ((share >= 0) & (share <= 1)).all()


def test_twin_weight_zero_is_the_plain_engine(index: RankingIndex, twins: GeneTwins, plain: RankingEngine) -> None:
    off = RankingEngine(index, replace(ScoringParams(), twin_weight=0.0), twins=twins)
    case = CaseVector(tuple(int(t) for t in _terms(index)[[5, 500, 5000]]))
    assert np.array_equal(off.score(case).total, plain.score(case).total)


def test_a_disease_missing_its_twins_findings_rises_with_them(engine: RankingEngine, plain: RankingEngine) -> None:
    """Findings only the one-gene Orphanet twin is annotated with lift the OMIM disease, and say so."""
    index, twins = engine.index, engine.twins
    assert twins is not None
    one_gene = np.diff(twins.index.disease_genes.indptr) == 1
    links = twins.links.tocoo()
    for row, col in zip(links.row.tolist(), links.col.tolist()):
        if not one_gene[col]:
            continue
        own_terms = set(index.freq[row].indices.tolist())
        only_twin = [t for t in twins.index.direct[col].indices.tolist() if t not in own_terms and index.ic[t] > 3]
        if len(only_twin) >= 4:
            break
    else:
        pytest.fail("no OMIM disease whose one-gene twin has findings of its own")
    case = CaseVector(tuple(only_twin[:4]))
    with_twins, without = engine.score(case), plain.score(case)
    rank = lambda total: int((total > total[row]).sum())
    assert rank(with_twins.total) < rank(without.total)
    match = engine.twin_of(with_twins, row)
    assert match is not None and match.share > 0.5 and match.shared_genes
    assert match.disease_id.startswith("ORPHA:")


def test_the_service_shows_the_twin_with_its_own_provenance(default_snapshot: Snapshot) -> None:
    service: Retriever = build_service(Settings(snapshot=str(default_snapshot.path)))
    assert service.engine.twins is not None
    result = service.diagnose(CaseRequest(hpo_present=["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545"]), top=10)
    twinned = [c for c in result.candidates if c.evidence and c.evidence.twin]
    assert twinned
    twin = twinned[0].evidence.twin
    assert twin.disease_id.startswith("ORPHA:") and twin.shared_genes and 0 <= twin.share <= 1
    assert twin.matched and all(m.provenance and m.provenance.source for m in twin.matched)
    assert any(r.startswith("ORPHA:") for m in twin.matched for r in m.provenance.references)
    off = build_service(Settings(snapshot=str(default_snapshot.path), rank_twin_databases=[]))
    assert off.engine.twins is None
    assert all(c.evidence is None or c.evidence.twin is None
               for c in off.diagnose(CaseRequest(hpo_present=["HP:0001166"]), top=5).candidates)


def test_twins_setting_reads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAREGRAPH_RANK_TWIN_DATABASES", "[]")
    assert Settings().rank_twin_databases == []


def test_one_stacked_scorer_scores_each_block_as_if_alone(index: RankingIndex, twins: GeneTwins, engine: RankingEngine) -> None:
    """The engine keeps one scorer over universe + twins; each block's chance level is its own."""
    from raregraph.retrieval.scoring import PhenotypeScorer

    n = len(index.disease_ids)
    alone = PhenotypeScorer(index, ScoringParams()), PhenotypeScorer(twins.index, ScoringParams())
    assert engine.phenotype.blocks == (n, len(twins.index.disease_ids))
    assert np.allclose(engine.background, alone[0].background, atol=1e-6)
    assert np.allclose(engine.phenotype.background[n:], alone[1].background, atol=1e-6)
    case = CaseVector(tuple(int(t) for t in _terms(index)[[7, 700, 7000]]), excluded=(int(_terms(index)[70]),))
    stacked = engine.phenotype.scores(case)
    assert np.allclose(stacked[:n], alone[0].scores(case), atol=1e-5)
    assert np.allclose(stacked[n:], alone[1].scores(case), atol=1e-5)
    with pytest.raises(ValueError, match="do not add up"):
        PhenotypeScorer(index, ScoringParams(), blocks=(n - 1,))


def test_a_twin_linked_to_several_diseases_is_shared_among_them(default_snapshot: Snapshot, index: RankingIndex,
                                                                 twins: GeneTwins) -> None:
    """twin_fanout f: a twin linked to k universe diseases (allelic disorders of its gene) has prior k ** -f for each."""
    same = [(d,) for d in index.disease_ids]
    off = replace(ScoringParams(), twin_resemblance=0.0, twin_fanout=0.0)
    plain = GeneTwins.load(default_snapshot, index, off, databases=("ORPHA",), same_disease=same)
    split = GeneTwins.load(default_snapshot, index, replace(off, twin_fanout=1.0), databases=("ORPHA",), same_disease=same)
    assert plain is not None and split is not None
    fan = np.bincount(plain.links.indices, minlength=len(plain.index.disease_ids))
    assert fan.max() > 1
    assert np.array_equal(split.links.indices, plain.links.indices)
    assert np.allclose(split.links.data, plain.links.data - np.log(fan[plain.links.indices]), atol=1e-5)
    # the default: resemblance and fan-out both at 0.5 without variants, neither with
    default = ScoringParams()
    expected = plain.links.data - default.twin_fanout * np.log(fan[plain.links.indices])
    rows = np.repeat(np.arange(plain.links.shape[0]), np.diff(plain.links.indptr))
    expected += default.twin_resemblance * np.log(np.maximum(resemblance(index, plain.index, rows, plain.links.indices), 1e-6))
    assert np.allclose(twins.links.data, expected, atol=1e-4)
    assert np.allclose(twins.links_variants.data, plain.links.data, atol=1e-6)


def test_a_description_resembles_itself_fully(index: RankingIndex) -> None:
    rows = np.array([r for r in range(0, len(index.disease_ids), 97) if index.direct[r].nnz])
    assert np.allclose(resemblance(index, index, rows, rows), 1.0)
    other = (rows + 1) % len(index.disease_ids)
    assert (resemblance(index, index, rows, other) < 1.0 - 1e-6).mean() > 0.9
