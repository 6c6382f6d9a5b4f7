"""BM25 over per-chunk term counts that the index persists (issue 14, 1,000 documents).

Until FORMAT 8 both rankers (jieba words, character bigrams) were rebuilt by bm25s from every chunk's token list at
every start and every added document: at 1,000 documents (135k chunks) that was jieba over all chunks plus bm25s's
per-document Python loops, most of a 188 s start and of the 195.5 s of adding one document. Now each chunk's tokens
are kept as term counts (``TermCounts``, written beside the vectors); a start or an added document re-tokenises only
the chunks it has not seen, and the score matrix is computed from the counts with numpy.

``BM25`` is bm25s's default ranker (Lucene BM25, k1 = 1.5, b = 0.75) computed the same way: the same float32 idf
(``math.log``), the same float64 term-frequency component cast to float32 per (chunk, term), the same float32
additions per query token in query order. ``tests/test_bm25.py`` checks the scores equal bm25s's bit for bit.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

K1, B = 1.5, 0.75           # bm25s.BM25() defaults, method "lucene"


@dataclass
class TermCounts:
    """Each row's (a chunk's) distinct terms and how often each occurs: a CSR matrix rows x ``vocab``."""
    vocab: list[str]
    indptr: np.ndarray          # int64, rows + 1
    ids: np.ndarray             # int32 term ids, row by row
    counts: np.ndarray          # int32, same length

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def from_tokens(cls, token_lists: Iterable[Sequence[str]], vocab: dict[str, int] | None = None) -> "TermCounts":
        """``vocab`` (token -> id) is extended in place with new tokens when given."""
        vocab = {} if vocab is None else vocab
        flat = array("q")           # machine integers: a list of 10^7 Python ints would take ~0.4 GB
        lengths = array("q")
        for toks in token_lists:
            flat.extend(vocab.setdefault(t, len(vocab)) for t in toks)
            lengths.append(len(toks))
        rows = np.repeat(np.arange(len(lengths), dtype=np.int64), np.frombuffer(lengths, dtype=np.int64))
        n_vocab = max(1, len(vocab))
        keys, counts = np.unique(rows * n_vocab + np.frombuffer(flat, dtype=np.int64), return_counts=True)
        del rows, flat
        row_of = keys // n_vocab
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.bincount(row_of, minlength=len(lengths)), out=indptr[1:])
        words = [""] * len(vocab)
        for t, i in vocab.items():
            words[i] = t
        return cls(words, indptr, (keys % n_vocab).astype(np.int32), counts.astype(np.int32))

    @classmethod
    def empty(cls) -> "TermCounts":
        return cls([], np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int32))

    def take(self, rows: np.ndarray) -> "TermCounts":
        """These rows, in this order (same vocabulary)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        # entry j of the result comes from starts[row] + (j - indptr[row])
        src = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1], dtype=np.int64)
        return TermCounts(self.vocab, indptr, self.ids[src], self.counts[src])

    @staticmethod
    def concat(parts: Sequence["TermCounts"]) -> "TermCounts":
        """The rows of every part, one after the other, over one merged vocabulary."""
        vocab: dict[str, int] = {}
        ids, counts, lengths = [], [], []
        for p in parts:
            remap = np.fromiter((vocab.setdefault(t, len(vocab)) for t in p.vocab), dtype=np.int32, count=len(p.vocab))
            ids.append(remap[p.ids] if len(p.ids) else p.ids)
            counts.append(p.counts)
            lengths.append(np.diff(p.indptr))
        words = [""] * len(vocab)
        for t, i in vocab.items():
            words[i] = t
        lengths_all = np.concatenate(lengths) if lengths else np.zeros(0, np.int64)
        indptr = np.zeros(len(lengths_all) + 1, dtype=np.int64)
        np.cumsum(lengths_all, out=indptr[1:])
        return TermCounts(words, indptr, np.concatenate(ids).astype(np.int32) if ids else np.zeros(0, np.int32),
                          np.concatenate(counts).astype(np.int32) if counts else np.zeros(0, np.int32))

    def compact(self) -> "TermCounts":
        """Without the terms no row uses (a removed document's), ids renumbered in vocabulary order."""
        used = np.bincount(self.ids, minlength=len(self.vocab)) > 0
        if used.all():
            return self
        new_id = np.cumsum(used, dtype=np.int64) - 1
        return TermCounts([t for t, u in zip(self.vocab, used) if u], self.indptr,
                          new_id[self.ids].astype(np.int32), self.counts)

    # -- persistence: arrays for an .npz, the vocabulary for JSON
    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}_indptr": self.indptr, f"{prefix}_ids": self.ids, f"{prefix}_counts": self.counts}

    @classmethod
    def from_arrays(cls, vocab: list[str], arrays, prefix: str) -> "TermCounts":
        tc = cls(list(vocab), np.asarray(arrays[f"{prefix}_indptr"], dtype=np.int64),
                 np.asarray(arrays[f"{prefix}_ids"], dtype=np.int32), np.asarray(arrays[f"{prefix}_counts"], dtype=np.int32))
        tc.check()
        return tc

    def check(self) -> None:
        if self.indptr.ndim != 1 or len(self.indptr) < 1 or self.indptr[0] != 0 or self.indptr[-1] != len(self.ids) \
                or len(self.ids) != len(self.counts) or np.any(np.diff(self.indptr) < 0):
            raise ValueError("term counts: inconsistent row pointers")
        if len(self.ids) and (self.ids.min() < 0 or self.ids.max() >= len(self.vocab)):
            raise ValueError("term counts: term id outside the vocabulary")


class BM25:
    """bm25s's Lucene BM25, eager: a column-sparse (chunk x term) score matrix, built from ``TermCounts``."""

    def __init__(self, tc: TermCounts):
        n = len(tc)
        self.num_docs = n
        lengths = np.diff(tc.indptr)
        doc_len = np.add.reduceat(tc.counts.astype(np.int64), tc.indptr[:-1]) if len(tc.ids) else np.zeros(n, np.int64)
        doc_len[lengths == 0] = 0                   # reduceat repeats the next value for an empty row
        avg = doc_len.mean() if n else 1.0          # bm25s: np.array([len(doc) ...]).mean()
        df = np.bincount(tc.ids, minlength=len(tc.vocab))
        # idf exactly as bm25s: math.log per value, stored as float32 (few distinct df values: cheap)
        values, inverse = np.unique(df, return_inverse=True)
        idf_of = np.array([math.log(1 + (n - int(v) + 0.5) / (int(v) + 0.5)) if v else 0.0 for v in values])
        idf = idf_of[inverse].astype(np.float32)
        rows = np.repeat(np.arange(n, dtype=np.int32), lengths)
        # bm25s: tf / (k1 * ((1 - b) + b * l_d / l_avg) + tf), float32 tf promoted to float64 by the float64 l_avg;
        # in blocks, so the float64 temporaries stay small (the bigram matrix has ~20M entries at 1,000 documents)
        norm = K1 * ((1 - B) + (B * doc_len.astype(np.float64)) / avg)
        scores = np.empty(len(tc.ids), dtype=np.float32)
        step = 1 << 22
        for a in range(0, len(tc.ids), step):
            tf = tc.counts[a:a + step].astype(np.float32).astype(np.float64)
            scores[a:a + step] = idf[tc.ids[a:a + step]].astype(np.float64) * (tf / (norm[rows[a:a + step]] + tf))
        order = np.argsort(tc.ids, kind="stable")       # by term, chunks ascending within a term
        self.data = scores[order]
        del scores
        self.indices = rows[order]
        self.indptr = np.zeros(len(tc.vocab) + 1, dtype=np.int64)
        np.cumsum(df, out=self.indptr[1:])
        self.vocab_dict = {t: i for i, t in enumerate(tc.vocab) if df[i] > 0}
        self.df = {t: int(df[i]) for t, i in self.vocab_dict.items()}

    def postings(self, token: str) -> np.ndarray | None:
        """Positions of the chunks holding ``token`` (ascending), a view; None if none does."""
        i = self.vocab_dict.get(token)
        return None if i is None else self.indices[self.indptr[i]:self.indptr[i + 1]]

    def get_scores(self, tokens: list[str], ranges: np.ndarray | None = None) -> np.ndarray:
        """float32 scores of every chunk (as bm25s ``get_scores``: one float32 addition per query token, in order).
        ``ranges``: (start, end) rows of chunk positions; only the chunks inside them are scored, the rest stay 0
        (a question's scope is a few documents, whose chunks are contiguous: the long posting lists of common
        terms are cut by binary search instead of added in full)."""
        scores = np.zeros(self.num_docs, dtype=np.float32)
        for t in tokens:
            i = self.vocab_dict.get(t)
            if i is None:
                continue
            s, e = self.indptr[i], self.indptr[i + 1]
            idx = self.indices[s:e]
            if ranges is None:
                scores[idx] += self.data[s:e]       # a chunk once per term: same as bm25s's np.add.at
                continue
            lo = np.searchsorted(idx, ranges[:, 0])
            hi = np.searchsorted(idx, ranges[:, 1])
            for a, b in zip(lo.tolist(), hi.tolist()):
                if a < b:
                    scores[idx[a:b]] += self.data[s + a:s + b]
        return scores
