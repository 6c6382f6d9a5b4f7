"""A PDF page's text as positioned lines (pypdf's text visitor; its plain text when the positions are
unusable), and the page edges cleaned: page numbers and running headers/footers dropped.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from .layout import _CTRL, RE_BARE_NUM, RE_PAGENO, _cjk


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
