"""Re-grounding: tiers of resolution on the real default graph, the fusion rule, recorded answers."""

from __future__ import annotations

import pytest

from raregraph.models import DiagnosisResponse
from raregraph.retrieval.retriever import Retriever
from raregraph.llm.models import LlmAnswer, UngroundedName
from raregraph.llm.output import parse_answer
from raregraph.llm.fusion import FusionPolicy, fuse
from raregraph.llm.regrounding import DiseaseResolver, Resolution, ground_answer, name_similarity, scrub_ids
from tests.llm.conftest import recorded, recorded_message
from tests.llm.test_output import RECORDED_OK


@pytest.fixture(scope="module")
def resolver(llm_service: Retriever, marfan_response: DiagnosisResponse) -> DiseaseResolver:
    return DiseaseResolver(llm_service.graph, marfan_response.candidates, universe=llm_service.engine.index.disease_ids)


@pytest.mark.parametrize(("text", "given_id", "expected", "tier"), [
    ("Marfan syndrome", None, "OMIM:154700", "exact_name"),  # a candidate's name
    (None, "OMIM:154700", "OMIM:154700", "candidate_id"),
    ("OMIM:154700 (Marfan)", None, "OMIM:154700", "candidate_id"),  # id inside the text
    ("Marfan syndrome", "OMIM:999999", "OMIM:154700", "exact_name"),  # invented id, real name: grounded by name
    ("orphanet: 558", None, "ORPHA:558", "graph_id"),  # in the graph, not a candidate
    ("Loeys-Dietz syndrome", None, "ORPHA:60030", "exact_name"),  # graph name, not a candidate
    ("Marfan's syndrom", None, "OMIM:154700", "fuzzy_name"),
    ("Loeys Dietz syndrome type 1", None, "OMIM:609192", "fuzzy_name"),
    ("Weill-Marchesani syndrome 2", None, "OMIM:608328", "fuzzy_name"),  # shorthand of exactly one candidate
    ("Stiff skin", None, "OMIM:184900", "fuzzy_name"),
])
def test_a_named_disease_resolves_to_a_graph_id(resolver: DiseaseResolver, text: str | None, given_id: str | None,
                                                 expected: str, tier: str) -> None:
    result = resolver.resolve(text, given_id)
    assert isinstance(result, Resolution), result
    assert (result.disease_id, result.resolved_by) == (expected, tier)


@pytest.mark.parametrize(("text", "given_id"), [
    ("OMIM:999999", None),  # an invented id alone
    ("Fake disease", "OMIM:999999"),
    ("Beals syndrome", None),  # a real eponym the graph does not list: nearest 'Basan syndrome' is below threshold
    ("Ehlers-Danlos syndrome type 2", None),  # numbers differ from every name seen
    ("syndrome", None),  # nothing distinctive
    ("Arachnodactyly", None),  # a finding, half of "Contractural arachnodactyly, congenital"
    ("Marfanoid habitus", None),  # a finding, half of "Marfanoid habitus with situs inversus"
    ("", ""),
])
def test_an_unresolvable_name_is_reported_not_guessed(resolver: DiseaseResolver, text: str, given_id: str | None) -> None:
    result = resolver.resolve(text, given_id)
    assert isinstance(result, UngroundedName), result


def test_numbers_must_agree_for_a_fuzzy_match() -> None:
    assert name_similarity("Loeys-Dietz syndrome type 1", "Loeys-Dietz syndrome 1") > 0.88
    assert name_similarity("Ehlers-Danlos syndrome, type I", "Ehlers-Danlos syndrome, type II") == 0.0
    assert name_similarity("Stickler syndrome 1", "Stickler syndrome") == 0.0


def test_ungated_fusion_is_weighted_reciprocal_rank(resolver: DiseaseResolver, marfan_response: DiagnosisResponse) -> None:
    candidates = marfan_response.candidates
    answer = LlmAnswer.model_validate({"diagnoses": [
        {"id": candidates[3].disease_id, "name": candidates[3].name, "confidence": 0.9},
        {"id": "", "name": "Loeys-Dietz syndrome"},
        {"id": "OMIM:999999", "name": "Invented syndrome"},
    ]})
    grounded = ground_answer(answer, resolver)
    assert [r.disease_id for r, _ in grounded.ordered] == [candidates[3].disease_id, "ORPHA:60030"]
    assert [u.text for u in grounded.ungrounded] == ["OMIM:999999 Invented syndrome"]
    ranking = fuse(candidates, grounded, FusionPolicy(weight=0.5, margin=0.0, k=60))
    by_id = {r.disease_id: r for r in ranking}
    fourth = by_id[candidates[3].disease_id]
    assert fourth.fused_score == round(0.5 / 61 + 0.5 / 64, 6) and fourth.rank == 1 and fourth.confidence == 0.9
    added = by_id["ORPHA:60030"]
    assert (added.retrieval_rank, added.llm_rank, added.fused_score) == (None, 2, round(0.5 / 62, 6))
    assert [r.rank for r in ranking] == list(range(1, len(candidates) + 2))
    assert "OMIM:999999" not in {r.disease_id for r in ranking}
    # weight 0: retrieval order untouched; the model's additions come last
    plain = fuse(candidates, grounded, FusionPolicy(weight=0.0, margin=0.0, k=60))
    assert [r.disease_id for r in plain][: len(candidates)] == [c.disease_id for c in candidates]


def test_scrub_ids_keeps_graph_ids_and_masks_invented_ones(llm_service: Retriever) -> None:
    texts = ["OMIM:154700 fits; OMIM:999999 does not", "HP:0001166 yes, HP:9999999 no", "no ids at all"]
    assert scrub_ids(texts, llm_service.graph) == [
        "OMIM:154700 fits; [unverified id] does not", "HP:0001166 yes, [unverified id] no", "no ids at all",
    ]


@pytest.mark.parametrize("name", RECORDED_OK)
def test_recorded_answers_ground_to_graph_ids_only(name: str, llm_service: Retriever) -> None:
    fixture = recorded(name)
    response = DiagnosisResponse.model_validate(fixture["retrieval"])
    parsed = parse_answer(*recorded_message(name))
    resolver = DiseaseResolver(llm_service.graph, response.candidates, universe=llm_service.engine.index.disease_ids)
    grounded = ground_answer(parsed.answer, resolver)
    ids = [r.disease_id for r, _ in grounded.ordered]
    assert set(ids) <= set(llm_service.graph.diseases(ids))
    assert grounded.named == len(grounded.ordered) + len(grounded.ungrounded) or grounded.named >= len(grounded.ordered)
    assert fixture["expected"]["grounded"] == ids  # type: ignore[index]
    assert fixture["expected"]["ungrounded"] == [u.text for u in grounded.ungrounded]  # type: ignore[index]
