"""REST API (rag/api.py) and the web app assembly (app.py), with the fake embedder and a tmp index.

Covers every route, bad input -> 4xx JSON errors, CORS allowed/denied, admin token on/off,
rate limit 429, health counts, thread safety, the widget's CSP and the chat's HTML rendering."""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from rag.api import RateLimiter, create_api
from rag.feedback import FeedbackStore
from rag.settings import Settings
from tests.doubles import RunsNow

TOKEN = "s3cret-admin-token"
ALLOWED = "http://localhost:9999"
DENIED = "http://evil.example"
Q_JOBS = "2024年计划提出要新增多少城镇就业？"


def make_settings(tmp, **over) -> Settings:
    base = dict(embedder="fake", index_dir=tmp / "index", feedback_db=tmp / "feedback.sqlite3",
                allowed_origins=[ALLOWED, "http://127.0.0.1:7860"], admin_token=TOKEN, rate_limit_per_minute=10_000,
                backend="extractive")
    return Settings(**{**base, **over})


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("api")


@pytest.fixture(scope="module")
def settings(tmp):
    return make_settings(tmp)


@pytest.fixture(scope="module")
def pipeline(fake_pipeline):          # conftest: the real corpus, fake embedder, tmp index
    return fake_pipeline


@pytest.fixture(scope="module")
def client(pipeline, settings):
    with TestClient(create_api(pipeline, settings), raise_server_exceptions=False) as c:
        yield c


def assert_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert set(err) >= {"code", "message_zh", "message_en"}
    assert err["message_zh"] and err["message_en"]
    if code:
        assert err["code"] == code
    assert "Traceback" not in r.text and "File \"" not in r.text
    return err


# ------------------------------------------------------------------ health / documents / docs
def test_health_counts(client, pipeline):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "documents": 5, "chunks": len(pipeline.index.chunks), "problems": []}
    assert r.json()["chunks"] > 100


def test_documents(client):
    docs = client.get("/api/documents").json()
    assert len(docs) == 5 and all(set(d) == {"doc_id", "title"} for d in docs)
    assert "qijiang-15th-five-year-plan" in {d["doc_id"] for d in docs}


def test_openapi_docs(client):
    spec = client.get("/api/openapi.json").json()
    assert {"/api/ask", "/api/retrieve", "/api/health", "/api/feedback", "/api/admin/reindex"} <= set(spec["paths"])
    r = client.get("/api/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


# ------------------------------------------------------------------ ask / retrieve
def test_ask_answer_shape_and_citations(client, pipeline):
    r = client.post("/api/ask", json={"question": Q_JOBS, "history": []})
    assert r.status_code == 200
    assert "城镇新增就业" in r.content.decode("utf-8")          # Chinese unescaped
    a = r.json()
    assert set(a) >= {"question", "answer", "refused", "citations", "backend", "timings_ms"}
    assert a["question"] == Q_JOBS and not a["refused"] and a["backend"] == "extractive"
    assert a["citations"]
    texts = {d.doc_id: d.text for d in pipeline.corpus.documents}
    for c in a["citations"]:
        assert texts[c["doc_id"]][c["start"]:c["end"]] == c["quote"]
        assert f"[{c['n']}]" in a["answer"]
        assert "context_before" in c and "context_after" in c
        before, after = c["context_before"], c["context_after"]
        assert texts[c["doc_id"]][c["start"] - len(before):c["end"] + len(after)] == before + c["quote"] + after
    assert {int(n) for n in re.findall(r"\[(\d+)\]", a["answer"])} <= {c["n"] for c in a["citations"]}


def test_ask_refuses_unrelated(client):
    a = client.post("/api/ask", json={"question": "火星移民计划的预算是多少？"}).json()
    assert a["refused"] is True and "未提及" in a["answer"]


def test_ask_doc_filter(client):
    doc = "qijiang-15th-five-year-plan"
    a = client.post("/api/ask", json={"question": "地区生产总值增长目标是多少？", "doc": doc}).json()
    assert a["citations"] and all(c["doc_id"] == doc for c in a["citations"])
    assert client.post("/api/ask", json={"question": "地区生产总值增长目标", "doc": "全部"}).status_code == 200
    assert_error(client.post("/api/ask", json={"question": "目标", "doc": "no-such-doc"}), 422, "unknown_document")


def test_ask_follow_up_uses_history(client):
    history = [{"role": "user", "content": "重庆“十五五”研发经费投入强度目标是多少？"},
               {"role": "assistant", "content": "3.25[1]"}]
    a = client.post("/api/ask", json={"question": "那綦江呢？", "history": history}).json()
    assert a["rewritten_query"] and "綦江" in a["rewritten_query"]
    assert any(c["doc_id"] == "qijiang-15th-five-year-plan" for c in a["citations"])


def test_retrieve(client):
    hits = client.post("/api/retrieve", json={"question": "“33618”是什么？", "k": 3}).json()
    assert len(hits) == 3
    assert set(hits[0]) >= {"doc_id", "title", "location", "text", "start", "end", "score"}
    assert hits[0]["score"] >= hits[-1]["score"]
    assert len(client.post("/api/retrieve", json={"question": "“33618”是什么？"}).json()) == 5   # default k
    history = [{"role": "user", "content": "重庆到2030年研发经费投入强度目标是多少？"}]
    hits = client.post("/api/retrieve", json={"question": "那綦江呢？", "history": history, "k": 3}).json()
    assert hits[0]["doc_id"] == "qijiang-15th-five-year-plan"                 # retrieved as ask retrieves it


# ------------------------------------------------------------------ bad input -> 4xx JSON
@pytest.mark.parametrize("route,body,status,code", [
    ("/api/ask", {"question": ""}, 422, "question_empty"),
    ("/api/ask", {"question": "   \u200b "}, 422, "question_empty"),
    ("/api/ask", {"question": "长" * 501}, 422, "question_too_long"),
    ("/api/ask", {"question": 42}, 422, "validation_error"),
    ("/api/ask", {"question": ["a"]}, 422, "validation_error"),
    ("/api/ask", {"question": None}, 422, "validation_error"),
    ("/api/ask", {}, 422, "validation_error"),
    ("/api/ask", [], 422, "validation_error"),
    ("/api/ask", {"question": "q", "history": "not a list"}, 422, "validation_error"),
    ("/api/ask", {"question": "q", "history": [{"role": "system", "content": "x"}]}, 422, "validation_error"),
    ("/api/ask", {"question": "q", "history": [{"role": "user", "content": 5}]}, 422, "validation_error"),
    ("/api/ask", {"question": "q", "history": [{"role": "user", "content": "x"}] * 51}, 422, "validation_error"),
    ("/api/ask", {"question": "q", "doc": 3}, 422, "validation_error"),
    ("/api/retrieve", {"question": "q", "k": 0}, 422, "validation_error"),
    ("/api/retrieve", {"question": "q", "k": 51}, 422, "validation_error"),
    ("/api/retrieve", {"question": "q", "k": "5"}, 422, "validation_error"),
    ("/api/retrieve", {"question": "q", "k": 2.5}, 422, "validation_error"),
    ("/api/retrieve", {"question": "q", "k": True}, 422, "validation_error"),
    ("/api/retrieve", {"question": ""}, 422, "question_empty"),
])
def test_bad_input(client, route, body, status, code):
    err = assert_error(client.post(route, json=body), status, code)
    if code == "question_too_long":
        assert "500" in err["message_zh"] and "too long" in err["message_en"]


def test_bad_json_and_content_types(client):
    assert_error(client.post("/api/ask", content=b'{"question": ', headers={"Content-Type": "application/json"}),
                 400, "invalid_json")
    assert_error(client.post("/api/ask", content="\xff\xfe".encode("latin-1"), headers={"Content-Type": "application/json"}),
                 400, "invalid_json")
    r = client.post("/api/ask", content=b'{"question": "q"}', headers={"Content-Type": "text/plain"})
    assert 400 <= r.status_code < 500 and "error" in r.json()
    assert_error(client.post("/api/ask"), 422, "validation_error")


def test_body_too_large(client):
    assert_error(client.post("/api/ask", json={"question": "q", "pad": "x" * 300_000}), 413, "body_too_large")


def test_unknown_route_and_method(client):
    assert_error(client.get("/api/nope"), 404, "not_found")
    assert_error(client.get("/api/ask"), 405, "method_not_allowed")
    assert_error(client.delete("/api/health"), 405, "method_not_allowed")


class ExplodingPipeline(RunsNow):
    """Stands in for a pipeline whose internals fail with a secret in the message."""

    class corpus:
        documents = []

    def ask(self, *a, **k):
        raise RuntimeError(f"database password {TOKEN} at /srv/internal/path.py")

    retrieve = ask

    def stats(self):
        raise KeyError("boom")


def test_internal_error_is_generic_and_redacted(settings, caplog):
    with TestClient(create_api(ExplodingPipeline(), settings), raise_server_exceptions=False) as c:
        with caplog.at_level(logging.ERROR, logger="rag.api"):
            for r in (c.post("/api/ask", json={"question": "q"}), c.post("/api/retrieve", json={"question": "q"}),
                      c.get("/api/health")):
                err = assert_error(r, 500, "internal_error")
                assert TOKEN not in r.text and "/srv/internal" not in r.text and "RuntimeError" not in r.text
                assert err["message_zh"] == "服务器内部错误，请稍后再试。"
    assert "RuntimeError" in caplog.text and TOKEN not in caplog.text


# ------------------------------------------------------------------ CORS
def test_cors_preflight_allowed_and_denied(client):
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/api/ask", headers={"Origin": ALLOWED, **pre})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ALLOWED
    bad = client.options("/api/ask", headers={"Origin": DENIED, **pre})
    assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers


def test_cors_simple_requests(client):
    r = client.post("/api/ask", json={"question": Q_JOBS}, headers={"Origin": ALLOWED})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ALLOWED
    r = client.post("/api/ask", json={"question": Q_JOBS}, headers={"Origin": DENIED})
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/api/health", headers={"Origin": DENIED})
    assert "access-control-allow-origin" not in r.headers
    assert_error(client.get("/api/nope", headers={"Origin": ALLOWED}), 404)   # errors keep CORS headers too


# ------------------------------------------------------------------ feedback
def test_feedback_stored(client, settings):
    a = client.post("/api/ask", json={"question": Q_JOBS}).json()
    body = {"question": a["question"], "answer": a["answer"], "citations": a["citations"], "backend": a["backend"],
            "rating": "up", "comment": "准确"}
    r = client.post("/api/feedback", json=body)
    assert r.status_code == 200 and r.json()["status"] == "ok"
    rid = r.json()["id"]
    row = next(x for x in FeedbackStore(settings.feedback_db).rows() if x["id"] == rid)
    assert row["rating"] == "up" and row["comment"] == "准确" and row["citations"][0]["quote"] == a["citations"][0]["quote"]
    r = client.post("/api/feedback", json={**body, "rating": "down", "comment": None})
    assert r.status_code == 200


@pytest.mark.parametrize("patch", [
    {"rating": "meh"}, {"rating": 1}, {"rating": None}, {"comment": "x" * 2001}, {"question": ""},
    {"citations": "nope"}, {"citations": [1, 2]}, {"answer": 3},
])
def test_feedback_invalid(client, patch):
    body = {"question": "q", "answer": "a", "citations": [], "backend": "extractive", "rating": "up"}
    assert_error(client.post("/api/feedback", json={**body, **patch}), 422, "validation_error")


# ------------------------------------------------------------------ admin
def test_admin_requires_token(client):
    for method, path in (("post", "/api/admin/reindex"), ("get", "/api/admin/feedback.csv"),
                         ("get", "/api/admin/feedback.jsonl")):
        call = getattr(client, method)
        r = call(path)
        assert_error(r, 401, "unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"
        for bad in ("Bearer wrong", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x", "Bearer "):
            r = call(path, headers={"Authorization": bad})
            assert_error(r, 401, "unauthorized")
            assert TOKEN not in r.text


def test_admin_exports(client, settings):
    client.post("/api/feedback", json={"question": "导出测试，逗号", "answer": "a", "rating": "down"})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    n = FeedbackStore(settings.feedback_db).count()
    r = client.get("/api/admin/feedback.csv", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("id,created_at,rating,comment,question")
    assert "导出测试，逗号" in text
    r = client.get("/api/admin/feedback.jsonl", headers=auth)
    assert r.status_code == 200
    rows = [json.loads(x) for x in r.text.splitlines()]
    assert len(rows) == n and rows[-1]["question"] == "导出测试，逗号"


def test_admin_reindex(client, pipeline):
    r = client.post("/api/admin/reindex", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["documents"] == 5 and body["chunks"] == len(pipeline.index.chunks)
    assert client.post("/api/ask", json={"question": Q_JOBS}).status_code == 200


def test_admin_disabled_without_token(pipeline, tmp):
    s = make_settings(tmp, admin_token="")
    with TestClient(create_api(pipeline, s), raise_server_exceptions=False) as c:
        for method, path in (("post", "/api/admin/reindex"), ("get", "/api/admin/feedback.csv"),
                             ("get", "/api/admin/feedback.jsonl")):
            for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {TOKEN}"}):
                err = assert_error(getattr(c, method)(path, headers=headers), 403, "admin_disabled")
                assert "admin disabled" in err["message_en"].lower()


# ------------------------------------------------------------------ rate limit
def test_rate_limit_429(pipeline, tmp):
    s = make_settings(tmp, rate_limit_per_minute=3)
    app = create_api(pipeline, s)
    with TestClient(app, raise_server_exceptions=False) as c:
        for _ in range(3):
            assert c.post("/api/retrieve", json={"question": "綦江", "k": 1}).status_code == 200
        r = c.post("/api/ask", json={"question": Q_JOBS})
        err = assert_error(r, 429, "rate_limited")
        assert "频繁" in err["message_zh"] and "3 per minute" in err["message_en"]
        assert 1 <= int(r.headers["retry-after"]) <= 61
        assert c.get("/api/health").status_code == 200                       # monitoring is not limited
        pre = {"Origin": ALLOWED, "Access-Control-Request-Method": "POST"}
        assert c.options("/api/ask", headers=pre).status_code == 200        # nor CORS preflights
    with TestClient(app, raise_server_exceptions=False, client=("10.0.0.2", 5000)) as other:
        assert other.post("/api/retrieve", json={"question": "綦江", "k": 1}).status_code == 200   # per client


def test_rate_limiter_sliding_window():
    rl = RateLimiter(2, window=0.3)
    assert rl.hit("a") == 0 and rl.hit("a") == 0
    assert 0 < rl.hit("a") <= 0.3
    assert rl.hit("b") == 0
    time.sleep(0.35)
    assert rl.hit("a") == 0


# ------------------------------------------------------------------ thread safety
def test_concurrent_requests(client):
    questions = ["重庆“十五五”研发经费投入强度目标是多少？", "“33618”是什么？", "綦江到2030年地区生产总值增长目标是多少？", Q_JOBS]
    expected = {q: client.post("/api/ask", json={"question": q}).json()["answer"] for q in questions}

    def one(i):
        q = questions[i % len(questions)]
        r = client.post("/api/ask", json={"question": q}) if i % 3 else client.post("/api/retrieve", json={"question": q})
        return q, i % 3, r.status_code, r.json()

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(one, range(48)))
    assert all(status == 200 for _, _, status, _ in results)
    for q, kind, _, body in results:
        if kind:
            assert body["answer"] == expected[q]                           # same answer under load


# ------------------------------------------------------------------ the assembled app (app.py)
@pytest.fixture(scope="module")
def web(pipeline, settings):
    import app as webapp

    with TestClient(webapp.build_app(settings, pipeline), raise_server_exceptions=False) as c:
        yield c


def test_app_serves_chat_api_and_widget(web):
    r = web.get("/")
    assert r.status_code == 200 and "渝策问答" in r.text
    assert web.get("/api/health").json()["documents"] == 5
    r = web.get("/widget?q=%E6%B5%8B%E8%AF%95")
    assert r.status_code == 200 and 'id="yc-q"' in r.text
    csp = r.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {ALLOWED} http://127.0.0.1:7860" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    js = web.get("/widget.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "/widget" in js.text
    assert web.get("/widget/widget-app.js").status_code == 200
    assert web.get("/widget/widget.css").status_code == 200
    assert_error(web.get("/api/missing"), 404, "not_found")                  # /api stays JSON under the UI mount


def test_app_root_path(pipeline, settings):
    import app as webapp

    s = settings.model_copy(update={"root_path": "/yuce"})
    with TestClient(webapp.build_app(s, pipeline), root_path="/yuce") as c:
        r = c.get("/widget")
        assert r.status_code == 200
        assert 'src="/yuce/widget/widget-app.js"' in r.text and 'content="/yuce"' in r.text
        assert c.get("/api/health").status_code == 200


def test_frame_ancestors_drops_malformed_origins(tmp):
    import app as webapp

    s = make_settings(tmp, allowed_origins=["http://ok.example:8080", "http://x; script-src *", "javascript:alert(1)"])
    assert webapp.frame_ancestors(s) == "'self' http://ok.example:8080"


# ------------------------------------------------------------------ chat HTML rendering (app.py)
def test_answer_html_escapes_and_links():
    import app as webapp

    ans = {"question": "q", "answer": "<script>x</script> 结论[1]，另见[2]与[9]。", "refused": False, "backend": "extractive",
           "rewritten_query": "<b>改写</b>", "notice": None,
           "citations": [{"n": 1, "doc_id": "d", "title": "标题<i>", "location": "第一章", "quote": "引<用>",
                          "context_before": "前文&", "context_after": "后文", "start": 0, "end": 3},
                         {"n": 2, "doc_id": "d", "title": "T", "location": "L", "quote": "Q", "start": 0, "end": 1}]}
    h = webapp.answer_html(ans, "cabc")
    assert "<script>" not in h and "&lt;script&gt;" in h and "<b>" not in h and "<i>" not in h
    assert '<a class="yc-ref" href="#cabc-1"' in h and '<a class="yc-ref" href="#cabc-2"' in h
    assert "[9]" in h and 'href="#cabc-9"' not in h                    # no link without a citation
    assert 'id="cabc-1"' in h and '<mark class="yc-quote">引&lt;用&gt;</mark>' in h and "前文&amp;" in h
    assert "已理解为" in h and "yc-refused" not in h
    refused = webapp.answer_html({**ans, "refused": True}, "cx")
    assert "yc-refused" in refused and "最接近的条款" in refused


def test_answer_html_draws_the_comparison_table_once():
    import app as webapp

    lead = "重庆市：A 14[1]；綦江区：B <8.5>[2]"
    ans = {"question": "q", "refused": False, "backend": "extractive", "lead": lead,
           "answer": f"{lead}\n\n对象｜年份｜数值｜出处\n重庆市｜2030年目标｜14万元｜[1]\n綦江区｜2030年目标｜<8.5>｜[2]\n\n根据《T》L：Q[1]",
           "table": [{"side": "重庆市", "year": "2030年目标", "value": "14万元", "cite": "[1]"},
                     {"side": "綦江区", "year": "2030年目标", "value": "<8.5>", "cite": "[2]"}],
           "citations": [{"n": 1, "doc_id": "d", "title": "T", "location": "L", "quote": "Q", "start": 0, "end": 1},
                         {"n": 2, "doc_id": "d", "title": "T", "location": "L", "quote": "R", "start": 1, "end": 2}]}
    h = webapp.answer_html(ans, "ct")
    assert h.count('<table class="yc-table">') == 1 and h.count("<tr>") == 3 and "<th>对象</th>" in h
    assert "&lt;8.5&gt;" in h and "<8.5>" not in h                               # cells escaped
    assert 'href="#ct-2"' in h.split("<table")[1].split("</table>")[0]           # its [n] open the quotes
    assert "对象｜年份" not in h                                                # the text lines not repeated
    assert "根据《T》" in h


def test_display_segments_tidies_tables_and_wraps():
    import app as webapp

    assert webapp.display_segments(["6\n\t研发", "经费\n\t3.25", "\n\t预期性"]) == ["6 ｜ 研发", "经费 ｜ 3.25", " ｜ 预期性"]
    assert webapp.display_segments(["健全公共就业服务体系，实施\n“稳岗", "扩岗”就业\n容量"]) == ["健全公共就业服务体系，实施“稳岗", "扩岗”就业容量"]
    assert webapp.display_segments(["line one\nline two"]) == ["line one\nline two"]
