"""Multi-turn: follow-ups are rewritten into standalone queries (rule-based for the extractive
backend) and answered from the right document. 12 pairs across the five documents."""
import pytest

U, A = "user", "assistant"

PAIRS = [
    # (first question, follow-up, words the rewrite must contain, document the answer must cite)
    ("重庆到2030年研发经费投入强度目标是多少？", "那綦江呢？", ["綦江", "研发经费投入强度"], "qijiang-15th-five-year-plan"),
    ("綦江的常住人口城镇化率2030年目标是多少？", "那2025年呢？", ["2025", "常住人口城镇化率"], "qijiang-15th-five-year-plan"),
    ("重庆“十五五”人均预期寿命目标是多少？", "它属于约束性指标还是预期性指标？", ["人均预期寿命"], "chongqing-15th-five-year-plan"),
    ("“33618”现代制造业集群体系是什么？", "其中的“6”具体指什么？", ["33618"], "chongqing-15th-five-year-plan"),
    ("2024年计划提出软件信息服务主营业务收入要达到多少？", "那制造业增加值占GDP比重呢？", ["制造业增加值"], "chongqing-2024-plan-report-excerpt"),
    ("2024年计划对“416”科技创新布局有什么部署？", "具体有哪几个方面？", ["416"], "chongqing-2024-plan-report-excerpt"),
    ("2025年计划的地区生产总值增长目标是多少？", "那居民消费价格呢？", ["居民消费价格"], "chongqing-2025-plan-report-excerpt"),
    ("2025年计划提出城镇新增就业多少人？", "城镇调查失业率呢？", ["城镇调查失业率"], "chongqing-2025-plan-report-excerpt"),
    ("行动方案提出到2027年主城都市区地区生产总值要超过多少？", "常住人口呢？", ["主城都市区", "常住人口"], "chengyu-twin-city-action-plan-2023-2027"),
    ("行动方案对中欧班列有什么目标？", "那西部陆海新通道呢？", ["西部陆海新通道"], "chengyu-twin-city-action-plan-2023-2027"),
    ("綦江“十五五”时期地区生产总值年均增速目标是多少？", "那全市呢？", ["全市", "地区生产总值"], None),
    ("綦江规划里的“两主四特”是什么？", "那“四特”具体包括哪些？", ["四特"], "qijiang-15th-five-year-plan"),
]


@pytest.mark.parametrize("first,follow,must,doc", PAIRS, ids=[p[1] for p in PAIRS])
def test_followup_rewritten_and_answered(fake_pipeline, first, follow, must, doc):
    history = [{"role": U, "content": first}, {"role": A, "content": "（上一轮回答）"}]
    ans = fake_pipeline.ask(follow, history)
    assert ans.rewritten_query, "a follow-up must be rewritten"
    for w in must:
        assert w in ans.rewritten_query, (w, ans.rewritten_query)
    if doc:
        assert not ans.refused
        assert ans.citations[0].doc_id == doc, (ans.rewritten_query, ans.citations[0].location)


def test_standalone_question_with_history_is_not_rewritten(fake_pipeline):
    history = [{"role": U, "content": "重庆到2030年研发经费投入强度目标是多少？"}, {"role": A, "content": "3.25"}]
    ans = fake_pipeline.ask("2024年计划提出软件信息服务主营业务收入要达到多少亿元，主要通过哪些举措实现？", history)
    assert ans.rewritten_query is None


def test_history_shapes(fake_pipeline):
    from rag.pipeline import QuestionError

    for history in ([], [{"role": A, "content": "只有回答"}], [{"role": U, "content": ""}]):
        ans = fake_pipeline.ask("那綦江呢？", history)
        assert ans.answer and ans.rewritten_query is None
    with pytest.raises(QuestionError, match="history"):
        fake_pipeline.ask("那綦江呢？", [{"foo": "bar"}])


def test_a_follow_up_of_a_follow_up_reads_the_resolved_turn():
    from rag.answer.followup import rewrite_followup
    names = ["綦江", "綦江区", "全市", "重庆"]
    history = [{"role": U, "content": "到2030年全市常住人口城镇化率目标是多少？"}, {"role": A, "content": "…"},
               {"role": U, "content": "那綦江呢？"}, {"role": A, "content": "…"}]
    out = rewrite_followup("比2025年高多少？", history, names)
    assert "綦江" in out and "常住人口城镇化率" in out and "全市" not in out and "2025" in out
    # a standalone turn in between starts a new thread
    history += [{"role": U, "content": "行动方案提出到2027年高速公路通车里程超过多少？"}, {"role": A, "content": "…"}]
    out = rewrite_followup("那2030年呢？", history, names)
    assert "高速公路" in out and "城镇化率" not in out
