"""The ranking engine on the real default snapshot: ranking, evidence, genotype, probabilities, groups."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raregraph.models import CaseRequest, VariantIn
from raregraph.retrieval.case import TermPolicy
from raregraph.retrieval.retriever import Retriever
from raregraph.settings import Settings
from raregraph.errors import InvalidCaseError
from raregraph.etl.snapshot import Snapshot
from raregraph.kg.embedded import EmbeddedGraph
from raregraph.retrieval.engine import EquivalenceGroups, RankingEngine
from raregraph.retrieval.index import RankingIndex
from raregraph.retrieval.scoring import CaseVector, ScoringParams
from tests.conftest import copy_snapshot

MARFAN = ["HP:0001166", "HP:0001083", "HP:0002616", "HP:0000545"]  # arachnodactyly, ectopia lentis, aortic root aneurysm, myopia


@pytest.fixture(scope="module")
def index(default_snapshot: Snapshot) -> RankingIndex:
    return RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))


@pytest.fixture(scope="module")
def service(default_graph: EmbeddedGraph, index: RankingIndex) -> Retriever:
    return Retriever(default_graph, RankingEngine(index, ScoringParams()))


def test_index_cache_is_reused(default_snapshot: Snapshot, index: RankingIndex) -> None:
    again = RankingIndex.load(default_snapshot, unknown_frequency=0.5, databases=("OMIM", "DECIPHER"))
    assert again.disease_ids == index.disease_ids
    assert (again.freq != index.freq).nnz == 0
    cached = list(default_snapshot.cache_dir("ranking").iterdir())
    assert any((folder / "meta.json").is_file() for folder in cached)
    assert all(d.split(":")[0] in ("OMIM", "DECIPHER") for d in index.disease_ids)


def test_index_cache_writes_leave_no_staging_behind(mini_snapshot: Snapshot, tmp_path: Path) -> None:
    """Issue #19: a killed run's half-written cache folder is removed by the next write; a process that finds
    the cache already written (N server workers building at once) removes its own copy."""
    snapshot = copy_snapshot(mini_snapshot, tmp_path, f"{mini_snapshot.id}-cache")
    cache = snapshot.cache_dir("ranking")
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    killed = cache / f".tmp-v0-{done.pid}"  # the pid of a process that is gone
    killed.mkdir()
    (killed / "freq.npz").write_bytes(b"")
    index = RankingIndex.load(snapshot, unknown_frequency=0.5, databases=("OMIM",))
    (folder,) = cache.iterdir()
    index._write(folder)  # as a second process would, once the first has renamed its copy into place
    assert list(cache.iterdir()) == [folder] and (folder / "meta.json").is_file()


def test_marfan_phenotype_ranks_marfan_with_grounded_evidence(service: Retriever) -> None:
    result = service.diagnose(CaseRequest(hpo_present=MARFAN, hpo_excluded=["HP:0001250"]), top=10)
    ids = [c.disease_id for c in result.candidates]
    assert "OMIM:154700" in ids[:3]
    marfan = result.candidates[ids.index("OMIM:154700")]
    assert marfan.name == "Marfan syndrome"
    evidence = marfan.evidence
    assert evidence is not None
    arachno = next(m for m in evidence.matched if m.case_term == "HP:0001166")
    assert (arachno.relation, arachno.disease_term, arachno.frequency_raw) == ("exact", "HP:0001166", "124/197")
    assert arachno.case_label == "Arachnodactyly"
    assert arachno.provenance is not None
    assert (arachno.provenance.source, arachno.provenance.release) == ("hpo:phenotype.hpoa", "2025-01-16")
    assert "PMID:28050285" in arachno.provenance.references
    scores = [c.score for c in result.candidates]
    probabilities = [c.probability for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1 + 1e-6


def test_variant_in_disease_gene_lifts_that_disease(service: Retriever) -> None:
    phenotype_only = service.diagnose(CaseRequest(hpo_present=["HP:0001166"]), top=5)
    assert "OMIM:154700" not in [c.disease_id for c in phenotype_only.candidates[:1]]
    with_variant = service.diagnose(
        CaseRequest(hpo_present=["HP:0001166"], variants=[VariantIn(gene="FBN1", zygosity="heterozygous")]), top=5
    )
    fbn1_diseases = {d.id for d in service.graph.diseases_of_genes(["FBN1"])["FBN1"]}
    assert "OMIM:154700" in fbn1_diseases
    for candidate in with_variant.candidates[:3]:  # FBN1's diseases now lead, each citing the gene
        assert candidate.disease_id in fbn1_diseases
        assert candidate.evidence is not None and [g.symbol for g in candidate.evidence.genes] == ["FBN1"]
    assert with_variant.case.variants[0].resolved and with_variant.case.variants[0].symbol == "FBN1"


def test_unknown_gene_is_reported_not_scored(service: Retriever) -> None:
    result = service.diagnose(CaseRequest(hpo_present=["HP:0001166"], variants=[VariantIn(gene="NOTAGENE1")]), top=3)
    assert result.case.variants[0].resolved is False
    assert any("NOTAGENE1" in w for w in result.warnings)


def test_variants_alone_can_be_ranked(service: Retriever) -> None:
    result = service.diagnose(CaseRequest(variants=[VariantIn(gene="FBN1")]), top=3)
    assert all(c.evidence is not None and c.evidence.genes for c in result.candidates)


def test_excluded_feature_of_a_disease_is_a_contradiction(service: Retriever) -> None:
    result = service.diagnose(CaseRequest(hpo_present=MARFAN, hpo_excluded=["HP:0001519"]), top=10)
    marfan = next(c for c in result.candidates if c.disease_id == "OMIM:154700")
    assert marfan.evidence is not None
    assert "HP:0001519" in [c.case_term for c in marfan.evidence.contradicted if c.kind == "excluded_but_annotated"]


def test_empty_and_contradictory_cases(service: Retriever) -> None:
    with pytest.raises(InvalidCaseError, match="nothing to rank on"):
        service.diagnose(CaseRequest())
    result = service.diagnose(CaseRequest(hpo_present=["HP:0001166"], hpo_excluded=["HP:0001166"]), top=3)
    assert [t.id for t in result.case.present] == ["HP:0001166"] and result.case.excluded == []
    assert any("both present and excluded" in w for w in result.warnings)


def test_obsolete_ids_replaced_with_warning_when_asked(service: Retriever) -> None:
    result = service.diagnose(CaseRequest(hpo_present=["HP:0000057"]), policy=TermPolicy(obsolete="replace"), top=1)
    assert result.case.present[0].id == "HP:0008665" and result.case.present[0].given_as == "HP:0000057"
    assert any("obsolete" in w for w in result.warnings)


def test_rank_line_is_deterministic(service: Retriever) -> None:
    request = CaseRequest(id="c1", hpo_present=["HP:0000118"])  # uninformative: many ties
    first, second = service.rank_line(request, top=20), service.rank_line(request, top=20)
    assert first == second
    assert len(first.ranking) == 20


def test_equivalence_groups_collapse_members() -> None:
    groups = EquivalenceGroups.from_pairs(["OMIM:1", "ORPHA:2", "OMIM:3"], [("ORPHA:2", "OMIM:1"), ("ORPHA:2", "MONDO:9")])
    assert groups.group_of[0] == groups.group_of[1] != groups.group_of[2]
    assert set(groups.members[0]) == {"OMIM:1", "ORPHA:2", "MONDO:9"} and groups.members[0][0] == "OMIM:1"


def test_rank_lists_a_group_once(index: RankingIndex) -> None:
    ids = index.disease_ids
    a, b = ids.index("OMIM:154700"), ids.index("OMIM:129600")
    groups = EquivalenceGroups.from_pairs(ids, [(ids[a], ids[b])])
    engine = RankingEngine(index, ScoringParams(), groups)
    case = CaseVector(tuple(index.term_position[t] for t in MARFAN))
    ranked = engine.rank(engine.score(case), top=20)
    listed = [r.disease_id for r in ranked]
    assert not ({"OMIM:154700", "OMIM:129600"} <= set(listed))
    member = next(r for r in ranked if r.disease_id in ("OMIM:154700", "OMIM:129600"))
    assert set(member.equivalent_ids) == {"OMIM:154700", "OMIM:129600"} - {member.disease_id}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_directly_annotated_term_scores_at_least_its_own_match(index: RankingIndex, data: st.DataObject) -> None:
    engine = RankingEngine(index, ScoringParams())
    direct = index.direct.tocoo()
    k = data.draw(st.integers(min_value=0, max_value=direct.nnz - 1))
    d, q, f = int(direct.row[k]), int(direct.col[k]), float(direct.data[k])
    params = engine.params
    floor = params.ic_weight * index.ic[q] + np.log(max(f, params.frequency_floor))
    score = engine.phenotype.term_scores(q)[d]
    negated_below = index.negated[d].indices
    contradicted = any(a in negated_below for a in index.closure[q].indices)
    assert score >= floor - params.negated_penalty * contradicted - 1e-3


def test_default_settings_build_the_service(default_snapshot: Snapshot) -> None:
    from raregraph.api.service import build_service

    service = build_service(Settings(snapshot=str(default_snapshot.path)))
    assert service.snapshot_id == default_snapshot.id
