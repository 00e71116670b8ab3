"""Failure is normal: every LLM failure returns the retrieval ranking with `llm.status` saying what happened.

The endpoint here is a scripted server on loopback (tests/llm/fakes.py) or a port nobody listens
on; answers from the real model are covered by test_llm_server.py.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from raregraph.retrieval.retriever import Retriever
from raregraph.etl.snapshot import Snapshot
from tests.llm.flow import diagnose_with_llm, diagnose_with_llm_sync, stream_llm_events
from raregraph.llm.models import LlmDiagnosis
from tests.llm.conftest import MARFAN, base_settings
from tests.llm.fakes import Script, refused_port, scripted_server

# Written for these tests in the shape the real server returns (tests/llm/fixtures hold real ones).
GOOD = json.dumps({
    "reasoning": "Ectopia lentis with aortic root aneurysm and an FBN1 variant point to Marfan syndrome.",
    "diagnoses": [{"id": "OMIM:154700", "name": "Marfan syndrome", "confidence": 0.8,
                   "explains": ["HP:0001083 Ectopia lentis"], "contradicts": []},
                  {"id": "", "name": "Loeys-Dietz syndrome", "confidence": 0.2, "explains": [], "contradicts": []}],
    "most_likely": ["OMIM:154700"], "possible_alternatives": ["Loeys-Dietz syndrome"],
    "cant_miss": ["Vascular Ehlers-Danlos syndrome"], "next_workup": ["echocardiogram", "OMIM:999999 panel"],
})
INVENTED_ONLY = json.dumps({"reasoning": "x", "diagnoses": [{"id": "OMIM:999999", "name": "Zorblax syndrome"}],
                            "most_likely": ["ORPHA:99999999"], "possible_alternatives": [], "cant_miss": [],
                            "next_workup": []})


def _retrieval_only(result: LlmDiagnosis) -> bool:
    return [r.disease_id for r in result.ranking] == [c.disease_id for c in result.retrieval.candidates][: len(result.ranking)] \
        and all(r.llm_rank is None and r.fused_score is None for r in result.ranking)


def _run(service: Retriever, snapshot: Snapshot, **llm: object) -> LlmDiagnosis:
    return diagnose_with_llm_sync(service, MARFAN, base_settings(snapshot, **llm), top=10)


def test_no_endpoint_means_off_and_no_call(llm_service: Retriever, default_snapshot: Snapshot) -> None:
    result = _run(llm_service, default_snapshot)
    assert result.llm.status == "off" and _retrieval_only(result) and len(result.ranking) == 10


def test_connection_refused_is_unavailable(llm_service: Retriever, default_snapshot: Snapshot) -> None:
    with refused_port() as port:
        started = time.monotonic()
        result = _run(llm_service, default_snapshot, base_url=f"http://127.0.0.1:{port}/v1", max_retries=1,
                      retry_backoff_s=0.05)
    assert result.llm.status == "unavailable" and "cannot reach" in (result.llm.detail or "")
    assert _retrieval_only(result) and time.monotonic() - started < 10


def test_a_slow_server_times_out_at_the_deadline(llm_service: Retriever, default_snapshot: Snapshot) -> None:
    with scripted_server(Script(content=GOOD, delay_s=20)) as url:
        started = time.monotonic()
        result = _run(llm_service, default_snapshot, base_url=url, timeout_s=1.5)
        elapsed = time.monotonic() - started
    assert result.llm.status == "timeout" and _retrieval_only(result)
    assert result.llm.llm_ms is not None and 1400 <= result.llm.llm_ms < 4000 and elapsed < 15


@pytest.mark.parametrize(("content", "status"), [
    ("The patient probably has Marfan syndrome.", "invalid_output"),  # prose, no JSON
    ('{"reasoning": "Marfan", "diagnoses": [{"id": "OMIM:154700", "na', "invalid_output"),  # cut off
    ("", "empty"),
    ('{"reasoning": "unsure", "diagnoses": [], "most_likely": []}', "empty"),
    (INVENTED_ONLY, "all_ungrounded"),
])
def test_unusable_answers_fall_back(llm_service: Retriever, default_snapshot: Snapshot, content: str,
                                    status: str) -> None:
    with scripted_server(Script(content=content)) as url:
        result = _run(llm_service, default_snapshot, base_url=url)
    assert result.llm.status == status, result.llm.detail
    assert _retrieval_only(result)
    if status == "all_ungrounded":
        assert [u.text for u in result.llm.ungrounded] == ["[unverified id] Zorblax syndrome", "[unverified id]"]
        assert "999999" not in result.model_dump_json()  # the invented ids never reach the client


def test_a_good_answer_is_grounded_and_merged(llm_service: Retriever, default_snapshot: Snapshot) -> None:
    script = Script(content=GOOD)
    with scripted_server(script) as url:
        result = _run(llm_service, default_snapshot, base_url=url)
    llm = result.llm
    assert llm.status == "ok" and llm.model == "fake-model"
    assert result.ranking[0].disease_id == "OMIM:154700" and result.ranking[0].llm_rank == 1
    assert llm.contribution.grounded >= 2 and llm.contribution.added >= 1
    assert llm.tiers is not None and [e.disease_id for e in llm.tiers.most_likely] == ["OMIM:154700"]
    assert llm.tiers.next_workup == ["echocardiogram", "[unverified id] panel"]
    assert "999999" not in result.model_dump_json()
    assert llm.reasoning and "Marfan" in llm.reasoning and llm.fusion and "w=0.5" in llm.fusion
    sent = script.requests[0]
    assert sent["response_format"]["type"] == "json_schema" and sent["max_tokens"] == 1024
    assert "OMIM:154700" in sent["messages"][1]["content"]


def test_refused_structured_output_is_retried_as_prompt_only(llm_service: Retriever,
                                                             default_snapshot: Snapshot) -> None:
    script = Script(content=GOOD, reject_structured=True)
    with scripted_server(script) as url:
        result = _run(llm_service, default_snapshot, base_url=url)
    assert result.llm.status == "ok" and "refused by the server" in (result.llm.detail or "")
    assert [r.get("response_format", {}).get("type") for r in script.requests] == [
        "json_schema", "json_object", "json_object", None]
    assert ["schema" in (r.get("response_format") or {}) for r in script.requests] == [False, True, False, False]


def test_a_server_that_dies_on_the_schema_is_asked_again_without_one(llm_service: DiagnosisService,
                                                                    default_snapshot: Snapshot) -> None:
    from raregraph.llm.client import LlmClient

    script = Script(content=GOOD, drop_schema=True)
    with scripted_server(script) as url:
        settings = base_settings(default_snapshot, base_url=url, max_retries=2, retry_backoff_s=0.05)

        async def twice() -> list[LlmDiagnosis]:
            async with LlmClient.from_settings(settings) as client:
                return [await diagnose_with_llm(llm_service, MARFAN, settings, client=client) for _ in range(2)]

        first, second = asyncio.run(twice())
    assert first.llm.status == "ok" and "dropped the connection" in (first.llm.detail or "")
    # no retry of the schema that killed it, no schema in llama-cpp-python's form either: plain JSON mode
    assert [r.get("response_format") for r in script.requests[:2]] == [
        script.requests[0]["response_format"], {"type": "json_object"}]
    assert script.requests[0]["response_format"]["type"] == "json_schema"
    # the client remembers what this server took: the next request goes straight to it
    assert second.llm.status == "ok" and script.requests[2:] == [{**script.requests[1]}] and len(script.requests) == 3


def test_reasoning_content_of_a_reasoning_parser_is_the_reasoning(llm_service: DiagnosisService,
                                                                  default_snapshot: Snapshot) -> None:
    thoughts = "Okay, lens dislocation and aortic root: Marfan or Loeys-Dietz. FBN1 settles it."
    with scripted_server(Script(content=GOOD, reasoning_content=thoughts)) as url:
        settings = base_settings(default_snapshot, base_url=url)
        result = diagnose_with_llm_sync(llm_service, MARFAN, settings, top=10)

        async def collect() -> list[tuple[str, str]]:
            return [(e.event, e.data) async for e in stream_llm_events(llm_service, MARFAN, settings)]

        events = asyncio.run(collect())
    assert result.llm.status == "ok" and result.llm.reasoning is not None
    assert result.llm.reasoning.startswith(thoughts) and result.ranking[0].disease_id == "OMIM:154700"
    streamed = "".join(json.loads(d)["text"] for k, d in events if k == "reasoning")
    assert streamed == thoughts + json.loads(GOOD)["reasoning"]
    assert LlmDiagnosis.model_validate_json(events[-1][1]).llm.reasoning == result.llm.reasoning


def test_a_json_draft_in_the_think_block_is_not_grounded(llm_service: DiagnosisService,
                                                         default_snapshot: Snapshot) -> None:
    draft = json.dumps({"diagnoses": [{"id": "OMIM:999999", "name": "Zorblax syndrome"}, {"name": "Homocystinuria"}]})
    content = f"Let me think. Draft: {draft}\nNo, FBN1.\n</think>\n\n{GOOD}"  # template-opened block
    with scripted_server(Script(content=content)) as url:
        result = _run(llm_service, default_snapshot, base_url=url)
    with scripted_server(Script(content=GOOD)) as url:
        plain = _run(llm_service, default_snapshot, base_url=url)
    llm = result.llm
    assert llm.status == "ok" and llm.reasoning is not None and llm.reasoning.startswith("Let me think.")
    assert llm.contribution == plain.llm.contribution and result.ranking == plain.ranking  # the answer's mentions only
    assert not any("Zorblax" in u.text for u in llm.ungrounded) and "999999" not in result.model_dump_json()


def test_transient_errors_are_retried_with_backoff(llm_service: Retriever, default_snapshot: Snapshot) -> None:
    script = Script(content=GOOD, fail_first=2)
    with scripted_server(script) as url:
        result = _run(llm_service, default_snapshot, base_url=url, max_retries=2, retry_backoff_s=0.05)
    assert result.llm.status == "ok" and len(script.requests) == 3
    script = Script(content=GOOD, status=500)
    with scripted_server(script) as url:
        result = _run(llm_service, default_snapshot, base_url=url, max_retries=1, retry_backoff_s=0.05)
    assert result.llm.status == "unavailable" and "HTTP 500" in (result.llm.detail or "") and len(script.requests) == 2


def test_concurrency_limit_queues_requests_within_the_deadline(llm_service: Retriever,
                                                               default_snapshot: Snapshot) -> None:
    from raregraph.llm.client import LlmClient

    script = Script(content=GOOD, delay_s=0.4)
    with scripted_server(script) as url:
        settings = base_settings(default_snapshot, base_url=url, concurrency=1, timeout_s=30)

        async def three() -> tuple[list[LlmDiagnosis], float]:
            async with LlmClient.from_settings(settings) as client:
                started = time.monotonic()
                results = await asyncio.gather(*(diagnose_with_llm(llm_service, MARFAN, settings, client=client)
                                                 for _ in range(3)))
                return list(results), time.monotonic() - started

        results, elapsed = asyncio.run(three())
    assert [r.llm.status for r in results] == ["ok"] * 3
    assert elapsed >= 1.2  # one at a time: three 0.4 s answers in sequence


def test_stream_sends_retrieval_reasoning_then_result(llm_service: Retriever, default_snapshot: Snapshot) -> None:
    with scripted_server(Script(content=GOOD)) as url:
        settings = base_settings(default_snapshot, base_url=url)

        async def collect() -> list[tuple[str, str]]:
            return [(e.event, e.data) async for e in stream_llm_events(llm_service, MARFAN, settings)]

        events = asyncio.run(collect())
    kinds = [k for k, _ in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "result" and set(kinds[1:-1]) == {"reasoning"}
    streamed = "".join(json.loads(d)["text"] for k, d in events if k == "reasoning")
    assert streamed == json.loads(GOOD)["reasoning"]
    final = LlmDiagnosis.model_validate_json(events[-1][1])
    assert final.llm.status == "ok" and final.retrieval_ms is not None


def test_streamed_reasoning_masks_invented_ids_too(llm_service: Retriever, default_snapshot: Snapshot) -> None:
    content = json.dumps({"reasoning": "OMIM:154700 fits better than OMIM:999999 or ORPHA: 99999999.",
                          "diagnoses": [{"id": "OMIM:154700", "name": "Marfan syndrome"}]})
    with scripted_server(Script(content=content)) as url:
        settings = base_settings(default_snapshot, base_url=url)

        async def collect() -> list[tuple[str, str]]:
            return [(e.event, e.data) async for e in stream_llm_events(llm_service, MARFAN, settings)]

        events = asyncio.run(collect())
    streamed = "".join(json.loads(d)["text"] for k, d in events if k == "reasoning")
    assert streamed == "OMIM:154700 fits better than [unverified id] or [unverified id]."
    assert "999999" not in "".join(d for _, d in events)
