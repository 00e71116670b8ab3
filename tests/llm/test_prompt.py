"""The prompt: built from the retrieval response only, within the token budget, with the answer schema."""

from __future__ import annotations

import asyncio
import json
import re

from raregraph.models import DiagnosisResponse
from raregraph.llm.prompt import (
    REASONING_MAX_CHARS, TEMPLATE_OVERHEAD_TOKENS, answer_schema, build_messages, estimate_tokens, fit_prompt, structured_output_options,
)


def _text(messages: list[dict[str, str]]) -> str:
    return "\n".join(m["content"] for m in messages)


def test_prompt_shows_the_case_and_candidates_with_ids_and_evidence(marfan_response: DiagnosisResponse) -> None:
    user = build_messages(marfan_response, top_k=10, detail=0)[1]["content"]
    for term in marfan_response.case.present:
        assert f"{term.id} {term.label}" in user
    assert "Excluded findings (observed absent): HP:0001250 Seizure" in user
    assert "FBN1, heterozygous" in user
    for candidate in marfan_response.candidates:
        assert f"{candidate.rank}. {candidate.disease_id} {candidate.name}" in user
    assert "hpo:phenotype.hpoa" in user  # sources at full detail
    first = marfan_response.candidates[0]
    assert first.evidence is not None and f"explains {len(first.evidence.matched)}/4" in user


def test_terser_levels_are_shorter_and_keep_every_candidate_id(marfan_response: DiagnosisResponse) -> None:
    sizes = [estimate_tokens(_text(build_messages(marfan_response, top_k=10, detail=d))) for d in range(4)]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 4
    tersest = build_messages(marfan_response, top_k=10, detail=3)[1]["content"]
    assert all(c.disease_id in tersest for c in marfan_response.candidates)
    assert "sources:" not in tersest and "explains" not in tersest


def test_fit_prompt_picks_the_most_detailed_rendering_within_budget(marfan_response: DiagnosisResponse) -> None:
    roomy = asyncio.run(fit_prompt(marfan_response, top_k=10, max_tokens=10_000))
    assert (roomy.detail, len(roomy.candidate_ids), roomy.fits, roomy.counted_by) == (0, 10, True, "estimate")
    level_two = estimate_tokens(_text(build_messages(marfan_response, top_k=10, detail=2))) + 2 * TEMPLATE_OVERHEAD_TOKENS
    tight = asyncio.run(fit_prompt(marfan_response, top_k=10, max_tokens=level_two))
    assert (tight.detail, tight.tokens, tight.fits) == (2, level_two, True)


def test_fit_prompt_drops_candidates_when_even_ids_do_not_fit(marfan_response: DiagnosisResponse) -> None:
    prompt = asyncio.run(fit_prompt(marfan_response, top_k=10, max_tokens=620))
    assert prompt.fits and prompt.detail == 3 and 1 <= len(prompt.candidate_ids) < 10
    assert prompt.candidate_ids == tuple(c.disease_id for c in marfan_response.candidates[: len(prompt.candidate_ids)])
    hopeless = asyncio.run(fit_prompt(marfan_response, top_k=10, max_tokens=10))
    assert not hopeless.fits and len(hopeless.candidate_ids) == 1  # sent anyway, and the report says so


def test_fit_prompt_uses_the_server_count_when_given(marfan_response: DiagnosisResponse) -> None:
    calls: list[str] = []

    async def count(text: str) -> tuple[int, str] | None:
        calls.append(text)
        return len(text.split()), "/tokenize"

    prompt = asyncio.run(fit_prompt(marfan_response, top_k=10, max_tokens=3000, count=count))
    assert prompt.counted_by == "/tokenize" and len(calls) == 1
    assert prompt.tokens == len(calls[0].split()) + 2 * TEMPLATE_OVERHEAD_TOKENS


def test_answer_schema_limits_ids_to_the_candidates_shown() -> None:
    schema = answer_schema(["OMIM:154700", "OMIM:121050"], max_tokens=500)
    item = schema["properties"]["diagnoses"]["items"]
    assert item["properties"]["id"]["enum"] == ["OMIM:154700", "OMIM:121050", ""]
    assert list(schema["properties"])[0] == "reasoning"  # written first by a constrained decoder
    assert schema["properties"]["reasoning"]["maxLength"] == 480 and schema["properties"]["diagnoses"]["maxItems"] == 3
    # no deep maxLength: llama.cpp expands one into a nested optional per character, and at the
    # default 1024 completion tokens (then 1638 characters of reasoning) its grammar failed to parse
    for max_tokens in (100, 1024, 100_000):
        lengths = re.findall(r'"maxLength": (\d+)', json.dumps(answer_schema(["OMIM:154700"], max_tokens=max_tokens)))
        assert lengths and max(map(int, lengths)) <= REASONING_MAX_CHARS == 480
    assert answer_schema([], max_tokens=100)["properties"]["diagnoses"]["maxItems"] == 1
    response_format, extra = structured_output_options("json_schema", schema)
    assert response_format is not None and response_format["json_schema"]["schema"] is schema and extra is None
    assert structured_output_options("guided_json", schema) == (None, {"guided_json": schema})
    assert structured_output_options("none", schema) == (None, None)
    json.dumps(schema)  # serialisable as sent
