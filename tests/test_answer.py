"""The answer stage end to end on the real corpus (fake embedder) and composition on its own: verbatim
citations, honest refusals that say what is missing, garbage notices, several asks, other regions' documents."""
import json
import re
import shutil
from pathlib import Path

import pytest

from rag.answer.compose import GARBAGE, NOT_FOUND

ROOT = Path(__file__).resolve().parent.parent


def verbatim(pipeline, ans):
    texts = {d.doc_id: d.text for d in pipeline.corpus.documents}
    ns = {c.n for c in ans.citations}
    assert {int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)} <= ns
    for c in ans.citations:
        assert texts[c.doc_id][c.start:c.end] == c.quote


@pytest.mark.parametrize("q,must", [
    ("重庆“十五五”研发经费投入强度目标是多少？", "3.25"),
    ("“33618”是什么？", "33618"),
    ("2024年计划提出软件信息服务主营业务收入要达到多少？", "4000亿元"),
    ("行动方案提出到2027年主城都市区常住人口达到多少？", "2200"),
    ("重慶「十五五」研發經費投入強度目標是多少？", "3.25"),                     # traditional characters
    ("棋江区2030年常住人口城镇化率目标是多少？", "70"),                        # a homophone typo
])
def test_answers_quote_verbatim(fake_pipeline, q, must):
    a = fake_pipeline.ask(q)
    assert not a.refused, (q, a.answer)
    assert must in a.answer
    verbatim(fake_pipeline, a)


def test_the_newspaper_quote_keeps_its_hard_line_break(fake_pipeline):
    a = fake_pipeline.ask("2024年计划提出软件信息服务主营业务收入要达到多少？")
    assert "\n" in next(c for c in a.citations if "4000" in c.quote).quote


@pytest.mark.parametrize("q,notice", [
    ("2028年重庆市计划城镇新增就业多少人？", "2028年"),                         # a year no document covers
    ("渝贵高铁啥时候能通车？", "具体时间"),                                     # the topic is there, the date is not
    ("綦江打算建多少个社区老年食堂？", "具体数字"),                              # the topic is there, the number is not
    ("万州区“十五五”规划提出的地区生产总值年均增速目标是多少？", ""),            # another district's plan
])
def test_near_topic_refusals_say_what_is_missing(fake_pipeline, q, notice):
    a = fake_pipeline.ask(q)
    assert a.refused and a.answer.startswith(NOT_FOUND), (q, a.answer)
    assert notice in (a.notice or ""), a.notice
    verbatim(fake_pipeline, a)


@pytest.mark.parametrize("q,notice", [
    ("你认为重庆“十五五”规划提出的各项目标最终能够全部实现吗？", "不对其能否实现作评价"),   # the assistant's opinion
    ("今天重庆天气咋样，出门要不要带伞？", "某一天"),                              # a day's news, in either ask
    ("最近重庆出了啥子大新闻？", "新闻"),                                           # the news
    ("请以长江为主题写一首七言绝句。", "不代写诗文"),                               # a task, not a question
    ("解放碑附近哪家火锅最巴适？推荐一下嘛", "不对商家"),                           # a recommendation
])
def test_what_no_plan_states_is_refused_whatever_words_it_shares(fake_pipeline, q, notice):
    a = fake_pipeline.ask(q)
    assert a.refused and notice in (a.notice or ""), (q, a.answer)
    assert not fake_pipeline.ask("重庆2030年常住人口城镇化率目标是多少？").refused     # no such word: answered


def test_absent_topic_is_refused(fake_pipeline):
    a = fake_pipeline.ask("重庆市2030年商品房平均房价目标是多少元每平方米？")
    assert a.refused and a.answer.startswith(NOT_FOUND)


@pytest.mark.parametrize("q", ["<img src=x onerror=alert(1)>", "😀😀😀", "'; DROP TABLE feedback; --", "綦江"])
def test_garbage_gets_a_short_notice_without_citations(fake_pipeline, q):
    a = fake_pipeline.ask(q)
    assert a.refused and a.citations == [] and a.notice == GARBAGE


def test_everyday_words_do_not_refuse(fake_pipeline):
    for q in ("重庆咋个解决看病难？", "綦江2030年常住人口城镇化率要搞到好多嘛？"):
        a = fake_pipeline.ask(q)
        assert not a.refused, (q, a.notice)
    for q in ("娃儿上学的事规划里怎么弄？", "上班族的钱包能鼓起来吗？"):     # answered or not: never for their wording
        a = fake_pipeline.ask(q)
        assert "文档中未出现" not in a.answer
        assert not [t for t in fake_pipeline.answerer.analyze(q).terms if t.specific]


def test_several_asks_are_answered_part_by_part(fake_pipeline):
    a = fake_pipeline.ask("2024年计划的城镇新增就业目标是多少，实际完成了多少？")
    assert not a.refused
    assert "60" in a.answer and "71.9" in a.answer.replace(" ", "")
    docs = {c.doc_id for c in a.citations}
    assert {"chongqing-2024-plan-report-excerpt", "chongqing-2025-plan-report-excerpt"} <= docs
    verbatim(fake_pipeline, a)


def test_two_named_documents_are_answered_side_by_side_in_the_order_asked(fake_pipeline):
    a = fake_pipeline.ask("2024年和2025年计划分别提出要新增多少城镇就业？")
    assert not a.refused, a.answer
    lines = a.answer.split("\n")
    # the answer line states both sides, each labelled by its document and cited, in the order asked
    side1, side2 = lines[0].split("；")
    assert "2024年计划部分" in side1 and "60万人" in side1 and side1.endswith("[1]")
    assert "2025年计划" in side2 and "65 万人" in side2 and side2.endswith("[2]")
    # then each side's clause, quoted in the same order
    first, second = lines[2:4]
    assert first.startswith("根据《") and "2024年计划部分" in first and first.endswith("[1]")
    assert "2025年计划" in second and "65 万人" in second and second.endswith("[2]")
    verbatim(fake_pipeline, a)


def test_each_side_of_a_comparison_is_looked_for_in_its_own_document(fake_pipeline):
    a = fake_pipeline.ask("行动方案（2023—2027年）和重庆“十五五”规划纲要分别提出了什么高速公路通车里程目标？")
    assert not a.refused, a.answer
    side1, side2 = a.answer.split("\n")[0].split("；")
    assert "行动方案" in side1 and "5000" in side1
    assert "第十五个五年规划纲要" in side2 and "5700" in side2
    first, second = a.answer.split("\n")[2:4]
    assert "行动方案" in first and "5000" in first
    assert "第十五个五年规划纲要" in second and "5700" in second
    verbatim(fake_pipeline, a)


def test_a_side_the_documents_lack_is_said_not_dropped(fake_pipeline):
    from rag.answer.evidence import Check, Unit, Verdict
    from rag.schema import Hit

    ans = fake_pipeline.answerer
    q = ans.analyze("行动方案和重庆“十五五”规划纲要分别提出了什么高速公路通车里程目标？")
    text = ans.retriever.texts["chengyu-twin-city-action-plan-2023-2027"]
    i = text.index("高速公路通车里程超过")
    h = Hit(doc_id="chengyu-twin-city-action-plan-2023-2027", title="行动方案", location="二、", text=text[i:i + 20],
            start=i, end=i + 20, score=1.0, match_text=text[i:i + 20])
    c = Check(Unit(h, 0, h.text, h.start, h.end), 1.0, True, "named", True, True, ())
    reply = ans.composer.answer(q, Verdict((c,), (), None, ()))
    assert "关于《重庆市国民经济和社会发展第十五个五年规划纲要》：文档中未提及" in reply.answer
    # the answer line says it too, after the side that is answered
    assert reply.answer.split("\n")[0].endswith("《重庆市国民经济和社会发展第十五个五年规划纲要》：文档中未提及")


def test_a_later_ask_with_its_own_year_is_answered_from_that_years_document(fake_pipeline):
    a = fake_pipeline.ask("2024年计划提出要新增多少城镇就业？2025年呢？")
    assert not a.refused and NOT_FOUND not in a.answer, a.answer
    assert "60万人" in a.answer and "65 万人" in a.answer
    verbatim(fake_pipeline, a)


def test_a_part_the_documents_do_not_answer_is_named(fake_pipeline):
    a = fake_pipeline.ask("重庆2030年研发经费投入强度目标是多少？2035年呢？")
    assert not a.refused and "3.25" in a.answer
    assert "2035" in a.answer and NOT_FOUND in a.answer


# ----------------------------------------------------------------------------- other regions' documents
@pytest.fixture(scope="module")
def two_region_pipeline(tmp_path_factory, corpus):
    """The five documents plus a work report of another province that states the same indicators."""
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    cdir = tmp_path_factory.mktemp("corpus2")
    entries = []
    for d in corpus.documents:
        shutil.copy(d.path, cdir / d.meta["file"])
        entries.append({"id": d.doc_id, "file": d.meta["file"], "title": d.title})
    other = ("各位代表：\n\n一、2025年工作回顾\n\n过去一年，全省地区生产总值增长5.4%，常住人口城镇化率达到68.2%，"
             "旅游总收入达到1200亿元，接待入境游客320万人次，城镇新增就业61万人。\n\n二、2026年主要目标\n\n"
             "研发经费投入强度达到2.8%，城镇新增就业60万人以上，新增口袋公园200个。\n")
    (cdir / "other.txt").write_text(other, encoding="utf-8")
    entries.append({"id": "prov-other", "file": "other.txt", "title": "2026年吉林省政府工作报告", "issuer": "吉林省", "year": 2026})
    (cdir / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    return Pipeline(Settings(embedder="fake", corpus_dir=cdir, index_dir=tmp_path_factory.mktemp("idx2"),
                             ask_process=False), progress=False)


@pytest.mark.parametrize("q", ["2025年重庆旅游总收入是多少亿元？", "重庆接待入境游客多少万人次？", "2026年重庆要新增多少个口袋公园？",
                               "旅游总收入达到了多少？"])
def test_questions_about_chongqing_are_not_answered_from_another_province(two_region_pipeline, q):
    a = two_region_pipeline.ask(q)
    assert all(c.doc_id != "prov-other" for c in a.citations), (q, a.answer)


def test_a_question_about_that_province_is_answered_from_its_report(two_region_pipeline):
    a = two_region_pipeline.ask("吉林省2025年接待入境游客多少万人次？")
    assert not a.refused and a.citations[0].doc_id == "prov-other" and "320" in a.answer


def test_retrieval_keeps_to_the_subject(two_region_pipeline):
    hits = two_region_pipeline.retrieve("重庆城镇新增就业目标", 10)
    assert hits and all(h.doc_id != "prov-other" for h in hits)
    hits = two_region_pipeline.retrieve("吉林省城镇新增就业目标", 10)
    assert hits[0].doc_id == "prov-other"


def test_a_question_saying_guihua_prefers_the_plan_outlines(fake_pipeline, monkeypatch):
    """规划 is what people call the 规划纲要: those documents are preferred (boosted, not the only scope)."""
    ans = fake_pipeline.answerer
    seen = {}
    real = ans.retriever.search

    def search(text, k, docs=None, prefer=(), **kw):
        seen.setdefault("prefer", list(prefer))
        return real(text, k, docs, prefer=prefer)

    monkeypatch.setattr(ans.retriever, "search", search)
    ans.retrieve(ans.analyze("给老人家里做适老化改造，规划的目标是多少户？"), 6)
    assert set(seen["prefer"]) == set(ans.analyzer.outlines) and seen["prefer"]
    seen.clear()
    ans.retrieve(ans.analyze("给老人家里做适老化改造，目标是多少户？"), 6)
    assert not set(seen["prefer"]) & set(ans.analyzer.outlines)


def test_target_and_result_asked_at_once_are_both_in_the_answer_line(fake_pipeline):
    from rag.answer.evidence import Check, Unit, Verdict
    from rag.schema import Hit

    ans = fake_pipeline.answerer
    q = ans.analyze("2024年粮食产量的计划目标和实际结果分别是多少？")

    def unit(doc, words):                 # the real clause of ``doc`` holding ``words``, as a verified unit
        c = next(c for c in fake_pipeline.index.chunks if c.doc_id == doc and words in c.text.replace(" ", ""))
        text = ans.retriever.texts[doc][c.start:c.end]
        h = Hit(doc_id=doc, title=c.title, location=c.location, text=text, start=c.start, end=c.end, score=1.0,
                chunk_id=c.chunk_id, kind=c.kind, match_text=c.text)
        u = ans.verifier.units([h])
        return next(x for x in u if words in x.text.replace(" ", ""))

    result = unit("chongqing-2025-plan-report-excerpt", "粮食产量达110.07亿公斤")
    target = unit("chongqing-2024-plan-report-excerpt", "108.1亿公斤")
    checks = tuple(Check(u, 1.0, True, "home", True, True, ()) for u in (result, target))
    reply = ans.composer.answer(q, Verdict(checks, (), None, ()))
    first, second = reply.lead.split("；")             # the target first, then the result, each cited
    assert first.startswith("目标：") and "108.1" in first and first.endswith("[2]")
    assert second.startswith("实际：") and "110.07" in second.replace(" ", "") and second.endswith("[1]")


def test_an_ask_shown_in_quotes_keeps_its_own_quotes_apart():
    from eval.metrics import lead_faithful
    from rag.answer.compose import quoted_ask
    shown = quoted_ask("2024年计划和“十五五”纲要分别定的多少？")
    assert shown == "“2024年计划和「十五五」纲要分别定的多少”"
    line = f"力争主营业务收入超过4000亿元[1]；{shown}：文档中未提及"
    # the years inside the unanswered ask are no claims of the line: only 4000 is, and it is quoted
    assert lead_faithful(line, [{"quote": "力争主营业务收入超过4000亿元。"}]) == (1, 1)


def test_how_a_section_s_goal_is_pursued_is_all_its_titled_paragraphs(fake_pipeline):
    a = fake_pipeline.ask("重庆打造具有全球影响力的智能网联新能源汽车之都，主要从哪几个方面推进？")
    assert not a.refused
    for title in ("提升汽车产业链主导力和控制力", "增强汽车产业创新策源力", "培育世界级汽车品牌", "构建一流汽车产业生态"):
        assert title in a.lead and title in a.citations[0].quote, a.lead
    verbatim(fake_pipeline, a)
