"""rag/feedback.py: concurrent writers lose nothing; CSV / JSONL export; command line."""
from __future__ import annotations

import csv
import io
import json
import multiprocessing as mp
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rag.feedback import FeedbackError, FeedbackStore

ROOT = Path(__file__).resolve().parent.parent
CITES = [{"n": 1, "doc_id": "qijiang-15th-five-year-plan", "title": "綦江纲要", "location": "第一篇", "quote": "“引号”,逗号\n换行",
          "start": 1, "end": 9}]


def _add(store: FeedbackStore, i: int, who: str = "t") -> None:
    store.add(rating="up" if i % 2 else "down", question=f"{who}-问题{i}", answer=f"回答{i}[1]",
              citations=CITES, backend="extractive", comment=f"评论,{i}")


def _proc_writer(db: str, who: str, n: int) -> None:
    store = FeedbackStore(db)
    for i in range(n):
        _add(store, i, who)


def test_add_and_rows(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    rid = store.add(rating="up", question="綦江2030年GDP目标？", answer="…[1]", citations=CITES, backend="extractive")
    assert rid == 1 and store.count() == 1
    row = store.rows()[0]
    assert row["rating"] == "up" and row["comment"] == "" and row["citations"] == CITES
    assert row["created_at"].endswith("Z")
    assert store.update(rid, comment="很好", rating="down")
    row = store.rows()[0]
    assert (row["rating"], row["comment"]) == ("down", "很好")
    assert not store.update(999, comment="x")


@pytest.mark.parametrize("kwargs", [
    dict(rating="meh"), dict(rating=None), dict(comment="x" * 2001), dict(question=123), dict(answer="a" * 20001),
])
def test_invalid_feedback_rejected(tmp_path, kwargs):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    base = dict(rating="up", question="q", answer="a", citations=[], backend="extractive", comment="")
    with pytest.raises(FeedbackError):
        store.add(**{**base, **kwargs})
    assert store.count() == 0


def test_wal_mode(tmp_path):
    import sqlite3

    FeedbackStore(tmp_path / "fb.sqlite3")
    con = sqlite3.connect(tmp_path / "fb.sqlite3")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_parallel_threads_lose_nothing(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    n_threads, per = 8, 40
    errors = []

    def work(t):
        try:
            for i in range(per):
                _add(store, i, f"t{t}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = store.rows()
    assert len(rows) == n_threads * per
    assert len({r["id"] for r in rows}) == len(rows)
    assert {r["question"] for r in rows} == {f"t{t}-问题{i}" for t in range(n_threads) for i in range(per)}


def test_parallel_processes_lose_nothing(tmp_path):
    db = str(tmp_path / "fb.sqlite3")
    FeedbackStore(db)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_proc_writer, args=(db, f"p{k}", 30)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    rows = FeedbackStore(db).rows()
    assert len(rows) == 120
    assert {r["question"] for r in rows} == {f"p{k}-问题{i}" for k in range(4) for i in range(30)}


def test_export_csv_roundtrip(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    for i in range(3):
        _add(store, i)
    store.add(rating="down", question="=HYPERLINK(\"http://x\")", answer="a", comment="@SUM(A1)")
    text = store.export("csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 4
    assert list(rows[0]) == ["id", "created_at", "rating", "comment", "question", "answer", "citations", "backend"]
    assert rows[0]["comment"] == "评论,0" and rows[0]["rating"] == "down"
    assert json.loads(rows[0]["citations"]) == CITES           # quotes, commas and newlines survive
    assert rows[3]["question"].startswith("'=") and rows[3]["comment"].startswith("'@")  # no formula injection


def test_export_jsonl(tmp_path):
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    for i in range(3):
        _add(store, i)
    lines = store.export("jsonl").splitlines()
    assert len(lines) == 3
    objs = [json.loads(x) for x in lines]
    assert objs[1]["question"] == "t-问题1" and objs[1]["citations"] == CITES
    assert "问题" in lines[0]                                    # Chinese unescaped
    with pytest.raises(FeedbackError):
        store.export("xml")


def test_command_line_export(tmp_path):
    db = tmp_path / "fb.sqlite3"
    store = FeedbackStore(db)
    for i in range(2):
        _add(store, i)
    run = lambda *a: subprocess.run([sys.executable, "-m", "rag.feedback", "export", "--db", str(db), *a],
                                    cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=60)
    r = run("--format", "jsonl")
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["question"] for x in r.stdout.splitlines()] == ["t-问题0", "t-问题1"]
    out = tmp_path / "fb.csv"
    r = run("--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                     # BOM so Excel reads the Chinese
    assert len(list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))) == 2
    r = subprocess.run([sys.executable, "-m", "rag.feedback", "export", "--db", str(tmp_path / "none.sqlite3")],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Traceback" not in r.stderr
