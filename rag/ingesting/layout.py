"""The plain-text layout every reader writes (the one ``rag/parse.py`` understands): the patterns of headings,
items, categories and page numbers, and the clean-up shared by the readers -- control characters dropped, at most
one blank line, tables one cell per line, pieces of a sentence glued without a stray space.
"""
from __future__ import annotations

import re
import unicodedata

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
