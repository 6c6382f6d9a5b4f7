"""Retrieval behaviour on the real corpus with the deterministic fake embedder (answers: tests/test_answer.py)."""
import re

import pytest

from rag.answer import rewrite_followup
from rag.pipeline import QuestionError
from rag.retrieve import Retriever, RetrieverConfig


def test_hits_have_verbatim_offsets(fake_pipeline):
    texts = {d.doc_id: d.text for d in fake_pipeline.corpus.documents}
    hits = fake_pipeline.retrieve("重庆“十五五”研发经费投入强度目标是多少？", 5)
    assert len(hits) == 5
    for h in hits:
        assert texts[h.doc_id][h.start:h.end] == h.text
    assert hits[0].score >= hits[-1].score


def test_table_row_found_for_indicator_question(fake_pipeline):
    hits = fake_pipeline.retrieve("重庆“十五五”研发经费投入强度目标是多少？", 5)
    assert any("3.25" in h.match_text and h.kind == "table_row" for h in hits)


def test_glossary_expansion_and_named_document(fake_pipeline):
    hits = fake_pipeline.retrieve("“416”指的是什么？", 3)
    assert any(h.kind == "glossary" and "416" in h.text for h in hits)
    r = fake_pipeline.retriever
    assert r.named_docs("綦江区的就业目标") == ["qijiang-15th-five-year-plan"]
    assert r.named_docs("行动方案提出了什么") == ["chengyu-twin-city-action-plan-2023-2027"]
    assert r.named_docs("2024年计划里说了什么") == ["chongqing-2024-plan-report-excerpt"]
    hits = fake_pipeline.retrieve("綦江的研发经费投入强度目标", 3)
    assert hits[0].doc_id == "qijiang-15th-five-year-plan"


def test_another_document_s_glossary_entry_ranks_with_the_named_document(fake_pipeline):
    # the 2024 report uses “416”, the outline's glossary explains it: the named-document prior lifts the entry too
    a = fake_pipeline.answerer
    hits, _ = a.retrieve(a.analyze("2024年计划要全力构建“416”科技创新战略布局，其中“16”个重点领域包括哪些？", []), 6)
    assert any(h.kind == "glossary" and "416" in h.text and h.doc_id != "chongqing-2024-plan-report-excerpt" for h in hits)


def test_two_named_documents_are_both_represented(fake_pipeline):
    hits = fake_pipeline.retrieve("綦江和行动方案分别对研发投入提出了什么目标？", 5)
    docs = {h.doc_id for h in hits[:2]}
    assert docs == {"qijiang-15th-five-year-plan", "chengyu-twin-city-action-plan-2023-2027"}


def test_doc_filter(fake_pipeline):
    hits = fake_pipeline.retrieve("研发经费投入强度", 5, doc_filter="qijiang-15th-five-year-plan")
    assert {h.doc_id for h in hits} == {"qijiang-15th-five-year-plan"}


def test_modes(fake_pipeline):
    p = fake_pipeline
    for mode in ("bm25", "dense"):
        r = Retriever(p.index, p.embedder, p.corpus, RetrieverConfig(mode=mode))
        assert len(r.retrieve("研发经费投入强度", 3)) == 3
    with pytest.raises(ValueError):
        RetrieverConfig(mode="nope")


@pytest.mark.parametrize("bad", ["", "   ", "\u200b\u200b", "问" * 600, 123, None])
def test_bad_questions_rejected_clearly(fake_pipeline, bad):
    with pytest.raises(QuestionError):
        fake_pipeline.ask(bad)


def test_rule_based_followups(fake_pipeline):
    al = fake_pipeline.answerer.analyzer.followup_names
    h = [{"role": "user", "content": "重庆到2030年研发经费投入强度目标是多少？"}, {"role": "assistant", "content": "3.25[1]"}]
    assert rewrite_followup("那綦江呢？", h, al).startswith("綦江")
    assert "研发经费投入强度" in rewrite_followup("那綦江呢？", h, al)
    assert rewrite_followup("那2025年呢？", h, al) == "重庆到2025年研发经费投入强度目标是多少？"
    assert "研发经费" in rewrite_followup("它的属性是什么？", h, al)
    assert rewrite_followup("乡村振兴有哪些重点任务，请详细说明具体内容和要求", h, al) is None
    assert rewrite_followup("那綦江呢？", [], al) is None
    a = fake_pipeline.ask("那綦江呢？", h)
    assert a.rewritten_query and a.citations[0].doc_id == "qijiang-15th-five-year-plan"


def test_a_shortened_document_name_names_the_one_title_it_fits():
    from rag.retrieve import TitleAbbreviations

    ab = TitleAbbreviations({"plan": "重庆市国民经济和社会发展第十五个五年规划纲要",
                             "qj": "重庆市綦江区国民经济和社会发展第十五个五年规划纲要",
                             "act": "重庆市推动成渝地区双城经济圈建设行动方案（2023—2027年）"}, common=["重庆市"])
    assert ab.find("成渝双圈方案里的“四千行动”指啥？") == {"act": 0}
    assert ab.find("我看双城经济圈行动方案说") == {"act": 2}
    assert ab.find("綦江十五五规划纲要") == {"qj": 0}        # 綦 fits 綦江's title only
    assert ab.find("十五五规划的目标") == {}                 # fits both outlines
    assert ab.find("重庆市的方案") == {} and ab.find("重庆市方案") == {}   # the home region's name alone
    assert ab.find("双圈方案") == {}                         # two characters are too few
    with pytest.raises(ValueError):
        TitleAbbreviations({}, min_chars=1)


def test_a_shortened_document_name_is_a_named_document(fake_pipeline):
    r = fake_pipeline.retriever
    assert r.named_docs("成渝双圈方案里的“四千行动”指啥？") == ["chengyu-twin-city-action-plan-2023-2027"]
    q = fake_pipeline.answerer.analyze("成渝双圈方案里的“四千行动”指啥？", [])
    assert q.subject.docs == ("chengyu-twin-city-action-plan-2023-2027",)
