"""TXT and Markdown to text: UTF-8 kept as is, UTF-16 and GB18030/GBK converted with a notice; Markdown's
heading marks, emphasis, links, code fences, bullets and pipe tables turned into the plain layout.
"""
from __future__ import annotations

import codecs
import re

from .errors import IngestError
from .layout import _table_lines


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
