"""The structure parser on each of the five documents: clause counts and known locations."""
import re

import pytest

from rag.parse import align, is_hard_wrapped, parse


def _ws(s):
    return re.sub(r"\s", "", s)


@pytest.fixture(scope="module")
def clauses(corpus):
    return {d.doc_id: parse(d) for d in corpus.documents}


def find(clauses, doc_id, needle):
    hits = [c for c in clauses[doc_id] if needle in c.text]
    assert hits, needle
    return hits[0]


def test_offsets_are_verbatim(corpus, clauses):
    for d in corpus.documents:
        for c in clauses[d.doc_id]:
            src = d.text[c.start:c.end]
            if c.kind == "table_row":
                assert all(cell in _ws(src) for cell in _ws(c.text.split("｜")[0]).split("，")), c
            else:
                assert _ws(c.text) == _ws(src) or re.search(r"[上下][接转]", src), (c.location, c.text[:40])


@pytest.mark.parametrize("doc_id,lo,hi", [
    ("chongqing-15th-five-year-plan", 550, 700),
    ("qijiang-15th-five-year-plan", 300, 420),
    ("chongqing-2024-plan-report-excerpt", 40, 70),
    ("chongqing-2025-plan-report-excerpt", 40, 70),
    ("chengyu-twin-city-action-plan-2023-2027", 60, 110),     # 18 page breaks mid-sentence joined: 88 -> 70
])
def test_clause_counts(clauses, doc_id, lo, hi):
    assert lo <= len(clauses[doc_id]) <= hi


def test_city_outline_headings_and_table_row(clauses):
    c = find(clauses, "chongqing-15th-five-year-plan", "研发经费投入强度（%）｜")
    assert c.kind == "table_row"
    assert c.location.startswith("第一篇 第三章 第三节 专栏1")
    assert c.text == "研发经费投入强度（%）｜2025年：预计2.65｜2030年目标：3.25｜属性：预期性"
    assert "二、创新驱动" in c.headings
    c = find(clauses, "chongqing-15th-five-year-plan", "共建世界级先进制造业集群")
    assert c.location == "第二篇 第四章 第一节"


def test_city_glossary_entries(clauses):
    g = [c for c in clauses["chongqing-15th-five-year-plan"] if c.kind == "glossary"]
    assert len(g) >= 50
    c = find(clauses, "chongqing-15th-five-year-plan", "“33618”现代制造业集群体系。")
    assert c.kind == "glossary" and c.location.startswith("附件 名词解释 3．")


def test_qijiang_table_header_wrapped_across_lines(clauses):
    c = find(clauses, "qijiang-15th-five-year-plan", "地区生产总值增长（%）｜")
    assert c.text == "地区生产总值增长（%）｜2025年：6.3｜2030年目标：6*｜属性：预期性"
    g = [c for c in clauses["qijiang-15th-five-year-plan"] if c.kind == "glossary"]
    assert len(g) >= 45
    assert any(c.text.startswith("双“50”城市。即城市建成区面积达到50平方公里") for c in g)


def test_qijiang_box_items(clauses):
    c = find(clauses, "qijiang-15th-five-year-plan", "开工渝贵高铁")
    assert "专栏14" in c.location and c.kind == "item"


def test_newspaper_hard_wraps_joined_and_markers_dropped(corpus, clauses):
    d = corpus.get("chongqing-2024-plan-report-excerpt")
    assert is_hard_wrapped(d.text)
    assert not is_hard_wrapped(corpus.get("chongqing-15th-five-year-plan").text)
    first = clauses[d.doc_id][0]
    assert "上接" not in first.text and first.text.startswith("智能装备及智能制造方面")
    c = find(clauses, d.doc_id, "力争主营业务收入超过4000亿元")   # spans a hard line break in the source
    assert "\n" in d.text[c.start:c.end] and "\n" not in c.text
    c = find(clauses, d.doc_id, "二是加快构建“5+8”技术创新体系")
    assert c.location == "（五） 二是"


def test_2025_report_half_width_groups(clauses):
    c = find(clauses, "chongqing-2025-plan-report-excerpt", "4.壮大“33618”现代制造业集群")
    assert c.location == "三、 (二) 4．" and c.kind == "item"
    assert not any("下转" in c.text for c in clauses["chongqing-2025-plan-report-excerpt"])


def test_action_plan_parts_actions_items(clauses):
    c = find(clauses, "chengyu-twin-city-action-plan-2023-2027", "1. 增强国家中心城市核心功能承载能力")
    assert c.location == "二、 （一） 1．"


def test_align():
    assert align("ab\ncd", "abcd") == [0, 1, 3, 4]
    with pytest.raises(ValueError):
        align("abc", "abd")


def test_a_page_break_inside_a_numbered_items_sentence_is_joined(corpus, clauses):
    # "5. 建设国际性综合交通枢纽城市。…江北国际机场 T3B 航站" / blank line / "楼及第四跑道建成投用，…"
    c = find(clauses, "chengyu-twin-city-action-plan-2023-2027", "T3B")
    assert "T3B 航站楼及第四跑道建成投用" in c.text
    src = next(d for d in corpus.documents if d.doc_id == c.doc_id).text[c.start:c.end]
    assert "航站\n\n楼" in src                              # the quote keeps the file's break
    for doc_id in ("chengyu-twin-city-action-plan-2023-2027", "chongqing-2024-plan-report-excerpt"):
        cut = [x for x in clauses[doc_id] if x.kind != "table_row" and len(x.text) > 30
               and x.text.rstrip()[-1] not in "。；;：:！!？?）)”"]
        assert not cut, (doc_id, [x.text[-20:] for x in cut])
