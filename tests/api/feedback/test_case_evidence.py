"""RAREGRAPH_CASE_EVIDENCE over the real app, SQLite store and CLI: a confirmed case becomes evidence (issue 18, item 4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from raregraph.api.cli import app as cli
from raregraph.api.feedback.confirmed import confirmed_cases
from raregraph.api.feedback.record import record_response
from raregraph.api.feedback.schemas import FeedbackIn
from raregraph.api.feedback.store import FeedbackStore
from raregraph.api.http.app import create_app
from raregraph.etl.snapshot import Snapshot
from raregraph.models import CaseRequest
from tests.api.test_http import MARFAN, api_settings, service_for

CLINICIAN, VIEWER = {"X-API-Key": "k-clin"}, {"X-API-Key": "k-view"}


def _app(snapshot: Snapshot, tmp_path: Path, on: bool) -> Any:
    """On: the app as `raregraph serve` builds it (its service built from the settings, where case evidence is
    wired); off: over the session's service for the snapshot."""
    settings = api_settings(snapshot, snapshot_dir=tmp_path, feedback_url=f"sqlite:///{tmp_path / 'feedback.sqlite'}",
                            api_keys={"clin": "k-clin", "viewer": "k-view"}, api_key_scopes={"clin": ["feedback"]},
                            case_evidence=on, case_evidence_refresh_s=0)
    return create_app(settings) if on else create_app(settings, service_for(snapshot.path))


@pytest.fixture
def clients(default_snapshot: Snapshot, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps on one store: case evidence on, and off."""
    on, off = _app(default_snapshot, tmp_path, True), _app(default_snapshot, tmp_path, False)
    with TestClient(on) as with_cases, TestClient(off) as without:
        assert on.state.runtime.wait(60) and off.state.runtime.wait(60)
        yield with_cases, without
    for app in (on, off):
        app.state.feedback_store.close()


def _candidate(client: TestClient, disease_id: str, hpo: list[str] = MARFAN) -> dict[str, Any]:
    response = client.post("/v1/diagnose", json={"hpo_present": hpo}, headers=VIEWER, params={"top": 30})
    assert response.status_code == 200, response.text
    return next(c for c in response.json()["candidates"] if c["disease_id"] == disease_id)


def test_a_confirmed_case_is_evidence_with_case_evidence_on_and_withdraw_removes_it(
        clients: tuple[TestClient, TestClient], default_snapshot: Snapshot, tmp_path: Path) -> None:
    on, off = clients
    snapshot_path = str(default_snapshot.path)
    answer = on.post("/v1/diagnose", json={"hpo_present": MARFAN}, headers=VIEWER, params={"top": 30}).json()
    confirmed = answer["candidates"][-1]  # the 30th: the confirmed case has room to lift it
    assert confirmed["evidence"]["confirmed_cases"] is None
    verdict = on.post("/v1/feedback", json={"response_id": answer["response_id"],
                                            "confirmed_disease_id": confirmed["disease_id"]}, headers=CLINICIAN)
    assert verdict.status_code == 201, verdict.text
    label = f"confirmed case #{verdict.json()['id']}"

    lifted = _candidate(on, confirmed["disease_id"])
    cases = lifted["evidence"]["confirmed_cases"]
    assert cases["cases"] == [label] and 0 < cases["share"] <= 1
    assert {m["case_term"] for m in cases["matched"]} == set(MARFAN)
    assert all(m["provenance"] == {"source": "confirmed cases", "release": None, "references": [label]}
               for m in cases["matched"])
    assert all((m["provenance"] or {}).get("source") != "confirmed cases" for m in lifted["evidence"]["matched"])
    assert lifted["rank"] < confirmed["rank"] and lifted["score"] > confirmed["score"]

    unchanged = _candidate(off, confirmed["disease_id"])  # the same store, case evidence off
    assert unchanged["evidence"]["confirmed_cases"] is None and unchanged["score"] == confirmed["score"]

    env = {"RAREGRAPH_FEEDBACK_URL": f"sqlite:///{tmp_path / 'feedback.sqlite'}", "RAREGRAPH_SNAPSHOT_DIR": str(tmp_path),
           "RAREGRAPH_SNAPSHOT": snapshot_path, "RAREGRAPH_EMBEDDING_ENABLED": "false"}
    shown = CliRunner().invoke(cli, ["diagnose", "--hpo", ",".join(MARFAN), "--top", "30", "--json"],
                               env={**env, "RAREGRAPH_CASE_EVIDENCE": "on"})
    assert shown.exit_code == 0, shown.output
    by_id = {c["disease_id"]: c for c in json.loads(shown.stdout)["candidates"]}
    assert by_id[confirmed["disease_id"]]["evidence"]["confirmed_cases"]["cases"] == [label]  # the CLI reads the store too

    result = CliRunner().invoke(cli, ["feedback", "withdraw", str(verdict.json()["id"])], env=env)
    assert result.exit_code == 0, result.output
    withdrawn = _candidate(on, confirmed["disease_id"])
    assert withdrawn["evidence"]["confirmed_cases"] is None and withdrawn["score"] == confirmed["score"]


def test_confirmed_cases_read_the_terms_each_case_was_ranked_on(default_snapshot: Snapshot, store: FeedbackStore) -> None:
    """On both engines (the `store` fixture: SQLite, and PostgreSQL with the integration tests)."""
    service = service_for(default_snapshot.path)
    ground = lambda _snapshot, ids: {d: d for d in ids}  # noqa: E731 - every id grounded: the store is what is tested
    case = CaseRequest(hpo_present=MARFAN)
    answers = [record_response(store, case, service.diagnose(case)) for _ in range(3)]
    first, second, third = (a.response_id for a in answers)
    told = CaseRequest(text="Tall, with arachnodactyly and ectopia lentis.")  # terms from text only (text not kept)
    from_text = record_response(store, told, service.diagnose(told)).response_id
    rated_only = FeedbackIn.model_validate({"response_id": third, "ratings": {"overall": 3}})
    stored = store.add_feedback([
        ("a", FeedbackIn(response_id=first, confirmed_disease_id="OMIM:154700")),
        ("b", FeedbackIn(response_id=first, confirmed_disease_id="OMIM:154700")),  # the same case confirmed twice
        ("c", FeedbackIn(response_id=second, confirmed_disease_id="OMIM:129600")),
        ("d", rated_only),
        ("e", FeedbackIn(response_id=from_text, confirmed_disease_id="OMIM:154700")),
    ], author="dr-a", ground=ground)
    found = confirmed_cases(store)
    assert [(c.feedback_id, c.disease_id) for c in found] == [
        (stored[0].id, "OMIM:154700"), (stored[2].id, "OMIM:129600"), (stored[4].id, "OMIM:154700")]
    assert found[0].present == found[1].present == tuple(MARFAN)
    assert set(found[2].present) >= {"HP:0001166", "HP:0001083"}  # what the text was understood as
    store.withdraw(stored[2].id, actor="dr-a")
    assert [c.feedback_id for c in confirmed_cases(store)] == [stored[0].id, stored[4].id]


def test_the_cli_table_says_when_confirmed_cases_carry_a_candidate() -> None:
    from raregraph.api.cli.render import _evidence_summary
    from raregraph.models import CandidateOut, ConfirmedCasesOut, EvidenceOut, TermMatchOut

    match = TermMatchOut(case_term="HP:0001166", case_label="Arachnodactyly", disease_term="HP:0001166",
                         disease_label="Arachnodactyly", relation="exact", ic=4.5)
    cases = ConfirmedCasesOut(cases=["confirmed case #12", "confirmed case #31"], share=0.9, matched=[match])
    candidate = CandidateOut(rank=1, disease_id="OMIM:154700", name="Marfan syndrome", score=1.0,
                             evidence=EvidenceOut(matched=[match], confirmed_cases=cases))
    assert _evidence_summary(candidate, 3) == "1/3 terms (1 exact); 1/3 via confirmed cases #12,#31"
    minor = candidate.model_copy(update={"evidence": EvidenceOut(matched=[match], confirmed_cases=cases.model_copy(
        update={"share": 0.2}))})
    assert _evidence_summary(minor, 3) == "1/3 terms (1 exact)"
