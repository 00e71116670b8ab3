r"""Property-based run of schemathesis against the live OpenAPI document: no 5xx, no response off the schema (issue 6).

The same run against a served API, from a shell (README):

    schemathesis run http://127.0.0.1:8080/openapi.json --max-examples 25 \
      --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance

Bounded for CI on two cores: `MAX_EXAMPLES` per operation; evidence building dominates the run time.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance, not_a_server_error, response_headers_conformance, response_schema_conformance,
    status_code_conformance,
)

from raregraph.api.http.app import create_app
from raregraph.retrieval.retriever import Retriever
from raregraph.settings import Settings
from raregraph.etl.snapshot import Snapshot
from tests.api.test_http import service_for

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


def _not_built(config: Settings) -> Retriever:
    raise AssertionError("the service is injected by the `_serve_default_snapshot` fixture")


# The schema is read from the app when this module is imported (schemathesis' lazy fixture loader
# does not run under pytest 9); the service, which needs the session's snapshot, is injected below.
# No rate limit (hypothesis sends hundreds of requests); small batch and evidence limits keep requests cheap.
api_app = create_app(
    Settings(embedding_enabled=False, api_rate_limit_per_minute=0, api_batch_max_cases=3, default_top=3,
             api_max_evidence_candidates=10, api_keys={}),
    build=_not_built,
)
schema = schemathesis.openapi.from_asgi("/openapi.json", api_app)


@pytest.fixture(autouse=True, scope="module")
def _serve_default_snapshot(default_snapshot: Snapshot) -> None:
    api_app.state.runtime.service = service_for(default_snapshot.path)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
