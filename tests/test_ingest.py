"""Adding documents (rag/ingest.py: rag/ingesting/, `python -m rag add|remove`, POST/DELETE /api/admin/documents).

Builds small REAL files inside the test -- a .docx with python-docx and a multi-page .pdf with fpdf2 (a CJK
font from Debian's fonts-noto-cjk; skipped with the reason when no CJK font is installed) -- containing
第一篇/第一章/第一节 headings, a 专栏 indicator table, a 名词解释 glossary and (PDF) a running header/footer
with page numbers. Everything runs on tmp copies of the corpus with the fake embedder."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag import ingest
from rag.corpus import Corpus, load_corpus
from rag.ingest import IngestError, add_document, convert, remove_document
from rag.ingesting import add_remove
from rag.parse import parse
from rag.schema import Document

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "ingest-admin-token"

TITLE = "重庆市柏溪区国民经济和社会发展第十五个五年规划纲要"
HEADER = "柏溪区“十五五”规划纲要（公开征求意见稿）"
LONG_1 = ("“十四五”时期，柏溪区地区生产总值年均增长6.8%，规模以上工业企业达到386家，城乡居民人均可支配收入"
          "分别增长5.9%和7.4%，生态环境质量持续改善，成功创建国家生态文明建设示范区，经济社会发展取得新的显著成就，"
          "为开启全面建设社会主义现代化新征程奠定了坚实基础。")
LONG_2 = ("到2030年，柏溪区将建成4个国家级智慧农业示范园，培育规模以上农产品加工企业60家，"
          "农村居民人均可支配收入年均增长7%以上，城乡融合发展体制机制更加健全，乡村全面振兴取得决定性进展。")
FILLER = ("坚持以人民为中心的发展思想，统筹发展和安全，持续推动经济实现质的有效提升和量的合理增长，"
          "着力构建现代化产业体系，深入实施创新驱动发展战略，不断增强区域综合实力和竞争力。")
TABLE = [("序号", "指标名称", "2025年", "2030年目标", "属性"),
         ("1", "地区生产总值增速（%）", "6.3", "6左右", "预期性"),
         ("2", "研发经费投入强度（%）", "2.1", "2.8", "预期性"),
         ("3", "森林覆盖率（%）", "52.1", "56.5", "约束性")]
GLOSSARY = [("“星桥工程”", "指柏溪区实施的乡村数字网络全覆盖工程，到2030年建成5G基站1200个。"),
            ("“三园一带”", "即智慧农业园、物流产业园、文旅融合园和綦河生态经济带。")]


def plan_blocks(pages_of_filler: int = 1):
    """The test plan as (kind, content) blocks in reading order."""
    yield "title", TITLE
    yield "h", "第一篇 总体要求"
    yield "h", "第一章 发展基础"
    yield "h", "第一节 主要成就"
    yield "p", LONG_1
    for _ in range(pages_of_filler):
        yield "p", FILLER * 3
    yield "h", "第二节 主要目标"
    yield "p", LONG_2
    yield "h", "专栏1 “十五五”经济社会发展主要指标"
    yield "table", TABLE
    yield "h", "第二章 构建现代化产业体系"
    yield "p", FILLER * 2
    yield "h", "第二篇 保障措施"
    yield "h", "第三章 强化规划实施"
    yield "p", FILLER * 2
    yield "h", "名词解释"
    for term, body in GLOSSARY:
        yield "p", f"{term}。{body}"


def make_docx(path: Path, pages_of_filler: int = 1) -> Path:
    import docx

    d = docx.Document()
    d.core_properties.title = ""
    d.sections[0].header.paragraphs[0].text = HEADER               # Word headers/footers are not body text
    d.sections[0].footer.paragraphs[0].text = "柏溪区发展和改革委员会印发"
    for kind, content in plan_blocks(pages_of_filler):
        if kind == "title":
            d.add_paragraph(content, style="Title")
        elif kind == "h":
            d.add_heading(content, level=1)
        elif kind == "p":
            d.add_paragraph(content)
        else:
            t = d.add_table(rows=len(content), cols=len(content[0]))
            for r, row in enumerate(content):
                for c, cell in enumerate(row):
                    t.cell(r, c).text = cell
    d.save(str(path))
    return path


def cjk_font() -> tuple[str, int] | None:
    """A CJK font file fpdf2 can embed (TTF/OTF, or a face of a .ttc collection), via fc-list."""
    cands = []
    try:
        out = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20).stdout
        cands = [line.split(":")[0].strip() for line in out.splitlines() if line.strip()]
    except (OSError, subprocess.SubprocessError):
        pass
    cands += [str(p) for p in Path("/usr/share/fonts").rglob("*") if p.suffix.lower() in (".ttf", ".otf", ".ttc")
              and any(k in p.name.lower() for k in ("cjk", "wqy", "droid", "arphic", "uming", "ukai"))] \
        if Path("/usr/share/fonts").exists() else []
    cands.sort(key=lambda p: ("Sans" not in p, "Bold" in p, p))
    from fpdf import FPDF

    for path in dict.fromkeys(cands):
        for face in ((2, 0) if path.lower().endswith(".ttc") else (0,)):
            try:
                pdf = FPDF()
                pdf.add_font("cjk", fname=path, collection_font_number=face)
                pdf.add_page()
                pdf.set_font("cjk", size=12)
                pdf.cell(0, 8, "规划纲要")
                pdf.output()
                return path, face
            except Exception:
                continue
    return None


FONT = None


def font_or_skip() -> tuple[str, int]:
    global FONT
    if FONT is None:
        FONT = cjk_font() or ("", 0)
    if not FONT[0]:
        pytest.skip("no CJK TTF/OTF/TTC font found by fc-list (apt-get install fonts-noto-cjk); the PDF tests need one "
                    "to render Chinese text")
    return FONT


def make_pdf(path: Path, pages_of_filler: int = 3, font: tuple[str, int] | None = None) -> Path:
    """A real multi-page PDF: running header + footer with '- n -' page numbers, wrapped paragraphs, a table."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    fname, face = font or font_or_skip()

    class Plan(FPDF):
        def header(self):
            self.set_font("cjk", size=9)
            self.cell(0, 6, HEADER, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

        def footer(self):
            self.set_y(-18)
            self.set_font("cjk", size=9)
            self.cell(0, 6, "柏溪区发展和改革委员会印发", align="L")
            self.set_y(-12)
            self.cell(0, 6, f"- {self.page_no()} -", align="C")

    pdf = Plan(format="A4")
    pdf.set_auto_page_break(True, margin=25)
    pdf.add_font("cjk", fname=fname, collection_font_number=face)
    pdf.add_page()
    for kind, content in plan_blocks(pages_of_filler):
        if kind == "title":
            pdf.set_font("cjk", size=18)
            pdf.multi_cell(0, 10, content, align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        elif kind == "h":
            pdf.set_font("cjk", size=12)
            pdf.multi_cell(0, 8, content, align="L", new_x="LMARGIN", new_y="NEXT")
        elif kind == "p":
            pdf.set_font("cjk", size=11)
            pdf.multi_cell(0, 7, "\u3000\u3000" + content, align="L", new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
        else:
            pdf.set_font("cjk", size=10)
            with pdf.table(col_widths=(12, 60, 25, 30, 20), headings_style=FontFace(emphasis=""),
                           text_align="LEFT") as t:
                for row in content:
                    r = t.row()
                    for cell in row:
                        r.cell(cell)
            pdf.ln(2)
    pdf.output(str(path))
    return path


def corpus_text_blocks(text: str):
    """Blocks of a corpus-layout text (as parse.py reads it): tab-prefixed cells grouped into table rows
    (a blank line starts a row, an un-indented short line continues the previous cell), other lines paragraphs."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].startswith("\t"):
            if lines[i].strip():
                yield "p", lines[i].strip()
            i += 1
            continue
        rows: list[list[str]] = [[]]
        blank = False
        while i < len(lines):
            s = lines[i]
            if s.startswith("\t") and s.strip():
                if blank and rows[-1]:
                    rows.append([])
                rows[-1].append(s.strip())
                blank = False
            elif not s.strip():
                blank = True
            elif rows[-1] and len(s.strip()) <= 20 and not s.startswith(("第", "专栏", "注")):
                rows[-1][-1] += s.strip()
                blank = False
            else:
                break
            i += 1
        rows = [r for r in rows if r]
        if len(rows) < 2 or max(map(len, rows)) < 3:
            for r in rows:
                for c in r:
                    yield "p", c
        else:
            yield "table", rows


def render_text_pdf(text: str, path: Path, font: tuple[str, int], header: str = HEADER) -> int:
    """A PDF of a corpus-layout text (running header, footer page numbers, tables as tables). Returns pages."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    class Doc(FPDF):
        def header(self):
            self.set_font("cjk", size=9)
            self.cell(0, 6, header, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

        def footer(self):
            self.set_y(-12)
            self.set_font("cjk", size=9)
            self.cell(0, 6, f"第{self.page_no()}页", align="C")

    pdf = Doc(format="A4")
    pdf.set_auto_page_break(True, margin=22)
    pdf.add_font("cjk", fname=font[0], collection_font_number=font[1])
    pdf.add_page()
    for kind, b in corpus_text_blocks(text):
        if kind == "p":
            pdf.set_font("cjk", size=11)
            pdf.multi_cell(0, 7, ("" if len(b) < 40 else "\u3000\u3000") + b, align="L", new_x="LMARGIN", new_y="NEXT",
                           wrapmode="CHAR")
            continue
        ncols = max(len(r) for r in b)
        pdf.set_font("cjk", size=9)
        widths = [12] + [60] + [(190 - 72) // max(1, ncols - 2)] * (ncols - 2)
        with pdf.table(col_widths=widths[:ncols], headings_style=FontFace(emphasis=""), text_align="LEFT") as t:
            for r in b:
                row = t.row()
                if len(r) == 1:
                    row.cell(r[0], colspan=ncols)
                    continue
                for c in (r + [""] * ncols)[:ncols]:
                    row.cell(c)
        pdf.ln(2)
    pdf.output(str(path))
    return pdf.page_no()


# ====================================================================================== fixtures

def settings_for(base: Path, **over):
    from rag.settings import Settings

    return Settings(**{**dict(embedder="fake", corpus_dir=base / "corpus", index_dir=base / "index",
                              feedback_db=base / "feedback.sqlite3", backend="extractive", admin_token=TOKEN,
                              rate_limit_per_minute=10_000), **over})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A tmp copy of the real corpus and its fake-embedder index, built once for the module."""
    from rag.pipeline import Pipeline

    base = tmp_path_factory.mktemp("ingest-base")
    (base / "corpus").mkdir()
    for f in [ROOT / "corpus" / "manifest.json", *(ROOT / "corpus").glob("*.txt")]:
        shutil.copy2(f, base / "corpus" / f.name)
    Pipeline(settings_for(base), progress=False)
    return base


@pytest.fixture
def env(built, tmp_path):
    """A fresh copy of the built corpus + index for one test (tests add and remove documents)."""
    shutil.copytree(built / "corpus", tmp_path / "corpus")
    shutil.copytree(built / "index", tmp_path / "index")
    return tmp_path


def converted_doc(text: str) -> Document:
    return Document("t", "t", "/t", text, "0")


def clauses_by_kind(text: str) -> dict:
    out: dict = {}
    for c in parse(converted_doc(text)):
        out.setdefault(c.kind, []).append(c)
    return out


def manifest(corpus_dir: Path) -> dict:
    return json.loads((corpus_dir / "manifest.json").read_text(encoding="utf-8"))


def doc_files(corpus_dir: Path) -> set[str]:
    return {p.name for p in corpus_dir.iterdir()}


def check_plan_structure(text: str) -> None:
    """What both the DOCX and the PDF conversions must give the parser."""
    lines = text.split("\n")
    for h in ("第一篇 总体要求", "第一章 发展基础", "第一节 主要成就", "第二节 主要目标", "第二篇 保障措施", "名词解释",
              "专栏1 “十五五”经济社会发展主要指标"):
        assert h in lines, f"heading {h!r} is not on its own line"
    assert LONG_1 in lines and LONG_2 in lines, "a paragraph was not joined back into one line"
    kinds = clauses_by_kind(text)
    by_text = {c.text: c for cs in kinds.values() for c in cs}
    assert by_text[LONG_1].location == "第一篇 第一章 第一节"
    assert by_text[LONG_2].location == "第一篇 第一章 第二节"
    rows = {c.text: c for c in kinds["table_row"]}
    row = "森林覆盖率（%）｜2025年：52.1｜2030年目标：56.5｜属性：约束性"
    assert row in rows, sorted(rows)
    assert rows[row].location == "第一篇 第一章 第二节 专栏1 「森林覆盖率（%）」"
    assert len(rows) == len(TABLE) - 1
    gloss = {c.location: c for c in kinds["glossary"]}
    assert "附件 名词解释 “星桥工程”" in gloss
    assert gloss["附件 名词解释 “星桥工程”"].text == "“星桥工程”。" + GLOSSARY[0][1]
    for c in parse(converted_doc(text)):           # offsets point into the converted text
        assert 0 <= c.start < c.end <= len(text)


# ====================================================================================== conversion

def test_docx_conversion_structure(tmp_path):
    path = make_docx(tmp_path / "plan.docx")
    conv = convert(path.read_bytes(), path.name)
    assert conv.kind == "docx" and conv.converted_from == "docx" and conv.title_hint == TITLE
    check_plan_structure(conv.text)
    assert HEADER not in conv.text and "印发" not in conv.text            # Word header/footer are not body
    assert "\t序号\n\t指标名称\n\t2025年\n\t2030年目标\n\t属性\n\n\t1\n" in conv.text


def test_docx_box_table_and_merged_cells(tmp_path):
    """A 专栏 drawn as a one-cell table is read as paragraphs; merged cells are written once; empty cells as —."""
    import docx

    d = docx.Document()
    d.add_paragraph("第一章 重点工程")
    box = d.add_table(rows=1, cols=1).cell(0, 0)
    box.paragraphs[0].text = "专栏2 重点建设工程"
    box.add_paragraph("1．智慧农业示范园。建设柏溪现代农业产业园，到2027年建成高标准农田8万亩。")
    box.add_paragraph("2．冷链物流中心。建成区域性农产品冷链物流中心1个。")
    d.add_paragraph("专栏3 主要指标")
    t = d.add_table(rows=3, cols=4)
    for c, v in enumerate(("序号", "指标名称", "2025年", "属性")):
        t.cell(0, c).text = v
    merged = t.cell(1, 0).merge(t.cell(1, 3))
    merged.text = "一、经济发展"
    for c, v in enumerate(("1", "粮食产量（万吨）", "", "约束性")):
        t.cell(2, c).text = v
    d.add_paragraph("第二章 保障措施，这一行足够长，表格在这里结束，不会被当作单元格的续行。")
    buf = io.BytesIO()
    d.save(buf)
    text = convert(buf.getvalue(), "box.docx").text
    lines = text.split("\n")
    assert "专栏2 重点建设工程" in lines and "2．冷链物流中心。建成区域性农产品冷链物流中心1个。" in lines
    assert "\t一、经济发展\n\n\t1\n\t粮食产量（万吨）\n\t—\n\t约束性\n" in text
    kinds = clauses_by_kind(text)
    items = {c.location for c in kinds["item"]}
    assert "第一章 专栏2 2．" in items
    assert [c.text for c in kinds["table_row"]] == ["粮食产量（万吨）｜2025年：—｜属性：约束性"]
    assert kinds["table_row"][0].headings[-2] == "一、经济发展"


def test_pdf_conversion_headers_pages_and_joins(tmp_path):
    path = make_pdf(tmp_path / "plan.pdf", pages_of_filler=8)
    conv = convert(path.read_bytes(), path.name)
    assert conv.kind == "pdf" and conv.converted_from == "pdf" and conv.pages >= 3
    text = conv.text
    check_plan_structure(text)
    # running header/footer and "- n -" page numbers are gone, on every page
    assert HEADER not in text and "印发" not in text
    assert not any(line.strip("-— ").isdigit() for line in text.split("\n") if not line.startswith("\t")), "a page number"
    assert conv.stats["page_numbers"] == conv.pages and conv.stats["running_lines"] == 2 * conv.pages
    # every layout line break inside a sentence is joined, across page breaks too
    assert text.count(FILLER) == 3 * 8 + 2 + 2
    for line in text.split("\n"):
        if line and not line.startswith("\t") and len(line) > 40:
            assert line.endswith("。"), f"broken paragraph: {line[-30:]!r}"
    assert conv.title_hint == TITLE                                  # the largest type on page 1
    assert "去除页码" in conv.notice


def test_pdf_round_trip_of_a_real_plan(tmp_path):
    """A slice of the 綦江 plan (篇/章/节, the 22-row 专栏1 table with a category row and wrapped cells) rendered
    to a 9-page PDF and converted back parses into the same clauses: same texts, same locations."""
    import re

    font = font_or_skip()
    orig = (ROOT / "corpus" / "qijiang-15th-five-year-plan.txt").read_text(encoding="utf-8")
    start = orig.index("第一篇")
    part = orig[start:orig.index("\n", start + 12000)]
    render_text_pdf(part, tmp_path / "qj.pdf", font)
    text = convert((tmp_path / "qj.pdf").read_bytes(), "qj.pdf").text

    def ws(s):
        return re.sub(r"\s+", "", s)

    a = [(c.kind, c.location, ws(c.text)) for c in parse(converted_doc(part))]
    b = [(c.kind, c.location, ws(c.text)) for c in parse(converted_doc(text))]
    assert sum(1 for x in a if x[0] == "table_row") == 22
    assert a == b


def test_gb18030_and_utf8_text(tmp_path):
    body = "第一章 总则\n柏溪区推进“星桥工程”，到2030年建成5G基站1200个。\n"
    conv = convert(body.encode("gb18030"), "plan-gbk.txt")
    assert conv.text == body and conv.converted_from == "txt-gb18030" and "GB18030" in conv.notice
    conv = convert(body.encode("utf-8"), "plan.txt")
    assert conv.text == body and conv.converted_from is None and conv.notice is None
    conv = convert(b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode("utf-8"), "plan.txt")
    assert conv.text == body                                           # BOM and CRLF dropped
    assert convert(body.encode("utf-16"), "u16.txt").text == body
    broken = (body * 20).encode("utf-8")
    broken = broken[:500] + b"\xff" + broken[501:]                       # one bad byte: not silently GB18030
    e = _err(convert, broken, "broken.txt")
    assert e.code == "bad_encoding" and "byte 500" in str(e) and "broken.txt" in str(e)

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "manifest.json").write_text('{"documents": []}', encoding="utf-8")
    src = tmp_path / "柏溪规划-GBK.txt"
    src.write_bytes(body.encode("gb18030"))
    e = add_document(tmp_path / "corpus", src, issuer="柏溪区", date="2026-03-01")
    assert e["id"] == "gbk" and e["file"] == "gbk.txt" and e["converted_from"] == "txt-gb18030"
    assert "GB18030" in e["notice"] and e["source_file"] == src.name and e["issuer"] == "柏溪区"
    assert (tmp_path / "corpus" / "gbk.txt").read_text(encoding="utf-8") == body
    assert load_corpus(tmp_path / "corpus", strict=True).get("gbk").text == body


def test_markdown(tmp_path):
    md = ("# 柏溪区数字乡村建设方案\n\n## 第一章 总体要求\n\n到2027年，**数字乡村**建设取得[重要进展](http://x)。\n\n"
          "专栏1 主要指标\n\n| 序号 | 指标名称 | 2025年 | 2030年目标 | 属性 |\n|---|---|---|---|---|\n"
          "| 1 | 5G基站（个） | 600 | 1200 | 预期性 |\n\n## 第二章 保障措施，这一行足够长以结束上面的表格，不会被当作续行。\n")
    conv = convert(md.encode("utf-8"), "digital.md")
    assert conv.converted_from == "md" and conv.title_hint == "柏溪区数字乡村建设方案"
    lines = conv.text.split("\n")
    assert "第一章 总体要求" in lines and "到2027年，数字乡村建设取得重要进展。" in lines
    rows = [c for c in parse(converted_doc(conv.text)) if c.kind == "table_row"]
    assert [r.text for r in rows] == ["5G基站（个）｜2025年：600｜2030年目标：1200｜属性：预期性"]
    assert rows[0].location == "第一章 专栏1 「5G基站（个）」"


def test_ids_titles_and_markers():
    assert ingest.slugify("Baixi District Plan 2026 (final).pdf") == "baixi-district-plan-2026-final"
    assert ingest.slugify("綦江区规划.pdf", b"abc").startswith("doc-")
    assert ingest.slugify("Résumé.docx") == "resume"
    assert ingest.guess_title("重庆市柏溪区国民经济和社会发展\n\n第十五个五年规划纲要\n第一篇 总体要求\n", "x") == \
        "重庆市柏溪区国民经济和社会发展第十五个五年规划纲要"
    assert ingest.guess_title("第一章 总则\n正文。\n", "fallback") == "fallback"
    assert ingest.converted_marker({"converted_from": "pdf"}) == "（由PDF转换）"
    assert ingest.converted_marker({"converted_from": "docx"}) == "（由Word转换）"
    assert ingest.converted_marker({}) == "" and ingest.converted_marker({"converted_from": None}) == ""


# ====================================================================================== errors

def _err(fn, *a, **kw) -> IngestError:
    with pytest.raises(IngestError) as ei:
        fn(*a, **kw)
    return ei.value


def blank_pdf(pages: int = 2) -> bytes:
    """A PDF with drawings but no text layer (what a scan looks like to a text extractor)."""
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def test_bad_files_give_clear_errors(tmp_path):
    cases = {
        ("notes.exe", b"MZ\x90\x00binary"): "unsupported_type",
        ("old.doc", b"\xd0\xcf\x11\xe0 ole"): "unsupported_type",
        ("fake.pdf", "第一章 总则\n这不是 PDF。\n".encode("utf-8")): "type_mismatch",
        ("fake.docx", b"\x00\x01binary\x00junk"): "type_mismatch",
        ("text.txt", b"%PDF-1.4\n%junk"): "type_mismatch",
        ("binary.txt", b"\x00\x01\x02\x03" * 50): "type_mismatch",
        ("empty.txt", b""): "empty_file",
        ("blank.txt", b"  \n\n "): "empty_file",
        ("scan.pdf", blank_pdf()): "no_text",
    }
    for (name, raw), code in cases.items():
        e = _err(convert, raw, name)
        assert e.code == code, (name, e.code, str(e))
        assert name in str(e) and " / " in str(e)                     # names the file, Chinese / English
    e = _err(convert, b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF", "broken.pdf")
    assert e.code in ("corrupt_file", "no_text") and "broken.pdf" in str(e)
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<not-really-word/>")
    e = _err(convert, buf.getvalue(), "corrupt.docx")
    assert e.code == "corrupt_file" and "corrupt.docx" in str(e)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    assert _err(convert, buf.getvalue(), "archive.docx").code == "type_mismatch"


def test_add_errors_write_nothing(env, monkeypatch):
    corpus = env / "corpus"
    before, files = manifest(corpus), doc_files(corpus)
    big = env / "big.txt"
    big.write_bytes(("第一章 总则\n" + "柏溪区推进高质量发展。" * 200).encode("utf-8"))
    e = _err(add_document, corpus, big, max_bytes=1000)
    assert e.code == "file_too_large" and e.status == 413 and "big.txt" in str(e)
    monkeypatch.setattr(add_remove, "MAX_BYTES", 1000)
    assert _err(add_document, corpus, big.read_bytes(), filename="big.txt").code == "file_too_large"
    monkeypatch.undo()
    assert _err(add_document, corpus, env / "missing.pdf").code == "not_found"
    assert _err(add_document, corpus, b"MZ", filename="x.exe").code == "unsupported_type"
    assert _err(add_document, corpus, big, doc_id="Bad ID!").code == "invalid_id"
    assert _err(add_document, corpus, big, doc_id="qijiang-15th-five-year-plan").code == "duplicate_id"
    assert manifest(corpus) == before and doc_files(corpus) == files
    # the same file twice gets a unique id; removing an unknown id is a clear error
    a = add_document(corpus, big)
    b = add_document(corpus, big)
    assert (a["id"], b["id"]) == ("big", "big-2") and "converted_from" not in a        # UTF-8 text: kept as is
    assert _err(remove_document, corpus, "no-such-doc").code == "unknown_document"
    # a document that was not added by add_document keeps its file (the manifest entry is dropped)
    r = remove_document(corpus, "chongqing-2024-plan-report-excerpt")
    assert r["file_deleted"] is False and (corpus / "chongqing-2024-plan-report-excerpt.txt").exists()


# ====================================================================================== add -> reindex -> ask

def test_add_pdf_reindexes_only_it_and_ask_cites_it(env):
    from rag.pipeline import Pipeline

    font_or_skip()
    s = settings_for(env)
    p = Pipeline(s, progress=False)
    assert p.build_report is None                                   # the copied index is current
    n_before, docs_before = len(p.index.chunks), len(p.corpus.documents)
    pdf = make_pdf(env / "Baixi Plan 2026.pdf", pages_of_filler=8)

    e = add_document(s.corpus_dir, pdf, issuer="柏溪区人民政府", date="2026-03-01")
    assert e["id"] == "baixi-plan-2026" and e["file"] == "baixi-plan-2026.txt" and e["title"] == TITLE
    assert e["converted_from"] == "pdf" and e["source_file"] == "Baixi Plan 2026.pdf" and e["pages"] >= 3
    assert manifest(s.corpus_dir)["documents"][-1] == e
    text = (s.corpus_dir / e["file"]).read_text(encoding="utf-8")

    report = p.reindex()
    new_chunks = [c for c in p.index.chunks if c.doc_id == e["id"]]
    assert report.embedded_documents == [e["id"]] and len(report.reused_documents) == docs_before
    assert report.embedded_chunks == len(new_chunks) == len(p.index.chunks) - n_before > 0
    assert "embedded %d chunks of 1 changed documents" % len(new_chunks) in report.summary()

    hits = p.retrieve("柏溪区到2030年森林覆盖率目标是多少？")
    top = hits[0]
    assert top.doc_id == e["id"] and top.kind == "table_row" and "56.5" in top.text
    assert top.location == "第一篇 第一章 第二节 专栏1 「森林覆盖率（%）」（由PDF转换）"
    assert text[top.start:top.end] == top.text

    ans = p.ask("柏溪区到2030年森林覆盖率目标是多少？")
    assert not ans.refused and "56.5" in ans.answer
    cites = [c for c in ans.citations if c.doc_id == e["id"]]
    assert cites and all(text[c.start:c.end] == c.quote and c.location.endswith("（由PDF转换）") for c in cites)

    ans = p.ask("“星桥工程”是什么？")
    c = ans.citations[0]
    assert c.doc_id == e["id"] and "5G基站1200个" in c.quote and text[c.start:c.end] == c.quote
    assert c.location.startswith("附件 名词解释") and c.location.endswith("（由PDF转换）")
    # documents of the original corpus carry no marker
    assert "（由" not in p.ask("綦江到2030年地区生产总值增长目标是多少？").citations[0].location

    r = remove_document(s.corpus_dir, e["id"])
    assert r["file_deleted"] and not (s.corpus_dir / e["file"]).exists()
    report = p.reindex()
    assert report.removed_documents == [e["id"]] and report.embedded_chunks == 0
    assert len(p.index.chunks) == n_before and not any(c.doc_id == e["id"] for c in p.index.chunks)
    assert all(h.doc_id != e["id"] for h in p.retrieve("柏溪区到2030年森林覆盖率目标是多少？"))


def test_cli_add_and_remove(env, capsys):
    from rag.__main__ import main

    src = make_docx(env / "baixi.docx")
    common = ["--corpus", str(env / "corpus"), "--index-dir", str(env / "index")]
    import os

    old = os.environ.get("RAG_EMBEDDER")
    os.environ["RAG_EMBEDDER"] = "fake"
    try:
        assert main(["add", str(src), "--title", "柏溪区规划（Word版）", "--issuer", "柏溪区", "--date", "2026-03",
                     "--quiet", *common]) == 0
        out = capsys.readouterr().out
        assert "已添加 / added: baixi 《柏溪区规划（Word版）》" in out
        n = len([c for c in load_index_chunks(env) if c["doc_id"] == "baixi"])
        assert f"embedded {n} chunks of 1 changed documents, reused 5, removed 0" in out and n > 0
        entry = manifest(env / "corpus")["documents"][-1]
        assert entry["converted_from"] == "docx" and entry["date"] == "2026-03"
        with pytest.raises(SystemExit) as ei:
            main(["add", str(src), "--id", "baixi", "--quiet", *common])
        assert "baixi" in str(ei.value) and "已存在" in str(ei.value)
        with pytest.raises(SystemExit) as ei:
            main(["add", str(env / "nope.pdf"), "--quiet", *common])
        assert "nope.pdf" in str(ei.value)
        assert main(["remove", "baixi", "--quiet", *common]) == 0
        out = capsys.readouterr().out
        assert "已删除 / removed: baixi" in out and "embedded 0 chunks of 0 changed documents, reused 5, removed 1" in out
        assert not (env / "corpus" / "baixi.txt").exists()
    finally:
        if old is None:
            os.environ.pop("RAG_EMBEDDER", None)
        else:
            os.environ["RAG_EMBEDDER"] = old


def load_index_chunks(base: Path) -> list[dict]:
    with open(base / "index" / "chunks.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


# ====================================================================================== HTTP upload

@pytest.fixture
def api(env):
    from fastapi.testclient import TestClient

    from rag.api import create_api
    from rag.pipeline import Pipeline

    s = settings_for(env)
    p = Pipeline(s, progress=False)
    with TestClient(create_api(p, s), raise_server_exceptions=False) as c:
        yield c, p, s


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_upload_route(api, monkeypatch):
    client, p, s = api
    docx_bytes = make_docx(s.corpus_dir.parent / "up.docx").read_bytes()
    files = {"file": ("柏溪区规划.docx", docx_bytes, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")}
    # the admin token is required
    assert client.post("/api/admin/documents", files=files).status_code == 401
    assert client.post("/api/admin/documents", files=files, headers={"Authorization": "Bearer nope"}).status_code == 401
    # wrong types: by extension, and by content (a .pdf that is text, a .docx that is not a docx)
    for name, raw in (("a.exe", b"MZ\x00\x00"), ("a.pdf", "第一章 文本".encode()), ("a.docx", b"%PDF-1.4 x")):
        r = client.post("/api/admin/documents", files={"file": (name, raw)}, headers=AUTH)
        assert r.status_code == 415, r.text
        assert r.json()["error"]["code"] in ("unsupported_type", "type_mismatch") and name in r.json()["error"]["message_en"]
    # too large: the file (checked by the route) and the whole body (checked before reading it)
    monkeypatch.setattr(add_remove, "MAX_BYTES", 4000)
    r = client.post("/api/admin/documents", files={"file": ("big.txt", "柏溪。".encode() * 500)}, headers=AUTH)
    assert r.status_code == 413 and r.json()["error"]["code"] == "file_too_large"
    r = client.post("/api/admin/documents", files={"file": ("huge.txt", b"x" * 80_000)}, headers=AUTH)
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    monkeypatch.undo()
    assert len(client.get("/api/documents").json()) == 5                 # nothing was added by the failures

    r = client.post("/api/admin/documents", files=files, data={"issuer": "柏溪区人民政府", "date": "2026-03-01"}, headers=AUTH)
    assert r.status_code == 201, r.text
    body = r.json()
    doc = body["document"]
    assert doc["title"] == TITLE and doc["converted_from"] == "docx" and doc["source_file"] == "柏溪区规划.docx"
    assert doc["id"].startswith("doc-")                                   # a Chinese file name: hash id
    assert body["embedded_documents"] == [doc["id"]] and body["documents"] == 6
    assert body["embedded_chunks"] == sum(1 for c in p.index.chunks if c.doc_id == doc["id"]) > 0
    assert "embedded" in body["summary"]
    assert doc["id"] in {d["doc_id"] for d in client.get("/api/documents").json()}

    ans = client.post("/api/ask", json={"question": "柏溪区到2030年将建成几个国家级智慧农业示范园？"}).json()
    text = (s.corpus_dir / doc["file"]).read_text(encoding="utf-8")
    c = ans["citations"][0]
    assert c["doc_id"] == doc["id"] and c["location"].endswith("（由Word转换）") and text[c["start"]:c["end"]] == c["quote"]
    assert "4个国家级智慧农业示范园" in c["quote"]

    assert client.delete(f"/api/admin/documents/{doc['id']}").status_code == 401
    r = client.delete("/api/admin/documents/no-such-doc", headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_document"
    r = client.delete(f"/api/admin/documents/{doc['id']}", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["removed_documents"] == [doc["id"]] and r.json()["documents"] == 5
    assert not (s.corpus_dir / doc["file"]).exists()


def test_upload_disabled_without_token(env):
    from types import SimpleNamespace

    from fastapi.testclient import TestClient

    from rag.api import create_api

    s = settings_for(env, admin_token="")
    with TestClient(create_api(SimpleNamespace(settings=s), s), raise_server_exceptions=False) as c:
        r = c.post("/api/admin/documents", files={"file": ("a.txt", "第一章".encode())}, headers=AUTH)
        assert r.status_code == 403 and r.json()["error"]["code"] == "admin_disabled"
