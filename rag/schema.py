"""One small dataclass per concept that flows through the pipeline.

Clause  -- a structural unit of a document (sentence group under a heading, a 专栏 table row,
           a glossary entry, a numbered item) with verbatim offsets into the original file.
Chunk   -- what gets indexed: one clause or a token-budgeted piece of one, plus the heading path
           that is prefixed for embedding/BM25 (never part of a quote).
Hit     -- a retrieved chunk with its fused score (JSON shape in ../shared/interfaces.md).
Citation, Answer -- what `ask` returns.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    path: str            # absolute path of the original file
    text: str            # the file's text exactly as stored (BOM stripped, newlines untouched)
    sha256: str          # content hash of the raw bytes
    meta: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Clause:
    doc_id: str
    kind: str            # paragraph | item | table_row | box_title | glossary | heading_text
    location: str        # human path, e.g. "第一篇 第三章 第三节" or "第一篇 第三章 第三节 专栏1 第12行"
    headings: tuple[str, ...]   # full heading texts of the parents, outermost first
    text: str            # text used for matching/embedding (hard wraps joined; table rows rebuilt)
    start: int           # offsets into Document.text; text of the source = doc.text[start:end]
    end: int
    notes: tuple[str, ...] = ()   # the footnotes its markers (［23］) point to, "［23］term：definition" (work reports)


@dataclass(frozen=True)
class Chunk:
    chunk_id: str        # f"{doc_id}#{ordinal}"
    doc_id: str
    title: str
    location: str
    headings: tuple[str, ...]
    kind: str
    text: str            # matching text of the chunk (no heading prefix)
    start: int
    end: int
    notes: tuple[str, ...] = ()   # footnotes its markers point to (Clause.notes); indexed, never quoted

    def indexed_text(self) -> str:
        """Heading path + text (+ the footnotes it cites): what BM25 and the embedder see."""
        path = " ".join(h for h in self.headings if h)
        notes = "".join(f"\n{n}" for n in self.notes)
        return f"{self.title} {path}\n{self.text}{notes}"


@dataclass
class Hit:
    doc_id: str
    title: str
    location: str
    text: str            # verbatim original text: file_text[start:end]
    start: int
    end: int
    score: float
    chunk_id: str = ""
    kind: str = ""
    match_text: str = "" # normalised text (joined hard wraps / rebuilt table row)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Citation:
    n: int
    doc_id: str
    title: str
    location: str
    quote: str           # exact substring of the corpus file: file_text[start:end] == quote
    start: int
    end: int
    path: str = ""       # the location with its heading titles: 第六篇 着力扩大有效投资 第十五章 … 专栏25 …

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ComparisonRow:
    """One side of a compared answer (重庆 vs 綦江, 目标 vs 实际, 行动方案 2027 vs 纲要 2030), for the small table under
    the answer line: what it is, its year or column, its figure (as the document states it), its citation [n]."""
    side: str            # the document, place or aspect (目标/实际)
    year: str            # 2030年目标, 2024年 … ('' when the clause names none)
    value: str           # the figure with its unit, verbatim; '文档中未提及' for a side no clause states
    cite: str = ""       # citation markers of the side's clause: [1][3]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    question: str
    answer: str
    refused: bool
    citations: list[Citation]
    backend: str = "extractive"
    timings_ms: dict[str, float] = field(default_factory=dict)
    rewritten_query: str | None = None
    notice: str | None = None
    lead: str | None = None      # the direct answer line the reply starts with (None: it starts with a quoted clause)
    table: list[ComparisonRow] = field(default_factory=list)   # a comparison's sides, one row each (else empty)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["citations"] = [c.to_json() for c in self.citations]
        return d
