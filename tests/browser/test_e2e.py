"""End to end in headless Debian Chromium (Playwright's Python API, no bundled browser).

Starts the real app (``python app.py --port <free>``, fake embedder, tmp index), then
- the Gradio chat at / : ask, get an answer with [n] citations, open the citation panel, rate it;
- a host page on a DIFFERENT origin (http://localhost:<p2> vs the app's http://127.0.0.1:<p1>) that embeds
  /widget in an iframe, and one that uses the <script src=".../widget.js"> loader: ask there, get an answer;
- a host page on a non-allowed origin (http://localhost:<p3>): CSP frame-ancestors blocks the iframe and
  the cross-origin API call fails CORS.
Screenshots go to $RAG_SCREENSHOT_DIR (e.g. docs/) or to the test's tmp dir.

Install the browser with scripts/install_browser.sh (apt: chromium, chromium-driver).
"""
from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "e2e-admin-token"
Q_JOBS = "2024年和2025年计划分别提出要新增多少城镇就业？"   # two documents: two citations
Q_RD = "重庆“十五五”研发经费投入强度目标是多少？"
Q_33618 = "“33618”是什么？"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} not found: run scripts/install_browser.sh (apt-get install chromium chromium-driver)"),
]
sync_playwright = pytest.importorskip("playwright.sync_api", reason="playwright (Python package) not installed").sync_playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, headers: dict | None = None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read().decode("utf-8"))


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get("RAG_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    if not d.is_absolute():
        d = ROOT / d
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module")
def ports() -> dict:
    return {"app": free_port(), "allowed": free_port(), "denied": free_port()}


def start_app(port: int, tmp: Path, **env_extra: str):
    """``python app.py`` with the fake embedder on ``port`` (index, feedback and log in ``tmp``), once healthy;
    fails the test with the app's log when it exits or is not healthy within 240 s."""
    env = {**os.environ, "RAG_EMBEDDER": "fake", "RAG_INDEX_DIR": str(tmp / "index"),
           "RAG_FEEDBACK_DB": str(tmp / "feedback.sqlite3"), "RAG_BACKEND": "extractive",
           "RAG_RATE_LIMIT_PER_MINUTE": "1000", "RAG_ROOT_PATH": "", "PYTHONUNBUFFERED": "1", **env_extra}
    log = open(tmp / "app.log", "w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while True:
        if proc.poll() is not None or time.time() > deadline:
            log.seek(0)
            why = f"exited with {proc.returncode}" if proc.poll() is not None else "did not become healthy in time"
            text = log.read()[-3000:]
            stop_app(proc, log)
            pytest.fail(f"app.py (root_path {env['RAG_ROOT_PATH']!r}) {why}:\n{text}")
        try:
            if get_json(f"http://127.0.0.1:{port}/api/health")["status"] == "ok":
                return proc, log
        except OSError:
            pass
        time.sleep(0.5)


def stop_app(proc, log) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    log.close()


@pytest.fixture(scope="module")
def app_url(ports, tmp_path_factory):
    proc, log = start_app(ports["app"], tmp_path_factory.mktemp("e2e"), RAG_ADMIN_TOKEN=TOKEN,
                          RAG_ALLOWED_ORIGINS=json.dumps([f"http://localhost:{ports['allowed']}"]))
    try:
        yield f"http://127.0.0.1:{ports['app']}"
    finally:
        stop_app(proc, log)


def host_pages(app: str) -> dict[str, str]:
    """Pages an intranet site would serve: the README's iframe and <script> snippets, and a blank page."""
    return {
        "/iframe.html": f"""<!doctype html><meta charset="utf-8"><title>内网门户</title>
<body style="font-family:sans-serif;background:#eef2f6;margin:0;padding:16px">
<h2 style="margin:0 0 8px">某部门内网门户 · 政策问答</h2>
<iframe id="yc-frame" src="{app}/widget?q=%E2%80%9C33618%E2%80%9D%E6%98%AF%E4%BB%80%E4%B9%88%EF%BC%9F"
        title="渝策问答" style="width:420px;height:640px;border:1px solid #ccd;border-radius:10px;background:#fff"></iframe>
</body>""",
        "/script.html": f"""<!doctype html><meta charset="utf-8"><title>内网门户</title>
<body style="font-family:sans-serif;margin:0;padding:16px;min-height:700px"><h2>某部门内网门户</h2>
<p>右下角按钮打开政策问答。</p>
<script src="{app}/widget.js" async></script></body>""",
        "/blank.html": "<!doctype html><meta charset='utf-8'><title>blank</title><p>blank</p>",
    }


class _Pages(http.server.BaseHTTPRequestHandler):
    pages: dict = {}

    def do_GET(self):
        body = self.pages.get(self.path.split("?")[0])
        if body is None:
            self.send_error(404)
            return
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def hosts(app_url, ports):
    """Two static sites on other loopback ports: one allowed origin, one not."""
    servers, urls = [], {}
    for name in ("allowed", "denied"):
        handler = type(f"Pages_{name}", (_Pages,), {"pages": host_pages(app_url)})
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", ports[name]), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        urls[name] = f"http://localhost:{ports[name]}"
    yield urls
    for srv in servers:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="zh-CN")
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    pg.console_log = []
    pg.external = []
    pg.on("console", lambda m: pg.console_log.append(m.text))
    pg.on("request", lambda r: pg.external.append(r.url)
          if not r.url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:", "chrome")) else None)
    yield pg
    ctx.close()


# ------------------------------------------------------------------ Gradio chat
def ask_chat(page, question: str):
    n = page.locator("#yc-chat .yc-cites, #yc-chat .yc-refused").count()
    page.fill("#yc-input textarea", question)
    page.click("#yc-send")
    page.wait_for_function(
        "n => document.querySelectorAll('#yc-chat .yc-cites, #yc-chat .yc-refused').length > n", arg=n)


def test_chat_answer_with_citation_panel_and_feedback(page, app_url, shots):
    page.goto(app_url + "/")
    page.wait_for_selector("#yc-input textarea")
    assert "渝策问答" in page.title()
    assert page.get_by_text("綦江到2030年地区生产总值增长目标是多少？").count() >= 1     # example questions

    page.evaluate("""() => {                       // record the partial replies while they stream in
        window.__partials = new Set();
        new MutationObserver(() => document.querySelectorAll('#yc-chat .yc-streaming')
            .forEach(e => window.__partials.add(e.textContent.length)))
            .observe(document.body, {childList: true, subtree: true, characterData: true});
    }""")
    page.fill("#yc-input textarea", Q_JOBS)
    page.click("#yc-send")
    page.wait_for_selector("#yc-chat .yc-cites")
    assert page.evaluate("[...window.__partials].filter(n => n > 1).length") >= 3   # streamed in pieces
    answer = page.locator("#yc-chat .yc-answer").last
    assert "城镇新增就业" in answer.inner_text()
    refs = page.locator("#yc-chat a.yc-ref")
    assert refs.count() >= 2
    page.screenshot(path=str(shots / "screenshot-chat.png"))

    # [1] opens citation 1 (the 2024 plan, which the question names): 《title》, location, the clause
    # with the quoted part highlighted
    page.locator("#yc-chat a.yc-ref", has_text="[1]").first.click()
    opened = page.locator("#yc-chat details.yc-cite[open]")
    opened.first.wait_for()
    assert opened.count() == 1
    assert "《重庆市国民经济和社会发展计划报告" in opened.first.locator("summary").inner_text()
    mark = opened.first.locator("mark.yc-quote")
    assert "城镇新增就业60万人以上" in mark.inner_text()
    clause = opened.first.locator(".yc-clause").inner_text()
    assert len(clause) > len(mark.inner_text())                       # quote shown inside its clause
    opened.first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "screenshot-citation.png"))

    # 👍 + comment are stored
    page.locator("#yc-chat button[aria-label='赞'], #yc-chat button[aria-label='Like']").last.click()
    page.wait_for_selector("#yc-fb-comment textarea")
    page.fill("#yc-fb-comment textarea", "引用清楚 e2e")
    page.click("#yc-fb-send")
    page.get_by_text("评论已保存").wait_for()
    rows = [json.loads(x) for x in urllib.request.urlopen(urllib.request.Request(
        app_url + "/api/admin/feedback.jsonl", headers={"Authorization": f"Bearer {TOKEN}"}), timeout=5)
        .read().decode("utf-8").splitlines()]
    assert any(r["rating"] == "up" and r["comment"] == "引用清楚 e2e" and r["question"] == Q_JOBS for r in rows)
    assert not page.external, f"requests left the intranet: {page.external[:5]}"


def test_chat_follow_up_refusal_and_escaping(page, app_url):
    page.goto(app_url + "/")
    page.wait_for_selector("#yc-input textarea")
    ask_chat(page, Q_RD)
    ask_chat(page, "那綦江呢？")
    assert "綦江" in page.locator("#yc-chat .yc-rewrite").last.inner_text()       # rewritten query shown
    ask_chat(page, "<img src=x onerror=\"window.__xss=1\">火星移民计划的预算是多少？")
    refused = page.locator("#yc-chat .yc-refused").last
    assert "未找到直接依据" in refused.inner_text()
    assert refused.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"   # grey box
    assert page.evaluate("window.__xss") is None
    assert page.locator("#yc-chat img[src='x']").count() == 0


Q_RATE = "綦江2030年城镇化率目标是多少？"      # a 专栏 row: the answer line says 70 with the column year


def test_chat_answer_line_first_and_its_ref_opens_the_quote(page, app_url, shots):
    page.goto(app_url + "/")
    page.wait_for_selector("#yc-input textarea")
    ask_chat(page, Q_RATE)
    answer = page.locator("#yc-chat .yc-answer").last
    lead = answer.locator(".yc-lead")
    assert answer.evaluate("e => e.firstElementChild.className") == "yc-lead"      # the answer line comes first
    assert "70" in lead.inner_text() and "2030年目标" in lead.inner_text()
    assert int(lead.evaluate("e => getComputedStyle(e).fontWeight")) >= 700           # in bold
    evidence = answer.locator("details.yc-evidence")
    assert evidence.count() == 1 and evidence.get_attribute("open") is None           # the clauses folded under it
    lead.locator("a.yc-ref", has_text="[1]").click()
    opened = page.locator("#yc-chat details.yc-cite[open]")
    opened.first.wait_for()
    assert "常住人口城镇化率" in opened.first.locator("mark.yc-quote").inner_text()
    evidence.locator("summary").click()                                               # unfolds on click
    assert "根据《" in evidence.inner_text()
    page.screenshot(path=str(shots / "screenshot-answer-line.png"))


Q_SIDES = "到2030年全市和綦江区人均地区生产总值目标分别是多少？"    # two places, one figure each: a table


def test_chat_and_widget_draw_a_comparison_as_a_table(page, app_url):
    page.goto(app_url + "/")
    page.wait_for_selector("#yc-input textarea")
    ask_chat(page, Q_SIDES)
    answer = page.locator("#yc-chat .yc-answer").last
    table = answer.locator("table.yc-table")
    assert table.count() == 1 and table.locator("tr").count() == 3
    assert "14万元" in table.inner_text() and "8.5万元" in table.inner_text()
    assert "对象｜年份" not in answer.inner_text()
    table.locator("a.yc-ref").first.click()
    page.locator("#yc-chat details.yc-cite[open]").first.wait_for()
    page.goto(app_url + "/widget")
    page.locator("#yc-q").wait_for()
    bubble = widget_ask(page.main_frame, Q_SIDES)
    wt = bubble.locator("table.yc-table")
    assert wt.count() == 1 and wt.locator("tr").count() == 3 and "8.5万元" in wt.inner_text()
    wt.locator("button.yc-ref").first.click()
    assert bubble.locator("details.yc-cite[open]").count() == 1


# ------------------------------------------------------------------ widget on another origin
def widget_ask(frame, question: str | None = None):
    n = frame.locator(".yc-bot .yc-bubble[data-state]").count()
    if question is not None:
        frame.locator("#yc-q").fill(question)
    frame.locator("#yc-send").click()
    frame.locator(".yc-bot .yc-bubble[data-state]").nth(n).wait_for()
    bubble = frame.locator(".yc-bot .yc-bubble").nth(n)
    bubble.locator(".yc-fb").wait_for()                              # fully rendered
    return bubble


def test_widget_iframe_on_allowed_origin(page, app_url, hosts, shots):
    page.goto(hosts["allowed"] + "/iframe.html")
    frame = page.frame_locator("#yc-frame")
    q = frame.locator("#yc-q")
    q.wait_for()
    assert q.input_value() == Q_33618                               # ?q= pre-fills the question
    bubble = widget_ask(frame)
    assert bubble.get_attribute("data-state") == "done"
    assert "33618" in bubble.inner_text() and "集群" in bubble.inner_text()
    bubble.locator("button.yc-ref").first.click()
    cite = bubble.locator("details.yc-cite[open]")
    cite.wait_for()
    assert "《" in cite.locator("summary").inner_text() and cite.locator("mark.yc-quote").count() == 1
    bubble = widget_ask(frame, "那綦江呢？")                         # multi-turn inside the widget
    assert "綦江" in bubble.locator(".yc-rewrite").inner_text()
    bubble.locator("button.yc-ref").first.click()
    page.wait_for_timeout(400)
    page.screenshot(path=str(shots / "screenshot-widget.png"))
    assert not page.external, f"requests left the intranet: {page.external[:5]}"


def test_widget_script_loader(page, app_url, hosts, shots):
    page.goto(hosts["allowed"] + "/script.html")
    page.locator("#yc-widget-button").click()
    frame = page.frame_locator("#yc-widget-frame")
    frame.locator("#yc-q").wait_for()
    bubble = widget_ask(frame, Q_JOBS)
    assert "就业" in bubble.inner_text()
    page.screenshot(path=str(shots / "screenshot-widget-button.png"))
    page.locator("#yc-widget-button").click()                       # toggles the panel closed
    assert not page.locator("#yc-widget-frame").is_visible()


def test_api_cors_from_allowed_origin(page, app_url, hosts):
    page.goto(hosts["allowed"] + "/blank.html")
    result = page.evaluate("""async (url) => {
        const r = await fetch(url + '/api/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                               body: JSON.stringify({question: '綦江到2030年地区生产总值增长目标是多少？'})});
        const j = await r.json();
        return {status: r.status, cites: j.citations.length};
    }""", app_url)
    assert result["status"] == 200 and result["cites"] >= 1


def test_non_allowed_origin_is_refused(page, app_url, hosts):
    page.goto(hosts["denied"] + "/iframe.html")
    page.wait_for_timeout(1500)
    frame = next(f for f in page.frames if f != page.main_frame)
    assert frame.url.startswith("chrome-error://") or frame.locator("#yc-q").count() == 0
    assert any("frame-ancestors" in m for m in page.console_log), page.console_log
    outcome = page.evaluate("""async (url) => {
        try {
            await fetch(url + '/api/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                          body: JSON.stringify({question: '“33618”是什么？'})});
            return 'allowed';
        } catch (e) { return 'blocked: ' + e.name; }
    }""", app_url)
    assert outcome.startswith("blocked"), outcome


def test_widget_answer_line_on_screen_at_phone_width(browser, app_url, shots):
    """At 390x844, where citizens ask: after a long reply arrives, its answer line is in view without scrolling
    back up through the quoted clauses, and its [1] opens the quote it cites."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(app_url + "/widget")
        frame = page.main_frame
        frame.locator("#yc-q").wait_for()
        widget_ask(frame, "重庆咋解决看病难？")             # earlier turns fill the log
        bubble = widget_ask(frame, "綦江区如何推进渝黔合作先行示范区建设？")     # a why/how reply: a long item group
        lead = bubble.locator(".yc-lead")
        assert lead.count() == 1 and bubble.evaluate("e => e.querySelector('.yc-lead') !== null")
        box, log = lead.bounding_box(), page.locator("#yc-log, .yc-log").first.bounding_box()
        assert box and log and log["y"] - 1 <= box["y"] and box["y"] + 20 <= log["y"] + log["height"], (box, log)
        assert bubble.locator("details.yc-evidence").get_attribute("open") is None
        lead.locator("button.yc-ref").first.click()
        cite = bubble.locator("details.yc-cite[open]")
        cite.wait_for()
        n = lead.locator("button.yc-ref").first.inner_text().strip("[]")
        assert cite.get_attribute("data-n") == n and cite.locator("mark.yc-quote").count() == 1
        page.screenshot(path=str(shots / "screenshot-widget-phone.png"))
    finally:
        ctx.close()
