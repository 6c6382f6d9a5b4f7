"""Benchmark: cold index build, incremental add of one document, retrieval and ask latency, peak memory.

    python scripts/bench.py [--queries 60] [--skip-cold] [--corpus DIR | --library] [--index-dir DIR]
                            [--replicate N [--replicate-add]] [--noise 0.01] [--out FILE.json] [--save-index DIR]

Latency is measured over the golden questions (eval/golden.jsonl) with the real embedder and the extractive
backend. The cold build embeds the corpus (``--corpus DIR``, default the project's; ``--library``: the five
documents + ../shared/library, assembled by eval/library.py) into a temporary index folder, then times adding one
document (a copy of the corpus's last document under a new id): only it may be re-embedded.

``--replicate N`` measures an N-document library without embedding it: the documents of the corpus that are not in
the project's own corpus are copied under distinct ids (``ID.rK``, same text) until there are N, into a temporary
folder, and their chunks get the already-embedded vectors of the original plus Gaussian noise (``--noise``, then
re-normalised), so no two copies tie exactly. The index of that folder is written as ``rag index`` would and
loaded by the pipeline as usual; the FAISS type is what the size selects (``RAG_HNSW_MIN_CHUNKS``), and the dense
top-50 recall of that index against exact (flat) search is measured on the golden questions.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TimedEmbedder:
    """The embedder, with the seconds spent in embed_passages counted (to tell a build's own embedding time)."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_passages(self, texts):
        t = time.perf_counter()
        try:
            return self.inner.embed_passages(texts)
        finally:
            self.seconds += time.perf_counter() - t


def percentiles(ms: list[float]) -> dict:
    return {"p50": round(float(np.median(ms)), 1), "p95": round(float(np.percentile(ms, 95)), 1)}


# ----------------------------------------------------------------------------- builds
def cold_and_incremental(corpus_dir: Path, emb, chunker, work: Path) -> dict:
    """Cold build of ``corpus_dir`` into ``work/idx``, the phases timed; then one document added."""
    from rag.corpus import load_corpus
    from rag.index import Index, build_index, chunk_document

    corpus = load_corpus(corpus_dir)
    t = time.perf_counter()
    for doc in corpus.documents:
        chunk_document(doc, chunker)
    parse_s = time.perf_counter() - t
    timed = TimedEmbedder(emb)
    idx, rep = build_index(corpus, timed, chunker, work / "idx", progress=True)
    t = time.perf_counter()
    Index(idx.chunks, idx.vectors, idx.manifest, idx.lexicon)
    structures_s = time.perf_counter() - t
    out = {"documents": rep.documents, "chunks": rep.chunks, "cold_build_s": round(rep.seconds, 1),
           "embed_s": round(timed.seconds, 1), "parse_chunk_s": round(parse_s, 1),
           "search_structures_s": round(structures_s, 1),
           "embed_passages_per_s": round(rep.embedded_chunks / max(timed.seconds, 1e-9), 1),
           "build_chunks_per_s": round(rep.embedded_chunks / rep.seconds, 1)}
    out["add_one"] = add_one(corpus_dir, emb, chunker, work)
    return out


def add_one(corpus_dir: Path, emb, chunker, work: Path, index_dir: Path | None = None, dense=None) -> dict:
    """Add a copy of the corpus's last document (new id, one line appended) to the index ``index_dir``
    (default ``work/idx``)."""
    from rag.corpus import load_corpus, read_manifest
    from rag.index import build_index

    entries = read_manifest(corpus_dir)
    cdir = work / f"{corpus_dir.name}+1"
    shutil.copytree(corpus_dir, cdir, dirs_exist_ok=True)
    last = entries[-1]
    new = dict(last, id="bench-added", file="bench-added.txt")
    text = (corpus_dir / last["file"]).read_text(encoding="utf-8-sig") + "\n（基准测试增加的文档）\n"
    (cdir / new["file"]).write_text(text, encoding="utf-8")
    (cdir / "manifest.json").write_text(json.dumps({"documents": entries + [new]}, ensure_ascii=False), encoding="utf-8")
    timed = TimedEmbedder(emb)
    _, rep = build_index(load_corpus(cdir), timed, chunker, index_dir or work / "idx", progress=False, dense=dense)
    return {"seconds": round(rep.seconds, 1), "own_embedding_s": round(timed.seconds, 1),
            "seconds_besides_its_embedding": round(rep.seconds - timed.seconds, 1),
            "embedded_documents": rep.embedded_documents, "embedded_chunks": rep.embedded_chunks,
            "reused_documents": len(rep.reused_documents)}


# ----------------------------------------------------------------------------- replication
def replicate(corpus_dir: Path, index_dir: Path, n_docs: int, noise: float, work: Path, emb, chunker,
              dense=None) -> tuple[Path, Path, dict]:
    """An ``n_docs``-document corpus + index in ``work`` made of copies (see the module docstring). The index is
    complete as ``rag index`` would write it: the copies' term counts are their originals' (same text, same domain
    terms), and at HNSW sizes the graph is built and persisted (``graph_s``)."""
    from rag.corpus import load_corpus, read_manifest
    from rag.index import DenseConfig, _signature, _write_atomic, read_index_files, read_search_files
    from rag.lexicon import Lexicon, domain_terms

    dense = dense or DenseConfig()
    manifest, chunks, vectors, _ = read_index_files(index_dir, emb, chunker)
    cached = read_search_files(index_dir, manifest, len(chunks), dense)
    own = {e["id"] for e in read_manifest(ROOT / "corpus")}
    entries = read_manifest(corpus_dir)
    pool = [e for e in entries if e["id"] not in own] or entries
    cdir, idir = work / "rep-corpus", work / "rep-index"
    cdir.mkdir(parents=True, exist_ok=True)
    for e in entries:
        shutil.copyfile(corpus_dir / e["file"], cdir / e["file"])
    by_doc: dict[str, list[int]] = {}
    for i, c in enumerate(chunks):
        by_doc.setdefault(c.doc_id, []).append(i)
    rng = np.random.default_rng(0)
    new_entries, new_chunks, new_vecs = list(entries), list(chunks), [vectors]
    rows = [np.arange(len(chunks))]                               # each new chunk's original, for its term counts
    docs_meta = dict(manifest["docs"])
    k = 0
    while len(new_entries) < n_docs:
        e = pool[k % len(pool)]
        copy = k // len(pool) + 1
        k += 1
        rid = f"{e['id']}.r{copy}"
        new_entries.append(dict(e, id=rid))                       # same file, same text: a distinct document id
        docs_meta[rid] = dict(manifest["docs"][e["id"]])
        idx = by_doc.get(e["id"], [])
        rows.append(np.asarray(idx, dtype=np.int64))
        for j in idx:
            c = chunks[j]
            new_chunks.append(type(c)(**{**c.__dict__, "doc_id": rid, "chunk_id": f"{rid}#{c.chunk_id.split('#')[1]}"}))
        v = vectors[idx] + rng.normal(0, noise, (len(idx), vectors.shape[1])).astype(np.float32)
        new_vecs.append(v / np.linalg.norm(v, axis=1, keepdims=True))
    (cdir / "manifest.json").write_text(json.dumps({"documents": new_entries}, ensure_ascii=False), encoding="utf-8")
    vecs = np.vstack(new_vecs).astype(np.float32)
    t = time.perf_counter()
    terms = Lexicon(domain_terms(new_chunks)).terms
    assert terms == Lexicon(domain_terms(chunks)).terms            # copies bring no new term: counts stay valid
    meta = dict(_signature(emb, chunker), docs=docs_meta, built_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                chunks=len(new_chunks), replicated_from=str(index_dir))
    rows = np.concatenate(rows)
    t_graph = time.perf_counter()
    graph = dense.build(vecs) if dense.uses_hnsw(len(vecs)) else None
    graph_s = time.perf_counter() - t_graph
    _write_atomic(idir, new_chunks, vecs, meta, terms, cached.word.take(rows), cached.bigram.take(rows), graph, dense,
                  [cached.match[j] for j in rows.tolist()])
    del graph
    assert len(load_corpus(cdir).documents) == n_docs
    return cdir, idir, {"documents": len(new_entries), "chunks": len(new_chunks), "noise_sigma": noise,
                        "write_s": round(time.perf_counter() - t, 1), "graph_s": round(graph_s, 1)}


def dense_recall(index, emb, questions: list[str], k: int = 50) -> dict:
    """Top-k overlap of the index's FAISS search with exact inner-product search, over ``questions``."""
    import faiss

    exact = faiss.IndexFlatIP(index.vectors.shape[1])
    exact.add(index.vectors)
    q = emb.embed_queries(questions)
    _, got = index.faiss.search(q, k)
    _, want = exact.search(q, k)
    t = time.perf_counter()
    for row in q:
        index.faiss.search(row.reshape(1, -1), k)
    ann_ms = (time.perf_counter() - t) * 1000 / len(q)
    t = time.perf_counter()
    for row in q:
        exact.search(row.reshape(1, -1), k)
    flat_ms = (time.perf_counter() - t) * 1000 / len(q)
    recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(got, want)]))
    return {"faiss": type(index.faiss).__name__, f"recall@{k}_vs_flat": round(recall, 4),
            "search_ms": round(ann_ms, 2), "flat_search_ms": round(flat_ms, 2)}


# ----------------------------------------------------------------------------- latency
def latency(settings, emb, n_queries: int) -> dict:
    from eval.golden import load_golden
    from rag.pipeline import Pipeline

    t = time.perf_counter()
    p = Pipeline(settings, progress=True, embedder=emb)
    load_s = time.perf_counter() - t
    qs = [item["question"] for item in load_golden(ROOT / "eval" / "golden.jsonl")]
    qs = (qs * (1 + n_queries // max(1, len(qs))))[:n_queries]
    p.retrieve(qs[0])
    p.ask(qs[0])
    r, a = [], []
    for q in qs:
        t = time.perf_counter()
        p.retrieve(q, 5)
        r.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        p.ask(q)
        a.append((time.perf_counter() - t) * 1000)
    out = {"pipeline_load_s": round(load_s, 1), "queries": len(qs),
           "retrieve_ms_p50": percentiles(r)["p50"], "retrieve_ms_p95": percentiles(r)["p95"],
           "ask_ms_p50": percentiles(a)["p50"], "ask_ms_p95": percentiles(a)["p95"]}
    parts: dict[str, list[float]] = {"bm25_both": [], "dense": []}
    for q in qs[:100]:                          # where a retrieval's time goes (the retriever's own timings)
        timings = p.retriever.search(q, 5)[1]["timings_ms"]
        parts["bm25_both"].append(timings["bm25"])
        parts["dense"].append(timings["dense"])
    out["retrieve_parts_ms"] = {k: percentiles(v) for k, v in parts.items()}
    out["dense"] = dense_recall(p.index, emb, qs[:200])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--skip-cold", action="store_true", help="don't time a cold build (uses the index of --index-dir)")
    ap.add_argument("--corpus", type=Path, help="corpus folder (default: settings.corpus_dir)")
    ap.add_argument("--library", action="store_true", help="the five documents + ../shared/library (eval/library.py)")
    ap.add_argument("--index-dir", type=Path, help="index of the corpus for --skip-cold (default: settings.index_dir, "
                                                   "or .rag_library/index with --library)")
    ap.add_argument("--replicate", type=int, default=0, help="also measure an N-document library of copies")
    ap.add_argument("--replicate-add", action="store_true", help="also time adding one document to the N-document index")
    ap.add_argument("--noise", type=float, default=0.01, help="sigma of the noise added to copied vectors")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    ap.add_argument("--save-index", type=Path, help="keep the cold-built index there (for later --skip-cold runs)")
    args = ap.parse_args()

    from rag.chunk import Chunker
    from rag.corpus import load_corpus
    from rag.embed import get_embedder
    from rag.index import ensure_index
    from rag.pipeline import Pipeline  # noqa: F401 -- imported now: the code timed is the code at the start
    from rag.settings import Settings

    s = Settings()
    corpus_dir, index_dir = args.corpus or s.corpus_dir, args.index_dir or s.index_dir
    if args.library:
        from eval.library import WORK, build_library_corpus

        corpus_dir, index_dir = build_library_corpus(), args.index_dir or WORK / "index"
    out = {"corpus": str(corpus_dir), "load_average_at_start": os.getloadavg(), "cpus": os.cpu_count()}
    t = time.perf_counter()
    emb = get_embedder(s)
    out["model_load_s"] = round(time.perf_counter() - t, 1)
    chunker = Chunker(s.chunk_tokens, s.chunk_overlap)
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        if not args.skip_cold:
            out.update(cold_and_incremental(Path(corpus_dir), emb, chunker, work))
            print(json.dumps(out, ensure_ascii=False), file=sys.stderr, flush=True)      # the long part is done
            index_dir = work / "idx"
            t = time.perf_counter()
            _, rep = ensure_index(load_corpus(corpus_dir), emb, chunker, index_dir, progress=False)   # back to the corpus
            out["warm_check_s"] = round(time.perf_counter() - t, 2)
            out["warm_reembedded_chunks"] = 0 if rep is None else rep.embedded_chunks
            if args.save_index:
                shutil.rmtree(args.save_index, ignore_errors=True)
                shutil.copytree(index_dir, args.save_index)
        else:
            ensure_index(load_corpus(corpus_dir), emb, chunker, index_dir, progress=True)
        out.update(latency(s.model_copy(update={"corpus_dir": Path(corpus_dir), "index_dir": Path(index_dir)}),
                           emb, args.queries))
        if args.replicate:
            from rag.index import DenseConfig

            cdir, idir, rep = replicate(Path(corpus_dir), Path(index_dir), args.replicate, args.noise, work, emb, chunker,
                                        DenseConfig.from_settings(s))
            out["replicated"] = rep
            out["replicated"].update(latency(s.model_copy(update={"corpus_dir": cdir, "index_dir": idir}),
                                             emb, args.queries))
            if args.replicate_add:
                out["replicated"]["add_one"] = add_one(cdir, emb, chunker, work, idir, DenseConfig.from_settings(s))
    out.update({"max_rss_mb": round(rss_mb(), 0), "load_average_at_end": os.getloadavg()})
    text = json.dumps(out, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
