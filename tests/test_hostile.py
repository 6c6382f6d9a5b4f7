"""Hostile input (tests/hostile_inputs.jsonl, fake embedder): every entry goes through POST /api/ask,
POST /api/retrieve, pipeline.ask and the chat's turn handler (app.respond). Each must end in a clear 4xx JSON
error (QuestionError for the pipeline, a notice in the chat) or a normal answer -- never a 500 or another
exception -- and everything the chat renders (app.answer_html, the escaped user bubble, every update of a
chat turn) must contain no markup but the app's own.

Entry fields: question (with optional ``repeat`` count), or ``body`` (sent as is: type confusion),
history, doc, expect ("reject" = must be 4xx / QuestionError), expect_pipeline (overrides expect for
pipeline.ask), category, note.
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.api import create_api
from rag.pipeline import QuestionError
from rag.settings import Settings

HERE = Path(__file__).resolve().parent
ENTRIES = [json.loads(line) for line in (HERE / "hostile_inputs.jsonl").read_text(encoding="utf-8").splitlines()
           if line.strip()]
DANGEROUS = re.compile(r"<\s*(script|img|svg|iframe|object|embed|style|link|meta|base|form|video|audio|input|body)"
                       r"|javascript:|onerror|onload", re.I)


def body_of(e: dict) -> dict:
    if "body" in e:
        return e["body"]
    body = {"question": e["question"] * e.get("repeat", 1)}
    for k in ("history", "doc"):
        if k in e:
            body[k] = e[k]
    return body


# ------------------------------------------------------------------ what the chat may render
class SafeHTML(HTMLParser):
    """Collects anything in rendered chat HTML that is not the app's own markup."""

    TAGS = {"div", "a", "details", "summary", "span", "mark", "br"}
    ATTRS = {"class", "id", "title", "href"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name not in self.ATTRS:
                self.problems.append(f"{tag}[{name}]")
            elif name == "href" and not re.fullmatch(r"#c[0-9a-f]+-\d+", value or ""):
                self.problems.append(f"href={value!r}")
            elif name in ("class", "id") and not re.fullmatch(r"[a-z0-9 -]*", value or ""):
                self.problems.append(f"{name}={value!r}")

    handle_startendtag = handle_starttag

    def handle_comment(self, data):
        self.problems.append("<!--comment-->")

    def handle_decl(self, decl):
        self.problems.append(f"<!{decl}>")

    def unknown_decl(self, data):
        self.problems.append(f"<![{data}]>")

    def handle_pi(self, data):
        self.problems.append(f"<?{data}>")


def unsafe_markup(html_text: str) -> list[str]:
    p = SafeHTML()
    p.feed(html_text)
    p.close()
    return p.problems


def test_checker_catches_markup():
    assert unsafe_markup('<div class="yc-answer">ok<a class="yc-ref" href="#cab12-1">[1]</a><br></div>') == []
    assert unsafe_markup('<img src=x onerror=alert(1)>')
    assert unsafe_markup('<a class="yc-ref" href="javascript:alert(1)">x</a>')
    assert unsafe_markup('<div onclick="x()">') and unsafe_markup("<!-- x -->") and unsafe_markup("<svg/onload=1>")


def test_inputs_file_covers_the_brief():
    cats = {e["category"] for e in ENTRIES}
    assert len(ENTRIES) >= 100 and len({e["id"] for e in ENTRIES}) == len(ENTRIES)
    assert {"empty", "size", "control", "zero-width", "emoji", "mixed-script", "bidi", "html", "markdown",
            "prompt-injection", "sql", "path-traversal", "json", "long-token", "unicode"} <= cats
    assert any(len(body_of(e).get("question", "")) >= 100_000 for e in ENTRIES if "body" not in e)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def client(fake_pipeline, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    s = Settings(embedder="fake", index_dir=tmp / "unused", feedback_db=tmp / "fb.sqlite3",
                 rate_limit_per_minute=100_000, admin_token="hostile-admin-token")
    with TestClient(create_api(fake_pipeline, s), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def webapp():
    import app

    return app


@pytest.fixture(scope="module")
def chat_turn(webapp, fake_pipeline, tmp_path_factory):
    """The chat's own turn handler (app.respond), answers shown whole (no typing: same HTML, fewer updates)."""
    from rag.api import RateLimiter
    from rag.feedback import FeedbackStore
    from tests.doubles import chat_handler, run_turn

    respond = chat_handler(webapp.build_ui(fake_pipeline, FeedbackStore(tmp_path_factory.mktemp("chat") / "fb.sqlite3"),
                                           RateLimiter(100_000)))

    def turn(question, doc):
        saved, webapp.TYPE_MAX_OPEN = webapp.TYPE_MAX_OPEN, 0
        try:
            return run_turn(respond, question, None, doc)
        finally:
            webapp.TYPE_MAX_OPEN = saved
    return turn


@pytest.fixture(scope="module")
def texts(fake_pipeline):
    return {d.doc_id: d.text for d in fake_pipeline.corpus.documents}


def post(client, route: str, body):
    """JSON with \\u escapes (as the browser's JSON.stringify sends lone surrogates), raw bytes."""
    return client.post(route, content=json.dumps(body).encode("ascii"), headers={"Content-Type": "application/json"})


def check_error(r) -> dict:
    assert 400 <= r.status_code < 500, f"{r.status_code}: {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert err["code"] and err["message_zh"] and err["message_en"]
    assert "Traceback" not in r.text and 'File "' not in r.text
    assert not DANGEROUS.search(r.text), "error message echoes the payload"
    return err


def check_answer(a: dict, texts: dict, webapp) -> None:
    assert isinstance(a["answer"], str) and a["answer"].strip()
    assert isinstance(a["refused"], bool) and a["backend"] == "extractive"
    ns = {c["n"] for c in a["citations"]}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", a["answer"])} <= ns
    for c in a["citations"]:
        assert texts[c["doc_id"]][c["start"]:c["end"]] == c["quote"]          # quotes come from the corpus only
    assert not DANGEROUS.search(a["answer"])                                    # the answer never carries the payload
    problems = unsafe_markup(webapp.answer_html(a, "c0123456789"))
    assert not problems, problems


# ------------------------------------------------------------------ every entry, three ways
@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_hostile_entry(entry, client, fake_pipeline, texts, webapp, chat_turn):
    body = body_of(entry)
    expect = entry.get("expect")

    # 1. POST /api/ask
    r = post(client, "/api/ask", body)
    assert r.status_code < 500, r.text[:300]
    if expect == "reject":
        check_error(r)
    elif r.status_code != 200:
        check_error(r)
    else:
        check_answer(r.json(), texts, webapp)

    # 2. POST /api/retrieve (takes no history: a history-only rejection does not apply)
    rb = {k: v for k, v in body.items() if k != "history"} if isinstance(body, dict) else body
    r = post(client, "/api/retrieve", rb)
    assert r.status_code < 500, r.text[:300]
    if expect == "reject" and "history" not in entry:
        check_error(r)
    if r.status_code == 200:
        for h in r.json():
            assert texts[h["doc_id"]][h["start"]:h["end"]] == h["text"]
    else:
        check_error(r)

    # 3. pipeline.ask directly (what the Gradio chat calls): an Answer or a QuestionError, nothing else
    expect_p = entry.get("expect_pipeline", expect)
    try:
        ans = fake_pipeline.ask(body.get("question"), history=body.get("history"), doc_filter=body.get("doc"))
    except QuestionError as e:
        assert re.search(r"[\u4e00-\u9fff].*/ [a-z]", str(e))                       # "中文 / English"
        assert expect_p != "answer"
    else:
        assert expect_p != "reject", f"accepted: {ans.answer[:100]}"
        from rag.api import answer_json

        check_answer(answer_json(fake_pipeline, ans), texts, webapp)

    # 4. the chat's user bubble and notices are escaped
    q = body.get("question")
    if isinstance(q, str):
        assert not unsafe_markup(webapp.esc(q[:2000]))
        assert not unsafe_markup(webapp.notice_html(q[:2000])) and not unsafe_markup(webapp.streaming_html(q[:2000]))

    # 5. the chat turn itself: every update it sends is the app's own markup; it ends in an answer or a notice
    if isinstance(q, str):
        outs = chat_turn(q, body.get("doc") if isinstance(body.get("doc"), str) else "")
        if not q.strip():
            assert outs == [(webapp.gr.skip(),) * 3]          # nothing to ask: nothing changes
        else:
            for _, chat, _ in outs:
                for m in chat:
                    assert not unsafe_markup(m["content"]), m["content"][:300]
            final = outs[-1][1][-1]["content"]
            assert any(k in final for k in ("yc-answer", "yc-refused")), final[:300]
            assert outs[-1][2]["chat"] == outs[-1][1]      # the conversation is kept


def test_echoed_fields_are_escaped_when_rendered(webapp):
    """Worst case: a backend that echoes the payload in every field the chat renders."""
    for e in ENTRIES:
        q = e.get("question")
        if not isinstance(q, str) or not q.strip():
            continue
        q = q[:3000]
        ans = {"question": q, "answer": q + "[1]", "refused": False, "backend": "x", "rewritten_query": q, "notice": q,
               "citations": [{"n": 1, "doc_id": q, "title": q, "location": q, "quote": q, "start": 0, "end": 1,
                              "context_before": q, "context_after": q}]}
        problems = unsafe_markup(webapp.answer_html(ans, "cabc"))
        assert not problems, (e["id"], problems)


def test_oversized_body_is_413(client):
    r = client.post("/api/ask", json={"question": "长" * 100_000})
    assert check_error(r)["code"] == "body_too_large" and r.status_code == 413


def test_hostile_feedback_and_export(client):
    """Every hostile string as a feedback question/answer/comment/citation: stored or a 4xx, never a 500;
    the exports stay valid and neutralise spreadsheet formulas."""
    auth = {"Authorization": "Bearer hostile-admin-token"}
    stored = 0
    for e in ENTRIES:
        q = e.get("question")
        if not isinstance(q, str):
            continue
        q = q * e.get("repeat", 1)
        body = ({"question": q, "answer": q, "rating": "up", "comment": q[:3000]} if len(q) > 2000 else
                {"question": q or "q", "answer": q, "rating": "down", "comment": q, "backend": q[:100],
                 "citations": [{"n": 1, "quote": q, "title": q}]})
        r = post(client, "/api/feedback", body)
        assert r.status_code < 500, (e["id"], r.text[:200])
        if r.status_code == 200:
            stored += 1
        else:
            check_error(r)
    assert stored > 100
    for cit in ([{"quote": "引\ud800文"}], [{"\udfff": 1}]):        # free-form citation dicts: checked by the store
        r = post(client, "/api/feedback", {"question": "q", "answer": "a", "rating": "up", "citations": cit})
        assert check_error(r)["code"] == "invalid_feedback"
    csv_text = client.get("/api/admin/feedback.csv", headers=auth)
    jsonl = client.get("/api/admin/feedback.jsonl", headers=auth)
    assert csv_text.status_code == 200 and jsonl.status_code == 200
    rows = [json.loads(x) for x in jsonl.text.splitlines()]
    assert len(rows) == stored
    assert "\n=" not in csv_text.text.replace('"=', "")   # formula cells are prefixed with a quote


# ------------------------------------------------------------------ garbage is refused, not answered
# Entries with no question in them -- markup, scripts, emoji, SQL, paths, JSON fragments, long runs of one letter or
# digit, a bare place name, instructions to the assistant: refused. Those marked * get the short notice
# (请用中文描述…) with no citations; the others are refused after looking (their words are Chinese, but nothing in
# the documents answers them).
NO_QUESTION = ("H017 H018 H019 H021 H022 H023 H024 H025 H033* H035 H037 H038 H040* H049 H051 H053 H054 H055 H056 H057 "
               "H059 H060 H061 H062 H063 H064 H065 H066 H067 H069 H070 H071 H072* H073 H074 H075 H076 H077 H078 H079 "
               "H080 H081 H082 H083 H084* H085 H086 H087 H088 H092 H093 H094 H095 H097 H098 H099 H103 H104 H106 H107 "
               "H110 H111 H112 H114 H115 H116 H117 H118 H119 H120 H121 H122 H123 H124 H125 H126 H127 H128 H129 H130 "
               "H137 H139 H143").split()
GARBAGE_NOTICE = {i.rstrip("*") for i in NO_QUESTION if i.endswith("*")} | {
    i for i in NO_QUESTION if not i.endswith("*") and i not in {"H098", "H099", "H103", "H106", "H107"}}


@pytest.mark.parametrize("entry_id", [i.rstrip("*") for i in NO_QUESTION])
def test_input_without_a_question_is_refused(entry_id, fake_pipeline):
    from rag.answer.compose import GARBAGE

    e = next(x for x in ENTRIES if x["id"] == entry_id)
    a = fake_pipeline.ask(e["question"] * e.get("repeat", 1), e.get("history") or [])
    assert a.refused, (entry_id, a.answer[:80])
    if entry_id in GARBAGE_NOTICE:
        assert a.notice == GARBAGE and a.citations == [], (entry_id, a.notice)


@pytest.mark.parametrize("entry_id", ["H015", "H031", "H032", "H039", "H044", "H050", "H058", "H109", "H133", "H142"])
def test_a_real_question_inside_noise_is_still_asked(entry_id, fake_pipeline):
    e = next(x for x in ENTRIES if x["id"] == entry_id)
    q = fake_pipeline.answerer.analyze(e["question"] * e.get("repeat", 1), e.get("history") or [])
    assert not q.garbage and q.terms, entry_id
