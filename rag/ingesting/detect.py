"""What kind of file was given: the kind its extension names (pdf, docx, txt, md), confirmed by its content
(magic bytes, a zip's parts, a text check); a clear error for an unsupported or mismatched file.
"""
from __future__ import annotations

import codecs
import io
import unicodedata
from pathlib import Path

from .errors import IngestError

KINDS = {".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".text": "txt", ".md": "md", ".markdown": "md"}
_HINTS = {".doc": "请另存为 .docx / save it as .docx", ".wps": "请另存为 .docx / save it as .docx",
          ".rtf": "请另存为 .docx / save it as .docx", ".xlsx": "表格请粘贴到 .docx / paste the table into a .docx",
          ".ofd": "请导出为 PDF / export it as PDF", ".jpg": "图片需先做文字识别 / OCR it first",
          ".png": "图片需先做文字识别 / OCR it first"}


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
