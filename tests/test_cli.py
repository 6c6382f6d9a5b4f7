"""The command line interface of ../shared/interfaces.md, run as a user would (fake embedder)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HIT_KEYS = {"doc_id", "title", "location", "text", "start", "end", "score"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    env = dict(os.environ, RAG_EMBEDDER="fake", RAG_INDEX_DIR=str(tmp_path_factory.mktemp("cli-index")))

    def _run(*args, check=True):
        p = subprocess.run([sys.executable, "-m", "rag", *args], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=300)
        if check:
            assert p.returncode == 0, p.stderr
        return p
    return _run


def test_index_then_up_to_date(run):
    first = run("index", "--quiet")
    assert "index ready" in first.stdout and "5 documents" in first.stdout
    # each embedded document's scope is shown (what the answer stage holds it to)
    assert "qijiang-15th-five-year-plan: 綦江区 · 2026–2030年规划" in first.stdout
    assert "chongqing-2025-plan-report-excerpt: 重庆市 · 2025年计划 · 2024年执行情况/回顾" in first.stdout
    second = run("index")
    assert "up to date" in second.stdout and "0 re-embedded" in second.stdout


def test_retrieve_json_and_offsets(run):
    out = json.loads(run("retrieve", "“33618”是什么？", "-k", "3", "--json").stdout)
    assert len(out) == 3 and HIT_KEYS <= set(out[0])
    texts = {}
    for h in out:
        f = json.loads((ROOT / "corpus" / "manifest.json").read_text(encoding="utf-8"))
        name = next(d["file"] for d in f["documents"] if d["id"] == h["doc_id"])
        texts[h["doc_id"]] = (ROOT / "corpus" / name).read_text(encoding="utf-8-sig")
        assert texts[h["doc_id"]][h["start"]:h["end"]] == h["text"]


def test_ask_json_and_batch(run, tmp_path):
    a = json.loads(run("ask", "2024年计划提出要新增多少城镇就业？", "--json").stdout)
    assert {"question", "answer", "refused", "citations", "backend", "timings_ms"} <= set(a)
    assert a["citations"] and "[1]" in a["answer"]
    batch = tmp_path / "b.jsonl"
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in [
        {"id": "q1", "question": "“416”是什么？"},
        {"id": "q2", "question": "那綦江呢？", "history": [{"role": "user", "content": "重庆研发经费投入强度2030年目标"}]},
        {"id": "q3", "question": "   "}]) + "\n", encoding="utf-8")
    lines = [json.loads(l) for l in run("ask", "--batch", str(batch)).stdout.splitlines()]
    assert [l["id"] for l in lines] == ["q1", "q2", "q3"]
    assert lines[1]["rewritten_query"] and "error" in lines[2]
    lines = [json.loads(l) for l in run("retrieve", "--batch", str(batch), "-k", "2").stdout.splitlines()]
    assert len(lines[0]["hits"]) == 2 and lines[2]["hits"] == []
    # the follow-up is retrieved with the history, as ask answers it: 綦江's plan first
    assert lines[1]["hits"][0]["doc_id"] == "qijiang-15th-five-year-plan"


def test_bad_usage_is_reported(run, tmp_path):
    p = run("retrieve", "", "--json", check=False)
    assert p.returncode != 0 and "empty" in p.stderr
    p = run("ask", "--batch", str(tmp_path / "missing.jsonl"), check=False)
    assert p.returncode != 0 and "not found" in p.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    p = run("ask", "--batch", str(bad), check=False)
    assert p.returncode != 0 and "bad.jsonl:1" in p.stderr


def test_single_question_follow_up_with_history(run):
    history = json.dumps([{"role": "user", "content": "重庆研发经费投入强度2030年目标"}], ensure_ascii=False)
    hits = json.loads(run("retrieve", "那綦江呢？", "--history", history, "-k", "2", "--json").stdout)
    assert hits[0]["doc_id"] == "qijiang-15th-five-year-plan"        # retrieved with the rewrite, as ask answers
    ans = json.loads(run("ask", "那綦江呢？", "--history", history, "--json").stdout)
    assert ans["rewritten_query"] and "綦江" in ans["rewritten_query"]
    p = run("retrieve", "那綦江呢？", "--history", "[{\"role\": \"robot\"}]", check=False)
    assert p.returncode != 0 and "--history" in p.stderr
    p = run("ask", "那綦江呢？", "--history", "not json", check=False)
    assert p.returncode != 0 and "--history" in p.stderr
