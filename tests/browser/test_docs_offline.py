"""Swagger UI at /api/docs in headless Debian Chromium with no internet: every request to a host other than
127.0.0.1/localhost is aborted (page.route) and recorded, and the list must stay empty. The page must render,
list /api/ask, and "Try it out" -> a question -> Execute must show the 200 answer with its citations -- under
the page's own Content-Security-Policy, with no violation reported.

Twice: the app as started by tests/browser/test_e2e.py (http://127.0.0.1:<p>/api/docs), and an app with
RAG_ROOT_PATH=/yuce behind a prefix-stripping proxy (http://127.0.0.1:<q>/yuce/api/docs, as the nginx block
in docs/web.md), so the page's asset URLs and "Try it out" must carry the prefix.
"""
from __future__ import annotations

import http.client
import http.server
import json
import os
import threading
import urllib.parse

import pytest

from tests.browser.test_e2e import (CHROMIUM, ROOT, app_url, browser, free_port, get_json, ports,  # noqa: F401
                                    shots, start_app, stop_app)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} not found: run scripts/install_browser.sh (apt-get install chromium chromium-driver)"),
]
pytest.importorskip("playwright.sync_api", reason="playwright (Python package) not installed")

PREFIX = "/yuce"
LOOPBACK = {"127.0.0.1", "localhost"}
Q_RD = "重庆“十五五”研发经费投入强度目标是多少？"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


# ------------------------------------------------------------------ an app behind a prefix-stripping proxy
def prefix_proxy(listen: int, upstream: int, prefix: str) -> http.server.ThreadingHTTPServer:
    """What `location /yuce/ { proxy_pass http://127.0.0.1:<upstream>/; }` does: strip the prefix, pass on."""

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self):
            if not self.path.startswith(prefix + "/"):
                self.send_error(404)
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
            try:
                conn.request(self.command, self.path[len(prefix):], body=body or None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            finally:
                conn.close()
            self.send_response(resp.status)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_HEAD = forward

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", listen), Proxy)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="module")
def proxied_url(tmp_path_factory):
    app_port, proxy_port = free_port(), free_port()
    proc, log = start_app(app_port, tmp_path_factory.mktemp("docs-root-path"), RAG_ROOT_PATH=PREFIX)
    srv = prefix_proxy(proxy_port, app_port, PREFIX)
    try:
        yield f"http://127.0.0.1:{proxy_port}{PREFIX}"
    finally:
        srv.shutdown()
        srv.server_close()
        stop_app(proc, log)


# ------------------------------------------------------------------ a browser without internet
@pytest.fixture()
def offline_page(browser):
    """A page on which any request to a non-loopback host is aborted and recorded, and CSP violations too."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    seen = {"off_host": [], "errors": [], "console": []}

    def only_loopback(route):
        if urllib.parse.urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            seen["off_host"].append(route.request.url)
            route.abort("internetdisconnected")

    ctx.route("**/*", only_loopback)
    # and whatever routing would not see (a service worker's fetches): every request the browser makes
    ctx.on("request", lambda r: None if r.url.startswith(("data:", "blob:")) or
           urllib.parse.urlsplit(r.url).hostname in LOOPBACK else seen["off_host"].append(r.url))
    ctx.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                        "(window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + e.blockedURI))")
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["console"].append(m.text) if m.type == "error" else None)
    yield page, seen
    ctx.close()


def try_ask(page, seen, base: str, question: str):
    """Open /api/docs, expand POST /api/ask, Try it out, type the body, Execute: (the response JSON, its table)."""
    page.goto(base + "/api/docs", wait_until="load")
    check_offline_and_clean(page, seen)            # says why when the page stays blank (a CDN script, a CSP block)
    summary = page.locator('.opblock-summary-path[data-path="/api/ask"]')
    summary.wait_for()
    assert page.locator(".opblock-summary-path").count() >= 5      # every route listed, not just one
    summary.click()
    op = page.locator(".opblock-post", has=summary)
    op.locator("button.try-out__btn").click()
    op.locator("textarea.body-param__text").fill(json.dumps({"question": question, "history": []}, ensure_ascii=False))
    with page.expect_response(lambda r: r.url.endswith("/api/ask") and r.request.method == "POST") as got:
        op.locator("button.execute").click()
    resp = got.value
    assert resp.status == 200, resp.text()
    table = op.locator(".live-responses-table").first
    table.locator(".response-col_description pre").first.wait_for()
    return resp.json(), table


def check_answer_shown(answer: dict, table, question: str) -> None:
    assert answer["question"] == question and not answer["refused"] and answer["citations"]
    assert all(c["quote"] for c in answer["citations"])
    assert table.locator("tbody .response-col_status").first.inner_text().strip() == "200"
    shown = table.locator(".response-col_description pre").first.inner_text()
    assert json.loads(shown) == answer                                   # the body as Swagger UI shows it


def check_offline_and_clean(page, seen) -> None:
    assert seen["off_host"] == []
    assert page.evaluate("window.__csp || []") == []          # securitypolicyviolation events
    assert seen["errors"] == [] and seen["console"] == []      # no script error, no failed load, no CSP report


# ------------------------------------------------------------------ the tests
def test_docs_offline_try_it_out(offline_page, app_url, shots):
    page, seen = offline_page
    answer, table = try_ask(page, seen, app_url, Q_RD)
    check_answer_shown(answer, table, Q_RD)
    assert page.title() == "渝策问答 API - Swagger UI"
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert any(u.endswith("/api/docs/assets/swagger-ui-bundle.js") for u in loaded)
    check_offline_and_clean(page, seen)
    table.evaluate("e => e.closest('.responses-wrapper').scrollIntoView({block: 'start'})")   # the 200 and its body
    page.screenshot(path=str(shots / "screenshot-api-docs.png"))


def test_docs_offline_behind_root_path_proxy(offline_page, proxied_url):
    page, seen = offline_page
    answer, table = try_ask(page, seen, proxied_url, Q_RD)
    check_answer_shown(answer, table, Q_RD)
    loaded = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(urllib.parse.urlsplit(u).path.startswith(PREFIX + "/api/") for u in loaded), loaded
    check_offline_and_clean(page, seen)
