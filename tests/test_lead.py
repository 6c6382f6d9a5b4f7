"""The answer line on its own (rag/answer/lead.py): values cut from hand-made clauses for questions analysed by
the product's analyzer; then the composer's line on real verdicts of the fake pipeline (the first line of the
reply, its citations, the table header cited for a row's column years, the fall-back when a line is unfaithful)."""
import re

import pytest

from rag.answer.evidence import Unit
from rag.answer.lead import AnswerLine, LeadConfig, faithful
from rag.corpus import normalize
from rag.schema import Hit


def unit(text, kind="paragraph"):
    h = Hit(doc_id="d", title="d", location="第一章", text=text, start=0, end=len(text), score=1.0, kind=kind,
            match_text=text)
    return Unit(h, 0, text, 0, len(text))


def span(text, part):
    a = normalize(text).index(normalize(part))
    return [(a, a + len(part))]


@pytest.fixture(scope="module")
def qa(fake_pipeline):
    return fake_pipeline.answerer.analyzer


@pytest.fixture(scope="module")
def line(fake_pipeline):
    return AnswerLine(fake_pipeline.answerer.verifier.topic_spans)


def test_a_table_row_answers_with_the_asked_column_first(qa, line):
    row = unit("常住人口城镇化率（%）｜2025年：68.04｜2030年目标：70｜属性：预期性", "table_row")
    assert line.value(qa.run("綦江2030年城镇化率目标是多少？", []), row) == "常住人口城镇化率（%）：2030年目标 70（2025年 68.04）"
    assert line.value(qa.run("綦江2025年城镇化率是多少？", []), row) == "常住人口城镇化率（%）：2025年 68.04（2030年目标 70）"


def test_a_number_is_said_by_its_segment_with_the_topic_and_the_date_that_frames_it(qa, line):
    text = "到2030年，全区常住人口城镇化率达到70%，森林覆盖率保持稳定。"
    q = qa.run("綦江城镇化率要达到多少？", [])
    assert line.value(q, unit(text), span(text, "70%")) == "到2030年，全区常住人口城镇化率达到70%"


def test_a_number_carries_the_figures_stated_right_after_it(qa, line):
    text = "软件和信息服务业主营业务收入达到8000亿元，从业人员新增30万人。加快建设软件名城。"
    q = qa.run("软件业收入要达到多少？从业人员呢？", [])
    assert line.value(q, unit(text), span(text, "8000亿元")) == "软件和信息服务业主营业务收入达到8000亿元，从业人员新增30万人"


def test_a_glossary_entry_is_term_then_explanation_without_its_number(qa, line):
    text = "3．“33618”现代制造业集群体系。第1个“3”，指聚力打造3大主导产业集群。"
    v = line.value(qa.run("“33618”是啥？", []), unit(text, "glossary"))
    assert v == "“33618”现代制造业集群体系：第1个“3”，指聚力打造3大主导产业集群。"


def test_why_how_says_the_whole_item_group_and_a_long_one_by_its_items(qa, line):
    text = "一是强化就业优先政策。二是健全就业公共服务体系。三是加强困难群体就业兜底帮扶。"
    q = qa.run("重庆怎么稳就业？", [])
    assert line.value(q, unit(text)) == text
    short = AnswerLine(line.topic_spans, LeadConfig(whole_chars=20))
    assert short.value(q, unit(text)) == "一是强化就业优先政策；二是健全就业公共服务体系；三是加强困难群体就业兜底帮扶"


def test_faithful_needs_every_number_and_quoted_name_in_a_quote():
    quotes = ["城镇新增就业60万人以上", "打造“33618”现代制造业集群体系"]
    assert faithful("城镇新增就业60万人以上[1]", quotes)
    assert not faithful("城镇新增就业65万人[1]", quotes)
    assert not faithful("新增6万人[1]", quotes)                      # 6 only inside 60
    assert not faithful("打造“416”科技创新布局[2]", quotes)
    assert faithful("《2024年计划》专栏1：打造“33618”[2]", quotes, ["专栏1"])   # titles, locations are not claims


def test_the_reply_starts_with_the_answer_line_then_the_quoted_clause(fake_pipeline):
    a = fake_pipeline.ask("綦江2030年城镇化率目标是多少？")
    assert not a.refused
    first, blank, evidence = a.answer.split("\n")[:3]
    assert "70" in first and "2030年目标" in first and re.search(r"\[\d+\]$", first) and blank == ""
    assert evidence.startswith("根据《")
    # the column years come from the table header, cited verbatim after the row
    header = next(c for c in a.citations if c.location.endswith("表头"))
    assert "2030年" in header.quote and f"[{header.n}]" in first
    assert header.path.endswith("表头") and "第三章 目标愿景" in header.path
    texts = {d.doc_id: d.text for d in fake_pipeline.corpus.documents}
    assert all(texts[c.doc_id][c.start:c.end] == c.quote for c in a.citations)


def test_without_a_faithful_line_the_reply_starts_with_the_quote(fake_pipeline, monkeypatch):
    ans = fake_pipeline.answerer
    q = ans.analyze("綦江2030年城镇化率目标是多少？")
    hits, signals = ans.retrieve(q, 6)
    verdict = ans.verifier.run(q, hits, signals.get("dense", ()))
    assert not ans.composer.answer(q, verdict).answer.startswith("根据《")
    # no table header to cite the column years (2030年目标) from: the line would state numbers no quote holds
    monkeypatch.setattr(type(ans.composer), "_header_citation", lambda self, u, n: None)
    fallback = ans.composer.answer(q, verdict)
    assert fallback.answer.startswith("根据《") and "70" in fallback.answer.split("\n")[0]


def test_slot_values_and_what_a_reply_lacks():
    from rag.answer.lead import missing_values, slot_values

    line = "常住人口城镇化率（%）：2030年目标 70（2025年 68.04）[1][2]；“2027年呢”：文档中未提及"
    assert slot_values(line) == ["70", "68.04"]            # years label, markers cite, an unanswered ask claims nothing
    assert missing_values(line, "綦江2030年城镇化率目标为70%[1]") == []       # 68.04 is the context column
    assert missing_values(line, "綦江城镇化率目标见[1]") == ["70", "68.04"]
    assert missing_values("收入比缩至1.9:1[1]", "收入比目标见[1]") == ["1.9", "1"]     # [1] is a marker, not a 1
    # each ask (or side) of the line must be stated: the second one is not
    two = "城镇新增就业60万人以上[1]；城镇新增就业 65 万人[2]"
    assert missing_values(two, "2024年60万人以上[1]") == ["65"] and missing_values(two, "60万人和65万人[1][2]") == []


def test_citations_carry_the_heading_titles(fake_pipeline):
    a = fake_pipeline.ask("綦江2030年城镇化率目标是多少？")
    row = a.citations[0]
    # the numbers of the location, each with its heading's title, then the row
    assert row.path.startswith("第一篇 ") and "第三章 目标愿景" in row.path and "第三节 发展目标" in row.path
    assert row.path.endswith("「常住人口城镇化率（%）」") and row.location.endswith("「常住人口城镇化率（%）」")


def test_a_question_asking_where_it_is_said_is_answered_with_the_place(fake_pipeline):
    a = fake_pipeline.ask("规划在哪一章提到新机场？")
    assert not a.refused, a.answer
    first = a.answer.split("\n")[0]
    cited = a.citations[0]
    assert first.startswith(f"见《{cited.title}》{cited.path}") and "新机场" in cited.quote and first.endswith("[1]")


def test_without_the_answer_line_setting_replies_start_with_the_quote(fake_pipeline, monkeypatch):
    monkeypatch.setattr(fake_pipeline.answerer.composer, "answer_line", None)    # RAG_ANSWER_LINE=false
    a = fake_pipeline.ask("綦江2030年城镇化率目标是多少？")
    assert a.lead is None and a.answer.startswith("根据《") and "70" in a.answer.split("\n")[0]


# -- differences (比2025年高多少): computed only from two cited figures, the arithmetic shown -------------------

def test_difference_of_plain_figures_only():
    from rag.answer.lead import difference, subtract
    assert subtract("70", "68.04") == "1.96" and subtract("14", "8.5") == "5.5"
    assert difference("70", "68.04", "个百分点") == "70 − 68.04 = 1.96个百分点"
    for bound in ("75左右", "≥2.99", "5—5.5", "预计20", "——"):      # a range, bound or estimate has no difference
        assert difference(bound, "68.04") is None and difference("70", bound) is None


def test_figure_of_a_row_piece_and_a_segment():
    from rag.answer.lead import figure_of
    assert figure_of("人均地区生产总值（万元）：2030年目标 14（2025年 10.59）", row=True) == ("14", "万元")
    assert figure_of("每千人口拥有执业（助理）医师数（人）：2030年目标 3.8（2025年 ——）", row=True) == ("3.8", "人")
    assert figure_of("常住人口城镇化率（%）：2030年目标 75左右（2025年 73.02）", row=True) is None
    assert figure_of("天然气(页岩气)产量达到 175 亿立方米,天然气储备能力达 32.8 亿立方米") == ("175", "亿立方米")
    assert figure_of("到2027年，城镇新增就业60万人以上") is None          # a bound
    assert figure_of("高速公路通车里程超过 5000 公里") is None


def test_faithful_accepts_right_arithmetic_of_quoted_figures_only():
    quote = ["常住人口城镇化率（%） 68.04 70 预期性"]
    assert faithful("差值：70 − 68.04 = 1.96个百分点[1]", quote)
    assert not faithful("差值：70 − 68.04 = 2.96个百分点[1]", quote)       # wrong result
    assert not faithful("差值：71 − 68.04 = 2.96个百分点[1]", quote)       # an operand no quote states
    assert not faithful("差值：1.96个百分点[1]", quote)                    # a result without its arithmetic


def test_a_difference_question_shows_the_arithmetic_of_the_row(fake_pipeline):
    a = fake_pipeline.ask("綦江2030年研发经费投入强度目标比2025年提高多少？")
    assert not a.refused and a.lead
    assert "1.58 − 0.92 = 0.66个百分点" in a.lead
    # both figures are in a cited quote; the line starts with the later (asked) column
    assert any("1.58" in c.quote and "0.92" in c.quote for c in a.citations)
    assert a.lead.index("2030年目标 1.58") < a.lead.index("2025年 0.92")


def test_a_difference_of_two_places_and_an_estimate_that_has_none(fake_pipeline):
    a = fake_pipeline.ask("到2030年全市和綦江区人均地区生产总值目标相差多少？")
    assert not a.refused and "14 − 8.5 = 5.5万元" in (a.lead or "")
    b = fake_pipeline.ask("2030年綦江常住人口城镇化率目标比全市低多少？")     # 全市: 75左右, no figure to subtract
    assert not b.refused and "差值：文档未直接给出" in (b.lead or "") and "−" not in b.lead


def test_a_difference_follow_up_reuses_the_resolved_previous_turns(fake_pipeline):
    U, A = "user", "assistant"
    history = [{"role": U, "content": "到2030年全市常住人口城镇化率目标是多少？"}, {"role": A, "content": "…"},
               {"role": U, "content": "那綦江呢？"}, {"role": A, "content": "…"}]
    a = fake_pipeline.ask("比2025年高多少？", history)
    assert "綦江" in a.rewritten_query and "常住人口城镇化率" in a.rewritten_query
    assert not a.refused and "70 − 68.04 = 1.96个百分点" in (a.lead or "")
    assert all(c.doc_id == "qijiang-15th-five-year-plan" for c in a.citations)


def test_a_comparison_answers_with_a_table_of_its_sides(fake_pipeline):
    a = fake_pipeline.ask("到2030年全市和綦江区人均地区生产总值目标分别是多少？")
    assert not a.refused and len(a.table) == 2
    by_value = {r.value: r for r in a.table}
    assert set(by_value) == {"14万元", "8.5万元"}
    assert all(r.year == "2030年目标" and re.fullmatch(r"(\[\d+\])+", r.cite) for r in a.table)
    # each row's figure is in the quote its first marker cites
    for r in a.table:
        n = int(re.match(r"\[(\d+)\]", r.cite).group(1))
        assert r.value.replace("万元", "") in next(c.quote for c in a.citations if c.n == n)
    lines = a.answer.split("\n")
    assert lines[2] == "对象｜年份｜数值｜出处" and a.to_json()["table"][0]["side"] == a.table[0].side
    # a single-figure answer has no table
    assert fake_pipeline.ask("綦江2030年城镇化率目标是多少？").table == []
