"""rag/feedback_pg.py against a real PostgreSQL (a throwaway cluster started here, tests/servers.py):
same schema, validation and export as the SQLite store; concurrent writers in two processes lose nothing."""
from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import subprocess
import sys
from pathlib import Path

import pytest

from rag.feedback import FeedbackError, FeedbackStore, open_store, store_from_settings
from servers import postgres_bin, throwaway_postgres

pytest.importorskip("psycopg", reason="psycopg not installed (pip install -r requirements.txt)")
if postgres_bin() is None:
    pytest.skip("PostgreSQL binaries absent (initdb/pg_ctl): apt-get install -y postgresql, "
                "or bash scripts/install_postgres.sh, which scripts/test.sh runs", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
CITES = [{"n": 1, "doc_id": "qijiang-15th-five-year-plan", "title": "綦江纲要", "location": "第一篇",
          "quote": "“引号”,逗号\n换行", "start": 1, "end": 9}]


@pytest.fixture(scope="module")
def pg_url():
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def pg(pg_url):
    """An empty feedback table in the shared cluster."""
    import psycopg

    with psycopg.connect(pg_url) as con:
        con.execute("DROP TABLE IF EXISTS feedback")
    return open_store(pg_url)


def _add(store, i: int, who: str = "t") -> int:
    return store.add(rating="up" if i % 2 else "down", question=f"{who}-问题{i}", answer=f"回答{i}[1]",
                     citations=CITES, backend="extractive", comment=f"=评论,{i}")


def _proc_writer(url: str, who: str, n: int) -> None:
    store = open_store(url)
    for i in range(n):
        _add(store, i, who)


def test_open_store_picks_postgres_for_a_url(pg, pg_url, tmp_path):
    from rag.feedback_pg import PostgresFeedbackStore
    from rag.settings import Settings

    assert isinstance(pg, PostgresFeedbackStore)
    assert isinstance(open_store(tmp_path / "fb.sqlite3"), FeedbackStore)
    assert isinstance(store_from_settings(Settings(feedback_url=pg_url)), PostgresFeedbackStore)
    assert isinstance(store_from_settings(Settings(feedback_db=tmp_path / "x.sqlite3")), FeedbackStore)


def test_add_update_rows(pg):
    rid = pg.add(rating="up", question="綦江2030年GDP目标？", answer="…[1]", citations=CITES, backend="extractive")
    assert rid == 1 and pg.count() == 1
    row = pg.rows()[0]
    assert row["rating"] == "up" and row["comment"] == "" and row["citations"] == CITES
    assert row["created_at"].endswith("Z")
    assert pg.update(rid, comment="很好", rating="down")
    assert (pg.rows()[0]["rating"], pg.rows()[0]["comment"]) == ("down", "很好")
    assert not pg.update(999, comment="x")
    assert not pg.update(rid)


@pytest.mark.parametrize("kwargs", [dict(rating="meh"), dict(comment="x" * 2001), dict(question=123),
                                    dict(question="a\x00b"), dict(answer="\ud800")])
def test_invalid_feedback_rejected(pg, kwargs):
    base = dict(rating="up", question="q", answer="a", citations=[], backend="extractive", comment="")
    with pytest.raises(FeedbackError):
        pg.add(**{**base, **kwargs})
    assert pg.count() == 0
    with pytest.raises(Exception):              # the CHECK constraint holds below the validation too
        import psycopg

        with psycopg.connect(pg.url) as con:
            con.execute("INSERT INTO feedback (created_at, rating, question, answer) VALUES ('x', 'meh', 'q', 'a')")


def test_export_is_the_same_as_sqlite(pg, tmp_path):
    lite = FeedbackStore(tmp_path / "fb.sqlite3")
    for store in (pg, lite):
        for i in range(3):
            _add(store, i)
        store.update(2, comment="改了\u2028一行")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "created_at"} for r in rows]
    assert strip(pg.rows()) == strip(lite.rows())
    a, b = pg.export("jsonl").splitlines(), lite.export("jsonl").splitlines()
    assert len(a) == len(b) == 3 and "\\u2028" in a[1]         # the line separator escaped in both
    assert strip(map(json.loads, a)) == strip(map(json.loads, b))
    a, b = (list(csv.DictReader(io.StringIO(x.export("csv")))) for x in (pg, lite))
    assert len(a) == 3 and strip(a) == strip(b)
    assert "'=评论,0" in pg.export("csv")                   # formula neutralised, as in SQLite


def test_two_processes_lose_nothing(pg, pg_url):
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_proc_writer, args=(pg_url, f"p{k}", 150)) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    rows = pg.rows()
    assert len(rows) == 300
    assert len({r["id"] for r in rows}) == 300
    assert {r["question"] for r in rows} == {f"p{k}-问题{i}" for k in range(2) for i in range(150)}


def test_command_line_export_from_url(pg, pg_url):
    for i in range(2):
        _add(pg, i)
    r = subprocess.run([sys.executable, "-m", "rag.feedback", "export", "--db", pg_url, "--format", "jsonl"],
                       cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["question"] for x in r.stdout.splitlines()] == ["t-问题0", "t-问题1"]


def test_api_feedback_goes_to_postgres(pg, pg_url, fake_pipeline, tmp_path):
    from fastapi.testclient import TestClient

    from rag.api import create_api
    from rag.settings import Settings

    s = Settings(embedder="fake", index_dir=tmp_path / "unused", feedback_url=pg_url, admin_token="t0ken-xyz")
    with TestClient(create_api(fake_pipeline, s)) as c:
        body = {"question": "问题", "answer": "回答", "citations": [], "backend": "extractive", "rating": "up"}
        assert c.post("/api/feedback", json=body).status_code == 200
        out = c.get("/api/admin/feedback.jsonl", headers={"Authorization": "Bearer t0ken-xyz"})
    assert out.status_code == 200 and json.loads(out.text.splitlines()[0])["question"] == "问题"
    assert pg.count() == 1
