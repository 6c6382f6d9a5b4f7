"""Document scope: which place a document is about, which years it covers, whether it states targets or
results -- and which places a piece of text names.

A question about 重庆 must be answered from 重庆's documents, one about 綦江 from 綦江's (or from a 重庆 clause
that names 綦江), one about 2024's actual results from a report on 2024 (issue: answers that hold). Each
manifest entry may say ``region``, ``period`` ("2026-2030", "2024") and ``review_year``; what it does not
say is read from its title and issuer with the gazetteer in ``data/regions.json`` and the usual title
forms (第十五个五年规划 -> 2026-2030, （2023—2027年）, 2024年计划, 2024年执行情况与2025年计划, 2026年…政府工作报告).
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from .corpus import normalize

DATA = Path(__file__).resolve().parent / "data" / "regions.json"
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
ADMIN_SUFFIX = ("省", "市", "区", "县", "州", "盟", "旗", "自治区")


def cn_number(s: str) -> int | None:
    """一..九十九 (十五 -> 15, 二十一 -> 21); None for anything else."""
    if not s or any(ch not in CN_DIGITS and ch != "十" for ch in s):
        return None
    if "十" not in s:
        return CN_DIGITS[s] if len(s) == 1 else None
    a, _, b = s.partition("十")
    return (CN_DIGITS.get(a, 0) if a else 1) * 10 + (CN_DIGITS.get(b, 0) if b else 0)


def five_year_plan_years(n: int) -> tuple[int, int]:
    """Years of the n-th five-year plan: the 1st ran 1953-1957, the 2nd 1958-1962, the 3rd began in 1966
    (after three years of adjustment), one every five years since: the 15th is 2026-2030."""
    if n <= 2:
        start = 1953 + 5 * (n - 1)
    else:
        start = 1966 + 5 * (n - 3)
    return start, start + 4


@dataclass(frozen=True)
class Region:
    name: str                    # canonical name, e.g. 綦江区
    parent: str | None           # 重庆市; None for 全国
    names: tuple[str, ...]       # forms that name it in text (normalised)


class Gazetteer:
    """Regions and the names that point at them; ``ancestors`` walks up to 全国."""

    def __init__(self, regions: dict[str, Region]):
        self.regions = regions
        pairs = [(normalize(n), r.name) for r in regions.values() for n in r.names]
        self._names = sorted(pairs, key=lambda p: -len(p[0]))        # longest first: 万盛经开区 before 万盛
        self._re = re.compile("|".join(re.escape(n) for n, _ in self._names)) if pairs else None
        self._by_name = dict(pairs)

    @classmethod
    def load(cls, path: Path = DATA) -> "Gazetteer":
        data = json.loads(Path(path).read_text(encoding="utf-8"))["regions"]
        return cls({k: Region(k, v.get("parent"), tuple(v.get("names") or [k])) for k, v in data.items()})

    def ancestors(self, name: str) -> list[str]:
        out, seen = [], {name}
        r = self.regions.get(name)
        while r is not None and r.parent and r.parent not in seen:
            out.append(r.parent)
            seen.add(r.parent)
            r = self.regions.get(r.parent)
        return out

    def is_within(self, name: str, other: str) -> bool:
        """``name`` is ``other`` or lies inside it (綦江区 within 重庆市 within 全国)."""
        return name == other or other in self.ancestors(name)

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """(canonical region, start, end) of each name in ``text`` (normalised), left to right."""
        if self._re is None:
            return []
        return [(self._by_name[m.group(0)], m.start(), m.end()) for m in self._re.finditer(normalize(text))]

    def mentions(self, text: str) -> list[str]:
        """Canonical regions named in ``text`` (normalised), in order, each once; a longer name wins
        over a name inside it (万盛经开区, not 万盛 + 区)."""
        if self._re is None:
            return []
        out: list[str] = []
        for m in self._re.finditer(normalize(text)):
            r = self._by_name[m.group(0)]
            if r not in out:
                out.append(r)
        return out

    def extended(self, extra: dict[str, Region]) -> "Gazetteer":
        """A copy that also knows ``extra`` regions (a district a document's title names that the data lacks)."""
        return Gazetteer({**self.regions, **extra}) if extra else self

    def most_specific(self, names: list[str]) -> list[str]:
        """Drop a region when a place inside it is also named (重庆綦江 -> 綦江区)."""
        return [n for n in names if not any(o != n and self.is_within(o, n) for o in names)]


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


# ----------------------------------------------------------------------------- document scope
@dataclass(frozen=True)
class DocScope:
    region: str                  # 重庆市, 綦江区, 全国, 上海市 …; "" when unknown
    start: int | None = None     # first and last year the document plans for (one year for an annual plan)
    end: int | None = None
    review_year: int | None = None   # the year whose results it reports (计划执行情况, 工作回顾), if any

    @property
    def kind(self) -> str:
        """``report`` states results (of review_year) and targets; ``plan`` states targets."""
        return "report" if self.review_year else "plan"

    def covers(self, year: int) -> bool:
        """Could the document state anything of that year: its plan years, its review year, or -- for an outline --
        the year before it opens (its review of the previous period)? Unknown years: True."""
        if self.start is None:
            return True
        lo = min(self.start - (1 if self.end and self.end > self.start else 0), self.review_year or self.start)
        return lo <= year <= (self.end or self.start)

    def describe(self) -> str:
        period = (f"{self.start}" if self.start == self.end else f"{self.start}–{self.end}") if self.start else "年份未知"
        review = f" · {self.review_year}年执行情况/回顾" if self.review_year else ""
        return f"{self.region or '地区未知'} · {period}年{'计划' if self.start == self.end else '规划'}{review}"

    def to_json(self) -> dict:
        return asdict(self)


RE_PERIOD = re.compile(r"[（(]\s*((?:19|20)\d{2})\s*[—–\-－~至到]+\s*((?:19|20)\d{2})\s*年?\s*[）)]")
RE_FYP = re.compile(r"第([一二三四五六七八九十]{1,3})个五年(?:规划|计划)|([一二三四五六七八九十]{1,3})五[”」』\"]?(?:规划|时期)")
RE_PLAN_YEAR = re.compile(r"((?:19|20)\d{2})\s*年(?:国民经济和社会发展)?计划")
RE_REVIEW = re.compile(r"((?:19|20)\d{2})\s*年(?:计划)?执行情况")
RE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")


def _int(v) -> int | None:
    try:
        return int(str(v).strip()[:4])
    except (TypeError, ValueError):
        return None


def infer_scope(title: str, meta: dict | None = None, gaz: Gazetteer | None = None) -> DocScope:
    """The scope of a document from its manifest entry: explicit ``region`` / ``period`` / ``review_year``
    win; the rest is read from the title (and issuer, year)."""
    meta = meta or {}
    gaz = gaz or gazetteer()
    t = normalize(title)
    # region: the most specific place the title names, else the issuer's (国务院 -> 全国)
    region = meta.get("region") or ""
    if not region:
        named = gaz.most_specific(gaz.mentions(t)) or gaz.most_specific(gaz.mentions(str(meta.get("issuer", ""))))
        if not named and "国务院" in str(meta.get("issuer", "")) + t:
            named = ["全国"]
        region = named[-1] if named else ""
    start = end = review = None
    if meta.get("period"):
        ys = [int(y) for y in re.findall(r"(?:19|20)\d{2}", str(meta["period"]))]
        if ys:
            start, end = min(ys), max(ys)
    elif m := RE_PERIOD.search(t):
        start, end = int(m.group(1)), int(m.group(2))
    elif m := RE_FYP.search(t):
        n = cn_number(m.group(1) or m.group(2))
        if n:
            start, end = five_year_plan_years(n)
    elif m := RE_PLAN_YEAR.search(t):
        start = end = int(m.group(1))
    elif "政府工作报告" in t or "工作报告" in t:
        y = _int(meta.get("year")) or (int(m.group(1)) if (m := RE_YEAR.search(t)) else None)
        if y:                            # a work report plans its own year and reviews the one before
            start = end = y
            review = y - 1
    elif m := RE_YEAR.search(t):
        start = end = int(m.group(1))
    if meta.get("review_year") is not None:
        review = _int(meta["review_year"])
    elif m := RE_REVIEW.search(t):
        review = int(m.group(1))
    return DocScope(region=region, start=start, end=end, review_year=review)


RE_SUBREGION = re.compile(r"([\u4e00-\u9fff]{2,3}?(?:区|县))(?:国民经济|人民政府|政府|“|十|第|$)")


def new_region(title: str, meta: dict, gaz: Gazetteer) -> Region | None:
    """A district or county the title names right after a known region that the gazetteer lacks
    (重庆市柏溪区……规划纲要 -> 柏溪区 in 重庆市), unless the manifest says the region."""
    if meta.get("region"):
        return None
    t = normalize(title)
    for r, a, b in gaz.spans(t):
        m = RE_SUBREGION.match(t[b:])
        if m and m.group(1) not in gaz.regions and not gaz.mentions(m.group(1)):
            name = m.group(1)
            return Region(name, r, (name, name[:-1]) if len(name) >= 3 else (name,))
    return None


def corpus_geography(corpus) -> tuple[Gazetteer, dict[str, DocScope]]:
    """The gazetteer extended by the districts the documents' titles name, and each document's scope."""
    gaz = gazetteer()
    extra = {}
    for d in corpus.documents:
        r = new_region(d.title, d.meta, gaz)
        if r is not None:
            extra[r.name] = r
    gaz = gaz.extended(extra)
    return gaz, {d.doc_id: infer_scope(d.title, d.meta, gaz) for d in corpus.documents}


def corpus_scopes(corpus) -> dict[str, DocScope]:
    return corpus_geography(corpus)[1]


def docs_in_scope(places: tuple[str, ...] | list[str], named_docs: tuple[str, ...] | list[str],
                  scopes: dict[str, DocScope], gaz: Gazetteer, home: str = "") -> list[str]:
    """Documents that may answer a question about ``places`` (none named: the home region), for retrieval:

    * a document the question names;
    * a document of the place itself, or of a region the place lies in (the city plan may speak of 綦江, a
      national report of 重庆): the clause must then name the place (checked per clause, evidence.py);
    * the home region's documents (they also speak of their neighbours: 成都 in the 成渝 action plan);
    * with no place named, also the documents of places inside the home region (綦江's plan is a 重庆 plan).
    Not: a place inside the one asked about (a question about 重庆 is not answered from 綦江's plan) nor an
    unrelated region (吉林's report). A document of unknown region counts as the home region's."""
    named = set(named_docs)
    if named and not places:
        return [d for d in scopes if d in named]
    out = []
    for doc, sc in scopes.items():
        r = sc.region or home
        if doc in named or (home and r == home):
            out.append(doc)
        elif places and any(r == p or gaz.is_within(p, r) for p in places):
            out.append(doc)
        elif not places and home and gaz.is_within(r, home):
            out.append(doc)
    return out
