"""Work-report structure: what a government work report (政府工作报告, national 1954–2025 or provincial) has that the
five plan documents do not, read by ``rag.parse`` only for documents of this family (so the five documents'
parse is untouched).

  * the "各位代表：" opening: what comes before it is the title block (title, ——date and meeting, 来源/时间 lines,
    the speaker), located 题注; the salutation itself is no clause;
  * the end matter of the wikisource copies (the licence notice "本作品是中华人民共和国的…", "Public domain") and
    of web pages (扫一扫…, 打印本页) is not content;
  * lines broken by the copy's links ("在聽了劉少奇同志\\n關於憲法草案的報告\\n並進行了…") are joined back into
    their paragraph (single line breaks inside a sentence, after the opening);
  * ——… and 【…】 lead-ins: a paragraph that opens with one is an item labelled by it;
  * footnote markers ［23］ and the 注释 they point to: each note is one glossary clause (marker, term and
    definition, which the source puts on two lines), and a clause citing a marker carries the note's text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .schema import Document

RE_OPENING = re.compile(r"^各位代表[：:！!，,]?$")
# the wikisource licence block and web-page chrome: everything from here on is no content
RE_TRAILER = re.compile(r"^(本作品是中华人民共和国的|注：中文维基文库社群认为|扫一扫在手机打开当前页)")
RE_NOTES_HEAD = re.compile(r"^(注\s*释|注\s*解|注)[：:]?$")
RE_NOTE = re.compile(r"^[［\[]\s*(\d{1,3})\s*[］\]]\s*(.*)$")
RE_MARKER = re.compile(r"[［\[]\s*(\d{1,3})\s*[］\]]")
RE_DASH_LEAD = re.compile(r"^——(?!\d{4}年)")           # "——2026年1月26日在…会议上" is the title block's date line
RE_BRACKET_LEAD = re.compile(r"^【([^】\n]{1,20})】")
RE_BARE_NUMERAL = re.compile(r"^[一二三四五六七八九十]{1,3}$")      # 1960: a part is headed by "二" alone
RE_DI_PART = re.compile(r"^(第[一二三四五六七八九十]{1,3})[、，,]\S")   # 1958: "第一、关于基本建设"
SENTENCE_END = "。；;：:！!？?）)”"
TITLE_CHARS = 40
PAGE_BREAK_CHARS = 30          # as parse._join_page_breaks: a shorter line before a blank line is a heading
ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")    # "各位代表：\u200d" (2015): invisible, not a difference
OPENING_WINDOW = 3000          # the salutation is in the first lines (measured: ≤ 600 characters in the 66 that have it)


@dataclass(frozen=True)
class Note:
    """One entry of a report's 注释: ``［12］“45432”发展架构：…`` (marker number, term, definition)."""
    number: str
    term: str
    text: str               # as the clause gives it: marker, term and definition joined


def is_work_report(doc: Document) -> bool:
    """The family: the manifest calls it a work report, or it opens with the "各位代表" salutation."""
    if "work report" in str(doc.meta.get("kind", "")).lower() or "工作报告" in str(doc.meta.get("kind", "")):
        return True
    head = doc.text[:OPENING_WINDOW]
    return any(RE_OPENING.match(_visible(line)) for line in head.split("\n"))


def _visible(s: str) -> str:
    return ZERO_WIDTH.sub("", s).strip()


def opening_index(texts: list[str]) -> int | None:
    """Index of the "各位代表：" paragraph, if it opens the report."""
    seen = 0
    for i, s in enumerate(texts):
        if RE_OPENING.match(_visible(s)):
            return i
        seen += len(s)
        if seen > OPENING_WINDOW:
            return None
    return None


def trailer_index(texts: list[str]) -> int:
    """Where the end matter starts (len(texts) when there is none)."""
    return next((i for i, s in enumerate(texts) if RE_TRAILER.match(_visible(s))), len(texts))


def joins_line(prev: str, nxt: str, gap: str) -> bool:
    """Whether ``nxt`` continues ``prev`` across the whitespace ``gap``: ``prev`` stops mid-sentence and ``nxt``
    starts nothing of its own (a heading, a lead-in, a note). Across one line break at any length (a link cut
    the line); across blank lines only after a long line (a page break, as ``parse._join_page_breaks``)."""
    if gap.strip() != "" or not (gap.count("\n") == 1 or len(prev) > PAGE_BREAK_CHARS):
        return False
    if (len(prev) <= TITLE_CHARS and not re.search(r"[，,。；;、：:]", prev) and len(nxt) > TITLE_CHARS
            and not re.match(r"[，,。；;、：:）)」”]", nxt)):
        return False            # a (sub)title over a paragraph: "国民经济的成就和今后的建设任务" / "周恩来总理在报告中…"
                                # (a link cut is followed by the link's words: "…締結了" / "友好同盟互助條約" / "。蘇聯…")
    return (bool(prev) and bool(nxt)
            and prev[-1] not in SENTENCE_END and not RE_NOTES_HEAD.match(prev) and not RE_NOTE.match(prev)
            and not RE_NOTE.match(nxt) and not RE_NOTES_HEAD.match(nxt) and not nxt.startswith(("——", "【"))
            and not RE_OPENING.match(nxt) and not RE_BARE_NUMERAL.match(prev) and not RE_BARE_NUMERAL.match(nxt))


def part_heading(s: str) -> str | None:
    """The short label of a heading form only reports use ("二" alone, "第一、关于…"), else None."""
    if RE_BARE_NUMERAL.match(s):
        return f"{s}、"
    m = RE_DI_PART.match(s)
    if m and len(s) <= 30 and not s.endswith("。"):
        return m.group(1)
    return None


def lead_in(s: str) -> str | None:
    """The label of a ——… or 【…】 lead-in paragraph: "——经济跨上新台阶", "【稳增长】"; else None."""
    m = RE_BRACKET_LEAD.match(s)
    if m:
        return f"【{m.group(1)}】"
    if RE_DASH_LEAD.match(s):
        head = re.split(r"[。；;，,：:！？]", s[2:], maxsplit=1)[0]
        return "——" + head[:20] if head else None
    return None


def notes_of(text: str, notes: dict[str, Note]) -> tuple[str, ...]:
    """The notes a clause's markers point to, in order of first mention."""
    nums = dict.fromkeys(RE_MARKER.findall(text))
    return tuple(notes[n].text for n in nums if n in notes)
