"""The FAISS index by size (issue 14 part 3): exact flat search below RAG_HNSW_MIN_CHUNKS, HNSW from it, a scoped
search exact over its chunks; on the five documents' chunks with the fake embedder (small thresholds force HNSW)."""
import dataclasses

import faiss
import numpy as np
import pytest

from rag.embed import FakeEmbedder
from rag.index import DenseConfig, Index


@pytest.fixture(scope="module")
def parts(fake_pipeline):
    idx = fake_pipeline.index          # 600 of its chunks: each Index below builds its own BM25 (seconds per 1,000)
    return idx.chunks[:600], idx.vectors[:600], idx.manifest, idx.lexicon


@pytest.fixture(scope="module")
def queries(corpus):
    emb = FakeEmbedder()
    texts = [d.text[i:i + 40] for d in corpus.documents for i in range(0, len(d.text) - 40, len(d.text) // 12)]
    return emb.embed_queries(texts)


def exact_top(vectors, q, k, allowed=None):
    scores = vectors @ q
    if allowed is not None:
        scores = np.where(np.isin(np.arange(len(scores)), allowed), scores, -np.inf)
    return list(np.argsort(-scores, kind="stable")[:k])


def exact_scores(vectors, q, k, allowed=None):
    """The k best scores (ties make the ids of equal scores interchangeable)."""
    return (vectors @ q)[exact_top(vectors, q, k, allowed)]


def test_dense_config_validates():
    for bad in ({"hnsw_m": 1}, {"hnsw_min_chunks": -1}, {"hnsw_ef_search": "64"}, {"exact_below": True}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            DenseConfig(**bad)
    assert not DenseConfig(hnsw_min_chunks=0).uses_hnsw(10**9)          # 0: always exact
    assert DenseConfig(hnsw_min_chunks=100).uses_hnsw(100) and not DenseConfig(hnsw_min_chunks=100).uses_hnsw(99)


def test_below_the_threshold_the_index_is_flat_and_exact(parts, queries):
    chunks, vectors, manifest, lexicon = parts
    idx = Index(chunks, vectors, manifest, lexicon)          # default: 100,000 chunks, far above the five documents
    assert isinstance(idx.faiss, faiss.IndexFlatIP) and not idx.hnsw
    for q in queries[:10]:
        scores, got = idx.dense_search(q, 10)
        assert np.allclose(scores, exact_scores(idx.vectors, q, 10), atol=1e-5)
        assert np.allclose(scores, idx.vectors[got] @ q, atol=1e-5)


def test_from_the_threshold_hnsw_recall_against_exact(parts, queries):
    chunks, vectors, manifest, lexicon = parts
    idx = Index(chunks, vectors, manifest, lexicon, DenseConfig(hnsw_min_chunks=len(chunks)))
    # an HNSW graph behind an id map (ids = chunk positions: an added document's vectors are appended to it)
    assert isinstance(idx.faiss, faiss.IndexIDMap) and idx.hnsw
    inner = faiss.downcast_index(idx.faiss.index)
    assert isinstance(inner, faiss.IndexHNSWFlat) and inner.hnsw.efSearch == 256
    assert list(faiss.vector_to_array(idx.faiss.id_map)) == list(range(len(chunks)))
    # recall as score overlap: the k-th best exact score is reached by as many HNSW hits as exact ones
    recall = np.mean([np.sum(idx.dense_search(q, 10)[0] >= exact_scores(idx.vectors, q, 10)[-1] - 1e-6) / 10
                      for q in queries])
    assert recall >= 0.95, recall


def test_a_scoped_search_with_hnsw_is_exact_over_its_chunks(parts, queries):
    chunks, vectors, manifest, lexicon = parts
    idx = Index(chunks, vectors, manifest, lexicon, DenseConfig(hnsw_min_chunks=1))
    allowed = np.arange(100, 400, 2, dtype=np.int64)
    for q in queries[:10]:
        scores, got = idx.dense_search(q, 20, allowed)
        assert set(got) <= set(allowed)
        assert np.allclose(scores, exact_scores(idx.vectors, q, 20, allowed), atol=1e-5)
        assert np.allclose(scores, idx.vectors[got] @ q, atol=1e-5)
    # above exact_below: HNSW's own filtered search, still only allowed chunks
    wide = dataclasses.replace(idx.dense, exact_below=0)
    idx2 = Index(chunks, vectors, manifest, lexicon, wide)
    _, got = idx2.dense_search(queries[0], 20, allowed)
    assert len(got) == 20 and set(got) <= set(allowed)


def test_settings_feed_the_config():
    from rag.settings import Settings

    s = Settings(embedder="fake", hnsw_min_chunks=5000, hnsw_m=16, hnsw_ef_construction=40, hnsw_ef_search=64,
                 hnsw_exact_below=300)
    assert DenseConfig.from_settings(s) == DenseConfig(5000, 16, 40, 64, 300)
    assert DenseConfig.from_settings(Settings(embedder="fake")) == DenseConfig()     # the documented defaults agree
