"""PDF to lines: opens the file (encrypted, corrupt, scanned and empty ones refused with a clear error),
reads every page's lines, cleans the page edges, assembles the plain layout and finds the title.
"""
from __future__ import annotations

import io
import re
import statistics

from .errors import IngestError
from .layout import _CTRL, RE_PAGENO
from .pdf_layout import assemble_lines
from .pdf_lines import _fix_type0_encodings, _Line, _page_lines, _plain_page_lines, strip_running


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
