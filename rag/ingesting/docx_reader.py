"""DOCX to lines: body paragraphs and tables in document order, one-column tables (a 专栏 box) read as
paragraphs, text boxes after their paragraph; the title from the Title style or the core properties.
"""
from __future__ import annotations

import io
import re

from .errors import IngestError
from .layout import _table_lines


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
