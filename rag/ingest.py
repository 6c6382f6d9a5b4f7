"""Adding documents: PDF / DOCX / TXT / Markdown -> a UTF-8 .txt in the corpus folder + a manifest entry.

The converted .txt IS the document from then on: every citation quotes it verbatim (``text[start:end]``),
so the conversion produces exactly the plain-text layout ``rag/parse.py`` understands:

* one paragraph or heading per line (第X篇/章/节, 一、, （一）, 专栏…, 名词解释 stay on their own line);
* tables one cell per line with a leading tab, a blank line between rows (rebuilt per row by the parser;
  an empty cell is written as "—");
* PDF: running headers/footers (lines repeated at the top/bottom of most pages) and page numbers
  ("- 3 -", "第3页", "3/20", bare numbers that follow the page count) are dropped, lines broken by the
  layout inside a sentence are joined (a full-width line that doesn't end a sentence, followed by an
  un-indented line that doesn't start a heading/item), tables are rebuilt from the text positions;
* TXT: UTF-8 (BOM ok) is kept as is; GB18030/GBK (and UTF-16 with BOM) is converted, with a notice;
* Markdown: heading marks, emphasis, links and pipe tables are turned into the plain layout above.

``add_document`` converts, writes ``<id>.txt`` and registers ``{id, file, title, issuer, date, source_file,
converted_from, notice}`` in manifest.json (written atomically: temp file + os.replace, under a lock);
``remove_document`` drops the entry and the converted file. Re-indexing is the caller's job
(``Pipeline.reindex()``: only the new document is embedded). Every error is an ``IngestError`` whose
message ("中文 / English") names the file.
"""
from __future__ import annotations

import codecs
import contextlib
import hashlib
import io
import json
import os
import re
import statistics
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import MANIFEST

MAX_BYTES = 20 * 1024 * 1024          # upload / add limit (the API reads this at request time)
KINDS = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md"}
MARKER_LABELS = {"pdf": "PDF", "docx": "Word", "md": "Markdown", "txt-gb18030": "GB18030文本", "txt-utf16": "UTF-16文本"}
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")     # same rule as rag/corpus.py
_HINTS = {".doc": "请另存为 .docx / save it as .docx", ".wps": "请另存为 .docx / save it as .docx",
          ".rtf": "请另存为 .docx / save it as .docx", ".xlsx": "表格请粘贴到 .docx / paste the table into a .docx",
          ".ofd": "请导出为 PDF / export it as PDF", ".jpg": "图片需先做文字识别 / OCR it first",
          ".png": "图片需先做文字识别 / OCR it first"}

CN_NUM = "一二三四五六七八九十百零〇"
# a line that starts a block: never joined onto the previous line
RE_BLOCK = re.compile(rf"^(?:第[{CN_NUM}\d]+[篇章节]|[{CN_NUM}]+、|[（(][{CN_NUM}\d]+[）)]|专栏\s*\d|名\s*词\s*解\s*释|"
                      rf"附\s*件|附\s*表|目\s*录|注\s*[:：\d]|\d{{1,3}}\s*[．.、](?!\d)|[{CN_NUM}]+是)")
RE_STRUCT = re.compile(rf"^(?:第[{CN_NUM}]+[篇章节]|[{CN_NUM}]+、|[（(][{CN_NUM}]+[）)]|专栏\s*\d)")
RE_CATEGORY = re.compile(rf"^[{CN_NUM}]+、\S{{1,12}}$")
RE_PAGENO = re.compile(r"^(?:[-—–－~～·•\s]*\d{1,4}[-—–－~～·•\s]*|第\s*\d{1,4}\s*页(?:\s*[,，/／]?\s*共\s*\d{1,4}\s*页)?|"
                       r"\d{1,4}\s*[/／]\s*\d{1,4}|[Pp](?:age)?\.?\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?|"
                       r"[-—–－]\s*[IVXLCivxlc]{1,6}\s*[-—–－])$")
RE_BARE_NUM = re.compile(r"^\d{1,4}$")
RE_TITLE_WORD = re.compile(r"规划|纲要|方案|计划|报告|意见|办法|通知|条例|决定|规定|细则|公告|白皮书")
TERMINAL = "。！？!?；;"
EMPTY_CELL = "—"


class IngestError(ValueError):
    """A file that cannot be added (or a document that cannot be removed). ``str(e)`` is "中文 / English"
    and names the file; ``code``/``status`` map it to an HTTP error."""

    def __init__(self, name: str, zh: str, en: str, code: str = "invalid_document", status: int = 422):
        self.name, self.zh, self.en, self.code, self.status = name, f"{name}：{zh}", f"{name}: {en}", code, status
        super().__init__(f"{self.zh} / {self.en}")


@dataclass
class Converted:
    text: str                       # the UTF-8 text that becomes the corpus file
    kind: str                       # pdf | docx | txt | md
    converted_from: str | None      # None when the text is kept as is (a UTF-8 .txt)
    title_hint: str | None = None   # from metadata / the largest type on page 1 / the first heading
    running_title: str | None = None  # a PDF running header that names the document (a fallback title)
    notices: list[str] = field(default_factory=list)
    pages: int | None = None
    stats: dict = field(default_factory=dict)

    @property
    def notice(self) -> str | None:
        return "；".join(self.notices) or None


def converted_marker(meta) -> str:
    """'（由PDF转换）' for a document whose manifest entry (or meta dict) has ``converted_from``, else ''."""
    src = meta.get("converted_from") if isinstance(meta, dict) else meta
    if not src:
        return ""
    return f"（由{MARKER_LABELS.get(str(src), str(src).upper())}转换）"


# ============================================================================ type detection

def detect_kind(raw: bytes, filename: str) -> str:
    """The document kind from the extension, confirmed by the content (magic bytes / text check)."""
    name = Path(filename).name or "?"
    ext = Path(name).suffix.lower()
    if ext not in KINDS:
        hint = _HINTS.get(ext, "支持 .pdf .docx .txt .md / supported: .pdf .docx .txt .md")
        raise IngestError(name, f"不支持的文件类型“{ext or '无扩展名'}”（{hint.split(' / ')[0]}）",
                          f"unsupported file type '{ext or 'no extension'}' ({hint.split(' / ')[-1]})",
                          "unsupported_type", 415)
    kind = KINDS[ext]
    sniffed = sniff(raw)
    if sniffed != kind and not (kind == "md" and sniffed == "txt"):
        what = {"pdf": "PDF", "docx": "Word(.docx)", "zip": "ZIP", "txt": "纯文本 / plain text", None: "二进制 / binary"}[sniffed]
        raise IngestError(name, f"文件内容与扩展名不符（内容是 {what.split(' / ')[0]}，扩展名是 {ext}）",
                          f"content does not match the extension (content looks like {what.split(' / ')[-1]}, "
                          f"extension is {ext})", "type_mismatch", 415)
    return kind


def sniff(raw: bytes) -> str | None:
    """'pdf', 'docx', 'zip' (another zip), 'txt' or None (binary) from the bytes alone."""
    if b"%PDF-" in raw[:1024]:
        return "pdf"
    if raw[:4] == b"PK\x03\x04":
        import zipfile

        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                names = set(z.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return "zip"
        return "docx" if "word/document.xml" in names else "zip"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "txt"
    head = raw[:65536]
    if b"\x00" in head:
        return None
    for enc in ("utf-8", "gb18030"):
        text = head.decode(enc, errors="replace")        # a few bad bytes (or a character cut at 64 KB) are text
        bad = sum(1 for ch in text if ch == "\ufffd" or unicodedata.category(ch) in ("Cc", "Co", "Cs")
                  and ch not in "\n\r\t\f")
        if bad <= max(3, len(text) // 200):
            return "txt"
    return None


# ============================================================================ text clean-up

_KANGXI = re.compile(r"[\u2f00-\u2fdf\uf900-\ufaff]")     # Kangxi radicals / compatibility ideographs from PDF fonts
_CTRL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff\ufffe]")


def _clean_line(s: str) -> str:
    s = _CTRL.sub("", s)
    return _KANGXI.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), s)


def finish_text(lines: list[str]) -> str:
    """Join output lines: control characters dropped, trailing blanks stripped, at most one blank line."""
    out: list[str] = []
    for line in lines:
        for part in _clean_line(line).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            part = part.rstrip()
            if not part.strip():
                if out and out[-1] != "":
                    out.append("")
                continue
            out.append(part)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def _table_lines(rows: list[list[str]]) -> list[str]:
    """One cell per line with a leading tab, a blank line between rows (the layout parse.py rebuilds)."""
    out = [""]
    for row in rows:
        cells = [re.sub(r"\s*\n\s*", "", c).strip() for c in row]
        if not any(cells):
            continue
        out += [f"\t{c or EMPTY_CELL}" for c in cells] + [""]
    return out


def _cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _glue(a: str, b: str) -> str:
    """Separator when joining two pieces of one sentence: a space only between two Latin words/numbers."""
    return " " if a and b and not _cjk(a[-1]) and not _cjk(b[0]) and a[-1].isalnum() and b[0].isalnum() else ""


# ============================================================================ TXT / Markdown

def load_text(raw: bytes, name: str) -> tuple[str, str | None, str | None]:
    """(text, converted_from, notice): UTF-8 as is; UTF-16 (BOM) or GB18030/GBK converted with a notice."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "txt-utf16", "原文件为 UTF-16 编码，已转换为 UTF-8 / converted from UTF-16"
        except UnicodeDecodeError:
            raise IngestError(name, "UTF-16 文本已损坏", "corrupt UTF-16 text", "corrupt_file") from None
    try:
        return raw.decode("utf-8-sig"), None, None
    except UnicodeDecodeError as e:
        bad = raw.decode("utf-8", errors="replace").count("\ufffd")
        if bad <= max(3, len(raw) // 2000):          # UTF-8 with a few broken bytes, not another encoding
            raise IngestError(name, f"UTF-8 文本在第 {e.start} 字节处损坏（共 {bad} 处），请修复后再添加",
                              f"broken UTF-8 at byte {e.start} ({bad} bad sequences); fix the file first",
                              "bad_encoding") from None
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError as e:
        raise IngestError(name, f"无法识别的文本编码（第 {e.start} 字节），请另存为 UTF-8",
                          f"unknown text encoding (byte {e.start}); save it as UTF-8", "bad_encoding") from None
    return text, "txt-gb18030", "原文件为 GB18030/GBK 编码，已转换为 UTF-8 / converted from GB18030 (GBK) to UTF-8"


_MD_TABLE_SEP = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


def markdown_to_lines(text: str) -> tuple[list[str], str | None]:
    """Plain layout from Markdown: heading marks, emphasis, links, code fences, bullets and pipe tables."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].strip() == "---":                       # YAML front matter
        for k in range(1, min(len(lines), 60)):
            if lines[k].strip() in ("---", "..."):
                lines = lines[k + 1:]
                break
    text = re.sub(r"<!--.*?-->", "", "\n".join(lines), flags=re.S)
    out, title, table = [], None, []

    def inline(s: str) -> str:
        s = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", s)
        s = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", s)
        s = re.sub(r"(\*\*|__)(.+?)\1", r"\2", s)
        s = re.sub(r"`([^`]*)`", r"\1", s)
        s = re.sub(r"<br\s*/?>", "", s)
        return s

    def flush():
        if table:
            out.extend(_table_lines(table) + [""])
            table.clear()

    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("```") or s.startswith("~~~"):
            continue
        if s.startswith("|") and s.count("|") >= 2:
            if not _MD_TABLE_SEP.match(s):
                table.append([inline(c.strip()) for c in s.strip("|").split("|")])
            continue
        flush()
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*$", s)
        if m:
            s = inline(m.group(2))
            title = title or (s if len(m.group(1)) == 1 else None)
            out.append(s)
            continue
        s = re.sub(r"^>\s?", "", s)
        s = re.sub(r"^[-*+]\s+(?=\S)", "", s)
        if re.fullmatch(r"[-*_]{3,}", s):
            continue
        out.append(inline(s))
    flush()
    return out, title


# ============================================================================ DOCX

def docx_to_lines(raw: bytes, name: str) -> tuple[list[str], str | None]:
    """Body paragraphs and tables in document order; headings on their own line; single-column tables
    (a 专栏 box drawn as a table) are read as paragraphs; text boxes are kept after their paragraph."""
    try:
        import docx
        from docx.table import Table, _Cell
        from docx.text.paragraph import Paragraph

        d = docx.Document(io.BytesIO(raw))
    except Exception as e:  # zipfile.BadZipFile, KeyError (missing part), lxml errors ...
        raise IngestError(name, f"Word 文件已损坏或无法读取（{type(e).__name__}）",
                          f"corrupt or unreadable .docx ({type(e).__name__}: {str(e)[:80]})", "corrupt_file") from None
    out: list[str] = []
    title = None
    W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

    def para(p) -> None:
        nonlocal title
        text = p.text.replace("\t", " ")
        for line in text.split("\n"):
            out.append(line.strip())
        style = (p.style.name if p.style is not None else "") or ""
        if title is None and text.strip() and style in ("Title", "标题"):
            title = text.strip()
        for box in p._p.iter(f"{W}txbxContent"):
            if any(a.tag.endswith("}Fallback") for a in box.iterancestors()):
                continue                                      # VML copy of the same text box
            for bp in box.iter(f"{W}p"):
                out.append("".join(t.text or "" for t in bp.iter(f"{W}t")).strip())

    def cell_text(c) -> str:
        return "".join(line.strip() for line in c.text.split("\n"))

    def table(t) -> None:
        rows = []
        for tr in t._tbl.tr_lst:
            rows.append([_Cell(tc, t) for tc in tr.tc_lst])
        ncols = max((len(r) for r in rows), default=0)
        if ncols <= 1:                                         # a box or a one-column list: read as paragraphs
            for r in rows:
                for c in r:
                    blocks(c)
            return
        out.extend(_table_lines([[cell_text(c) for c in r] for r in rows]) + [""])

    def blocks(container) -> None:
        for b in container.iter_inner_content():
            if isinstance(b, Paragraph):
                para(b)
            elif isinstance(b, Table):
                table(b)

    try:
        blocks(d)
        core = (d.core_properties.title or "").strip()
    except Exception as e:
        raise IngestError(name, f"Word 文件结构无法解析（{type(e).__name__}）",
                          f"unreadable .docx structure ({type(e).__name__})", "corrupt_file") from None
    if core and re.search(r"[\u4e00-\u9fff]", core):
        title = core
    return out, title


# ============================================================================ PDF

@dataclass
class _Line:
    segs: list[list]           # [x, text] pieces separated by a wide gap (table cells)
    y: float
    fs: float
    x1: float
    page: int
    indent: bool = False
    frags: list = field(default_factory=list)   # (x, text) of every text fragment (cells of a table row)

    @property
    def x0(self) -> float:
        return self.segs[0][0]

    @property
    def text(self) -> str:
        return " ".join(t for _, t in self.segs)


def _width(s: str, fs: float) -> float:
    """Estimated advance: CJK and ambiguous-width (“ ” — …) characters 1 em, others half an em."""
    return fs * sum(1.0 if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 0.5 for ch in s)


def _fix_type0_encodings(resources, depth: int = 0) -> None:
    """Some writers (fpdf2 with CFF CJK fonts, a few others) embed the 2-byte encoding CMap of a Type0 font as
    a stream instead of naming /Identity-H; pypdf then splits each 2-byte code in two and the text comes out as
    NULs and wrong characters. For extraction only the code width matters (the text comes from /ToUnicode),
    so such fonts are read as /Identity-H -- on the in-memory copy only."""
    from pypdf.generic import NameObject

    try:
        resources = resources.get_object() if resources is not None else None
        if not resources:
            return
        fonts = resources.get("/Font")
        for key in (fonts.get_object() if fonts else {}):
            f = fonts.get_object()[key].get_object()
            enc = f.get("/Encoding")
            if f.get("/Subtype") != "/Type0" or enc is None or isinstance(enc, NameObject) or "/ToUnicode" not in f:
                continue
            data = enc.get_object().get_data()
            if re.search(rb"begincodespacerange\s*<0000>\s*<FFFF>", data, re.I):
                f[NameObject("/Encoding")] = NameObject("/Identity-H")
        xobjects = resources.get("/XObject")
        if depth < 3 and xobjects:
            for key in xobjects.get_object():
                xo = xobjects.get_object()[key].get_object()
                if xo.get("/Subtype") == "/Form":
                    _fix_type0_encodings(xo.get("/Resources"), depth + 1)
    except Exception:       # best effort: extraction still runs with the original encodings
        return


def _page_lines(page, pno: int) -> list[_Line]:
    """Lines of one page from the positioned text fragments (pypdf visitor), top to bottom."""
    frags = []

    def visit(text, cm, tm, font_dict, font_size):
        text = _CTRL.sub("", text or "")
        if not text.strip():
            return
        a = tm[0] * cm[0] + tm[1] * cm[2]
        b = tm[0] * cm[1] + tm[1] * cm[3]
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        fs = abs(float(font_size or 1)) * (a * a + b * b) ** 0.5 or 1.0
        for k, part in enumerate(text.split("\n")):
            if part.strip():
                frags.append((x, y - k * fs * 1.2, fs, part))

    page.extract_text(visitor_text=visit)
    frags.sort(key=lambda f: (-round(f[1], 1), f[0]))
    rows: list[list] = []
    for f in frags:
        if rows and abs(rows[-1][0][1] - f[1]) <= 0.45 * max(f[2], rows[-1][0][2]):
            rows[-1].append(f)
        else:
            rows.append([f])
    lines = []
    for row in rows:
        row.sort(key=lambda f: f[0])
        fs = max(f[2] for f in row)
        segs: list[list] = []
        end = None
        for x, _, _, raw in row:
            t = raw.strip()
            if end is not None and x - end <= 1.5 * fs:
                prev = segs[-1][1]
                spaced = raw[:1].isspace() or x - end > 0.3 * fs
                segs[-1][1] = prev + (" " if spaced and not (_cjk(prev[-1]) and _cjk(t[0])) else "") + t
            else:
                segs.append([x, t])
            end = max(end or x, x + _width(raw.rstrip(), fs))   # the leading indent is part of the advance
        first = row[0][3]
        indent = first[:1] in ("\u3000", " ") and len(first) - len(first.lstrip()) >= 2
        lines.append(_Line(segs, row[0][1], fs, end, pno, indent, [(x, raw.strip()) for x, _, _, raw in row]))
    return lines


def _plain_page_lines(page, pno: int) -> list[_Line]:
    """Fallback without positions: pypdf's plain text, one _Line per line (x in characters)."""
    out, y = [], 0.0
    for raw in _CTRL.sub("", page.extract_text() or "").split("\n"):
        t = raw.strip()
        y -= 1
        if t:
            indent = raw[:1] in ("\u3000", " ") and len(raw) - len(raw.lstrip()) >= 2
            out.append(_Line([[0.0, t]], y, 1.0, _width(t, 1.0), pno, indent, [(0.0, t)]))
    return out


def _edge_key(line: _Line) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line.text))


def strip_running(pages: list[list[_Line]]) -> dict:
    """Drop page numbers and running headers/footers (lines repeated at the top/bottom of most pages)
    from the page edges, in place. Returns counts for the notice, and the header texts seen."""
    n = len(pages)
    stats = {"page_numbers": 0, "running_lines": 0, "running_texts": []}
    # bare numbers at an edge count as page numbers when they follow the page index on most pages
    offsets: dict[int, int] = {}
    for i, lines in enumerate(pages):
        for line in {id(x): x for x in (lines[:1] + lines[-1:])}.values():
            if RE_BARE_NUM.match(line.text):
                offsets[int(line.text) - i] = offsets.get(int(line.text) - i, 0) + 1
    good_offsets = {o for o, c in offsets.items() if c >= max(2, (n + 1) // 2)}

    def is_pageno(line: _Line, i: int) -> bool:
        t = line.text.strip()
        if RE_BARE_NUM.match(t):
            return int(t) - i in good_offsets
        return bool(RE_PAGENO.match(t)) and len(line.segs) <= 2

    def drop_pagenos():
        for i, lines in enumerate(pages):
            for _ in range(2):
                if lines and is_pageno(lines[0], i):
                    lines.pop(0)
                    stats["page_numbers"] += 1
                if lines and is_pageno(lines[-1], i):
                    lines.pop()
                    stats["page_numbers"] += 1

    drop_pagenos()
    if n >= 2:
        K = 2
        count: dict[str, int] = {}
        for lines in pages:
            keys = {_edge_key(x) for x in lines[:K] + lines[-K:] if len(x.segs) < 3}
            for k in keys:
                count[k] = count.get(k, 0) + 1
        need = max(2, -(-n // 2))                      # on at least half of the pages (odd/even headers)
        running = {k for k, c in count.items() if c >= need and k}
        for lines in pages:
            for _ in range(K):
                if lines and len(lines[0].segs) < 3 and _edge_key(lines[0]) in running:
                    stats["running_texts"].append(lines.pop(0).text)
                    stats["running_lines"] += 1
                if lines and len(lines[-1].segs) < 3 and _edge_key(lines[-1]) in running:
                    stats["running_texts"].append(lines.pop().text)
                    stats["running_lines"] += 1
        drop_pagenos()
    return stats


def _tables_and_lines(lines: list[_Line]) -> list:
    """Group lines into ('line', _Line) and ('table', rows) blocks.

    A table starts at a line of >= 3 short cells (the header; its cell positions are the columns) followed by
    a line of >= 2 cells. Every text fragment goes to the column it starts in. A row is anchored at a line that
    fills the first column and another one (or most columns when the first column is often empty); the other
    lines of the table -- wrapped cell text, which a vertically centred row puts above and below its anchor --
    join the nearest anchor on the same page, top to bottom. A one-cell "一、经济发展" line is a category row."""
    out, i, n = [], 0, len(lines)
    while i < n:
        L = lines[i]
        nxt = next((x for x in lines[i + 1:i + 4] if len(x.segs) >= 2 or not (RE_CATEGORY.match(x.text) or len(x.text) <= 6)), None)
        if not (len(L.segs) >= 3 and all(len(t) <= 20 for _, t in L.segs) and nxt is not None and len(nxt.segs) >= 2):
            out.append(("line", L))
            i += 1
            continue
        cols = [x for x, _ in L.segs]
        fs = L.fs
        right = max(x.x1 for x in lines[i:i + 12])
        tol = 1.0 * fs

        def col_of(x: float) -> int:
            return max([k for k, c in enumerate(cols) if c - tol <= x] or [0])

        def col_width(k: int) -> float:
            return (cols[k + 1] if k + 1 < len(cols) else right) - cols[k]

        # 1. the lines that belong to the table
        members = [L]
        j = i + 1
        while j < n:
            M, prev = lines[j], members[-1]
            if M.page == prev.page and prev.y - M.y > 4 * fs:
                break
            if len(M.segs) == 1 and not RE_CATEGORY.match(M.text):
                k = col_of(M.x0)
                if RE_STRUCT.match(M.text) or RE_BLOCK.match(M.text) and k == 0 or _width(M.text, M.fs) > col_width(k) + fs:
                    break                                   # a heading or a prose line: the table ended
            members.append(M)
            j += 1
        # 2. cells per line
        cells_of = []
        for M in members:
            cells = [""] * len(cols)
            for x, t in M.frags:
                k = col_of(x)
                cells[k] += _glue(cells[k], t) + t
            cells_of.append(cells)
        multi = [c for c in cells_of[1:] if sum(1 for v in c if v) >= 2]
        key0 = bool(multi) and sum(1 for c in multi if c[0]) >= 0.6 * len(multi)

        def kind(m: int) -> str:
            M, c = members[m], cells_of[m]
            if m == 0:
                return "anchor"
            if len(M.segs) == 1 and RE_CATEGORY.match(M.text) and col_of(M.x0) == 0:
                return "category"
            filled = sum(1 for v in c if v)
            ok = (c[0] and filled >= 2) if key0 else filled >= max(2, len(cols) - 1)
            return "anchor" if ok else "orphan"

        kinds = [kind(m) for m in range(len(members))]
        anchors = [m for m, k in enumerate(kinds) if k == "anchor"]
        groups: dict[int, list[int]] = {m: [m] for m in anchors}
        for m, k in enumerate(kinds):
            if k != "orphan":
                continue
            same = [a for a in anchors if members[a].page == members[m].page]
            if same:
                a = min(same, key=lambda a: (abs(members[a].y - members[m].y), -a))
            else:
                a = max([a for a in anchors if a < m] or [0])
            groups[a].append(m)
        rows, header = [], None
        for m, k in enumerate(kinds):
            if k == "category":
                rows.append([members[m].text])
            elif k == "anchor":
                row = [""] * len(cols)
                for g in sorted(groups[m], key=lambda g: (members[g].page, -members[g].y)):
                    for c, v in enumerate(cells_of[g]):
                        if v:
                            row[c] += _glue(row[c], v) + v
                if header is None:
                    header = row
                elif row == header:
                    continue                                # the header repeated after a page break
                rows.append(row)
        if len(rows) >= 2:
            out.append(("table", rows))
            i = j
        else:
            out.append(("line", L))
            i += 1
    return out


def assemble_lines(lines: list[_Line]) -> tuple[list[str], int]:
    """Plain layout from positioned lines: tables rebuilt, layout line breaks inside sentences joined."""
    prose = [x for x in lines if len(x.segs) < 3 and len(x.text) >= 8]
    if prose:
        ends = sorted(x.x1 for x in prose)
        right = ends[int(0.9 * (len(ends) - 1))]
        left = statistics.median_low(sorted(x.x0 for x in prose))
    else:
        right, left = max((x.x1 for x in lines), default=0.0), 0.0
    blocks = _tables_and_lines(lines)
    # paragraphs marked by a first-line indent (most lines after a paragraph's short last line are indented):
    # then a line after a sentence end at the right margin that is not indented still continues the paragraph
    after_end = [b for (k, b), (pk, p) in zip(blocks[1:], blocks) if k == pk == "line" and p.text[-1:] in TERMINAL
                 and p.x1 < right - 4 * p.fs and not RE_BLOCK.match(b.text)]
    uses_indent = len(after_end) >= 3 and sum(1 for b in after_end if b.indent or b.x0 > left + 1.2 * b.fs) >= 0.6 * len(after_end)
    out: list[str] = []
    joined = 0
    prev: _Line | None = None
    for kind, b in blocks:
        if kind == "table":
            out.extend(_table_lines(b) + [""])
            prev = None
            continue
        t = b.text
        indented = b.indent or b.x0 > left + 1.2 * b.fs
        if (prev is not None and out and out[-1] and prev.x1 >= right - 4 * prev.fs
                and (out[-1][-1] not in TERMINAL or uses_indent and prev.x1 >= right - 1.5 * prev.fs)
                and not indented and not RE_BLOCK.match(t) and not RE_PAGENO.match(t)):
            out[-1] += _glue(out[-1], t) + t
            joined += 1
        else:
            out.append(t)
        prev = b
    return out, joined


def pdf_to_lines(raw: bytes, name: str) -> tuple[list[str], str | None, int, list[str], dict]:
    """(lines, title_hint, pages, notices, stats) from a PDF's text layer."""
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                raise IngestError(name, "PDF 已加密（需要密码），请先解除加密", "the PDF is encrypted (password needed)",
                                  "encrypted_pdf")
        pages = list(reader.pages)
    except IngestError:
        raise
    except Exception as e:
        raise IngestError(name, f"PDF 文件已损坏或无法读取（{type(e).__name__}）",
                          f"corrupt or unreadable PDF ({type(e).__name__}: {str(e)[:80]})", "corrupt_file") from None
    if not pages:
        raise IngestError(name, "PDF 没有页面", "the PDF has no pages", "empty_file")
    per_page: list[list[_Line]] = []
    empty_pages = []
    for pno, page in enumerate(pages):
        try:
            _fix_type0_encodings(page.get("/Resources"))
            lines = _page_lines(page, pno)
            plain = re.sub(r"\s+", "", _CTRL.sub("", page.extract_text() or ""))
            got = sum(len(re.sub(r"\s+", "", x.text)) for x in lines)
            if got < 0.8 * len(plain):          # positions unusable on this page: fall back to plain text
                lines = _plain_page_lines(page, pno)
        except Exception as e:
            raise IngestError(name, f"第 {pno + 1} 页无法提取文字（{type(e).__name__}）",
                              f"cannot extract text from page {pno + 1} ({type(e).__name__})", "corrupt_file") from None
        if not lines:
            empty_pages.append(pno + 1)
        per_page.append(lines)
    chars = sum(len(re.sub(r"\s+", "", x.text)) for lines in per_page for x in lines)
    if chars < max(20, 5 * len(pages)) or len(empty_pages) > 0.8 * len(pages):
        raise IngestError(name, "PDF 没有可提取的文字层（可能是扫描件），请先做文字识别（OCR）",
                          "no text layer in the PDF (a scanned document?); OCR it first", "no_text")
    notices = []
    if empty_pages:
        shown = ", ".join(map(str, empty_pages[:10])) + ("…" if len(empty_pages) > 10 else "")
        notices.append(f"第 {shown} 页没有文字层（扫描页？），其内容未收录 / pages {shown} have no text layer")
    title = _pdf_title(reader, per_page[0])
    stats = strip_running(per_page)
    lines, joined = assemble_lines([x for lines in per_page for x in lines])
    stats["joined_lines"] = joined
    return lines, title, len(pages), notices, stats


def _pdf_title(reader, first_page: list[_Line]) -> str | None:
    try:
        meta = reader.metadata
        t = (meta.title if meta else None) or ""
    except Exception:
        t = ""
    t = re.sub(r"^Microsoft Word\s*-\s*", "", str(t)).strip()
    if re.search(r"[\u4e00-\u9fff]", t) and len(t) <= 120:
        return t
    body = [x for x in first_page if len(x.text) >= 2 and not RE_PAGENO.match(x.text)]
    if not body:
        return None
    sizes = sorted(x.fs for x in body)
    base = statistics.median_low(sizes)
    big = [x for x in body[:8] if x.fs >= 1.2 * base]
    if not big:
        return None
    top = max(x.fs for x in big)
    parts = []
    for x in body:
        if abs(x.fs - top) < 0.05 * top:
            parts.append(x.text)
        elif parts:
            break
    title = "".join(parts).strip()
    return title if 2 <= len(title) <= 120 else None


# ============================================================================ conversion

def convert(raw: bytes, filename: str) -> Converted:
    """Bytes of an uploaded/added file -> Converted (the text written to the corpus)."""
    name = Path(filename).name or "?"
    if not raw:
        raise IngestError(name, "文件为空", "the file is empty", "empty_file")
    kind = detect_kind(raw, name)
    if kind == "pdf":
        lines, title, pages, notices, stats = pdf_to_lines(raw, name)
        notices.insert(0, f"由 PDF 转换（{pages} 页）：去除页码 {stats['page_numbers']} 处、页眉页脚 {stats['running_lines']} 处，"
                          f"合并排版断行 {stats['joined_lines']} 处 / converted from PDF")
        conv = Converted(finish_text(lines), "pdf", "pdf", title, notices=notices, pages=pages,
                         stats={k: v for k, v in stats.items() if k != "running_texts"},
                         running_title=next((t for t in stats["running_texts"] if RE_TITLE_WORD.search(t)), None))
    elif kind == "docx":
        lines, title = docx_to_lines(raw, name)
        conv = Converted(finish_text(lines), "docx", "docx", title, notices=["由 Word(.docx) 转换 / converted from DOCX"])
    else:
        text, conv_from, notice = load_text(raw, name)
        notices = [notice] if notice else []
        if kind == "md":
            lines, title = markdown_to_lines(text)
            conv = Converted(finish_text(lines), "md", "md", title, notices=["由 Markdown 转换 / converted from Markdown"] + notices)
        else:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            conv = Converted(text if conv_from is None else finish_text(text.split("\n")), "txt", conv_from, notices=notices)
    if not conv.text.strip():
        raise IngestError(name, "没有可用的文字内容", "no text content", "empty_file")
    if conv.title_hint:
        conv.title_hint = re.sub(r"\s+", " ", conv.title_hint).strip()[:120] or None
    return conv


def guess_title(text: str, fallback: str) -> str:
    """First heading-like lines before the first 篇/章/一、 heading (a title printed on two lines is joined)."""
    parts: list[str] = []
    for line in text.split("\n")[:80]:
        s = line.strip().lstrip("#").strip()
        if not s:
            continue
        if RE_STRUCT.match(s) or line.startswith("\t"):
            break
        if re.match(r"^(附件|附表|目录|抄送|\d+$)", s) or RE_PAGENO.match(s):
            if parts:
                break
            continue
        if len(s) <= 40 and s[-1] not in "。；，：:,;" and not re.search(r"\d{4}年\d{1,2}月\d{1,2}日$", s):
            parts.append(s)
            if len(parts) == 2 or len("".join(parts)) >= 24:
                break
            continue
        break
    title = "".join(parts)
    return title if len(title) >= 2 else fallback


def slugify(filename: str, raw: bytes = b"") -> str:
    """ASCII id from the file name (lower case [a-z0-9._-]); a content hash when nothing is left."""
    stem = Path(filename).stem
    s = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9._-]+", "-", s)
    s = re.sub(r"-{2,}", "-", s).strip("-._")[:60].strip("-._")
    if len(re.sub(r"[^a-z0-9]", "", s)) < 3:
        s = "doc-" + hashlib.sha256(raw or stem.encode("utf-8")).hexdigest()[:10]
    return s


# ============================================================================ manifest

_LOCK = threading.RLock()


@contextlib.contextmanager
def manifest_lock(corpus_dir: Path):
    """Serialises manifest updates across threads and processes (flock on a lock file outside the corpus)."""
    key = hashlib.sha256(str(Path(corpus_dir).resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"rag-manifest-{key}.lock"
    with _LOCK:
        try:
            import fcntl
        except ImportError:              # not POSIX: the thread lock only
            yield
            return
        with open(path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def _read_manifest_obj(corpus_dir: Path) -> dict:
    path = Path(corpus_dir) / MANIFEST
    if not path.exists():
        return {"documents": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise IngestError(MANIFEST, f"清单文件不是有效的 JSON（{e}）", f"invalid JSON ({e})", "bad_manifest", 500) from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise IngestError(MANIFEST, "缺少 documents 列表", "missing 'documents' list", "bad_manifest", 500)
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_manifest(corpus_dir: Path, data: dict) -> None:
    """manifest.json written atomically (temp file in the same folder + os.replace)."""
    _write_atomic(Path(corpus_dir) / MANIFEST, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


# ============================================================================ add / remove

def add_document(corpus_dir, source, *, filename: str | None = None, title: str | None = None,
                 issuer: str | None = None, date: str | None = None, doc_id: str | None = None,
                 max_bytes: int | None = None) -> dict:
    """Convert ``source`` (a path, or bytes with ``filename``) into ``<id>.txt`` in ``corpus_dir`` and register
    it in the manifest. Returns the manifest entry. Nothing is written when anything fails."""
    corpus_dir = Path(corpus_dir)
    limit = MAX_BYTES if max_bytes is None else max_bytes
    if isinstance(source, (bytes, bytearray)):
        name = Path(filename or "upload").name
        raw = bytes(source)
    else:
        p = Path(source)
        name = Path(filename).name if filename else p.name
        if not p.is_file():
            raise IngestError(name, "文件不存在", f"file not found: {p}", "not_found", 404)
        size = p.stat().st_size
        if size > limit:
            raise _too_large(name, size, limit)
        raw = p.read_bytes()
    if len(raw) > limit:
        raise _too_large(name, len(raw), limit)
    for label, value, cap in (("title", title, 200), ("issuer", issuer, 200), ("date", date, 40)):
        if value is not None and (not isinstance(value, str) or len(value) > cap):
            raise IngestError(name, f"{label} 过长或格式不对（上限 {cap} 字）", f"{label} too long (max {cap} chars)", "invalid_field")
    conv = convert(raw, name)
    if not corpus_dir.is_dir():
        raise IngestError(str(corpus_dir), "语料目录不存在", "corpus folder not found", "not_found", 500)
    with manifest_lock(corpus_dir):
        data = _read_manifest_obj(corpus_dir)
        docs = data["documents"]
        ids = {d.get("id") for d in docs if isinstance(d, dict)}
        files = {d.get("file") for d in docs if isinstance(d, dict)}
        if doc_id:
            if not _ID_RE.match(doc_id):
                raise IngestError(name, f"id“{doc_id}”不合法（只能用小写字母、数字和 . _ -）",
                                  f"invalid id '{doc_id}' (use [a-z0-9._-], starting with a letter or digit)", "invalid_id")
            if doc_id in ids or f"{doc_id}.txt" in files or (corpus_dir / f"{doc_id}.txt").exists():
                raise IngestError(name, f"id“{doc_id}”已存在，请先删除或换一个 id",
                                  f"id '{doc_id}' already exists; remove it first or pick another", "duplicate_id", 409)
            new_id = doc_id
        else:
            base = slugify(name, raw)[:70]
            new_id, k = base, 2
            while new_id in ids or f"{new_id}.txt" in files or (corpus_dir / f"{new_id}.txt").exists():
                new_id, k = f"{base}-{k}", k + 1
        doc_title = (title or "").strip() or conv.title_hint
        if not doc_title:
            guess = guess_title(conv.text, "")
            doc_title = guess if RE_TITLE_WORD.search(guess) else conv.running_title or guess or Path(name).stem
        entry = {"id": new_id, "file": f"{new_id}.txt", "title": doc_title}
        if issuer:
            entry["issuer"] = issuer.strip()
        if date:
            entry["date"] = date.strip()
        entry["source_file"] = name
        if conv.converted_from:
            entry["converted_from"] = conv.converted_from
        if conv.pages:
            entry["pages"] = conv.pages
        if conv.notice:
            entry["notice"] = conv.notice
        entry["added_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        entry["source_sha256"] = hashlib.sha256(raw).hexdigest()
        target = corpus_dir / entry["file"]
        _write_atomic(target, conv.text.encode("utf-8"))
        try:
            write_manifest(corpus_dir, {**data, "documents": docs + [entry]})
        except BaseException:
            with contextlib.suppress(OSError):
                target.unlink()
            raise
    return entry


def _too_large(name: str, size: int, limit: int) -> IngestError:
    mb = lambda n: f"{n / 1024 / 1024:.1f} MB"  # noqa: E731
    return IngestError(name, f"文件过大（{mb(size)}，上限 {mb(limit)}）", f"file too large ({mb(size)} > {mb(limit)})",
                       "file_too_large", 413)


def remove_document(corpus_dir, doc_id: str) -> dict:
    """Drop ``doc_id`` from the manifest and delete its converted file (files of documents that were not
    added by ``add_document`` -- no ``source_file`` in their entry -- are left on disk). Returns the entry
    with ``file_deleted``."""
    corpus_dir = Path(corpus_dir)
    with manifest_lock(corpus_dir):
        data = _read_manifest_obj(corpus_dir)
        docs = data["documents"]
        keep = [d for d in docs if not (isinstance(d, dict) and d.get("id") == doc_id)]
        if len(keep) == len(docs):
            raise IngestError(str(doc_id), "没有这个文档 id", "no document with this id", "unknown_document", 404)
        if not keep:
            raise IngestError(str(doc_id), "不能删除最后一个文档", "cannot remove the last document", "last_document", 409)
        entry = next(d for d in docs if isinstance(d, dict) and d.get("id") == doc_id)
        write_manifest(corpus_dir, {**data, "documents": keep})
        deleted = False
        fname = entry.get("file")
        if entry.get("source_file") and isinstance(fname, str) and fname and "/" not in fname and "\\" not in fname:
            with contextlib.suppress(FileNotFoundError):
                (corpus_dir / fname).unlink()
                deleted = True
    return {**entry, "file_deleted": deleted}
