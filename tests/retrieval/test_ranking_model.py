"""The combined ranking model on the real default snapshot: chance-level background and genotype evidence."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from raregraph.etl.snapshot import Snapshot
from raregraph.retrieval.engine import RankingEngine
from raregraph.retrieval.index import INHERITANCE_MODES, RankingIndex
from raregraph.retrieval.scoring import CaseVector, ScoringParams, VariantHit


@pytest.fixture(scope="module")
def engine(default_snapshot: Snapshot) -> RankingEngine:
    index = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))
    return RankingEngine(index, ScoringParams())


def _annotated_terms(engine: RankingEngine) -> np.ndarray:
    return np.unique(engine.index.direct.indices)


def test_background_is_deterministic_and_grows_with_disease_size(engine: RankingEngine) -> None:
    background = engine.background
    assert background.shape == (len(engine.index.disease_ids),) and np.isfinite(background).all()
    again = RankingEngine(engine.index, engine.params).background
    assert np.array_equal(background, again)
    # a disease with many annotations explains a random term better, on average, than a small one
    size = np.diff(engine.index.direct.indptr)
    big, small = background[size >= np.quantile(size, 0.9)], background[size <= np.quantile(size, 0.1)]
    assert big.mean() > small.mean()


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_present_term_adds_its_evidence_above_chance(engine: RankingEngine, data: st.DataObject) -> None:
    """Adding present term q changes every disease's total by scale x (its score for q - w x background)."""
    terms = _annotated_terms(engine)
    picked = data.draw(st.lists(st.integers(0, len(terms) - 1), min_size=2, max_size=6, unique=True))
    base, q = tuple(int(terms[i]) for i in picked[:-1]), int(terms[picked[-1]])
    params = engine.params
    before = engine.score(CaseVector(base)).total.astype(np.float64)
    after = engine.score(CaseVector((*base, q))).total.astype(np.float64)
    expected = params.phenotype_scale * (
        engine.phenotype.term_scores(q).astype(np.float64) - params.background_weight * engine.background
    )
    assert np.allclose(after - before, expected, atol=1e-3)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_an_excluded_term_never_lowers_a_disease(engine: RankingEngine, data: st.DataObject) -> None:
    terms = _annotated_terms(engine)
    present = tuple(int(terms[i]) for i in data.draw(st.lists(st.integers(0, len(terms) - 1), min_size=1, max_size=5, unique=True)))
    excluded = int(terms[data.draw(st.integers(0, len(terms) - 1))])
    if excluded in present:
        return
    before = engine.score(CaseVector(present)).total
    after = engine.score(CaseVector(present, (excluded,))).total
    assert (after >= before - 1e-4).all()


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_a_consistent_variant_lifts_exactly_its_genes_diseases(engine: RankingEngine, data: st.DataObject) -> None:
    """With the phenotype fixed, a variant whose zygosity fits adds the same genotype evidence to
    every disease of its gene, a share of it to diseases linked to no gene (their gene may be the
    variant's: issue 14) and nothing to the diseases of other genes, so its gene's diseases rise past the rest."""
    index = engine.index
    gene_diseases = index.disease_genes.T.tocsr()
    genes = np.flatnonzero(np.diff(gene_diseases.indptr) > 0)
    gene = int(genes[data.draw(st.integers(0, len(genes) - 1))])
    rows = gene_diseases.indices[gene_diseases.indptr[gene]:gene_diseases.indptr[gene + 1]]
    genotype = engine.genotype.scores([VariantHit(gene, "homozygous"), VariantHit(gene, "heterozygous")])
    unit = engine.params.gene_scale * math.log(len(index.gene_ids)) + engine.params.gene_bonus
    assert np.allclose(genotype[rows], unit)  # two variants: fits recessive and dominant diseases alike
    geneless = np.diff(index.disease_genes.tocsr().indptr) == 0
    assert np.allclose(genotype[geneless], engine.params.gene_unknown_share * unit)
    others = ~geneless
    others[rows] = False
    assert (genotype[others] == 0).all()
    assert genotype[rows].min() > genotype[geneless].max()


def test_zygosity_against_inheritance_costs_the_mismatch(engine: RankingEngine) -> None:
    index = engine.index
    modes = list(INHERITANCE_MODES)
    others = [modes.index(m) for m in modes if m != "AR"]
    ar_only = index.inheritance[:, modes.index("AR")] & ~index.inheritance[:, others].any(axis=1)
    disease = int(np.flatnonzero(ar_only & (np.diff(index.disease_genes.indptr) == 1))[0])
    gene = int(index.disease_genes[disease].indices[0])
    het = engine.genotype.scores([VariantHit(gene, "heterozygous")])[disease]
    hom = engine.genotype.scores([VariantHit(gene, "homozygous")])[disease]
    assert hom - het == pytest.approx(engine.params.zygosity_mismatch, abs=1e-4)


def test_variants_make_the_phenotype_relative_to_chance_sharper(engine: RankingEngine) -> None:
    index = engine.index
    case = CaseVector(tuple(index.term_position[t] for t in ("HP:0001166", "HP:0001083")))
    gene = engine.gene_lookup["FBN1"]
    plain, with_variant = engine.score(case), engine.score(case, [VariantHit(gene, "heterozygous")])
    params = engine.params
    assert np.allclose(plain.background, params.background_weight * 2 * engine.background)
    assert np.allclose(with_variant.background, params.background_weight_variants * 2 * engine.background)
    assert np.allclose(with_variant.total, params.phenotype_scale * (with_variant.phenotype - with_variant.background) + with_variant.genotype, atol=1e-4)


def test_probability_is_a_tempered_softmax_that_keeps_the_ranking(engine: RankingEngine) -> None:
    """Without variants the temperature is `probability_temperature` x (n / 8) ** temperature_terms; with variants
    their own; order never changes."""
    terms = _annotated_terms(engine)
    case = CaseVector(tuple(int(t) for t in terms[[10, 200, 3000]]))
    params = engine.params
    for hits, temperature in (((), params.probability_temperature * (3 / 8) ** params.temperature_terms),
                              ((VariantHit(0, None),), params.probability_temperature_variants * (3 / 8) ** params.temperature_terms_variants)):
        scored = engine.score(case, hits)
        assert scored.temperature == pytest.approx(temperature)
        ranked = engine.rank(scored, top=5)
        plain = engine.group_probabilities(scored.total.astype(np.float64), 1.0)
        tempered = engine.group_probabilities(scored.total.astype(np.float64), temperature)
        assert math.isclose(tempered.sum(), 1.0, rel_tol=1e-9) and np.argmax(plain) == np.argmax(tempered)
        groups = engine.groups.group_of
        assert [r.probability for r in ranked] == [float(tempered[groups[r.row]]) for r in ranked]
        assert [r.probability for r in ranked] == sorted((r.probability for r in ranked), reverse=True)
        if temperature < 1:  # sharper: the leader gains
            assert tempered.max() >= plain.max()


def test_the_temperature_rises_with_the_term_count(engine: RankingEngine) -> None:
    """Summed evidence grows faster than what correlated terms tell: more terms, a softer softmax (c = 0: fixed)."""
    terms = _annotated_terms(engine)
    few, many = (CaseVector(tuple(int(t) for t in terms[list(range(0, 40 * k, 40))])) for k in (2, 20))
    for hits in ((), (VariantHit(0, None),)):
        assert engine.score(few, hits).temperature < engine.score(many, hits).temperature
    fixed = RankingEngine(engine.index, replace(engine.params, temperature_terms=0.0), engine.groups)
    assert fixed.score(few).temperature == fixed.score(many).temperature == engine.params.probability_temperature
