"""Retrieval ablations on the golden set's answerable items, all with the same embedder.

* fused / BM25-only / dense-only / no glossary expansion / no document prior: RetrieverConfig variants
  over the main index;
* naive chunks: fixed 750-character windows of the raw files (no structure, no heading prefix),
  indexed in memory and retrieved with the default fused retriever;
* llama-index default pipeline: SentenceSplitter(1024, 200) over the raw documents and a
  VectorStoreIndex with our embedder wrapped as a llama-index ``BaseEmbedding``, top-k 2 and 5.

Hits are computed against the chunk text each pipeline returns. Nothing here touches the persisted index.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np
from tqdm import tqdm

from . import metrics as M

NAIVE_WINDOW = 750


class CachedQueries:
    """Wraps an embedder so each distinct query is embedded once across all variants."""

    def __init__(self, embedder):
        self.inner, self.name, self.dim = embedder, embedder.name, embedder.dim
        self._cache: dict[str, np.ndarray] = {}

    def embed_queries(self, queries):
        missing = [q for q in dict.fromkeys(queries) if q not in self._cache]
        if missing:
            for q, v in zip(missing, self.inner.embed_queries(missing)):
                self._cache[q] = np.asarray(v, dtype=np.float32)
        return np.stack([self._cache[q] for q in queries])

    def embed_passages(self, passages):
        return self.inner.embed_passages(passages)


@dataclass
class Variant:
    name: str
    retrieve: Callable[[str], list[str]]   # query -> chunk texts, best first
    k: int = M.K_MAX                       # how many texts the variant returns
    note: str = ""


# ----------------------------------------------------------------------------- our retriever
def config_variants(pipeline, embedder) -> list[Variant]:
    from rag.retrieve import MODES, Retriever

    base = pipeline.retriever.config
    cfgs = [("fused (default)", {}), ("BM25 only (jieba words)", {"mode": "bm25"}), ("dense only", {"mode": "dense"}),
            ("fused, no glossary expansion", {"glossary_expansion": False}), ("fused, no document prior", {"doc_boost": 0.0})]
    if "lexical" in MODES:
        cfgs.insert(3, ("lexical only (word + bigram BM25, no dense)", {"mode": "lexical"}))
    out = []
    for name, change in cfgs:
        r = Retriever(pipeline.index, embedder, pipeline.corpus, dataclasses.replace(base, **change))
        out.append(Variant(name, lambda q, r=r: [h.text for h in r.retrieve(q, M.K_MAX)]))
    return out


def naive_variant(pipeline, embedder, progress: bool = True) -> Variant:
    """Fixed 750-character windows of the raw file text, indexed (BM25 + dense) in memory."""
    from rag.index import Index, _embed_with_progress
    from rag.retrieve import Retriever
    from rag.schema import Chunk

    @dataclasses.dataclass(frozen=True)
    class NaiveChunk(Chunk):
        def indexed_text(self) -> str:       # no title/heading prefix
            return self.text

    chunks = []
    for d in pipeline.corpus.documents:
        for n, a in enumerate(range(0, len(d.text), NAIVE_WINDOW)):
            b = min(len(d.text), a + NAIVE_WINDOW)
            chunks.append(NaiveChunk(chunk_id=f"{d.doc_id}#naive{n}", doc_id=d.doc_id, title=d.title, location=f"字符 {a}-{b}",
                                     headings=(), kind="window", text=d.text[a:b], start=a, end=b))
    vectors = _embed_with_progress(embedder, [c.indexed_text() for c in chunks], progress)
    index = Index(chunks, vectors, {"naive": True})
    r = Retriever(index, embedder, pipeline.corpus, pipeline.retriever.config)
    return Variant(f"naive {NAIVE_WINDOW}-char chunks (fused)", lambda q: [h.text for h in r.retrieve(q, M.K_MAX)],
                   note=f"{len(chunks)} chunks")


# ----------------------------------------------------------------------------- llama-index baseline
def llama_embedding(embedder):
    """Our embedder as a llama-index BaseEmbedding (the query:/passage: prefixes are added by our embedder)."""
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class OurEmbedding(BaseEmbedding):
        _inner = PrivateAttr()

        def __init__(self, inner, **kw):
            super().__init__(model_name=inner.name, embed_batch_size=32, **kw)
            self._inner = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._inner.embed_queries([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._inner.embed_passages([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [v.tolist() for v in self._inner.embed_passages(texts)]

    return OurEmbedding(embedder)


def llama_variants(pipeline, embedder, progress: bool = True) -> list[Variant]:
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    docs = [Document(text=d.text, id_=d.doc_id) for d in pipeline.corpus.documents]
    nodes = SentenceSplitter(chunk_size=1024, chunk_overlap=200).get_nodes_from_documents(docs)
    index = VectorStoreIndex(nodes, embed_model=llama_embedding(embedder), show_progress=progress)
    out = []
    for k in (2, 5):
        r = index.as_retriever(similarity_top_k=k)
        out.append(Variant(f"llama-index default, top-{k}", lambda q, r=r: [n.node.get_content() for n in r.retrieve(q)],
                           k=k, note=f"{len(nodes)} nodes" + ("; hit@5 column is hit@2" if k == 2 else "")))
    return out


# ----------------------------------------------------------------------------- scoring
def score_variant(v: Variant, queries: list[tuple[dict, str]], progress: bool = True) -> dict:
    """hit@1, hit@5 (hit@k for k<5), mrr@k and evidence_recall@k over answerable items; k = what the variant returns."""
    scored, hit_curve = [], []
    for item, query in tqdm(queries, desc=v.name[:28], unit="q", disable=not progress):
        ranked = v.retrieve(query)[: v.k]
        scored.append({"answerable": True, "hit_rank": M.first_hit_rank(ranked, item["evidence"], v.k),
                       "evidence_recall@10": M.evidence_recall(ranked, item["evidence"], v.k)})
    r = M.retrieval_metrics(scored)
    r["hit_curve"] = [M.hit_rate(scored, k) for k in range(1, v.k + 1)]
    return {"name": v.name, "k": v.k, "note": v.note, **M.rounded(r)}


def run_ablations(pipeline, records: list[dict], items: list[dict], progress: bool = True) -> list[dict]:
    """All variants over the answerable items, each queried with the same (follow-up rewritten) query as the main run."""
    embedder = CachedQueries(pipeline.embedder)
    by_id = {it["id"]: it for it in items}
    queries = [(by_id[r["id"]], r["query"]) for r in records if r["answerable"] and "error" not in r]
    variants = config_variants(pipeline, embedder)
    variants.append(naive_variant(pipeline, embedder, progress))
    variants.extend(llama_variants(pipeline, embedder, progress))
    return [score_variant(v, queries, progress) for v in variants]
