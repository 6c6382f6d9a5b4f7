"""Bytes of a file to ``Converted``, the text written to the corpus: its kind detected, the reader for that kind
run, the notices of what the conversion did; and the label a converted document carries (``converted_marker``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .detect import detect_kind
from .docx_reader import docx_to_lines
from .errors import IngestError
from .layout import RE_TITLE_WORD, finish_text
from .pdf_reader import pdf_to_lines
from .text_reader import load_text, markdown_to_lines

MARKER_LABELS = {"pdf": "PDF", "docx": "Word", "md": "Markdown", "txt-gb18030": "GB18030文本", "txt-utf16": "UTF-16文本"}


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
