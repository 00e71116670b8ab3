"""The FastAPI app: `create_app(settings)` wires routers, middleware, the one error handler set and OpenAPI.

Middleware, outermost first: the client address from a trusted proxy's X-Forwarded-For (only with
RAREGRAPH_API_TRUSTED_PROXIES; `raregraph serve` turns uvicorn's own handling off), request id +
access log + last-resort 500 (`logging_setup`), the body's read deadline (`body_timeout`), API key
and rate limit, body size (`security`), then FastAPI's routing. /docs and /redoc are served from
installed files (`docs_ui`), and `GET /` points a person at them. The service is built once in a
background thread when the app starts (see `deps.Runtime`); `/readyz` answers 200 once it is.
With an LLM endpoint configured, the lifespan also holds the app's one `LlmClient`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from raregraph.api.feedback.http import install as install_feedback
from raregraph.api.http.body_timeout import BodyTimeoutMiddleware
from raregraph.api.http.deps import Builder, Runtime
from raregraph.api.http.docs_ui import install_docs
from raregraph.api.http.problems import PROBLEM_MEDIA_TYPE, Problem, install_error_handlers
from raregraph.api.http.logging_setup import RequestContextMiddleware, configure_logging
from raregraph.api.http.protocol import HEADER_TIMEOUT_STATE
from raregraph.api.http.routes import diagnose, landing, lookup, meta, phenotypes
from raregraph.api.http.security import API_KEY_HEADER, OPEN_PATHS, BodyLimitMiddleware, KeyAndRateMiddleware, RateLimiter
from raregraph.api.service import build_service
from raregraph.retrieval.retriever import Retriever
from raregraph.llm.client import LlmClient
from raregraph.llm.diagnose import llm_enabled
from raregraph.settings import Settings

__all__ = ["create_app", "app_from_env"]

API_VERSION = "1"
_PROBLEM = {"model": Problem}
_COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {**_PROBLEM, "description": "API key missing or invalid (when keys are configured)"},
    413: {**_PROBLEM, "description": "Request body over RAREGRAPH_API_MAX_BODY_BYTES"},
    422: {**_PROBLEM, "description": "Invalid input, unknown or obsolete ids, or a request limit exceeded"},
    429: {**_PROBLEM, "description": "Rate limit reached (see Retry-After)"},
    500: {**_PROBLEM, "description": "Internal error (never for bad input)"},
    503: {**_PROBLEM, "description": "Not ready (index loading), graph unavailable, or per-request time limit"},
}
_NOT_FOUND = {404: {**_PROBLEM, "description": "No such id in the snapshot (with suggestions)"}}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    app.state.runtime.start()  # builds the service in a background thread; /readyz waits for it
    # One LLM client per app, made inside the serving event loop: it holds the connection pool and
    # the concurrency limit (RAREGRAPH_LLM_CONCURRENCY) that every request shares.
    settings: Settings = app.state.settings
    app.state.llm_client = LlmClient.from_settings(settings) if llm_enabled(settings) else None
    try:
        # uvicorn hands the lifespan state to each connection's protocol, which times the headers (protocol.py)
        yield {HEADER_TIMEOUT_STATE: settings.api_header_timeout_s}
    finally:
        store = getattr(app.state, "feedback_store", None)
        if store is not None:  # the answers logged but not yet written go in before the process ends
            await anyio.to_thread.run_sync(store.close)
        if app.state.llm_client is not None:
            await app.state.llm_client.aclose()
            app.state.llm_client = None


def create_app(settings: Settings | None = None, service: Retriever | None = None, *,
               build: Builder = build_service) -> FastAPI:
    """The HTTP API over `service`, or over the service `build(settings)` makes at start-up (off the event loop)."""
    settings = settings or Settings()
    app = FastAPI(
        title="raregraph", version=f"{API_VERSION}.0",
        summary="Grounded rare-disease differential diagnosis over an HPO/Orphanet/OMIM/ClinVar knowledge graph",
        description="Every error is an RFC 9457 `application/problem+json` document with a stable `type`. "
                    "Send `X-API-Key` when the server has keys configured (all paths but /healthz).",
        lifespan=_lifespan, docs_url=None, redoc_url=None,  # docs_ui serves both from installed files
    )
    app.state.settings = settings
    app.state.runtime = Runtime(settings, service, build)
    app.state.llm_client = None  # made in the lifespan when an LLM endpoint is configured
    app.state.rate_limiter = RateLimiter(settings.api_rate_limit_per_minute, settings.api_rate_limit_burst)
    install_error_handlers(app)
    install_docs(app)
    app.include_router(landing.router)
    app.include_router(meta.router, responses={k: v for k, v in _COMMON_ERRORS.items() if k in (401, 429, 500, 503)})
    app.include_router(diagnose.router, responses=_COMMON_ERRORS)
    app.include_router(phenotypes.router, responses=_COMMON_ERRORS)
    app.include_router(lookup.router, responses={**_COMMON_ERRORS, **_NOT_FOUND})
    install_feedback(app, settings)
    # added last = outermost
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(KeyAndRateMiddleware, keys=settings.api_keys, limiter=app.state.rate_limiter)
    app.add_middleware(BodyTimeoutMiddleware, timeout_s=settings.api_body_timeout_s)
    app.add_middleware(RequestContextMiddleware)
    if settings.api_trusted_proxies:  # else X-Forwarded-For is the client's word, and ignored
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=[str(net) for net in settings.api_trusted_proxies])
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with error bodies as application/problem+json and the API key scheme when keyed."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, summary=app.summary, description=app.description,
                      routes=app.routes)
    keyed = bool(app.state.settings.api_keys)
    if keyed:
        doc.setdefault("components", {}).setdefault("securitySchemes", {})["ApiKey"] = {
            "type": "apiKey", "in": "header", "name": API_KEY_HEADER,
        }
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                content = response.get("content", {})
                if status[0] in "45" and content:
                    # FastAPI files an error model under the route's own media type (text/event-stream
                    # for the stream); every error body is a problem document whatever the route.
                    body = content.get("application/json") or next(iter(content.values()))
                    response["content"] = {PROBLEM_MEDIA_TYPE: body}
                for media in content.values():
                    if "itemSchema" in media:  # an event stream: one schema per event, as FastAPI's own SSE routes
                        media.pop("schema", None)
            if path in OPEN_PATHS:
                for status in ("401", "429"):
                    responses.pop(status, None)
            elif keyed:
                operation["security"] = [{"ApiKey": []}]
    schemas = doc.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = doc
    return doc


def app_from_env() -> FastAPI:
    """The app for `uvicorn --factory` (and `raregraph serve` workers): settings from RAREGRAPH_* variables."""
    settings = Settings()
    configure_logging(settings.api_log_level.upper())
    return create_app(settings)
