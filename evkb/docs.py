"""API documentation pages that work offline: Swagger UI at /docs and ReDoc at
/redoc, their scripts and styles served from the installed ``fastapi-offline``
package instead of a CDN, no web fonts, no online spec validator, and a content
security policy that keeps the browser from loading anything from another host."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/static/api-docs"
# The browser may load nothing from another host: ReDoc's sidebar would otherwise fetch
# its vendor's logo from a CDN. Inline script and style are the two libraries' own.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def mount(app: FastAPI, dependencies: Sequence[Any] = ()) -> None:
    """Add /docs, /redoc and their assets to an app made with ``docs_url=None,
    redoc_url=None``; ``dependencies`` guard the two pages (e.g. a login)."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="api-docs")
    title = app.title

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", ""))

    @app.get("/docs", include_in_schema=False, dependencies=list(dependencies))
    def swagger(request: Request) -> HTMLResponse:
        r = root(request)
        params: dict[str, Any] = {"validatorUrl": None}  # no call to the online validator
        page = get_swagger_ui_html(
            openapi_url=f"{r}{app.openapi_url}",
            title=f"{title} API",
            swagger_js_url=f"{r}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{r}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{r}{ASSETS}/favicon.png",
            swagger_ui_parameters=params,
        )
        page.headers["Content-Security-Policy"] = POLICY
        return page

    @app.get("/redoc", include_in_schema=False, dependencies=list(dependencies))
    def redoc(request: Request) -> HTMLResponse:
        r = root(request)
        page = get_redoc_html(
            openapi_url=f"{r}{app.openapi_url}",
            title=f"{title} API",
            redoc_js_url=f"{r}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{r}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = POLICY
        return page
