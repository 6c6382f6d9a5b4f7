"""Retrieval and answering behaviour on the real corpus with the deterministic fake embedder."""
import re

import pytest

from rag.answer import question_type, rewrite_followup
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


def test_answer_citations_are_verbatim_and_markers_resolve(fake_pipeline):
    texts = {d.doc_id: d.text for d in fake_pipeline.corpus.documents}
    for q in ["重庆“十五五”研发经费投入强度目标是多少？", "“33618”是什么？", "2024年计划提出软件信息服务主营业务收入要达到多少？",
              "行动方案提出到2027年主城都市区常住人口达到多少？"]:
        a = fake_pipeline.ask(q)
        assert not a.refused, q
        ns = {c.n for c in a.citations}
        assert {int(n) for n in re.findall(r"\[(\d+)\]", a.answer)} <= ns
        for c in a.citations:
            assert texts[c.doc_id][c.start:c.end] == c.quote
    a = fake_pipeline.ask("2024年计划提出软件信息服务主营业务收入要达到多少？")
    assert "4000亿元" in a.answer
    q = next(c for c in a.citations if "4000" in c.quote)
    assert "\n" in q.quote                       # the quote keeps the newspaper's hard line break


def test_refusal_for_absent_topic(fake_pipeline):
    a = fake_pipeline.ask("重庆市2030年商品房平均房价目标是多少元每平方米？")
    assert a.refused and a.answer.startswith("文档中未提及")


def test_question_types():
    assert question_type("“33618”是什么？") == "definition"
    assert question_type("有哪些重点产业") == "list"
    assert question_type("如何推进乡村振兴") == "why_how"
    assert question_type("2030年目标是多少") == "number"


def test_rule_based_followups(fake_pipeline):
    al = fake_pipeline.retriever.aliases
    h = [{"role": "user", "content": "重庆到2030年研发经费投入强度目标是多少？"}, {"role": "assistant", "content": "3.25[1]"}]
    assert rewrite_followup("那綦江呢？", h, al).startswith("綦江")
    assert "研发经费投入强度" in rewrite_followup("那綦江呢？", h, al)
    assert rewrite_followup("那2025年呢？", h, al) == "重庆到2025年研发经费投入强度目标是多少？"
    assert "研发经费" in rewrite_followup("它的属性是什么？", h, al)
    assert rewrite_followup("乡村振兴有哪些重点任务，请详细说明具体内容和要求", h, al) is None
    assert rewrite_followup("那綦江呢？", [], al) is None
    a = fake_pipeline.ask("那綦江呢？", h)
    assert a.rewritten_query and a.citations[0].doc_id == "qijiang-15th-five-year-plan"


def test_term_weights_for_words_the_index_does_not_know(fake_pipeline):
    ans = fake_pipeline.answerer
    w = ans.term_weights(["网约车", "共治中", "多长", "能领", "scenario"])
    # a guessed new word with no piece in the corpus is specific: it weighs the maximum
    assert w["网约车"] == ans.index.max_idf
    # a guessed word that glues question words to corpus words (共治 is in the corpus) is ignored
    assert "共治中" not in w
    # question words and two-character guesses carry no evidence weight
    assert "多长" not in w and "能领" not in w
    assert "scenario" not in w            # Latin words: jieba has no frequency to judge them by
    # a word the corpus contains but segments differently gets the idf of its substring frequency
    assert ans.index.substring_df("当作") >= 1
    assert 0 < ans.term_weights(["当作"])["当作"] < ans.index.max_idf


def test_refusal_when_only_a_broader_synonym_matches(fake_pipeline):
    # “收入” maps to the documents' “可支配收入”, but “旅游总收入” is more specific and must stay a term
    terms = fake_pipeline.answerer.question_terms("2024年重庆全市旅游总收入是多少亿元？")
    assert "总收入" in terms
    assert fake_pipeline.ask("2024年重庆全市旅游总收入是多少亿元？").refused
