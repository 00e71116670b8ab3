"""Swagger UI at /docs and ReDoc at /redoc, served from installed files: no CDN, so they work air-gapped.

FastAPI's own pages load their JavaScript and CSS from a public CDN (jsdelivr), which leaves them
blank on a hospital network without the internet. The `fastapi-offline` package ships Swagger UI's
and ReDoc's dist files (`swagger-ui-bundle.js`, `swagger-ui.css`, `redoc.standalone.js`); they are
mounted here as static files and the pages point at them. ReDoc's Google Fonts are left out.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

__all__ = ["install_docs", "DOCS_URL", "REDOC_URL", "ASSETS_URL"]

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/static/docs"
_ASSETS_PACKAGE = ("fastapi_offline", "static")


def install_docs(app: FastAPI) -> None:
    """Add /docs, /redoc and their assets to `app` (made with docs_url=None, redoc_url=None)."""
    app.mount(ASSETS_URL, StaticFiles(packages=[_ASSETS_PACKAGE]), name="docs-assets")

    def urls(request: Request) -> tuple[str, str]:
        root = request.scope.get("root_path", "").rstrip("/")
        return root + (app.openapi_url or "/openapi.json"), root + ASSETS_URL

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        openapi_url, assets = urls(request)
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} - Swagger UI", oauth2_redirect_url=None,
            swagger_js_url=f"{assets}/swagger-ui-bundle.js", swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png", swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        openapi_url, assets = urls(request)
        return get_redoc_html(
            openapi_url=openapi_url, title=f"{app.title} - ReDoc", redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png", with_google_fonts=False,
        )
