"""Golden sets as spreadsheets (eval/golden_sheet.py): .csv and .xlsx with Chinese headers read to the same items as
their JSONL, and every broken cell is reported by row and column."""
import csv
import json
from pathlib import Path

import pytest

from eval.golden import GoldenError, check_item, load_golden
from eval.golden_sheet import (COLUMNS, TEMPLATE, TEMPLATE_IDS, TYPE_LABELS, DocIndex, load_sheet, parse_history,
                               parse_keywords, write_sheet)
from eval.metrics import TYPES

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "eval" / "golden.jsonl"
HEADER = ["编号", "问题", "参考答案", "关键词", "原文依据", "文件", "位置", "类型", "风格", "对话历史"]
CQ = "重庆市国民经济和社会发展第十五个五年规划纲要"
QJ = "重庆市綦江区国民经济和社会发展第十五个五年规划纲要"
# C059, X001 and Q166 of eval/golden.jsonl as an evaluator types them: titles, Chinese type labels, 问/答 turns,
# 、-separated keywords, two quotes separated by a blank line, 文件 of an unanswerable item = its topic_doc
HAND_ROWS = [
    ["C059", "那到2030年的目标是多少？", "人均地区生产总值2030年目标为14万元，属预期性指标。", "14",
     "人均地区生产总值（万元）10.5914预期性", CQ, "第一篇 第三章 第三节 专栏1", "数值", "followup",
     "问：2025年重庆人均地区生产总值是多少？\n答：2025年为10.59万元。"],
    ["X001", "到2030年，全市和綦江区的常住人口城镇化率目标分别是多少？",
     "市“十五五”纲要提出2030年全市常住人口城镇化率达到75%左右，綦江区“十五五”纲要目标为70%。", "75左右、70",
     "常住人口城镇化率（%） 73.02 75左右\n\n常住人口城镇化率（%） 68.04 70",
     f"《{CQ}》\nqijiang-15th-five-year-plan", "专栏1 第4行 / 专栏1 第5行", "跨文件", "formal", ""],
    ["Q166", "綦江打算建多少个社区老年食堂？", "文档中未提及老年食堂的具体数量，只说“建成运营一批社区老年食堂”。",
     "文档中未提及", "", QJ, "", "unanswerable", "colloquial", ""],
]


@pytest.fixture(scope="module")
def docs(corpus):
    return DocIndex(texts={d.doc_id: d.text for d in corpus.documents}, titles={d.doc_id: d.title for d in corpus.documents})


@pytest.fixture(scope="module")
def golden():
    return load_golden(GOLDEN)


def plain(items):
    return [{k: v for k, v in it.items() if k != "_line"} for it in items]


def by_ids(items, ids):
    found = {it["id"]: it for it in items}
    return [found[i] for i in ids]


def write_csv(path: Path, rows, header=HEADER, encoding="utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, rows, header=HEADER) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(header)
    for r in rows:
        wb.active.append(r)
    wb.save(path)
    return path


def problems(path, docs) -> str:
    with pytest.raises(GoldenError) as e:
        load_sheet(path, docs=docs)
    return str(e.value)


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_whole_golden_set_round_trips(tmp_path, docs, golden, suffix):
    path = tmp_path / f"golden{suffix}"
    write_sheet(golden, path, docs)
    assert plain(load_sheet(path, docs=docs)) == plain(golden)


def test_hand_written_csv_with_bom_reads_as_the_jsonl_items(tmp_path, docs, golden):
    path = write_csv(tmp_path / "mine.csv", HAND_ROWS)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")          # as Excel's "CSV UTF-8" writes it
    items = load_sheet(path, docs=docs)
    assert plain(items) == plain(by_ids(golden, ["C059", "X001", "Q166"]))
    assert [it["_line"] for it in items] == [2, 3, 4]


def test_hand_written_xlsx_reads_as_the_jsonl_items(tmp_path, docs, golden):
    rows = [list(r) for r in HAND_ROWS]
    rows[0][3] = 14                                                # a keyword typed as a number: 14, not 14.0
    items = load_sheet(write_xlsx(tmp_path / "mine.xlsx", rows), docs=docs)
    assert plain(items) == plain(by_ids(golden, ["C059", "X001", "Q166"]))


def test_gb18030_csv_and_english_headers_with_hints(tmp_path, docs, golden):
    header = ["id", "question", "answer", "关键词（、分隔）", "evidence", "doc", "location", "type", "style", "history", "备注"]
    rows = [r + ["我的备注"] for r in HAND_ROWS]
    path = write_csv(tmp_path / "ansi.csv", rows, header=header, encoding="gb18030")    # a Chinese Excel's plain CSV
    assert plain(load_sheet(path, docs=docs)) == plain(by_ids(golden, ["C059", "X001", "Q166"]))


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_template_evaluates_cleanly(docs, golden, suffix):
    items = load_golden(TEMPLATE.with_suffix(suffix), corpus_dir=ROOT / "corpus")
    assert plain(items) == plain(by_ids(golden, TEMPLATE_IDS))
    assert all(check_item(it, docs.texts) == [] for it in items)


def test_template_has_notes_comments_and_type_choices():
    from openpyxl import load_workbook

    ws = load_workbook(TEMPLATE.with_suffix(".xlsx")).worksheets[0]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    assert all(c.comment is not None and c.comment.text == col.note for c, col in zip(ws[1], COLUMNS))
    assert all(str(c.value).startswith("#") for c in ws[2])         # the note row, skipped on reading
    choices = ws.data_validations.dataValidation[0].formula1
    assert all(label in choices for label in TYPE_LABELS.values())


def test_default_id_is_file_and_row(tmp_path, docs):
    rows = [[""] + HAND_ROWS[2][1:]]
    items = load_sheet(write_csv(tmp_path / "set1.csv", rows), docs=docs)
    assert items[0]["id"] == "set1-2"


def test_cell_formats():
    assert parse_keywords("城口、巫溪") == ["城口", "巫溪"]
    assert parse_keywords("「城口、巫溪、酉阳、彭水」、4个") == ["城口、巫溪、酉阳、彭水", "4个"]
    assert parse_keywords("75左右\n70") == ["75左右", "70"]
    assert parse_history("问: 甲\n答：乙\n续一行") == [{"role": "user", "content": "甲"},
                                                    {"role": "assistant", "content": "乙\n续一行"}]
    turns = [{"role": "user", "content": "甲"}]
    assert parse_history(json.dumps(turns, ensure_ascii=False)) == turns
    assert set(TYPE_LABELS) == set(TYPES)


# ----------------------------------------------------------------------------- broken files
def _row(**cells):
    row = dict(zip(HEADER, HAND_ROWS[0]))
    row.update(cells)
    return [row[h] for h in HEADER]


@pytest.mark.parametrize("cells, expected", [
    ({"关键词": ""}, "第2行「关键词」: 为空 / empty"),
    ({"问题": "  "}, "第2行「问题」: 为空 / empty"),
    ({"类型": "观点"}, "第2行「类型」: 未知类型「观点」/ unknown type"),
    ({"类型": ""}, "第2行「类型」: 为空"),
    ({"原文依据": "人均地区生产总值（万元）10.59 15 预期性"}, f"第2行「原文依据」: 第1段原文在《{CQ}》中找不到"),
    ({"原文依据": ""}, "第2行「原文依据」: 为空"),
    ({"文件": "綦江纲要"}, "第2行「文件」: 找不到文件「綦江纲要」/ unknown document"),
    ({"文件": f"{CQ}\n{QJ}"}, "第2行「文件」: 只有跨文件题可写多个文件"),
    ({"对话历史": "2025年重庆人均地区生产总值是多少？\n答：10.59万元"}, "第2行「对话历史」: 第1行应以“问：”或“答：”开头"),
    ({"对话历史": '[{"role": "user", "content": "甲"'}, "第2行「对话历史」: 不是有效的 JSON"),
    ({"对话历史": '[{"role": "human", "content": "甲"}]'}, "第2行「对话历史」: JSON 应为"),
    ({"对话历史": "问：甲\n答："}, "第2行「对话历史」: 第2轮内容为空"),
    ({"类型": "无法回答"}, "第2行「原文依据」: 无法回答的题应留空"),
    ({"类型": "跨文件"}, "第2行「文件」: 跨文件题至少写两个文件"),
])
def test_broken_cell_names_row_and_column(tmp_path, docs, cells, expected):
    msg = problems(write_csv(tmp_path / "golden.csv", [_row(**cells)]), docs)
    assert f"golden.csv {expected}" in msg


def test_evidence_in_another_document_says_where(tmp_path, docs):
    msg = problems(write_csv(tmp_path / "g.csv", [_row(文件=QJ)]), docs)
    assert f"第1段原文在《{QJ}》中找不到" in msg and f"它在 《{CQ}》 中" in msg


@pytest.mark.parametrize("write", [write_csv, write_xlsx])
def test_missing_and_unknown_columns(tmp_path, docs, write):
    header = [h for h in HEADER if h != "关键词"] + ["关键字"]
    rows = [[c for h, c in zip(HEADER, HAND_ROWS[0]) if h != "关键词"] + ["14"]]
    msg = problems(write(tmp_path / ("g.csv" if write is write_csv else "g.xlsx"), rows, header=header), docs)
    assert "第1行「关键词」: 缺少此列 / missing column" in msg
    assert "第1行「关键字」: 未知列 / unknown column" in msg


def test_every_problem_reported_at_once_and_duplicate_ids(tmp_path, docs):
    rows = [HAND_ROWS[0], _row(关键词="", 类型="观点"), HAND_ROWS[0], ["# 一行说明，跳过"] + [""] * 9, _row(编号="Z1", 问题="")]
    msg = problems(write_csv(tmp_path / "g.csv", rows), docs)
    assert msg.startswith("g.csv: 4 处问题 / 4 problem(s)")
    for part in ("第3行「关键词」: 为空", "第3行「类型」: 未知类型", "第4行「编号」: 与第2行重复 / duplicate id C059",
                 "第6行「问题」: 为空"):
        assert part in msg


def test_keyword_not_in_quotes_is_a_warning(tmp_path, docs):
    warned = []
    items = load_sheet(write_csv(tmp_path / "g.csv", [_row(关键词="14、亿元")]), docs=docs, warn=warned.append)
    assert items[0]["answer_keywords"] == ["14", "亿元"]
    assert warned == ["g.csv 第2行「关键词」: 警告 / warning: 「亿元」不在原文依据中 / keyword not in the quotes"]


def test_unreadable_files(tmp_path, docs):
    bad = tmp_path / "g.xlsx"
    bad.write_text("not a workbook", encoding="utf-8")
    assert "g.xlsx: 不是有效的 xlsx 文件" in problems(bad, docs)
    empty = tmp_path / "e.csv"
    empty.write_text("\n", encoding="utf-8")
    assert "e.csv: 表格为空" in problems(empty, docs)
    assert "找不到文件" in problems(tmp_path / "missing.csv", docs)
    only_header = write_csv(tmp_path / "h.csv", [])
    assert "h.csv: 没有题目 / no items" in problems(only_header, docs)


def test_eval_command_reports_sheet_problems_before_running(tmp_path):
    from eval.__main__ import main

    path = write_csv(tmp_path / "golden.csv", [_row(类型="观点")])
    with pytest.raises(SystemExit) as e:
        main(["--golden", str(path), "--fast"])
    assert "golden.csv 第2行「类型」: 未知类型「观点」" in str(e.value.code)
