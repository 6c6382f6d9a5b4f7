"""Benchmark: cold index build, incremental rebuild, retrieval and ask latency, resident memory.

    python scripts/bench.py [--queries 60] [--skip-cold]

Latency is measured over the golden questions (eval/golden.jsonl) with the real embedder and the
extractive backend; the cold build embeds the whole corpus into a temporary index folder.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--skip-cold", action="store_true", help="don't time a cold build (uses the project index)")
    args = ap.parse_args()

    from eval.golden import load_golden
    from rag.chunk import Chunker
    from rag.corpus import load_corpus
    from rag.embed import get_embedder
    from rag.index import build_index, ensure_index
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    s = Settings()
    out = {"load_average_at_start": os.getloadavg()}
    t = time.perf_counter()
    emb = get_embedder(s)
    out["model_load_s"] = round(time.perf_counter() - t, 1)
    corpus, chunker = load_corpus(s.corpus_dir), Chunker(s.chunk_tokens, s.chunk_overlap)
    if not args.skip_cold:
        with tempfile.TemporaryDirectory() as tmp:
            _, rep = build_index(corpus, emb, chunker, Path(tmp) / "idx", progress=True)
            out["cold_build_s"] = round(rep.seconds, 1)
            out["chunks"] = rep.chunks
            out["embed_passages_per_s"] = round(rep.embedded_chunks / rep.seconds, 1)
            t = time.perf_counter()
            _, rep2 = ensure_index(load_corpus(s.corpus_dir), emb, chunker, Path(tmp) / "idx", progress=False)
            out["warm_check_s"] = round(time.perf_counter() - t, 2)
            out["warm_reembedded_chunks"] = 0 if rep2 is None else rep2.embedded_chunks
    p = Pipeline(s, progress=True, embedder=emb)
    qs = [item["question"] for item in load_golden(ROOT / "eval" / "golden.jsonl")]
    qs = (qs * (1 + args.queries // max(1, len(qs))))[: args.queries]
    p.retrieve(qs[0])
    r, a = [], []
    for q in qs:
        t = time.perf_counter()
        p.retrieve(q, 5)
        r.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        p.ask(q)
        a.append((time.perf_counter() - t) * 1000)
    out.update({
        "queries": len(qs),
        "retrieve_ms_p50": round(float(np.median(r)), 1), "retrieve_ms_p95": round(float(np.percentile(r, 95)), 1),
        "ask_ms_p50": round(float(np.median(a)), 1), "ask_ms_p95": round(float(np.percentile(a, 95)), 1),
        "max_rss_mb": round(rss_mb(), 0), "load_average_at_end": os.getloadavg(),
    })
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
