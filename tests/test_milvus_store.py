"""rag/milvus_store.py on Milvus Lite (embedded, a temp folder) with the fake embedder and two small documents:
the same dense ranking as FAISS, BM25 through Milvus's jieba analyzer, document filters, incremental builds,
the atomic alias switch, old versions dropped, and the per-document row checksums."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="pymilvus not installed (pip install -r requirements.txt)")
pytest.importorskip("milvus_lite", reason="milvus-lite not installed (pip install -r requirements.txt)")

from rag.chunk import Chunker                                        # noqa: E402
from rag.corpus import load_corpus                                   # noqa: E402
from rag.embed import FakeEmbedder                                   # noqa: E402
from rag.index import IndexError_, build_index                       # noqa: E402
from rag.milvus_store import (MilvusConfig, build_milvus_index, current_version, ensure_milvus_index,  # noqa: E402
                              load_milvus_index)
from rag.pipeline import Pipeline                                    # noqa: E402
from rag.settings import Settings                                    # noqa: E402

DOCS = ("chongqing-2024-plan-report-excerpt", "chongqing-2025-plan-report-excerpt")


def _small_corpus(corpus, d):
    d.mkdir(parents=True, exist_ok=True)
    entries = []
    for doc in corpus.documents:
        if doc.doc_id in DOCS:
            shutil.copy(doc.path, d / doc.meta["file"])
            entries.append({"id": doc.doc_id, "file": doc.meta["file"], "title": doc.title})
    (d / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def env(tmp_path_factory, corpus):
    """A small corpus, its Milvus index (built once) and the FAISS index of the same corpus."""
    base = tmp_path_factory.mktemp("milvus")
    cdir = _small_corpus(corpus, base / "corpus")
    cfg = MilvusConfig(uri=str(base / "milvus" / "index.db"), name="rag_test")
    small = load_corpus(cdir)
    midx, report = build_milvus_index(small, FakeEmbedder(), Chunker(), cfg, progress=False)
    fidx, _ = build_index(small, FakeEmbedder(), Chunker(), base / "faiss", progress=False)
    return {"base": base, "corpus_dir": cdir, "cfg": cfg, "milvus": midx, "faiss": fidx, "report": report}


def test_first_build_embeds_everything_and_sets_the_alias(env):
    rep, idx = env["report"], env["milvus"]
    assert sorted(rep.embedded_documents) == sorted(DOCS) and rep.reused_documents == []
    assert idx.collection == current_version(env["cfg"].connect(), env["cfg"])
    assert len(idx.chunks) == len(env["faiss"].chunks) > 50
    assert idx.vectors.shape[0] == 0                         # the vectors live in Milvus, not in this process


def test_dense_search_matches_faiss(env):
    """FLAT inner product in Milvus = FAISS IndexFlatIP: same ids, same scores, with and without a filter."""
    m, f = env["milvus"], env["faiss"]
    emb = FakeEmbedder()
    allowed = np.array([i for i, c in enumerate(f.chunks) if c.doc_id == DOCS[1]], np.int64)
    for q in ("2025年地区生产总值增长目标", "城乡居民收入", "稳就业"):
        v = emb.embed_queries([q])[0]
        for a in (None, allowed):
            ms, mi = m.dense_search(v, 10, a)
            fs, fi = f.dense_search(v, 10, a)
            assert list(mi) == list(fi)
            assert np.allclose(ms, fs, atol=1e-5)
    ms, mi = m.dense_search(emb.embed_queries(["x"])[0], 10, allowed)
    assert {m.chunks[i].doc_id for i in mi} == {DOCS[1]}


def test_bm25_through_milvus_finds_the_term(env):
    m = env["milvus"]
    scores = m.bm25_scores(m.lexicon.query_tokens("城镇调查失业率"))
    top = np.argsort(-scores)[:3]
    assert scores[top[0]] > 0
    assert all("失业率" in m.chunks[i].indexed_text() for i in top)
    assert not m.bm25_scores([]).any()


def test_fused_retrieval_agrees_with_faiss_store(env, tmp_path):
    """The whole retriever over both stores: the same top hit for questions with a distinctive term, and a
    document filter keeps to its document."""
    def pipe(store):
        return Pipeline(Settings(embedder="fake", store=store, corpus_dir=env["corpus_dir"], index_dir=env["base"] / "faiss",
                                 milvus_uri=env["cfg"].uri, milvus_collection="rag_test", ask_process=False,
                                 feedback_db=tmp_path / "fb.sqlite3"), progress=False)
    pm, pf = pipe("milvus"), pipe("faiss")
    assert pm.build_report is None and pf.build_report is None      # both loaded, nothing rebuilt
    same = 0
    questions = ["2024年城镇调查失业率控制在多少？", "2025年居民消费价格涨幅目标是多少？", "粮食产量要稳定在多少？",
                 "2024年一般公共预算收入增长多少？"]
    for q in questions:
        hm, hf = pm.retrieve(q), pf.retrieve(q)
        same += hm[0].chunk_id == hf[0].chunk_id
        assert len(set(h.chunk_id for h in hm) & set(h.chunk_id for h in hf)) >= 3
    assert same >= len(questions) - 1
    hits = pm.retriever.retrieve("地区生产总值", 10, doc_filter=DOCS[0])
    assert hits and {h.doc_id for h in hits} == {DOCS[0]}
    assert pm.ask(questions[0]).citations


def test_incremental_build_switches_atomically_and_keeps_two_versions(env, tmp_path):
    cdir = _small_corpus(load_corpus(env["corpus_dir"]), tmp_path / "corpus")
    cfg = MilvusConfig(uri=str(tmp_path / "m" / "index.db"), name="rag_incr", keep_versions=2)
    client = cfg.connect()
    first, _ = build_milvus_index(load_corpus(cdir), FakeEmbedder(), Chunker(), cfg, progress=False)
    f = cdir / json.loads((cdir / "manifest.json").read_text())["documents"][1]["file"]
    f.write_text(f.read_text(encoding="utf-8") + "\n新增一段：智慧城市建设取得新进展。\n", encoding="utf-8")
    versions = [first.collection]
    for round_ in range(2):
        idx, rep = ensure_milvus_index(load_corpus(cdir), FakeEmbedder(), Chunker(), cfg, progress=False)
        if round_ == 0:
            assert rep is not None and rep.embedded_documents == [DOCS[1]] and rep.reused_documents == [DOCS[0]]
            assert any("智慧城市" in c.text for c in idx.chunks)
            versions.append(idx.collection)
        else:
            assert rep is None and idx.collection == versions[-1]       # unchanged corpus: loaded, not rebuilt
    assert current_version(client, cfg) == versions[-1]
    _, rep = ensure_milvus_index(load_corpus(cdir), FakeEmbedder(), Chunker(), cfg, progress=False, force=True)
    assert rep.embedded_documents == [] and len(rep.reused_documents) == 2     # force: a new version, nothing embedded
    kept = sorted(c for c in client.list_collections() if c.startswith("rag_incr_v"))
    assert len(kept) == 2 and versions[0] not in kept                   # the oldest dropped


def test_failed_build_keeps_the_alias_and_tampered_rows_fail_the_checksum(env, tmp_path, monkeypatch):
    import rag.milvus_store as ms

    cfg = MilvusConfig(uri=str(tmp_path / "m" / "index.db"), name="rag_sum")
    small = load_corpus(env["corpus_dir"])
    good, _ = build_milvus_index(small, FakeEmbedder(), Chunker(), cfg, progress=False)
    client = cfg.connect()

    def broken(*a, **k):
        raise RuntimeError("disk full")
    with monkeypatch.context() as mp:                   # a build that fails before the switch
        mp.setattr(ms, "_write_manifest", broken)
        with pytest.raises(RuntimeError, match="disk full"):
            build_milvus_index(small, FakeEmbedder(), Chunker(), cfg, progress=False)
    assert current_version(client, cfg) == good.collection
    assert [c for c in client.list_collections() if c.startswith("rag_sum_v")] == [good.collection]   # no half version
    assert load_milvus_index(cfg, FakeEmbedder(), Chunker()).collection == good.collection

    row = client.query(good.collection, filter="pos == 3", output_fields=["pos", "doc_id", "chunk", "text", "vec"])[0]
    chunk = json.loads(row["chunk"])
    chunk["text"] = chunk["text"] + "（篡改）"
    client.upsert(good.collection, [{"pos": 3, "doc_id": row["doc_id"], "text": row["text"], "vec": row["vec"],
                                     "chunk": json.dumps(chunk, ensure_ascii=False)}])
    with pytest.raises(IndexError_, match=f"rows of {chunk['doc_id']} do not match"):
        load_milvus_index(cfg, FakeEmbedder(), Chunker())
    with pytest.raises(IndexError_, match="built with"):
        load_milvus_index(cfg, FakeEmbedder(dim=32), Chunker())
    fixed, rep = ensure_milvus_index(small, FakeEmbedder(), Chunker(), cfg, progress=False)
    assert rep is not None and sorted(rep.embedded_documents) == sorted(DOCS)      # nothing reused from a bad version
    assert all("篡改" not in c.text for c in fixed.chunks)


def test_config_checks_names():
    with pytest.raises(ValueError):
        MilvusConfig(uri="x.db", name="bad-name")
    with pytest.raises(ValueError):
        MilvusConfig(uri="x.db", name="ok", keep_versions=0)
    s = Settings(corpus_dir="/data/.rag_library", milvus_uri="http://milvus:19530")
    assert MilvusConfig.from_settings(s).name == "rag__rag_library"
