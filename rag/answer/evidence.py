"""Evidence verification: which retrieved clauses support an answer to the analysed ``Question``.

A clause (a sentence, or a whole 专栏 row / glossary entry) supports an answer only when it is
  * about the subject: its document's region is the place asked about, or it names that place;
  * in the time frame: it states the asked year (or its document plans for / reports on that year), and a
    question about actual results is not answered by a target, nor the reverse;
  * supplying the slot: a 多少 question needs a number (in the asked unit, if one was named), a 什么时候
    question a date, a 哪里 question a place, a 是什么意思 question a definition;
  * and it covers the question's topic (idf-weighted share of its terms, thesaurus forms counted).
The slot check itself (where in a clause the asked value is) is ``slots.SlotFinder``, which the verifier extends.
The ``Verdict`` carries the supported clauses best first, the near-topic ones that fail a check (for an
honest refusal notice), and the signals the calibrated decision (``decide.py``) weighs.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from ..chunk import split_sentences
from ..corpus import normalize
from ..lexicon import QUOTED
from ..parse import align
from ..schema import Hit
from ..scope import DocScope, Gazetteer
from .columns import ItemGroups, group_hit, listed_members
from .question import Question
from .rules import Slot
# SEG_END and quantities are imported from here by lead.py and the tests
from .slots import SEG_END, YEAR_IN_TEXT, SlotFinder, has, quantities, row_columns  # noqa: F401

REVIEW_HEAD = re.compile(r"回顾|执行情况|完成情况|过去一年|过去五年|发展基础|成就|成绩|取得|开局|答卷")
PLAN_HEAD = re.compile(r"目标|任务|重点工作|总体要求|工作安排|总体考虑|部署|主要发展|计划")
TARGET_WORDS = re.compile(r"力争|目标|达到|将|预计|争取|确保|计划|要|突破|超过|提高到|提升到|控制在|保持在|以上|以内")
ACTUAL_WORDS = re.compile(r"完成|实现了|达到了|增长了|新增了|建成|累计|同比|比上年|较上年|全年|创历史|首次|超额")


# the verification signals the decision weighs (Verdict.features), in a fixed order for the model file
FEATURES = ("coverage", "coverage_any", "supported", "supported_share", "missing_specific", "unknown_terms",
            "dense_top", "dense_best", "rank_best", "strict_slot", "terms", "named", "via_mention", "timeframe",
            "head_term", "slot_number", "slot_list", "slot_why_how", "slot_definition", "slot_entity", "focus", "asks")


# a focus word this rare (idf) that the number's clause lacks and a clause without the number holds: 核心 2.7, 山羊 5.4
DISPLACING_WEIGHT = 2.0


# a number the question counts a set with: 15件民生实事, 超10对友好城市
COUNTED_NUMBER = re.compile(r"(?<![\d.])(\d+)\s*(?:余|多)?\s*([件项个对所条家座类])")

# a year and a plan period asked side by side (2024年及“十四五”时期, “十四五”时期和2025年)
YEAR_AND_PERIOD = re.compile(r"(?:19|20)\d{2}\s*年?[）)]?(?:及|和|与|、|以及)[“\"「]?十[一二三四五六七八九]五|"
                             r"十[一二三四五六七八九]五[”\"」]?(?:时期|期间)?(?:末)?(?:及|和|与|、|以及)\s*(?:19|20)\d{2}")
# the whole of a place said in so many words (全市常住人口城镇化率): a clause whose section is about one of its parts
# (（一）实施提升主城都市区极核引领行动: 主城都市区's 2027 targets) states the part's figures, not the whole's
WHOLE_ASKED = re.compile(r"全市|全省|全区|全县|全国|全域|全重庆|整个重庆")
# a year that names a document (2025年计划报告, 2024年政府工作报告), not the time frame asked
# (a bare 2025年计划 is that year's plan: 2025年计划新建…多少 asks the 2025 target, not the report's 2024 review)
DOC_BY_YEAR = r"(?:国民经济和社会发展)?(?:计划报告|计划执行情况|政府工作报告|工作报告|报告)"
# what no plan says: the assistant's own opinion or prediction, and what happens on a given day
OPINION_ASKED = re.compile(r"你们?(?:认为|觉得|怎么看|看好|预测|估计|猜)|(?:你|您)的(?:看法|观点|意见|评价|判断)|(?:你|您)个人")
DAY_ASKED = re.compile(r"今天|明天|昨天|后天|今晚|今早|明早|明晚|此刻|这会儿|"
                       r"(?:最近|近期|这几天|这两天|今年)\S{0,8}(?:大?新闻|热点|热搜|头条)|大新闻|最新消息")
# a task no document answers: writing (写一首七言绝句), a recommendation (哪家火锅最巴适？推荐一下)
TASK_ASKED = re.compile(r"(?:写|作|编|创作)(?:一|几|两)?首|(?:写|作|编)(?:一|几)?(?:篇|段)\S{0,6}(?:文章|作文|故事|文案|稿|演讲|对联)|"
                        r"(?:写|作)诗|讲个笑话|帮(?:我|忙)(?:写|编|翻译|改)")
# (a plan's scenic spots are its own: 綦江有哪里好耍的 is asked of the plan, 哪家火锅最巴适 of no document)
RECOMMEND_ASKED = re.compile(r"哪家\S{0,8}最(?:好|巴适|好吃|便宜|划算|正宗|出名|有名|靠谱)|"
                             r"推荐\S{0,6}(?:火锅|餐馆|饭馆|饭店|酒店|宾馆|民宿|小吃|美食|馆子|店)")


def beyond_documents(t: str) -> str | None:
    """Why the question asks what no plan document states ("opinion", "day", "task", "recommend"), else None."""
    if OPINION_ASKED.search(t):
        return "opinion"
    if DAY_ASKED.search(t):
        return "day"
    if TASK_ASKED.search(t):
        return "task"
    if RECOMMEND_ASKED.search(t):
        return "recommend"
    return None


# the future said with no year (以后要咋个…, 今后几年): what is planned from now on
FUTURE_ASKED = re.compile(r"以后|今后|将来|未来|往后|接下来|下一步|下步|后面几年|这几年要|之后几年")
TARGET_LABEL = re.compile(r"目标|预期|预计|规划|计划")     # a 专栏 column of targets (2030年目标) or estimates

# what comes before the kind a question asks for: 哪六个区, 哪几项, 多少个
BEFORE_ASKED_KIND = re.compile(r"(?:哪|几|多少)[一二三四五六七八九十两\d]*[个项类种条座所家张块]?$")
KIND_BEFORE = re.compile(r"(?:哪|几|多少)(?:些|[一二三四五六七八九十两\d]*[个项类种条座所家张块位名])?$")   # 哪些名校
SPLIT_GAP = r"[^,.;!?:，。；！？：]{1,6}"   # between the words of a compound written apart (粮食播种面积和产量)
ASKING_AFTER = re.compile(r"(?:具体)?(?:有|是|为)?(?:哪|什么|啥|几|多少)")     # … and what comes just before it


@dataclass(frozen=True)
class EvidenceConfig:
    """The answer stage's weights and limits, in one place (ablatable; fed from ``Settings``)."""
    min_topic: float = 0.35        # coverage at which a clause counts as on the question's topic (for notices)
    rank_bonus: float = 0.08       # ranking: retrieval rank r adds rank_bonus / (1 + r)
    doc_bonus: float = 0.1         # ranking: a clause of a document the question names
    slot_bonus: float = 0.05       # ranking: a clause that supplies the slot
    glossary_bonus: float = 0.25   # ranking: a glossary entry for a definition question
    home_bonus: float = 0.05       # ranking: no place asked, and the clause's document is the home region's own
    heading_weight: float = 0.7    # a term found only in the clause's headings counts this much
    everyday_weight: float = 0.5   # an everyday word (Term.everyday) missing from a clause counts this much
    min_focus: float = 0.25        # share of the focus words (what is counted) a number's clause must hold:
                                   # 0.5 refused 4 more answerable dev items for 3 unanswerable ones, 0.25 none more
    max_units: int = 4             # clauses quoted in an answer
    keep_ratio: float = 0.6        # further clauses are quoted when they score >= keep_ratio * the best
    whole_group_chars: int = 600   # list/definition/why-how answers quote the whole clause up to this length
    min_sentence_chars: int = 4
    # the checks a number/list question's clause must pass (each can be switched off for an ablation)
    check_subject: bool = True     # the clause is about the place asked
    check_time: bool = True        # … in the time frame asked
    check_slot: bool = True        # … and supplies what is asked
    counted_noun: bool = True      # "100个示范镇村" does not count 示范县
    other_kind: bool = True        # 过夜游客 is not 入境游客
    given_numbers: bool = True     # a number the question states is not its answer
    place_lists: bool = True       # 哪些区县 needs places named
    per_unit: bool = True          # 人均地区生产总值 is not answered by 地区生产总值's figure
    unknown_focus: bool = True     # 时速 no document uses: no figure of the documents is the asked one
    subject_tiers: bool = True     # clauses of the named / the place's own document rank before the others
    named_kinds: bool = True       # 哪家医院 / 哪所高校 needs a hospital's / college's name the question lacks
    same_segment: bool = True      # a figure before the topic word counts only within its segment (…托位数达4.52个，
                                   # 人均预期寿命稳步提高: 4.52 and 3岁 are not the life expectancy)
    member_figures: bool = True    # what is counted named only as one member of an A、B、C等 list has no figure there
    other_compound: bool = True    # 全体居民人均可支配收入 is not 城镇居民's: a compound focus noun's head qualified otherwise
    place_figures: bool = True     # in a clause that only mentions the asked place, a figure is the place's when it
                                   # is in the place's own segment and the place is not one of a list (南川、武隆等)
    period_tiers: bool = True      # a plan period asked (“十五五”期间): the plan of exactly that period answers before
                                   # a document whose years only overlap it (the 2023–2027 action plan)
    plan_word: bool = True         # 规划 said as the document (规划里, 规划的目标) and no year or document named: the
                                   # outline's supported clauses come first (a report may state the same figure)
    named_first: bool = True       # a document named (《纲要》名词解释对…): its supported clauses lead even when another
                                   # document's holds a question word they lack (綦江's entry adds 认定)
    better_match: bool = True      # a figure is not the asked one when another clause names the asked thing more
                                   # fully but gives no figure for it (or one for another year)
    subset_figures: bool = True    # 其中中心城区要建多少公里: the figure's own segment names the part (中心城区), not
                                   # only the whole it is part of (建设山城绿道1000公里)
    better_names: bool = True      # better_match for a name or place asked too: 推动重庆旅游职业学院迁建 names the asked
                                   # college but no place, so 职业学校…合作开办产业学院's places are no answer
    relative_figures: bool = True  # 增速高于全市平均4.5个百分点 is no growth rate unless a comparison is asked
    beyond_documents: bool = True  # 你认为… / 今天天气…: an opinion or a day's news, which no plan states
    current_plans: bool = True     # no year asked, a plan (要/打算/以后): the live plans' clauses before a past year's
    whole_place: bool = True       # 全市… asked: a clause in a section about a part (主城都市区) is not about the whole
    period_totals: bool = True     # 累计城镇新增就业364万人 (a period's sum) is no answer to one year's actual result
    item_lists: bool = True        # a list no clause gives may be the numbered items of one 专栏 (1．港口型… 5．商贸
                                   # 服务型国家物流枢纽), their titles naming what is asked
    counted_numbers: bool = True   # a number the question counts a set with (15件) is in a clause only when it
                                   # counts the same there (15分钟… is another quantity)
    split_compounds: bool = True   # a compound asked (粮食产量) whose words all occur apart (粮食播种面积和产量) counts
                                   # nearly as the compound, more than a clause holding one of them (天然气产量)
    split_share: float = 0.95      # … this share of the compound's weight
    section_measures: bool = True  # how a section's goal is pursued: all its titled paragraphs (their titles the line)
    section_share: float = 0.6     # … when the section's title holds this share of the question's topic words (two at least)
    part_lists: bool = True        # 哪些片区/哪五个街道: an enumeration by the topic names them (朝天门、上清寺、菜园坝)
    durations: bool = True         # 多久/好久 asked: a span (缩短至40天, 不低于2小时) answers as a date does

    def __post_init__(self):
        for name in ("min_topic", "keep_ratio", "heading_weight", "everyday_weight", "min_focus"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {v}")
        for name in ("rank_bonus", "doc_bonus", "slot_bonus", "glossary_bonus", "home_bonus"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.max_units < 1 or self.whole_group_chars < 1 or self.min_sentence_chars < 1:
            raise ValueError("max_units, whole_group_chars and min_sentence_chars must be >= 1")

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


@dataclass
class Unit:
    """A quotable unit: one sentence of a chunk, or a whole table row / glossary entry."""
    hit: Hit
    rank: int
    text: str       # matching text (hard wraps joined)
    start: int      # offsets into the original file
    end: int
    headings: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class Check:
    unit: Unit
    coverage: float
    subject: bool
    subject_via: str          # region | mention | named | home | ""
    time: bool
    slot: bool
    specific_missing: tuple[str, ...]
    # where in normalize(unit.text) the slot's value is (number, date, places, enumeration); () = the whole clause
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def supported(self) -> bool:
        return self.subject and self.time and self.slot and not self.specific_missing

    @property
    def failed(self) -> str | None:
        """The first check it fails, in the order the notice explains them."""
        for name, ok in (("specific", not self.specific_missing), ("subject", self.subject), ("time", self.time),
                         ("slot", self.slot)):
            if not ok:
                return name
        return None


@dataclass(frozen=True)
class Verdict:
    supported: tuple[Check, ...]          # best first
    near: tuple[Check, ...]               # on topic but failing a check, best first
    reason: str | None                    # why nothing supports an answer: specific | subject | time | slot | topic
    missing: tuple[str, ...]              # names/numbers of the question no clause (or no document) contains
    features: dict[str, float] = field(default_factory=dict)


ITEM_NUMBER = re.compile(r"(?:\d{1,2}\s*[．.、]|[（(][一二三四五六七八九十\d]{1,3}[）)]|[一二三四五六七八九十]{1,3}是)")
ITEM_TITLE_CHARS = 24    # a chunk's first sentence this short is an item's title ("2．培育“綦色生香”品牌。")


def word_groups(terms: Sequence) -> list[list]:
    """Terms grouped with the compound they are part of (交通拥堵 with 交通 and 拥堵); names and numbers stand
    alone."""
    groups: list[list] = []
    for x in sorted(terms, key=lambda x: -len(x.text)):
        home = next((g for g in groups if not x.specific and not g[0].specific and x.text in g[0].text), None)
        if home is None:
            groups.append([x])
        else:
            home.append(x)
    return groups


def period_name(period: tuple[int, int]) -> str:
    """(2021, 2025) -> 十四五."""
    n = (period[0] - 1966) // 5 + 3
    digits = "零一二三四五六七八九"
    tens = ("十" if n // 10 == 1 else digits[n // 10] + "十") if n >= 10 else ""
    return f"{tens}{digits[n % 10] if n % 10 else ''}五"


class EvidenceVerifier(SlotFinder):
    """``chunks``: the index's chunks (for each hit's headings and each report's layout)."""

    def __init__(self, config: EvidenceConfig, chunks: Sequence, scopes: dict[str, DocScope], gazetteer: Gazetteer,
                 home_region: str = "", lexicon=None, texts: Mapping[str, str] | None = None):
        """``texts``: the documents' text by id, for quoting an item group (``columns``); without them no item group
        answers a list."""
        if home_region and home_region not in gazetteer.regions:
            raise ValueError(f"home_region {home_region!r} is not a region of the gazetteer")
        super().__init__(config, gazetteer, home_region, lexicon)
        self.scopes = scopes
        self.texts = texts
        self.items = ItemGroups(chunks) if texts is not None else None
        self._headings = {c.chunk_id: c.headings for c in chunks}
        # the corpus's present: the latest year a document starts planning for; the documents planning up to it or
        # later are the live plans (a 2024 annual plan is history once the 2026-2030 outline is out)
        now = max((sc.start for sc in scopes.values() if sc.start), default=None)
        self.current = {d for d, sc in scopes.items() if now is not None and sc.start and (sc.end or sc.start) >= now}
        self._plan_start: dict[str, int] = {}     # per report: offset of the first heading of its plan part
        for c in chunks:
            scope = scopes.get(c.doc_id)
            if scope is None or scope.kind != "report" or c.doc_id in self._plan_start:
                continue
            heads = " ".join(c.headings)
            if (scope.start and str(scope.start) in normalize(heads).replace(" ", "")) or PLAN_HEAD.search(heads):
                self._plan_start[c.doc_id] = c.start

    def headings_of(self, h: Hit) -> tuple[str, ...]:
        heads = self._headings.get(h.chunk_id, ())
        return heads[:-1] if h.kind == "item_list" else heads     # an item group: its first member's, less its title

    # -- units ------------------------------------------------------------------------------
    def units(self, hits: Sequence[Hit]) -> list[Unit]:
        out = []
        for r, h in enumerate(hits):
            heads = base = " ".join(self.headings_of(h)) + " " + h.location
            if h.kind in ("table_row", "glossary") or len(h.match_text) <= 60:
                out.append(Unit(h, r, h.match_text, h.start, h.end, heads))
                continue
            pos = align(h.text, h.match_text)
            a = 0
            for i, s in enumerate(split_sentences(h.match_text)):
                b = a + len(s)
                core = s.strip()
                if len(re.sub(r"[\W_]", "", core)) >= self.config.min_sentence_chars:
                    lead = len(s) - len(s.lstrip())
                    ea, eb = a + lead, a + lead + len(core)
                    out.append(Unit(h, r, core, h.start + pos[ea], h.start + pos[eb - 1] + 1, heads))
                    if len(core) <= ITEM_TITLE_CHARS and (i == 0 or ITEM_NUMBER.match(core)):
                        heads = f"{base} {core}"      # "2．培育“綦色生香”品牌。" heads the sentences after it
                a = b
        return out

    # -- the checks -------------------------------------------------------------------------
    def coverage(self, q: Question, text: str, headings: str = "") -> float:
        terms = q.known_terms
        total = sum(t.weight for t in terms)
        if not total:
            return 0.0
        t, h = normalize(text), normalize(headings)
        got = missing = 0.0
        for group in word_groups(terms):
            # a compound and the words inside it (家门口 / 家门 / 门口) are one thing asked: it counts once, as much
            # as its best-matched member (就近 without 家门口 is not three words short)
            top = max(x.weight for x in group)
            share = max(self._found(x, t, h) * x.weight for x in group)
            if share < top and self.config.split_compounds and self._split_found(group, t):
                share = max(share, top * self.config.split_share)
            got += share
            if share:
                missing += top - share
            else:
                light = all(x.everyday for x in group) or all(self._kind_asked(q, x.text) for x in group)
                missing += top * (self.config.everyday_weight if light else 1.0)
        return got / (got + missing) if got + missing else 0.0

    @staticmethod
    def _split_found(group: list, t: str) -> bool:
        """The group's compound (group[0], 粮食产量) written apart in ``t``: a member that begins it, then within
        a few characters of the same segment one that ends it (粮食播种面积和产量), the two making up the compound.
        Words far apart (文化旅游业成为重要支柱产业 for 文化产业) are no such compound."""
        whole = group[0].text
        if len(group) < 2 or group[0].specific:
            return False
        # the two make up the compound exactly (主城…城区 overlap: no 主城区 written apart)
        pairs = [(a, b) for a in group[1:] for b in group[1:] if a is not b and whole.startswith(a.text)
                 and whole.endswith(b.text) and len(a.text) + len(b.text) == len(whole)]
        return any(re.search(re.escape(fa) + SPLIT_GAP + re.escape(fb), t)
                   for a, b in pairs for fa in a.forms for fb in b.forms)

    def _kind_asked(self, q: Question, word: str) -> bool:
        """``word`` is the kind a list or name is asked of (哪些名校, 哪几家企业): the clause names the members
        (南开中学、人民小学), seldom the kind; its absence weighs as an everyday word's."""
        if q.slot not in (Slot.LIST, Slot.ENTITY):
            return False
        at = q.normalized.find(word)
        if at <= 0:
            return False
        before = q.normalized[:at]
        if KIND_BEFORE.search(before):
            return True
        # the last word of a kind named in several (哪些特色物产？, 哪五种物流枢纽): the nouns before it to the
        # question word are the question's own, and the kind ends the ask
        after = q.normalized[at + len(word):]
        if not re.match(r"\s*(?:呢|啊|哦|吗|嘛|呀)?\s*(?:[？?。！!，,；;]|$)", after):
            return False
        others = sorted({x.text for x in q.terms if x.text != word and len(x.text) >= 2}, key=len, reverse=True)
        for _ in range(2):
            tail = next((o for o in others if before.endswith(o)), None)
            if tail is None or self.is_verb(tail):
                return False                  # 哪些名校开展合作: a verb between, so 合作 is what they do
            before = before[:-len(tail)]
            if KIND_BEFORE.search(before):
                return True
        return False

    def _found(self, term, t: str, h: str) -> float:
        if any(has(t, f) for f in term.forms):
            return 1.0
        if h and any(has(h, f) for f in term.forms):
            return self.config.heading_weight
        return 0.0

    def subject(self, q: Question, u: Unit) -> str:
        """How the clause is about the question's subject: "named" (a document the question names), "region"
        (its document's region is the place asked about), "mention" (it names that place), "home" (no place
        asked, and its document is of the home region or a place within it); "" when it is not."""
        region = self._doc_region(u.hit.doc_id)
        if q.subject.docs and not q.subject.places:
            if u.hit.doc_id in q.subject.docs:
                return "named"
            if u.hit.kind == "glossary" and any(self.gaz.is_within(region, self._doc_region(d)) for d in q.subject.docs):
                # the city plan's glossary explains a name the action plan uses (“四千行动”); a district's explains
                # a name of the city's (綦江's glossary: “141”基层智治体系, which the 2024 city report names)
                return "region"
            return ""
        if not q.subject.places:
            if not self.home or self.gaz.is_within(region, self.home):
                return "home"
            return "mention" if self.home and self.home in self.gaz.mentions(u.text + " " + u.headings) else ""
        mentioned = self.gaz.mentions(u.text + " " + u.headings)
        named = u.hit.doc_id in q.subject.docs       # a named document must still be about the place asked
        for p in q.subject.places:
            if region == p:
                return "named" if named else "region"
            if p in mentioned or (p not in self.gaz.regions and p in normalize(u.text + u.headings)):
                return "mention"
        return ""

    def spans_years(self, doc_id: str) -> bool:
        scope = self.scopes.get(doc_id)
        return scope is None or scope.start is None or (scope.end or scope.start) > scope.start

    def part_section(self, q: Question, u: Unit) -> str | None:
        """The question asks the whole place (全市…), and the clause's own headings or its opening words (its topic:
        渝东北三峡库区城镇群和…现代化建设取得显著成效，…达到60%) name a part of it (主城都市区, 渝东北…) while the
        clause never says the whole (全市)."""
        if not WHOLE_ASKED.search(q.normalized):
            return None
        whole = q.subject.places[0] if q.subject.places else self.home
        if not whole or WHOLE_ASKED.search(normalize(u.text)):
            return None
        opening = re.split(r"[，,；;。：:]", normalize(u.text), maxsplit=1)[0]
        asked = set(q.subject.places) | {whole}       # 重庆全市…綦江区的目标又是多少: 綦江 is asked, not a part
        if self._region(u) in asked - {whole}:
            return None
        return next((r for r in self.gaz.mentions(u.headings + " " + opening)
                     if r not in asked and self.gaz.is_within(r, whole)), None)

    def _doc_region(self, doc_id: str) -> str:
        scope = self.scopes.get(doc_id)
        return (scope.region if scope else "") or self.home

    def _region(self, u: Unit) -> str:
        return self._doc_region(u.hit.doc_id)

    region_of = _region

    def aspect_of(self, u: Unit) -> set[str]:
        """What the clause states: {"actual"} (results), {"target"} (plans), or both when it cannot be told."""
        scope = self.scopes.get(u.hit.doc_id)
        heads = u.headings
        if u.hit.kind == "table_row":
            return {"actual", "target"}          # 专栏 rows carry the base year's value and the target
        if scope is not None and scope.kind == "report":
            if REVIEW_HEAD.search(heads):
                return {"actual"}
            if scope.start and (str(scope.start) in heads or PLAN_HEAD.search(heads)):
                return {"target"}
            if u.start < self._plan_start.get(u.hit.doc_id, 10 ** 12):
                return {"actual"}          # a report states results first, then plans (even an excerpt that lost its first heading)
            return {"target"}
        if REVIEW_HEAD.search(heads) or (scope is not None and scope.start and scope.end > scope.start
                                         and period_name((scope.start - 5, scope.start - 1)) in normalize(heads)):
            return {"actual"}             # the outline's opening review of the previous plan period
        if scope is not None and scope.start is not None:
            return {"target"}             # a plan states targets (its 建成 is "will be built")
        words = normalize(u.text)
        if ACTUAL_WORDS.search(words) and not TARGET_WORDS.search(words):
            return {"actual"}
        return {"actual", "target"}

    def time(self, q: Question, u: Unit) -> bool:
        tf = q.timeframe
        if tf.empty or q.slot is Slot.DEFINITION or (u.hit.kind == "glossary" and self._explains(q, u)):
            return True                   # what a term (or a code's parts) means does not depend on the year asked
        if (tf.years and not tf.period and tf.aspect is None and u.hit.doc_id in q.subject.docs
                and all(re.search(rf"{y}\s*年?的?{DOC_BY_YEAR}", q.normalized) for y in tf.years)):
            return True                   # 据2025年计划报告，重庆入选了…: the year names the document, whose review
                                          # (2024's results) says it as well as its plan
        scope = self.scopes.get(u.hit.doc_id)
        text_years = {int(y) for y in YEAR_IN_TEXT.findall(normalize(u.text))}
        head_years = {int(y) for y in YEAR_IN_TEXT.findall(normalize(u.headings))}
        aspect = self.aspect_of(u)
        if tf.aspect and tf.aspect not in aspect:
            return False
        if (tf.aspect == "target" and u.hit.kind == "table_row" and "目标" in q.normalized
                and self._base_year_column(tf.years, u, scope)):
            return False                  # (only for a target the question asks in so many words: its 要, 预期寿命
                                          # and a follow-up's rewrite say target for 10 dev/hold-out items that
                                          # the base year's value answers)
        years = tf.years
        if scope is not None and u.hit.doc_id in q.compared_docs:
            # "2024年计划目标和行动方案的2027年目标": the 2027 is the other side's; a side is held only to years it covers
            years = tuple(y for y in years if scope.covers(y))
        if years and tf.period and YEAR_AND_PERIOD.search(q.normalized):
            # "2024年及“十四五”时期…分别达到多少": two time frames compared, a clause is in one of them
            return (any(self._year_ok(y, text_years, head_years, scope, aspect) for y in years)
                    or self._period_ok(tf.period, u, text_years | head_years, scope, aspect, tf.aspect))
        if years and not any(self._year_ok(y, text_years, head_years, scope, aspect) for y in years):
            return False                  # (a question about two years is answered clause by clause)
        if tf.period and not tf.years and not self._period_ok(tf.period, u, text_years | head_years, scope, aspect, tf.aspect):
            return False
        return True

    @staticmethod
    def _base_year_column(years: Sequence[int], u: Unit, scope: DocScope | None) -> bool:
        """A 专栏 row answers a target question for an asked year only from a target column: a plan's column for
        a year before its period ("2025年：5.3" in the 2026-2030 outline) is the base year's value, not a target."""
        if not years or scope is None or not scope.start:
            return False
        asked = [lb + v for lb, v in row_columns(u.text) if any(str(y) in lb for y in years)]   # 预计2.65: an estimate
        return bool(asked) and all(y < scope.start for y in years) and not any(TARGET_LABEL.search(c) for c in asked)

    def fits_document(self, q: Question, doc_id: str) -> bool:
        """Could the document state the asked year/aspect at all (its plan year, review year, period end)? The
        retrieval prior for questions with a time frame; the clause-level check stays ``time``."""
        tf, scope = q.timeframe, self.scopes.get(doc_id)
        if tf.empty or scope is None or scope.start is None:
            return False
        for y in tf.years:
            if scope.kind == "report" and ((y == scope.start and tf.aspect != "actual")
                                           or (y == scope.review_year and tf.aspect != "target")):
                return True
            if scope.kind == "plan" and tf.aspect != "actual" and (y == scope.end or (scope.start == scope.end == y)):
                return True
            if scope.kind == "plan" and tf.aspect != "target" and scope.end > scope.start and y == scope.start - 1:
                return True
        if tf.period and not tf.years:
            lo, hi = tf.period
            if tf.aspect != "target" and scope.end > scope.start and scope.start == hi + 1:
                return True               # the next plan opens by reviewing the period
            return scope.start <= hi and lo <= scope.end
        return False

    @staticmethod
    def _year_ok(y: int, text_years: set[int], head_years: set[int], scope: DocScope | None, aspect: set[str]) -> bool:
        if y in text_years or (not text_years and y in head_years):
            return True
        if scope is None or scope.start is None:
            return False                  # nothing says which year it is
        if scope.kind == "report":
            return (y == scope.start and "target" in aspect) or (y == scope.review_year and "actual" in aspect)
        if y == scope.start - 1 and "actual" in aspect and scope.end > scope.start:
            return True                   # a plan outline's review states where the previous period ended
        # an annual plan's year, or the end year a plan's targets are for
        return scope.start <= y <= scope.end and (y == scope.end or scope.start == scope.end) and "target" in aspect

    def _period_ok(self, period: tuple[int, int], u: Unit, years: set[int], scope: DocScope | None, aspect: set[str],
                   asked: str | None = None) -> bool:
        """A plan period (十四五 = 2021-2025): the clause names it or a year in it, or its document plans for it,
        or -- for results -- its document is the next plan, which opens by reviewing it. A target year inside the
        period in a document that began before it (到2027年 in the 2023-2027 action plan) is that document's
        target, not the period's."""
        lo, hi = period
        if period_name(period) in normalize(u.text + u.headings):
            return True
        if years & set(range(lo, hi + 1)):
            return not (asked == "target" and scope is not None and scope.start is not None and scope.start < lo)
        if scope is None or scope.start is None:
            return False
        if scope.start <= hi and lo <= scope.end:
            return True
        return "actual" in aspect and scope.start == hi + 1

    def check(self, q: Question, u: Unit, context: str | None = None) -> Check:
        """``context``: the retrieved text around the clause (normalised). A clause holding the name the question
        quotes (“六助”) is about it: the question's other names (綦江区养老…) need only be in that context."""
        text = normalize(u.text + " " + u.headings)
        missing = tuple(t.text for t in q.terms if t.specific and not any(has(text, f) for f in t.forms))
        if self.config.counted_numbers:
            missing += tuple(n for n in self._counted_elsewhere(q, text) if n not in missing)
        if missing and context is not None:
            quoted = {re.sub(r"\s", "", x) for x in QUOTED.findall(q.normalized)}
            if any(t.text in quoted and any(has(text, f) for f in t.forms) for t in q.terms):
                missing = tuple(m for m in missing
                                if not any(has(context, f) for t in q.terms if t.text == m for f in t.forms))
        cfg = self.config
        via = self.subject(q, u) if cfg.check_subject else "home"
        if via and cfg.whole_place and self.part_section(q, u):
            via = ""
        spans = self.slot_spans(q, u) if cfg.check_slot else []
        if spans and via == "mention" and q.slot is Slot.NUMBER and q.subject.places and cfg.place_figures:
            spans = self._place_figures(q, normalize(u.text), spans) or None
        return Check(u, self.coverage(q, u.text, u.headings), bool(via), via, self.time(q, u) if cfg.check_time else True,
                     spans is not None, missing, tuple(spans or ()))

    @staticmethod
    def _counted_elsewhere(q: Question, text: str) -> list[str]:
        """The numbers the question counts a set with (15件, 超10对) that ``text`` has only as other quantities:
        “15分钟公共文化服务圈” is not about the 15件 民生实事 asked."""
        specific = {t.text for t in q.terms if t.specific}
        out = []
        for m in COUNTED_NUMBER.finditer(q.normalized):
            n, cls = m.group(1), m.group(2)
            if n in specific and n not in out and has(text, n) and not re.search(
                    rf"(?<![\d.]){re.escape(n)}[\s*]*(?:余|多)?[\s*]*{cls}", text):
                out.append(n)
        return out

    def run(self, q: Question, hits: Sequence[Hit], dense: Sequence[float] = ()) -> Verdict:
        cfg = self.config
        units = self.units(hits)
        all_text = normalize(" ".join(h.match_text + " " + " ".join(self.headings_of(h)) for h in hits))
        checks = [self.check(q, u, all_text) for u in units]
        missing = tuple(t.text for t in q.terms if t.specific and not any(has(all_text, f) for f in t.forms))
        for c in checks:
            u = c.unit
            u.score = (c.coverage + cfg.rank_bonus / (1 + u.rank)
                       + (cfg.doc_bonus if c.subject_via == "named" else 0.0)
                       + (cfg.slot_bonus if q.slot is Slot.NUMBER and c.slot else 0.0)
                       + (cfg.glossary_bonus if u.hit.kind == "glossary" and self._explains(q, u) else 0.0)
                       + (cfg.home_bonus if c.subject_via == "home" and self._region(u) == self.home else 0.0))
        checks.sort(key=lambda c: -c.unit.score)
        if cfg.subject_tiers:
            checks = self.by_tier(q, checks)
        if cfg.period_tiers:
            checks = self.by_period(q, checks)
        if cfg.plan_word:
            checks = self.by_outline(q, checks)
        if cfg.current_plans:
            checks = self.by_current(q, checks)
        if cfg.better_match and cfg.check_slot:
            checks = self.displaced(q, checks)
        supported = tuple(c for c in checks if c.supported)
        if not missing and cfg.item_lists and q.slot is Slot.LIST and self.items is not None:
            # the numbered items of one 专栏 may list what no clause does (“五型”国家物流枢纽是哪五种), or more of it
            group = self.item_list(q, hits, all_text)
            # ties go to the group when the question counts the members (哪五篇): a single item is one of them
            sized = self._asked_size(q) is not None
            if group is not None and (not supported or group.coverage > supported[0].coverage
                                      or (sized and group.coverage >= supported[0].coverage)):
                checks = [group] + checks
                supported = (group,) + supported
        near = tuple(c for c in checks if not c.supported and c.coverage >= cfg.min_topic)
        reason = None
        if cfg.beyond_documents and (beyond := beyond_documents(q.normalized)):
            # an opinion of the assistant's (你认为…能全部实现吗) or a day's news (今天天气咋样): no plan states it,
            # whatever clause shares its words
            near = tuple(c for c in (*supported, *near) if c.coverage >= cfg.min_topic)
            return Verdict((), near, beyond, missing, self.features(q, checks, (), missing, dense))
        if not supported:
            if missing:
                reason = "specific"
            elif near:
                reason = near[0].failed
            else:
                reason = "topic"
        return Verdict(supported, near, reason, missing, self.features(q, checks, supported, missing, dense))

    def item_list(self, q: Question, hits: Sequence[Hit], context: str) -> Check | None:
        """The members of the item group of the best-ranked retrieved item whose titles (or heading) name what is
        asked, as one supported check; None when no group fits the question (its size, its subject, its time)."""
        words = [x for x in q.known_terms if not self._kind_asked(q, x.text)]
        size = self._asked_size(q)
        seen = set()
        for r, h in enumerate(hits):
            group = self.items.of(h.chunk_id)
            if group is None or id(group) in seen:
                continue
            seen.add(id(group))
            members = listed_members(q, group, words, size)
            if not members:
                continue
            hit = group_hit(group, members, self.texts, h.score)
            heads = " ".join(group.headings) + " " + group.location
            own = normalize(hit.match_text + heads)
            lacking = [t for t in q.terms if t.specific and not any(has(own, f) for f in t.forms)]
            if lacking:
                # the set's quoted name (“五型”) is a retrieved clause's (协同“五型”国家物流枢纽), not the items':
                # that clause introduces the group, as a heading would
                intro = next((x.match_text for x in hits if all(any(has(normalize(x.match_text), f) for f in t.forms)
                                                                 for t in lacking)), None)
                if intro is None:
                    continue
                heads += " " + intro
            u = Unit(hit, r, hit.match_text, hit.start, hit.end, heads)
            c = replace(self.check(q, u), slot=True, spans=())
            if c.supported:
                return c
        return None

    def displaced(self, q: Question, checks: list[Check]) -> list[Check]:
        """A supported clause lacking a focus word (what is counted) that an on-topic clause without the value holds
        counts another thing: 规上工业增加值增长18% is not the 数字经济核心产业增加值 the 2024 plan only targets;
        50万头生猪 is not the 安稳山羊 of the clause that gives no number. Such a clause fails the slot."""
        named = q.slot in (Slot.ENTITY, Slot.PLACE) and self.config.better_names
        if q.slot is not Slot.NUMBER and not named:
            return checks
        # nouns and distinguishing words (核心, 山羊, 新型), not the verbs and measure words of how it is asked
        # (要提高到, 参加…的有, 这一块): those the figure's clause need not repeat
        focus = [t for t in q.terms if t.text in q.focus and t.known and len(t.text) >= 2
                 and t.weight >= DISPLACING_WEIGHT and self.is_noun(t.text)
                 and not (named and self._frames_ask(q, t.text))]       # 哪个科室: the kind asked, named by no clause
        if not focus:
            return checks
        texts = {id(c): normalize(c.unit.text + " " + c.unit.headings) for c in checks}
        holds = lambda c, t: any(has(texts[id(c)], f) for f in t.forms)  # noqa: E731
        # for a name, only a rival in the time frame: the plan's target (力争建成通车市郊铁路璧铜线) words what the
        # report's result (璧铜线建成开通) says otherwise (dev P118)
        rivals = [c for c in checks if not c.supported and c.subject and not c.specific_missing
                  and c.failed in (("slot",) if named else ("time", "slot"))]
        out = []
        for c in checks:
            lacking = [t for t in focus if not holds(c, t)] if c.supported else []
            if lacking and any(r.coverage >= c.coverage and all(holds(r, t) for t in lacking) for r in rivals):
                c = replace(c, slot=False, spans=())
            out.append(c)
        return out

    def by_period(self, q: Question, checks: list[Check]) -> list[Check]:
        """A plan period asked (“十五五”期间…要稳定在多少, 十五五搞完过后): among the supported clauses of the first
        one's subject tier, those of a document planning exactly that period come first; a document whose years only
        overlap it (the 2023–2027 action plan for 2026–2030) states an earlier target. A comparison of years or of
        named documents keeps its order."""
        period = q.timeframe.period
        if not period or q.timeframe.years or len(q.subject.docs) > 1:
            return checks
        supported = [c for c in checks if c.supported]
        if not supported:
            return checks
        tier = self.tier(q, supported[0])

        def exact(c: Check) -> bool:
            scope = self.scopes.get(c.unit.hit.doc_id)
            return scope is not None and (scope.start, scope.end) == tuple(period)
        return self._promoted(checks, supported,
                              [c for c in supported if self.tier(q, c) == tier and exact(c)])

    def by_outline(self, q: Question, checks: list[Check]) -> list[Check]:
        """规划 said as the document (规划的目标是多少户, 规划打算怎么化解) with no year, period or document named: among the
        supported clauses of the first one's subject tier, the outline's come first. Only the order changes: a
        report or the action plan stating the same figure still answers when the outline does not."""
        if not q.subject.outline or q.timeframe.years or q.timeframe.period:
            return checks
        supported = [c for c in checks if c.supported]
        if not supported:
            return checks
        tier = self.tier(q, supported[0])
        return self._promoted(checks, supported, [c for c in supported if self.tier(q, c) == tier
                                                  and c.unit.hit.doc_id in q.subject.outline])

    @staticmethod
    def _promoted(checks: list[Check], supported: list[Check], first: list[Check]) -> list[Check]:
        """``checks`` with ``first`` (supported clauses, in order) moved to the front; unchanged when there are
        none or the best supported clause already leads them."""
        if not first or first[0] is supported[0]:
            return checks
        moved = {id(c) for c in first}
        return first + [c for c in checks if id(c) not in moved]

    def by_current(self, q: Question, checks: list[Check]) -> list[Check]:
        """A plan asked with no year, period or document named: among the supported clauses of the first one's
        subject tier, a live plan's (``current``) come first -- always when the question says the future (以后,
        今后), else when it covers the question as well (有啥子打算: the 2024 plan's 打算 and the outline's tie).
        Results asked (做了啥) keep their order: those are in the reports."""
        if q.timeframe.years or q.timeframe.period or q.subject.docs or q.timeframe.aspect == "actual":
            return checks
        supported = [c for c in checks if c.supported]
        if not supported or supported[0].unit.hit.doc_id in self.current or not self.current:
            return checks
        future = bool(FUTURE_ASKED.search(q.normalized))
        if not future and q.timeframe.aspect != "target":
            return checks
        tier = self.tier(q, supported[0])
        return self._promoted(checks, supported, [c for c in supported if self.tier(q, c) == tier
                                                  and c.unit.hit.doc_id in self.current
                                                  and (future or c.coverage >= supported[0].coverage)])

    def by_tier(self, q: Question, checks: list[Check]) -> list[Check]:
        """``checks`` (best score first) with the supported clauses of tier-2 documents first -- unless the best
        lower-tier clause holds a word of the question that none of them holds (赶水镇, 綦河, “一心三副” are 綦江's
        things: a question naming them is about 綦江 though it names no place). The kind a question asks for (哪六个区)
        and the verb that asks for it (包括哪几个方面) are no such words: they frame the answer, not the topic."""
        tiers = [self.tier(q, c) for c in checks]
        top = [c for c, t in zip(checks, tiers) if t == 2 and c.supported]
        low = next((c for c, t in zip(checks, tiers) if t < 2 and c.supported), None)
        if not top or low is None or low.unit.score <= top[0].unit.score:
            return checks
        if self.config.named_first and any(c.subject_via == "named" for c in top):
            return self.grouped(checks, tiers)      # the name says which document; a word held elsewhere does not
        text = normalize(low.unit.text + " " + low.unit.headings)
        tops = [normalize(c.unit.text + " " + c.unit.headings) for c in top[:self.config.max_units]]
        for t in q.known_terms:
            if self._frames_ask(q, t.text) or (not t.specific and re.fullmatch(r"\d+(?:\.\d+)?%?", t.text)):
                continue                      # (a number the question states, 6%左右, is no thing of the district's)
            held = [f for f in t.forms if has(text, f)]
            if held and not any(has(x, f) for x in tops for f in t.forms):
                return checks
        return self.grouped(checks, tiers)

    @staticmethod
    def grouped(checks: list[Check], tiers: list[int]) -> list[Check]:
        """Tier 2 first, by score within each group."""
        return [c for c, t in zip(checks, tiers) if t == 2] + [c for c, t in zip(checks, tiers) if t != 2]

    @staticmethod
    def _frames_ask(q: Question, word: str) -> bool:
        """``word`` frames the ask (哪六个区, 包括哪几个方面): it says what kind of answer, not what about."""
        at = q.normalized.find(word)
        return at >= 0 and (bool(BEFORE_ASKED_KIND.search(q.normalized[:at]))
                            or bool(ASKING_AFTER.match(q.normalized, at + len(word))))

    def tier(self, q: Question, c: Check) -> int:
        """How directly the clause is about the question's subject: 2 its document is the one named or the place's
        own (no place asked: the home region's own), or it is a glossary entry for a definition question; 1 its
        document only mentions the place, is a district's inside the home region for a question that names no
        place, or is another document than the one named; 0 not about it. ``by_tier`` puts tier 2 first, whatever
        the overlap: a bonus cannot say it (綦江's glossary entry for “六区一高地” quotes the question's 六个区 and
        outscored the city outline's own entry by 0.5)."""
        via = c.subject_via
        if via == "named" or (via == "region" and not (q.subject.docs and not q.subject.places)):
            return 2
        if via == "region" and c.unit.hit.kind == "glossary" and q.slot is Slot.DEFINITION:
            return 2        # a glossary explains what the named document uses (“141”: 2024年计划里说…，指的啥？);
                            # for a list (包括哪几个方面) the named document's own items come first
        if via == "home":
            return 2 if not self.home or self._region(c.unit) == self.home else 1
        return 1 if via else 0

    @staticmethod
    def _explains(q: Question, u: Unit) -> bool:
        """A glossary entry answers a definition question, and a list question about a code it explains
        (“四首”是哪四样, “33618”的3大主导产业集群是哪些: the entry lists them)."""
        if q.slot is Slot.DEFINITION:
            return True
        if q.slot is not Slot.LIST:
            return False
        head = normalize(u.text[:40]).replace(" ", "")
        return any(re.sub(r"\s", "", x) in head for x in QUOTED.findall(q.normalized) if len(re.sub(r"\s", "", x)) >= 2)

    def features(self, q: Question, checks: Sequence[Check], supported: Sequence[Check], missing: Sequence[str],
                 dense: Sequence[float]) -> dict[str, float]:
        """The signals the decision weighs (all in [0, 1] or small counts, comparable across corpora)."""
        best = supported[0] if supported else None
        weight = sum(t.weight for t in q.terms) or 1.0
        spec = sum(t.weight for t in q.terms if t.specific) or 0.0
        dense_of = lambda r: float(dense[r]) if r < len(dense) else 0.0  # noqa: E731
        return {
            "coverage": best.coverage if best else 0.0,
            "coverage_any": max((c.coverage for c in checks), default=0.0),
            "supported": 1.0 if best else 0.0,
            "supported_share": len(supported) / max(1, len(checks)),
            "missing_specific": (sum(t.weight for t in q.terms if t.text in missing) / spec) if spec else 0.0,
            "unknown_terms": sum(t.weight for t in q.terms if not t.known) / weight,
            "dense_top": dense_of(0),
            "dense_best": dense_of(best.unit.rank) if best else 0.0,
            "rank_best": 1.0 / (1 + best.unit.rank) if best else 0.0,
            "strict_slot": 1.0 if (q.slot in (Slot.TIME, Slot.PLACE, Slot.DEFINITION)
                                   or (q.slot is Slot.NUMBER and q.unit)) else 0.0,
            "terms": math.log1p(len(q.known_terms)),
            "named": 1.0 if (q.subject.places or q.subject.docs) else 0.0,
            "via_mention": 1.0 if best is not None and best.subject_via == "mention" else 0.0,
            "timeframe": 0.0 if q.timeframe.empty else 1.0,
            "head_term": 1.0 if best is not None and self._has_head(q, best.unit) else 0.0,
            "focus": self.focus_cover(q, best.unit.text) if best is not None else 0.0,
            "asks": 1.0 if q.asks else 0.0,
            # what is asked changes how much overlap an answer shows: measures are paraphrased, numbers quoted
            "slot_number": float(q.slot is Slot.NUMBER), "slot_list": float(q.slot is Slot.LIST),
            "slot_why_how": float(q.slot is Slot.WHY_HOW), "slot_definition": float(q.slot is Slot.DEFINITION),
            "slot_entity": float(q.slot in (Slot.ENTITY, Slot.PLACE, Slot.TIME, Slot.YES_NO)),
        }

    @staticmethod
    def _has_head(q: Question, u: Unit) -> bool:
        """The question's heaviest known term is in the clause (入境游客: 入境, not only 游客)."""
        terms = sorted(q.known_terms, key=lambda x: -x.weight)
        if not terms:
            return False
        text = normalize(u.text + " " + u.headings)
        return any(has(text, f) for f in terms[0].forms)
