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
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from .bm25 import BM25, TermCounts
from .chunk import Chunker
from .corpus import Corpus, normalize
from .lexicon import GlossaryEntry, Lexicon, domain_terms, glossary_from_chunks
from .parse import parse, plain_parse
from .schema import Chunk

# bump when the on-disk layout or the parser's output changes. 8: each chunk's BM25 term counts (terms.npz +
# terms.json) and, at HNSW sizes, the HNSW graph (dense.faiss) are persisted, so a start or an added document no longer
# re-runs jieba over every chunk nor rebuilds the graph (issue 14: 188 s start and 195.5 s per added document at
# 1,000 documents). A format-7 index's chunks and vectors are still reused (nothing is re-embedded).
FORMAT = 8
MANIFEST = "manifest.json"
INDEX_FILES = ("chunks.jsonl", "vectors.npy", "lexicon.json", "terms.npz", "terms.json")
OPTIONAL_FILES = ("dense.faiss",)       # only when dense search uses HNSW
MAX_STALE = 0.05                        # share of a carried-over HNSW graph that may be dropped vectors (see _reuse)
# formats whose chunks.jsonl / vectors.npy / lexicon.json mean what they mean now: reused by a rebuild
REUSABLE_FORMATS = {7: ("chunks.jsonl", "vectors.npy", "lexicon.json"), FORMAT: INDEX_FILES}
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

    def graph_meta(self) -> dict:
        """What a persisted HNSW graph was built with (efSearch is a search-time setting: not part of it)."""
        return {"type": "hnsw", "m": self.hnsw_m, "ef_construction": self.hnsw_ef_construction}

    def build(self, vectors: np.ndarray):
        """Flat (exact) or HNSW by size. HNSW is wrapped in an ``IndexIDMap`` whose ids are chunk positions, so an
        added document's vectors are appended to a persisted graph while the chunks keep corpus order."""
        import faiss

        if not self.uses_hnsw(len(vectors)):
            index = faiss.IndexFlatIP(vectors.shape[1])
            index.add(vectors)
            return index
        inner = faiss.IndexHNSWFlat(vectors.shape[1], self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = self.hnsw_ef_construction
        index = faiss.IndexIDMap(inner)
        index.add_with_ids(vectors, np.arange(len(vectors), dtype=np.int64))
        return self.searching(index)

    def searching(self, index):
        """``index`` (an HNSW graph, built or read) with this config's efSearch."""
        import faiss

        faiss.downcast_index(index.index).hnsw.efSearch = self.hnsw_ef_search
        return index


@dataclass
class Reuse:
    """What a new ``Index`` takes from the previous one (or from its own files) instead of recomputing it."""
    sources: np.ndarray                 # per chunk: its row in ``word``/``bigram`` (-1: new, tokenised now)
    word: TermCounts | None = None      # term counts of the previous rows
    bigram: TermCounts | None = None
    recut: np.ndarray | None = None     # per chunk: its word tokens must be cut again (a domain term in it changed)
    match: list[str] | None = None      # normalised indexed texts of the previous rows (``Index._match_texts``)
    faiss: object = None                # a FAISS index already holding exactly these chunks' vectors (ids = positions)


class Index:
    """Chunks + dense vectors (FAISS inner product on L2-normalised vectors) + BM25."""

    def __init__(self, chunks: list[Chunk], vectors: np.ndarray, manifest: dict, lexicon: Lexicon | None = None,
                 dense: DenseConfig | None = None, reuse: Reuse | None = None):
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self.chunks = chunks
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.manifest = manifest
        self.glossary: list[GlossaryEntry] = glossary_from_chunks(chunks)
        self.lexicon = lexicon or Lexicon(domain_terms(chunks))
        self.dense = dense or DenseConfig()
        self._subsets: dict[bytes, np.ndarray] = {}       # allowed chunk positions -> their vectors (HNSW only)
        self._init_dense(reuse.faiss if reuse is not None else None)
        # Each chunk's term counts: taken from ``reuse`` where it has them (a start, an added document), the rest
        # tokenised. Kept (``word_counts``, ``bigram_counts``) until the index is written, then released.
        self.word_counts = _counts(chunks, lambda c: self.lexicon.tokens(c.indexed_text()), reuse, "word")
        if reuse is not None:
            reuse.word = None               # the previous rows are merged into ours: not held twice (memory)
        df = self._init_word_bm25(self.word_counts)
        self.idf = {t: self.idf_of(f) for t, f in df.items()}
        self.max_idf = self.idf_of(0)
        self.bigram_counts = _counts(chunks, lambda c: self.lexicon.bigrams(c.indexed_text()), reuse, "bigram")
        if reuse is not None:
            reuse.bigram = None
        self.bm25_bigram = BM25(self.bigram_counts)
        self.bigram_df = self.bm25_bigram.df
        self._bigram_vocab = self.bm25_bigram.vocab_dict
        self._substring_cache: dict[str, int] = {}
        # for substring_df; persisted too (NFKC is ~30 us a chunk: 4.5 s of a start at 1,000 documents)
        self._match_texts = _match_texts(chunks, reuse)
        self.by_id = {c.chunk_id: i for i, c in enumerate(chunks)}

    # the two rankers a store may serve from elsewhere (rag/milvus_store.py: MilvusIndex); the term
    # statistics below (idf, bigram postings) stay in-process, the answerer reads them
    def _init_dense(self, prebuilt=None) -> None:
        self.hnsw = self.dense.uses_hnsw(len(self.chunks))
        self.faiss = prebuilt if prebuilt is not None else self.dense.build(self.vectors)
        # a graph carried over from a build that dropped documents still holds their vectors (id -1): every search
        # then selects the live positions, so none of them is returned
        self._stale = int(self.faiss.ntotal - len(self.chunks)) if self.hnsw and self.faiss is not None else 0
        self._live_bits = None

    def _init_word_bm25(self, counts: TermCounts) -> dict[str, int]:
        """Builds the word BM25 ranker; returns each token's document frequency (for idf)."""
        self.bm25 = BM25(counts)
        self._vocab = self.bm25.vocab_dict
        return self.bm25.df

    def release_counts(self) -> None:
        """Drop the term counts once written (~8 bytes per distinct term of a chunk: 250 MB at 1,000 documents)."""
        self.word_counts = self.bigram_counts = None

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
            postings = [self.bm25_bigram.postings(p) for p in pairs]
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
        return self.bm25.get_scores(tokens)

    def bigram_scores(self, text: str) -> np.ndarray:
        tokens = [t for t in self.lexicon.bigrams(text) if t in self._bigram_vocab]
        if not tokens:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return self.bm25_bigram.get_scores(tokens)

    def dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` chunks by inner product; ``allowed``: only these chunk positions (int64 array)."""
        with _one_thread():
            return self._dense_search(qvec, k, allowed)

    def _dense_search(self, qvec: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        q = np.ascontiguousarray(qvec.reshape(1, -1), dtype=np.float32)
        k = min(k, len(self.chunks))
        if allowed is None and self._stale:
            # a few more results, the dropped vectors' (-1) left out: as a search selecting the live ones (which
            # was ~5 ms slower at 1,000 documents: the selector is asked at every step); if too many of the best
            # were dropped ones, that search after all
            extra = min(self._stale, 32)
            scores, idx = self.faiss.search(q, min(k + extra, int(self.faiss.ntotal)))
            live = idx[0] >= 0
            if live.sum() >= k or live.sum() == len(self.chunks):
                return scores[0][live][:k], idx[0][live][:k]
            if self._live_bits is None:
                self._live_bits = np.packbits(np.ones(len(self.chunks), dtype=bool), bitorder="little")
            params = faiss.SearchParametersHNSW(sel=faiss.IDSelectorBitmap(self._live_bits),
                                                efSearch=max(self.dense.hnsw_ef_search, k))
            scores, idx = self.faiss.search(q, k, params=params)
            return scores[0], idx[0]
        if allowed is None:
            scores, idx = self.faiss.search(q, k)
        elif len(allowed) == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        elif self.hnsw and len(allowed) < self.dense.exact_below:
            return self._exact_subset(q[0], min(k, len(allowed)), allowed)
        elif self.hnsw and 2 * len(allowed) >= len(self.chunks) and (got := self._wide(q, k, allowed)) is not None:
            return got
        else:
            # a bitmap of the allowed positions, not IDSelectorBatch's hash set: building that set for a wide scope
            # (775 documents, ~105k chunks) took 11 ms a question at 1,000 documents; the same ids either way
            bits = np.zeros(len(self.chunks), dtype=bool)
            bits[allowed] = True
            sel = faiss.IDSelectorBitmap(np.packbits(bits, bitorder="little"))
            params = (faiss.SearchParametersHNSW(sel=sel, efSearch=max(self.dense.hnsw_ef_search, k)) if self.hnsw
                      else faiss.SearchParameters(sel=sel))
            scores, idx = self.faiss.search(q, min(k, len(allowed)), params=params)
        return scores[0], idx[0]

    def _wide(self, q: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """A scope of at least half the chunks (at 1,000 documents a question about 重庆 allows ~775 documents): the
        graph searched without a selector for twice as many, the others left out. HNSW visits the same nodes with or
        without one (a selector only filters what enters the results), so when at least ``k`` allowed chunks are
        among them they are the selector's answer; a selector asked at every step cost 3-6 ms a search. None when
        too few are allowed ones (then the selector)."""
        want = min(k, len(allowed))
        scores, idx = self.faiss.search(q, min(2 * k + 16, int(self.faiss.ntotal)))
        scores, idx = scores[0], idx[0]
        if len(allowed) > 1 and np.any(allowed[1:] < allowed[:-1]):
            allowed = np.sort(allowed)
        at = np.minimum(np.searchsorted(allowed, idx), len(allowed) - 1)
        ok = (idx >= 0) & (allowed[at] == idx)
        if ok.sum() < want:
            return None
        return scores[ok][:want], idx[ok][:want]

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


_THREADS = None


def _one_thread():
    """BLAS (numpy's, faiss's) and OpenMP (faiss) limited to one thread while one query is searched. Their default
    two threads wake a second core for a one-vector search and, on this 2-core machine under load, wait on the
    ONNX query embedding's and other processes' threads: at 1,000 documents and load ~2 a scoped exact search took
    5.6 ms (0.27 ms single-threaded) and a wide HNSW search 7.2 ms (1.0 ms); retrieve p50/p95 30.5/63.0 ->
    17.1/32.0 ms (docs/scale.md). A ``threadpoolctl`` limit (15 us), restored after the search; index builds keep
    their threads."""
    global _THREADS
    if _THREADS is None:
        from threadpoolctl import ThreadpoolController

        _THREADS = ThreadpoolController()
    return _THREADS.limit(limits=1)


def _match_texts(chunks: list[Chunk], reuse: Reuse | None) -> list[str]:
    prev = reuse.match if reuse is not None else None
    if prev is None:
        return [normalize(c.indexed_text()) for c in chunks]
    return [prev[j] if j >= 0 else normalize(c.indexed_text()) for c, j in zip(chunks, reuse.sources.tolist())]


def _counts(chunks: list[Chunk], tokenize, reuse: Reuse | None, which: str) -> TermCounts:
    """Term counts of every chunk: rows of ``reuse`` where it has the chunk (and, for words, the chunk need not be
    cut again), ``tokenize(chunk)`` for the others (an empty token list counts as the one token "∅")."""
    prev = getattr(reuse, which, None) if reuse is not None else None
    if prev is None:
        return TermCounts.from_tokens(tokenize(c) or ["∅"] for c in chunks)
    sources = np.asarray(reuse.sources, dtype=np.int64)
    keep = sources >= 0
    if which == "word" and reuse.recut is not None:
        keep &= ~reuse.recut
    if keep.all() and len(sources) == len(prev) and np.array_equal(sources, np.arange(len(prev))):
        return prev.compact()                            # a start: the persisted rows as they are
    new = np.flatnonzero(~keep)
    fresh = TermCounts.from_tokens(tokenize(chunks[i]) or ["∅"] for i in new)
    rows = np.where(keep, sources, 0)
    rows[new] = len(prev) + np.arange(len(new))
    return TermCounts.concat([prev, fresh]).take(rows).compact()


# ----------------------------------------------------------------------------- persistence

def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_CHUNK_FIELDS = tuple(f.name for f in fields(Chunk))


def _chunk_to_json(c: Chunk) -> dict:
    # the fields by name, not dataclasses.asdict: its deep copy was 7.9 s of writing 135k chunks (1,000 documents)
    d = {f: getattr(c, f) for f in _CHUNK_FIELDS}
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
    return _open(index_dir, read_index_files(index_dir, embedder, chunker), dense)


def _open(index_dir: Path, files: tuple, dense: DenseConfig | None) -> Index:
    """The in-memory index of verified files (``read_index_files``): term counts and the HNSW graph as persisted,
    so a start does not tokenise every chunk (jieba, ~1 ms a chunk) nor rebuild the graph."""
    manifest, chunks, vectors, terms = files
    dense = dense or DenseConfig()
    try:
        return Index(chunks, vectors, manifest, Lexicon(terms), dense, read_search_files(index_dir, manifest, len(chunks), dense))
    except (ValueError, TypeError, AttributeError, RuntimeError, KeyError, OSError) as e:
        raise IndexError_(f"{index_dir}: unusable index ({type(e).__name__}: {e})") from None


def read_index_files(index_dir: Path, embedder=None, chunker: Chunker | None = None, formats: tuple[int, ...] = (FORMAT,)
                     ) -> tuple[dict, list[Chunk], np.ndarray, list[str]]:
    """The verified contents of a persisted index (manifest, chunks, vectors, lexicon terms), without
    building the in-memory search structures; every file the manifest lists is checksummed. ``formats``: the
    formats accepted (a rebuild also takes an older one's chunks and vectors, ``REUSABLE_FORMATS``). Raises
    IndexError_ with the reason."""
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
    fmt = manifest.get("format")
    if fmt not in formats or fmt not in REUSABLE_FORMATS:
        older = isinstance(fmt, int) and fmt < FORMAT
        raise IndexError_(f"index format {fmt} != {FORMAT}" + (
            " (an older version's index: it is rebuilt in the current format; the chunks and vectors of format "
            f"{', '.join(map(str, sorted(k for k in REUSABLE_FORMATS if k != FORMAT)))} are reused, nothing is "
            "re-embedded)" if older and fmt in REUSABLE_FORMATS else ""))
    if embedder is not None and chunker is not None:
        want = _signature(embedder, chunker)
        got = {k: manifest.get(k) for k in want}
        if {k: v for k, v in got.items() if k != "format"} != {k: v for k, v in want.items() if k != "format"}:
            raise IndexError_(f"index built with {got}, expected {want}")
    required = set(REUSABLE_FORMATS[fmt])
    optional = set(OPTIONAL_FILES) if fmt == FORMAT else set()
    if not required <= set(manifest["files"]) <= required | optional:     # every file checksummed, nothing else read
        raise IndexError_(f"{mpath}: lists files {sorted(manifest['files'])}, expected {sorted(required)}"
                          + (f" (and optionally {sorted(optional)})" if optional else ""))
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


def read_search_files(index_dir: Path, manifest: dict, n_chunks: int, dense: DenseConfig) -> Reuse:
    """The persisted word and bigram term counts, normalised texts and HNSW graph of a verified index
    (``read_index_files``), as a ``Reuse`` of every row: None for what it lacks (a format-7 index), and for a graph
    this ``dense`` config would not use (another size threshold, M or efConstruction: then built in memory)."""
    import faiss

    files = manifest["files"]
    word = bigram = graph = match = None
    if "terms.npz" in files:
        vocab = json.loads((Path(index_dir) / "terms.json").read_text(encoding="utf-8"))
        with np.load(Path(index_dir) / "terms.npz", allow_pickle=False) as z:
            word = TermCounts.from_arrays(vocab["word"], z, "word")
            bigram = TermCounts.from_arrays(vocab["bigram"], z, "bigram")
        match = vocab["match"]
        if len(word) != n_chunks or len(bigram) != n_chunks or len(match) != n_chunks:
            raise ValueError(f"term counts of {len(word)}/{len(bigram)}/{len(match)} chunks for {n_chunks} chunks")
    if "dense.faiss" in files:
        if dense.uses_hnsw(n_chunks) and manifest.get("dense") == dense.graph_meta():
            graph = faiss.read_index(str(Path(index_dir) / "dense.faiss"))
            ids = faiss.vector_to_array(graph.id_map)
            live = np.sort(ids[ids >= 0])
            if len(live) != n_chunks or not np.array_equal(live, np.arange(n_chunks)):
                raise ValueError(f"HNSW graph of {len(live)} live vectors ({graph.ntotal} in all) for {n_chunks} chunks")
            graph = dense.searching(graph)
        else:
            log.info("HNSW graph of %s not used with %s (built in memory)", manifest.get("dense"), dense)
    return Reuse(np.arange(n_chunks), word=word, bigram=bigram, faiss=graph, match=match)


def _write_atomic(index_dir: Path, chunks: list[Chunk], vectors: np.ndarray, manifest: dict, lexicon_terms: list[str],
                  word: TermCounts | None = None, bigram: TermCounts | None = None, graph=None,
                  dense: DenseConfig | None = None, match: list[str] | None = None) -> None:
    """Write an index folder atomically. ``word``/``bigram``: the chunks' term counts (computed here if not given:
    jieba over every chunk); ``graph``: the HNSW index serving them, persisted (with ``dense``'s settings in the
    manifest) so the next start or added document does not rebuild it; ``match``: their normalised texts."""
    import faiss

    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    if word is None or bigram is None:
        lexicon = Lexicon(lexicon_terms)
        if word is None:
            word = TermCounts.from_tokens(lexicon.tokens(c.indexed_text()) or ["∅"] for c in chunks)
        if bigram is None:
            bigram = TermCounts.from_tokens(lexicon.bigrams(c.indexed_text()) or ["∅"] for c in chunks)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.tmp-", dir=index_dir.parent))
    try:
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(_chunk_to_json(c), ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", vectors.astype(np.float32), allow_pickle=False)
        (tmp / "lexicon.json").write_text(json.dumps(lexicon_terms, ensure_ascii=False), encoding="utf-8")
        np.savez(tmp / "terms.npz", **word.arrays("word"), **bigram.arrays("bigram"))
        if match is None:
            match = [normalize(c.indexed_text()) for c in chunks]
        (tmp / "terms.json").write_text(json.dumps({"word": word.vocab, "bigram": bigram.vocab, "match": match},
                                                   ensure_ascii=False), encoding="utf-8")
        names = list(INDEX_FILES)
        manifest = {k: v for k, v in manifest.items() if k != "dense"}
        if graph is not None and isinstance(graph, faiss.IndexIDMap):
            faiss.write_index(graph, str(tmp / "dense.faiss"))
            names.append("dense.faiss")
            manifest["dense"] = (dense or DenseConfig()).graph_meta()
        manifest = dict(manifest, format=FORMAT, files={n: _sha(tmp / n) for n in names})
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

@dataclass
class Previous:
    """The index being replaced, as far as a rebuild can reuse it."""
    manifest: dict
    chunks: list[Chunk]
    vectors: np.ndarray
    terms: list[str]                    # its lexicon's domain terms
    search: Reuse                       # its term counts, texts and graph (None where not persisted or not usable)


def _previous(index_dir: Path, embedder, chunker: Chunker, dense: DenseConfig | None = None) -> Previous | None:
    """The previous index if it is usable for reuse (same model/chunker, a reusable format), else None."""
    try:
        manifest, chunks, vectors, terms = read_index_files(index_dir, embedder, chunker, tuple(REUSABLE_FORMATS))
    except IndexError_ as e:
        log.debug("not reusing previous index: %s", e)      # ensure_index has said why at INFO already
        return None
    return Previous(manifest, chunks, vectors, terms, _search_or_nothing(index_dir, manifest, len(chunks), dense))


def _search_or_nothing(index_dir: Path, manifest: dict, n_chunks: int, dense: DenseConfig | None) -> Reuse:
    """``read_search_files``, or nothing of it when it cannot be read: the chunks and vectors are still reused (only
    the tokens are computed again, never the embeddings)."""
    try:
        return read_search_files(index_dir, manifest, n_chunks, dense or DenseConfig())
    except (ValueError, KeyError, TypeError, OSError, RuntimeError) as e:
        log.info("%s: term counts / graph not reused (%s: %s)", index_dir, type(e).__name__, e)
        return Reuse(np.arange(n_chunks))


def build_index(corpus: Corpus, embedder, chunker: Chunker, index_dir: Path, progress: bool = True,
                dense: DenseConfig | None = None, previous: Previous | None = None) -> tuple[Index, BuildReport]:
    """(Re)build the index of ``corpus`` in ``index_dir``: documents unchanged since the previous index keep their
    chunks, vectors and term counts; only the others are chunked, embedded and tokenised; the HNSW graph gets the
    new vectors added when no previous chunk was dropped (else it is rebuilt: HNSW cannot remove)."""
    t0 = time.perf_counter()
    dense = dense or DenseConfig()
    prev = previous or _previous(index_dir, embedder, chunker, dense)
    built = assemble(corpus, embedder, chunker, prev, progress)
    reuse = _reuse(prev, built, dense)
    if prev is not None:                    # its vectors and chunks are in ``built`` now: not held twice (memory)
        prev.vectors = prev.chunks = prev.search = None
    index = Index(built.chunks, built.vectors, built.manifest, built.lexicon, dense, reuse)
    del reuse
    _write_atomic(index_dir, built.chunks, built.vectors, built.manifest, built.lexicon.terms,
                  index.word_counts, index.bigram_counts, index.faiss if index.hnsw else None, dense, index._match_texts)
    index.release_counts()
    return index, built.report(corpus, time.perf_counter() - t0)


def _reuse(prev: Previous | None, built: "Assembled", dense: DenseConfig) -> Reuse | None:
    """What the new index takes over from ``prev``: term counts of the chunks it keeps (their word tokens cut again
    where a domain term they contain came or went) and the HNSW graph with the new vectors added."""
    if prev is None:
        return None
    sources = built.sources
    recut = None
    changed = set(prev.terms) ^ set(built.lexicon.terms)
    old = prev.search
    if changed and old.word is not None:
        # jieba cuts a text differently only where a dictionary word it contains changed (and, by a hair, through
        # its total word count, which each domain term raises by 2000 of ~6*10^7: measured in docs/scale.md)
        recut = _containing(built.chunks, sources >= 0, changed)
    graph = old.faiss
    if graph is not None and dense.uses_hnsw(len(built.chunks)):
        import faiss

        # renumber the graph's ids to the new positions; a dropped chunk's vector (a removed or changed document)
        # stays in the graph with id -1 (HNSW cannot remove), never returned (Index._stale), until more than
        # MAX_STALE of the graph is dropped vectors: then it is rebuilt (~20 s at 1,000 documents)
        new_pos = np.full(len(prev.chunks), -1, dtype=np.int64)
        new_pos[sources[sources >= 0]] = np.flatnonzero(sources >= 0)
        ids = faiss.vector_to_array(graph.id_map)
        ids = np.where(ids >= 0, new_pos[np.maximum(ids, 0)], -1)
        fresh = np.flatnonzero(sources < 0)
        if (ids < 0).sum() <= MAX_STALE * (len(ids) + len(fresh)):
            faiss.copy_array_to_vector(ids, graph.id_map)
            if len(fresh):
                graph.add_with_ids(np.ascontiguousarray(built.vectors[fresh], dtype=np.float32), fresh.astype(np.int64))
        else:
            graph = None
    return Reuse(sources, word=old.word, bigram=old.bigram, recut=recut, faiss=graph, match=old.match)


def _containing(chunks: list[Chunk], among: np.ndarray, terms: set[str]) -> np.ndarray:
    """Per chunk: is it one of ``among`` and does its normalised indexed text contain one of ``terms``."""
    pos = np.flatnonzero(among)
    texts = [normalize(chunks[i].indexed_text()) for i in pos]
    starts = np.cumsum([0] + [len(t) + 1 for t in texts])
    big = "\x00".join(texts)
    out = np.zeros(len(chunks), dtype=bool)
    for term in terms:
        if not term:
            continue
        at = big.find(term)
        while at >= 0:
            row = int(np.searchsorted(starts, at, side="right")) - 1
            out[pos[row]] = True
            at = big.find(term, int(starts[row + 1]))       # next chunk
    return out


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
    sources: np.ndarray = None          # per chunk: its position in the previous index, -1 if new

    def report(self, corpus: Corpus, seconds: float) -> BuildReport:
        return BuildReport(len(corpus.documents), len(self.chunks), self.embedded, self.reused, self.removed,
                           self.embedded_chunks, seconds, list(corpus.errors), *parse_problems(self.manifest))


def assemble(corpus: Corpus, embedder, chunker: Chunker, prev: "Previous | tuple[dict, list[Chunk], np.ndarray] | None",
             progress: bool = True) -> Assembled:
    """Chunks, vectors and manifest of ``corpus``; ``prev`` (a ``Previous``, or manifest, chunks, vectors) of the
    index being replaced, whose documents with an unchanged sha256 are reused without embedding."""
    if isinstance(prev, Previous):
        prev = (prev.manifest, prev.chunks, prev.vectors)
    prev_docs = prev[0]["docs"] if prev else {}
    prev_rows: dict[str, list[int]] = {}            # one pass (a scan per document was 135M comparisons at 1,000)
    for i, c in enumerate(prev[1] if prev else ()):
        prev_rows.setdefault(c.doc_id, []).append(i)
    all_chunks: list[Chunk] = []
    all_vecs: list[np.ndarray] = []
    sources: list[np.ndarray] = []
    embedded, reused, to_embed = [], [], []
    docs_meta = {}
    for doc in corpus.documents:
        docs_meta[doc.doc_id] = {"sha256": doc.sha256, "title": doc.title, "file": doc.meta.get("file", "")}
        if prev and prev_docs.get(doc.doc_id, {}).get("sha256") == doc.sha256:
            docs_meta[doc.doc_id].update({k: v for k, v in prev_docs[doc.doc_id].items() if k.startswith("parse")})
            idx = prev_rows.get(doc.doc_id, [])
            all_chunks.extend(prev[1][i] for i in idx)
            all_vecs.append(prev[2][idx])
            sources.append(np.asarray(idx, dtype=np.int64))
            reused.append(doc.doc_id)
            continue
        chunks, status, reason = chunk_document(doc, chunker)
        if status != "structure":
            docs_meta[doc.doc_id].update(parse=status, parse_error=reason)
            log.warning("%s: %s (%s)", doc.meta.get("file", doc.doc_id), status, reason)
        to_embed.append((len(all_vecs), chunks))
        all_chunks.extend(chunks)
        all_vecs.append(None)  # filled below
        sources.append(np.full(len(chunks), -1, dtype=np.int64))
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
    return Assembled(all_chunks, vectors, manifest, lexicon, embedded, reused, removed, len(texts),
                     np.concatenate(sources) if sources else np.zeros(0, np.int64))


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
    """Load the persisted index if it matches the corpus, else (re)build what changed. The documents are compared
    on the manifest before any search structure is built (an added document used to cost a full load first)."""
    dense = dense or DenseConfig()
    try:
        files = read_index_files(index_dir, embedder, chunker)
        current = {d.doc_id: d.sha256 for d in corpus.documents}
        if {k: v["sha256"] for k, v in files[0]["docs"].items()} == current:
            return _open(index_dir, files, dense), None
        previous = Previous(*files, _search_or_nothing(index_dir, files[0], len(files[1]), dense))
    except IndexError_ as e:
        log.info("rebuilding index: %s", e)
        previous = None
    return build_index(corpus, embedder, chunker, index_dir, progress, dense, previous)
