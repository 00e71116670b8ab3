"""The HTTP API through FastAPI's test client: every endpoint, and every error a client can provoke (issue 6)."""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from raregraph.api.http.app import create_app
from raregraph.api.http.logging_setup import JsonFormatter
from raregraph.api.http.security import RateLimiter
from raregraph.api.service import build_service
from raregraph.retrieval.retriever import Retriever
from raregraph.settings import Settings
from raregraph.errors import SnapshotNotFoundError
from raregraph.etl.snapshot import Snapshot
from tests.conftest import TEST_DATA

MARFAN = ["HP:0001166", "HP:0001083", "HP:0002616"]  # arachnodactyly, ectopia lentis, aortic root aneurysm
OBSOLETE_REPLACED = ("HP:0000057", "HP:0008665")  # obsolete Clitoromegaly -> Clitoral hypertrophy (hp.obo 2025-01-16)
OBSOLETE_CONSIDER = ("HP:0003295", "HP:0030339")  # obsolete, no replaced_by, one `consider`
ALT_ID = ("HP:0004715", "HP:0000003")  # an alt_id and its term
PROBLEM = "application/problem+json"


def api_settings(snapshot: Snapshot, **overrides: Any) -> Settings:
    """Settings pointing at an already built snapshot (no rebuild), text linking by exact lookup only."""
    return Settings(snapshot=str(snapshot.path), embedding_enabled=False, **overrides)


@lru_cache(maxsize=4)
def service_for(path: Path, databases: tuple[str, ...] = ("OMIM", "DECIPHER")) -> Retriever:
    """One service per snapshot for the whole session (the ranking index loads in about a second)."""
    return build_service(Settings(snapshot=str(path), embedding_enabled=False, rank_databases=list(databases)))


@pytest.fixture(scope="module")
def service(default_snapshot: Snapshot) -> Retriever:
    return service_for(default_snapshot.path)


@pytest.fixture(scope="module")
def client(default_snapshot: Snapshot, service: Retriever) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings(default_snapshot), service)) as c:
        yield c


def _problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    doc = response.json()
    assert doc["type"] == f"urn:raregraph:problem:{kind}"
    assert doc["status"] == status and doc["title"] and doc["detail"]
    assert doc["instance"] == f"urn:request:{response.headers['x-request-id']}"
    assert "Traceback" not in response.text
    return doc  # type: ignore[no-any-return]


# --- meta ----------------------------------------------------------------------------------------


def test_healthz_and_readyz(client: TestClient, service: Retriever) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["snapshot_id"] == service.snapshot_id


def test_readyz_waits_for_the_service_built_off_the_event_loop(default_snapshot: Snapshot, service: Retriever) -> None:
    release = threading.Event()

    def slow_build(settings: Settings) -> Retriever:
        release.wait(30)
        return service

    app = create_app(api_settings(default_snapshot), build=slow_build)
    with TestClient(app) as c:
        assert c.get("/healthz").status_code == 200  # the event loop answers while the service loads
        doc = _problem(c.get("/readyz"), 503, "graph-unavailable")
        assert "loading" in doc["detail"] and c.get("/readyz").headers["retry-after"]
        _problem(c.post("/v1/diagnose", json={"hpo_present": MARFAN}), 503, "graph-unavailable")
        release.set()
        assert app.state.runtime.wait(30)
        assert c.get("/readyz").status_code == 200
        assert c.post("/v1/diagnose", json={"hpo_present": MARFAN}).status_code == 200


def test_the_loaded_service_is_left_out_of_later_garbage_collections(default_snapshot: Snapshot, service: Retriever) -> None:
    """Full collections walked the whole service again every few hundred answers (~0.5 ms of CPU an answer)."""
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    app = create_app(api_settings(default_snapshot), build=lambda settings: service)
    try:
        with TestClient(app):
            assert app.state.runtime.wait(30)
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_readyz_reports_a_failed_start(default_snapshot: Snapshot) -> None:
    def broken(settings: Settings) -> Retriever:
        raise SnapshotNotFoundError("snapshot 'nope' not found")

    app = create_app(api_settings(default_snapshot), build=broken)
    with TestClient(app) as c:
        app.state.runtime.wait(30)
        doc = _problem(c.get("/readyz"), 503, "graph-unavailable")
        assert "could not start" in doc["detail"] and "'nope' not found" in doc["detail"]
        assert c.get("/healthz").status_code == 200


def test_snapshot_manifest(client: TestClient, service: Retriever) -> None:
    doc = client.get("/v1/snapshot").json()
    assert doc["snapshot_id"] == service.snapshot_id
    assert {s["name"] for s in doc["manifest"]["sources"]} >= {"hpo:hp.obo", "hpo:phenotype.hpoa"}


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    assert generated != "bad id\twith spaces" and len(generated) == 32


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    _problem(client.get("/v1/nope"), 404, "not-found")
    doc = client.get("/v1/diagnose")
    _problem(doc, 405, "method-not-allowed")
    assert doc.headers["allow"] == "POST"


# --- diagnose ------------------------------------------------------------------------------------


def test_diagnose_returns_grounded_candidates_with_evidence(client: TestClient, service: Retriever) -> None:
    r = client.post("/v1/diagnose", params={"top": 5}, json={"id": "c1", "hpo_present": MARFAN, "hpo_excluded": ["HP:0001250"]})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["snapshot_id"] == service.snapshot_id
    assert len(doc["candidates"]) == 5 and "OMIM:154700" in [c["disease_id"] for c in doc["candidates"]]
    assert doc["candidates"][0]["evidence"]["matched"]
    assert [t["id"] for t in doc["case"]["present"]] == MARFAN
    assert doc["llm"]["requested"] == "auto" and doc["llm"]["status"] == "off"
    assert doc["llm"]["detail"] == "no LLM endpoint configured (RAREGRAPH_LLM_BASE_URL)"
    assert [r["disease_id"] for r in doc["ranking"]] == [c["disease_id"] for c in doc["candidates"]]


def test_diagnose_without_evidence_and_default_top(client: TestClient) -> None:
    doc = client.post("/v1/diagnose", params={"evidence": "false"}, json={"hpo_present": MARFAN}).json()
    assert len(doc["candidates"]) == 10 and all(c["evidence"] is None for c in doc["candidates"])


def test_llm_on_without_endpoint_returns_the_ranking_and_says_so(client: TestClient) -> None:
    doc = client.post("/v1/diagnose", params={"llm": "on", "top": 3}, json={"hpo_present": MARFAN}).json()
    assert doc["llm"]["status"] == "unavailable" and "RAREGRAPH_LLM_BASE_URL" in doc["llm"]["detail"]
    assert len(doc["candidates"]) == 3
    assert client.post("/v1/diagnose", params={"llm": "off"}, json={"hpo_present": MARFAN}).json()["llm"]["status"] == "off"
    _problem(client.post("/v1/diagnose", params={"llm": "maybe"}, json={"hpo_present": MARFAN}), 422, "invalid-input")


def test_diagnose_reads_free_text(client: TestClient) -> None:
    text = "Tall, with arachnodactyly and ectopia lentis. No seizures."
    doc = client.post("/v1/diagnose", params={"top": 3}, json={"text": text}).json()
    assert {"HP:0001166", "HP:0001083"} <= {t["id"] for t in doc["case"]["present"]}
    assert "HP:0001250" in {t["id"] for t in doc["case"]["excluded"]}
    assert doc["case"]["text"]["linked"]


def test_diagnose_a_phenopacket(client: TestClient) -> None:
    packet = json.loads((TEST_DATA / "eval/phenopackets/ACBD6__PMID_37951597_Family_12_Subject_1.json").read_text())
    doc = client.post("/v1/diagnose", params={"top": 3}, json={"phenopacket": packet}).json()
    assert "HP:0001263" in {t["id"] for t in doc["case"]["present"]} and len(doc["candidates"]) == 3
    both = client.post("/v1/diagnose", json={"phenopacket": packet, "hpo_present": MARFAN})
    assert _problem(both, 422, "invalid-input")["field"] == "body.phenopacket"
    _problem(client.post("/v1/diagnose", json={"phenopacket": {"phenotypicFeatures": "x"}}), 422, "invalid-case")


def test_bad_json_is_422_naming_the_body(client: TestClient) -> None:
    r = client.post("/v1/diagnose", content=b'{"hpo_present": [', headers={"content-type": "application/json"})
    doc = _problem(r, 422, "invalid-input")
    assert doc["field"] == "body" and "not valid JSON" in doc["detail"]


def test_malformed_fields_name_the_field(client: TestClient) -> None:
    doc = _problem(client.post("/v1/diagnose", json={"hpo_present": ["HP:0001166", "seizures"]}), 422, "invalid-input")
    assert doc["field"] == "body.hpo_present.1" and "HP:0001250" in doc["detail"]
    doc = _problem(client.post("/v1/diagnose", params={"top": 0}, json={"hpo_present": MARFAN}), 422, "invalid-input")
    assert doc["field"] == "query.top"
    _problem(client.post("/v1/diagnose", json=["HP:0001166"]), 422, "invalid-input")


def test_unknown_term_is_422_with_its_field(client: TestClient) -> None:
    doc = _problem(client.post("/v1/diagnose", json={"hpo_present": ["HP:0001166", "HP:9999999"]}), 422, "unknown-term")
    assert doc["field"] == "body.hpo_present.1" and "HP:9999999" in doc["detail"]
    dropped = client.post("/v1/diagnose", params={"unknown": "drop"}, json={"hpo_present": ["HP:0001166", "HP:9999999"]})
    assert dropped.status_code == 200 and any("HP:9999999" in w for w in dropped.json()["warnings"])


def test_obsolete_term_is_422_suggesting_its_replacement(client: TestClient) -> None:
    old, new = OBSOLETE_REPLACED
    doc = _problem(client.post("/v1/diagnose", json={"hpo_excluded": [old], "hpo_present": MARFAN}), 422, "obsolete-term")
    assert doc["field"] == "body.hpo_excluded.0"
    assert doc["suggestions"] == [{"id": new, "label": "Clitoral hypertrophy", "reason": "replaced_by"}]
    replaced = client.post("/v1/diagnose", params={"obsolete": "replace"}, json={"hpo_present": [old, *MARFAN]})
    assert replaced.status_code == 200 and replaced.json()["case"]["present"][0] == {"id": new, "label": "Clitoral hypertrophy", "given_as": old}


def test_nothing_to_rank_on_is_422(client: TestClient) -> None:
    _problem(client.post("/v1/diagnose", json={}), 422, "invalid-case")


# --- limits --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tight(default_snapshot: Snapshot, service: Retriever) -> Iterator[TestClient]:
    settings = api_settings(default_snapshot, max_terms_per_case=3, api_max_variants_per_case=1, api_max_text_chars=20,
                            api_max_body_bytes=2048, api_batch_max_cases=2)
    with TestClient(create_app(settings, service)) as c:
        yield c


def test_too_many_terms_variants_or_text_name_the_limit(tight: TestClient) -> None:
    doc = _problem(tight.post("/v1/diagnose", json={"hpo_present": MARFAN, "hpo_excluded": ["HP:0001250"]}), 422, "invalid-input")
    assert doc["field"] == "body.hpo_present" and "limit of 3" in doc["detail"] and "RAREGRAPH_MAX_TERMS_PER_CASE" in doc["detail"]
    doc = _problem(tight.post("/v1/diagnose", json={"hpo_present": MARFAN[:1], "variants": [{"gene": "FBN1"}, {"gene": "TGFBR2"}]}),
                   422, "invalid-input")
    assert doc["field"] == "body.variants" and "RAREGRAPH_API_MAX_VARIANTS_PER_CASE" in doc["detail"]
    doc = _problem(tight.post("/v1/diagnose", json={"text": "x" * 21}), 422, "invalid-input")
    assert doc["field"] == "body.text" and "RAREGRAPH_API_MAX_TEXT_CHARS" in doc["detail"]
    doc = _problem(tight.post("/v1/phenotypes/extract", json={"text": "x" * 21}), 422, "invalid-input")
    assert doc["field"] == "body.text"


def test_body_too_large_is_413(tight: TestClient) -> None:
    big = json.dumps({"hpo_present": MARFAN, "id": "x" * 3000}).encode()
    doc = _problem(tight.post("/v1/diagnose", content=big, headers={"content-type": "application/json"}), 413, "body-too-large")
    assert "2048 bytes" in doc["detail"] and "RAREGRAPH_API_MAX_BODY_BYTES" in doc["detail"]
    chunked = tight.post("/v1/diagnose", content=iter([big[:1500], big[1500:]]), headers={"content-type": "application/json"})
    _problem(chunked, 413, "body-too-large")
    small = json.dumps({"hpo_present": MARFAN[:2]}).encode()
    ok = tight.post("/v1/diagnose", content=iter([small[:10], small[10:]]), headers={"content-type": "application/json"})
    assert ok.status_code == 200, ok.text


def test_evidence_for_too_many_candidates_is_422(client: TestClient) -> None:
    doc = _problem(client.post("/v1/diagnose", params={"top": 51}, json={"hpo_present": MARFAN}), 422, "invalid-input")
    assert doc["field"] == "query.top" and "RAREGRAPH_API_MAX_EVIDENCE_CANDIDATES" in doc["detail"]
    _problem(client.post("/v1/diagnose/batch", params={"top": 51}, json={"cases": [{"hpo_present": MARFAN}]}), 422, "invalid-input")
    many = client.post("/v1/diagnose", params={"top": 200, "evidence": "false"}, json={"hpo_present": MARFAN})
    assert many.status_code == 200 and len(many.json()["candidates"]) == 200


def test_batch_over_the_case_limit_is_422(tight: TestClient) -> None:
    doc = _problem(tight.post("/v1/diagnose/batch", json={"cases": [{"hpo_present": MARFAN[:1]}] * 3}), 422, "invalid-input")
    assert doc["field"] == "body.cases" and "RAREGRAPH_API_BATCH_MAX_CASES" in doc["detail"]
    doc = _problem(tight.post("/v1/diagnose/batch", json={"cases": [{"hpo_present": MARFAN[:1]}, {"text": "y" * 30}]}),
                   422, "invalid-input")
    assert doc["field"] == "body.cases.1.text"
    _problem(tight.post("/v1/diagnose/batch", json={"cases": []}), 422, "invalid-input")


def test_request_timeout_is_503(default_snapshot: Snapshot, service: Retriever) -> None:
    class Slow(Retriever):
        def diagnose(self, *args: Any, **kwargs: Any) -> Any:
            time.sleep(1.0)
            return super().diagnose(*args, **kwargs)

    slow = Slow(service.graph, service.engine, service.linker)
    with TestClient(create_app(api_settings(default_snapshot, api_request_timeout_s=0.1), slow)) as c:
        doc = _problem(c.post("/v1/diagnose", json={"hpo_present": MARFAN}), 503, "timeout")
        assert "RAREGRAPH_API_REQUEST_TIMEOUT_S" in doc["detail"]
        assert c.get("/healthz").status_code == 200


def test_unexpected_error_is_a_bare_500(default_snapshot: Snapshot, service: Retriever) -> None:
    class Broken(Retriever):
        def diagnose(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("secret internals: patient has condition X")

    broken = Broken(service.graph, service.engine, service.linker)
    with TestClient(create_app(api_settings(default_snapshot), broken)) as c:
        r = c.post("/v1/diagnose", json={"hpo_present": MARFAN})
        doc = _problem(r, 500, "internal-error")
        assert "secret" not in r.text and r.headers["x-request-id"] in doc["detail"]


# --- batch ---------------------------------------------------------------------------------------


def test_batch_answers_each_case_and_reports_failures_per_case(client: TestClient) -> None:
    cases = [{"id": "a", "hpo_present": MARFAN}, {"id": "b", "hpo_present": ["HP:9999999"]}, {"id": "c", "hpo_present": ["HP:0001250"]}]
    r = client.post("/v1/diagnose/batch", params={"top": 2, "evidence": "false"}, json={"cases": cases})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["count"] == 3 and doc["failed"] == 1
    a, b, c = doc["results"]
    assert a["id"] == "a" and len(a["result"]["candidates"]) == 2 and a["error"] is None
    assert b["result"] is None and b["error"]["type"] == "urn:raregraph:problem:unknown-term"
    assert b["error"]["field"] == "body.cases.1.hpo_present.0"
    assert c["result"]["llm"]["status"] == "off"


# --- API keys and rate limits ---------------------------------------------------------------------


def test_keys_guard_everything_but_healthz(default_snapshot: Snapshot, service: Retriever) -> None:
    settings = api_settings(default_snapshot, api_keys={"alice": "k-alice", "bob": "k-bob"})
    with TestClient(create_app(settings, service)) as c:
        assert c.get("/healthz").status_code == 200
        doc = _problem(c.get("/readyz"), 401, "unauthorized")
        assert "missing X-API-Key" in doc["detail"]
        assert _problem(c.get("/v1/snapshot", headers={"X-API-Key": "wrong"}), 401, "unauthorized")["detail"] == "invalid X-API-Key"
        # the key is checked before the body is read: bad JSON from a stranger is still 401
        _problem(c.post("/v1/diagnose", content=b"{", headers={"content-type": "application/json"}), 401, "unauthorized")
        assert c.get("/v1/snapshot", headers={"X-API-Key": "k-bob"}).status_code == 200
        ok = c.post("/v1/diagnose", headers={"X-API-Key": "k-alice"}, json={"hpo_present": MARFAN})
        assert ok.status_code == 200
        schema = c.get("/openapi.json", headers={"X-API-Key": "k-alice"}).json()
        assert schema["components"]["securitySchemes"]["ApiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        assert "security" not in schema["paths"]["/healthz"]["get"]
        assert schema["paths"]["/v1/diagnose"]["post"]["security"] == [{"ApiKey": []}]


def test_rate_limit_is_per_key_with_retry_after(default_snapshot: Snapshot, service: Retriever) -> None:
    settings = api_settings(default_snapshot, api_keys={"alice": "ka", "bob": "kb"}, api_rate_limit_per_minute=6,
                            api_rate_limit_burst=2)
    with TestClient(create_app(settings, service)) as c:
        alice = {"X-API-Key": "ka"}
        assert [c.get("/v1/snapshot", headers=alice).status_code for _ in range(2)] == [200, 200]
        r = c.get("/v1/snapshot", headers=alice)
        doc = _problem(r, 429, "rate-limited")
        assert int(r.headers["retry-after"]) == 10 and "RAREGRAPH_API_RATE_LIMIT_PER_MINUTE" in doc["detail"]
        assert c.get("/v1/snapshot", headers={"X-API-Key": "kb"}).status_code == 200  # bob has his own bucket
        assert c.get("/healthz").status_code == 200  # never limited


def test_a_batch_costs_one_request_per_case(default_snapshot: Snapshot, service: Retriever) -> None:
    settings = api_settings(default_snapshot, api_rate_limit_per_minute=60, api_rate_limit_burst=3)
    with TestClient(create_app(settings, service)) as c:
        body = {"cases": [{"hpo_present": MARFAN[:1]}] * 2}
        assert c.post("/v1/diagnose/batch", params={"evidence": "false"}, json=body).status_code == 200
        r = c.post("/v1/diagnose/batch", params={"evidence": "false"}, json=body)
        _problem(r, 429, "rate-limited")
        assert int(r.headers["retry-after"]) >= 1


def test_token_bucket_refills_at_the_configured_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert limiter.take("k") is None and limiter.take("k") is None
    assert limiter.take("k") == 1
    now[0] += 1.0
    assert limiter.take("k") is None
    assert limiter.take("k", cost=5) == 2  # more than the burst costs a full bucket
    assert RateLimiter(per_minute=0, burst=1).take("k", 100) is None  # 0 turns limiting off


# --- phenotypes, lookups, search ------------------------------------------------------------------


def test_extract_links_text_with_assertions(client: TestClient) -> None:
    r = client.post("/v1/phenotypes/extract", json={"text": "Seizures but no hypotonia. Her brother has scoliosis."})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["present"] == ["HP:0001250"] and doc["excluded"] == ["HP:0001252"] and doc["family"] == ["HP:0002650"]
    assert {m["tier"] for m in doc["linked"]} == {"exact"}
    _problem(client.post("/v1/phenotypes/extract", json={"text": ""}), 422, "invalid-input")


def test_term_lookup(client: TestClient) -> None:
    doc = client.get("/v1/terms/HP:0001250").json()
    assert doc["label"] == "Seizure" and doc["requested_id"] is None and doc["information_content"] > 0
    assert {"id": "HP:0012638", "label": "Abnormal nervous system physiology"} in doc["parents"]
    assert client.get("/v1/terms/hp_1250").json()["id"] == "HP:0001250"
    alt, current = ALT_ID
    doc = client.get(f"/v1/terms/{alt}").json()
    assert doc["id"] == current and doc["requested_id"] == alt and alt in doc["alt_ids"]


def test_obsolete_term_lookup_is_422_with_replacement(client: TestClient) -> None:
    old, new = OBSOLETE_REPLACED
    doc = _problem(client.get(f"/v1/terms/{old}"), 422, "obsolete-term")
    assert doc["suggestions"][0]["id"] == new and doc["suggestions"][0]["reason"] == "replaced_by"
    old, consider = OBSOLETE_CONSIDER
    doc = _problem(client.get(f"/v1/terms/{old}"), 422, "obsolete-term")
    assert [s["id"] for s in doc["suggestions"]] == [consider] and doc["suggestions"][0]["reason"] == "consider"


def test_unknown_term_lookup_is_404(client: TestClient) -> None:
    doc = _problem(client.get("/v1/terms/HP:9999999"), 404, "unknown-entity")
    assert doc["field"] == "path.curie"
    doc = _problem(client.get("/v1/terms/seizure"), 404, "unknown-entity")
    assert "HP:0001250" in [s["id"] for s in doc["suggestions"]]


def test_disease_lookup(client: TestClient) -> None:
    doc = client.get("/v1/diseases/OMIM:154700").json()
    assert doc["name"] == "Marfan syndrome" and doc["database"] == "OMIM"
    assert "FBN1" in [g["symbol"] for g in doc["genes"]]
    arachnodactyly = next(p for p in doc["phenotypes"] if p["term_id"] == "HP:0001166")
    assert arachnodactyly["label"] == "Arachnodactyly" and arachnodactyly["references"]
    assert any(p["frequency"] is not None for p in doc["phenotypes"])
    assert {"id": "HP:0000006", "label": "Autosomal dominant inheritance"} in doc["inheritance"]
    assert {"source": "hpo:phenotype.hpoa", "release": "2025-01-16"} in doc["sources"]
    assert client.get("/v1/diseases/mim:154700").json()["requested_id"] == "mim:154700"


def test_unknown_disease_is_404_with_suggestions(client: TestClient) -> None:
    doc = _problem(client.get("/v1/diseases/OMIM:999999999"), 404, "unknown-entity")
    assert doc["field"] == "path.curie"
    doc = _problem(client.get("/v1/diseases/marfan"), 404, "unknown-entity")
    assert "OMIM:154700" in [s["id"] for s in doc["suggestions"]]
    doc = _problem(client.get("/v1/diseases/154700"), 404, "unknown-entity")
    assert doc["suggestions"] == [{"id": "OMIM:154700", "label": "Marfan syndrome", "reason": "normalised"}]


def test_disease_lookup_by_an_equivalent_id(crafted_snapshot: Snapshot) -> None:
    service = service_for(crafted_snapshot.path, ("OMIM", "ORPHA"))
    with TestClient(create_app(api_settings(crafted_snapshot, rank_databases=["OMIM", "ORPHA"]), service)) as c:
        omim = c.get("/v1/diseases/OMIM:154700").json()
        assert omim["equivalent_ids"] == ["ORPHA:558"]
        assert {"id": "ORPHA:558", "relation": None, "exact": True} in omim["cross_references"]
        orpha = c.get("/v1/diseases/Orphanet:558").json()
        assert orpha["id"] == "ORPHA:558" and orpha["equivalent_ids"] == ["OMIM:154700"]
        assert {"id": "OMIM:154700", "relation": "E", "exact": True} in orpha["cross_references"]


def test_gene_lookup(client: TestClient) -> None:
    doc = client.get("/v1/genes/fbn1").json()
    assert doc["symbol"] == "FBN1" and doc["requested_id"] == "fbn1"
    assert "OMIM:154700" in [d["id"] for d in doc["diseases"]]
    assert client.get(f"/v1/genes/{doc['id']}").json()["requested_id"] is None
    doc = _problem(client.get("/v1/genes/FBN"), 404, "unknown-entity")
    assert {"FBN1", "FBN2"} <= {s["label"] for s in doc["suggestions"]} and doc["field"] == "path.key"


def test_search(client: TestClient) -> None:
    doc = client.get("/v1/search", params={"q": "marfan syndrome", "limit": 5}).json()
    assert doc["count"] == len(doc["hits"]) <= 5 and doc["hits"][0]["name"] == "Marfan syndrome"
    terms = client.get("/v1/search", params={"q": "seizure", "kind": "term"}).json()["hits"]
    assert terms and {h["kind"] for h in terms} == {"term"} and terms[0]["id"] == "HP:0001250" and terms[0]["exact"]
    assert client.get("/v1/search", params={"q": "?!"}).json()["count"] == 0
    _problem(client.get("/v1/search", params={"q": ""}), 422, "invalid-input")
    _problem(client.get("/v1/search", params={"q": "x", "limit": 1000}), 422, "invalid-input")


# --- OpenAPI and logs -----------------------------------------------------------------------------


def test_openapi_describes_errors_as_problem_json(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    post = schema["paths"]["/v1/diagnose"]["post"]
    assert set(post["responses"]) >= {"200", "401", "413", "422", "429", "500", "503"}
    assert list(post["responses"]["422"]["content"]) == [PROBLEM]
    assert "404" in schema["paths"]["/v1/genes/{key}"]["get"]["responses"]
    assert "securitySchemes" not in schema.get("components", {})  # no keys configured
    assert set(schema["paths"]) == {
        "/healthz", "/readyz", "/v1/snapshot", "/v1/diagnose", "/v1/diagnose/stream", "/v1/diagnose/batch",
        "/v1/phenotypes/extract",
        "/v1/terms/{curie}", "/v1/diseases/{curie}", "/v1/genes/{key}", "/v1/search", "/v1/feedback",
    }


def _json_lines(records: list[logging.LogRecord]) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in records]


def test_logs_are_json_with_request_id_and_no_patient_text(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    secret = "arachnodactyly since her sister's wedding"
    with caplog.at_level(logging.DEBUG, logger="raregraph"):
        r = client.post("/v1/diagnose", headers={"X-Request-ID": "req-42"}, json={"text": secret, "hpo_present": MARFAN[:1]})
    assert r.status_code == 200
    lines = _json_lines(caplog.records)
    access = [line for line in lines if line["logger"] == "raregraph.api.access"]
    assert access and access[-1]["request_id"] == "req-42" and access[-1]["status"] == 200
    assert access[-1]["path"] == "/v1/diagnose" and access[-1]["duration_ms"] > 0
    assert not any(secret in json.dumps(line) for line in lines)


def test_patient_text_is_logged_only_with_the_debug_setting(
    default_snapshot: Snapshot, service: Retriever, caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "ectopia lentis noticed at school"
    app = create_app(api_settings(default_snapshot, api_log_patient_text=True), service)
    with TestClient(app) as c, caplog.at_level(logging.DEBUG, logger="raregraph"):
        c.post("/v1/diagnose", json={"text": secret, "hpo_present": MARFAN[:1]})
    assert any(secret in json.dumps(line) for line in _json_lines(caplog.records))


def test_json_formatter_keeps_extras_and_exceptions() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("t").makeRecord("t", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
        import sys

        record.exc_info = sys.exc_info()
    record.status = 500
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed x" and line["status"] == 500 and line["exc_type"] == "ValueError"
    assert line["level"] == "ERROR" and line["ts"].endswith("+00:00")


def test_access_line_names_the_problem_kind(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="raregraph.api.access"):
        client.post("/v1/diagnose", json={"hpo_present": ["HP:9999999"]})
        client.get("/v1/nope")
    kinds = [line.get("problem") for line in _json_lines(caplog.records) if line["logger"] == "raregraph.api.access"]
    assert kinds[-2:] == ["unknown-term", "not-found"]


def test_answers_the_tests_record_stay_out_of_the_checkout(client: TestClient, feedback_outside_the_checkout: Path) -> None:
    """A diagnosis is recorded in the feedback store; under the tests that store is the session's, not snapshots/."""
    import sqlite3

    response = client.post("/v1/diagnose", json={"hpo_present": ["HP:0001166"], "top": 3})
    assert response.status_code == 200 and response.json()["response_id"]
    client.app.state.feedback_store.flush()  # answers are written by the store's writer thread, in batches
    with sqlite3.connect(feedback_outside_the_checkout) as db:
        found = db.execute("SELECT count(*) FROM responses WHERE id = ?", (response.json()["response_id"],)).fetchone()
    assert found == (1,)

