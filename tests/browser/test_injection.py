"""Injection in the browser (headless Debian Chromium via Playwright): HTML/JS/markdown payloads from
tests/hostile_inputs.jsonl typed into the Gradio chat and the widget (and passed in the widget's ?q=).

With dialog, console, page-error and request listeners on the whole browser context: no dialog opens, no
injected script runs, no request leaves 127.0.0.1/localhost, and the payloads show up as literal text.
The app (fake embedder, tmp index) is started by the fixtures of tests/browser/test_e2e.py.
"""
from __future__ import annotations

import json
import os
import re
import urllib.parse
from pathlib import Path

import pytest

from tests.browser.test_e2e import CHROMIUM, app_url, browser, ports  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} not found: run scripts/install_browser.sh (apt-get install chromium chromium-driver)"),
]
pytest.importorskip("playwright.sync_api", reason="playwright (Python package) not installed")

ENTRIES = {e["id"]: e for e in (json.loads(x) for x in
           (Path(__file__).resolve().parents[1] / "hostile_inputs.jsonl").read_text(encoding="utf-8").splitlines() if x.strip())}
MARKER = '<img src=x onerror="window.__xss=1;alert(\'xss\')">綦江到2030年地区生产总值增长目标是多少？'
CHAT_SAMPLE = ["H050", "H052", "H054", "H058", "H062", "H064", "H076", "H082", "H083", "H088", "H097"]
WIDGET_SAMPLE = CHAT_SAMPLE + ["H051", "H053", "H065", "H067", "H086", "H089", "H095"]
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?(/|$)|^(data|blob|about|chrome|chrome-error):")


def payloads(ids: list[str]) -> list[str]:
    return [MARKER] + [ENTRIES[i]["question"] for i in ids]


@pytest.fixture()
def watched(browser):
    """A page whose whole context is watched: dialogs (dismissed), console, page errors, requests."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 1000}, locale="zh-CN")
    seen = {"dialogs": [], "external": [], "console": [], "errors": []}
    ctx.on("request", lambda r: None if LOCAL.match(r.url) else seen["external"].append(r.url))
    page = ctx.new_page()
    page.set_default_timeout(30_000)

    def on_dialog(d):
        seen["dialogs"].append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: seen["console"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    yield page, seen
    ctx.close()


def assert_clean(page, seen, root_selector: str, frame=None) -> None:
    target = frame or page
    assert not seen["dialogs"], f"a dialog opened: {seen['dialogs']}"
    assert not seen["external"], f"requests left the machine: {seen['external'][:5]}"
    assert not [m for m in seen["console"] if "evil.example" in m or "xss" in m.lower()], seen["console"]
    assert not [e for e in seen["errors"] if "xss" in e.lower() or "alert" in e.lower()], seen["errors"]
    assert target.evaluate("() => window.__xss") is None
    bad = target.evaluate("""(sel) => [...document.querySelectorAll(sel + ' *')].filter(e =>
            ['SCRIPT', 'IMG', 'SVG', 'IFRAME', 'OBJECT', 'EMBED', 'STYLE', 'LINK', 'BASE', 'FORM', 'VIDEO', 'META',
             'INPUT', 'MARQUEE', 'NOSCRIPT'].includes(e.tagName.toUpperCase())
            || [...e.attributes].some(a => /^on/i.test(a.name) || /javascript:|evil\\.example/i.test(a.value)))
        .map(e => e.outerHTML.slice(0, 120))""", root_selector)
    assert not bad, f"injected markup in the DOM: {bad[:5]}"


# ------------------------------------------------------------------ the Gradio chat
def test_chat_renders_payloads_as_text(watched, app_url):  # noqa: F811
    page, seen = watched
    page.goto(app_url + "/")
    page.wait_for_selector("#yc-input textarea")
    for i, text in enumerate(payloads(CHAT_SAMPLE)):
        n = page.locator("#yc-chat .yc-cites, #yc-chat .yc-refused").count()
        page.fill("#yc-input textarea", text)
        page.click("#yc-send")
        page.wait_for_function(
            "n => document.querySelectorAll('#yc-chat .yc-cites, #yc-chat .yc-refused').length > n", arg=n)
        if i == 0:
            page.wait_for_timeout(300)                        # give an onerror handler the chance to fire
            assert "onerror" in page.locator("#yc-chat").inner_text()        # shown literally, not executed
    page.wait_for_timeout(500)
    assert_clean(page, seen, "#yc-chat .message-content")          # the messages (not Gradio's icons)
    attrs = page.evaluate("""() => [...document.querySelectorAll('#yc-chat *')].flatMap(e => [...e.attributes]
        .filter(a => /^on/i.test(a.name) || (a.name !== 'aria-label' && /javascript:|evil\\.example/i.test(a.value)))
        .map(a => e.tagName + '[' + a.name + '=' + a.value.slice(0, 60) + ']'))""")
    assert not attrs, attrs            # (Gradio repeats the message text in aria-label: text, not markup)
    assert page.locator("#yc-chat a.yc-ref").count() >= 1    # the app's own links still work


# ------------------------------------------------------------------ the widget
def widget_send(page, text: str) -> str:
    n = page.locator(".yc-bot .yc-bubble").count()
    page.fill("#yc-q", text)
    page.click("#yc-send")
    bubble = page.locator(".yc-bot .yc-bubble").nth(n)
    page.wait_for_function("""n => { const b = document.querySelectorAll('.yc-bot .yc-bubble')[n];
        return b && (b.dataset.state === 'error' || (b.dataset.state === 'done' && b.querySelector('.yc-fb'))); }""",
                           arg=n)
    return bubble.get_attribute("data-state")


def test_widget_renders_payloads_as_text(watched, app_url):  # noqa: F811
    page, seen = watched
    page.goto(app_url + "/widget")
    page.wait_for_selector("#yc-q")
    states = [widget_send(page, text) for text in payloads(WIDGET_SAMPLE)]
    assert states.count("done") >= len(states) - 2, states
    page.wait_for_timeout(500)
    assert_clean(page, seen, "#yc-log")
    users = page.locator(".yc-user .yc-bubble").all_inner_texts()
    assert "onerror" in users[0] and "<img" in users[0]           # the user's text, verbatim


def test_widget_query_parameter_payload(watched, app_url):  # noqa: F811
    page, seen = watched
    q = urllib.parse.quote('"><script>window.__xss=1;alert(1)</script><img src=x onerror=alert(2)>“33618”是什么？')
    page.goto(f"{app_url}/widget?q={q}&ask=1")
    page.wait_for_function("() => { const b = document.querySelector('.yc-bot .yc-bubble');"
                           " return b && ['done', 'error'].includes(b.dataset.state); }")
    page.wait_for_timeout(500)
    assert_clean(page, seen, "#yc-log")
    assert "<script>" in page.locator(".yc-user .yc-bubble").first.inner_text()
