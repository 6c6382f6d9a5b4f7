"""Chunking: one chunk per clause, long clauses split at sentence ends within a tiktoken budget.

Never crosses a 节 / item / 专栏 row boundary (a chunk never spans two clauses). The heading path is
prefixed for embedding/BM25 (``Chunk.indexed_text``) but is not part of the chunk's own text or quote.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .parse import align
from .schema import Chunk, Clause, Document

SENT_END = re.compile(r"(?<=[。；;！？!?])")


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken  # TIKTOKEN_CACHE_DIR is set in rag/__init__.py

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def split_sentences(text: str) -> list[str]:
    return [s for s in SENT_END.split(text) if s]


class Chunker:
    """Token-budgeted, structure-preserving chunker (settings: budget and sentence overlap)."""

    def __init__(self, max_tokens: int = 350, overlap: int = 1):
        if max_tokens < 16:
            raise ValueError("max_tokens must be >= 16")
        if overlap < 0:
            raise ValueError("overlap must be >= 0")
        self.max_tokens = max_tokens
        self.overlap = overlap

    @property
    def signature(self) -> str:
        return f"clause-v1:{self.max_tokens}:{self.overlap}"

    def pieces(self, text: str) -> list[tuple[int, int]]:
        """[start, end) character spans of ``text``, each within the budget (a single over-long
        sentence is cut at the budget)."""
        if count_tokens(text) <= self.max_tokens:
            return [(0, len(text))]
        sents, spans, pos = split_sentences(text), [], 0
        bounds = []
        for s in sents:
            bounds.append((pos, pos + len(s)))
            pos += len(s)
        bounds = [b for sb in bounds for b in self._cut_long(text, *sb)]
        i = 0
        while i < len(bounds):
            j = i + 1
            while j < len(bounds) and count_tokens(text[bounds[i][0]:bounds[j][1]]) <= self.max_tokens:
                j += 1
            spans.append((bounds[i][0], bounds[j - 1][1]))
            if j >= len(bounds):
                break
            i = max(i + 1, j - self.overlap)
        return spans

    def _cut_long(self, text: str, a: int, b: int) -> list[tuple[int, int]]:
        enc = _encoding()
        if count_tokens(text[a:b]) <= self.max_tokens:
            return [(a, b)]
        out, start = [], a
        while start < b:
            ids = enc.encode(text[start:b], disallowed_special=())[: self.max_tokens]
            n = max(1, len(enc.decode(ids)))
            while n > 1 and count_tokens(text[start:start + n]) > self.max_tokens:
                n -= 1
            out.append((start, min(b, start + n)))
            start += n
        return out

    def chunk(self, doc: Document, clauses: list[Clause]) -> list[Chunk]:
        out: list[Chunk] = []
        for cl in clauses:
            spans = [(0, len(cl.text))] if cl.kind == "table_row" else self.pieces(cl.text)
            if len(spans) == 1:
                out.append(self._make(doc, cl, cl.text, cl.start, cl.end, len(out)))
                continue
            pos = align(doc.text[cl.start:cl.end], cl.text)
            for a, b in spans:
                out.append(self._make(doc, cl, cl.text[a:b], cl.start + pos[a], cl.start + pos[b - 1] + 1, len(out)))
        return out

    @staticmethod
    def _make(doc: Document, cl: Clause, text: str, start: int, end: int, n: int) -> Chunk:
        return Chunk(chunk_id=f"{doc.doc_id}#{n}", doc_id=doc.doc_id, title=doc.title, location=cl.location,
                     headings=cl.headings, kind=cl.kind, text=text, start=start, end=end, notes=cl.notes)
