"""The LLM option of the HTTP API (issues 6 and 7): POST /v1/diagnose?llm=, the batch, the SSE stream.

The endpoint is the scripted OpenAI-compatible server of tests/llm/fakes.py replaying answers the
real llama.cpp server gave (tests/llm/fixtures), a port nobody listens on, or, in the integration
test at the end, the real llama.cpp server with SmolLM2-135M. Whatever happens on the LLM side the
answer is HTTP 200 with the retrieval differential, `llm` says what happened, and every disease id
in the JSON is a graph id.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from raregraph.api.http.app import create_app
from raregraph.api import pipeline as pipeline_module
from raregraph.api.pipeline import DiagnoseResult
from raregraph.retrieval.retriever import Retriever
from raregraph.etl.snapshot import Snapshot
from raregraph.llm.client import LlmClient
from raregraph.llm.models import LlmDiagnosis
from tests.api.test_http import PROBLEM, api_settings, service_for
from tests.api.live import live_server
from tests.llm.conftest import MARFAN, recorded_message
from tests.llm import test_llm_server as real_server
from tests.llm.fakes import Script, refused_port, scripted_server

CASE = MARFAN.model_dump(mode="json", exclude_none=True)  # the case the fixtures were recorded on
_DISEASE_ID = re.compile(r"\b(?:OMIM|ORPHA|DECIPHER|MONDO):\d+\b")


@pytest.fixture(scope="module")
def service(default_snapshot: Snapshot) -> Retriever:
    return service_for(default_snapshot.path)


@contextmanager
def api(snapshot: Snapshot, service: Retriever, **overrides: Any) -> Iterator[TestClient]:
    """A test client (lifespan run, so the app holds its one LLM client) on settings with `overrides`."""
    with TestClient(create_app(api_settings(snapshot, **overrides), service)) as client:
        yield client


def recorded(name: str) -> str:
    content, _, _ = recorded_message(name)
    assert content is not None
    return content


def _ids_in_graph(text: str, service: Retriever) -> None:
    """No disease id in the answer that the graph lacks (invented ids never reach the client)."""
    ids = set(_DISEASE_ID.findall(text))
    assert set(service.graph.diseases(sorted(ids))) == ids, ids - set(service.graph.diseases(sorted(ids)))


def _retrieval_order(doc: dict[str, Any]) -> bool:
    ranking, candidates = doc["ranking"], doc["candidates"]
    return [r["disease_id"] for r in ranking] == [c["disease_id"] for c in candidates][: len(ranking)] \
        and all(r["llm_rank"] is None and r["fused_score"] is None for r in ranking)


def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    DiagnoseResult.model_validate_json(response.text)
    return response.json()  # type: ignore[no-any-return]


def _events(text: str) -> list[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream body."""
    out = []
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if not lines:
            continue
        kind = next(line.removeprefix("event: ") for line in lines if line.startswith("event: "))
        out.append((kind, "\n".join(line.removeprefix("data: ") for line in lines if line.startswith("data: "))))
    return out


# --- without an endpoint ----------------------------------------------------------------------------


def test_without_endpoint_auto_is_off_and_on_is_unavailable(default_snapshot: Snapshot,
                                                            service: Retriever) -> None:
    with api(default_snapshot, service) as c:
        assert c.app.state.llm_client is None  # type: ignore[attr-defined]
        auto = _ok(c.post("/v1/diagnose", params={"top": 4}, json=CASE))
        on = _ok(c.post("/v1/diagnose", params={"top": 4, "llm": "on"}, json=CASE))
        off = _ok(c.post("/v1/diagnose", params={"top": 4, "llm": "off"}, json=CASE))
    assert (auto["llm"]["status"], auto["llm"]["requested"]) == ("off", "auto")
    assert on["llm"]["status"] == "unavailable" and "RAREGRAPH_LLM_BASE_URL" in on["llm"]["detail"]
    assert off["llm"]["status"] == "off" and off["llm"]["detail"] == "not requested"
    for doc in (auto, on, off):
        assert len(doc["candidates"]) == 4 and _retrieval_order(doc) and len(doc["ranking"]) == 4
        assert doc["retrieval_ms"] is not None and doc["llm"]["llm_ms"] is None


def test_llm_off_never_touches_the_endpoint(default_snapshot: Snapshot, service: Retriever,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def no_llm(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("llm=off ran the LLM step")

    monkeypatch.setattr(pipeline_module, "llm_step", no_llm)
    monkeypatch.setattr(pipeline_module, "llm_rerank", no_llm)
    script = Script(content=recorded("marfan_json_object"))
    with scripted_server(script) as url, api(default_snapshot, service, llm_base_url=url) as c:
        doc = _ok(c.post("/v1/diagnose", params={"llm": "off", "top": 3}, json=CASE))
        batch = c.post("/v1/diagnose/batch", params={"llm": "off", "top": 3}, json={"cases": [CASE]}).json()
        stream = c.post("/v1/diagnose/stream", params={"llm": "off", "top": 3}, json=CASE)
    assert script.requests == []
    assert doc["llm"]["status"] == "off" and _retrieval_order(doc)
    assert batch["results"][0]["result"]["llm"]["status"] == "off"
    assert [k for k, _ in _events(stream.text)] == ["retrieval", "result"]


# --- through the scripted server --------------------------------------------------------------------


def test_a_recorded_answer_is_grounded_and_merged(default_snapshot: Snapshot, service: Retriever) -> None:
    script = Script(content=recorded("marfan_json_object"))
    with scripted_server(script) as url, api(default_snapshot, service, llm_base_url=url) as c:
        assert isinstance(c.app.state.llm_client, LlmClient)  # type: ignore[attr-defined]
        r = c.post("/v1/diagnose", params={"top": 5}, json=CASE)
        retrieval = _ok(c.post("/v1/diagnose", params={"top": 5, "llm": "off"}, json=CASE))
    doc = _ok(r)
    llm = doc["llm"]
    assert llm["status"] == "ok" and llm["requested"] == "auto" and llm["model"] == "fake-model"
    assert doc["candidates"] == retrieval["candidates"]  # the retrieval differential is unchanged
    assert len(doc["ranking"]) == 5 and not _retrieval_order(doc)
    assert llm["fusion"] and llm["contribution"]["grounded"] >= 1 and llm["tiers"] is not None
    assert any(r["llm_rank"] is not None for r in doc["ranking"]) and llm["llm_ms"] is not None
    assert len(script.requests) == 1 and "OMIM:154700" in script.requests[0]["messages"][1]["content"]
    _ids_in_graph(r.text, service)


def test_one_client_per_app_closed_at_shutdown(default_snapshot: Snapshot, service: Retriever) -> None:
    with scripted_server(Script(content=recorded("marfan_json_object"))) as url:
        app = create_app(api_settings(default_snapshot, llm_base_url=url), service)
        with TestClient(app) as c:
            client = app.state.llm_client
            assert isinstance(client, LlmClient) and client.options.base_url == url
            _ok(c.post("/v1/diagnose", json=CASE))
            assert app.state.llm_client is client
        assert app.state.llm_client is None and client._http.is_closed


@pytest.mark.parametrize(("script", "status", "detail"), [
    (Script(content=recorded("marfan_prompt_only")), "invalid_output", None),  # prose, no JSON
    (Script(content=recorded("marfan_cut_off")), "invalid_output", None),  # cut off by max_tokens
    (Script(content=""), "empty", None),
    (Script(status=500), "unavailable", "HTTP 500"),
    (Script(content=recorded("marfan_json_object"), delay_s=20), "timeout", "within 1.5 s"),
], ids=["prose", "cut-off", "empty", "http-500", "slow"])
def test_llm_failures_keep_200_and_the_retrieval_ranking(default_snapshot: Snapshot, service: Retriever,
                                                         script: Script, status: str, detail: str | None) -> None:
    with scripted_server(script) as url, \
            api(default_snapshot, service, llm_base_url=url, llm_timeout_s=1.5, llm_max_retries=0) as c:
        started = time.monotonic()
        doc = _ok(c.post("/v1/diagnose", params={"top": 5, "llm": "on"}, json=CASE))
        elapsed = time.monotonic() - started
    assert doc["llm"]["status"] == status and doc["llm"]["requested"] == "on", doc["llm"]
    assert detail is None or detail in doc["llm"]["detail"]
    assert _retrieval_order(doc) and len(doc["ranking"]) == len(doc["candidates"]) == 5
    assert elapsed < 15


def test_connection_refused_is_unavailable(default_snapshot: Snapshot, service: Retriever) -> None:
    with refused_port() as port, api(default_snapshot, service, llm_base_url=f"http://127.0.0.1:{port}/v1",
                                     llm_max_retries=1, llm_retry_backoff_s=0.05) as c:
        doc = _ok(c.post("/v1/diagnose", params={"top": 3}, json=CASE))
    assert doc["llm"]["status"] == "unavailable" and "cannot reach" in doc["llm"]["detail"]
    assert _retrieval_order(doc) and len(doc["ranking"]) == 3


def test_the_request_time_limit_bounds_the_llm_step(default_snapshot: Snapshot, service: Retriever) -> None:
    script = Script(content=recorded("marfan_json_object"), delay_s=30)
    with scripted_server(script) as url, \
            api(default_snapshot, service, llm_base_url=url, llm_timeout_s=60, api_request_timeout_s=3) as c:
        started = time.monotonic()
        doc = _ok(c.post("/v1/diagnose", params={"top": 3}, json=CASE))
        elapsed = time.monotonic() - started
    assert doc["llm"]["status"] == "timeout" and "RAREGRAPH_API_REQUEST_TIMEOUT_S" in doc["llm"]["detail"]
    assert _retrieval_order(doc) and elapsed < 3.5


def test_evidence_false_still_prompts_with_evidence_and_answers_top(default_snapshot: Snapshot,
                                                                    service: Retriever) -> None:
    script = Script(content=recorded("marfan_json_object"))
    with scripted_server(script) as url, api(default_snapshot, service, llm_base_url=url, llm_top_k=6) as c:
        doc = _ok(c.post("/v1/diagnose", params={"top": 2, "evidence": "false"}, json=CASE))
    assert len(doc["candidates"]) == 2 and all(c["evidence"] is None for c in doc["candidates"])
    assert len(doc["ranking"]) <= 2 and doc["llm"]["candidates_in_prompt"] == 6
    assert "   explains " in script.requests[0]["messages"][1]["content"]  # each candidate's evidence reaches the prompt


def test_batch_runs_the_llm_step_per_case_and_keeps_case_errors(default_snapshot: Snapshot,
                                                                service: Retriever) -> None:
    script = Script(content=recorded("marfan_json_object"), delay_s=0.3)
    cases = [{**CASE, "id": "a"}, {"id": "b", "hpo_present": ["HP:9999999"]}, {**CASE, "id": "c"}]
    with scripted_server(script) as url, api(default_snapshot, service, llm_base_url=url, llm_concurrency=1) as c:
        started = time.monotonic()
        r = c.post("/v1/diagnose/batch", params={"top": 3, "evidence": "false"}, json={"cases": cases})
        elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    a, b, c_ = r.json()["results"]
    assert b["result"] is None and b["error"]["type"] == "urn:raregraph:problem:unknown-term"
    assert b["error"]["field"] == "body.cases.1.hpo_present.0"
    for item in (a, c_):
        assert item["result"]["llm"]["status"] == "ok" and len(item["result"]["ranking"]) == 3
        assert all(cand["evidence"] is None for cand in item["result"]["candidates"])
    assert len(script.requests) == 2 and elapsed >= 0.6  # one request in flight at a time (RAREGRAPH_LLM_CONCURRENCY)
    _ids_in_graph(r.text, service)


# --- POST /v1/diagnose/stream -------------------------------------------------------------------------


def test_stream_sends_retrieval_reasoning_then_the_answer(default_snapshot: Snapshot,
                                                          service: Retriever) -> None:
    with scripted_server(Script(content=recorded("marfan_streamed"))) as url, \
            api(default_snapshot, service, llm_base_url=url) as c:
        r = c.post("/v1/diagnose/stream", params={"top": 4}, json=CASE)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache"
    events = _events(r.text)
    kinds = [k for k, _ in events]
    assert kinds[0] == "retrieval" and kinds[-1] == "result" and set(kinds[1:-1]) == {"reasoning"}
    retrieval = json.loads(events[0][1])
    final = DiagnoseResult.model_validate_json(events[-1][1])
    assert [c["disease_id"] for c in retrieval["candidates"]] == [c.disease_id for c in final.candidates]
    assert final.llm.status == "ok" and len(final.ranking) == 4 and final.retrieval_ms is not None
    streamed = "".join(json.loads(d)["text"] for k, d in events if k == "reasoning")
    assert final.llm.reasoning and streamed.strip() == final.llm.reasoning
    _ids_in_graph(r.text, service)


@pytest.mark.parametrize(("mode", "status"), [("auto", "off"), ("on", "unavailable")])
def test_stream_without_endpoint_sends_retrieval_then_result(default_snapshot: Snapshot, service: Retriever,
                                                             mode: str, status: str) -> None:
    with api(default_snapshot, service) as c:
        r = c.post("/v1/diagnose/stream", params={"top": 3, "llm": mode}, json=CASE)
    assert r.status_code == 200, r.text
    events = _events(r.text)
    assert [k for k, _ in events] == ["retrieval", "result"]
    final = DiagnoseResult.model_validate_json(events[1][1])
    assert final.llm.status == status and len(final.candidates) == 3
    assert [x.disease_id for x in final.ranking] == [x.disease_id for x in final.candidates]


@pytest.mark.parametrize("endpoint", [False, True])
def test_stream_case_errors_are_problems_before_the_stream(default_snapshot: Snapshot, service: Retriever,
                                                           endpoint: bool) -> None:
    script = Script(content=recorded("marfan_json_object"))
    with scripted_server(script) as url, \
            api(default_snapshot, service, **({"llm_base_url": url} if endpoint else {})) as c:
        unknown = c.post("/v1/diagnose/stream", json={"hpo_present": ["HP:9999999"]})
        empty = c.post("/v1/diagnose/stream", json={})
        too_many = c.post("/v1/diagnose/stream", params={"top": 500}, json=CASE)
    for r, kind in ((unknown, "unknown-term"), (empty, "invalid-case"), (too_many, "invalid-input")):
        assert r.status_code == 422 and r.headers["content-type"] == PROBLEM, r.text
        assert r.json()["type"] == f"urn:raregraph:problem:{kind}"
    assert unknown.json()["field"] == "body.hpo_present.0"
    assert script.requests == []


def test_openapi_documents_the_llm_fields_and_the_stream(default_snapshot: Snapshot,
                                                         service: Retriever) -> None:
    with api(default_snapshot, service) as c:
        doc = c.get("/openapi.json").json()
    result = doc["components"]["schemas"]["DiagnoseResult"]
    assert {"llm", "ranking", "candidates"} <= set(result["required"])
    status = doc["components"]["schemas"]["LlmUse"]["properties"]["status"]["enum"]
    assert set(status) == {"off", "unavailable", "timeout", "invalid_output", "empty", "all_ungrounded", "ok"}
    stream = doc["paths"]["/v1/diagnose/stream"]["post"]["responses"]
    assert list(stream["200"]["content"]) == ["text/event-stream"]
    assert stream["200"]["content"]["text/event-stream"]["itemSchema"]["properties"]["event"]["enum"] == [
        "retrieval", "reasoning", "result"]
    assert list(stream["422"]["content"]) == [PROBLEM]


def test_live_server_streams_events_as_they_happen(default_snapshot: Snapshot, free_port: Callable[[], int],
                                                   tmp_path: Path) -> None:
    """`raregraph serve` (uvicorn, lifespan, middleware): the retrieval event arrives before the model answers."""
    script = Script(content=recorded("marfan_streamed"), delay_s=2.0)
    with scripted_server(script) as url:
        env = {**os.environ, "RAREGRAPH_SNAPSHOT": str(default_snapshot.path), "RAREGRAPH_EMBEDDING_ENABLED": "false",
               "RAREGRAPH_LLM_BASE_URL": url}
        with live_server(env, free_port(), tmp_path / "server.log") as base:
            arrived: list[tuple[str, float]] = []
            started = time.monotonic()
            with httpx.stream("POST", f"{base}/v1/diagnose/stream", params={"top": 3}, json=CASE, timeout=60) as r:
                assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        arrived.append((line.removeprefix("event: "), time.monotonic() - started))
            answer = httpx.post(f"{base}/v1/diagnose", params={"top": 3}, json=CASE, timeout=60)
    assert arrived[0][0] == "retrieval" and arrived[-1][0] == "result"
    assert arrived[-1][1] - arrived[0][1] >= 1.5  # not buffered until the end
    assert answer.status_code == 200 and answer.json()["llm"]["status"] == "ok"
    assert len(script.requests) == 2


# --- the real llama.cpp server ------------------------------------------------------------------------

llama = real_server.llama  # the llama.cpp server fixture (module scope: started once for this module, when needed)


@pytest.mark.integration
def test_http_diagnosis_through_the_real_llm_server_is_grounded(llama: Any, default_snapshot: Snapshot,
                                                                service: Retriever) -> None:
    llm = {f"llm_{k}": v for k, v in real_server.SHORT.items()}
    with api(default_snapshot, service, llm_base_url=llama.base_url, api_request_timeout_s=240, **llm) as c:
        r = c.post("/v1/diagnose", params={"top": 5, "llm": "on"}, json=CASE)
        stream = c.post("/v1/diagnose/stream", params={"top": 5, "llm": "on"}, json=CASE)
    doc = _ok(r)
    assert doc["llm"]["model"] == llama.model and doc["llm"]["completion_tokens"] <= real_server.SHORT["max_tokens"]
    result = LlmDiagnosis.model_validate({
        "retrieval": {k: v for k, v in doc.items() if k not in ("llm", "ranking", "retrieval_ms")},
        "llm": doc["llm"], "ranking": doc["ranking"],
    })
    real_server.assert_grounded(result, service.graph)
    _ids_in_graph(r.text, service)
    events = _events(stream.text)
    assert stream.status_code == 200 and events[0][0] == "retrieval" and events[-1][0] == "result"
    final = DiagnoseResult.model_validate_json(events[-1][1])
    assert final.llm.status in {"ok", "invalid_output", "empty", "all_ungrounded"}, final.llm.detail
    _ids_in_graph(stream.text, service)
