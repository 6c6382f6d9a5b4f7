"""Stateless replicas: two app processes (python app.py) on different ports share one Milvus (``milvus-lite
server``, its gRPC server in a process of its own), one PostgreSQL (a throwaway cluster) and one corpus folder.
A document uploaded through replica A's admin route is answered by replica B (B sees A's new index version and
reloads; nothing is embedded twice); feedback given on both replicas is in one export."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pymilvus", reason="pymilvus not installed (pip install -r requirements.txt)")
pytest.importorskip("milvus_lite", reason="milvus-lite not installed (pip install -r requirements.txt)")
pytest.importorskip("psycopg", reason="psycopg not installed (pip install -r requirements.txt)")
import httpx                                                          # noqa: E402

from servers import free_port, milvus_lite_server, postgres_bin, throwaway_postgres   # noqa: E402

if postgres_bin() is None:
    pytest.skip("PostgreSQL binaries absent (initdb/pg_ctl): apt-get install -y postgresql, "
                "or bash scripts/install_postgres.sh, which scripts/test.sh runs", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "replica-admin-token-1234"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOCS = ("chongqing-2024-plan-report-excerpt", "chongqing-2025-plan-report-excerpt")
NEW_DOC = ("重庆市蓝莓港湾冷链物流三年行动计划\n\n一、总体目标\n到2027年，全市建成12个蓝莓港湾智慧冷链物流园区，"
           "冷库总容量达到300万吨。\n\n二、重点任务\n（一）建设蓝莓港湾冷链枢纽。推动冷链物流园区数字化改造。\n")


def _corpus(src, d: Path) -> Path:
    d.mkdir()
    entries = []
    for doc in src.documents:
        if doc.doc_id in DOCS:
            shutil.copy(doc.path, d / doc.meta["file"])
            entries.append({"id": doc.doc_id, "file": doc.meta["file"], "title": doc.title})
    (d / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    return d


def _wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"replica exited ({proc.returncode}): {log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready: {log.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, corpus):
    base = tmp_path_factory.mktemp("replicas")
    cdir = _corpus(corpus, base / "corpus")
    with throwaway_postgres() as pg, milvus_lite_server(base / "milvus") as milvus:
        env = {**os.environ, "RAG_EMBEDDER": "fake", "RAG_STORE": "milvus", "RAG_MILVUS_URI": milvus,
               "RAG_FEEDBACK_URL": pg, "RAG_CORPUS_DIR": str(cdir), "RAG_INDEX_DIR": str(base / "unused"),
               "RAG_ADMIN_TOKEN": TOKEN, "RAG_MILVUS_POLL_SECONDS": "0.5", "RAG_LOG_LEVEL": "info"}
        # the one-off index job (docs/deploy.md), then the replicas start and only load
        job = subprocess.run([sys.executable, "-m", "rag", "index", "--quiet"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
        assert job.returncode == 0, job.stderr[-3000:]
        procs, urls = [], []
        try:
            for name in ("a", "b"):
                port, log = free_port(), base / f"{name}.log"
                procs.append(subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                                              stdout=open(log, "w"), stderr=subprocess.STDOUT))
                urls.append((f"http://127.0.0.1:{port}", log))
            for (url, log), proc in zip(urls, procs):
                _wait_ready(url, proc, log)
            yield {"a": urls[0][0], "b": urls[1][0], "logs": [log for _, log in urls], "pg": pg}
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()


def test_upload_on_a_is_answered_by_b_and_feedback_is_shared(replicas):
    a, b = replicas["a"], replicas["b"]
    for url in (a, b):
        assert httpx.get(url + "/api/health").json()["documents"] == 2
    r = httpx.post(a + "/api/admin/documents", headers=AUTH, timeout=120,
                   files={"file": ("lanmei.txt", NEW_DOC.encode("utf-8"), "text/plain")},
                   data={"issuer": "重庆市人民政府", "date": "2025-03-01"})
    assert r.status_code == 201, r.text
    new_id = r.json()["document"]["id"]
    assert r.json()["documents"] == 3

    question = "蓝莓港湾智慧冷链物流园区到2027年要建成多少个？"
    # B reloads within a poll or two (0.5 s each); /api/health may count 3 documents a moment before the
    # answers do
    deadline, ans = time.time() + 60, None
    while time.time() < deadline:
        if httpx.get(b + "/api/health").json()["documents"] == 3:
            ans = httpx.post(b + "/api/ask", json={"question": question}, timeout=60).json()
            if any(c["doc_id"] == new_id for c in ans["citations"]):
                break
        time.sleep(0.5)
    assert ans is not None, "replica B never saw the uploaded document"
    assert any(c["doc_id"] == new_id for c in ans["citations"]), ans
    assert "12个" in ans["answer"] and not ans["refused"]
    hits = httpx.post(b + "/api/retrieve", json={"question": question, "k": 3}).json()
    assert hits[0]["doc_id"] == new_id
    b_log = replicas["logs"][1].read_text(errors="replace")
    assert "published by another replica" in b_log and "向量化" not in b_log      # B loaded, did not embed

    for url, who in ((a, "A"), (b, "B")):
        body = {"question": f"问{who}", "answer": "答[1]", "citations": [], "backend": "extractive", "rating": "up"}
        assert httpx.post(url + "/api/feedback", json=body).status_code == 200
    export = httpx.get(b + "/api/admin/feedback.jsonl", headers=AUTH).text
    assert [json.loads(x)["question"] for x in export.splitlines()] == ["问A", "问B"]
    assert export == httpx.get(a + "/api/admin/feedback.jsonl", headers=AUTH).text
