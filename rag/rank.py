"""Learned reranking of the fused candidates: which clause to rank first, from what the question asks.

The fixed weighted RRF of ``retrieve.py`` orders the candidates of three rankers; this module re-orders its top
``rerank_depth`` by a linear score over per (question, candidate) features, its weights a pairwise logistic
regression (the evidence chunk against the other candidates of its question):

    rank     the three rank positions and scores, the fused score, glossary expansion
    doc      the document prior: a document the question names / its time frame points at
    kind     chunk kind (专栏 table_row, glossary entry, numbered item, box title, heading text; paragraph = none)
    heading  idf-weighted share of the question's terms in the chunk's headings
    subject  the chunk's document is about the place asked (rag/scope.py DocScope), inside it, or the chunk names it
    time     the document fits the time frame (EvidenceVerifier.fits_document), the chunk states an asked year
    slot     a NUMBER question and a number next to a topic term / a 专栏 row; a DEFINITION question and a glossary
             entry; the asked unit in the chunk
    terms    idf-weighted term coverage of the chunk, focus coverage, specific names/numbers missing

The model (coefficients, not a pickle) is ``rag/data/rank.json``, refit on the golden set's dev half by
``python -m eval.fit_rank``. Without it (or with ``RAG_FUSION=rrf``) retrieval is the RRF order.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .corpus import normalize
from .retrieve import Candidate, Rerank

log = logging.getLogger(__name__)
MODEL_FILE = Path(__file__).resolve().parent / "data" / "rank.json"

GROUPS: dict[str, tuple[str, ...]] = {
    "rank": ("bm25_rr", "bigram_rr", "dense_rr", "bm25_rel", "bigram_rel", "dense_cos", "dense_gap", "fused_rel",
             "glossary_hit"),
    "doc": ("named_doc", "preferred_doc"),
    "kind": ("kind_table_row", "kind_glossary", "kind_item", "kind_box_title", "kind_heading_text"),
    "heading": ("heading_cover",),
    "subject": ("region_match", "region_inside", "region_other", "mentions_place"),
    "time": ("fits_document", "year_stated", "year_other"),
    "slot": ("number_near_topic", "number_row", "definition_glossary", "definition_phrase", "unit_stated"),
    "terms": ("term_cover", "focus_cover", "specific_missing"),
}
FEATURES: tuple[str, ...] = tuple(f for g in GROUPS.values() for f in g)
KINDS = ("table_row", "glossary", "item", "box_title", "heading_text")

YEAR = re.compile(r"(?<![0-9.])((?:19|20)\d{2})\s*年")
# a quantity: digits (with a decimal part), or a Chinese numeral before a measure word; not a year (2030年)
QUANTITY = re.compile(r"(?<![0-9.])\d+(?:\.\d+)?(?!\d)(?!\s*年(?![均度]))|[一二两三四五六七八九十百千万亿]+(?=[个家所项条座万亿%])")
DEFINES = re.compile(r"是指|指的是|[。：:]\s*指|简称|即")      # a glossary entry's "X。指…" or a clause's "X是指…"
TOPIC_IDF = 2.0        # topic words below this idf (发展, 建设) tie no number to the topic (as evidence.py's topic spans)
NEAR_AFTER, NEAR_BEFORE = 30, 12    # a number this close after / before a topic word states it (evidence.py's _near)


@dataclass(frozen=True)
class ChunkFacts:
    """What the features read of a chunk, computed once per chunk (chunks do not change between questions)."""
    text: str                        # normalised matching text
    heads: str                       # normalised headings + location
    years: frozenset[int]
    numbers: tuple[int, ...]         # start offsets of quantities in ``text``
    mentions: frozenset[str]         # regions the text or its headings name


@dataclass(frozen=True)
class RankModel:
    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self):
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise ValueError(f"unknown rank features {unknown}; known: {', '.join(FEATURES)}")
        if not len(self.coef) == len(self.mean) == len(self.scale) == len(self.features):
            raise ValueError("coef, mean and scale must have one value per feature")
        if any(s <= 0 for s in self.scale):
            raise ValueError("scale values must be > 0")

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> "RankModel | None":
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(tuple(d["features"]), tuple(d["coef"]), float(d["intercept"]), tuple(d["mean"]),
                       tuple(d["scale"]), d.get("meta", {}))
        except FileNotFoundError:
            log.warning("%s is missing: ranking by RRF (refit: python -m eval.fit_rank)", path)
        except (ValueError, KeyError, TypeError) as e:
            log.warning("%s is unusable (%s): ranking by RRF", path, e)
        return None

    def save(self, path: Path = MODEL_FILE) -> None:
        d = {"features": list(self.features), "coef": list(self.coef), "intercept": self.intercept,
             "mean": list(self.mean), "scale": list(self.scale), "meta": self.meta}
        Path(path).write_text(json.dumps(d, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def columns(self) -> list[int]:
        return [FEATURES.index(f) for f in self.features]

    def score(self, X: np.ndarray) -> np.ndarray:
        """Ranking score in (0, 1) of each row (all FEATURES, in order): higher ranks first. The sigmoid of a
        pairwise model's score orders as it does; it is not a calibrated probability."""
        Z = (X[:, self.columns()] - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(Z @ np.asarray(self.coef) + self.intercept)))


@lru_cache(maxsize=1)
def default_model() -> RankModel | None:
    return RankModel.load()


class RankFeatures:
    """Per (question, candidate) feature rows. ``verifier``: the answer stage's EvidenceVerifier (its scopes,
    gazetteer and ``fits_document``)."""

    def __init__(self, chunks: Sequence, verifier, home_region: str = ""):
        self.chunks = chunks
        self.verifier = verifier
        self.scopes = verifier.scopes
        self.gaz = verifier.gaz
        self.home = home_region
        # every chunk's facts up front (0.08 s for 1379 chunks): worked out at a chunk's first retrieval they put
        # ~2 ms on the retrieve p95 of scripts/bench.py's 300 questions
        self._facts = [self._chunk_facts(c) for c in chunks]

    def facts(self, i: int) -> ChunkFacts:
        return self._facts[i]

    def _chunk_facts(self, c) -> ChunkFacts:
        text, heads = normalize(c.text), normalize(" ".join(c.headings) + " " + c.location)
        return ChunkFacts(text, heads, frozenset(int(y) for y in YEAR.findall(text + " " + heads)),
                          tuple(m.start() for m in QUANTITY.finditer(text)), frozenset(self.gaz.mentions(text + " " + heads)))

    def region(self, doc_id: str) -> str:
        scope = self.scopes.get(doc_id)
        return (scope.region if scope else "") or self.home

    def run(self, q, cands: Sequence[Candidate]) -> np.ndarray:
        """One row of FEATURES per candidate."""
        v = QuestionView.of(q)
        ctx = {"best": [max((c.scores[k] for c in cands), default=0.0) or 1.0 for k in range(3)],
               "dense_top": max((c.scores[2] for c in cands if c.ranks[2] is not None), default=0.0),
               "fused_top": max((c.fused for c in cands), default=0.0) or 1.0, "fits": {}}
        facts = [self.facts(c.index) for c in cands]
        # term presence, candidates x terms, in text and in headings: the shares below are matrix products
        found = np.array([[p.search(f.text) is not None for p in v.patterns] for f in facts], dtype=bool).reshape(len(cands), -1)
        heads = np.array([[p.search(f.heads) is not None for p in v.patterns] for f in facts], dtype=bool).reshape(len(cands), -1)
        X = np.asarray([[r[name] for name in FEATURES] for r in (self._row(q, v, c, f, ctx) for c, f in zip(cands, facts))],
                       dtype=float).reshape(len(cands), len(FEATURES))
        w, focus = np.asarray(v.weights), np.asarray(v.focus, dtype=bool)
        X[:, FEATURES.index("term_cover")] = found @ w / w.sum() if w.sum() else 0.0
        X[:, FEATURES.index("heading_cover")] = heads @ w / w.sum() if w.sum() else 0.0
        X[:, FEATURES.index("focus_cover")] = found[:, focus] @ w[focus] / w[focus].sum() if w[focus].sum() else 1.0
        missing = (~found & ~heads)[:, np.asarray(v.specific, dtype=bool)].sum(axis=1) if len(w) else 0
        X[:, FEATURES.index("specific_missing")] = np.minimum(3, missing)
        return X

    def _row(self, q, v: "QuestionView", c: Candidate, f: ChunkFacts, ctx: dict) -> dict[str, float]:
        """The features of one candidate that are not term shares (those ``run`` fills in for all at once)."""
        ch, fits = self.chunks[c.index], ctx["fits"]
        if ch.doc_id not in fits:
            fits[ch.doc_id] = bool(self.verifier.fits_document(q, ch.doc_id))
        region = self.region(ch.doc_id)
        match = region in v.regions
        inside = not match and any(self.gaz.is_within(region, r) for r in v.regions)
        best, rr = ctx["best"], [0.0 if r is None else 1.0 / (1 + r) for r in c.ranks]
        return {
            "bm25_rr": rr[0], "bigram_rr": rr[1], "dense_rr": rr[2],
            "bm25_rel": c.scores[0] / best[0], "bigram_rel": c.scores[1] / best[1], "dense_cos": c.scores[2],
            "dense_gap": (ctx["dense_top"] - c.scores[2]) if c.ranks[2] is not None else 1.0,
            "fused_rel": c.fused / ctx["fused_top"], "glossary_hit": float(c.glossary),
            "named_doc": float(c.named), "preferred_doc": float(c.preferred),
            **{f"kind_{k}": float(ch.kind == k) for k in KINDS},
            "heading_cover": 0.0, "term_cover": 0.0, "focus_cover": 0.0, "specific_missing": 0.0,
            "region_match": float(match), "region_inside": float(inside),
            "region_other": float(bool(v.regions) and not match and not inside),
            "mentions_place": float(any(p in f.mentions for p in v.places)),
            "fits_document": float(fits[ch.doc_id]),
            "year_stated": float(bool(v.years & f.years)),
            "year_other": float(bool(v.years) and bool(f.years) and not v.years & f.years),
            "number_near_topic": float(v.number and self._number_near(v.topic, f)),
            "number_row": float(v.number and ch.kind == "table_row"),
            "definition_glossary": float(v.definition and ch.kind == "glossary"),
            "definition_phrase": float(v.definition and bool(DEFINES.search(f.text))),
            "unit_stated": float(bool(v.unit) and v.unit in f.text),
        }

    @staticmethod
    def _number_near(topic, f: ChunkFacts) -> bool:
        if not f.numbers:
            return False
        for forms in topic:
            for x in forms:
                a = f.text.find(x)
                while a >= 0:
                    b = a + len(x)
                    if any(a - NEAR_BEFORE <= n <= b + NEAR_AFTER for n in f.numbers):
                        return True
                    a = f.text.find(x, a + 1)
        return False


@lru_cache(maxsize=4096)
def _forms_pattern(forms: tuple[str, ...]) -> re.Pattern:
    """One regex for a term's forms: one C-level search per chunk instead of an ``in`` per form
    (with the term shares as matrix products: 3.8 -> 1.2 ms for 30 candidates of a 20-term question)."""
    return re.compile("|".join(re.escape(x) for x in sorted(forms, key=len, reverse=True) if x) or "(?!)")


@dataclass(frozen=True)
class QuestionView:
    """What the features read of a ``Question``, worked out once per question."""
    patterns: tuple[re.Pattern, ...]      # per known term: its forms
    weights: tuple[float, ...]
    specific: tuple[bool, ...]
    focus: tuple[bool, ...]               # the term is one of the focus words (what is counted or named)
    topic: tuple[tuple[str, ...], ...]    # forms of the topic words a number must stand next to
    regions: tuple[str, ...]
    places: tuple[str, ...]
    years: frozenset[int]
    number: bool
    definition: bool
    unit: str | None

    @classmethod
    def of(cls, q) -> "QuestionView":
        from .answer.rules import Slot

        terms = [t for t in q.terms if t.known]
        topic = [t for t in terms if t.weight >= TOPIC_IDF] or terms
        return cls(tuple(_forms_pattern(tuple(t.forms)) for t in terms), tuple(t.weight for t in terms),
                   tuple(t.specific for t in terms), tuple(t.text in q.focus for t in terms),
                   tuple(tuple(t.forms) for t in topic), tuple(q.subject.regions), tuple(q.subject.places),
                   frozenset(q.timeframe.years), q.slot is Slot.NUMBER, q.slot is Slot.DEFINITION, q.unit_word)


class LearnedRanker:
    """``scorer(q)`` is the ``rerank`` callback ``Retriever.search`` takes: the model's probability per candidate."""

    def __init__(self, model: RankModel, features: RankFeatures):
        self.model = model
        self.features = features

    def scorer(self, q) -> Rerank:
        return lambda cands: self.model.score(self.features.run(q, cands)) if cands else np.zeros(0)


def make_ranker(fusion: str, chunks: Sequence, verifier, home_region: str = "",
                model: RankModel | None = None) -> LearnedRanker | None:
    """The ranker ``fusion`` asks for: "learned" (if the model file loads) or None for RRF."""
    if fusion not in ("learned", "rrf"):
        raise ValueError(f"fusion must be 'learned' or 'rrf', got {fusion!r}")
    if fusion == "rrf":
        return None
    model = model or default_model()
    return LearnedRanker(model, RankFeatures(chunks, verifier, home_region)) if model is not None else None
