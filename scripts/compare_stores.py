"""FAISS vs Milvus index store on the golden set, in one run with one embedder (each passage embedded once):
retrieval hit@1 / hit@5 / MRR@10 over the answerable items (as ``ask`` retrieves: normalised, follow-ups
rewritten), answer keyword accuracy and refusal accuracy, retrieve latency; per split and overall.

    RAG_MODEL_DIR=… python scripts/compare_stores.py [--milvus-uri DIR/x.db | http://host:port] [--json]

The FAISS index is the usual RAG_INDEX_DIR (built if missing); the Milvus index goes to a temporary Milvus Lite
file unless --milvus-uri is given.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class CachedPassages:
    """The embedder, with passages embedded once for both stores."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._cache: dict[str, np.ndarray] = {}

    def embed_queries(self, queries):
        return self.inner.embed_queries(queries)

    def seed(self, index_dir: Path) -> int:
        """Passages of an existing FAISS index of this embedder: not embedded again."""
        from rag.index import IndexError_, read_index_files

        try:
            manifest, chunks, vectors, _ = read_index_files(index_dir)
        except IndexError_:
            return 0
        if manifest.get("embedder") != self.name:
            return 0
        self._cache.update((c.indexed_text(), v) for c, v in zip(chunks, vectors))
        return len(chunks)

    def embed_passages(self, passages):
        missing = [p for p in dict.fromkeys(passages) if p not in self._cache]
        if missing:
            for p, v in zip(missing, self.inner.embed_passages(missing)):
                self._cache[p] = np.asarray(v, np.float32)
        return np.stack([self._cache[p] for p in passages])


def score(pipeline, items: list[dict]) -> dict:
    from eval import metrics as M
    from eval.golden import split_of

    out: dict[str, list[dict]] = {"dev": [], "test": []}
    times = []
    for it in items:
        t = time.perf_counter()
        hits = pipeline.retrieve(it["question"], M.K_MAX, history=it.get("history"))
        times.append((time.perf_counter() - t) * 1000)
        ans = pipeline.ask(it["question"], history=it.get("history"))
        answerable = bool(it["evidence"])
        rec = {"answerable": answerable, "refused": ans.refused,
               "hit_rank": M.first_hit_rank([h.text for h in hits], it["evidence"]) if answerable else None,
               "keyword": answerable and M.keyword_ok(ans.answer, it["answer_keywords"])}
        out[split_of(it["id"])].append(rec)
    out["all"] = out["dev"] + out["test"]
    res = {}
    for split, recs in out.items():
        ans = [r for r in recs if r["answerable"]]
        una = [r for r in recs if not r["answerable"]]
        ranks = [r["hit_rank"] for r in ans]
        res[split] = {"n": len(recs),
                      "hit@1": np.mean([r == 1 for r in ranks]), "hit@5": np.mean([r is not None and r <= 5 for r in ranks]),
                      "mrr@10": np.mean([1 / r if r else 0.0 for r in ranks]),
                      "keyword_accuracy": np.mean([r["keyword"] for r in ans]),
                      "refusal_accuracy": np.mean([r["refused"] for r in una]) if una else float("nan")}
        res[split] = {k: (round(float(v), 4) if k != "n" else v) for k, v in res[split].items()}
    res["retrieve_ms_p50"] = round(float(np.percentile(times, 50)), 1)
    res["retrieve_ms_p95"] = round(float(np.percentile(times, 95)), 1)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--milvus-uri", help="Milvus Lite file (….db) or server URI (default: a temporary Milvus Lite file)")
    ap.add_argument("--golden", default=str(ROOT / "eval" / "golden.jsonl"))
    ap.add_argument("--stores", default="faiss,milvus", help="which stores, comma-separated (default both)")
    ap.add_argument("--lexical-limit", type=int, help="RAG_MILVUS_LEXICAL_LIMIT for this run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from eval.golden import load_golden
    from rag.embed import get_embedder
    from rag.pipeline import Pipeline
    from rag.settings import get_settings

    base = get_settings().model_copy(update={"ask_process": False})
    embedder = CachedPassages(get_embedder(base))
    embedder.seed(base.index_dir)
    items = load_golden(args.golden)
    tmp = tempfile.mkdtemp(prefix="rag-milvus-")
    uri = args.milvus_uri or str(Path(tmp) / "index.db")
    results, builds = {}, {}
    if args.lexical_limit is not None:
        base = base.model_copy(update={"milvus_lexical_limit": args.lexical_limit})
    for store in args.stores.split(","):
        s = base.model_copy(update={"store": store, "milvus_uri": uri, "milvus_poll_seconds": 0})
        t = time.perf_counter()
        pipeline = Pipeline(s, progress=False, embedder=embedder)
        builds[store] = round(time.perf_counter() - t, 1)
        results[store] = score(pipeline, items)
        pipeline.close()
    if args.json:
        print(json.dumps({"results": results, "load_or_build_s": builds}, ensure_ascii=False, indent=1))
        return 0
    keys = ("hit@1", "hit@5", "mrr@10", "keyword_accuracy", "refusal_accuracy")
    print("| store | split | n | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    for store, res in results.items():
        for split in ("dev", "test", "all"):
            r = res[split]
            print(f"| {store} | {split} | {r['n']} | " + " | ".join(f"{r[k]:.4f}" for k in keys) + " |")
    for store, res in results.items():
        print(f"{store}: retrieve p50 {res['retrieve_ms_p50']} ms, p95 {res['retrieve_ms_p95']} ms; "
              f"pipeline start (load or build) {builds[store]} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
