"""Index persistence: incremental rebuilds, atomic swap, checksum verification (fake embedder)."""
import json
import shutil

import numpy as np
import pytest

from rag.chunk import Chunker
from rag.corpus import load_corpus
from rag.index import IndexError_, build_index, ensure_index, load_index


class CountingEmbedder:
    """Wraps the fake embedder and counts passages embedded."""

    def __init__(self):
        from rag.embed import FakeEmbedder

        self.inner = FakeEmbedder()
        self.name, self.dim, self.count = self.inner.name, self.inner.dim, 0

    def embed_passages(self, texts):
        self.count += len(texts)
        return self.inner.embed_passages(texts)

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)


@pytest.fixture()
def small_corpus(tmp_path):
    src = load_corpus(pytest.importorskip("pathlib").Path(__file__).resolve().parents[1] / "corpus")
    cdir = tmp_path / "corpus"
    cdir.mkdir()
    keep = ["chongqing-2024-plan-report-excerpt", "chengyu-twin-city-action-plan-2023-2027"]
    entries = []
    for d in src.documents:
        if d.doc_id in keep:
            shutil.copy(d.path, cdir / d.meta["file"])
            entries.append({"id": d.doc_id, "file": d.meta["file"], "title": d.title})
    (cdir / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    return cdir


def test_second_build_reembeds_nothing_and_changed_doc_only(small_corpus, tmp_path):
    emb, ch, idir = CountingEmbedder(), Chunker(), tmp_path / "idx"
    idx, rep = build_index(load_corpus(small_corpus), emb, ch, idir, progress=False)
    first = emb.count
    assert first == len(idx.chunks) == rep.embedded_chunks > 100
    idx2, rep2 = ensure_index(load_corpus(small_corpus), emb, ch, idir, progress=False)
    assert rep2 is None and emb.count == first                    # up to date: loads, embeds nothing
    # change one document: only its chunks are embedded again
    f = small_corpus / "chongqing-2024-plan-report-excerpt.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\n\n（十三）新增一段测试内容，用于验证增量索引。\n", encoding="utf-8")
    idx3, rep3 = ensure_index(load_corpus(small_corpus), emb, ch, idir, progress=False)
    assert rep3.embedded_documents == ["chongqing-2024-plan-report-excerpt"]
    assert rep3.reused_documents == ["chengyu-twin-city-action-plan-2023-2027"]
    n_changed = sum(c.doc_id == "chongqing-2024-plan-report-excerpt" for c in idx3.chunks)
    assert emb.count == first + n_changed
    # vectors of the unchanged document are identical
    a = [i for i, c in enumerate(idx.chunks) if c.doc_id.startswith("chengyu")]
    b = [i for i, c in enumerate(idx3.chunks) if c.doc_id.startswith("chengyu")]
    assert np.array_equal(idx.vectors[a], idx3.vectors[b])
    # removing a document removes its chunks
    m = json.loads((small_corpus / "manifest.json").read_text(encoding="utf-8"))
    m["documents"] = m["documents"][1:]
    (small_corpus / "manifest.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    idx4, rep4 = ensure_index(load_corpus(small_corpus), emb, ch, idir, progress=False)
    assert rep4.removed_documents and len(idx4.doc_ids) == 1


def test_truncated_or_foreign_index_is_detected(small_corpus, tmp_path):
    emb, ch, idir = CountingEmbedder(), Chunker(), tmp_path / "idx"
    build_index(load_corpus(small_corpus), emb, ch, idir, progress=False)
    load_index(idir, emb, ch)
    vec = idir / "vectors.npy"
    vec.write_bytes(vec.read_bytes()[:-100])                    # truncated
    with pytest.raises(IndexError_, match="checksum"):
        load_index(idir, emb, ch)
    idx, rep = ensure_index(load_corpus(small_corpus), emb, ch, idir, progress=False)   # rebuilt
    assert rep is not None and load_index(idir, emb, ch)
    with pytest.raises(IndexError_, match="expected"):
        load_index(idir, emb, Chunker(max_tokens=100))          # other chunking/model -> not loaded
    (idir / "chunks.jsonl").unlink()
    with pytest.raises(IndexError_, match="missing"):
        load_index(idir, emb, ch)


def test_crash_mid_build_leaves_previous_index(small_corpus, tmp_path, monkeypatch):
    emb, ch, idir = CountingEmbedder(), Chunker(), tmp_path / "idx"
    build_index(load_corpus(small_corpus), emb, ch, idir, progress=False)
    before = (idir / "manifest.json").read_text(encoding="utf-8")

    def boom(*a, **k):
        raise KeyboardInterrupt("killed")
    monkeypatch.setattr(np, "save", boom)
    f = small_corpus / "chongqing-2024-plan-report-excerpt.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\n变化。\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        build_index(load_corpus(small_corpus), emb, ch, idir, progress=False)
    assert (idir / "manifest.json").read_text(encoding="utf-8") == before
    load_index(idir, emb, ch)                                   # the old index still loads
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
