"""What a clause supplies: the slot check of evidence verification.

For the analysed ``Question``, where in a clause the asked value is: the number tied to what is counted (in the asked
unit, of the asked kind, the place's own), the date, the places, the enumeration of the asked things, the name of the
asked kind, the definition. ``SlotFinder.slot_spans`` returns those spans, or None when the clause does not supply
the slot; ``EvidenceVerifier`` (evidence.py) builds on it with the subject and time checks and the verdict. Split out
of evidence.py when it passed 1,200 lines; no behaviour changed in the move.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..corpus import normalize
from ..scope import Gazetteer, cn_number
from .question import Question
from .rules import MULTIPLIERS, SIZE_CLASSIFIERS, UNIT_WORDS, Slot, default_rules

if TYPE_CHECKING:
    from .evidence import Unit


YEAR_IN_TEXT = re.compile(r"(?<![0-9.])((?:19|20)\d{2})\s*年")
DATE_IN_TEXT = re.compile(r"(?<![0-9.])(?:19|20)\d{2}\s*年|\d{1,2}\s*月|年底|年末|年内|年初|上半年|下半年|[一二三四五六七八九十]{1,3}五(?:期间|末|时期)?|"
                          r"之前|以前|前完成|前建成|前实现|期间|届时")
RANGE_START = re.compile(r"\s*[—\-~～至到]\s*\d")
# how exact a time is asked for: 哪一天 needs a day (3月28日), 哪个月 a month; 什么时候 any date or deadline
DAY_ASKED = re.compile(r"哪一?天|几号|几月几[日号]|什么日子|具体日期|哪一日")
# 多久/好久/多长时间 asks how long as often as when: a span (缩短至40天, 不低于2小时) answers it as a date does
DURATION_ASKED = re.compile(r"多久|好久|多长时间|多少时间|多长的时间")
DURATION_IN_TEXT = re.compile(r"(?<![\d.])\d+(?:\.\d+)?\s*(?:个)?\s*(?:小时|分钟|天|日(?![本报])|周|个月|年(?!底|末|初|内|度))|"
                              r"[一二两三四五六七八九十半]+\s*(?:个)?\s*(?:小时|分钟|天|周|个月)")
MONTH_ASKED = re.compile(r"哪个月|哪一?月|几月份?")
DAY_IN_TEXT = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|(?<![\d.])\d{1,2}\s*日(?![本报])")
MONTH_IN_TEXT = re.compile(r"\d{1,2}\s*月|月底|月初|季度|上半年|下半年|年底|年末|年初|年内")
# each time pattern with the spans beside it, compiled once (多久 asked)
WITH_DURATIONS = {p: re.compile(f"{p.pattern}|{DURATION_IN_TEXT.pattern}") for p in (DATE_IN_TEXT, DAY_IN_TEXT, MONTH_IN_TEXT)}
NUM = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十百千万亿]+|(?<![a-z])[iv]{1,4}(?=\s*(?:类|级)))"   # Ⅱ类 -> "ii类" after NFKC, "II 类" as typed

PLACE_WORD = re.compile(r"[\u4e00-\u9fff]{2,6}(?:区|县|镇|乡|街道|村|片区|园区|新区|开发区)(?![\u4e00-\u9fff]{0,2}(?:建设|发展))")

MEASURE_END = re.compile(r".(?:率|指数|系数|强度|密度)$")   # a measured quantity's name ends so (城镇化率)
# an organisation asked for by its kind (哪家医院, 哪所高校, 高校是哪一所) -> the endings of such names
KIND_SUFFIX = {"医院": "医院|保健院|卫生院", "高校": "大学|学院|学校", "大学": "大学|学院", "学校": "学校|学院|大学|中学|小学",
               "学院": "学院|大学", "银行": "银行", "企业": "公司|集团|企业", "公司": "公司|集团", "集团": "集团|公司",
               "科室": "科", "机构": "中心|办公室|委员会|机构|局|所", "单位": "中心|办公室|委员会|单位|局",
               "部门": "部门|部|委员会|办公室|厅|局|委|办"}
_WHICH_KIND = r"(?:哪|什么)(?:一|几)?(?:家|所|个|些)?(" + "|".join(KIND_SUFFIX) + r")"      # 哪几所高校
KIND_WORD = re.compile(_WHICH_KIND)
KIND_ASKED = re.compile(_WHICH_KIND + r"(?=[？?，,。的]|$|来|建|投|牵|共|合|作为|把|要|去|在|负责|承)"
                        r"|(" + "|".join(KIND_SUFFIX) + r")(?:是|为)?哪(?:一|几)?(?:家|所|个)")


def row_columns(row: str) -> list[tuple[str, str]]:
    """A 专栏 row's columns after the indicator, each (label, value), normalised: "2025年：73.02" -> ("2025年", "73.02")."""
    return [(label, value) for label, _, value in (normalize(c).partition(":") for c in row.split("｜")[1:])]


def organisation_asked(question: str, pos_tokens=None) -> str | None:
    """The endings of the names a question asks for by their kind (哪家医院牵头 -> 医院|保健院|卫生院), or None.
    With ``pos_tokens`` (jieba.posseg), a kind word followed by any verb asks it too (哪几所高校进入…): the verbs
    KIND_ASKED lists are the ones seen; a noun after it (哪些高校毕业生) makes it a modifier, not the thing asked."""
    m = KIND_ASKED.search(question)
    if m:
        return KIND_SUFFIX[m.group(1) or m.group(2)]
    if pos_tokens is not None and (m := KIND_WORD.search(question)):
        rest = pos_tokens(question[m.end():])
        if rest and rest[0][1].startswith("v"):
            return KIND_SUFFIX[m.group(1)]
    return None


# segment ends: a value is stated between two of these (a 、 list stays whole)
SEG_END = re.compile(r"[，,；;。！!？?]")

PLACE_CATEGORY = re.compile(r"区县|(?:哪些|哪个|哪几个|哪一个|哪座|哪几座|哪[一二三四五六七八九十两]个)(?:区|县|城市|省份|省|市|乡镇|镇|街道)(?!域|级|委|场)|"
                            r"哪些地区|哪些片区")
# the provinces' one-character short names (the national standard's), as joined in 鲁渝东西部协作, 川渝, 渝黔: a
# place question (哪个省市) is answered by them. 云青宁新港台贵吉黑蒙 are everyday characters too: a run needs another.
PROVINCE_SHORT = {"京": "北京市", "津": "天津市", "沪": "上海市", "渝": "重庆市", "冀": "河北省", "晋": "山西省",
                  "辽": "辽宁省", "吉": "吉林省", "黑": "黑龙江省", "苏": "江苏省", "浙": "浙江省", "皖": "安徽省",
                  "闽": "福建省", "赣": "江西省", "鲁": "山东省", "豫": "河南省", "鄂": "湖北省", "湘": "湖南省",
                  "粤": "广东省", "琼": "海南省", "川": "四川省", "蜀": "四川省", "黔": "贵州省", "贵": "贵州省",
                  "滇": "云南省", "云": "云南省", "陕": "陕西省", "秦": "陕西省", "甘": "甘肃省", "陇": "甘肃省",
                  "青": "青海省", "台": "台湾省", "蒙": "内蒙古自治区", "桂": "广西壮族自治区", "藏": "西藏自治区",
                  "宁": "宁夏回族自治区", "新": "新疆维吾尔自治区", "港": "香港特别行政区", "澳": "澳门特别行政区"}
SHORT_RUN = re.compile("[" + "".join(PROVINCE_SHORT) + "]{2,4}")
EVERYDAY_SHORT = set("云青宁新港台贵吉黑蒙")


def short_named_provinces(t: str) -> list[tuple[str, int, int]]:
    """(province, start, end) of each run of provinces' short names in ``t`` (鲁渝 -> 山东省, 重庆市), the run's span."""
    out = []
    for m in SHORT_RUN.finditer(t):
        run = m.group(0)
        if len(set(run)) == len(run) and set(run) - EVERYDAY_SHORT:
            out += [(PROVINCE_SHORT[ch], m.start(), m.end()) for ch in run]
    return out


TOWN_ASKED = re.compile(r"(?:哪个|哪些|哪几个|哪一个)(?:镇|乡|街道|乡镇|镇街)")
# the parts of a city asked (哪些片区, 哪五个街道) and an enumeration naming them (朝天门、上清寺、菜园坝)
PART_ASKED = re.compile(r"哪(?:些|几个|[一二三四五六七八九十两\d]+个)(?:片区|街道|区域|板块|组团)")
PART_NAMES = re.compile(r"[\u4e00-\u9fff]{2,4}(?:、[\u4e00-\u9fff]{2,4}){2,}")
TOWN_WORD = re.compile(r"[\u4e00-\u9fff]{2}(?:镇|乡|街道)(?![\u4e00-\u9fff]{0,1}(?:村|级|域|化))")
PROVINCE_ASKED = re.compile(r"(?:哪个|哪些|哪几个|哪一个|什么)(?:省份|省市|省区|省)")
REGION_ASKED = re.compile(r"(?:哪个|哪些|哪几个|哪一个|什么)(?:区县|区|县|城市|省份|省|市)(?!域|级|委|场|民)")
PLAN_VERBS = default_rules().plan_verbs

DEFINIENDUM_IDF = 5.0     # a definition question's rare focus word (两久: 6.8) is the term defined, as a quoted one is
# per-capita, per-area, per-household figures are other quantities than the totals (人均地区生产总值 vs 地区生产总值)
# a figure by how much something is above/below a whole's average or level, and questions that ask one
RELATIVE_TO = re.compile(r"(?:高于|低于|快于|慢于|超出|领先)[^，,；;。]{0,10}(?:平均|水平|增速|增幅)")
RELATIVE_ASKED = re.compile(r"高于|低于|快于|慢于|超出|领先|比(?!重|例|率)|平均")     # not 比重/比例
# a figure summed over a period (累计城镇新增就业364万人, the outline's review of 十四五) is no single year's result;
# the question may ask the sum itself (累计, 一共, 期间, 这几年)
PERIOD_TOTAL = re.compile(r"累计|累积")
TOTAL_ASKED = re.compile(r"累计|累积|总共|一共|合计|共计|加起来|总计|期间|时期|以来|这几年|几年来|五年")
PER_UNIT = re.compile(r"人均|户均|亩均|地均|每(?:万|千|百|十万)?(?:人|户|亩|平方公里)(?:口)?|每万人口|每千人口")
MEASURE_NOUN = re.compile(r"[速率量价费额数度]$")
# (超**10**对: the action plan bolds its figures in markdown)
COUNT_ITEM = re.compile(r"(?:\d+(?:\.\d+)?|(?<![\u4e00-\u9fff])[一二两三四五六七八九十百千]+)(?:\*\*)?\s*(?:个|家|所|项|条|座|批|处|对|件|万|亿)")
NAMED_GROUP = re.compile(r"([一二三四五六七八九十两]+大)[\u4e00-\u9fff]{2}")    # 八大工程, 五大名片: a group by its size
COUNTED_SET = re.compile(r"(?<![\d.])\d+\s*[件项个对所条家座类](?![\d%])")    # 15件, 500项: a set counted in the question
CLAUSE_END = re.compile(r"[，,；;。：:、]")
VAGUE_ONE = re.compile(r"批|些|系列|流|号|体|道|线|带|站|级|类|种|方面|部分|项项|点")
# several items: A、B、C / A；B；/ 一是… / （一）… / “A”“B” / A、B (two). "A和B" alone is too common in any clause
# to count (健全…出台和…调整机制 lists nothing); it does for a question asking for two (哪两个).
ENUMERATION = re.compile(r"、.{1,30}、|；.{2,80}；|[一二三四五六七八九十]是|[（(][一二三四五六七八九十][）)]|以及|分别(?:为|是)|"
                         r"(?:[“\"][^”\"]{2,16}[”\"][、和及与]?){2,}|[^，。；,;]{2,20}、[^，。；,;]{2,20}|"
                         r"[“\"][^”\"]{2,24}[”\"].{1,30}?[“\"][^”\"]{2,24}[”\"]")     # 新增“A”，减少“B”
PAIR = re.compile(r"[^，。；,;]{2,20}[和及与][^，。；,;]{2,20}")
ASKS_TWO = re.compile(r"哪(?:两|二)|两[个项条家所种类大座件]|二者|两者|[^，,和]{1,8}和[^，,和]{1,8}的?[^，,]{0,8}分别")
SEGMENT = re.compile(r"[^，,；;。：:！!？?]+")
# 其中X要建多少 / 其中X有几项: X is a part of a whole the question (or the turn before) states; up to the question word
SUBSET = re.compile(r"其中(?P<part>[^，,。；;？?！!]{1,24}?)(?:多少|几|好多|多大|多高|哪)")
# a list asked by its size: 哪四样, 哪五张名片, 是哪3个
ASKED_SIZE = re.compile(rf"哪([0-9]+|[二两三四五六七八九十]+)(?:[{SIZE_CLASSIFIERS}]|方面)")

SENTENCE_END = re.compile(r"[；;。！!？?]")
# a person asked for: 是谁, 由谁担任, 书记是哪个/哪位, 叫啥名字 after an office
OFFICE = r"书记|区长|市长|县长|省长|镇长|主任|组长|局长|部长|厅长|董事长|总经理|校长|院长|负责人|领导|代表|首任|现任"
PERSON_ASKED = re.compile(rf"是谁|由谁|谁(?:来)?(?:担任|负责|主持|当|牵头|领导)|哪位|(?:{OFFICE})(?:是|叫|由)?(?:哪个|哪一个|哪位|啥子?名字|叫啥|什么名字)")
DOCTRINE = re.compile(r"\s*(?:新时代|总书记|同志|思想|理论|经济思想|生态文明思想|法治思想|文化思想|强军思想|外交思想)")
HAN_NAME = re.compile(r"[\u4e00-\u9fff]{2,}")


def _numeric(f: str) -> bool:
    return f[:1].isdigit() or f[-1:].isdigit()


_WORD_RES: dict[str, re.Pattern] = {}


def occurrences(f: str, t: str):
    """Where ``f`` occurs in ``t``. A number the question names is that number, not its digits inside another
    (5 is not in 500 or 1500)."""
    pat = _WORD_RES.get(f)
    if pat is None:
        pat = _WORD_RES[f] = re.compile(rf"(?<![\d.]){re.escape(f)}(?![\d.])" if _numeric(f) else re.escape(f))
    return pat.finditer(t)


def has(t: str, f: str) -> bool:
    return next(occurrences(f, t), None) is not None if _numeric(f) else f in t


def _sentence_around(t: str, m: re.Match, ends: str) -> str:
    """The stretch of ``t`` around the match ``m`` between the nearest of the characters ``ends`` on either side.
    ``t`` is NFKC-normalised (``corpus.normalize``): its commas, semicolons, ！ and ？ are half-width, so ``ends``
    names both widths."""
    a = max(t.rfind(x, 0, m.start()) for x in ends) + 1
    after = [i for i in (t.find(x, m.end()) for x in ends) if i >= 0]
    return t[a:min(after) if after else len(t)]


def unit_class_of(word: str) -> str | None:
    """Class of the unit ``word`` starts with (the longest unit word that fits), else None."""
    for u, cls in UNIT_WORDS:
        if word.startswith(u):
            return cls
    return None


def quantities(text: str) -> list[tuple[str, str | None]]:
    """(number, unit class) pairs in a text; years (2030年), ordinals (第3) and item numbers (3．) are not
    quantities. A number without a unit word has class None."""
    return [(m.group(1), c) for c, m in quantity_spans(normalize(text))]


def quantity_spans(t: str) -> list[tuple[str | None, re.Match]]:
    """(unit class, match) of each quantity in a normalised text (see ``quantities``)."""
    out = []
    for m in re.finditer(rf"(?<![第0-9.a-z])({NUM})(?:\*\*)?\s*([{MULTIPLIERS}]*)\s*(%|个百分点|百分点|[a-z]+|[\u4e00-\u9fff]{{0,4}})", t):
        num, rest = m.group(1), m.group(3)
        if t[m.start(1) - 1:m.start(1)] in ("“", '"') and t[m.end(1):m.end(1) + 1] in ("”", '"'):
            continue                          # “1131”就业帮扶机制, “33618”: a code's name, not an amount
        if re.fullmatch(r"(?:19|20)\d{2}", num) and rest.startswith("年"):
            continue                          # a year
        if not any(ch.isdigit() for ch in num) and not rest:
            continue                          # a Chinese numeral alone (一 in 一体化) is no quantity
        if not any(ch.isdigit() for ch in num) and re.match(r"位一体|[一二三四五六七八九十]", rest):
            continue                          # 四位一体, 三五成群: an idiom, not an amount
        if re.fullmatch(r"[iv]+", num):
            out.append(("count", m))
            continue
        if not any(ch.isdigit() for ch in num) and (unit_class_of(rest) in (None, "duration")
                                                    or (num == "一" and VAGUE_ONE.match(rest))
                                                    or not re.search(r"[一二两三四五六七八九十]", num)
                                                    or rest.startswith("级")):
            continue                          # 一批 / 一系列 / 千亿级 / 百万 say no number
        if t[m.end(1):m.end(1) + 1] == "×" or re.match(r"\*\s*\d", t[m.end(1):]) or RANGE_START.match(t, m.end(1)):
            continue                          # 2×1000MW, 2*1000: a multiplicand (**50**个 is markdown bold; 6* in a
                                              # 专栏 cell is a footnote mark); 1—2个: a range
        if re.fullmatch(r"\d{1,2}", num) and t[m.end(1):m.end(1) + 1] in ("．", "."):
            continue                          # an item number
        out.append((unit_class_of(rest), m))
    return out


class SlotFinder:
    """The slot checks, over a config (``EvidenceConfig``: which checks are on), the gazetteer, the home region and
    jieba's lexicon (word tags; None in tests that need no tags)."""

    def __init__(self, config, gazetteer: Gazetteer, home_region: str = "", lexicon=None):
        self.config = config
        self.gaz = gazetteer
        self.home = home_region
        self.lexicon = lexicon

    def topic_spans(self, q: Question, t: str) -> list[tuple[int, int]]:
        return self._topic_spans(q, t)

    def _topic_spans(self, q: Question, t: str, min_weight: float = 2.0) -> list[tuple[int, int]]:
        """Where the question's topic words occur in ``t`` (normalised), to tie a slot value to the topic. Words
        nearly every clause has (发展, 建设, 经济: idf < ``min_weight``) do not tie anything."""
        spans = []
        terms = [x for x in q.known_terms if x.weight >= min_weight] or list(q.known_terms)
        for term in terms:
            for f in term.forms:
                for m in occurrences(f, t):
                    spans.append((m.start(), m.end()))
        return spans

    def _anchor_spans(self, q: Question, t: str) -> list[tuple[int, int]]:
        """Where the most specific of the question's words present in ``t`` occur (the rarest one, and any nearly as
        rare): what a list or place must be tied to. 水库 occurs by every reservoir; 银河桥 only by the one asked."""
        present = [x for x in q.known_terms if any(has(t, f) for f in x.forms)]
        if not present:
            return []
        top = max(x.weight for x in present)
        spans = []
        for x in present:
            if x.weight >= top - 0.5:
                for f in x.forms:
                    spans += [(m.start(), m.end()) for m in occurrences(f, t)]
        return spans

    @staticmethod
    def _segment_of(t: str):
        """pos -> the index of the segment of ``t`` (between commas, colons, sentence ends) it is in."""
        segs = [s.span() for s in SEGMENT.finditer(t)]
        return lambda pos: next((i for i, (a, b) in enumerate(segs) if a <= pos < b), len(segs))

    @classmethod
    def _same_segment(cls, t: str, spans: list[tuple[int, int]], pos: int) -> bool:
        """``pos`` is in the segment (between commas) of one of ``spans``, or the one before it: 加快秀山铁路场站
        扩能改造…，建设西部陆海新通道东线节点 places 东线节点 in 秀山."""
        seg_of = cls._segment_of(t)
        at = seg_of(pos)
        return any(0 <= seg_of(a) - at <= 1 for a, _ in spans)

    @classmethod
    def _listed_by(cls, t: str, anchors: list[tuple[int, int]], m: re.Match) -> bool:
        """The enumeration ``m`` lists what the anchor words name: it starts in their segment (between commas) or
        the next one (建立未来产业…机制，培育A、B、C), not two segments on (…政策,增加…航线,提高A、B、C等水平)."""
        seg_of = cls._segment_of(t)
        at = seg_of(m.start())
        return any(0 <= at - seg_of(a) <= 1 or (seg_of(a) > at and a <= m.end()) for a, _ in anchors)

    @staticmethod
    def _asked_size(q: Question) -> int | None:
        m = ASKED_SIZE.search(q.normalized)
        if not m:
            return None
        return int(m.group(1)) if m.group(1).isdigit() else cn_number(m.group(1))

    @staticmethod
    def _items_around(t: str, m: re.Match) -> int:
        """How many items the sentence of the enumeration ``m`` names at most: its 、/；-separated pieces (and a 和 after
        the last), its quoted names, its 一是/（一） markers."""
        sent = _sentence_around(t, m, "。！？!?")
        pieces = len(re.findall(r"[、；;]", sent)) + 1
        last = max(sent.rfind("、"), sent.rfind("；"), sent.rfind(";"))
        if (re.match(r"[^，,。]*?(?:和|及|与)", sent[last + 1:]) if last >= 0 else re.search(r"和|及|与", m.group(0))):
            pieces += 1                       # A、B、C和D; A和B
        quoted = len(re.findall(r"[“\"][^”\"]{1,24}[”\"]", sent))
        marked = len(re.findall(r"[一二三四五六七八九十]是|[（(][一二三四五六七八九十][）)]", sent))
        return max(pieces, quoted, marked)

    @staticmethod
    def _figures_listed(t: str, m: re.Match) -> bool:
        """The enumeration is of figures, not of members: 新建5个未来工厂、10个智能工厂、100个数字化车间 does not
        say which the 5 未来工厂 are."""
        if "、" not in m.group(0):
            return False
        items = re.split(r"[、和及]", _sentence_around(t, m, "，,。"))
        counted = [x for x in items if COUNT_ITEM.search(x)]     # 5个未来工厂 / 专精特新企业400家
        return len(items) >= 2 and len(counted) >= len(items) - 1

    @classmethod
    def _tied(cls, spans: list[tuple[int, int]], t: str, start: int, end: int) -> bool:
        """The figure at t[start:end] is near a topic word (``_near``) and, when it stands before that word, in the
        same segment: "3万个托位" yes, "…达4.52个，人均预期寿命稳步提高" no."""
        return any(cls._near([(a, b)], start, end) and (start >= a or not SEG_END.search(t, end, a))
                   for a, b in spans)

    def _subset_part(self, q: Question) -> tuple[list, list[str]]:
        """The known words and the places of the part a 其中 question asks about (其中中心城区要建多少公里: the
        place 中心城区; 其中约束性指标有几项: 约束性, 指标)."""
        m = SUBSET.search(q.normalized)
        if not m:
            return [], []
        part = m.group("part")
        return ([x for x in q.known_terms if len(x.text) >= 2 and x.text in part],
                [r for r, _, _ in self.gaz.spans(part)])

    def _segment_names(self, t: str, pos: int, part: tuple[list, list[str]]) -> bool:
        """The segment of ``t`` (between commas, colons, sentence ends) at ``pos`` names every word and place of
        ``part``."""
        seg = next((s.group(0) for s in SEGMENT.finditer(t) if s.start() <= pos < s.end()), "")
        terms, places = part
        return all(any(has(seg, f) for f in x.forms) for x in terms) and all(
            any(m == p or self.gaz.is_within(m, p) for m in self.gaz.mentions(seg)) for p in places)

    @staticmethod
    def _near(spans: list[tuple[int, int]], start: int, end: int, after: int = 30, before: int = 12) -> bool:
        return any(a - before <= end and start <= b + after for a, b in spans)

    def focus_cover(self, q: Question, text: str) -> float:
        """Weighted share of the question's focus words (Question.focus: what exactly is counted) in ``text``."""
        terms = [t for t in q.terms if t.text in q.focus and t.known]
        total = sum(t.weight for t in terms)
        if not total:
            return 1.0
        t = normalize(text)
        held = [x for x in terms if any(has(t, f) for f in x.forms)]
        # what is counted is a thing: where the focus names one (消费券 in 发放的消费券有多少钱), a clause with only
        # its verb (发放劳务报酬23.7亿元) counts something else
        # (a word inside a compound is part of it: 协议引资 holds 招商引资's 引资)
        things = [x for x in terms if not self.is_verb(x.text)]
        if things and not any(x.text in y.text or y.text in x.text for x in things for y in held):
            return 0.0
        # a rate or index asked for (居民消费率, 本科录取率) is that measure of that thing: a clause needs
        # the measure word with the character before it (费率, 取率), not only the thing (居民消费价格上涨2%)
        measured = [m.group() for x in terms if len(x.text) >= 3 and (m := MEASURE_END.search(x.text))]
        if measured and not any(m in t for m in measured):
            return 0.0
        return sum(x.weight for x in held) / total

    def is_noun(self, word: str) -> bool:
        """jieba tags every part of the word a noun, a distinguishing word (新型, 规上) or a dictionary name (x)."""
        if self.lexicon is None or not hasattr(self.lexicon, "word_tags"):
            return True
        return all(f[:1] == "n" or f in ("x", "b") for _, f in self.lexicon.word_tags(word))

    def is_verb(self, word: str) -> bool:
        """jieba tags the word a plain verb (发放, 完成; 消费 and 培育 are vn)."""
        if self.lexicon is None or not hasattr(self.lexicon, "word_tags"):
            return False
        return all(f == "v" for _, f in self.lexicon.word_tags(word))

    def names_places(self, q: Question, t: str) -> list[str]:
        """Places the clause names other than those asked about (and the regions around them)."""
        asked = set(q.subject.places) | ({self.home} if self.home else set())
        return [p for p in self.word_mentions(t) if p not in asked and not any(self.gaz.is_within(a, p) for a in asked)]

    def word_mentions(self, t: str) -> list[str]:
        """The gazetteer's mentions in ``t`` (normalised), a two-character short name only where it is a word:
        成渝中线高铁 does not name 渝中(区)."""
        short = [(r, a, b) for r, a, b in self.gaz.spans(t) if b - a <= 2]
        if not short or self.lexicon is None or not hasattr(self.lexicon, "boundaries"):
            return self.gaz.mentions(t)
        cuts = self.lexicon.boundaries(t)
        out = []
        for r, a, b in self.gaz.spans(t):
            if (b - a > 2 or (a in cuts and b in cuts)) and r not in out:
                out.append(r)
        return out

    def place_spans(self, q: Question, t: str, p: str) -> list[tuple[int, int]]:
        """Where place ``p`` stands in ``t`` as a location, not as the name of another thing of the asked kind:
        江北国际机场 or 万州五桥机场 when 新机场 is asked, but not 綦江区东溪古镇 when 东溪古镇 is asked, nor
        支持梁平建设临空经济产业园 (a verb follows the place: it says where). 西部地区（綦江）数据灾备项目 is a location."""
        out = []
        for n in self.gaz.regions[p].names:
            for m in re.finditer(re.escape(n), t):
                if not self._names_another(q, t[m.end():m.end() + 8]):
                    out.append(m.span())
        return out

    @staticmethod
    def _names_another(q: Question, after: str) -> bool:
        """``after`` (the text after a place) is a noun compound ending in the asked thing's head word, without
        the question's own word before that head (江北国际机场 for 新机场), in the question as spelling-corrected
        (新机扬 -> 新机场)."""
        qn = normalize(q.query or q.normalized)
        whose = re.search(r"(?:哪里|哪儿|哪个地方|什么地方|啥地方)的([\u4e00-\u9fff]{2})", qn)
        if whose and whose.group(1) in after:
            return False                      # 依托哪里的片场: the place of that very thing is asked (永川科技片场)
        for x in q.known_terms:
            for f in x.forms:
                k = after.find(f)
                if len(f) < 2 or k < 0 or k > 4 or not re.fullmatch(r"[\u4e00-\u9fff]*", after[:k]) or f in PLAN_VERBS:
                    continue
                if any(v in after[:k] for v in PLAN_VERBS) or re.search(r"[建设在为到向由]", after[:k]):
                    continue                  # 梁平建设临空经济产业园: a verb, so the place is where
                i = qn.find(f)
                run = re.search(r"[\u4e00-\u9fff]*$", qn[max(0, i - 2):i]).group(0) if i > 0 else ""
                own = re.sub(r"的|是|个|座|在|那|这|了", "", run)[-1:]
                if own and own not in after[:k]:
                    return True
        return False

    @staticmethod
    def _relative_figure(q: Question, t: str, m: re.Match) -> bool:
        """The figure at ``m`` is by how much something is above an average (增速高于全市平均4.5个、0.7个百分点),
        and the question asks no comparison. (The same for a rate per head asked as a total -- 每千人口托位数达4.19个
        for 托位有多少个 -- refused three answerable dev items whose askers name the rate in other words or in an
        earlier part: not done.)"""
        seg = re.split(r"[，,；;。]", t[:m.start()])[-1]
        return bool(RELATIVE_TO.search(seg)) and not RELATIVE_ASKED.search(q.normalized)

    def spans_years(self, doc_id: str) -> bool:
        """Does the document cover several years (a plan outline, whose 累计 sums its period)? Without document
        scopes, any may."""
        return True

    def _period_total(self, q: Question, t: str, m: re.Match, doc_id: str) -> bool:
        """The figure at ``m`` is a sum over years (its segment says 累计, in a document of several years), and the
        question asks one year's result (2025年…实际完成了多少) without asking for a sum. An annual report's 累计
        is the running total it reports for its year (保交房项目累计交付5.3万套: 2024's result); targets are left
        alone (到2030年累计建成… is the asked year's target)."""
        tf = q.timeframe
        if len(tf.years) != 1 or tf.period or tf.aspect != "actual" or TOTAL_ASKED.search(q.normalized) \
                or not self.spans_years(doc_id):
            return False
        seg = re.split(r"[，,；;。]", t[:m.start()])[-1]
        return bool(PERIOD_TOTAL.search(seg))

    def qualifying_place(self, q: Question) -> str | None:
        """A place outside the home region named right before the question word (江苏哪家医院, 四川的哪个城市): what
        is asked is in that place, so the clause must name it."""
        t = q.normalized
        for r, a, b in self.gaz.spans(t):
            if re.match(r"(?:省|市)?的?(?:哪|什么)", t[b:]) and r != self.home \
                    and not (self.home and self.gaz.is_within(r, self.home)):
                return r
        return None

    def slot(self, q: Question, u: Unit) -> bool:
        return self.slot_spans(q, u) is not None

    def slot_spans(self, q: Question, u: Unit) -> list[tuple[int, int]] | None:
        """Where in ``normalize(u.text)`` the clause supplies what is asked (the number, date, places or the
        enumeration found next to the topic), or None when it does not. An empty list: the whole clause
        supplies it (a glossary entry, a 专栏 row, a why/how clause). The answer line is cut around these."""
        t = normalize(u.text)
        if q.slot in (Slot.ENTITY, Slot.LIST, Slot.PLACE) and (place := self.qualifying_place(q)) and not any(
                m == place or self.gaz.is_within(m, place) for m in self.gaz.mentions(normalize(u.text + " " + u.headings))):
            return None                       # 和江苏哪家医院合作: a hospital the clause does not place in 江苏 is no
                                              # answer; 与贵州哪个市: 遵义 is in 贵州
        if q.slot is Slot.LIST and u.hit.kind in ("glossary", "table_row"):
            return []                         # an entry or a row is what the list question names
        if self.config.place_lists and q.slot in (Slot.LIST, Slot.ENTITY) \
                and PLACE_CATEGORY.search(q.normalized):
            # 哪些区县 / 建在哪个区: the answer is places, so the clause must name them, next to what was asked
            spans = self._topic_spans(q, t)
            near = [p for p in self.names_places(q, t)
                    if (ps := self.place_spans(q, t, p)) and (not spans or any(self._near(spans, a, b, 20, 20) for a, b in ps))]
            if PROVINCE_ASKED.search(q.normalized):  # 哪个省市: 鲁渝东西部协作 names 山东
                asked = set(q.subject.places) | ({self.home} if self.home else set())
                near += [t[a:b] for p, a, b in short_named_provinces(t) if p not in asked and t[a:b] not in near
                         and (not spans or self._near(spans, a, b, 20, 20))]
            if TOWN_ASKED.search(q.normalized):      # 哪个镇: towns the gazetteer does not list (安稳镇获批…)
                near += [m.group(0) for m in TOWN_WORD.finditer(t) if m.group(0) not in near
                         and (not spans or self._near(spans, m.start(), m.end(), 20, 20))
                         and not any(a < m.end() and m.start() < b for a, b in spans)]
            if len(near) < 2 and self.config.part_lists and PART_ASKED.search(q.normalized):
                # 解放碑组团包括哪些片区: parts of a city the gazetteer does not list (朝天门、上清寺、菜园坝), named
                # as an enumeration by the topic
                for m in PART_NAMES.finditer(t):
                    if not spans or self._near(spans, m.start(), m.end(), 20, 20):
                        near += [w for w in m.group(0).split("、") if w not in near]
            if (outside := self.qualifying_place(q)) and self.lexicon is not None:
                # 广西哪个城市: the gazetteer lists 四川's and 贵州's cities only; jieba tags the others (防城港) ns
                own = set(self.gaz.regions[outside].names) if outside in self.gaz.regions else {outside}
                for w, f, a in self.lexicon.tagged_spans(t):
                    if (f == "ns" and len(w) >= 2 and w not in near and w not in own
                            and not self.gaz.spans(w) and (not spans or self._near(spans, a, a + len(w), 20, 20))):
                        near.append(w)
            if len(near) < (2 if q.slot is Slot.LIST else 1):
                return None
            return [sp for p in near for sp in (self.place_spans(q, t, p) if p in self.gaz.regions else
                                                [m.span() for m in re.finditer(re.escape(p), t)])]
        if self.config.named_kinds and q.slot in (Slot.LIST, Slot.ENTITY) and PERSON_ASKED.search(q.normalized):
            # 区委书记是谁 / 组长由谁担任: the answer is a person's name, in the segment of the topic; plans name
            # offices, not their holders (习近平's name is in the thought they follow, not an office)
            return self._person_names(q, t) or None
        if self.config.named_kinds and q.slot in (Slot.LIST, Slot.ENTITY) and (kind := organisation_asked(
                q.normalized, self.lexicon.pos_tokens if self.lexicon is not None else None)):
            names = self._names_of_kind(q, t, kind)
            if not names:
                return None                       # 由哪家企业建设: the clause names no enterprise (the project only)
            return names
        if q.slot is Slot.NUMBER:
            if self.focus_cover(q, u.text + " " + (u.headings if u.hit.kind == "table_row" else "")) < self.config.min_focus:
                return None                       # numbers, but not of what is counted (公租房 for 保障性租赁住房)
            if self.config.unknown_focus and self._focus_unknown(q):
                return None                       # what is counted is a word no document uses (成渝中线高铁的时速)
            per = PER_UNIT.search(q.normalized) if self.config.per_unit else None
            if per and not PER_UNIT.search(t):
                return None                       # 人均/每万人… asked, the clause has only totals
            if u.hit.kind == "table_row":            # the unit is in the indicator's name: 城镇化率（%）
                return [] if self._row_supplies(q, u.text) else None
            spans = self._topic_spans(q, t)
            if q.known_terms and not spans:
                return None                       # none of the asked topic's main words: its numbers are about something else
            given = {m.group(1) for _, m in quantity_spans(normalize(q.normalized))} if self.config.given_numbers else set()
            tied = self._tied if self.config.same_segment else (lambda sp, _t, a, b: self._near(sp, a, b))
            found = [(c, m) for c, m in quantity_spans(t) if (not spans or tied(spans, t, m.start(), m.end()))
                     and m.group(1) not in given]     # a number the question states is not its answer (2.9万个托位中…)
            if not found:
                return None                       # a number, but not one tied to what was asked
            if self.config.relative_figures:
                found = [(c, m) for c, m in found if not self._relative_figure(q, t, m)]
            if self.config.period_totals:
                found = [(c, m) for c, m in found if not self._period_total(q, t, m, u.hit.doc_id)]
            if self.config.subset_figures and any(part := self._subset_part(q)):
                found = [(c, m) for c, m in found if self._segment_names(t, m.start(), part)]
            found = [(c, m) for c, m in found
                     if (not self.config.counted_noun or self._counts_the_focus(q, t, c, m))
                     and (not self.config.other_kind or not self._other_kind(q, t, m, self.lexicon))
                     and (not self.config.other_compound or not self._other_compound(q, t, m))]
            if not found:
                return None                       # "创建100个示范镇村" does not count 示范县
            if not self._unit_ok(q, t, [c for c, _ in found], [m.group(2) + m.group(3)[:1] for _, m in found]):
                return None
            if self.config.member_figures and self._member_only(q, t):
                return None                       # 火锅食材、调味品、宠物食品等产业…: the group's figure, not 宠物食品's
            return [m.span() for _, m in found]
        if q.slot is Slot.TIME:
            if u.hit.kind == "table_row":
                return None                       # its years label the columns (2025年：…｜2030年目标：…)
            spans = self._topic_spans(q, t)
            dates = DAY_IN_TEXT if DAY_ASKED.search(q.normalized) else MONTH_IN_TEXT if MONTH_ASKED.search(q.normalized) \
                else DATE_IN_TEXT
            if self.config.durations and DURATION_ASKED.search(q.normalized):
                dates = WITH_DURATIONS[dates]
            given = {str(y) for y in q.timeframe.years}
            found = [m.span() for m in dates.finditer(t)
                     if (not spans or self._near(spans, m.start(), m.end(), 40, 40))
                     and not (given and re.sub(r"\D", "", m.group(0)) in given)]    # the year asked about is no answer
            return found or None
        if q.slot is Slot.PLACE:
            topic = self._topic_spans(q, t)
            if q.known_terms and not topic:
                return None                       # no word of what is asked: its places are other things'
            if named := self._named_by_count(q, t, topic):
                return named                      # 推进横山、古剑山…等6个停机坪: the 6 asked are where these names are
            spans = self._anchor_spans(q, t) or topic   # by 银河桥水库, not by any 水库
            named = self.names_places(q, t)
            # the asked kind (片区 in 哪个片区) is in the topic too, but a place word ending in it is the answer
            # (加快广阳岛片区…示范建设), not the asked thing itself
            kind = re.search(r"哪(?:个|些|几个|一个)?([\u4e00-\u9fff]{1,3})", q.normalized)
            own = [(a, b) for a, b in topic if not (kind and t[a:b] and kind.group(1).startswith(t[a:b]))]
            # 哪个区/县/城市 asks a region by name; a 示范区 or 经济区 is no answer, and the asked thing is not its own place
            places = [] if REGION_ASKED.search(q.normalized) else \
                [m.span() for m in PLACE_WORD.finditer(t) if not any(a < m.end() and m.start() < b for a, b in own)]
            for p in named:
                places += self.place_spans(q, t, p)
            seg_of = self._segment_of(t)
            # a place in a segment after every mention of the asked thing is another thing's (谋划建设重庆新机场，
            # 前瞻布局临空经济区，优化完善江北国际机场、万州五桥机场…: no district for the new airport)
            found = [(a, b) for a, b in places if not spans
                     or (self._near(spans, a, b, 25, 25) and any(seg_of(a) <= seg_of(s) for s, _ in spans))
                     or (self._same_segment(t, spans, a) and self._near(spans, a, b, 30, 30))]
            return found or None
        if q.slot is Slot.LIST:
            spans = self._topic_spans(q, t)
            if q.known_terms and not spans:
                return None
            group = NAMED_GROUP.search(q.normalized)
            if group and group.group(1) not in t:
                return None                       # 八大工程是哪八项: a list that does not say 八大 lists other things
            anchors = self._anchor_spans(q, t) or spans
            # the word right at the question word (要解决哪些问题: 解决) says what is listed as well as the rarest
            # one does: …综合治理改革，优化…，整合…，重点解决农村改厕、生活污水治理、垃圾处理…等问题
            if anchors and q.focus and (at := [m.span() for m in occurrences(q.focus[0], t)]):
                anchors = anchors + at
            # "那15件具体是哪些？": where the clause states the count the question quotes, the members are listed
            # by that phrase and are not the sentence that states it (…；滚动实施15件重点民生实事；… lists no 实事)
            counts = [m for c in COUNTED_SET.finditer(q.normalized)
                      for m in re.finditer(r"(?<![\d.])" + re.escape(re.sub(r"\D", "", c.group(0))) + r"(?:\*\*)?\s*"
                                           + re.escape(c.group(0)[-1]), t)]       # 超**10**对 (markdown bold)
            if counts:
                anchors = [m.span() for m in counts]
            # the asked thing as an item of a list (轨道交通第四期、第五期规划项目): that list is of its siblings
            siblings = [a for a, _ in anchors if t[max(0, a - 2):a].rstrip("“\"")[-1:] == "、"]
            size = self._asked_size(q)
            pattern = PAIR if ASKS_TWO.search(q.normalized) else None
            for pat in (ENUMERATION, pattern) if pattern else (ENUMERATION,):
                for m in pat.finditer(t):
                    if m.group(0)[:1] in "；;" and any(m.start() <= c.start() < m.end() for c in counts):
                        continue              # the count's own sentence among sentences; 城口、巫溪、酉阳、彭水4个… lists them
                    if any(m.start() <= a < m.end() for a in siblings):
                        continue
                    if size and self._items_around(t, m) < size:
                        continue              # 哪四样: “四首经济”“潮经济” lists two things, not the four asked
                    if (not spans or self._listed_by(t, anchors, m)) and not self._figures_listed(t, m):
                        return [m.span()]
            return None
        if q.slot is Slot.DEFINITION:
            if u.hit.kind == "glossary":
                return []
            named = [x for x in q.terms if x.specific] or [x for x in q.terms if x.text in q.focus and x.known
                                                            and x.weight >= DEFINIENDUM_IDF]
            ok = bool(named) and any(has(t, f) for x in named for f in x.forms)   # 两久项目指啥: “两久”项目…
            return [] if ok else None
        return []

    def _named_by_count(self, q: Question, t: str, topic: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Where the question counts what it asks about (这6个停机坪分别在哪里) and the clause names exactly that many
        before 等+that count, next to the asked thing (横山、古剑山、高庙、万隆、丁山、老瀛山等6个直升机/固定翼停机坪):
        the names, one span each; [] otherwise."""
        for c in COUNTED_SET.finditer(normalize(q.normalized)):
            n, cls = int(re.sub(r"\D", "", c.group(0))), c.group(0)[-1]
            for m in re.finditer(rf"((?:[\u4e00-\u9fff]{{2,6}}、)+[\u4e00-\u9fff]{{2,6}})等\s*{n}\s*{cls}", t):
                names = m.group(1).split("、")
                if len(names) == n and any(m.end() <= a <= m.end() + 12 for a, _ in topic):
                    at = m.start(1)
                    if self.lexicon is not None and hasattr(self.lexicon, "word_tags"):
                        lead = self.lexicon.word_tags(names[0])       # 推进横山: the verb before the first name
                        if len(lead) >= 2 and lead[0][1] == "v":
                            at += len(lead[0][0])
                            names[0] = names[0][len(lead[0][0]):]
                    out = []
                    for x in names:
                        out.append((at, at + len(x)))
                        at += len(x) + 1
                    return out
        return []

    def _place_figures(self, q: Question, t: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The figures of a clause that only mentions the asked place which are that place's: in the segment of a
        mention of it, or after one in the same sentence with no other place's own mention between. A place that is
        one item of an enumeration (推动南川、綦江、武隆等区块页岩气增储上产，…全市天然气年产量达到200亿立方米: the
        200亿 is the city's, not 武隆's; 万州金属镁产业化、丰都玻璃…) or stands in parentheses (不含璧山云巴) is no
        such mention: it has no figure of its own there and takes none away."""
        seg_of = self._segment_of(t)
        segs = [m.span() for m in SEGMENT.finditer(t)]

        spans_of = self.gaz.spans(t)
        starts = {a for _, a, _ in spans_of}

        def aside(a: int, b: int) -> bool:
            lo, hi = segs[seg_of(a)] if seg_of(a) < len(segs) else (a, b)
            nxt = t.find("、", b, hi)
            return (t[a - 1:a] == "、" or bool(re.match(r"[区县市]?等", t[b:b + 2]))
                    or (nxt >= 0 and any(nxt < x <= nxt + 2 for x in starts))      # 万州金属镁产业化、丰都玻璃
                    or t.rfind("(", lo, a) > t.rfind(")", lo, a) or t.rfind("（", lo, a) > t.rfind("）", lo, a))

        asked = set(q.subject.places)
        found = [(a, b) for r, a, b in spans_of if r in asked]
        found += [m.span() for p in asked if p not in self.gaz.regions for m in re.finditer(re.escape(p), t)]
        if not found:
            return spans          # the place is named by the paragraph or heading the sentence is in: all of it is
        mentions = [a for a, b in found if not aside(a, b)]
        others = [a for r, a, b in spans_of if r not in asked and not aside(a, b)]

        def own(x: int) -> bool:
            return any(seg_of(m) == seg_of(x) or (m < x and not SENTENCE_END.search(t, m, x)
                                                  and not any(m < o < x for o in others)) for m in mentions)
        return [(a, b) for a, b in spans if own(a)]

    def _person_names(self, q: Question, t: str) -> list[tuple[int, int]]:
        """Spans of people's names (jieba's nr) in a segment with a word of the topic, other than the leaders whose
        names stand for a doctrine (习近平新时代中国特色社会主义思想)."""
        if self.lexicon is None:
            return []
        spans = self._topic_spans(q, t)
        seg_of = self._segment_of(t)
        out = []
        for w, f, a in self.lexicon.tagged_spans(t):
            b = a + len(w)
            if f != "nr" or len(w) < 2 or w in q.normalized or DOCTRINE.match(t, b):
                continue
            if spans and not any(seg_of(x) == seg_of(a) for x, _ in spans):
                continue
            out.append((a, b))
        return out

    def _names_of_kind(self, q: Question, t: str, suffix: str) -> list[tuple[int, int]]:
        """Spans of names of the asked kind (…医院, …学院, …公司) in ``t`` that the question does not hold itself
        (重庆人工智能学院 is what is asked about, not its answer), in a segment with a word of the topic."""
        spans = self._topic_spans(q, t)
        seg_of = self._segment_of(t)
        asked = normalize(q.normalized)
        out = []
        for m in re.finditer(rf"[\u4e00-\u9fff]*?(?:{suffix})", t):
            a, b = m.span()
            tail = t[max(a, b - 4):b]
            if tail in asked or len(t[a:b]) < 3 or re.search(r"\d\s*$", t[max(0, a - 3):a]):
                continue                          # the asked thing (重点专科, 本科高校), a bare kind word, or a
                                                  # counted kind (10个智能工厂) -- not a name
            if spans and not any(seg_of(x) == seg_of(a) or seg_of(x) == seg_of(b - 1) for x, _ in spans):
                continue
            out.append((a, b))
        return out

    def _focus_unknown(self, q: Question) -> bool:
        """The word right at the question word (Question.focus[0], what is counted) is a real word no document uses
        (时速, 票价): the documents state no figure of it. Everyday words and names do not count here (they are
        how people talk, or the specific-word check's business)."""
        if not q.focus:
            return False
        top = next((t for t in q.terms if t.text == q.focus[0]), None)
        # a measure's name (时速, 票价, 客流量), not a verb of how people ask (修到, 冲到, 设定: unknown to the
        # documents too -- as any verb, they refused 9 answerable hold-out items)
        return (top is not None and not top.known and not top.specific and not top.everyday and len(top.text) >= 2
                and bool(MEASURE_NOUN.search(top.text))
                and self.lexicon is not None and self.lexicon.general_freq(top.text) > 0)

    @staticmethod
    def _other_kind(q: Question, t: str, m: re.Match, lexicon=None) -> bool:
        """The value counts another kind of the asked noun: the question asks 入境游客, the clause has the number
        next to 过夜游客 (the head 游客 with a different word right before it and the question's modifier nowhere near)."""
        if not q.modifier:
            return False
        mod, head = q.modifier
        lo, hi = max(0, m.start() - 30), m.end() + 30
        heads = [lo + h.start() for h in re.finditer(re.escape(head), t[lo:hi])]
        # the head the number belongs to: the nearest before it (旅客吞吐能力达到8000万人次，货邮吞吐能力达到120万吨)
        before = [a for a in heads if a < m.start()]
        for a in ([before[-1]] if before else heads):
            window = t[max(0, a - 8):a]
            if mod in t[max(0, a - 12):a + len(head) + 12]:
                return False                  # the question's own modifier is there
            if re.search(r"[\u4e00-\u9fff]{2}$", window) and not CLAUSE_END.search(window[-2:]):
                last = lexicon.words(window)[-1] if lexicon is not None else window[-2:]
                if last in PLAN_VERBS or len(last) < 2:
                    continue                  # 力争主营业务收入: a verb, not another kind of 主营业务收入
                if last + head in normalize(q.normalized):
                    return False              # another modifier the question asks too (旅客吞吐能力和货邮吞吐能力)
                return True                   # another word qualifies the head here
        return False

    def _member_only(self, q: Question, t: str) -> bool:
        """The question's most specific focus noun is in ``t`` only as one member of an enumeration that ends in 等
        (重点围绕火锅食材、调味品、宠物食品等产业): a figure there is the group's."""
        nouns = [x for x in q.terms if x.text in q.focus and x.known and len(x.text) >= 2 and self.is_noun(x.text)]
        # a name the question measures (渝昆高铁川渝段有多长) is what the figure must be of, before any focus noun:
        # 成渝中线高铁、渝昆高铁川渝段…等项目建成投用，…高铁运营里程突破1900公里 is the network's length
        names = [x for x in q.terms if x.specific and x.known and len(x.text) >= 2 and HAN_NAME.fullmatch(x.text)]
        if not (names or nouns):
            return False
        top = max(names or nouns, key=lambda x: x.weight)
        qn = normalize(q.normalized)
        if any(re.search(rf"、\s*{re.escape(f)}|{re.escape(f)}\s*、", qn) for f in top.forms):
            return False                      # the question asks the group itself (多少MW的光伏、风电项目)
        at = [m for f in top.forms for m in occurrences(f, t)]
        if not at:
            return False
        for m in at:
            seg = next((s for s in SEGMENT.finditer(t) if s.start() <= m.start() < s.end()), None)
            if seg is None:
                return False
            around = t[max(seg.start(), m.start() - 1):m.end() + 1]
            if names:                         # the name's whole word (渝宜 of 开工渝宜高铁、…) before the 、
                around += re.match(r"[\u4e00-\u9fff（）()]{0,12}、?", t[m.end():seg.end()]).group(0)
            if not ("、" in around and "等" in t[m.end():seg.end()]):
                return False
        return True

    def _other_compound(self, q: Question, t: str, m: re.Match) -> bool:
        """The figure's sentence lacks a compound focus noun of the question (城镇居民) but has its head (居民) with
        another word right before it (全体居民) and the question's first word (城镇) not near: another group's figure."""
        sent = _sentence_around(t, m, "。；;！？!?")
        asked = normalize(q.normalized)
        for x in q.terms:
            if x.text not in q.focus or not x.known or len(x.text) < 4 or any(has(sent, f) for f in x.forms):
                continue
            # its head: the longest other term it ends in (城镇居民 -> 居民), the rest its modifier
            head = max((y.text for y in q.terms if y.text != x.text and x.text.endswith(y.text) and len(y.text) >= 2),
                       key=len, default="")
            mod = x.text[:len(x.text) - len(head)]
            if not head or len(mod) < 2 or not self.is_noun(x.text):
                continue
            for h in re.finditer(re.escape(head), sent):
                before = sent[max(0, h.start() - 2):h.start()]
                if mod in sent[max(0, h.start() - 8):h.start()]:
                    continue                  # 农村常住居民: the question's own word is there
                if re.fullmatch(r"[\u4e00-\u9fff]{2}", before) and before not in PLAN_VERBS \
                        and before + head not in asked and self.is_noun(before + head):
                    return True
        return False

    @staticmethod
    def _counts_the_focus(q: Question, t: str, cls: str | None, m: re.Match) -> bool:
        """A count with its noun right after it (100个示范镇村) counts that noun: it must be the question's most
        specific focus word, if the question has one. A count with no noun after it (新增托位2.9万个，) passes."""
        if cls not in ("count", "person", "vehicle"):
            return True
        focus = sorted((x for x in q.terms if x.text in q.focus and x.known and len(x.text) >= 2), key=lambda x: -x.weight)
        if not focus:
            return True
        counts = lambda noun: any(f in noun for x in focus[:2] for f in x.forms)  # noqa: E731
        unit = next((u for u, _ in UNIT_WORDS if m.group(3).startswith(u)), "")
        after = re.match(r"(?![（(])[\u4e00-\u9fff“”()（）]{2,16}", t[m.start(3) + len(unit):])   # not 22万套（间）
        if after and not re.match(r"(?:以上|以内|左右|以下)", after.group(0)):
            return counts(after.group(0))
        # or the noun right before it: "绿色园区36个" counts 绿色园区 (back to the last 、，; a plan verb between is fine)
        before = re.split(r"[、，,；;。：:]", t[:m.start()])[-1]
        before = re.sub(r"(?:达到|达|突破|超过|增至|增长|为|约|共|累计|总计|新增|计|是|覆盖|惠及|带动|吸纳|服务|培训|"
                        r"接待|完成|实现|提供|发放|开行|建成|新建|改造|引进|落地|签约)?\s*$", "", before)
        if len(before) >= 3 and re.search(r"[\u4e00-\u9fff]{2}$", before):
            return counts(before[-14:])
        return True

    def _unit_ok(self, q: Question, t: str, classes: list[str | None], mults: list[str] | None = None) -> bool:
        """The quantities' units fit the asked one: its class (人次 ~ 万人次), and its multiplier when the question
        names one (多少亿元 is not answered in 万元: 总量 vs 人均)."""
        want = q.unit_word or ""
        mult = want[0] if want[:1] and want[0] in MULTIPLIERS else ""
        if mult and mults is not None and not any(mult in m for m in mults):
            return False
        if q.unit is None:
            return True
        if not want and classes and all(c is None for c in classes):
            return True                   # a unit only implied (总投资额 -> money): bare figures (0.019) may be it
        if q.unit == "count":
            return any(c in ("count", "person", "vehicle", None) for c in classes)
        if q.unit == "percent" and ("率" in t or "比重" in t or "占比" in t or "比例" in t):
            return any(c in ("percent", None) for c in classes)
        if q.unit == "age":               # 人均预期寿命（年）｜2025年：79.8 answers 多少岁: an age is years lived
            return any(c in ("age", "duration") for c in classes)
        return any(c == q.unit for c in classes)

    @staticmethod
    def _row_of_another_measure(q: Question, row: str) -> bool:
        """The row's indicator holds the asked noun and then another noun phrase ending in a measure (常住人口有好多
        vs 常住人口城镇化率（%）): it measures something of the noun, not the noun itself."""
        name = re.sub(r"[（(][^）)]*[）)]", "", normalize(row.split("｜")[0])).replace(" ", "")
        asked = normalize(q.normalized)
        for f in sorted(q.focus, key=len, reverse=True):
            if len(f) < 2 or f not in name:
                continue
            rest = name[name.index(f) + len(f):]
            m = re.match(r"[\u4e00-\u9fff]{2,}?(率|比重|占比|比例|密度|指数|系数)$", rest)
            return bool(m) and m.group(1) not in asked and m.group(0)[:2] not in asked
        return False

    def _row_supplies(self, q: Question, row: str) -> bool:
        """A 专栏 row ("城镇化率（%）｜2025年：73.02｜2030年目标：75左右") supplies a number for the asked year
        (its column holds one, not "—"), in the unit its indicator name gives."""
        t = normalize(row)
        if self._row_of_another_measure(q, row):
            return False
        heads = re.findall(r"[（(]([^）)]{1,8})[）)]", normalize(row.split("｜")[0]))   # the last: 执业（助理）医师数（人）
        head_cls = unit_class_of(heads[-1]) if heads else None
        head_mult = heads[-1][:1] if heads else ""
        values = []
        for label, value in row_columns(row):
            if q.timeframe.years and YEAR_IN_TEXT.search(label) and not any(str(y) in label for y in q.timeframe.years):
                continue                     # another year's column
            values.append(value or label)
        found = [(c or head_cls, m.group(2) or head_mult) for v in values for c, m in quantity_spans(v)]
        return bool(found) and self._unit_ok(q, t, [c for c, _ in found], [m for _, m in found])
