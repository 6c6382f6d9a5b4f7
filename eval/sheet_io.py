"""Reading and writing a spreadsheet's rows: CSV (stdlib ``csv``) and XLSX (openpyxl), one ``Table`` either way.

Only the cell grid matters here; what the columns mean is eval/golden_sheet.py. Row numbers are the ones the
evaluator sees in Excel: the header is row 1 (a CSV cell with line breaks still counts as one row).
"""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path


class SheetError(ValueError):
    """The file cannot be read as a table; the message names the file."""


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]          # (row number as shown in Excel, cells as text)


@dataclass(frozen=True)
class SheetLayout:
    """What a written sheet carries besides its rows: a note per column (a note row under the header, and the
    header cell's comment in XLSX), the columns stored as text, a drop-down list per column, widths."""
    notes: list[str] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)     # header -> allowed values
    widths: dict[str, int] = field(default_factory=dict)            # header -> width in characters


def read_table(path: Path) -> Table:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise SheetError(f"{path}: 找不到文件 / file not found")
    rows = _read_xlsx(path) if suffix == ".xlsx" else _read_csv(path)
    rows = [(n, cells) for n, cells in rows if any(c.strip() for c in cells)]
    if not rows:
        raise SheetError(f"{path.name}: 表格为空 / the sheet is empty")
    (_, header), body = rows[0], rows[1:]
    return Table(header=[h.strip() for h in header], rows=body)


def _decode(raw: bytes, name: str) -> str:
    """UTF-8 (with the BOM Excel writes for "CSV UTF-8", or without), else GB18030: the encoding a Chinese
    Excel's plain "CSV" is saved in."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise SheetError(f"{name}: 不是 UTF-8 或 GB18030 编码 / neither UTF-8 nor GB18030 text")


def _read_csv(path: Path) -> list[tuple[int, list[str]]]:
    text = _decode(path.read_bytes(), path.name)
    try:
        return [(n, [_cell(c) for c in row]) for n, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1)]
    except csv.Error as e:
        raise SheetError(f"{path.name}: 不是有效的 CSV / invalid CSV ({e})") from None


def _read_xlsx(path: Path) -> list[tuple[int, list[str]]]:
    """The first worksheet, values only (a formula gives its last computed value)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as e:
        raise SheetError(f"{path.name}: 不是有效的 xlsx 文件 / not a readable .xlsx file ({type(e).__name__}: {e})") from None
    try:
        ws = wb.worksheets[0]
        return [(n, [_cell(c) for c in row]) for n, row in enumerate(ws.iter_rows(values_only=True), 1)]
    finally:
        wb.close()


def _cell(value) -> str:
    """A cell as text: Excel's line breaks as \\n; a number typed into a cell as it reads (75, not 75.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\r\n", "\n").replace("\r", "\n")


# ----------------------------------------------------------------------------- writing
def write_table(path: Path, header: list[str], rows: list[list[str]], layout: SheetLayout = SheetLayout()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        _write_xlsx(path, header, rows, layout)
    else:
        _write_csv(path, header, rows, layout)


def _write_csv(path: Path, header, rows, layout: SheetLayout) -> None:
    """UTF-8 with a BOM: without it Excel opens a UTF-8 CSV as the local code page (garbled Chinese)."""
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        if layout.notes:
            w.writerow(layout.notes)
        w.writerows(rows)


def _write_xlsx(path: Path, header, rows, layout: SheetLayout) -> None:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "golden"
    body = ([layout.notes] if layout.notes else []) + rows
    ws.append(header)
    for r in body:
        ws.append(r)
    last = max(len(body) + 1, 200)          # rows formatted for typing beyond the examples
    for col, name in enumerate(header, 1):
        letter = get_column_letter(col)
        head = ws.cell(row=1, column=col)
        head.font = Font(bold=True)
        if layout.notes and layout.notes[col - 1]:
            head.comment = Comment(layout.notes[col - 1], "渝策问答")
        ws.column_dimensions[letter].width = layout.widths.get(name, 16)
        for r in range(2, last + 1):                # text cells: 3.10 stays "3.10", 0075 stays "0075"
            cell = ws.cell(row=r, column=col)
            cell.number_format = "@"
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        if name in layout.choices:
            dv = DataValidation(type="list", formula1='"' + ",".join(layout.choices[name]) + '"', allow_blank=True)
            dv.add(f"{letter}2:{letter}{max(last, 1000)}")
            ws.add_data_validation(dv)
    if layout.notes:
        for col in range(1, len(header) + 1):
            ws.cell(row=2, column=col).font = Font(italic=True, color="666666")
    ws.freeze_panes = "A2"
    wb.save(path)
