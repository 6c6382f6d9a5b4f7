"""Swagger UI at /api/docs served offline (rag/api_docs.py): its assets come from the app, under a strict CSP,
behind a root_path too. No pipeline is needed for the docs, so the API runs on a stand-in (tests/doubles.py).
The page running in Chromium with every off-host request blocked: tests/browser/test_docs_offline.py."""
from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient

from rag.api import create_api
from rag.settings import Settings
from tests.doubles import RunsNow

# .js is text/javascript or application/javascript, as the process's mimetypes tables say (gradio's import
# changes them); with nosniff the browser runs either
ASSET_TYPES = {"swagger-ui-bundle.js": ("text/javascript", "application/javascript"), "swagger-ui.css": ("text/css",),
               "favicon.png": ("image/png",)}


def make_client(tmp_path, root_path: str = "", **over) -> TestClient:
    s = Settings(embedder="fake", index_dir=tmp_path / "index", feedback_db=tmp_path / "feedback.sqlite3",
                 backend="extractive", **over)
    return TestClient(create_api(RunsNow(), s), root_path=root_path)


def page_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)


def csp_sources(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (x.strip() for x in csp.split(";")) if d}


@pytest.fixture()
def client(tmp_path):
    with make_client(tmp_path) as c:
        yield c


def test_docs_page_loads_only_assets_the_app_serves(client):
    r = client.get("/api/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "cdn.jsdelivr.net" not in r.text and "fastapi.tiangolo.com" not in r.text and "//" not in "".join(page_urls(r.text))
    urls = page_urls(r.text)
    assert sorted(urls) == sorted(["/api/docs/assets/" + n for n in ASSET_TYPES] + ["/api/openapi.json"])
    for name, media in ASSET_TYPES.items():
        a = client.get("/api/docs/assets/" + name)
        assert a.status_code == 200 and a.headers["content-type"].startswith(media) and len(a.content) > 1000, name
        assert a.headers["x-content-type-options"] == "nosniff"
    assert "SwaggerUIBundle" in client.get("/api/docs/assets/swagger-ui-bundle.js").text
    assert "/api/ask" in client.get("/api/openapi.json").json()["paths"]


def test_docs_csp_allows_exactly_the_inline_script(client):
    r = client.get("/api/docs")
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    assert len(inline) == 1 and "SwaggerUIBundle(" in inline[0]
    digest = base64.b64encode(hashlib.sha256(inline[0].encode("utf-8")).digest()).decode()
    csp = r.headers["content-security-policy"]
    src = csp_sources(csp)
    assert src["default-src"] == ["'none'"] and src["frame-ancestors"] == ["'none'"]
    assert src["script-src"] == ["'self'", f"'sha256-{digest}'"]
    assert src["style-src"] == ["'self'"] and src["connect-src"] == ["'self'"] and src["img-src"] == ["'self'", "data:"]
    assert "unsafe" not in csp and "http" not in csp and "*" not in csp
    assert r.headers["referrer-policy"] == "same-origin"


def test_docs_behind_root_path(tmp_path):
    # uvicorn puts root_path in front of the path, as a prefix-stripping proxy's request arrives
    with make_client(tmp_path, root_path="/yuce") as c:
        r = c.get("/yuce/api/docs")
        assert r.status_code == 200
        urls = page_urls(r.text)
        assert urls and all(u.startswith("/yuce/api/") for u in urls)
        for u in urls:
            assert c.get(u).status_code == 200, u
        assert c.get("/yuce/api/openapi.json").json()["servers"] == [{"url": "/yuce"}]    # "Try it out" goes there
        assert c.get("/yuce/api/docs").headers["content-security-policy"] != \
            make_client(tmp_path).get("/api/docs").headers["content-security-policy"]    # its own script hash


def test_no_redoc_no_oauth_redirect_and_json_404s(client):
    for path in ("/api/redoc", "/docs/oauth2-redirect", "/api/docs/oauth2-redirect", "/api/docs/assets",
                 "/api/docs/assets/missing.js"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path
    spec = client.get("/api/openapi.json").json()
    assert not [p for p in spec["paths"] if p.startswith("/api/docs")]


def test_docs_and_assets_do_not_use_up_the_rate_limit(tmp_path):
    with make_client(tmp_path, rate_limit_per_minute=1) as c:
        for _ in range(3):
            for path in ["/api/docs", "/api/openapi.json"] + ["/api/docs/assets/" + n for n in ASSET_TYPES]:
                assert c.get(path).status_code == 200, path
        assert c.get("/api/nothing").status_code == 404          # the one request of the minute
        assert c.get("/api/nothing").status_code == 429
