"""Retrieval stage: BM25 + dense rankings fused by weighted reciprocal rank fusion, with
glossary expansion, a document prior for questions that name their document, and per-document
diversification for questions that name two documents."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .corpus import Corpus, normalize
from .index import Index
from .ingest import converted_marker
from .lexicon import match_glossary
from .schema import Chunk, Hit
from .scope import corpus_geography

MODES = ("fused", "bm25", "dense", "lexical")   # lexical = word BM25 + bigram BM25, no dense


# "2024年和2025年计划": the document word after the second year belongs to both ("2024年计划" and "2025年计划")
YEAR_JOIN = r"(?:和|与|及|以及|、|跟|还有|或)"
YEARS_JOINED = re.compile(rf"((?:19|20)\d{{2}})\s*年\s*{YEAR_JOIN}\s*((?:19|20)\d{{2}})\s*年")


def name_forms(t: str) -> list[str]:
    """``t`` and, for "2024年和2025年计划", "2024年计划" too: the forms document names are looked up in."""
    return [t] + [t[:m.start()] + m.group(1) + "年" + t[m.end():] for m in YEARS_JOINED.finditer(t)]


def doc_aliases(corpus: Corpus) -> dict[str, list[str]]:
    """Names by which a question can point at one document, derived from its manifest entry:
    a district in the title (綦江区 -> 綦江), 行动方案, and '<year>年计划' for annual plan reports.
    An optional ``aliases`` list in the manifest entry adds more. Only documents with a name are keys (in corpus
    order): at 1,000 documents most have none, and a loop over all of them per question was 1 ms."""
    out: dict[str, list[str]] = {}
    titles = {d.doc_id: d.title for d in corpus.documents}
    for d in corpus.documents:
        names = list(d.meta.get("aliases", []))
        for m in re.finditer(r"重庆市([\u4e00-\u9fff]{2,3})(区|县)", d.title):
            names += [m.group(1) + m.group(2), m.group(1)]
        for kw in ("行动方案",):
            if kw in d.title and sum(kw in t for t in titles.values()) == 1:
                names.append(kw)
        for m in re.finditer(r"(\d{4})年计划", d.title):
            names += [f"{m.group(1)}年计划", f"{m.group(1)}年的计划", f"{m.group(1)}年国民经济和社会发展计划"]
            if "报告" in d.title:          # "2025年的报告里说实际达到了多少": the report given in its plan year
                names += [f"{m.group(1)}年计划报告", f"{m.group(1)}年的计划报告", f"{m.group(1)}年报告", f"{m.group(1)}年的报告"]
        for m in re.finditer(r"(\d{4})年执行情况", d.title):
            names += [f"{m.group(1)}年执行情况", f"{m.group(1)}年计划执行", f"{m.group(1)}年完成情况"]
        if names := [normalize(n) for n in dict.fromkeys(names) if n]:
            out[d.doc_id] = names
    return out


DOC_KIND = re.compile(r"方案|纲要|规划|计划|报告")


MAX_ABBREVIATION_CANDIDATES = 64       # more titles than this fit the last characters: the name is too common to
                                       # point at one (政府工作报告 in a library of reports)


class TitleAbbreviations:
    """Shortened names of documents (成渝双圈方案 for 重庆市推动成渝地区双城经济圈建设行动方案): the characters
    before a document-kind word (方案, 纲要, 规划, 计划, 报告) in a question, in the order one title has them
    before that word. At least ``min_chars`` of them, two not of ``common`` (the home region's name: 重庆市方案
    names nothing), and one title only (十五五规划 fits the city's and 綦江's outlines: neither is named)."""

    def __init__(self, titles: dict[str, str], common: Sequence[str] = (), min_chars: int = 3):
        if min_chars < 2:
            raise ValueError("min_chars must be >= 2")
        self.min_chars = min_chars
        self.common = set("".join(common))
        self.heads: list[tuple[str, str]] = []                   # (document, its title before a kind word)
        self.by_char: dict[tuple[str, str], set[int]] = {}      # (kind, character) -> heads holding it
        for d, t in titles.items():
            t = normalize(t)
            for m in DOC_KIND.finditer(t):
                self.heads.append((d, t[:m.start()]))
                for ch in set(t[:m.start()]):
                    self.by_char.setdefault((m.group(), ch), set()).add(len(self.heads) - 1)

    @staticmethod
    def _in_order(chars: str, text: str) -> bool:
        i = 0
        for ch in chars:
            i = text.find(ch, i)
            if i < 0:
                return False
            i += 1
        return True

    def find(self, t: str) -> dict[str, int]:
        """document -> where in ``t`` its shortened name starts."""
        out: dict[str, int] = {}
        for m in DOC_KIND.finditer(t):
            before = t[max(0, m.start() - 8):m.start()]
            if len(before) < self.min_chars:
                continue
            # only titles holding the last min_chars characters can fit (a set intersection, not a pass over
            # every title: at 1,000 documents most are …工作报告)
            cands = set.intersection(*(self.by_char.get((m.group(), ch), set()) for ch in before[-self.min_chars:]))
            if len(cands) > MAX_ABBREVIATION_CANDIDATES:
                continue
            found = {}
            for d, head in (self.heads[i] for i in sorted(cands)):
                n = 0
                while n < len(before) and self._in_order(before[len(before) - n - 1:], head):
                    n += 1
                if n >= self.min_chars and sum(ch not in self.common for ch in before[len(before) - n:]) >= 2:
                    found[d] = n
            if found:
                best = max(found.values())
                winners = [d for d, n in found.items() if n == best]
                if len(winners) == 1 and winners[0] not in out:
                    out[winners[0]] = m.start() - best
        return out


CITYWIDE = ["全市", "重庆市", "全重庆", "市级"]


def weak_aliases(corpus: Corpus) -> dict[str, list[str]]:
    """Names that point at the city-wide outline only in a comparison with another named document
    ("綦江区的目标和全市目标"): a five-year-plan outline whose title names no district."""
    return {d.doc_id: list(CITYWIDE) for d in corpus.documents
            if "规划纲要" in d.title and not re.search(r"重庆市[\u4e00-\u9fff]{2,3}(区|县)", d.title)}


# From this many chunks only the positive scores are ranked (equal scores by position): a partition of every
# chunk's score cost ~1 ms per ranker at 1,000 documents (135k chunks; 2.5 ms of a 20 ms retrieval, measured in
# docs/scale.md). Below it the full-array partition stays: its order among equal scores is not by position, and
# the golden rankings of the five documents and the library (50 of 353 dev items with a tie in the top 10) are
# pinned to it.
COMPACT_RANKS_FROM = 50_000


def _positive_ranks(scores: np.ndarray, n: int) -> list[int]:
    pos = np.flatnonzero(scores > 0)
    if len(pos) > n:
        vals = scores[pos]
        kth = np.partition(vals, len(vals) - n)[len(vals) - n]            # the n-th best score
        above, tied = pos[vals > kth], pos[vals == kth]
        pos = np.sort(np.concatenate([above, tied[:n - len(above)]]))
    return pos[np.argsort(-scores[pos], kind="stable")].tolist()


@dataclass(frozen=True)
class Candidate:
    """A fused candidate as the rankers saw it, for a learned reranking (rag/rank.py)."""
    index: int                                   # position in Index.chunks
    fused: float                                 # weighted RRF score, document prior included
    ranks: tuple[int | None, int | None, int | None]   # 0-based rank in word BM25, bigram BM25, dense (None: absent)
    scores: tuple[float, float, float]           # the rankers' raw scores (BM25, bigram BM25, dense cosine; 0: absent)
    glossary: bool                               # added by glossary expansion
    named: bool                                  # its document is one the question names
    preferred: bool                              # its document is one the question's time frame points at


Rerank = Callable[[Sequence[Candidate]], Sequence[float]]


@dataclass
class RetrieverConfig:
    mode: str = "fused"
    candidates: int = 50
    rrf_k: int = 60
    bm25_weight: float = 2.0
    bigram_weight: float = 2.0
    dense_weight: float = 1.0
    doc_boost: float = 0.5
    glossary_expansion: bool = True
    rerank_depth: int = 30          # fused candidates a learned reranking (``search(rerank=...)``) re-orders

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.candidates < 1 or self.rrf_k < 1 or self.rerank_depth < 1:
            raise ValueError("candidates, rrf_k and rerank_depth must be >= 1")


class Retriever:
    def __init__(self, index: Index, embedder, corpus: Corpus, config: RetrieverConfig | None = None):
        self.index = index
        self.embedder = embedder
        self.config = config or RetrieverConfig()
        self.aliases = doc_aliases(corpus)
        self.weak = weak_aliases(corpus)
        self.texts = {d.doc_id: d.text for d in corpus.documents}
        self.titles = {d.doc_id: d.title for d in corpus.documents}
        self.abbreviations = TitleAbbreviations(self.titles, common=CITYWIDE)
        self.markers = {d.doc_id: converted_marker(d.meta) for d in corpus.documents}   # （由PDF转换）
        # region, plan period, review year of each document; the gazetteer also knows districts titles name
        self.gazetteer, self.scopes = corpus_geography(corpus)
        self._masks: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        rows: dict[str, list[int]] = {}             # each document's chunk positions: a scope's mask without a
        for i, c in enumerate(index.chunks):        # pass over every chunk (15 ms per new scope at 1,000 documents)
            rows.setdefault(c.doc_id, []).append(i)
        self._rows = {d: np.asarray(r, dtype=np.int64) for d, r in rows.items()}

    # -- signals ------------------------------------------------------------------------
    def named_docs(self, question: str) -> list[str]:
        q = normalize(question)
        forms = name_forms(q)
        named = [doc for doc, names in self.aliases.items() if any(n in f for n in names for f in forms)]
        named += [doc for doc in self.abbreviations.find(q) if doc not in named]
        if named:
            named += [doc for doc, names in self.weak.items() if doc not in named and any(n in q for n in names)]
        return named

    def _ranks(self, scores: np.ndarray, n: int) -> list[int]:
        """The (at most) ``n`` chunks of positive score, best first."""
        if len(scores) >= COMPACT_RANKS_FROM:
            return _positive_ranks(scores, n)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [int(i) for i in top if scores[i] > 0]

    # -- main ---------------------------------------------------------------------------
    def retrieve(self, question: str, k: int = 5, doc_filter: str | list[str] | None = None) -> list[Hit]:
        return self.search(question, k, doc_filter)[0]

    def search(self, question: str, k: int = 5, doc_filter: str | list[str] | None = None,
               prefer: list[str] | None = None, rerank: Rerank | None = None,
               glossary_prior: bool = False) -> tuple[list[Hit], dict]:
        """Hits plus the signals the answerer uses to decide on refusal (best dense cosine, timings).
        ``prefer``: documents the question's time frame points at (they get the named-document prior).
        ``rerank``: scores for the top ``rerank_depth`` fused candidates (a learned ranking, rag/rank.py); they are
        re-ordered by it, the rest stay in fused order below them. ``glossary_prior``: glossary entries the question's
        codes match get the named-document prior too (for a list or definition question: the entry explains what
        the named document only names)."""
        if k < 1:
            raise ValueError("k must be >= 1")
        cfg, idx = self.config, self.index
        t0 = time.perf_counter()
        fused: dict[int, float] = {}
        seen: dict[int, list] = {}         # chunk -> [rank, score] per ranker: what a learned reranking reads
        n = cfg.candidates
        mask = self._mask(doc_filter)      # every ranker ranks only the allowed documents' chunks
        if cfg.mode in ("fused", "bm25", "lexical"):
            tokens = idx.lexicon.query_tokens(question)
            bm = self._masked(idx.bm25_scores(tokens), mask)
            for r, i in enumerate(self._ranks(bm, n)):
                fused[i] = fused.get(i, 0.0) + cfg.bm25_weight / (cfg.rrf_k + r + 1)
                seen.setdefault(i, [None, 0.0, None, 0.0, None, 0.0])[0:2] = r, float(bm[i])
        if cfg.mode in ("fused", "lexical") and cfg.bigram_weight:
            bg = self._masked(idx.bigram_scores(question), mask)
            for r, i in enumerate(self._ranks(bg, n)):
                fused[i] = fused.get(i, 0.0) + cfg.bigram_weight / (cfg.rrf_k + r + 1)
                seen.setdefault(i, [None, 0.0, None, 0.0, None, 0.0])[2:4] = r, float(bg[i])
        t1 = time.perf_counter()
        if cfg.mode in ("fused", "dense"):
            qvec = self.embedder.embed_queries([question])[0]
            scores, ids = idx.dense_search(qvec, n, None if mask is None else self._allowed_ids(doc_filter))
            for r, (s, i) in enumerate(zip(scores, ids)):
                if i >= 0:
                    fused[int(i)] = fused.get(int(i), 0.0) + cfg.dense_weight / (cfg.rrf_k + r + 1)
                    seen.setdefault(int(i), [None, 0.0, None, 0.0, None, 0.0])[4:6] = r, float(s)
        dense_best = {}
        if cfg.mode in ("fused", "dense"):
            dense_best = {int(i): float(s) for s, i in zip(scores, ids) if i >= 0}
        t2 = time.perf_counter()
        glossed = set()
        if cfg.glossary_expansion and cfg.mode == "fused":
            for e in match_glossary(question, idx.glossary):
                i = idx.by_id[e.chunk_id]
                fused[i] = fused.get(i, 0.0) + 1.0 / (cfg.rrf_k + 1)
                glossed.add(i)
        named = self.named_docs(question)
        boosted = set(named) | set(prefer or ())
        if boosted and cfg.doc_boost:
            # a code the named document uses, another's glossary explains: for a list/definition question the entry
            # ranks with the named document. For every question it cost dev hit@1 0.839 -> 0.819 (the entry above
            # the named document's clause holding the evidence); answers were the same either way.
            lifted = glossed if glossary_prior else set()
            for i in fused:
                if idx.chunks[i].doc_id in boosted or i in lifted:
                    fused[i] *= 1.0 + cfg.doc_boost
        if doc_filter:
            allowed = {doc_filter} if isinstance(doc_filter, str) else set(doc_filter)
            fused = {i: s for i, s in fused.items() if idx.chunks[i].doc_id in allowed}
        order = sorted(fused, key=lambda i: -fused[i])
        if rerank is not None and order:
            order, fused = self._rerank(order, fused, seen, glossed, set(named), set(prefer or ()), rerank)
        if len(named) >= 2:
            order = self._diversify(order, named)
        hits = [self._hit(idx.chunks[i], fused[i]) for i in order[:k]]
        signals = {"dense_top": max(dense_best.values(), default=0.0),
                   "dense": [dense_best.get(i, 0.0) for i in order[:k]],
                   "named_docs": named,
                   "timings_ms": {"bm25": (t1 - t0) * 1000, "dense": (t2 - t1) * 1000, "total": (time.perf_counter() - t0) * 1000}}
        return hits, signals

    def _rerank(self, order: list[int], fused: dict[int, float], seen: dict[int, list], glossed: set[int],
                named: set[str], prefer: set[str], rerank: Rerank) -> tuple[list[int], dict[int, float]]:
        """The top ``rerank_depth`` of ``order`` re-ordered by ``rerank``'s scores (which become their hit
        scores); the rest follow in fused order."""
        top = order[: self.config.rerank_depth]
        none = [None, 0.0, None, 0.0, None, 0.0]
        cands = []
        for i in top:
            v, doc = seen.get(i, none), self.index.chunks[i].doc_id
            cands.append(Candidate(i, fused[i], (v[0], v[2], v[4]), (v[1], v[3], v[5]), i in glossed,
                                   doc in named, doc in prefer))
        learned = dict(zip(top, (float(x) for x in rerank(cands))))
        return sorted(top, key=lambda i: -learned[i]) + order[len(top):], {**fused, **learned}

    @staticmethod
    def _key(doc_filter) -> tuple[str, ...] | None:
        if not doc_filter:
            return None
        return (doc_filter,) if isinstance(doc_filter, str) else tuple(sorted(set(doc_filter)))

    def _mask(self, doc_filter) -> np.ndarray | None:
        """Boolean mask of the chunks of the allowed documents (cached per document set); None: all."""
        key = self._key(doc_filter)
        if key is None:
            return None
        return self._scoped(key)[0]

    def _scoped(self, key: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(mask, ascending positions) of the chunks of the documents ``key``, cached."""
        if key not in self._masks:
            if len(self._masks) > 256:
                self._masks.clear()
            mask = np.zeros(len(self.index.chunks), dtype=bool)
            for d in key:
                if d in self._rows:
                    mask[self._rows[d]] = True
            self._masks[key] = (mask, np.flatnonzero(mask).astype("int64"))
        return self._masks[key]

    def _allowed_ids(self, doc_filter) -> np.ndarray:
        return self._scoped(self._key(doc_filter))[1]

    @staticmethod
    def _masked(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
        return scores if mask is None else np.where(mask, scores, 0.0).astype(scores.dtype)

    def _diversify(self, order: list[int], named: list[str]) -> list[int]:
        """Put the best chunk of each named document first, then the rest in fused order."""
        firsts = []
        for doc in named:
            for i in order:
                if self.index.chunks[i].doc_id == doc:
                    firsts.append(i)
                    break
        return firsts + [i for i in order if i not in firsts]

    def _hit(self, c: Chunk, score: float) -> Hit:
        return Hit(doc_id=c.doc_id, title=c.title, location=c.location + self.markers.get(c.doc_id, ""),
                   text=self.texts[c.doc_id][c.start:c.end],
                   start=c.start, end=c.end, score=round(float(score), 6), chunk_id=c.chunk_id, kind=c.kind,
                   match_text=c.text)
