"""Index stage: FAISS (dense) + BM25 (jieba, domain dictionary), persisted with a manifest.

* Incremental: vectors are kept per document and reused while the document's content hash, the
  embedder and the chunker are unchanged, so a rebuild only embeds new or changed documents.
* Atomic: a build is written to a temporary folder and swapped in with ``os.replace``; every file's
  checksum is in ``manifest.json``, which is written last, so a half-written or tampered index never loads.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .chunk import Chunker
from .corpus import Corpus, normalize
from .lexicon import GlossaryEntry, Lexicon, domain_terms, glossary_from_chunks
from .parse import parse, plain_parse
from .schema import Chunk

FORMAT = 7                      # bump when the on-disk layout or the parser's output changes
MANIFEST = "manifest.json"
INDEX_FILES = ("chunks.jsonl", "vectors.npy", "lexicon.json")
log = logging.getLogger(__name__)


class IndexError_(RuntimeError):
    """The persisted index is missing, incomplete, corrupt or built for another model/version."""


@dataclass
class BuildReport:
    documents: int
    chunks: int
    embedded_documents: list[str]
    reused_documents: list[str]
    removed_documents: list[str]
    embedded_chunks: int
    seconds: float
    skipped: list[str] = field(default_factory=list)   # corpus errors: documents that could not be loaded
    # documents whose structure could not be read: indexed as plain paragraphs, or (both failed) not indexed
    fallback: list[str] = field(default_factory=list)
    unparsed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        s = (f"索引完成 / index ready: {self.documents} documents, {self.chunks} chunks; "
             f"embedded {self.embedded_chunks} chunks of {len(self.embedded_documents)} changed documents, "
             f"reused {len(self.reused_documents)}, removed {len(self.removed_documents)}; {self.seconds:.1f} s")
        if self.skipped:
            s += "; skipped: " + " | ".join(self.skipped)
        if self.fallback:
            s += "; indexed as plain paragraphs: " + " | ".join(self.fallback)
        if self.unparsed:
            s += "; not indexed: " + " | ".join(self.unparsed)
        return s


@dataclass(frozen=True)
class DenseConfig:
    """Which FAISS index serves dense search. Exact (``IndexFlatIP``) below ``hnsw_min_chunks`` chunks; from there
    HNSW (``IndexHNSWFlat``, inner product), whose recall against exact search ``scripts/bench.py --replicate``
    measures (docs/scale.md). A search restricted to fewer than ``exact_below`` chunks (a question's scope: the
    documents of its region) is exact over just those, where HNSW's filtered search would lose recall."""
    hnsw_min_chunks: int = 100_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 256
    exact_below: int = 20_000

    def __post_init__(self):
        for name in ("hnsw_min_chunks", "hnsw_m", "hnsw_ef_construction", "hnsw_ef_search", "exact_below"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name in (
                    "hnsw_min_chunks", "exact_below") else 2):
                raise ValueError(f"DenseConfig.{name} must be an int >= 2 (>= 0 for thresholds), got {value!r}")

    @classmethod
    def from_settings(cls, s) -> "DenseConfig":
        return cls(s.hnsw_min_chunks, s.hnsw_m, s.hnsw_ef_construction, s.hnsw_ef_search, s.hnsw_exact_below)

    def uses_hnsw(self, n_chunks: int) -> bool:
        return 0 < self.hnsw_min_chunks <= n_chunks

    def build(self, vectors: np.ndarray):
        import faiss

        if not self.uses_hnsw(len(vectors)):
            index = faiss.IndexFlatIP(vectors.shape[1])
        else:
            index = faiss.IndexHNSWFlat(vectors.shape[1], self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = self.hnsw_ef_construction
            index.hnsw.efSearch = self.hnsw_ef_search
        index.add(vectors)
        return index


class Index:
    """Chunks + dense vectors (FAISS inner product on L2-normalised vectors) + BM25."""

    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, manifest: dict, lexicon: Lexicon | None = None,
                 dense: DenseConfig | None = None):
        import bm25s

        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self.chunks = chunks
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.manifest = manifest
        self.glossary: list[GlossaryEntry] = glossary_from_chunks(chunks)
        self.lexicon = lexicon or Lexicon(domain_terms(chunks))
        self.dense = dense or DenseConfig()
        self._subsets: dict[bytes, np.ndarray] = {}       # allowed chunk positions -> their vectors (HNSW only)
        self._init_dense()
        # Built one ranker at a time, token strings shared (interned) and postings read from bm25s's own sparse
        # matrix: at 1,000 documents (150k chunks) the per-chunk token lists and a dict of Python lists of
        # postings took the process past 6 GB; the idf, df and postings are the same numbers as before.
        pool: dict[str, str] = {}
        token_lists = [_shared(self.lexicon.tokens(c.indexed_text()), pool) or ["∅"] for c in chunks]
        df = self._init_word_bm25(token_lists)
        del token_lists
        self.idf = {t: self.idf_of(f) for t, f in df.items()}
        self.max_idf = self.idf_of(0)
        pool.clear()
        self.bm25_bigram, self.bigram_df = _ranker([_shared(self.lexicon.bigrams(c.indexed_text()), pool) or ["∅"]
                                                    for c in chunks])
        self._bigram_vocab = set(self.bm25_bigram.vocab_dict)
        # chunks per character pair (the speller's vocabulary; postings that make substring_df fast)
        self._bigram_postings = _Postings(self.bm25_bigram)
        self._substring_cache: dict[str, int] = {}
        self._match_texts = [normalize(c.indexed_text()) for c in chunks]      # for substring_df
        self.by_id = {c.chunk_id: i for i, c in enumerate(chunks)}

    # the two rankers a store may serve from elsewhere (rag/milvus_store.py: MilvusIndex); the term
    # statistics below (idf, bigram postings) stay in-process, the answerer reads them
    def _init_dense(self) -> None:
        self.hnsw = self.dense.uses_hnsw(len(self.chunks))
        self.faiss = self.dense.build(self.vectors)

    def _init_word_bm25(self, token_lists: list[list[str]]) -> dict[str, int]:
        """Builds the word BM25 ranker; returns each token's document frequency (for idf)."""
        self.bm25, df = _ranker(token_lists)
        self._vocab = set(self.bm25.vocab_dict)
        return df

    def idf_of(self, df: int) -> float:
        """BM25-style idf of a term found in ``df`` of the chunks (0: the maximum, ``max_idf``)."""
        n = max(1, len(self.chunks))
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def substring_df(self, term: str) -> int:
        """Number of chunks whose (normalised) text contains ``term``, however jieba segmented it there.
        Only the chunks holding the term's rarest character pair are scanned (a question asks this for
        each unknown word and its synonyms: a full scan of 11k library chunks took ~2 ms per word)."""
        if term in self._substring_cache:
            return self._substring_cache[term]
        pairs = self.lexicon.bigrams(term) if len(term) >= 2 else []
        if pairs and all(len(p) == 2 for p in pairs):
            postings = [self._bigram_postings.get(p) for p in pairs]
            if any(p is None for p in postings):
                n = 0
            else:
                n = sum(term in self._match_texts[i] for i in min(postings, key=len))
        else:
            n = sum(term in t for t in self._match_texts)
        if len(self._substring_cache) > 50_000:
            self._substring_cache.clear()
        self._substring_cache[term] = n
        return n

    @property
    def doc_ids(self) -> list[str]:
        return list(dict.fromkeys(c.doc_id for c in self.chunks))

    def bm25_scores(self, tokens: list[str]) -> np.ndarray:
        tokens = [t for t in tokens if t in self._vocab]
        if not tokens:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)

    def bigram_scores(self, text: str) -> np.ndarray:
        tokens = [t for t in self.lexicon.bigrams(text) if t in self._bigram_vocab]
        if not tokens:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self.bm25_bigram.get_scores(tokens), dtype=np.float32)

    def dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` chunks by inner product; ``allowed``: only these chunk positions (int64 array)."""
        import faiss

        q = np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32)
        k = min(k, len(self.chunks))
        if allowed is None:
            scores, idx = self.faiss.search(q, k)
        elif len(allowed) == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        elif self.hnsw and len(allowed) < self.dense.exact_below:
            return self._exact_subset(q[0], min(k, len(allowed)), allowed)
        elif self.hnsw:
            params = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBatch(allowed),
                                                efSearch=max(self.dense.hnsw_ef_search, k))
            scores, idx = self.faiss.search(q, min(k, len(allowed)), params=params)
        else:
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
            scores, idx = self.faiss.search(q, min(k, len(allowed)), params=params)
        return scores[0], idx[0]

    def _exact_subset(self, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = allowed.tobytes()
        sub = self._subsets.get(key)
        if sub is None:
            if len(self._subsets) > 32:
                self._subsets.clear()
            sub = self._subsets[key] = self.vectors[allowed]
        scores = sub @ q
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return scores[top], allowed[top]


def _shared(tokens: list[str], pool: dict[str, str]) -> list[str]:
    """``tokens`` with equal strings as one object (a corpus has ~10^5 distinct tokens, ~10^7 occurrences)."""
    return [pool.setdefault(t, t) for t in tokens]


def _ranker(token_lists: list[list[str]]):
    """A bm25s BM25 over ``token_lists`` and each token's document frequency (its column's entries)."""
    import bm25s

    ranker = bm25s.BM25()
    ranker.index(token_lists, show_progress=False)
    counts = np.diff(ranker.scores["indptr"])
    # bm25s adds "" to its vocabulary without a column
    return ranker, {t: int(counts[i]) for t, i in ranker.vocab_dict.items() if i < len(counts) and counts[i] > 0}


class _Postings:
    """Chunk positions per token, as views into the ranker's column-sparse matrix (no Python lists)."""

    def __init__(self, ranker):
        self._ids, self._ptr, self._idx = ranker.vocab_dict, ranker.scores["indptr"], ranker.scores["indices"]

    def get(self, token: str, default=None):
        i = self._ids.get(token)
        if i is None or i + 1 >= len(self._ptr) or self._ptr[i] == self._ptr[i + 1]:
            return default
        return self._idx[self._ptr[i]:self._ptr[i + 1]]


# ----------------------------------------------------------------------------- persistence

def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunk_to_json(c: Chunk) -> dict:
    d = asdict(c)
    d["headings"] = list(c.headings)
    d["notes"] = list(c.notes)
    return d


def _chunk_from_json(d: dict) -> Chunk:
    d = dict(d)
    d["headings"] = tuple(d["headings"])
    d["notes"] = tuple(d.get("notes", ()))
    return Chunk(**d)


def _signature(embedder, chunker: Chunker) -> dict:
    return {"format": FORMAT, "embedder": embedder.name, "dim": int(embedder.dim), "chunker": chunker.signature}


def load_index(index_dir: Path, embedder=None, chunker: Chunker | None = None, dense: DenseConfig | None = None) -> Index:
    """Load and verify a persisted index. Raises IndexError_ with the reason when it can't be used."""
    manifest, chunks, vectors, terms = read_index_files(index_dir, embedder, chunker)
    try:
        return Index(chunks, vectors, manifest, Lexicon(terms), dense)
    except (ValueError, TypeError, AttributeError, RuntimeError) as e:
        raise IndexError_(f"{index_dir}: unusable index ({type(e).__name__}: {e})") from None


def read_index_files(index_dir: Path, embedder=None, chunker: Chunker | None = None
                     ) -> tuple[dict, list[Chunk], np.ndarray, list[str]]:
    """The verified contents of a persisted index (manifest, chunks, vectors, lexicon terms), without
    building the in-memory search structures. Raises IndexError_ with the reason."""
    index_dir = Path(index_dir)
    mpath = index_dir / MANIFEST
    if not mpath.exists():
        raise IndexError_(f"no index at {index_dir}")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IndexError_(f"{mpath}: unreadable manifest ({e})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict) \
            or not isinstance(manifest.get("docs"), dict):
        raise IndexError_(f"{mpath}: not an index manifest (no files/docs)")
    if manifest.get("format") != FORMAT:
        raise IndexError_(f"index format {manifest.get('format')} != {FORMAT}")
    if embedder is not None and chunker is not None:
        want = _signature(embedder, chunker)
        got = {k: manifest.get(k) for k in want}
        if got != want:
            raise IndexError_(f"index built with {got}, expected {want}")
    if set(manifest["files"]) != set(INDEX_FILES):           # every file checksummed, nothing else read
        raise IndexError_(f"{mpath}: lists files {sorted(manifest['files'])}, expected {list(INDEX_FILES)}")
    for name, digest in manifest["files"].items():
        p = index_dir / name
        if not p.exists():
            raise IndexError_(f"{p}: missing")
        if _sha(p) != digest:
            raise IndexError_(f"{p}: checksum mismatch (truncated or modified)")
    try:
        with open(index_dir / "chunks.jsonl", encoding="utf-8") as f:
            chunks = [_chunk_from_json(json.loads(line)) for line in f]
        vectors = np.load(index_dir / "vectors.npy", allow_pickle=False)
        terms = json.loads((index_dir / "lexicon.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise IndexError_(f"{index_dir}: unreadable index files ({e})") from None
    # consistent checksums are not enough (a hand-edited manifest): the arrays must fit the manifest
    dim = manifest.get("dim")
    if vectors.ndim != 2 or len(vectors) != len(chunks) or vectors.shape[1] != dim \
            or manifest.get("chunks", len(chunks)) != len(chunks):
        raise IndexError_(f"{index_dir}: vectors {vectors.shape} do not match {len(chunks)} chunks of dim {dim}")
    return manifest, chunks, vectors, terms


def _write_atomic(index_dir: Path, chunks: list[Chunk], vectors: np.ndarray, manifest: dict, lexicon_terms: list[str]) -> None:
    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    try:
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(_chunk_to_json(c), ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", vectors.astype(np.float32), allow_pickle=False)
        (tmp / "lexicon.json").write_text(json.dumps(lexicon_terms, ensure_ascii=False), encoding="utf-8")
        manifest = dict(manifest, files={n: _sha(tmp / n) for n in INDEX_FILES})
        with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, ensure_ascii=False, indent=1)
            f.flush()
            os.fsync(f.fileno())
        old = None
        if index_dir.exists():
            old = index_dir.with_name(f".{index_dir.name}.old-{os.getpid()}")
            os.replace(index_dir, old)
        os.replace(tmp, index_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# ----------------------------------------------------------------------------- building

def _previous(index_dir: Path, embedder, chunker: Chunker) -> tuple[dict, list[Chunk], np.ndarray] | None:
    """The previous index if it is usable for reuse (same model/chunker/format), else None."""
    try:
        manifest, chunks, vectors, _ = read_index_files(index_dir, embedder, chunker)
    except IndexError_ as e:
        log.debug("not reusing previous index: %s", e)      # ensure_index has said why at INFO already
        return None
    return manifest, chunks, vectors


def build_index(corpus: Corpus, embedder, chunker: Chunker, index_dir: Path, progress: bool = True,
                dense: DenseConfig | None = None) -> tuple[Index, BuildReport]:
    t0 = time.perf_counter()
    built = assemble(corpus, embedder, chunker, _previous(index_dir, embedder, chunker), progress)
    _write_atomic(index_dir, built.chunks, built.vectors, built.manifest, built.lexicon.terms)
    index = Index(built.chunks, built.vectors, built.manifest, built.lexicon, dense)
    return index, built.report(corpus, time.perf_counter() - t0)


@dataclass
class Assembled:
    """A new index's contents before a store writes them: unchanged documents' chunks and vectors reused
    from the previous index, changed ones chunked and embedded."""
    chunks: list[Chunk]
    vectors: np.ndarray
    manifest: dict
    lexicon: Lexicon
    embedded: list[str]
    reused: list[str]
    removed: list[str]
    embedded_chunks: int

    def report(self, corpus: Corpus, seconds: float) -> BuildReport:
        return BuildReport(len(corpus.documents), len(self.chunks), self.embedded, self.reused, self.removed,
                           self.embedded_chunks, seconds, list(corpus.errors), *parse_problems(self.manifest))


def assemble(corpus: Corpus, embedder, chunker: Chunker, prev: tuple[dict, list[Chunk], np.ndarray] | None,
             progress: bool = True) -> Assembled:
    """Chunks, vectors and manifest of ``corpus``; ``prev`` (manifest, chunks, vectors) of the index being
    replaced, whose documents with an unchanged sha256 are reused without embedding."""
    prev_docs = prev[0]["docs"] if prev else {}
    all_chunks: list[Chunk] = []
    all_vecs: list[np.ndarray] = []
    embedded, reused, to_embed = [], [], []
    docs_meta = {}
    for doc in corpus.documents:
        docs_meta[doc.doc_id] = {"sha256": doc.sha256, "title": doc.title, "file": doc.meta.get("file", "")}
        if prev and prev_docs.get(doc.doc_id, {}).get("sha256") == doc.sha256:
            docs_meta[doc.doc_id].update({k: v for k, v in prev_docs[doc.doc_id].items() if k.startswith("parse")})
            idx = [i for i, c in enumerate(prev[1]) if c.doc_id == doc.doc_id]
            all_chunks.extend(prev[1][i] for i in idx)
            all_vecs.append(prev[2][idx])
            reused.append(doc.doc_id)
            continue
        chunks, status, reason = chunk_document(doc, chunker)
        if status != "structure":
            docs_meta[doc.doc_id].update(parse=status, parse_error=reason)
            log.warning("%s: %s (%s)", doc.meta.get("file", doc.doc_id), status, reason)
        to_embed.append((len(all_vecs), chunks))
        all_chunks.extend(chunks)
        all_vecs.append(None)  # filled below
        embedded.append(doc.doc_id)
    texts = [c.indexed_text() for _, chunks in to_embed for c in chunks]
    if texts:
        vecs = _embed_with_progress(embedder, texts, progress)
        pos = 0
        for slot, chunks in to_embed:
            all_vecs[slot] = vecs[pos:pos + len(chunks)]
            pos += len(chunks)
    # re-number chunk ids so they stay unique and stable per document
    vectors = np.vstack(all_vecs) if all_vecs else np.zeros((0, embedder.dim), np.float32)
    removed = sorted(set(prev_docs) - set(docs_meta))
    lexicon = Lexicon(domain_terms(all_chunks))
    manifest = dict(_signature(embedder, chunker), docs=docs_meta, built_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                    chunks=len(all_chunks))
    return Assembled(all_chunks, vectors, manifest, lexicon, embedded, reused, removed, len(texts))


def chunk_document(doc, chunker: Chunker) -> tuple[list[Chunk], str, str]:
    """Chunks of one document and how its structure was read: ``structure`` (the parser), ``paragraphs``
    (the parser failed: one clause per paragraph, exact offsets, no headings) or ``skipped`` (both failed:
    not indexed). One odd document never stops the build of the others; the reason is kept for the
    summary and /api/health."""
    try:
        return chunker.chunk(doc, parse(doc)), "structure", ""
    except Exception as e:          # noqa: BLE001 -- any parser bug; the fallback below is the safety net
        reason = f"{type(e).__name__}: {e}"
    try:
        return chunker.chunk(doc, plain_parse(doc)), "paragraphs", reason
    except Exception as e:          # noqa: BLE001
        return [], "skipped", f"{reason}; paragraphs: {type(e).__name__}: {e}"


def parse_problems(manifest: dict) -> tuple[list[str], list[str]]:
    """("file: reason" of documents indexed as plain paragraphs, the same for documents not indexed)."""
    out: dict[str, list[str]] = {"paragraphs": [], "skipped": []}
    for doc_id, d in manifest.get("docs", {}).items():
        if d.get("parse") in out:
            out[d["parse"]].append(f"{d.get('file') or doc_id}: {d.get('parse_error', '')}")
    return out["paragraphs"], out["skipped"]


def _embed_with_progress(embedder, texts: list[str], progress: bool, batch: int = 32) -> np.ndarray:
    from tqdm import tqdm

    out = []
    with tqdm(total=len(texts), desc="向量化 / embedding", unit="chunk", disable=not progress) as bar:
        for i in range(0, len(texts), batch):
            out.append(embedder.embed_passages(texts[i:i + batch]))
            bar.update(len(texts[i:i + batch]))
    return np.vstack(out).astype(np.float32)


def ensure_index(corpus: Corpus, embedder, chunker: Chunker, index_dir: Path, progress: bool = True,
                 dense: DenseConfig | None = None) -> tuple[Index, BuildReport | None]:
    """Load the persisted index if it matches the corpus, else (re)build what changed."""
    try:
        idx = load_index(index_dir, embedder, chunker, dense)
        current = {d.doc_id: d.sha256 for d in corpus.documents}
        if {k: v["sha256"] for k, v in idx.manifest["docs"].items()} == current:
            return idx, None
    except IndexError_ as e:
        log.info("rebuilding index: %s", e)
    return build_index(corpus, embedder, chunker, index_dir, progress, dense)
