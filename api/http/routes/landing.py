"""GET /: what a person who types the server's address finds, pointing at the docs, the schema and readiness.

JSON by default; a small HTML page for a browser (Accept: text/html). No key needed: it says nothing
about the data. Not in the OpenAPI document, like /docs.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.responses import HTMLResponse, JSONResponse, Response

from raregraph.api.http.docs_ui import DOCS_URL, REDOC_URL
from raregraph.api.http.security import API_KEY_HEADER

__all__ = ["router", "Landing"]

router = APIRouter(include_in_schema=False)


class Landing(BaseModel):
    name: str
    version: str
    summary: str | None
    docs: str = Field(description="Interactive API documentation (Swagger UI)")
    redoc: str = Field(description="The same, as ReDoc")
    openapi: str = Field(description="The OpenAPI document")
    ready: str = Field(description="200 once the ranking index is loaded")
    health: str = Field(description="200 while the process is up")
    key: str | None = Field(description="The header that carries the API key, when the server has keys")


def landing_of(request: Request) -> Landing:
    app = request.app
    root = request.scope.get("root_path", "").rstrip("/")
    return Landing(
        name=app.title, version=app.version, summary=app.summary, docs=root + DOCS_URL, redoc=root + REDOC_URL,
        openapi=root + (app.openapi_url or "/openapi.json"), ready=root + "/readyz", health=root + "/healthz",
        key=API_KEY_HEADER if app.state.settings.api_keys else None,
    )


@router.get("/")
async def landing(request: Request) -> Response:
    doc = landing_of(request)
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(doc.model_dump())
    links = [(doc.docs, "API documentation (Swagger UI)"), (doc.redoc, "API documentation (ReDoc)"),
             (doc.openapi, "OpenAPI document"), (doc.ready, "Readiness"), (doc.health, "Liveness")]
    items = "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in links)
    key = f"<p>Requests need an <code>{escape(doc.key)}</code> header.</p>" if doc.key else ""
    return HTMLResponse(
        f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{escape(doc.name)}</title></head><body>"
        f"<h1>{escape(doc.name)} {escape(doc.version)}</h1><p>{escape(doc.summary or '')}</p>{key}<ul>{items}</ul>"
        "</body></html>"
    )
