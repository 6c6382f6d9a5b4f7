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

The parts live in ``rag/ingesting/`` (its ``__init__`` lists them); this module re-exports their names. Patch
``MAX_BYTES`` in ``rag.ingesting.add_remove``, where ``add_document`` and the API read it: here it is a copy.
"""
from .ingesting.add_remove import MAX_BYTES, add_document, remove_document
from .ingesting.convert import MARKER_LABELS, Converted, convert, converted_marker
from .ingesting.detect import KINDS, detect_kind, sniff
from .ingesting.docx_reader import docx_to_lines
from .ingesting.errors import IngestError
from .ingesting.layout import (CN_NUM, EMPTY_CELL, RE_BARE_NUM, RE_BLOCK, RE_CATEGORY, RE_PAGENO, RE_STRUCT,
                               RE_TITLE_WORD, TERMINAL, finish_text)
from .ingesting.manifest import manifest_lock, write_manifest
from .ingesting.naming import guess_title, slugify
from .ingesting.pdf_layout import assemble_lines
from .ingesting.pdf_lines import strip_running
from .ingesting.pdf_reader import pdf_to_lines
from .ingesting.text_reader import load_text, markdown_to_lines

__all__ = ["CN_NUM", "EMPTY_CELL", "KINDS", "MARKER_LABELS", "MAX_BYTES", "RE_BARE_NUM", "RE_BLOCK", "RE_CATEGORY",
           "RE_PAGENO", "RE_STRUCT", "RE_TITLE_WORD", "TERMINAL", "Converted", "IngestError", "add_document",
           "assemble_lines", "convert", "converted_marker", "detect_kind", "docx_to_lines", "finish_text",
           "guess_title", "load_text", "manifest_lock", "markdown_to_lines", "pdf_to_lines", "remove_document",
           "slugify", "sniff", "strip_running", "write_manifest"]
