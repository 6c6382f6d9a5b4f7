"""Golden sets as evaluators keep them: a spreadsheet (.xlsx or .csv) with Chinese column headers.

    python -m eval --golden my_set.xlsx                  # runs it like a JSONL golden file
    python -m eval.golden_sheet export IN OUT.xlsx       # any golden file (.jsonl/.csv/.xlsx) as a spreadsheet
    python -m eval.golden_sheet template                 # rewrites eval/golden_template.xlsx and .csv

One row per item (header in row 1; a row whose first filled cell starts with ``#`` is a note and skipped).
The columns (``COLUMNS``; the golden field names work as headers too) and how a cell is written:

* 问题, 参考答案 -- text (required).
* 关键词 -- the words the answer must contain, separated by 、 or line breaks; a keyword that itself contains 、
  is written in 「」 (「城口、巫溪、酉阳、彭水」).
* 原文依据 -- quotes copied from the document (whitespace may differ); several quotes are separated by a blank
  line, so a quote copied from a table may keep its line breaks. Empty for 无法回答.
* 文件 -- a document id or its full title (《》 optional); cross-document items one per line (or 、-separated).
  For 无法回答 it may name the document whose topic the question is near (the golden ``topic_doc``).
* 类型 -- a Chinese label of ``TYPE_LABELS`` (数值, 列举 …) or the golden type (factual_number …).
* 对话历史 -- earlier turns, one per line: ``问：…`` / ``答：…`` (a line without the prefix continues the turn
  above), or the golden JSON list ``[{"role": "user", "content": "…"}, …]``.
* 编号, 位置, 风格 -- optional: the id (empty: ``<file name>-<row>``; the dev/test split follows the id), the
  location and the phrasing style.

Every problem of the file is reported at once, each naming the row and column:
``golden.xlsx 第5行「关键词」: 为空 / empty``. Rows are checked as eval/golden.py checks JSONL items
(``schema_errors``) and against the corpus (evidence verbatim in the named document, keywords in the evidence).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .golden import (GoldenError, docs_without_evidence, evidence_found_in, keywords_not_in_evidence, load_golden,
                     schema_errors)
from .metrics import TYPES, docs_of
from .sheet_io import SheetError, SheetLayout, Table, read_table, write_table

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "golden_template"           # .xlsx and .csv
TEMPLATE_IDS = ("C059", "X001", "Q166")       # a follow-up, a cross-document and an unanswerable item of golden.jsonl
MAX_REPORTED = 40                             # problems listed in one error; the rest are counted


@dataclass(frozen=True)
class Column:
    header: str
    field: str            # the golden field the column fills
    required: bool        # the column must be present (its cells may still be empty where the type allows)
    note: str             # the template's note row and header comment
    width: int = 18


COLUMNS = (
    Column("编号", "id", False, "# 可空：空时编号为「文件名-行号」；dev/test 两半按编号固定划分", 10),
    Column("问题", "question", True, "# 必填：用户的提问", 30),
    Column("参考答案", "answer", True, "# 必填：标准答案（供人阅读）", 36),
    Column("关键词", "answer_keywords", True,
           "# 必填：回答必须包含的词，用「、」或换行分隔；本身含「、」的词用「」括起。无法回答的题写：文档中未提及", 20),
    Column("原文依据", "evidence", True,
           "# 从文件中原样复制的句子（空白可不同），多段之间空一行；无法回答的题留空", 40),
    Column("文件", "doc", True,
           "# 文件 id 或完整标题；跨文件题每行一个；无法回答的题可写最相关的文件或留空", 30),
    Column("位置", "location", False, "# 可空：篇章节或专栏，如 第一篇 第三章 第三节 专栏1", 20),
    Column("类型", "type", True, "# 必填：数值、实体、列举、定义、原因做法、跨文件、无法回答（或英文类型名）", 12),
    Column("风格", "style", False,
           "# 可空：formal、colloquial、dialect、typo、traditional、fullwidth、followup、long、abbrev", 12),
    Column("对话历史", "history", False, "# 追问才填：每轮一行，问：… 或 答：…（也可写 JSON 列表）", 36),
)
BY_HEADER = {c.header: c for c in COLUMNS} | {c.field: c for c in COLUMNS}

TYPE_LABELS = {"factual_number": "数值", "factual_entity": "实体", "list": "列举", "definition": "定义",
               "why_how": "原因做法", "cross_document": "跨文件", "unanswerable": "无法回答"}
TYPE_OF = {label: t for t, label in TYPE_LABELS.items()} | {t: t for t in TYPES}

_KEYWORD = re.compile(r"「([^」]*)」|[^、\n]+")
_BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")                   # separates two quotes in 原文依据
_TURN = re.compile(r"^\s*(问|答)\s*[：:]\s?(.*)$")
ROLE = {"问": "user", "答": "assistant"}
PREFIX = {"user": "问：", "assistant": "答："}


class CellProblem(ValueError):
    """One cell cannot be used; the message is the cell's problem (Chinese / English)."""


@dataclass(frozen=True)
class CellError:
    row: int
    column: str | None        # None: the row as a whole
    message: str
    warning: bool = False     # reported, but the item is still used

    def text(self, name: str) -> str:
        where = f"第{self.row}行" + (f"「{self.column}」" if self.column else "")
        return f"{name} {where}: " + ("警告 / warning: " if self.warning else "") + self.message


# ----------------------------------------------------------------------------- documents
@dataclass(frozen=True)
class DocIndex:
    """The corpus as a sheet names it: documents by id or by title."""
    texts: dict[str, str]       # id -> text
    titles: dict[str, str]      # id -> title

    @classmethod
    def from_corpus_dir(cls, corpus_dir: str | Path | None = None) -> "DocIndex":
        from rag.corpus import CorpusError, load_corpus

        if corpus_dir is None:
            from rag.settings import Settings

            corpus_dir = Settings().corpus_dir
        try:
            corpus = load_corpus(Path(corpus_dir))
        except CorpusError as e:
            raise GoldenError(f"cannot check the sheet against the corpus: {e}") from None
        return cls(texts={d.doc_id: d.text for d in corpus.documents},
                   titles={d.doc_id: d.title for d in corpus.documents})

    def lookup(self, name: str) -> list[str]:
        name = name.strip().removeprefix("《").removesuffix("》").strip()
        if name in self.texts:
            return [name]
        return [d for d, t in self.titles.items() if t == name]

    def resolve(self, cell: str) -> list[str]:
        """Document ids named in a 文件 cell: one per line, or 、-separated (a title containing 、 still matches whole)."""
        ids: list[str] = []
        for line in _lines(cell):
            names = [line] if self.lookup(line) else [p for p in line.split("、") if p.strip()]
            for name in names:
                found = self.lookup(name)
                if not found:
                    raise CellProblem(f"找不到文件「{name.strip()}」/ unknown document; 可用 / known: {self.known()}")
                if len(found) > 1:
                    raise CellProblem(f"标题「{name.strip()}」对应多个文件，请写 id / title of {len(found)} documents, "
                                      f"use an id: {', '.join(found)}")
                ids += [d for d in found if d not in ids]
        return ids

    def known(self, most: int = 6) -> str:
        ids = list(self.texts)
        return ", ".join(ids[:most]) + (f" …（共 {len(ids)} 个 / {len(ids)} in all）" if len(ids) > most else "")

    def label(self, doc_id: str) -> str:
        return f"《{self.titles[doc_id]}》" if doc_id in self.titles else doc_id


# ----------------------------------------------------------------------------- cells -> values
def _lines(cell: str) -> list[str]:
    return [ln.strip() for ln in cell.split("\n") if ln.strip()]


def parse_text(cell: str) -> str:
    if not cell.strip():
        raise CellProblem("为空 / empty")
    return cell.strip()


def parse_keywords(cell: str) -> list[str]:
    """、- or line-separated; 「…」 keeps a keyword that contains 、 whole (城口、巫溪、酉阳、彭水 is one keyword of R017)."""
    keywords = [(m[1] if m[1] is not None else m[0]).strip() for m in _KEYWORD.finditer(cell)]
    keywords = [k for k in keywords if k]
    if not keywords:
        raise CellProblem("为空 / empty")
    return keywords


def parse_evidence(cell: str) -> list[str]:
    return [q.strip() for q in _BLANK_LINE.split(cell) if q.strip()]


def parse_type(cell: str) -> str:
    typ = TYPE_OF.get(cell.strip()) or TYPE_OF.get(cell.strip().lower())
    if typ:
        return typ
    if not cell.strip():
        raise CellProblem("为空 / empty")
    allowed = "、".join(f"{label}({t})" for t, label in TYPE_LABELS.items())
    raise CellProblem(f"未知类型「{cell.strip()}」/ unknown type; 可用 / allowed: {allowed}")


def parse_history(cell: str) -> list[dict] | None:
    if not cell.strip():
        return None
    if cell.lstrip().startswith("["):
        return _history_json(cell)
    turns: list[dict] = []
    for n, line in enumerate(cell.split("\n"), 1):
        m = _TURN.match(line)
        if m:
            turns.append({"role": ROLE[m[1]], "content": m[2]})
        elif turns:
            turns[-1]["content"] += "\n" + line                   # a turn written over several lines
        elif line.strip():
            raise CellProblem(f"第{n}行应以“问：”或“答：”开头 / line {n} must start with 问： or 答：")
    for n, t in enumerate(turns, 1):
        t["content"] = t["content"].strip()
        if not t["content"]:
            raise CellProblem(f"第{n}轮内容为空 / turn {n} is empty")
    return turns


def _history_json(cell: str) -> list[dict]:
    try:
        hist = json.loads(cell)
    except json.JSONDecodeError as e:
        raise CellProblem(f"不是有效的 JSON / invalid JSON ({e.msg}, 第{e.lineno}行第{e.colno}列)") from None
    ok = isinstance(hist, list) and all(isinstance(h, dict) and h.get("role") in ROLE.values()
                                        and isinstance(h.get("content"), str) and h["content"].strip() for h in hist)
    if not ok:
        raise CellProblem('JSON 应为 [{"role": "user" 或 "assistant", "content": "…"}] / '
                          "must be a list of {role: user|assistant, content: non-empty text}")
    return hist


# ----------------------------------------------------------------------------- rows -> items
def header_columns(header: list[str]) -> tuple[dict[str, int], list[CellError]]:
    """Column header -> cell index; problems: a required column missing, an unknown or repeated column.
    Headers may carry a hint in brackets (关键词（、分隔）); 备注… and #… columns are the evaluator's own."""
    cols, errs = {}, []
    for i, raw in enumerate(header):
        name = re.sub(r"\s*[（(].*$", "", raw).strip()
        if not name or name.startswith(("备注", "#")):
            continue
        col = BY_HEADER.get(name) or BY_HEADER.get(name.lower())
        if col is None:
            errs.append(CellError(1, raw, "未知列 / unknown column; 可用 / known: " + "、".join(c.header for c in COLUMNS)))
        elif col.header in cols:
            errs.append(CellError(1, raw, f"与第{cols[col.header] + 1}列重复 / repeats column {cols[col.header] + 1}"))
        else:
            cols[col.header] = i
    for c in COLUMNS:
        if c.required and c.header not in cols:
            errs.append(CellError(1, c.header, "缺少此列 / missing column"))
    return cols, errs


def is_note(cells: list[str]) -> bool:
    first = next((c for c in cells if c.strip()), "")
    return first.lstrip().startswith("#")


class _Row:
    """Collects one row's values and its cell problems."""

    def __init__(self, cells: dict[str, str], row: int):
        self.cells, self.row, self.errors = cells, row, []

    def get(self, header: str, parse):
        try:
            return parse(self.cells.get(header, ""))
        except CellProblem as e:
            self.errors.append(CellError(self.row, header, str(e)))
            return None

    def problem(self, header: str | None, message: str, warning: bool = False) -> None:
        self.errors.append(CellError(self.row, header, message, warning))

    @property
    def failed(self) -> bool:
        return any(not e.warning for e in self.errors)


def _parsers(docs: DocIndex):
    """(golden value, column, cell parser) for the cells every row is read from."""
    return (("type", "类型", parse_type), ("question", "问题", parse_text), ("answer", "参考答案", parse_text),
            ("answer_keywords", "关键词", parse_keywords), ("evidence", "原文依据", parse_evidence),
            ("docs", "文件", docs.resolve), ("history", "对话历史", parse_history))


def parse_row(cells: dict[str, str], row: int, docs: DocIndex, stem: str) -> tuple[dict | None, list[CellError]]:
    """The golden item of one row (None when a cell is unusable) and the row's problems."""
    r = _Row(cells, row)
    values = {name: r.get(header, parse) for name, header, parse in _parsers(docs)}
    if r.errors:
        return None, r.errors
    item = _item(cells, values, default_id=f"{stem}-{row}")
    _place_docs(r, item, values["docs"])
    if not r.failed:
        r.errors += [CellError(row, None, m) for m in schema_errors(item)]    # what JSONL items are checked for
    if not r.failed:
        _check_against_corpus(r, item, docs)
    return (None if r.failed else item), r.errors


def _item(cells: dict[str, str], values: dict, default_id: str) -> dict:
    item = {"id": cells.get("编号", "").strip() or default_id, "question": values["question"],
            "answer": values["answer"], "answer_keywords": values["answer_keywords"], "evidence": values["evidence"],
            "doc": "", "location": cells.get("位置", "").strip(), "type": values["type"]}
    optional = {"history": values["history"], "style": cells.get("风格", "").strip()}
    item.update({k: v for k, v in optional.items() if v})          # absent, as in JSONL, when the cell is empty
    return item


def _place_docs(r: _Row, item: dict, ids: list[str]) -> None:
    """文件 and 原文依据 by type: an answerable item needs both; an unanswerable one no quote and at most the
    document it is near (topic_doc); only a cross-document item names several documents."""
    if item["type"] == "unanswerable":
        if item["evidence"]:
            r.problem("原文依据", "无法回答的题应留空 / must be empty for 无法回答 (unanswerable)")
        if len(ids) > 1:
            r.problem("文件", "无法回答的题最多写一个文件 / at most one document for 无法回答")
        if ids:
            item["topic_doc"] = ids[0]
        return
    if not item["evidence"]:
        r.problem("原文依据", "为空 / empty (an answerable item needs a quote)")
    if not ids:
        r.problem("文件", "为空 / empty")
    elif item["type"] == "cross_document":
        item["doc"] = ids
        if len(ids) < 2:
            r.problem("文件", "跨文件题至少写两个文件 / cross_document needs two or more documents")
    elif len(ids) > 1:
        r.problem("文件", "只有跨文件题可写多个文件 / several documents only for 跨文件 (cross_document)")
    else:
        item["doc"] = ids[0]


def _check_against_corpus(r: _Row, item: dict, docs: DocIndex) -> None:
    named = docs_of(item)
    for n, quote in enumerate(item["evidence"], 1):
        if evidence_found_in(quote, named, docs.texts):
            continue
        elsewhere = [d for d in evidence_found_in(quote, list(docs.texts), docs.texts) if d not in named]
        hint = f"；它在 {docs.label(elsewhere[0])} 中 / it is in {elsewhere[0]}" if elsewhere else ""
        where = "、".join(docs.label(d) for d in named)
        r.problem("原文依据", f"第{n}段原文在{where}中找不到（已忽略空白）/ quote {n} not found verbatim in "
                            f"{', '.join(named)}: 「{quote[:30]}{'…' if len(quote) > 30 else ''}」{hint}")
    if r.errors:
        return
    for d in docs_without_evidence(item, docs.texts):
        r.problem("文件", f"{docs.label(d)} 没有对应的原文依据 / no quote comes from {d}")
    # a warning only: the answer may take the keyword from a clause beside the quote (H6A061 of holdout6, 服务贸易)
    for kw in keywords_not_in_evidence(item):
        r.problem("关键词", f"「{kw}」不在原文依据中 / keyword not in the quotes", warning=True)


def parse_table(table: Table, docs: DocIndex, stem: str) -> tuple[list[dict], list[CellError]]:
    cols, errors = header_columns(table.header)
    if errors:
        return [], errors
    items, seen = [], {}
    for row, cells in table.rows:
        if is_note(cells):
            continue
        named = {h: (cells[i] if i < len(cells) else "") for h, i in cols.items()}
        item, errs = parse_row(named, row, docs, stem)
        errors += errs
        if item is None:
            continue
        if item["id"] in seen:
            errors.append(CellError(row, "编号", f"与第{seen[item['id']]}行重复 / duplicate id {item['id']}"))
            continue
        seen[item["id"]] = row
        item["_line"] = row
        items.append(item)
    return items, errors


def load_sheet(path: str | Path, corpus_dir: str | Path | None = None, docs: DocIndex | None = None,
               warn=None) -> list[dict]:
    """Golden items of a .csv/.xlsx sheet; GoldenError listing every problem (row and column) otherwise.
    Warnings (a keyword not in the quotes) go to ``warn`` (default: stderr), one line each."""
    path = Path(path)
    try:
        table = read_table(path)
    except SheetError as e:
        raise GoldenError(str(e)) from None
    docs = docs or DocIndex.from_corpus_dir(corpus_dir)
    items, problems = parse_table(table, docs, path.stem)
    for w in (p for p in problems if p.warning):
        (warn or (lambda line: print(line, file=sys.stderr)))(w.text(path.name))
    errors = [p for p in problems if not p.warning]
    if errors:
        lines = [e.text(path.name) for e in errors[:MAX_REPORTED]]
        if len(errors) > MAX_REPORTED:
            lines.append(f"…另有 {len(errors) - MAX_REPORTED} 处 / {len(errors) - MAX_REPORTED} more")
        raise GoldenError(f"{path.name}: {len(errors)} 处问题 / {len(errors)} problem(s)\n  " + "\n  ".join(lines))
    if not items:
        raise GoldenError(f"{path.name}: 没有题目 / no items")
    return items


# ----------------------------------------------------------------------------- items -> rows
def item_row(item: dict, docs: DocIndex | None = None) -> list[str]:
    """One golden item as the cells of ``COLUMNS`` (documents by title when ``docs`` knows them)."""
    names = docs_of(item) or ([item["topic_doc"]] if item.get("topic_doc") else [])
    cells = {"编号": item["id"], "问题": item["question"], "参考答案": item["answer"],
             "关键词": "、".join(f"「{k}」" if "、" in k else k for k in item["answer_keywords"]),
             "原文依据": "\n\n".join(item["evidence"]),
             "文件": "\n".join(docs.titles.get(d, d) if docs else d for d in names),
             "位置": item.get("location", ""), "类型": TYPE_LABELS[item["type"]], "风格": item.get("style", ""),
             "对话历史": history_cell(item.get("history") or [])}
    return [cells[c.header] for c in COLUMNS]


def history_cell(history: list[dict]) -> str:
    """问：…/答：… lines; the JSON list when a turn has a line break (its next line could read as a new turn)."""
    if any("\n" in h["content"] for h in history):
        return json.dumps(history, ensure_ascii=False)
    return "\n".join(PREFIX[h["role"]] + h["content"] for h in history)


def layout() -> SheetLayout:
    return SheetLayout(notes=[c.note for c in COLUMNS],
                       choices={"类型": list(TYPE_LABELS.values()) + list(TYPES)},
                       widths={c.header: c.width for c in COLUMNS})


def write_sheet(items: list[dict], path: Path, docs: DocIndex | None = None) -> None:
    write_table(path, [c.header for c in COLUMNS], [item_row(it, docs) for it in items], layout())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.golden_sheet", description="golden sets as spreadsheets")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="write a golden file (.jsonl/.csv/.xlsx) as a .xlsx or .csv sheet")
    ex.add_argument("src")
    ex.add_argument("dest")
    ex.add_argument("--ids", help="only these ids (comma-separated)")
    sub.add_parser("template", help=f"rewrite {TEMPLATE.name}.xlsx/.csv from golden.jsonl ({', '.join(TEMPLATE_IDS)})")
    args = ap.parse_args(argv)
    try:
        docs = DocIndex.from_corpus_dir()
        if args.cmd == "template":
            items = _pick(load_golden(HERE / "golden.jsonl"), TEMPLATE_IDS)
            for suffix in (".xlsx", ".csv"):
                write_sheet(items, TEMPLATE.with_suffix(suffix), docs)
            print(f"wrote {TEMPLATE.name}.xlsx and .csv ({len(items)} example rows)")
            return 0
        items = load_golden(args.src)
        if args.ids:
            items = _pick(items, [i.strip() for i in args.ids.split(",") if i.strip()])
        write_sheet(items, Path(args.dest), docs)
        print(f"wrote {args.dest} ({len(items)} rows)")
        return 0
    except GoldenError as e:
        sys.exit(f"error: {e}")


def _pick(items: list[dict], ids) -> list[dict]:
    by_id = {it["id"]: it for it in items}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise GoldenError(f"ids not in the golden file: {', '.join(missing)}")
    return [by_id[i] for i in ids]


if __name__ == "__main__":
    sys.exit(main())
