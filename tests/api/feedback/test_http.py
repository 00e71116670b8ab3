"""POST /v1/feedback over the real app and snapshot, on both engines; diagnose answers carry a response_id (issue 18)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from raregraph.api.http.app import create_app
from raregraph.api.feedback.record import NOT_RECORDED_WARNING
from raregraph.api.feedback.store import FeedbackStore
from raregraph.retrieval.retriever import Retriever as DiagnosisService
from raregraph.etl.snapshot import Snapshot
from tests.api.live import live_server
from tests.api.test_http import MARFAN, PROBLEM, api_settings, service_for

CLINICIAN, VIEWER = {"X-API-Key": "k-clin"}, {"X-API-Key": "k-view"}


def _settings(snapshot: Snapshot, tmp_path: Path, **overrides: Any) -> Any:
    return api_settings(snapshot, snapshot_dir=tmp_path, api_keys={"clin": "k-clin", "viewer": "k-view"},
                        api_key_scopes={"clin": ["feedback"]}, **overrides)


@pytest.fixture(scope="module")
def service(default_snapshot: Snapshot) -> DiagnosisService:
    return service_for(default_snapshot.path)


@pytest.fixture
def app_and_store(default_snapshot: Snapshot, service: DiagnosisService, tmp_path: Path,
                  store_url: str) -> Iterator[tuple[TestClient, FeedbackStore]]:
    settings = _settings(default_snapshot, tmp_path, feedback_url=store_url)
    app = create_app(settings, service)
    with TestClient(app) as client:
        yield client, app.state.feedback_store
    app.state.feedback_store.close()


def _diagnose(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/diagnose", json=body or {"hpo_present": MARFAN}, headers=VIEWER,
                           params={"top": 5})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc = response.json()
    assert doc["type"] == f"urn:raregraph:problem:{kind}"
    return doc  # type: ignore[no-any-return]


def test_a_diagnose_answer_can_be_cited_by_feedback(app_and_store: tuple[TestClient, FeedbackStore]) -> None:
    client, store = app_and_store
    answer = _diagnose(client)
    assert answer["response_id"]
    top = answer["candidates"][0]["disease_id"]
    body = {"response_id": answer["response_id"], "snapshot_id": answer["snapshot_id"], "method": answer["method"],
            "confirmed_disease_id": top, "ratings": {"accuracy": 5, "overall": 4}, "comment": "confirmed"}
    response = client.post("/v1/feedback", json=body, headers=CLINICIAN)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["author"] == "clin" and stored["confirmed_disease_id"] == top
    assert stored["confirmed_name"] == answer["candidates"][0]["name"]
    assert stored["ratings"] == {"accuracy": 5, "overall": 4}
    [audit] = store.audit_trail()
    assert (audit.actor, audit.action) == ("clin", "feedback.create")
    recorded = store.responses([answer["response_id"]])[answer["response_id"]]
    assert recorded.case["hpo_present"] == MARFAN and recorded.ranking[0] == top


@pytest.mark.parametrize(("change", "status", "kind", "field"), [
    ({"confirmed_disease_id": "OMIM:999999"}, 422, "invalid-feedback", "body.confirmed_disease_id"),
    ({"response_id": "00000000-0000-0000-0000-000000000000"}, 422, "invalid-feedback", "body.response_id"),
    ({"ratings": {"accuracy": 6}}, 422, "invalid-input", "body.ratings.accuracy"),
    ({"ratings": {"safety": 0}}, 422, "invalid-input", "body.ratings.safety"),
])
def test_bad_feedback_is_a_problem_and_stores_nothing(app_and_store: tuple[TestClient, FeedbackStore],
                                                      change: dict[str, Any], status: int, kind: str,
                                                      field: str) -> None:
    client, store = app_and_store
    answer = _diagnose(client)
    body = {"response_id": answer["response_id"], "confirmed_disease_id": answer["candidates"][0]["disease_id"]}
    doc = _problem(client.post("/v1/feedback", json={**body, **change}, headers=CLINICIAN), status, kind)
    assert doc["field"] == field
    assert store.counts()["feedback"] == 0 and store.counts()["audit"] == 0


def test_writing_feedback_needs_the_feedback_scope(app_and_store: tuple[TestClient, FeedbackStore]) -> None:
    client, store = app_and_store
    answer = _diagnose(client)
    body = {"response_id": answer["response_id"], "comment": "looks right"}
    _problem(client.post("/v1/feedback", json=body, headers=VIEWER), 403, "forbidden")
    _problem(client.post("/v1/feedback", json=body), 401, "unauthorized")
    assert store.counts()["feedback"] == 0


def test_free_text_is_kept_only_when_the_operator_enables_it(default_snapshot: Snapshot, service: DiagnosisService,
                                                             tmp_path: Path) -> None:
    text = "Seen by Dr Quimby: arachnodactyly and ectopia lentis. No seizures."
    for keep in (False, True):
        app = create_app(_settings(default_snapshot, tmp_path / str(keep), feedback_store_text=keep), service)
        with TestClient(app) as client:
            answer = _diagnose(client, text=text)
        recorded = app.state.feedback_store.responses([answer["response_id"]])[answer["response_id"]]
        app.state.feedback_store.close()
        assert recorded.case["hpo_present"] == [] and ("text" in recorded.case) is keep
        assert recorded.retrieval["case"]["present"], "the ids the text yielded are kept"
        assert bool(recorded.retrieval["case"]["text"]["linked"]) is keep
        assert ("Quimby" in json.dumps([recorded.case, recorded.retrieval])) is keep


def test_a_database_that_is_down_fails_feedback_with_503_but_not_diagnosis(
        default_snapshot: Snapshot, service: DiagnosisService, tmp_path: Path, free_port: Callable[[], int]) -> None:
    settings = _settings(default_snapshot, tmp_path,
                         feedback_url=f"postgresql+psycopg://raregraph@127.0.0.1:{free_port()}/none")
    with TestClient(create_app(settings, service)) as client:
        answer = _diagnose(client)
        assert answer["response_id"] is None and NOT_RECORDED_WARNING in answer["warnings"]
        response = client.post("/v1/feedback", json={"response_id": "x", "comment": "c"}, headers=CLINICIAN)
        doc = _problem(response, 503, "store-unavailable")
        assert response.headers["retry-after"] and "unavailable" in doc["detail"]


def test_batch_and_stream_answers_can_be_cited_by_feedback(app_and_store: tuple[TestClient, FeedbackStore]) -> None:
    client, _store = app_and_store
    batch = client.post("/v1/diagnose/batch", params={"top": 3}, headers=VIEWER,
                        json={"cases": [{"hpo_present": MARFAN}, {"hpo_present": ["HP:9999999"]}]})
    assert batch.status_code == 200, batch.text
    answered, failed = batch.json()["results"]
    assert failed["error"] and failed.get("result") is None
    stream = client.post("/v1/diagnose/stream", params={"top": 3}, headers=VIEWER, json={"hpo_present": MARFAN})
    assert stream.status_code == 200, stream.text
    final = json.loads([line for line in stream.text.splitlines() if line.startswith("data: ")][-1].removeprefix("data: "))
    for answer in (answered["result"], final):
        body = {"response_id": answer["response_id"], "confirmed_disease_id": answer["candidates"][0]["disease_id"]}
        response = client.post("/v1/feedback", json=body, headers=CLINICIAN)
        assert response.status_code == 201, response.text


def test_with_recording_off_answers_carry_no_id_and_feedback_is_404(default_snapshot: Snapshot, service: DiagnosisService,
                                                                   tmp_path: Path) -> None:
    app = create_app(_settings(default_snapshot, tmp_path, feedback_enabled=False), service)
    with TestClient(app) as client:
        answer = _diagnose(client)
        batch = client.post("/v1/diagnose/batch", params={"top": 3}, headers=VIEWER, json={"cases": [{"hpo_present": MARFAN}]})
        stream = client.post("/v1/diagnose/stream", params={"top": 3}, headers=VIEWER, json={"hpo_present": MARFAN})
        final = json.loads([line for line in stream.text.splitlines() if line.startswith("data: ")][-1].removeprefix("data: "))
        for given in (answer, batch.json()["results"][0]["result"], final):
            assert given["candidates"] and given["response_id"] is None
            assert NOT_RECORDED_WARNING not in given["warnings"], "nothing is wrong: the server records nothing"
        for headers, body in ((CLINICIAN, {"response_id": "x", "comment": "c"}), (VIEWER, {"response_id": "x"})):
            response = client.post("/v1/feedback", json=body, headers=headers)  # neither scope nor body matter
            doc = _problem(response, 404, "feedback-disabled")
            assert "RAREGRAPH_FEEDBACK_ENABLED=false" in doc["detail"] and "retry-after" not in response.headers
        assert "404" in client.get("/openapi.json", headers=VIEWER).json()["paths"]["/v1/feedback"]["post"]["responses"]
    assert app.state.feedback_store is None
    assert list(tmp_path.iterdir()) == [], "no feedback database is created"


@pytest.mark.integration
def test_recording_off_by_environment_in_a_real_server(default_snapshot: Snapshot, tmp_path: Path,
                                                      free_port: Callable[[], int]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "RAREGRAPH_SNAPSHOT": str(default_snapshot.path), "RAREGRAPH_SNAPSHOT_DIR": str(data),
           "RAREGRAPH_EMBEDDING_ENABLED": "false", "RAREGRAPH_FEEDBACK_ENABLED": "false",
           "RAREGRAPH_API_KEYS": json.dumps({"clin": "k-clin"}), "RAREGRAPH_API_KEY_SCOPES": json.dumps({"clin": ["feedback"]})}
    env.pop("RAREGRAPH_FEEDBACK_URL", None)
    with live_server(env, free_port(), tmp_path / "server.log", CLINICIAN) as base:
        answer = httpx.post(f"{base}/v1/diagnose", json={"hpo_present": MARFAN}, headers=CLINICIAN, timeout=60)
        assert answer.status_code == 200 and answer.json()["response_id"] is None
        response = httpx.post(f"{base}/v1/feedback", json={"response_id": "x"}, headers=CLINICIAN, timeout=60)
        _problem(response, 404, "feedback-disabled")
    assert list(data.iterdir()) == [], "no feedback database is created"


def test_the_store_is_migrated_while_the_app_loads(default_snapshot: Snapshot, service: DiagnosisService,
                                                   tmp_path: Path) -> None:
    """Before the heap is settled: what the migration leaves is then exempt from garbage collections too."""
    app = create_app(_settings(default_snapshot, tmp_path), build=lambda _settings: service)
    with TestClient(app) as client:
        assert app.state.runtime.wait(120), app.state.runtime.failure
        with sqlite3.connect(app.state.feedback_store.engine.url.database) as connection:  # before any request
            assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert _diagnose(client)["response_id"]
    app.state.feedback_store.close()
