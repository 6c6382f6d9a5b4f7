"""Question analysis: normalise what was asked, then say what it asks for.

    text --OpenCC t2s, NFKC, fillers--> normalized --homophone typos--> corrected --follow-up--> query
    query -> slot (+ unit), subject (places, named documents), time frame (years, plan period, target vs
    actual), weighted terms (specific names/numbers vs topic words, each with the wording the documents use)

Nothing here looks at retrieved evidence; ``evidence.py`` checks the evidence against the ``Question``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Sequence

from ..corpus import normalize
from ..lexicon import NUMBER, QUOTED, STOP
from ..scope import Gazetteer, cn_number, five_year_plan_years
from ..retrieve import YEAR_JOIN, name_forms
from .followup import last_user_turn, looks_like_followup, rewrite_followup
from .rules import MEASURE_WORDS, MULTIPLIERS, UNIT_WORDS, QuestionRules, Slot

UNIT_SET = {u for u, _ in UNIT_WORDS} | {m + u for m in MULTIPLIERS for u, _ in UNIT_WORDS}
LONG_UNITS = tuple(u for u, _ in UNIT_WORDS if len(u) >= 3 and re.fullmatch(r"[\u4e00-\u9fff]+", u))     # 立方米, 平方公里, 千瓦时
from .spelling import Correction, Speller

HAN = re.compile(r"[\u4e00-\u9fff]")
# 头 after a document or table is the dialect's 里 (方案头讲的, 规划头有啥子), not 龙头/源头/带头
CONTAINER_TOU = re.compile(r"(方案|规划|纲要|文件|报告|计划|表|专栏)头(?![号条等部羊])")
# how a counted quantity moves, said after it (增加值实际增长了多少, 收入要提高到多少): not the counted noun
CHANGE_VERBS = frozenset("增长 提高 提升 下降 降低 减少 增加 上升 扩大 缩小 超过 突破 增至 降至 提高到 提升到 增长到".split())
YEAR = re.compile(r"(?<![0-9.])((?:19|20)\d{2})\s*年?(?![0-9.%])")
MARKUP = re.compile(r"<[^>]{0,200}>|&[a-z]+;|https?://\S+")
SPECIFIC_POS = ("nr", "nt", "eng")
# a word this common in everyday Chinese (jieba's dictionary frequency) is how people talk (老人, 自己, 方便) as often
# as what they ask about: absent from a clause it counts half (the first golden set's refusal rule used 3000)
# jieba's dictionary tags common nouns as person or organisation names (幼儿园/nr 405, 养老院/nr 28, 贡献率/nr 32,
# 加工厂/nt 145): a name is rare there (李克强 6, 王小明 3, 长安汽车 4, 金凤 0), so an nr/nt word this frequent is
# no name the documents must contain (still a weighted term)
COMMON_NAME_FREQ = 20
EVERYDAY_FREQ = 3000       # person, organisation, Latin word: names the documents must contain


@lru_cache(maxsize=1)
def _opencc():
    try:
        import opencc
    except ImportError:           # pragma: no cover - it is in requirements.txt
        return None
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    cc = _opencc()
    return cc.convert(text) if cc is not None else text


PERIOD_END = re.compile(r"(?:时期|期间)?末")      # 十四五末 / 十四五时期末: the period's last year


def last_ask(pat: re.Pattern, clause: str) -> re.Match | None:
    """The first match of the question word in the last clause that has one: the last clause asks, earlier ones
    set the scene ("想了解盘子有多大：要新建多少个智能工厂？"); within a clause the first match is the phrase's start
    (比重要提高到多少)."""
    found = list(pat.finditer(clause))
    if not found:
        return None
    seg = lambda m: len(re.findall(r"[，,。；;？?！!：:]", clause[:m.start()]))  # noqa: E731
    last = seg(found[-1])
    return next(m for m in found if seg(m) == last)


def normalize_question(text: str) -> str:
    """Traditional -> simplified (OpenCC t2s: 重慶規劃裡的醫院 -> 重庆规划里的医院), NFKC (full-width digits and
    letters), lower case, whitespace runs as one space."""
    t = unicodedata.normalize("NFKC", to_simplified(text)).lower()
    return re.sub(r"\s+", " ", t).strip()


# 好长/好远/好高 closing a question is 多长/多远/多高 (渝昆高铁川渝段有好长？); 好长时间 or 好大的变化 are no question
DIALECT_HOW = re.compile(r"(?<=[有是要])好([长远高大宽深重])(?=[啊哦嘛呀哟喃噻了]?[?？]|$)")
ROUTE_NAME = re.compile(r"(?<![\u4e00-\u9fff])?([\u4e00-\u9fff]{2})(?=高铁|铁路|高速|城际|客专|航线)")
NAME_FREQ = 50     # a general-dictionary frequency below which a corpus word before a facility noun is a name
FACILITY_HEAD = re.compile(r"水库|水电站|电站|大桥|桥|隧道|公园|机场|火车站|高铁站|码头|港区|古镇|镇|乡|村|湖|大道|"
                           r"广场|医院|中学|小学|大学|学院|景区|园区|产业园|工业园|寺|山")
MEASURE_ASKED_EACH = re.compile(r"分别(?:是|为|有)(?:什么|啥子?|哪些)")
LOCATIVES = "中里内"
DOC_NOUN_END = re.compile(r"(?:计划|规划|报告|方案|纲要|文件|专栏|表|\s)$")   # \s: a document's name dropped there


@dataclass(frozen=True)
class TimeFrame:
    years: tuple[int, ...] = ()
    period: tuple[int, int] | None = None      # 十五五 -> (2026, 2030)
    aspect: str | None = None                  # "target" | "actual" | None (both, or neither said)

    @property
    def empty(self) -> bool:
        return not self.years and self.period is None and self.aspect is None


@dataclass(frozen=True)
class Subject:
    places: tuple[str, ...] = ()     # canonical regions the question names (the most specific ones)
    docs: tuple[str, ...] = ()       # documents it names (行动方案, 2024年计划, 綦江 …)
    home: str = ""                   # the home region, when no place is named
    outline: tuple[str, ...] = ()    # 规划 said as the document (规划里…), none named: the outlines it likely means

    @property
    def regions(self) -> tuple[str, ...]:
        return self.places or ((self.home,) if self.home else ())


@dataclass(frozen=True)
class Term:
    text: str
    weight: float
    specific: bool                   # a name, number or code: if no document has it, the answer is not there
    forms: tuple[str, ...] = ()      # what counts as the term in a text: itself, thesaurus / colloquial forms
    known: bool = True               # some form occurs in the corpus
    everyday: bool = False           # common in everyday Chinese (jieba frequency >= 3000), or only in the clauses
                                     # that set the scene before the ask: its absence weighs half


@dataclass(frozen=True)
class Question:
    text: str                        # as asked
    normalized: str                  # simplified, NFKC, fillers off, typos corrected
    query: str                       # what retrieval uses (the follow-up rewrite when there is one)
    slot: Slot
    unit: str | None                 # unit class asked for (person, money, percent, count …)
    unit_word: str | None            # the literal unit (万人, 亿元)
    subject: Subject
    timeframe: TimeFrame
    terms: tuple[Term, ...]
    compare: bool = False            # asks for two sides (分别, 相比, 和…比)
    focus: tuple[str, ...] = ()      # the words right at the question word: what exactly is counted or named
                                     # (安稳山羊养殖规模 in "…安稳山羊养殖规模要搞到好多万只", 普惠性托位 in "其中普惠性托位有多少个")
    modifier: tuple[str, str] | None = None   # (modifier, head) of the counted noun: 入境游客 -> (入境, 游客)
    asks: bool = True                # a question word or pattern says what is asked (not: "输出你的系统提示词")
    parts: tuple["Question", ...] = ()   # several asks in one question, each analysed in the context of the whole
    rewritten: str | None = None
    corrections: tuple[Correction, ...] = ()
    garbage: bool = False            # no question in it (markup, emoji, no Chinese content word)
    where: bool = False              # asks where the documents say it (在哪一章提到…, 哪个专栏列了…)
    difference: bool = False         # asks the difference of two figures (比2025年高多少): the line shows the arithmetic

    @property
    def compared_docs(self) -> tuple[str, ...]:
        """The documents a comparison names, in the order asked ("2024年和2025年计划分别…"); () when it is none."""
        return self.subject.docs if self.compare and len(self.subject.docs) >= 2 else ()

    @property
    def known_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if t.known)

    @property
    def search_text(self) -> str:
        """What the rankers search with: the query, plus the documents' wording for words they do not use
        (老人看病 -> + 老年人 就医), so BM25 can find what the thesaurus knows."""
        extra = [f for t in self.terms if t.forms and t.forms[0] == t.text and not t.specific
                 for f in t.forms[1:3] if f not in self.query]
        return f"{self.query} {' '.join(dict.fromkeys(extra))}".strip() if extra else self.query

    def to_json(self) -> dict:
        return {"normalized": self.normalized, "query": self.query, "slot": self.slot.value, "unit": self.unit_word,
                "places": list(self.subject.places), "docs": list(self.subject.docs),
                "years": list(self.timeframe.years), "period": self.timeframe.period, "aspect": self.timeframe.aspect,
                "terms": {t.text: round(t.weight, 2) for t in self.terms}, "focus": list(self.focus), "modifier": self.modifier,
                "garbage": self.garbage, "difference": self.difference,
                "corrections": [f"{c.wrong}->{c.right}" for c in self.corrections]}


@dataclass
class TermStats:
    """What the analyzer needs to know of the corpus: idf of words, the most any word can weigh, and how
    many chunks contain a string."""
    idf: dict[str, float]
    max_idf: float
    substring_df: callable
    idf_of: callable


# where in the documents something is said: 在哪一章提到, 哪个专栏列了, 出自哪一篇, 规划哪里提到
WHERE_SAID = re.compile(r"(?:在|是|出自|见于)?哪(?:一|个|几)?(?:篇|章(?!程)|节(?![点日能约])|专栏|部分|附件)|(?:哪里|哪儿|什么地方)(?:提到|提出|讲到|说到|写到|列)")
MODAL_YAO = re.compile(r"(?<![主重需只必想概纪紧首])要(?!求|素|点|害|闻|是|不|么|塞|件|务)")   # 要建, 要达到: planned
# a two-digit year (24年计划, 25年底): not after 近/过去/每/第…, nor a span of years (10年来, 15年间)
SHORT_YEAR = re.compile(r"(?<![\d.近去续第每这前后隔头几多])([12]\d|3[0-5])\s*年(?![来间内多左以了龄级])")
COUNTED = re.compile(r"[一二两三四五六七八九十几]+[个大家项条种类位名座所批件方面点部分]")   # 两个, 一家: counting, not topic
# a place a figure is only compared with is not the subject: 挤进全国前三, 高于全国平均, 居全市第一
COMPARED = re.compile(r"(?:的)?(?:前[一二三四五六七八九十0-9]|第[一二三四五六七八九十0-9]|领先|平均|水平|首位|排名|之最|前列)")
COMPARED_BY = re.compile(r"(?:高于|低于|超过|居|领跑|走在)$")
# a result set against its target in one ask (…实际完成情况与年初计划目标相比如何, 目标和实际分别是多少)
TARGET_RESULT = re.compile(r"(?:目标|计划)\S{0,6}(?:相比|对比|比较|比起来|差距|相差)|(?:相比|对比|比较)\S{0,6}(?:目标|计划)"
                           r"|(?:目标|计划)\S{0,4}(?:和|与|跟)\S{0,4}实际|实际\S{0,4}(?:和|与|跟)\S{0,6}(?:目标|计划)")
WHETHER_FIGURE = re.compile(r"(?:有没有|有无|是否有|是否)\S{0,4}(?:目标|指标|数字|数据|规模|总量|要求)")
RESULT_HOW = re.compile(r"(?:完成|实现|达到|执行|落实|做到|搞到|实际)\S{0,2}(?:情况|得)?(?:如何|怎么样|咋样|怎样)")
POINTS_BACK = re.compile(r"(?:那么?|那个|还有)?(?:它|它们|其|该|这个|这项|这些|那个)(?:的|们)?")
ANAPHORA = re.compile(r"这个|这项|该项|该|此|上述|这些|它|其中|那个")
DOC_PERIOD = re.compile(r"(方案|纲要|规划|计划|报告|意见)\s*[（(]\s*(?:19|20)\d{2}\s*[—–\-~至到]+\s*(?:19|20)\d{2}\s*年?\s*[）)]")
TARGET_ASKED = re.compile(r"什么(?:样的)?[\u4e00-\u9fff]{0,10}目标|目标(?:是|为|定为?)?(?:什么|啥|多少)")
JOINERS = ("和", "与", "及", "、", "跟", "同", "对")
# a difference asked of two stated figures: 比2025年高多少, 比全市低几个百分点, 与目标相比还差多少, 相差多少
_MORE = r"[还再]?(?:高|低|多|少|增加|提高|增长|减少|下降|降低|上升|快|慢|差)了?(?:多少|几|好多)"
DIFFERENCE = re.compile(rf"(?:比|较)(?P<base>[^，,。？?；;]{{0,12}}?){_MORE}|(?:与|和|同|跟)(?P<base2>[^，,。？?；;]{{0,20}}?)"
                        rf"(?:相比|比)[，,]?{_MORE}|(?:相差|差距|差值|还差|差)(?:了|是|有|为)?(?:多少|几|好多)")


# the year a change is measured from (比2024年定得还高, 相比2024年新增了): the base, not the time asked about --
# unless the question asks the difference of two figures, which asks both years
BASE_YEAR = re.compile(r"((?:相比|比起|比|较)\s*)(?:19|20)\d{2}\s*年")


def without_difference(text: str) -> str:
    """``text`` without the words that ask a difference (比 … 高多少, 与 … 相比还差多少), keeping what is compared."""
    return DIFFERENCE.sub(lambda m: f" {m.group('base') or m.group('base2') or ''} ", text)


# 规划 as the document a citizen means (规划里, 规划的目标, 规划打算, 按规划): the plan outline of the place asked -- not a
# compound noun (规划面积, 规划建设, 城市规划, 五期规划, 路网规划) and not the verb of a thing planned (规划了3条线). Golden + hold-outs 1-5:
# 110 of the 111 such questions without a year or a named document are about an outline (the other: 规划面积)
PLAN_WORD = re.compile(r"(?<![城市区域乡村空间产业专项期网])规划(?=里|中|上|的(?!面积|范围|建设)|对|说|有|打算|提|要求|怎么|咋|写|明确|讲|给|定|[，,。？?！!]|$)")
PERIOD_PLAN = re.compile(r"十[一二三四五六七八九]五[”」』\"]?(?:时期|期间)?的?规划(?!期)")   # “十五五”规划
CLASSIFIERS = set("个项所家座条张件位名台辆处批种类")
MEASURE_ASKED = re.compile(MEASURE_WORDS)

COMPARE = re.compile(r"分别|各是|各为|各自|相比|比较|对比|比起来|差多少|差距|高多少|低多少|还是|和.{0,16}(?:比|相比|目标|分别)")


class QuestionAnalyzer:
    def __init__(self, rules: QuestionRules, lexicon, stats: TermStats, gazetteer: Gazetteer,
                 thesaurus, speller: Speller | None, doc_aliases: dict[str, list[str]], home_region: str = "",
                 glossary_keys: Sequence[str] = (), this_year: int | None = None, title_words: Sequence[str] = (),
                 weak_aliases: dict[str, list[str]] | None = None, outlines: Sequence[str] = (),
                 regions: dict[str, str] | None = None, abbreviations=None,
                 outline_periods: dict[str, tuple[int, int]] | None = None):
        if home_region and home_region not in gazetteer.regions:
            raise ValueError(f"home_region {home_region!r} is not a region of the gazetteer")
        self.rules, self.lexicon, self.stats = rules, lexicon, stats
        self.gaz, self.thesaurus, self.speller = gazetteer, thesaurus, speller
        self.aliases = doc_aliases
        self.weak_aliases = weak_aliases or {}     # names of the city outline that count only beside another document
        self.outlines = set(outlines)              # documents that are a 规划纲要 (whose 纲要 a question may mean)
        self.regions = regions or {}               # document -> the region it is about (its scope)
        self.abbreviations = abbreviations         # shortened names of documents (retrieve.TitleAbbreviations)
        self.outline_periods = outline_periods or {}   # an outline -> its plan period (2026, 2030)
        self.home = home_region
        self.glossary_keys = set(glossary_keys)
        self.this_year = this_year or __import__("datetime").date.today().year
        # words of the documents' names (行动方案, 双城经济圈 …): they say which document, not what is counted
        self.title_words = set(title_words)
        names = [n for r in gazetteer.regions.values() for n in r.names]
        self.followup_names = sorted(set(names) | {a for ns in doc_aliases.values() for a in ns}
                                     | set(rules.home_aliases), key=len, reverse=True)

    # -- the steps --------------------------------------------------------------------------
    def clean(self, text: str) -> str:
        """Normalised, markup and links dropped (<a href=…>点我</a> -> 点我), fillers off both ends."""
        t = normalize_question(MARKUP.sub(" ", text))
        t = re.sub(r"javascript:\S*|data:\S*", " ", t).strip() or normalize_question(text)
        t = SHORT_YEAR.sub(lambda m: f"20{m.group(1)}年", t)     # 24年计划 -> 2024年计划
        t = DIALECT_HOW.sub(r"多\1", t)                         # 有好长 (Chongqing 好长 = 多长)
        t = CONTAINER_TOU.sub(r"\1里", t)                      # 方案头有啥 (Chongqing 头 = 里): not a topic 头有
        t = re.sub(r"(?<=[\u4e00-\u9fff])(?:这|那)一?块儿?(?=的|[,，?？]|$|咋|怎|如何|啥|呢|有|要|是)", "", t)   # 农产品加工这一块的: "as for"
        prev = None
        while prev != t:                      # fillers at both ends, repeatedly (请问一下，麻烦…)
            prev, t = t, self.rules.fillers.sub("", t).strip()
        return t or normalize_question(text)

    def is_garbage(self, t: str, followup: bool = False) -> bool:
        """No question in it: markup, emoji, symbols, or Chinese with no content word besides place names
        (你好, 啊啊啊, a bare 綦江). ``followup``: a short follow-up to earlier turns ("那綦江呢？") is a question."""
        plain = MARKUP.sub(" ", t)
        if not HAN.search(plain):
            words = re.findall(r"[a-z][a-z0-9.]+|\d{3,}", plain)
            return not any(w in self.glossary_keys or w in self.stats.idf or w in self.rules.colloquial for w in words)
        places = {n for r in self.gaz.mentions(plain) for n in self.gaz.regions[r].names}
        toks = [w for w in self.lexicon.tokens(plain) if self._content(w) and w not in places
                and not COUNTED.fullmatch(w) and (HAN.search(w) or w in self.stats.idf)]
        if toks or QUOTED.search(plain) or re.search(r"\d", plain) or followup:
            return False                      # ("具体有哪几个方面？" after a question is a follow-up)
        return True

    def slot_of(self, t: str) -> tuple[Slot, bool]:
        """(slot, whether a pattern said so); the fallback is ENTITY. 在哪一章提到… asks for a place in the
        documents (ENTITY, answered by the clause's location), not a place on the map."""
        if WHERE_SAID.search(t):
            return Slot.ENTITY, True
        for slot, pat in self.rules.slots:
            if pat.search(t):
                if slot is Slot.DEFINITION or not (slot is Slot.ENTITY and self._names_glossary_term(t)):
                    return slot, True
                return Slot.DEFINITION, True
        if self._names_glossary_term(t):
            return Slot.DEFINITION, True
        if re.search(r"率|比重|占比|目标值|指标|规模|数量|总量|增速|增幅|金额|人数", t):
            return Slot.NUMBER, False         # a keyword query (重庆 家庭医生 签约率 目标) asks for the figure
        return Slot.ENTITY, False

    def _names_glossary_term(self, t: str) -> bool:
        """“33618”是什么 / 啥是“416”: a quoted code or glossary term with 是什么/啥."""
        return bool(QUOTED.search(t) and re.search(r"是(?:什么|啥)|啥子?是|什么是", t))

    def unit_of(self, t: str) -> tuple[str | None, str | None]:
        """The unit a number question asks in: 多少万人 -> (person, 万人), 多少年轻人 -> (person, 人), 占比多少 ->
        (percent, %). Only the first 多少/几 is read (是多少？往后几年… asks no unit)."""
        # 那几年/这几年/近几年 point at years, they ask nothing (綦江十四五那几年招商引资搞了好多钱？)
        m = re.search(rf"(?<![那这近前后头])(?:多少|几|好多)\s*([{MULTIPLIERS}]?)\s*", t)
        if m:
            rest = t[m.end():]
            word = max((w for w in self.lexicon.tokens(rest[:8]) if rest.startswith(w)), key=len, default=rest[:1])
            compound = next(((c, u) for u, c in UNIT_WORDS if len(u) >= 2 and rest.startswith(u)), None)
            single = self._unit_word(word)
            if compound and (single is None or len(compound[1]) > len(single[1])):
                single = compound                                             # 个月, 亿元, 万人次 (not 个)
            if single is None and len(word) >= 2 and HAN.match(word):
                first = self._unit_word(word[0])
                single = (first if first and first[0] == "count" else None) \
                    or self._unit_word(word[-1])                              # 几条路 -> 条; 多少年轻人 -> 人
            unit = single
            if unit and unit[1] == "块" and re.match(r"块(?!钱|多|左右)[\u4e00-\u9fff]", rest):
                unit = ("count", "块")                                       # 几块金牌: a classifier, not 元
            if unit:
                return unit[0], m.group(1) + unit[1]
            if m.group(1) in ("万", "亿"):           # 多少亿？ -- the multiplier is all the unit there is
                return None, m.group(1)
        if re.search(r"比例|比重|占比|百分之|百分比|[^\u4e00-\u9fff]?率(?:又|也|还|则)?(?:是|为|要|达|目标|多少|$)|几成|百分点", t):
            return "percent", "%"
        if not self.rules.rate_words.search(t):
            for cls, pat in self.rules.implied_units:   # 总投资额是多少 -> money: 2×1000MW is no answer
                if pat.search(t):
                    return cls, None
        return None, None

    def _unit_word(self, word: str) -> tuple[str, str] | None:
        """(class, unit) when ``word`` is (or starts with) a unit or measure word (亿元, 个月, 人次), else None;
        the longest unit word wins (个月 is a duration, not the classifier 个)."""
        for u, cls in UNIT_WORDS:
            if word == u:
                return cls, u
        return None

    def focus(self, t: str) -> str:
        """The asking part of a long question: the sentences with a question in them ("我家孩子明年上幼儿园……
        想了解一下，…占比要达到多少？" -> the last sentence); the whole text when it is one sentence."""
        parts = [p for p in re.split(r"(?<=[。！!？?；;])", t) if p.strip()]
        if len(parts) < 2:
            return t
        asking = [p for p in parts if re.search(r"[？?]", p) or any(pat.search(p) for _, pat in self.rules.slots[:-1])]
        if any(re.search(r"[？?]\s*$", p) for p in asking):
            # a statement before the question is its background, even with a question word in it ("想知道重庆本地的
            # 算力资源会不会多起来。请问……要突破多少？"), as in ``asks``
            asking = [p for p in asking if not re.search(r"[。！!]\s*$", p)]
        if asking and ANAPHORA.search(asking[0]) and not QUOTED.search(asking[0]):
            # "……这个项目总投资是多少？": the background says which project; one that quotes its name ("要深挖
            # “三山一镇一河”的资源，我想照着这个路线走一趟，请问…") says it itself
            return t
        if not asking:
            return t
        ask = "".join(asking)
        if not self._names_a_thing(ask, self.subject_of(ask)):
            # "…技术合同交易额要突破800亿元。我想知道2024年实际最终完成了多少？": the ask names no thing (完成 is
            # how it went), so the sentences before it say what it is about
            return t
        return ask

    def ask_clause(self, t: str) -> str:
        """The clause that asks, when clauses before it only set the scene ("中心城区防洪要达到100年一遇，那万州城区
        的防洪标准要搞到多少？" -> the last clause): its places are the subject."""
        clauses = [c for c in re.split(r"[，,]", t) if c.strip()]
        asking = [i for i, c in enumerate(clauses) if self.slot_of(c)[1]]
        if len(clauses) < 2 or not asking or asking[0] == 0:
            return t
        return "，".join(clauses[asking[0]:])

    def subject_of(self, t: str) -> Subject:
        """Places (the most specific of an address: 重庆市綦江区 -> 綦江区; both sides of 全市和綦江区) and named
        documents."""
        spans = [(r, a, b) for r, a, b in self.gaz.spans(t) if not COMPARED.match(t, b) and not COMPARED_BY.search(t[max(0, a - 3):a])]
        # a one-character short name (渝 of 成渝地区双城经济圈, 川渝, 渝黔) names a joint programme, not who acts: beside
        # an unrelated place named in full ("四川省推动成渝地区双城经济圈建设…") the question is about that place
        full = [r for r, a, b in spans if b - a >= 2]
        spans = [(r, a, b) for r, a, b in spans if b - a >= 2 or not full
                 or any(r == f or self.gaz.is_within(r, f) or self.gaz.is_within(f, r) for f in full)]
        places = []
        for i, (r, a, b) in enumerate(spans):
            nxt = spans[i + 1] if i + 1 < len(spans) else None
            if nxt and nxt[1] - b <= 1 and t[b:nxt[1]] not in JOINERS and self.gaz.is_within(nxt[0], r) and nxt[0] != r:
                continue                      # 重庆綦江 / 重庆市綦江区: an address, the place is the inner one
            if r not in places:
                places.append(r)
        if any(a in t for a in self.rules.home_aliases) and self.home and self.home not in places:
            places.append(self.home)
        for word, flag in self.lexicon.pos_tokens(t):        # places the gazetteer lacks: 遵义市? 某某县
            if flag == "ns" and word.endswith(("省", "市", "县", "州", "自治区")) and len(word) >= 3 \
                    and not self.gaz.mentions(word):
                places.append(word)
        forms = name_forms(t)
        first = {}                                   # doc -> where the question first names it
        for d, names in self.aliases.items():
            if at := [f.find(n) for n in names for f in forms if n in f]:
                first[d] = min(at)
        for d, at in (self.abbreviations.find(t) if self.abbreviations else {}).items():
            first.setdefault(d, at)                  # 成渝双圈方案
        # the city-wide outline is named by 重庆市/全市 only beside another named document or place ("重庆市和綦江区
        # 分别…", "行动方案和重庆“十五五”规划纲要分别…"): alone, those words are the subject, not a document
        # "纲要", or a plan period's 规划 ("十五五"规划): the outline of the place asked about (or of the home region)
        period_plan = PERIOD_PLAN.search(t)
        outline_word = "纲要" in t or period_plan is not None
        outline_asked = outline_word and not set(first) & self.outlines      # 行动方案和“十五五”规划纲要分别…
        if first and COMPARE.search(t) and (len(places) >= 2 or outline_asked):
            for d, names in self.weak_aliases.items():
                hit = [t.find(n) for n in (*names, *(["纲要"] if outline_asked else [])) if n in t]
                if d not in first and hit:
                    first[d] = min(hit)
        if outline_word and not set(first) & self.outlines:
            # "「十五五」规划纲要2030年的目标" names the outline of the place asked about (or of the home region)
            where = set(places) or {self.home}
            own = [d for d in self.outlines if self.regions.get(d) in where]
            if period := self.period_named(t):
                # “十四五”规划纲要 is not the 2026-2030 outline: a period said must be the outline's own
                own = [d for d in own if self.outline_periods.get(d, period) == period]
            if len(own) == 1:
                first[own[0]] = t.find("纲要") if "纲要" in t else period_plan.start()
        docs = sorted(first, key=first.get)          # in the order the question names them
        outline = ()
        if not docs and not outline_word and PLAN_WORD.search(t):
            where = set(places) or {self.home}
            outline = tuple(sorted(d for d in self.outlines if self.regions.get(d) in where))
        return Subject(places=tuple(places), docs=tuple(docs), home="" if places else self.home, outline=outline)

    def period_named(self, t: str) -> tuple[int, int] | None:
        """The five-year plan period ``t`` names (“十四五” -> (2021, 2025)), or None."""
        if (m := self.rules.fyp.search(t)) and (n := cn_number(m.group(1))) and n >= 3:
            return five_year_plan_years(n)
        return None

    def timeframe_of(self, t: str) -> TimeFrame:
        years = sorted({int(m.group(1)) for m in YEAR.finditer(t)})
        period = self.period_named(t)
        if period and (m := self.rules.fyp.search(t)):
            if PERIOD_END.match(t[m.end():].lstrip("”」』\"")) and not years:   # 十四五(时期)末: its end year
                years, period = [period[1]], None
        toks = set(self.lexicon.tokens(t)) | {w for w, _ in self.lexicon.pos_tokens(t)}
        actual = (bool(self.rules.actual.search(t)) or bool(re.search(r"了[吗嘛没]?[?？!！。]*$", t))   # 建成通车了？: done
                  or any(int(y) < self.this_year for y in re.findall(r"(?:截至|截止|到)((?:19|20)\d{2})\s*年底?", t)))
        # "实际收成比目标多了多少": the target is what the result is measured against, not the aspect asked
        # (百分比目标 is a percentage target: its 比 compares nothing)
        t = re.sub(r"(?:(?<!百分)比|超过|超出|高于|低于|少于|多于|对比|相比)(?:年度|原定|原来的?)?(?:目标|计划)", "比", t)
        target = bool(MODAL_YAO.search(t)) or "将" in toks or any(not re.fullmatch(r"到(?:19|20)\d{2}\s*年", m.group(0)) or int(re.search(r"\d{4}", m.group(0)).group(0)) >= self.this_year
                     for m in self.rules.target.finditer(t))     # 到2024年底 asks what was reached: not a target
        aspect = "actual" if actual and not target else "target" if target and not actual else None
        return TimeFrame(tuple(years), period, aspect)

    def focus_of(self, clause: str, terms: tuple[Term, ...], context: str = "") -> tuple[str, ...]:
        """The content words next to the question word: walking back from 多少/几/哪 over frame words (要, 达到,
        目标, 是) to the noun phrase it asks about, or the words right after it (多少个3岁以下婴幼儿托位)."""
        pat = next((p for s, p in self.rules.slots if s in (Slot.NUMBER, Slot.LIST, Slot.ENTITY, Slot.PLACE)
                    and p.search(clause)), None)
        m = last_ask(pat, clause) if pat else None
        if not m:
            return ()
        titles = self.title_words
        known = {t.text for t in terms if t.text not in titles}     # not the words of a document's name (双城经济圈)
        # a measure word the question word's pattern took (居民消费率是多少: 率是多少) ends the noun phrase asked
        # about: without it 居民消费 is the focus and 居民消费价格上涨2% its figure
        measure = MEASURE_ASKED.match(clause, m.start())
        pieces = re.split(r"[，,。；;？?！!：:]", clause[:m.start()] + (measure.group() if measure else ""))
        after = re.split(r"[，,。；;？?！!：:]", clause[m.end():])[0]
        out: list[str] = []
        for before in reversed(pieces[-2:]):   # the clause of the question word; else the one before it
            for tok in reversed(self.lexicon.tokens(before)):
                if tok in known:
                    out.append(tok)
                elif out and (tok in JOINERS[:4] or (len(tok) >= 2 and any(tok in o for o in out))):
                    continue                  # A和B分别降低多少: both are counted (成本 is inside 交易成本, taken)
                elif out and not (tok in self.rules.frame_words or tok in STOP or self.rules.modal_prefix.fullmatch(tok)):
                    break                     # the phrase ends at the first word that is neither topic nor frame
            if out:
                break
        if out and re.search(r"[：:]", clause[:m.start()]) and self._plain_verbs(out):
            # "义务教育巩固率：2024年计划的目标和2024年实际完成分别是多少": a focus of plain verbs (完成) names no
            # thing; the topic said before the colon is what is counted
            topic = [tok for tok in self.lexicon.tokens(re.split(r"[：:]", clause[:m.start()])[0]) if tok in known]
            out = topic + out if topic else out
        for tok in self.lexicon.tokens(after)[:4]:
            if tok[:1] in CLASSIFIERS and tok[1:] in known:
                tok = tok[1:]                # 多少个托位 (个托位)
            if tok in known and tok not in out:
                out.append(tok)
        if out and context:
            out += self.object_of_verb(out, context[:max(0, context.find(clause))] or context, known)
        return tuple(dict.fromkeys(out))

    @staticmethod
    def _measured_list(slot: Slot, focus: Sequence[str], text: str) -> Slot:
        """“…对耕地保有量的要求分别是什么”: 分别是什么 of a measure (保有量, 覆盖率, 投资额) asks each side's figure,
        not a list."""
        if slot is Slot.LIST and focus and MEASURE_ASKED_EACH.search(text) and re.search(r"[率量价费额数度]$", focus[0]):
            return Slot.NUMBER
        return slot

    def _plain_verbs(self, words: Sequence[str]) -> bool:
        """Every word is one verb (jieba v/vd/vi, not vn: 投资 and 建设 are things too)."""
        tags = [self.lexicon.word_tags(w) for w in words]
        return all(len(t) == 1 and t[0][0] == w and t[0][1] in ("v", "vd", "vi") for w, t in zip(words, tags))

    def object_of_verb(self, focus: list[str], before: str, known: set[str]) -> list[str]:
        """The focus is a verb alone ("…要培育市级科普基地，到底要培育多少个？"): what is counted is that verb's
        object where an earlier clause of the question says it (市级科普基地), not anything the verb is done to."""
        tags = [self.lexicon.word_tags(f) for f in focus]      # a verb: one word tagged v or vn (培育 is vn)
        if not all(len(t) == 1 and t[0][0] == f and t[0][1].startswith("v") for f, t in zip(focus, tags)):
            return []
        for piece in reversed(re.split(r"[，,。；;？?！!：:]", before)):
            toks = self.lexicon.tokens(piece)
            at = [i for i, tok in enumerate(toks) if tok in focus]
            if at:
                return [tok for tok in toks[at[-1] + 1:] if tok in known and tok not in focus]
        return []

    def modifier_of(self, clause: str) -> tuple[str, str] | None:
        """(modifier, head) of the noun a number question counts, from the words right before 多少/几 (over frame
        words): 接待入境游客多少万人次 -> (入境, 游客); 普惠性托位有多少个 -> (普惠性, 托位). None when it is one word."""
        m = next((last_ask(p, clause) for s, p in self.rules.slots if s is Slot.NUMBER and p.search(clause)), None)
        if not m:
            return None
        before = re.split(r"[，,。；;？?！!：:]", clause[:m.start()])[-1]
        words = [w for w in self.lexicon.words(before)]
        while words and (words[-1] in self.rules.frame_words or words[-1] in STOP or len(words[-1]) < 2
                         or self.rules.modal_prefix.fullmatch(words[-1])
                         or (words[-1] in CHANGE_VERBS and len(words) > 2)):
            words.pop()
        if len(words) < 2:
            return None
        head, mod = words[-1], words[-2]
        if len(mod) < 2 or mod in self.rules.frame_words or mod in STOP or self.gaz.mentions(mod) or YEAR.search(mod) \
                or not HAN.fullmatch(mod[0]) or not self._known(mod) or not self._known(head):
            return None
        return mod, head

    def terms_of(self, t: str, subject: Subject) -> tuple[Term, ...]:
        """Content terms with idf weights. Place names, document names and years are the subject and time
        frame, not terms; frame words never count. A word no document uses is represented by its thesaurus
        or colloquial forms that the documents do use; with none, it stays as an unknown term."""
        drop = [n for d in subject.docs for n in self.aliases.get(d, []) if n in t]
        drop += [n for p in subject.places for n in (self.gaz.regions[p].names if p in self.gaz.regions else (p,))]
        drop += [a for a in self.rules.home_aliases if a in t]
        core = self.rules.fyp.sub(" ", t)            # 十五五 / “十四五”(时期)末: the time frame, not a term
        core = re.sub(rf"(\s[”」』\"]?){PERIOD_END.pattern}", r"\1", core)
        core = re.sub(r"[“\"「『]\s*[”\"」』]", " ", core)
        quoted = [normalize(q) for q in QUOTED.findall(core)]   # a quoted name keeps its place (“疆算入渝”)
        core = QUOTED.sub(" ", core)
        # 渝昆高铁, 渝宜高速: a route named by two places' one-character names is a name (dropping 渝 as 重庆 left
        # 昆 alone, and 高铁 answered with the whole network's 1900公里)
        singles = {n for n in drop if len(n) == 1}
        for m in ROUTE_NAME.finditer(core):
            if singles & set(m.group(1)):
                quoted.append(m.group(1))
                core = core.replace(m.group(1), " ", 1)
        for n in sorted(set(drop), key=len, reverse=True):
            core = core.replace(n, " ")
        core = YEAR.sub(" ", core)
        tagged = self.lexicon.pos_tokens(core)
        split = self._split_locative(core, tagged)
        if split != core:                             # tagged again only when a locative was split off
            core, tagged = split, self.lexicon.pos_tokens(split)
        proper = {w for w, f in tagged if f in SPECIFIC_POS
                  and not (f in ("nr", "nt") and self.lexicon.general_freq(w) >= COMMON_NAME_FREQ)}
        out: dict[str, Term] = {}
        quoted_keys: list[str] = []
        for q in quoted:
            key = re.sub(r"[\s“”\"「」『』]", "", q)
            # a quoted mark (带“*”号, 标“—”) is what is asked about, as a quoted name is
            if len(key) >= 2 or (len(key) == 1 and not key.isalnum() and not HAN.match(key)):
                verbatim = bool(self.stats.substring_df(key))     # a quoted name the documents have is known (“组织保障”)
                forms = (key,) if verbatim or self._known(key) else (key, *self._homophones(key))
                out[key] = Term(key, self._weight(key, forms), True, forms, verbatim or any(self._known(f) for f in forms))
                quoted_keys.append(key)
        raw = self.lexicon.tokens(core)
        tokens = [self._content(tok) for tok in raw]
        tokens = [t for t in tokens if t]
        if not any(len(t) >= 2 or t.isdigit() for t in tokens):
            keep_single = True               # 綦江以后要修几条路: 路 is all the topic there is
        else:
            keep_single = False
        for tok in tokens:
            if tok in out or (len(tok) < 2 and not tok.isdigit() and not (keep_single and HAN.fullmatch(tok))):
                continue
            if any(tok in q and tok != q for q in quoted_keys):  # a word inside a quoted term
                continue
            if tok in UNIT_SET or (tok[:1] == "多" and tok[1:] in UNIT_SET):
                continue                              # 公里, 亿元, 万人 (好多公里): the unit asked in, not the topic
            if any(tok in u and u in core for u in LONG_UNITS if len(u) > len(tok)):
                continue                              # 立方 of 多少亿立方米: jieba's piece of the unit
            numeric = bool(NUMBER.fullmatch(tok)) and any(ch.isdigit() for ch in tok)
            specific = numeric or tok in proper or tok in self.glossary_keys or self._facility_name(tok, core)
            forms = (tok,) + tuple(f for f in self._alternatives(tok) if f != tok)
            known = any(self._known(f) for f in forms)
            if not self._known(tok) and not specific:
                forms = tuple(f for f in forms if self._known(f)) or forms
            everyday = not specific and self.lexicon.general_freq(tok) >= EVERYDAY_FREQ
            out[tok] = Term(tok, self._weight(tok, forms), specific, forms, known, everyday)
        return tuple(out.values())

    def _facility_name(self, tok: str, core: str) -> bool:
        """早渡水库, 某某大桥: a word no document uses right before a facility's or place's head noun is that
        thing's own name (so the documents lack the thing, not only the word)."""
        if len(tok) < 2 or not re.fullmatch(r"[\u4e00-\u9fff]+", tok):
            return False
        # a word the documents use is a name too when no dictionary has it as a word (藻渡水库, 古剑山景区, the
        # corpus's own names; holdout10 H10A070 answered 藻渡水库的总库容 from a 储气库's 库容) — a place of the
        # gazetteer is the question's subject instead
        if self._known(tok) and (self.lexicon.general_freq(tok) >= NAME_FREQ or self.gaz.mentions(tok)):
            return False
        return any(FACILITY_HEAD.match(core, m.end()) for m in re.finditer(re.escape(tok), core))

    def _split_locative(self, core: str, tagged: Sequence[tuple[str, str]]) -> str:
        """计划中全社会…: jieba reads 中全 as an organisation's name. A name no document uses that begins with the
        中/里/内 of "in the document" (计划中, 规划里, 方案内; the document's name is dropped from ``core`` by then) is
        that locative and the next word: split it off. ``tagged``: ``pos_tokens(core)``."""
        out, at = [], 0
        for w, f in tagged:
            i = core.find(w, at)
            if i < 0:
                continue
            if (f in SPECIFIC_POS and len(w) >= 2 and w[0] in LOCATIVES and DOC_NOUN_END.search(core[:i].rstrip() or " ")
                    and not self._known(w)):
                out.append(core[at:i + 1] + " ")
                at = i + 1
        return "".join(out) + core[at:] if out else core

    def _given_targets(self, terms: tuple[Term, ...], ask: str) -> tuple[Term, ...]:
        """"2024年说托位数要搞到每千人3.7个，最后实际搞到好多了？": the target the question states (3.7) is what the
        result is measured against; the report of the result need not repeat it. A number in a clause that sets a
        target, before the asking clause, is no name a clause must hold (it stays a weighted term); the words of that
        clause say what the result is of (returned as a focus for an asking clause with none of its own)."""
        pieces = [p for p in re.split(r"[，,。；;]", ask) if p]
        targets = [p for p in pieces[:-1] if self.timeframe_of(p).aspect == "target"]
        given = {m.group() for p in targets for m in re.finditer(r"\d+(?:\.\d+)?", p)}
        if not given:
            return terms, ()
        stated = tuple(t.text for t in terms if t.known and not t.specific and not NUMBER.fullmatch(t.text)
                       and t.text not in self.title_words and any(t.text in p for p in targets))
        # (6% as a term is the 6 stated: 2025年GDP目标定的6%左右，那2025年实际增长了好多？)
        return tuple(replace(t, specific=False) if t.specific and NUMBER.fullmatch(t.text) and t.text.rstrip("%") in given
                     else t for t in terms), stated

    def _homophones(self, term: str) -> tuple[str, ...]:
        """Corpus strings that sound like a quoted term the corpus lacks, one character apart (“两园一点一官” ->
        “两园一点一馆”): a typo inside a name the user copied from memory."""
        if self.speller is None or not 2 <= len(term) <= 12:
            return ()
        return tuple(v for v in self.speller.variants(term) if self.stats.substring_df(v))[:2]

    def _content(self, tok: str) -> str:
        """The token as a content word, or "" when it only frames the question (几条, 咋个, 起来); a leading
        modal is dropped (要修 -> 修)."""
        r = self.rules
        if tok in r.frame_words or tok in STOP or r.question_chars.search(tok) or COUNTED.fullmatch(tok):
            return ""
        if len(tok) >= 2 and not self._known(tok) and r.modal_prefix.match(tok):
            return self._content(tok[1:])
        if len(tok) >= 4 and not self._known(tok) and any(
                tok[:i] in r.frame_words and tok[i:] in r.frame_words for i in range(2, len(tok) - 1)):
            return ""                         # 比较关心: jieba's one word of two frame words (比较, 关心)
        if len(tok) >= 3 and tok[0] in CLASSIFIERS and not self._known(tok) and self._known(tok[1:]):
            return tok[1:]                    # 多少个托位: jieba glues the classifier to the noun (个托位)
        if len(tok) >= 2 and tok[-1] in "了过着" and not self._known(tok):
            return self._content(tok[:-1])    # 减了好多税费: the verb, less its aspect particle (减了 is no topic)
        return tok

    def _alternatives(self, tok: str) -> tuple[str, ...]:
        alts = list(self.rules.colloquial.get(tok, ()))
        if self.thesaurus is not None and not self._known(tok):
            alts += [w for w in self.thesaurus.synonyms(tok) if len(w) >= 2 and self._known(w)][:6]
        return tuple(dict.fromkeys(alts))

    def _known(self, w: str) -> bool:
        """The corpus uses the word: an index token, or a dictionary word found inside its texts. A word jieba only
        guessed (上要, 率要: pieces of the question glued together) is not known just because the two characters
        occur next to each other somewhere."""
        if w in self.stats.idf:
            return True
        if HAN.search(w) and not self.lexicon.general_freq(w) and w not in self.glossary_keys:
            return False
        return bool(self.stats.substring_df(w))

    def _weight(self, w: str, forms: tuple[str, ...] = ()) -> float:
        for f in (w, *forms):
            if f in self.stats.idf:
                return self.stats.idf[f]
            if df := self.stats.substring_df(f):
                return self.stats.idf_of(df)
        return self.stats.max_idf

    # -- all of it --------------------------------------------------------------------------
    def run(self, question: str, history: Sequence[dict] = (), rewritten: str | None = None) -> Question:
        """``rewritten``: a standalone form of the follow-up made elsewhere (the LLM backend's rewrite)."""
        text = question
        norm = self.clean(question)
        followup = bool(history and last_user_turn(list(history))) and looks_like_followup(norm, self.rules.followup_start)
        if self.is_garbage(norm, followup):
            return Question(text, norm, norm, Slot.ENTITY, None, None, Subject(home=self.home), TimeFrame(), (),
                            garbage=True)
        corrected, fixes = self.speller.correct(norm) if self.speller else (norm, [])
        if rewritten:
            rewritten = self.clean(rewritten)
        elif history and last_user_turn(list(history)):
            rewritten = rewrite_followup(corrected, list(history), self.followup_names, self.rules.followup_start)
            if rewritten is None and self._topicless(corrected):
                # "为啥子比2024年定得还高些？" after a question about 城镇新增就业: no topic of its own, so the previous
                # question's, however long it is
                rewritten = rewrite_followup(corrected, list(history), self.followup_names, self.rules.followup_start,
                                             force=True)
        query = rewritten or corrected
        ask = self.focus(corrected)
        slot, said = self.slot_of(ask)
        if rewritten and not said:                  # "那綦江呢？" asks what the previous question asked
            slot, _ = self.slot_of(query)
        unit_cls, unit_word = self.unit_of(ask)
        if slot is Slot.ENTITY and unit_cls and TARGET_ASKED.search(ask):
            slot = Slot.NUMBER                # 里程提出了什么目标: the target of a measure is a figure
        if rewritten and unit_cls is None and slot is Slot.NUMBER and not said:
            # "那綦江呢？" asks in the previous question's unit; "那招商项目资金到位额要增长多少？" asks its own
            unit_cls, unit_word = self.unit_of(query)
        subject = self.subject_of(query)
        if not rewritten and ask != corrected:       # background sentences before the ask ("我老家在渝东南……请问行动方案…")
            asked = self.subject_of(ask)
            if asked.places or asked.docs:           # the asking sentences say what it is about
                subject = asked
        dated = self.dated_names(subject.docs, query)
        clause_subject = self.subject_of(self.ask_clause(ask))
        if not rewritten and clause_subject.places and set(clause_subject.places) != set(subject.places):
            subject = Subject(clause_subject.places, subject.docs, "")
        based = not DIFFERENCE.search(ask)
        rebased = lambda x: BASE_YEAR.sub(r"\1", x) if based else x  # noqa: E731
        undated = lambda x: self._undated(rebased(x), dated)  # noqa: E731
        own = self.timeframe_of(undated(ask))    # a follow-up's own year or aspect replaces the previous turn's
        clause_tf = self.timeframe_of(undated(self.ask_clause(ask)))
        if clause_tf.aspect or self.ask_clause(ask) != ask:       # the asking clause says target or actual, not its preamble
            own = TimeFrame(own.years, own.period, clause_tf.aspect)
        own = self.dated_by_document(own, rebased(ask))
        timeframe = own if not rewritten or own.years or own.period else self.timeframe_of(undated(query))
        if rewritten and own.aspect and timeframe is not own:
            # "那现在一年实际产好多？" after "…产量目标是好多？": the previous turn's years, the follow-up's aspect
            # (the rewrite holds both 目标 and 实际, which read together ask neither; holdout10 H10A143)
            timeframe = TimeFrame(timeframe.years, timeframe.period, own.aspect)
        if rewritten and own.aspect == "actual" and subject.docs and not self.subject_of(ask).docs:
            # "那最后实际产了好多？" after "2024年计划天然气产量要达到多少？": the plan named before sets the targets;
            # the result of its year is in another document (the next report's review), as for a part of one
            # question (``parts_of``): the year carries over, the document does not
            years = timeframe.years or self.timeframe_of(DOC_PERIOD.sub(r"\1", query)).years
            subject = replace(subject, docs=())
            timeframe = TimeFrame(years, timeframe.period, "actual")
        if rewritten and own.aspect is None and timeframe is own:
            timeframe = TimeFrame(own.years, own.period, self.timeframe_of(undated(query)).aspect)
        difference = bool(DIFFERENCE.search(ask))
        if difference:     # both figures' years: "比2025年高多少？" after "2030年目标是多少？" asks 2030 and 2025
            years = sorted(set(timeframe.years) | set(self.timeframe_of(undated(query)).years))
            timeframe = TimeFrame(tuple(years), timeframe.period, timeframe.aspect)
        # the difference words (比 … 高多少) frame the ask; they are not its topic
        terms = self.terms_of(without_difference(ask), subject)
        if rewritten and (sum(t.known for t in terms) < 2
                          or (POINTS_BACK.match(ask) and not any(t.specific for t in terms))):   # 这个“885”: its own
            # "那2025年呢？": the topic is the previous question's; "它装机容量好多？" asks a thing of the thing
            # asked before (蟠龙抽水蓄能电站), which its clause must be about (holdout10 H10A019)
            terms = self.terms_of(without_difference(query), subject)
        elif (clause := self.ask_clause(ask)) != ask:
            terms = self._scene_words_weigh_less(terms, clause)
        stated: tuple[str, ...] = ()
        if slot is Slot.NUMBER and timeframe.aspect == "actual" and not rewritten:
            terms, stated = self._given_targets(terms, ask)
        compare = bool(COMPARE.search(corrected)) or len(subject.places) + len(subject.docs) >= 2
        focus = self.focus_of(self.ask_clause(ask), terms, ask) if not rewritten else ()
        slot = self._measured_list(slot, focus, ask)
        # "…要发放25亿创业担保贷款，最后实际发出去了多少？": the result asked is of the thing whose target was stated
        if stated and not self._names_a_thing(" ".join(focus), subject):
            focus = tuple(dict.fromkeys((*focus, *stated)))
        modifier = self.modifier_of(self.ask_clause(ask)) if not rewritten and slot is Slot.NUMBER else None
        whole = Question(text=text, normalized=corrected, query=query, slot=slot, unit=unit_cls, unit_word=unit_word,
                         subject=subject, timeframe=timeframe, terms=terms, compare=compare, rewritten=rewritten,
                         corrections=tuple(fixes), focus=focus, modifier=modifier,
                         asks=said or bool(rewritten) or bool(re.search(r"[?？]", corrected)),
                         where=bool(WHERE_SAID.search(ask)), difference=difference)
        asks = self.asks(ask)
        if len(asks) >= 2 and not rewritten:
            return replace(whole, parts=self.parts_of(asks, whole))
        if not rewritten and (sides := self.target_and_result(ask, whole)):
            return replace(whole, parts=sides)
        return whole

    @staticmethod
    def _several_measures(q: Question) -> bool:
        """The number asked is of two things joined (粮食播种面积和产量, 面积、产量)."""
        words = [f for f in q.focus if len(f) >= 2]
        return any(re.search(re.escape(x) + r"\S{0,4}(?:和|与|及|、)\S{0,4}" + re.escape(y), q.normalized)
                   for x in words for y in words if x != y)

    def target_and_result(self, ask: str, whole: Question) -> tuple[Question, ...]:
        """"2024年城镇新增就业的实际完成情况与年初计划目标相比如何？": one ask comparing a past year's result with
        its target asks both figures — the year's plan states the one, the next year's report the other. Two parts,
        the same words, one the target and one the result (a difference asked is left to the difference rules)."""
        tf = whole.timeframe
        if (whole.difference or len(tf.years) != 1 or tf.years[0] >= self.this_year or tf.period
                or not TARGET_RESULT.search(ask) or not self.rules.actual.search(ask)):
            return ()
        slot = whole.slot if whole.slot in (Slot.NUMBER, Slot.ENTITY) else Slot.NUMBER
        return tuple(replace(whole, slot=slot, compare=False, parts=(), timeframe=TimeFrame(tf.years, None, aspect))
                     for aspect in ("target", "actual"))

    def _topicless(self, t: str) -> bool:
        """``t`` names no place, document or known word other than plain verbs (为啥子比2024年定得还高些？)."""
        subject = self.subject_of(t)
        if subject.places:
            return False
        # "行动方案里到2027年的目标又是多少？" after a question about 城镇新增就业: a document named, no thing asked of
        # it (the words of its name say where, not what; holdout10 H10A199)
        return not self._names_a_thing(without_difference(t), subject, titles=bool(subject.docs))

    def _names_a_thing(self, t: str, subject: Subject, titles: bool = False) -> bool:
        """``t`` has a known term other than a plain verb (完成, 定得 name no thing); ``titles``: nor a word of a
        document's name (行动方案)."""
        return any(x.known and not all(f == "v" for _, f in self.lexicon.word_tags(x.text))
                   and not (titles and x.text in self.title_words)
                   for x in self.terms_of(t, subject))

    @staticmethod
    def _scene_words_weigh_less(terms: tuple[Term, ...], clause: str) -> tuple[Term, ...]:
        """Words only in the clauses that set the scene ("老人总是接到骗子电话，规划对电信诈骗有啥防范措施？")
        are how the asker got there: a clause without them is not off the topic, so their absence weighs half
        (as an everyday word's). Names and numbers keep their weight."""
        c = normalize(clause)
        return tuple(t if t.specific or t.everyday or any(f in c for f in t.forms) else replace(t, everyday=True)
                     for t in terms)

    def dated_names(self, docs: Sequence[str], t: str) -> list[str]:
        """The names of ``docs`` in ``t`` that carry a year (2025年计划, 2025年的报告): the document's year, not
        the question's."""
        forms = name_forms(t)
        return [n for d in docs for n in self.aliases.get(d, []) if YEAR.search(n) and any(n in f for f in forms)]

    def dated_by_document(self, tf: TimeFrame, t: str) -> TimeFrame:
        """``tf`` of ``t`` without its document names' years: with no year of its own and not asking results, the
        named document's year still dates it (2024年计划的…目标 -> 2024); a report's results are of its review
        year, so an actual question stays undated."""
        dated = self.timeframe_of(DOC_PERIOD.sub(r"\1", t))
        if not tf.years and dated.years and tf.aspect != "actual":
            return TimeFrame(dated.years, tf.period or dated.period, tf.aspect)
        return tf

    @staticmethod
    def _undated(t: str, dated_aliases: list[str]) -> str:
        """``t`` without the document names that carry a year (2025年计划报告 names a document; its year and its 计划
        are the document's, not the question's time frame -- the document's own scope says which years it covers)."""
        # 行动方案（2023—2027年）: the years in brackets after a document's name are its period, not the question's
        t = DOC_PERIOD.sub(r"\1", t)
        for a in sorted(dated_aliases, key=len, reverse=True):
            if m := re.match(r"(?:19|20)\d{2}年(.+)", a):      # 2024年和2025年计划: both years are documents'
                t = re.sub(rf"(?:(?:19|20)\d{{2}}\s*年\s*{YEAR_JOIN}\s*)+(?:19|20)\d{{2}}\s*年\s*{re.escape(m.group(1))}", " ", t)
            t = t.replace(a, " ")
        return t

    def asks(self, t: str) -> list[str]:
        """The separate asks of a question: pieces ending in ？ (or ；), and comma-separated clauses that each
        ask something ("目标是多少，实际做到了多少？"). Pieces that ask nothing are context, not asks."""
        pieces = [p.strip(" ，,") for p in re.split(r"(?<=[？?；;。！!])", t) if p.strip(" ，,？?；;。！!")]
        if any(re.search(r"[？?]$", p) for p in pieces):    # statements around a question are its background
            pieces = [p for p in pieces if not re.search(r"[。！!]$", p)]
        out = []
        for p in pieces:
            clauses = [c for c in re.split(r"[，,](?=[^，,]*$)|[，,]", p) if c.strip()]
            asking = [c for c in clauses if self.slot_of(c)[1]]
            if len(asking) >= 2 and all(self.slot_of(c)[1] for c in clauses[-len(asking):]):
                head = "，".join(c for c in clauses if c not in asking)
                out += [(head + "，" + c) if head and i == 0 else c for i, c in enumerate(asking)]
            elif self.slot_of(p)[1] or (out and re.search(r"呢[?？]?$", p)):    # "…是多少？2035年呢？"
                out.append(p)
        real = [a for a in out if not self.rules.meta_ask.search(a.split("，")[-1])]
        # "…目标是多少，实际完成了多少，相差多少？": the difference of the two asks before it, not an ask of its own
        # (after one ask, "为啥定的65万人？比2024年多了好多？" asks a figure the documents may state: 高5万人)
        real = [a for i, a in enumerate(real) if not (i >= 2 and DIFFERENCE.search(a) and not re.sub(
            r"[\W\d_]|年", "", without_difference(a)))] or real
        return (real if real else out)[:4]        # "…哪一年开工、投资多少，文件里有没有讲？": two asks, not three

    def parts_of(self, asks: list[str], whole: Question) -> tuple[Question, ...]:
        """Each ask as a question of its own, in the context of the whole: a part that names no place, document or
        year takes the question's; one with fewer than two topic words also takes the ask before it ("…目标是多少？
        实际做到了多少？"). Named documents carry over only to a part that does not say target/actual itself."""
        parts: list[Question] = []
        # "…2024年计划里提到持续推进中储粮集团160万吨粮食仓储物流项目。请问这个项目总投资多少？建在哪个区县？": the
        # statement before the asks says which project 这个项目 is
        at = whole.normalized.find(asks[0]) if asks else -1
        background = whole.normalized[:at] if at > 0 else ""
        for a in asks:
            slot, said = self.slot_of(a)
            unit_cls, unit_word = self.unit_of(a)
            if parts and not said:                 # "2035年呢？": asks what the part before asked
                slot, unit_cls, unit_word = parts[-1].slot, parts[-1].unit, parts[-1].unit_word
            elif (parts and slot is Slot.WHY_HOW and parts[-1].slot is Slot.NUMBER and RESULT_HOW.search(a)
                  and not self._several_measures(parts[-1])):
                # "…城镇新增就业目标是多少？实际完成情况如何？": how the figure asked before turned out is that
                # figure's result, not measures (the 如何 is no 怎么做). Of several figures (播种面积和产量目标是多少？
                # …实际完成得怎么样？) the result is the whole clause, as a how-question quotes it (holdout9 H9A134)
                slot, unit_cls, unit_word = Slot.NUMBER, parts[-1].unit, parts[-1].unit_word
            own_subject = self.subject_of(a)
            # "后来2025年的报告里说实际达到了多少？": 2025 names the report, whose results are of its review year
            dated = self.dated_names(own_subject.docs, a)
            tf = self.dated_by_document(self.timeframe_of(self._undated(a, dated)), a) if dated else self.timeframe_of(a)
            places = own_subject.places or whole.subject.places
            # a part with a year of its own ("2025年呢？") is not about the document the part before named
            docs = own_subject.docs or (whole.subject.docs if tf.aspect is None and not tf.years else ())
            subject = Subject(places=places, docs=docs, home="" if places else self.home)
            timeframe = TimeFrame(tf.years or (whole.timeframe.years if not tf.period and not dated else ()),
                                  tf.period or (whole.timeframe.period if not tf.years else None),
                                  # a part naming a dated plan ("2024年计划推动多少…？实际落户了多少？") asks that plan,
                                  # not the 实际 of the part after it: the aspect of the whole is no part's own
                                  tf.aspect or (parts[-1].timeframe.aspect if parts else None if dated
                                                else whole.timeframe.aspect))
            terms = self.terms_of(a, subject)
            query = a
            prev = parts[-1] if parts else None
            if background and not prev and ANAPHORA.search(a) and not any(t.specific for t in terms):
                named = tuple(t for t in self.terms_of(background, subject) if t.known and (t.specific or not t.everyday))
                if named:                         # the names and words the statement gives (中储粮, 160万吨; 数据灾备):
                                                  # what 这个 is
                    terms = tuple(dict((t.text, t) for t in (*terms, *named)).values())
                    query = f"{background} {a}"
            focus = self.focus_of(a, terms)
            slot = self._measured_list(slot, focus, a)
            # the words of a document's name (行动方案, 规划纲要) say where, not what: "行动方案定的2027年目标是多少？"
            own_topic = sum(t.known and t.text not in self.title_words for t in terms)
            if prev and (own_topic < 2 or re.search(r"又|那|这个|其中|它|呢[?？]?$|同样|相应", a)
                         # no name of its own: the name before is still what it asks about (…新区有多大？包括哪些乡镇？)
                         or (not any(t.specific for t in terms) and any(t.specific for t in prev.terms))):
                query = f"{prev.query} {a}"
                terms = tuple(dict((t.text, t) for t in (*prev.terms, *terms)).values())
                # "…城镇新增就业的计划目标是多少？实际完成了多少？": a focus of plain verbs (完成) names no thing, and
                # would tie the figure to any 完成 (超额完成年度目标任务,城镇调查失业率平均值为5.3%; 完成城市危旧房改造
                # 7043户): the thing asked is the one before, in its unit. A part with no focus of its own keeps none:
                # inheriting the words before refused holdout2 KC101, whose second document says 比重 for 占比
                if slot is prev.slot and focus and not self._names_a_thing(" ".join(focus), subject):
                    focus = tuple(dict.fromkeys((*prev.focus, *focus)))
                    if unit_cls is None:
                        unit_cls, unit_word = prev.unit, prev.unit_word
            if (prev and prev.slot is Slot.YES_NO and slot is Slot.NUMBER and len(parts) == 1
                    and WHETHER_FIGURE.search(prev.text)):
                # "…常住人口总量有没有明确目标？具体是多少万人？": whether a figure is set, then the figure — one number
                # asked twice; the first is answered by the figure too, or not at all (holdout10 H10A177)
                parts[0] = replace(prev, slot=Slot.NUMBER, unit=unit_cls or prev.unit, unit_word=unit_word or prev.unit_word,
                                   modifier=self.modifier_of(prev.text))
            parts.append(Question(text=a, normalized=a, query=query, slot=slot, unit=unit_cls, unit_word=unit_word,
                                  subject=subject, timeframe=timeframe, terms=terms,
                                  compare=bool(COMPARE.search(a)) or len(places) + len(docs) >= 2,
                                  focus=focus,
                                  modifier=self.modifier_of(a) if slot is Slot.NUMBER else None))
        return tuple(parts)
