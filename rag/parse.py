"""Structure parser: turns a Document into Clauses with headings, a human location and exact offsets.

Understands, across the five documents:
  * 第X篇 / 第X章 / 第X节 headings, ``一、`` parts, ``（一）``/``(八)`` actions, ``1．``/``1.``/``一是`` items;
  * 专栏 boxes; a box whose body is a table flattened one cell per line (``\\t序号`` ...) is rebuilt into one
    clause per row that keeps the column names (``研发经费投入强度（%）｜2025年：2.6｜2030年目标：…``);
  * the 名词解释 glossary (numbered entries, or one term per line);
  * newspaper excerpts: hard line breaks inside sentences are joined for matching, and
    page markers such as （上接10版） / (下转 12 版) are not content.
Government work reports (national 1954–2025, provincial) get the rules of ``rag.reports`` on top: the 各位代表
opening and title block, ——/【】 lead-ins, footnote markers ［23］ and their 注释, end matter dropped.
Clause.text is for matching and embedding; Clause.start/end always point into the original text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import reports
from .schema import Clause, Document

CN_NUM = "一二三四五六七八九十百零〇"
RE_PIAN = re.compile(rf"^第[{CN_NUM}]+篇")
RE_ZHANG = re.compile(rf"^第[{CN_NUM}]+章")
RE_JIE = re.compile(rf"^第[{CN_NUM}]+节")
RE_BOX = re.compile(r"^专栏\s*(\d+)")
RE_PART = re.compile(rf"^(?:#+\s*)?([{CN_NUM}]+)、")
RE_ACTION = re.compile(rf"^(?:#+\s*)?([（(][{CN_NUM}]+[）)])")
RE_ITEM_NUM = re.compile(r"^(\d{1,3})\s*[．.](?!\d)")
RE_ITEM_SHI = re.compile(rf"^([{CN_NUM}]+是)")
RE_GLOSSARY = re.compile(r"^名\s*词\s*解\s*释$")
RE_MARKER = re.compile(r"[（(]\s*[上下][接转]\s*\d+\s*版\s*[）)]")
RE_CATEGORY = re.compile(rf"^[{CN_NUM}]+、\S{{1,12}}$")
RE_STOP = re.compile(r"^(抄送|附件：?$|附件\s*$|（按文本中出现先后顺序）|图\d+)")
MIN_CHARS = 6


@dataclass
class Para:
    """A paragraph: one line, or for hard-wrapped text a run of non-blank lines, joined."""
    text: str
    pos: list[int]          # pos[i] = offset in the original text of text[i]
    tabbed: bool = False

    @property
    def start(self) -> int:
        return self.pos[0]

    @property
    def end(self) -> int:
        return self.pos[-1] + 1

    def span(self, i: int, j: int) -> tuple[int, int]:
        return self.pos[i], self.pos[j - 1] + 1

    def cut(self, i: int, j: int) -> "Para":
        return Para(self.text[i:j], self.pos[i:j], self.tabbed)


def _lines(text: str):
    off = 0
    for line in text.split("\n"):
        yield off, line
        off += len(line) + 1


def is_hard_wrapped(text: str) -> bool:
    """Newspaper columns: most non-blank lines are short and end mid-sentence."""
    lines = [l.strip() for l in text.split("\n") if l.strip()]
    if len(lines) < 20:
        return False
    short = sum(1 for l in lines if 12 <= len(l) <= 32 and l[-1] not in "。：:；;！？")
    return short / len(lines) > 0.5


def _strip_line(off: int, line: str) -> tuple[str, list[int]]:
    a = len(line) - len(line.lstrip())
    b = len(line.rstrip())
    return line[a:b], list(range(off + a, off + b))


def _join(a: str, b: str) -> str:
    """What a line break between ``a`` and ``b`` stands for once joined: a space between two Latin words,
    nothing otherwise -- in Chinese text, and where a number or a subscript was set on its own line
    ("PM\n2.5\n）", "M\n2增长" in the 2014/2017/2019 national reports: PM2.5, M2)."""
    return " " if a and b and a[-1].isascii() and a[-1].isalpha() and b[0].isascii() and b[0].isalpha() else ""


def paragraphs(text: str, wrapped: bool, page_breaks: bool = True) -> list[Para]:
    paras: list[Para] = []
    cur: Para | None = None
    for off, line in _lines(text):
        s, pos = _strip_line(off, line)
        if not s:
            cur = None
            continue
        tabbed = line.startswith("\t")
        if wrapped and cur is not None and not _starts_block(s):
            sep = _join(cur.text, s)
            cur.text += sep + s
            cur.pos += ([pos[0] - 1] if sep else []) + pos
            continue
        cur = Para(s, pos, tabbed)
        paras.append(cur)
    paras = [_drop_markers(p) for p in paras]
    # page and column breaks cut paragraphs of both kinds of text (work reports join theirs in _report_paragraphs)
    return _join_page_breaks(paras) if page_breaks else paras


SENTENCE_END = "。；;：:！!？?）)”"


def _join_page_breaks(paras: list[Para]) -> list[Para]:
    """A long paragraph that stops mid-sentence and is followed, after a blank line, by text that starts
    no heading or item is one paragraph cut by a page break ("全市社会消费品零\n\n售总额")."""
    out: list[Para] = []
    for p in paras:
        prev = out[-1] if out else None
        if (prev is not None and len(prev.text) > 30 and prev.text[-1] not in SENTENCE_END
                and not prev.tabbed and not p.tabbed and p.text and not _is_heading(p.text)
                # an item's first line holds its title and its text ("5. 建设…城市。打造…江北国际机场 T3B 航站"):
                # a heading only when no sentence ends in it
                and not (_is_heading(prev.text) and "。" not in prev.text)):
            out[-1] = Para(prev.text + _join(prev.text, p.text) + p.text,
                           prev.pos + ([p.pos[0] - 1] if _join(prev.text, p.text) else []) + p.pos, prev.tabbed)
            continue
        out.append(p)
    return out


def _is_heading(s: str) -> bool:
    return bool(_starts_block(s) or RE_ZHANG.match(s) or RE_JIE.match(s) or RE_BOX.match(s)
                or RE_ITEM_NUM.match(s) or RE_GLOSSARY.match(s))


def _starts_block(s: str) -> bool:
    return bool(RE_ACTION.match(s) or RE_ITEM_SHI.match(s) or RE_PART.match(s) or RE_PIAN.match(s))


def _drop_markers(p: Para) -> Para:
    while True:
        m = RE_MARKER.search(p.text)
        if not m:
            return p
        t = p.text[:m.start()] + p.text[m.end():]
        pos = p.pos[:m.start()] + p.pos[m.end():]
        lead = len(t) - len(t.lstrip())
        tail = len(t.rstrip())
        p = Para(t[lead:tail], pos[lead:tail], p.tabbed)
        if not p.text:
            return Para("", [0], p.tabbed)


def first_sentence(s: str, limit: int = 60) -> str:
    m = re.search(r"[。；;]", s)
    head = s[: m.start()] if m else s
    return head[:limit]


@dataclass
class _State:
    levels: dict = field(default_factory=dict)   # level name -> (short label, full heading text)
    glossary: bool = False

    ORDER = ("pian", "zhang", "jie", "part", "action", "box")

    def set(self, level: str, short: str, full: str) -> None:
        i = self.ORDER.index(level)
        for lv in self.ORDER[i:]:
            self.levels.pop(lv, None)
        self.levels[level] = (short, full)

    def location(self, *extra: str) -> str:
        parts = [self.levels[lv][0] for lv in self.ORDER if lv in self.levels]
        return " ".join(p for p in [*parts, *extra] if p) or "正文开头"

    def headings(self, *extra: str) -> tuple[str, ...]:
        return tuple([self.levels[lv][1] for lv in self.ORDER if lv in self.levels] + [e for e in extra if e])


def parse(doc: Document) -> list[Clause]:
    text = doc.text
    wrapped = is_hard_wrapped(text)
    paras = paragraphs(text, wrapped)
    report = reports.is_work_report(doc)
    notes: dict[str, reports.Note] = {}
    opening = None
    if report:
        paras = _report_paragraphs(text, paragraphs(text, wrapped, page_breaks=False))
        notes = _collect_notes(paras)
        opening = reports.opening_index([p.text for p in paras])
    st = _State()
    out: list[Clause] = []
    i = body = 0

    def add(kind: str, p: Para, location: str, headings: tuple[str, ...], ctext: str | None = None) -> None:
        if not p.text or (kind != "table_row" and len(p.text) < MIN_CHARS):
            return
        ctext = ctext or p.text
        cited = reports.notes_of(ctext, notes) if notes and kind != "glossary" else ()
        out.append(Clause(doc.doc_id, kind, location, headings, ctext, p.start, p.end, cited))

    while i < len(paras):
        p = paras[i]
        s = p.text
        i += 1
        if not s:
            continue
        if report:
            if opening is not None and i - 1 <= opening:
                if i - 1 < opening:                 # the title block; the salutation itself is no clause
                    add("paragraph", p, "题注", ())
                continue
            if reports.RE_NOTES_HEAD.match(s):
                st.levels.clear()
                st.set("pian", "注释", s)
                st.glossary = False
                continue
            m = reports.RE_NOTE.match(s)
            if m and "pian" in st.levels and st.levels["pian"][0] == "注释":
                add("glossary", p, st.location(f"［{m.group(1)}］{_note_term(m.group(2))}"), st.headings())
                continue
            label = reports.part_heading(s)
            if label:
                st.set("part", label, s)
                continue
        if RE_GLOSSARY.match(s):
            st.levels.clear()
            st.set("pian", "附件 名词解释", "附件 名词解释")
            st.glossary = True
            continue
        if st.glossary:
            if s.startswith("抄送"):
                st.glossary = False
                st.levels.clear()
                continue
            if RE_STOP.match(s):
                continue
            m = RE_ITEM_NUM.match(s)
            if report and m and s.endswith(("：", ":")) and i < len(paras) and not _is_heading(paras[i].text):
                p = _merge(p, paras[i])     # "12.“单一窗口”：" / "指参与国际贸易…": the term, its definition below
                s = p.text
                i += 1
            body = s[m.end():] if m else s
            term = first_sentence(body, 40)
            label = (m.group(1) + "．" if m else "") + term
            add("glossary", p, st.location(label), st.headings(), s)
            continue
        if RE_PIAN.match(s):
            st.set("pian", _ordinal(s), s)
            continue
        if RE_ZHANG.match(s):
            st.set("zhang", _ordinal(s), s)
            continue
        if RE_JIE.match(s):
            st.set("jie", _ordinal(s), s)
            continue
        m = RE_BOX.match(s)
        if m and len(s) < 60:
            st.set("box", f"专栏{m.group(1)}", s)
            if _looks_like_table(paras, i):
                i = _parse_table(doc, paras, i, st, out)
            continue
        m = RE_PART.match(s)
        if m and len(s) < 60 and not s.endswith("。"):
            st.set("part", f"{m.group(1)}、", s.lstrip("# "))
            continue
        m = RE_ACTION.match(s)
        if m:
            st.set("action", m.group(1), first_sentence(s.lstrip("# ")))
            if len(first_sentence(s, 10_000)) + 1 >= len(s):
                continue           # a pure heading line
            add("paragraph", p, st.location(), st.headings())
            continue
        if RE_STOP.match(s) and len(s) < 30:
            continue
        label = reports.lead_in(s) if report else None
        if label:
            add("item", p, st.location(label), st.headings(first_sentence(s)))
            continue
        m = RE_ITEM_NUM.match(s) or RE_ITEM_SHI.match(s)
        if m:
            label = m.group(1) + ("．" if m.group(1).isdigit() else "")
            add("item", p, st.location(label), st.headings(first_sentence(s)))
            continue
        if report and not st.levels:
            body += 1               # a report without an outline (1954, 1964): its paragraphs by ordinal
            add("paragraph", p, f"第{body}段", ())
            continue
        add("paragraph", p, st.location(), st.headings())
    return out


def _merge(a: Para, b: Para) -> Para:
    """``b`` appended to ``a`` (what lies between them in the source is whitespace, or a space between Latin words)."""
    sep = _join(a.text, b.text)
    return Para(a.text + sep + b.text, a.pos + ([b.pos[0] - 1] if sep else []) + b.pos, a.tabbed)


def _report_paragraphs(text: str, paras: list[Para]) -> list[Para]:
    """A work report's paragraphs: end matter cut off, lines broken by the copy's links joined back (after the
    opening), each 注释 entry's definition lines joined to its ［n］ line."""
    paras = paras[:reports.trailer_index([p.text for p in paras])]
    opening = reports.opening_index([p.text for p in paras])
    out: list[Para] = []
    in_notes = False
    for k, p in enumerate(paras):
        prev = out[-1] if out else None
        in_notes = in_notes or bool(reports.RE_NOTES_HEAD.match(p.text))
        if prev is not None and in_notes and reports.RE_NOTE.match(prev.text) and not reports.RE_NOTE.match(p.text) \
                and not _is_heading(p.text):
            out[-1] = _merge(prev, p)
            continue
        if (prev is not None and not in_notes and (opening is None or k > opening + 1)
                and not _is_heading(prev.text) and not _is_heading(p.text) and not prev.tabbed and not p.tabbed
                and reports.joins_line(prev.text, p.text, text[prev.end:p.start])):
            out[-1] = _merge(prev, p)
            continue
        out.append(p)
    return out


def _collect_notes(paras: list[Para]) -> dict[str, reports.Note]:
    """The 注释 entries (after a 注释 heading), by marker number."""
    notes: dict[str, reports.Note] = {}
    in_notes = False
    for p in paras:
        if reports.RE_NOTES_HEAD.match(p.text):
            in_notes = True
            continue
        m = reports.RE_NOTE.match(p.text) if in_notes else None
        if m and m.group(1) not in notes:
            notes[m.group(1)] = reports.Note(m.group(1), _note_term(m.group(2)), p.text)
    return notes


def _note_term(rest: str) -> str:
    """The term of a note, "［12］“45432”发展架构：第一个…" -> "“45432”发展架构"."""
    return re.split(r"[：:。]", rest, maxsplit=1)[0][:30]


def _ordinal(s: str) -> str:
    m = re.match(rf"^第[{CN_NUM}]+[篇章节]", s)
    return m.group(0) if m else s[:6]


# ----------------------------------------------------------------------------- tables

def _looks_like_table(paras: list[Para], i: int) -> bool:
    """A flattened table starts with >= 3 short tab-indented header cells."""
    cells = 0
    for p in paras[i:i + 6]:
        if p.tabbed and len(p.text) <= 12:
            cells += 1
        else:
            break
    return cells >= 3


def _is_table_end(p: Para) -> bool:
    s = p.text
    return bool(RE_PIAN.match(s) or RE_ZHANG.match(s) or RE_JIE.match(s) or RE_BOX.match(s)
                or s.startswith("注") or (not p.tabbed and len(s) > 20))


def _parse_table(doc: Document, paras: list[Para], i: int, st: _State, out: list[Clause]) -> int:
    """Rebuild rows from one-cell-per-line text. Rows are separated by blank lines in the source;
    an un-indented short line continues the previous cell (e.g. a header wrapped as 2030年 / 目标)."""
    text = doc.text
    rows: list[list[Para]] = []
    row: list[Para] = []
    prev_end = None
    while i < len(paras):
        p = paras[i]
        if _is_table_end(p):
            break
        blank_before = prev_end is not None and "\n\n" in text[prev_end:p.start].replace("\t", "").replace(" ", "")
        if not p.tabbed and row:
            last = row[-1]
            row[-1] = Para(last.text + p.text, last.pos + p.pos, True)
        else:
            if blank_before and row:
                rows.append(row)
                row = []
            row.append(p)
        prev_end = p.end
        i += 1
    if row:
        rows.append(row)
    if not rows:
        return i
    header = [c.text for c in rows[0]]
    name_col = next((k for k, h in enumerate(header) if "名称" in h or "指标" in h), 1 if len(header) > 1 else 0)
    category = ""
    for r in rows[1:]:
        cells = [c.text for c in r]
        if len(cells) == 1 and RE_CATEGORY.match(cells[0]):
            category = cells[0]
            continue
        name = cells[name_col] if name_col < len(cells) else cells[0]
        vals = [f"{h}：{v}" for k, (h, v) in enumerate(zip(header, cells)) if k != name_col and "序号" not in h]
        vals += cells[len(header):]
        row_text = "｜".join([name, *vals])
        start, end = r[0].start, r[-1].end
        loc = st.location(f"「{name}」")
        heads = st.headings(category, "｜".join(header))
        out.append(Clause(doc.doc_id, "table_row", loc, heads, row_text, start, end))
    return i


def align(orig: str, sub: str) -> list[int]:
    """Offsets in ``orig`` of each character of ``sub``, where ``sub`` is ``orig`` with some
    whitespace (joined hard line breaks) or page markers removed. A whitespace character of ``sub``
    matches any whitespace of ``orig``: joining "PM" / "2.5" across a line break keeps a space where
    the original has the newline. Raises ValueError otherwise."""
    out, j = [], 0
    n = len(orig)
    for ch in sub:
        if ch.isspace():
            while j < n and not orig[j].isspace():
                j += 1
        else:
            while j < n and orig[j] != ch:
                j += 1
        if j >= n:
            raise ValueError("text is not a subsequence of the original")
        out.append(j)
        j += 1
    return out


def plain_parse(doc: Document) -> list[Clause]:
    """The fallback when ``parse`` fails on a document: one clause per paragraph (a run of non-blank
    lines), no headings, offsets exactly those of the lines. Located as 第N段 (the paragraph's ordinal)."""
    out: list[Clause] = []
    n = 0
    for p in paragraphs(doc.text, wrapped=False):
        if len(p.text) < MIN_CHARS:
            continue
        n += 1
        out.append(Clause(doc.doc_id, "paragraph", f"第{n}段", (), p.text, p.start, p.end))
    return out
