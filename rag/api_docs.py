"""Swagger UI at /api/docs that works without internet: its JS and CSS are served by the app, not a CDN.

FastAPI's own /docs page loads swagger-ui-dist from cdn.jsdelivr.net and its favicon from fastapi.tiangolo.com,
so on an intranet without internet the page stays blank. The assets here come from the PyPI package
``fastapi-offline`` (1.7.7: Swagger UI 5.32.6, 1.5 MB JS + 0.18 MB CSS; wheel 0.78 MB, needs only fastapi).
Chosen over ``swagger-ui-bundle`` (1.1.0: Swagger UI 4.15.5 from 2022, 2.6 MB wheel, 8.6 MB with source maps,
needs Jinja2): Swagger UI 4 cannot render OpenAPI 3.1, which FastAPI 0.165 writes (this app's spec in Chromium:
"Unable to render this definition", no operation listed), and fastapi-offline refreshes its bundled assets
(1.7.6 in 2026-01, 1.7.7 in 2026-06).
We use its files, not its ``FastAPIOffline`` factory: the factory's page sets no Content-Security-Policy, and
this page gets a strict one (its one inline script allowed by hash, nothing else inline, nothing off-site).
The page is built by FastAPI's ``get_swagger_ui_html``; every URL in it carries the request's root_path, so it
works behind a prefix-stripping proxy (RAG_ROOT_PATH=/yuce) as well as at /api/docs.

ReDoc is not served (the API never had it; fastapi-offline's redoc.standalone.js just sits in the assets).
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PACKAGE = ("fastapi_offline", "static")          # swagger-ui-bundle.js, swagger-ui.css, favicon.png
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


@dataclass(frozen=True)
class DocsPage:
    """The Swagger UI page for one root_path and the CSP that lets exactly it run."""
    html: str
    csp: str

    def response(self) -> HTMLResponse:
        return HTMLResponse(self.html, headers={"Content-Security-Policy": self.csp,
                                                "Referrer-Policy": "same-origin"})


def script_hashes(html: str) -> list[str]:
    """CSP sources ('sha256-…') for the page's inline scripts -- FastAPI writes one: the SwaggerUIBundle call."""
    return ["'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii") + "'"
            for s in _INLINE_SCRIPT.findall(html)]


def docs_csp(html: str) -> str:
    # img-src data: for Swagger UI's inline SVG icons; connect-src 'self' for openapi.json and "Try it out"
    # (FastAPI puts root_path in the spec's servers, so those calls stay on this origin)
    return ("default-src 'none'; script-src 'self' " + " ".join(script_hashes(html)) + "; style-src 'self'; "
            "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@lru_cache(maxsize=8)
def docs_page(title: str, openapi_url: str, assets_url: str) -> DocsPage:
    html = get_swagger_ui_html(openapi_url=openapi_url, title=f"{title} - Swagger UI", oauth2_redirect_url=None,
                               swagger_js_url=f"{assets_url}/swagger-ui-bundle.js",
                               swagger_css_url=f"{assets_url}/swagger-ui.css",
                               swagger_favicon_url=f"{assets_url}/favicon.png").body.decode("utf-8")
    return DocsPage(html, docs_csp(html))


def add_offline_docs(app: FastAPI, docs_url: str, assets_url: str) -> None:
    """Serve Swagger UI at ``docs_url`` with its assets under ``assets_url`` (create the app with docs_url=None)."""
    app.mount(assets_url, StaticFiles(packages=[ASSETS_PACKAGE]), name="docs-assets")

    @app.get(docs_url, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = (request.scope.get("root_path") or "").rstrip("/")
        return docs_page(app.title, root + app.openapi_url, root + assets_url).response()
