"""Retrieval ablations on the golden set's answerable items, all with the same embedder.

* fused / BM25-only / dense-only / no glossary expansion / no document prior: RetrieverConfig variants
  over the main index;
* naive chunks: fixed 750-character windows of the raw files (no structure, no heading prefix),
  indexed in memory and retrieved with the default fused retriever;
* fusion, as ``ask`` retrieves (question analysis, scope, document prior): RRF, the learned fusion (rag/rank.py), and
  the learned fusion refit on the dev half without each signal group (the test half's figures in the note);
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
    by_half: bool = False                  # also score the test half alone (the variant was fit on dev)


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


# ----------------------------------------------------------------------------- fusion (rag/rank.py)
def fusion_variants(pipeline, items: list[dict]) -> list[Variant]:
    """RRF and the learned fusion as ``ask`` retrieves, and the learned fusion refit (on the dev half, five documents)
    without each signal group -- a model fit with a group and scored with it zeroed would say little."""
    from rag.rank import FEATURES, GROUPS, LearnedRanker, RankFeatures, RankModel, default_model

    from .fit_rank import collect, fit_pairwise
    from .golden import split_of

    a = pipeline.answerer
    feats = RankFeatures(pipeline.index.chunks, a.verifier, a.home)
    out = [_asked("as ask retrieves: RRF (RAG_FUSION=rrf)", a, None)]
    model = default_model()
    if model is None:
        return out
    out.append(_asked("as ask retrieves: learned fusion (RAG_FUSION=learned)", a, LearnedRanker(model, feats),
                      f"rag/data/rank.json, fit on dev ({', '.join(model.meta.get('corpora', []))})"))
    dev = [it for it in items if split_of(it["id"]) == "dev" and it["type"] != "unanswerable" and it["evidence"]]
    groups = collect(pipeline, dev, "five documents")
    C = float(model.meta.get("C", 1.0))
    for drop in [None, *GROUPS]:
        names = tuple(f for f in model.features if drop is None or f not in GROUPS[drop])
        coef, mean, scale = fit_pairwise(groups, [FEATURES.index(f) for f in names], C)
        ranker = LearnedRanker(RankModel(names, tuple(coef), 0.0, tuple(mean), tuple(scale)), feats)
        name = "learned, refit here (dev, five documents)" if drop is None else f"learned, refit without {drop} signals"
        out.append(_asked(name, a, ranker, f"{len(names)} features"))
    return out


def _asked(name: str, answerer, ranker, note: str = "") -> Variant:
    """Retrieval as ``ask`` retrieves, with ``ranker`` as the fusion (None: RRF); each query retrieved once."""
    import copy

    ans = copy.copy(answerer)
    ans.ranker = ranker
    cache: dict[str, list[str]] = {}

    def retrieve(query: str) -> list[str]:
        if query not in cache:
            q = ans.analyze(query)
            cache[query] = [] if q.garbage else [h.text for h in ans.retrieve(q, M.K_MAX)[0]]
        return cache[query]

    return Variant(name, retrieve, note=note, by_half=True)


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
    variants.extend(fusion_variants(pipeline, items))
    variants.append(naive_variant(pipeline, embedder, progress))
    variants.extend(llama_variants(pipeline, embedder, progress))
    rows = []
    for v in variants:
        row = score_variant(v, queries, progress)
        if v.by_half:
            from .golden import split_of

            test = score_variant(v, [(it, q) for it, q in queries if split_of(it["id"]) == "test"], False)
            row["note"] = "; ".join(x for x in (row["note"], f"test half: hit@1 {test['hit@1']:.3f}, hit@5 "
                                                f"{test['hit@5']:.3f}, MRR@10 {test['mrr@10']:.3f}") if x)
        rows.append(row)
    return rows
