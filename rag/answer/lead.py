"""The answer line: one line that says the answer, cut from the verified clauses, before the clauses themselves.

Nothing here is generated: every piece of the line is a verbatim segment of a cited clause (the segment that holds
the value the verifier found for the question's slot), a 专栏 row's cells, or a glossary entry. ``faithful`` then
checks the finished line the way ``eval`` scores it: every number and every quoted name must occur in one of the
cited quotes; a line that fails is not shown (the reply starts with the quoted clause, as before).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Sequence

from ..corpus import normalize
from ..lexicon import QUOTED
from .columns import item_title, paragraph_title
from .evidence import SEG_END, Check, Unit
from .question import Question
from .rules import Slot

# a short segment that only dates or frames the next one: "到2030年，" "其中，" "“十五五”时期，"
LEAD_IN = re.compile(r"^\s*(?:到|至|截至|力争到|预计到|其中|同时|此外|全年|今年|明年)?\s*(?:(?:19|20)\d{2}\s*年(?:底|末)?|"
                     r"“?[十][四五六]五”?(?:时期|期间|末)?)?\s*(?:其中|前|底|末)?\s*$")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
_NOT_CLAIMS = re.compile(r"\[\d+\]|《[^》]*》")
# shown arithmetic of two stated figures ("70 − 68.04 = 1.96"): the one kind of number the line may state that no
# quote does (U+2212 minus, so that a range such as 5—5.5 is never read as one)
ARITHMETIC = re.compile(r"(\d+(?:\.\d+)?)\s*−\s*(\d+(?:\.\d+)?)\s*=\s*(-?\d+(?:\.\d+)?)")
PLAIN_FIGURE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[%％]?\s*$")
ITEM_MARK = re.compile(r"^\s*(?:[一二三四五六七八九十]{1,3}是|[（(][一二三四五六七八九十\d]{1,3}[）)]|\d{1,2}\s*[．.、])")


@dataclass(frozen=True)
class LeadConfig:
    max_chars: int = 160          # an answer line longer than this is cut at a segment end
    head_chars: int = 40          # why/how and list items: each item's opening phrase up to this long
    max_items: int = 8
    whole_chars: int = 600        # why/how, definition and list answers: the whole clause up to this long

    def __post_init__(self):
        if self.max_chars < 20 or self.head_chars < 8 or self.max_items < 1:
            raise ValueError("LeadConfig: max_chars >= 20, head_chars >= 8, max_items >= 1")


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def _stated(value: str, text: str) -> bool:
    """``value`` occurs in ``text``; a number only whole (5 is not in 500 nor in 2.5; a sentence's full stop after
    it is no decimal point). evidence.has is the same test without that last allowance."""
    if NUMBER.fullmatch(value):
        return re.search(rf"(?<![\d.]){re.escape(value)}(?![\d]|\.\d)", text) is not None
    return value in text


def subtract(a: str, b: str) -> str:
    """``a − b`` written with as many decimals as the more precise of the two (70 − 68.04 = 1.96)."""
    places = max(len(x.partition(".")[2]) for x in (a, b))
    return f"{float(a) - float(b):.{places}f}"


def difference(a: str, b: str, unit: str = "") -> str | None:
    """The shown arithmetic of two figures, when both are plain figures (70, 68.04, 12.5%); None for a range,
    a bound or an estimate (5—5.5, ≥2.99, 75左右, 预计20): its difference is not a figure."""
    ma, mb = PLAIN_FIGURE.match(a), PLAIN_FIGURE.match(b)
    if not ma or not mb:
        return None
    x, y = ma.group(1), mb.group(1)
    return f"{x} − {y} = {subtract(x, y)}{unit}"


FIGURE_UNIT = re.compile(r"\s*([%％]|[万亿千百]?[^\W\d_]{0,3}?(?:人|元|米|吨|公斤|斤|个|家|所|张|件|项|公里|千瓦|立方米|亩|户|辆|次|台|套|座|平方米|公顷|床|岁|小时))")


# a 专栏 row's answer-line piece read back: indicator：column value（other columns）
ROW_PIECE = re.compile(r"([^：:]{2,40})[：:]\s*((?:19|20)\d{2}年\S*)?\s*([^（(；;]+)")
COLUMN_YEAR = re.compile(r"(?:19|20)\d{2}")


@dataclass(frozen=True)
class RowPiece:
    name: str         # 人均地区生产总值（万元）
    column: str       # 2030年目标 ('' when the piece names none)
    value: str        # 14, 75左右, ﹤5.5 — verbatim
    unit: str         # the last （…） of the name: 万元, 人 of 执业（助理）医师数（人）, %


def row_piece(value: str) -> RowPiece | None:
    """'人均地区生产总值（万元）：2030年目标 14（2025年 10.59）[1][5]' -> its name, first column, value and unit."""
    m = ROW_PIECE.match(value)
    if not m:
        return None
    units = re.findall(r"[（(]([^）)]{1,6})[）)]", m.group(1))
    return RowPiece(m.group(1), m.group(2) or "", m.group(3).strip(), units[-1] if units else "")


def column_year(cell: str) -> str:
    """The year labelling a 专栏 cell ('2030年目标：70' -> '2030'), '' for none."""
    m = COLUMN_YEAR.search(cell.partition("：")[0])
    return m.group(0) if m else ""


def figure_of(value: str, row: bool = False) -> tuple[str, str] | None:
    """The figure an answer-line piece states, with its unit: a 专栏 row's asked column (the first value after its
    name, the unit from its name's （…）), else the first number of the segment that is no year (the segment is
    cut around the slot's value, figures stated after it follow). None for a range, bound or estimate."""
    if row:
        piece = row_piece(value)
        fig = PLAIN_FIGURE.match(piece.value) if piece else None
        return (fig.group(1), piece.unit) if fig else None
    text = _NOT_CLAIMS.sub(" ", unicodedata.normalize("NFKC", value))
    for m in NUMBER.finditer(text):
        if re.match(r"\s*年", text[m.end():m.end() + 2]) or re.match(r"[—\-~～至]\s*\d", text[m.end():m.end() + 3]):
            continue
        if re.search(r"(?:≥|≤|>|<|﹤|﹥|超过|以上|以下|左右|约|预计)\s*$", text[max(0, m.start() - 3):m.start()]) \
                or re.match(r"\s*[^\W\d_]{0,4}(?:以上|以下|左右)", text[m.end():m.end() + 8]):
            return None                     # 60万人以上, 超过 5000 公里: a bound, no figure to subtract
        u = FIGURE_UNIT.match(text, m.end())
        return m.group(0), (u.group(1).strip() if u else "")
    return None


def _checked_arithmetic(text: str) -> str:
    """``text`` with each correct shown arithmetic reduced to its two operands (which must still be quoted); a
    wrong result stays and fails the check."""
    return ARITHMETIC.sub(lambda m: f"{m.group(1)} {m.group(2)}" if subtract(m.group(1), m.group(2)) == m.group(3)
                          else m.group(0), text)


def faithful(line: str, quotes: Sequence[str], locations: Sequence[str] = ()) -> bool:
    """Every number (a whole number, not inside a longer one) and every quoted name of ``line`` occurs in one of
    ``quotes``; citation markers, 《titles》 and the cited ``locations`` (专栏1, 第十五章) are not claims. The result
    of shown arithmetic (a − b = c) is not quoted: it must be right, and a and b quoted."""
    text = _checked_arithmetic(unicodedata.normalize("NFKC", line))
    for loc in locations:
        if loc:
            text = text.replace(unicodedata.normalize("NFKC", loc), " ")
    text = _NOT_CLAIMS.sub(" ", text)
    # cells and hard wraps: with whitespace kept as one space (…68.04 70…) and removed (a number wrapped 2\n025)
    qs = [_norm(q) for q in quotes] + [re.sub(r"\s+", " ", unicodedata.normalize("NFKC", q)) for q in quotes]
    for n in NUMBER.findall(text):
        if not any(_stated(n, q) for q in qs):
            return False
    return all(any(_norm(name) in q for q in qs) for name in QUOTED.findall(text))


def slot_values(line: str) -> list[str]:
    """The values an answer line states (numbers other than years, quoted names), for checking that another
    wording of the answer (an LLM's) states them too."""
    text = _NOT_CLAIMS.sub(" ", unicodedata.normalize("NFKC", line))
    text = re.sub(r"“[^”]*”[：:]文档中未提及", " ", text)
    nums = [m.group(0) for m in NUMBER.finditer(text) if not re.match(r"\s*年", text[m.end():m.end() + 2])]
    return list(dict.fromkeys(nums + QUOTED.findall(text)))


def missing_values(line: str, reply: str) -> list[str]:
    """The values of ``line`` that ``reply`` does not state (width and whitespace ignored), for each piece of the
    line (an ask, a side: they end with their [n] markers) that ``reply`` states none of. A piece's other figures
    are context (the 2025 column beside the 2030 target, the figure stated after the asked one): a reply need
    state one of them, not all."""
    r = _norm(_NOT_CLAIMS.sub(" ", unicodedata.normalize("NFKC", reply)))     # [1] does not state 1
    out = []
    for piece in re.split(r"(?<=\])；", line):
        values = slot_values(piece)
        if values and not any(_stated(_norm(v), r) for v in values):
            out += values
    return out


class AnswerLine:
    """``topic_spans(q, t)``: where the question's topic words are in a normalised text (the verifier's)."""

    def __init__(self, topic_spans: Callable[[Question, str], list[tuple[int, int]]], config: LeadConfig | None = None):
        self.topic_spans = topic_spans
        self.config = config or LeadConfig()

    def value(self, q: Question, unit: Unit, spans: Sequence[tuple[int, int]] = ()) -> str:
        """What the clause says the answer is, for the question's slot ('' when nothing shorter than the clause fits)."""
        if unit.hit.kind == "table_row":
            return self.row(q, unit.text)
        if unit.hit.kind == "glossary":
            return self.entry(unit.text)
        if unit.hit.kind == "item_list":            # a 专栏's numbered items: their titles are the list
            return self._fit("；".join(item_titles(unit.text)))
        if unit.hit.kind == "section":              # a section's titled paragraphs: their titles are the measures
            return self._fit("；".join(t for line in unit.text.split("\n") if (t := paragraph_title(line.strip()))))
        text = unit.text
        src = text if len(normalize(text)) == len(text) else normalize(text)
        if q.slot is Slot.LIST and spans:
            return self.listed(q, src, spans)
        if spans:
            return self.segments(q, src, spans)
        if q.slot in (Slot.WHY_HOW, Slot.DEFINITION, Slot.LIST):
            # the reasons or measures are the whole item group: a line of item heads drops most of them
            # (golden dev why_how: heads 0.20 of items with every keyword in the line, the whole clause 0.74)
            return src.strip() if len(src) <= self.config.whole_chars else self.heads(src)
        return self.cut(src)

    # -- pieces -----------------------------------------------------------------------------
    def segments(self, q: Question, src: str, spans: Sequence[tuple[int, int]]) -> str:
        """The segments (between ，；。) holding the spans, each widened to the topic word it is about and to a
        short lead-in that dates it ("到2030年，"), in text order, gaps shown as ……"""
        t = normalize(src)
        bounds = [0] + [m.end() for m in SEG_END.finditer(t)] + [len(t)]
        topic = self.topic_spans(q, t)

        def seg(pos: int) -> int:                 # index i of the segment bounds[i]..bounds[i+1] holding pos
            return max(i for i in range(len(bounds) - 1) if bounds[i] <= pos)

        picked: list[tuple[int, int]] = []
        for a, b in sorted(spans):
            i, j = seg(a), seg(max(a, b - 1))
            if topic and not any(bounds[i] <= x < bounds[j + 1] for x, _ in topic):
                # the value's segment does not name what it is (…，达到70%): widen back to the nearest topic word
                before = [x for x, _ in topic if x < bounds[i]]
                if before and bounds[i] - before[-1] <= 60:
                    i = seg(before[-1])
            while i > 0 and LEAD_IN.match(t[bounds[i - 1]:bounds[i]].rstrip("，,；;。 ")):
                i -= 1
            if q.slot is Slot.NUMBER:
                # the figures stated right after it in the same sentence (…8000亿元，从业人员新增30万人): a
                # question often asks two of them at once (golden dev: 5 of 13 number lines missing a keyword)
                while (j + 2 < len(bounds) and t[bounds[j + 1] - 1:bounds[j + 1]] in "，," and re.search(r"\d", t[bounds[j + 1]:bounds[j + 2]])
                       and bounds[j + 2] - bounds[i] <= self.config.max_chars):
                    j += 1
            picked.append((bounds[i], bounds[j + 1]))
        merged: list[list[int]] = []
        for a, b in sorted(picked):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        parts = [src[a:b].strip().rstrip("，,；;。") for a, b in merged]
        return self._fit("……".join(p for p in parts if p))

    def listed(self, q: Question, src: str, spans: Sequence[tuple[int, int]]) -> str:
        """A list: the 、 enumeration's segment, or for 一是/二是/（一） items each item's opening phrase, from
        the first item on."""
        t = normalize(src)
        a = min(x for x, _ in spans)
        if not re.match(r"[、；;]", t[a:a + 1]):          # 一是… （一）… : the items follow, sentence by sentence
            start = max((m.end() for m in SEG_END.finditer(t, 0, a)), default=0)
            intro = t[max(0, start - 1):a]
            if "：" in intro or ":" in intro:
                start = a
            return self.heads(src[start:])
        return self.segments(q, src, spans)

    def heads(self, src: str) -> str:
        """A why/how or list clause by its items: each sentence's (or 一是/二是 item's) opening phrase."""
        cfg = self.config
        parts = [p.strip() for p in re.split(r"[。；;！!？?]|(?=[一二三四五六七八九十]是)", src) if p.strip()]
        if len(parts) <= 1:
            return self.cut(src)
        heads = []
        for p in parts[: cfg.max_items]:
            first = SEG_END.split(p)[0].strip() if len(p) > cfg.head_chars else p
            if len(first) < 6 and len(p) > len(first):      # 一是，… / 其中，…: keep the next phrase too
                first = p[: cfg.head_chars]
            if len(first) > 2 * cfg.head_chars:             # a long phrase: cut after an item of its 、 list
                cut = max((m.start() for m in re.finditer("、", first, 0, 2 * cfg.head_chars)), default=2 * cfg.head_chars)
                first = first[:cut] + "等"
            heads.append(first)
        return self._fit("；".join(heads))

    def row(self, q: Question, row: str) -> str:
        """A 专栏 row as 'indicator：asked column value（other columns）'; the 属性 column is left out."""
        cells = [c.strip() for c in row.split("｜") if c.strip()]
        if len(cells) < 2:
            return row
        name, values = cells[0], [c for c in cells[1:] if not c.startswith("属性")]
        years = [str(y) for y in q.timeframe.years]

        def rank(cell: str) -> int:
            label = cell.partition("：")[0]
            if years and any(y in label for y in years):
                return 0
            if not years and q.timeframe.aspect != "actual" and "目标" in label:
                return 0
            return 1

        # a difference is said from the later figure (2030年目标 70（2025年 68.04）；差值：70 − 68.04 …)
        ordered = sorted(values, key=(lambda c: (rank(c), -int(column_year(c) or 0))) if q.difference else rank)
        show = lambda c: c.replace("：", " ", 1)  # noqa: E731 -- "2030年目标：75左右" -> "2030年目标 75左右"
        first, rest = show(ordered[0]), [show(c) for c in ordered[1:]]
        return f"{name}：{first}" + (f"（{'；'.join(rest)}）" if rest else "")

    @staticmethod
    def row_difference(q: Question, row: str) -> str | None:
        """比2025年高多少 of a 专栏 row: its later asked column minus its earlier one ('70 − 68.04 = 1.96个百分点';
        a row in % differs in 个百分点); None unless both are plain figures."""
        cells = [c.strip() for c in row.split("｜") if c.strip()]
        if len(cells) < 3:
            return None
        name, years = cells[0], [str(y) for y in q.timeframe.years]
        dated = [(column_year(c), c.partition("：")[2]) for c in cells[1:] if column_year(c)]
        asked = [d for d in dated if not years or d[0] in years]
        if len(asked) < 2:
            asked = dated
        if len(asked) < 2:
            return None
        (_, earlier), (_, later) = sorted(asked)[0], sorted(asked)[-1]
        unit = "个百分点" if re.search(r"[（(][%％][）)]", name) else ""
        return difference(later, earlier, unit)

    def entry(self, text: str) -> str:
        """A glossary entry as 'term：explanation' (its number 3． left out), the explanation cut to fit."""
        text = ITEM_MARK.sub("", text.strip(), count=1)
        m = re.search(r"[。：:]", text)
        cap = self.config.whole_chars            # an entry is said whole: the explanation is the answer
        if not m or m.start() > 40:
            return self._fit(text, cap)
        term, body = text[: m.start()].strip(), text[m.end():].strip()
        return self._fit(f"{term}：{body}", cap) if body else self._fit(term, cap)

    def cut(self, text: str) -> str:
        """The text up to its first sentence end, when that is long enough to say something."""
        text = text.strip()
        m = re.search(r"[。；;]", text)
        first = text[: m.start()] if m and m.start() >= 12 else text
        return self._fit(first)

    def _fit(self, text: str, cap: int | None = None) -> str:
        cap = cap or self.config.max_chars
        if len(text) <= cap:
            return text
        cut = max((m.start() for m in SEG_END.finditer(text, 0, cap)), default=cap)
        return text[:cut] + "……"


def item_titles(text: str) -> list[str]:
    """The titles of the numbered items in ``text`` (1．科技金融。…2．绿色金融。… -> 科技金融, 绿色金融), verbatim: each
    sentence read as ``columns.item_title`` reads an item's heading."""
    return [t for s in re.split(r"(?<=[。；;])", text) if (t := item_title(s))]


def spans_in(check: Check | None, unit: Unit) -> tuple[tuple[int, int], ...]:
    """The check's slot spans moved into ``unit`` (the whole clause quoted around the checked sentence)."""
    if check is None or not check.spans:
        return ()
    if check.unit is unit:
        return check.spans
    off = normalize(unit.text).find(normalize(check.unit.text))
    return tuple((a + off, b + off) for a, b in check.spans) if off >= 0 else ()
