"""Issue 14 part 3: an added document is tokenised and embedded alone, and the index it gives searches exactly as
a full rebuild's; the persisted term counts and HNSW graph load back with the same results (fake embedder)."""
import json
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag.chunk import Chunker
from rag.corpus import load_corpus
from rag.embed import FakeEmbedder
from rag.index import FORMAT, DenseConfig, IndexError_, build_index, ensure_index, load_index, read_index_files
from rag.lexicon import Lexicon
from rag.retrieve import Retriever

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["chongqing-2024-plan-report-excerpt", "chengyu-twin-city-action-plan-2023-2027",
        "chongqing-2025-plan-report-excerpt"]
QUESTIONS = ["2024年计划提出要新增多少城镇就业？", "成渝地区双城经济圈建设的目标", "2025年地区生产总值增长目标",
             "科技创新", "城镇老旧小区改造", "“33618”现代制造业集群体系", "离境退税商店"]


class CountingEmbedder(FakeEmbedder):
    def __init__(self):
        super().__init__()
        self.count = 0

    def embed_passages(self, texts):
        self.count += len(texts)
        return super().embed_passages(texts)


def write_corpus(cdir: Path, doc_ids: list[str], extra: dict | None = None) -> Path:
    """A corpus folder of these documents of the project's corpus, in this order (``extra``: id -> (title, text))."""
    src = {d.doc_id: d for d in load_corpus(ROOT / "corpus").documents}
    cdir.mkdir(parents=True, exist_ok=True)
    entries = []
    for d in doc_ids:
        if extra and d in extra:
            title, text = extra[d]
            (cdir / f"{d}.txt").write_text(text, encoding="utf-8")
            entries.append({"id": d, "file": f"{d}.txt", "title": title})
        else:
            shutil.copy(src[d].path, cdir / src[d].meta["file"])
            entries.append({"id": d, "file": src[d].meta["file"], "title": src[d].title})
    (cdir / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    return cdir


def same_search(a, b, corpus):
    """Same BM25 statistics and scores, and the same fused hits, for the two indexes."""
    assert [c.chunk_id for c in a.chunks] == [c.chunk_id for c in b.chunks]
    assert a.idf == b.idf and a.bigram_df == b.bigram_df and a.lexicon.terms == b.lexicon.terms
    ra, rb = Retriever(a, FakeEmbedder(), corpus), Retriever(b, FakeEmbedder(), corpus)
    for q in QUESTIONS:
        toks = a.lexicon.query_tokens(q)
        assert np.array_equal(a.bm25_scores(toks), b.bm25_scores(toks)), q
        assert np.array_equal(a.bigram_scores(q), b.bigram_scores(q)), q
        ha, hb = ra.retrieve(q, 10), rb.retrieve(q, 10)
        assert [(h.chunk_id, h.score) for h in ha] == [(h.chunk_id, h.score) for h in hb], q


@pytest.fixture()
def tokenised(monkeypatch):
    """Counts the chunks jieba cuts for the word BM25 (Lexicon.tokens over a chunk's indexed text)."""
    seen = []
    real = Lexicon.tokens

    def tokens(self, text):
        if "\n" in text:            # a chunk's indexed text (title + headings, newline, text); questions have none
            seen.append(text)
        return real(self, text)
    monkeypatch.setattr(Lexicon, "tokens", tokens)
    return seen


def test_an_added_document_is_tokenised_alone_and_searches_as_a_full_rebuild(tmp_path, tokenised):
    emb, ch = CountingEmbedder(), Chunker()
    first = write_corpus(tmp_path / "c1", [DOCS[0], DOCS[2]])
    idir = tmp_path / "idx"
    idx1, _ = build_index(load_corpus(first), emb, ch, idir, progress=False)
    # the new document goes in the middle of the manifest: the chunks after it move
    grown = write_corpus(tmp_path / "c2", [DOCS[0], DOCS[1], DOCS[2]])
    corpus = load_corpus(grown)
    emb.count, tokenised[:] = 0, []
    inc, rep = ensure_index(corpus, emb, ch, idir, progress=False)
    added = sum(c.doc_id == DOCS[1] for c in inc.chunks)
    assert rep.embedded_documents == [DOCS[1]] and emb.count == added
    terms_changed = set(idx1.lexicon.terms) != set(inc.lexicon.terms)
    assert terms_changed                                  # the action plan brings domain terms of its own
    # cut again: its own chunks, plus the few earlier ones that contain one of those terms
    assert added <= len(tokenised) < added + len(idx1.chunks) // 4
    full, _ = build_index(corpus, FakeEmbedder(), ch, tmp_path / "full", progress=False)
    same_search(inc, full, corpus)
    same_search(load_index(idir, emb, ch), full, corpus)    # and as written


def test_a_start_tokenises_nothing_and_loads_the_same_index(tmp_path, tokenised):
    emb, ch = FakeEmbedder(), Chunker()
    corpus = load_corpus(write_corpus(tmp_path / "c", DOCS[:2]))
    built, _ = build_index(corpus, emb, ch, tmp_path / "idx", progress=False)
    tokenised[:] = []
    loaded, rep = ensure_index(corpus, emb, ch, tmp_path / "idx", progress=False)
    assert rep is None and tokenised == []
    same_search(loaded, built, corpus)
    files = read_index_files(tmp_path / "idx")[0]["files"]
    assert {"terms.npz", "terms.json"} <= set(files) and "dense.faiss" not in files      # flat: no graph file


def test_a_changed_or_removed_document_gives_the_full_rebuild(tmp_path):
    emb, ch = FakeEmbedder(), Chunker()
    cdir = write_corpus(tmp_path / "c", DOCS)
    idir = tmp_path / "idx"
    build_index(load_corpus(cdir), emb, ch, idir, progress=False)
    f = cdir / load_corpus(cdir).documents[0].meta["file"]
    f.write_text(f.read_text(encoding="utf-8") + "\n\n（十三）新增“智慧工地”试点一百个。\n", encoding="utf-8")
    m = json.loads((cdir / "manifest.json").read_text(encoding="utf-8"))
    m["documents"] = [e for e in m["documents"] if e["id"] != DOCS[2]]
    (cdir / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    corpus = load_corpus(cdir)
    inc, rep = ensure_index(corpus, emb, ch, idir, progress=False)
    assert rep.embedded_documents == [DOCS[0]] and rep.removed_documents == [DOCS[2]]
    full, _ = build_index(corpus, emb, ch, tmp_path / "full", progress=False)
    same_search(inc, full, corpus)


def hnsw(**kw) -> DenseConfig:
    return DenseConfig(hnsw_min_chunks=1, exact_below=0, **kw)           # HNSW at any size, its own filtered search


def test_the_hnsw_graph_is_persisted_and_reloads_with_the_same_results(tmp_path):
    emb, ch, dense = FakeEmbedder(), Chunker(), hnsw()
    corpus = load_corpus(write_corpus(tmp_path / "c", DOCS[:2]))
    built, _ = build_index(corpus, emb, ch, tmp_path / "idx", progress=False, dense=dense)
    manifest = read_index_files(tmp_path / "idx")[0]
    assert "dense.faiss" in manifest["files"] and manifest["dense"] == dense.graph_meta()
    loaded = load_index(tmp_path / "idx", emb, ch, dense)
    assert isinstance(loaded.faiss, faiss.IndexIDMap) and loaded.faiss.ntotal == len(built.chunks)
    assert faiss.downcast_index(loaded.faiss.index).hnsw.efSearch == dense.hnsw_ef_search
    q = emb.embed_queries(QUESTIONS)
    allowed = np.arange(0, len(built.chunks), 3, dtype=np.int64)
    for row in q:
        for a in (None, allowed):
            s1, i1 = built.dense_search(row, 20, a)
            s2, i2 = loaded.dense_search(row, 20, a)
            assert np.array_equal(i1, i2) and np.array_equal(s1, s2)
    # another M or efConstruction: the file is not used, a graph of the current settings is built in memory
    other = load_index(tmp_path / "idx", emb, ch, hnsw(hnsw_m=8))
    assert other.faiss is not None and faiss.downcast_index(other.faiss.index).hnsw.nb_neighbors(1) == 8


def test_an_added_document_extends_the_graph_and_a_removed_one_rebuilds_it(tmp_path):
    emb, ch, dense = FakeEmbedder(), Chunker(), hnsw()
    idir = tmp_path / "idx"
    build_index(load_corpus(write_corpus(tmp_path / "c1", [DOCS[0], DOCS[2]])), emb, ch, idir, progress=False,
                dense=dense)
    corpus = load_corpus(write_corpus(tmp_path / "c2", DOCS))       # added in the middle: positions move
    inc, rep = ensure_index(corpus, emb, ch, idir, progress=False, dense=dense)
    assert rep.embedded_documents == [DOCS[1]]
    ids = faiss.vector_to_array(inc.faiss.id_map)
    assert sorted(ids) == list(range(len(inc.chunks)))              # every chunk once, at its new position
    # a chunk's own vector finds that chunk first, for old and new chunks alike (the ids follow the moves)
    for i in range(0, len(inc.chunks), 7):
        _, got = inc.dense_search(inc.vectors[i], 1)
        assert np.allclose(inc.vectors[got[0]], inc.vectors[i])
    exact = inc.vectors @ emb.embed_queries(QUESTIONS).T
    for j, row in enumerate(emb.embed_queries(QUESTIONS)):
        got = inc.dense_search(row, 10)[1]
        assert len(set(got) & set(np.argsort(-exact[:, j])[:10])) >= 8
    # removing a document: HNSW cannot drop vectors, so the graph is built again without it
    smaller = load_corpus(write_corpus(tmp_path / "c3", [DOCS[1], DOCS[2]]))
    again, rep = ensure_index(smaller, emb, ch, idir, progress=False, dense=dense)
    assert rep.removed_documents == [DOCS[0]] and again.faiss.ntotal == len(again.chunks)
    assert sorted(faiss.vector_to_array(again.faiss.id_map)) == list(range(len(again.chunks)))


def test_a_format_7_index_is_rebuilt_without_embedding_again(tmp_path, caplog):
    emb, ch = CountingEmbedder(), Chunker()
    corpus = load_corpus(write_corpus(tmp_path / "c", DOCS[:2]))
    idir = tmp_path / "idx"
    built, _ = build_index(corpus, emb, ch, idir, progress=False)
    # what an index of the previous version looks like: no term counts, format 7
    m = json.loads((idir / "manifest.json").read_text(encoding="utf-8"))
    for name in ("terms.npz", "terms.json"):
        (idir / name).unlink()
        m["files"].pop(name)
    m["format"] = 7
    (idir / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IndexError_, match=f"index format 7 != {FORMAT}.*older version.*nothing is re-embedded"):
        load_index(idir, emb, ch)
    emb.count = 0
    with caplog.at_level("INFO", logger="rag.index"):
        again, rep = ensure_index(corpus, emb, ch, idir, progress=False)
    assert "rebuilding index: " in caplog.text and "older version" in caplog.text
    assert rep is not None and emb.count == 0 and rep.embedded_chunks == 0
    assert read_index_files(idir)[0]["format"] == FORMAT
    same_search(again, built, corpus)


def test_a_changed_document_leaves_its_old_vectors_unreturned_in_the_graph(tmp_path, monkeypatch):
    import rag.index as index_mod

    monkeypatch.setattr(index_mod, "MAX_STALE", 1.0)         # keep the graph whatever share is dropped
    emb, ch, dense = FakeEmbedder(), Chunker(), hnsw()
    cdir = write_corpus(tmp_path / "c", DOCS)
    idir = tmp_path / "idx"
    first, _ = build_index(load_corpus(cdir), emb, ch, idir, progress=False, dense=dense)
    f = cdir / load_corpus(cdir).documents[0].meta["file"]
    f.write_text(f.read_text(encoding="utf-8") + "\n\n（十三）新增“智慧工地”试点一百个。\n", encoding="utf-8")
    corpus = load_corpus(cdir)
    inc, rep = ensure_index(corpus, emb, ch, idir, progress=False, dense=dense)
    old_rows = sum(c.doc_id == DOCS[0] for c in first.chunks)
    assert rep.embedded_documents == [DOCS[0]] and inc._stale == old_rows
    assert inc.faiss.ntotal == len(inc.chunks) + old_rows       # not rebuilt: the old vectors are still in it
    loaded = load_index(idir, emb, ch, dense)
    assert loaded._stale == old_rows
    q = emb.embed_queries(QUESTIONS)
    for index in (inc, loaded):
        for row in q:
            for allowed in (None, np.arange(0, len(index.chunks), 2, dtype=np.int64)):
                scores, got = index.dense_search(row, 20, allowed)
                assert len(got) == 20 and (got >= 0).all() and (allowed is None or set(got) <= set(allowed))
                assert np.allclose(scores, index.vectors[got] @ row, atol=1e-5)     # live chunks, right vectors
    # past MAX_STALE the graph is built again without them
    monkeypatch.setattr(index_mod, "MAX_STALE", 0.0)
    f.write_text(f.read_text(encoding="utf-8") + "\n又一段。\n", encoding="utf-8")
    again, _ = ensure_index(load_corpus(cdir), emb, ch, idir, progress=False, dense=dense)
    assert again._stale == 0 and again.faiss.ntotal == len(again.chunks)


def test_a_wide_scope_searched_without_a_selector_gives_the_selectors_hits(tmp_path):
    emb, ch = FakeEmbedder(), Chunker()
    corpus = load_corpus(write_corpus(tmp_path / "c", DOCS))
    idx, _ = build_index(corpus, emb, ch, tmp_path / "idx", progress=False, dense=hnsw())
    n = len(idx.chunks)
    rng = np.random.default_rng(0)
    for row in emb.embed_queries(QUESTIONS):
        for share in (0.5, 0.8, 0.95):
            allowed = np.sort(rng.choice(n, int(n * share), replace=False)).astype(np.int64)
            sel = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBatch(allowed), efSearch=idx.dense.hnsw_ef_search)
            want_s, want_i = idx.faiss.search(row.reshape(1, -1), 20, params=sel)
            got_s, got_i = idx.dense_search(row, 20, allowed)
            assert list(got_i) == list(want_i[0]) and np.allclose(got_s, want_s[0])
