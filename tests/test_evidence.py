"""Evidence verification on its own (rag/answer/evidence.py): each check on hand-made clauses of hand-made
documents, the questions analysed by the product's analyzer. No retrieval, no embedder."""
from dataclasses import replace

import pytest

from rag.answer.evidence import EvidenceConfig, EvidenceVerifier, period_name, quantities
from rag.answer.rules import Slot
from rag.schema import Chunk, Hit
from rag.scope import DocScope, gazetteer

SCOPES = {
    "cq-plan": DocScope("重庆市", 2026, 2030),                    # a five-year plan outline
    "qj-plan": DocScope("綦江区", 2026, 2030),
    "cq-2024": DocScope("重庆市", 2024, 2024),                    # an annual plan (targets for 2024)
    "cq-2025": DocScope("重庆市", 2025, 2025, review_year=2024),  # 2024 results, then the 2025 plan
    "sh-2026": DocScope("上海市", 2026, 2026, review_year=2025),
    "nat-2019": DocScope("全国", 2019, 2019, review_year=2018),
}
HEADINGS = {}


def hit(doc, text, kind="paragraph", headings=(), start=0, location="第一章"):
    cid = f"{doc}#{len(HEADINGS)}"
    HEADINGS[cid] = Chunk(cid, doc, doc, location, tuple(headings), kind, text, start, start + len(text))
    return Hit(doc_id=doc, title=doc, location=location, text=text, start=start, end=start + len(text), score=1.0,
               chunk_id=cid, kind=kind, match_text=text)


@pytest.fixture(scope="module")
def qa(fake_pipeline):
    return fake_pipeline.answerer.analyzer


@pytest.fixture()
def verifier():
    # the chunks tell where the 2025 report's plan part begins (its first heading naming 2025)
    plan_part = Chunk("cq-2025#plan", "cq-2025", "cq-2025", "二、", ("二、2025年国民经济和社会发展计划总体考虑",),
                      "paragraph", "……", 1000, 1002)
    return EvidenceVerifier(EvidenceConfig(), list(HEADINGS.values()) + [plan_part], SCOPES, gazetteer(), "重庆市")


def verifier_chunks():
    return list(HEADINGS.values()) + [Chunk("cq-2025#plan", "cq-2025", "cq-2025", "二、", ("二、2025年国民经济和社会发展计划总体考虑",),
                                            "paragraph", "……", 1000, 1002)]


def check(verifier, qa, question, h, history=()):
    v = EvidenceVerifier(verifier.config, list(HEADINGS.values()) + [
        Chunk("cq-2025#plan", "cq-2025", "cq-2025", "二、", ("二、2025年国民经济和社会发展计划总体考虑",), "paragraph",
              "……", 1000, 1002)], SCOPES, gazetteer(), "重庆市")
    q = qa.run(question, list(history))
    return v.check(q, v.units([h])[0])


# ----------------------------------------------------------------------------- config
def test_config_is_validated():
    with pytest.raises(ValueError, match="min_topic"):
        EvidenceConfig(min_topic=1.5)
    with pytest.raises(ValueError, match="rank_bonus"):
        EvidenceConfig(rank_bonus=-1)
    assert EvidenceConfig().to_dict()["max_units"] == 4


# ----------------------------------------------------------------------------- subject
def test_a_question_about_chongqing_is_not_answered_by_another_province(verifier, qa):
    h = hit("sh-2026", "全市常住人口城镇化率达到89.5%。")
    c = check(verifier, qa, "重庆常住人口城镇化率是多少？", h)
    assert not c.subject and not c.supported
    assert check(verifier, qa, "重庆常住人口城镇化率是多少？", hit("cq-plan", "常住人口城镇化率达到75%左右。")).subject_via == "region"


def test_a_district_question_is_answered_by_the_city_plan_only_where_it_names_the_district(verifier, qa):
    assert check(verifier, qa, "万州要建设什么？", hit("cq-plan", "支持万州建设重要城市副中心。")).subject_via == "mention"
    assert not check(verifier, qa, "万州要建设什么？", hit("cq-plan", "建设重要城市副中心。")).subject
    # the district's own plan
    assert check(verifier, qa, "綦江城镇化率目标", hit("qj-plan", "常住人口城镇化率达到70%。")).subject_via in ("region", "named")


def test_no_place_means_the_home_region_and_places_inside_it(verifier, qa):
    assert check(verifier, qa, "城镇化率目标是多少", hit("qj-plan", "常住人口城镇化率达到70%。")).subject_via == "home"
    assert not check(verifier, qa, "城镇化率目标是多少", hit("nat-2019", "常住人口城镇化率达到60%。")).subject


def test_a_named_document_must_still_be_about_the_place_asked(verifier, qa):
    c = check(verifier, qa, "成都2024年计划新增多少个口袋公园？", hit("cq-2024", "新增100个口袋公园。"))
    assert not c.subject


# ----------------------------------------------------------------------------- time frame
def test_a_clause_states_the_asked_year_or_its_document_covers_it(verifier, qa):
    assert check(verifier, qa, "2024年计划新增多少个口袋公园？", hit("cq-2024", "新增100个口袋公园。")).time
    assert not check(verifier, qa, "2028年新增多少个口袋公园？", hit("cq-plan", "新增100个口袋公园。")).time
    assert check(verifier, qa, "2030年新增多少个口袋公园？", hit("cq-plan", "新增100个口袋公园。")).time  # the plan's end year
    assert check(verifier, qa, "2027年新增多少个口袋公园？", hit("cq-plan", "到2027年新增100个口袋公园。")).time


def test_actual_results_are_not_answered_by_a_target(verifier, qa):
    plan = hit("cq-2024", "力争城镇新增就业60万人。")
    assert not check(verifier, qa, "2024年城镇新增就业实际完成了多少？", plan).time
    review = hit("cq-2025", "全市城镇新增就业71.9万人,超额完成年度目标任务。", start=10)     # before the plan part
    assert check(verifier, qa, "2024年城镇新增就业实际完成了多少？", review).time
    plan_part = hit("cq-2025", "城镇新增就业65万人。", start=2000, headings=("二、2025年国民经济和社会发展计划总体考虑",))
    assert not check(verifier, qa, "2024年城镇新增就业实际完成了多少？", plan_part).time
    assert check(verifier, qa, "2025年城镇新增就业目标是多少？", plan_part).time


def test_a_plan_period_is_met_by_the_next_plans_review(verifier, qa):
    review = hit("qj-plan", "“十四五”时期地区生产总值年均增长5.9%。", headings=("第一章 “十四五”时期经济社会发展交出高质量答卷",))
    assert check(verifier, qa, "綦江“十四五”时期地区生产总值年均增长了多少？", review).time
    assert period_name((2021, 2025)) == "十四五" and period_name((2026, 2030)) == "十五五"


def test_a_period_s_target_is_not_a_year_in_it_of_a_document_that_began_before_it(verifier, qa):
    SCOPES["act-2327"] = DocScope("重庆市", 2023, 2027)          # an action plan: its 2027 is its own end year
    try:
        act = hit("act-2327", "到 2027 年，单位地区生产总值二氧化碳排放降低 15%左右。")
        assert not check(verifier, qa, "“十五五”期间单位地区生产总值二氧化碳排放降低的目标是多少？", act).time
        plan = hit("cq-plan", "到2027年，单位地区生产总值二氧化碳排放降低15%左右。")
        assert check(verifier, qa, "“十五五”期间单位地区生产总值二氧化碳排放降低的目标是多少？", plan).time
    finally:
        del SCOPES["act-2327"]
    assert quantities("推行四位一体培训模式，新增三个中心") == [("三", "count")]


def test_a_glossary_entry_is_timeless_for_a_definition(verifier, qa):
    g = hit("cq-plan", "3．“33618”现代制造业集群体系。指……", kind="glossary")
    assert check(verifier, qa, "2024年计划里的“33618”是什么意思？", g).time


def test_a_glossary_entry_is_timeless_for_a_list_of_a_code_s_members(verifier, qa):
    # "2024年计划…“416”…其中“16”个重点领域包括哪些": the outline's glossary lists them; 2024 is the report's year
    g = hit("cq-plan", "2．“416”科技创新布局。“4”，指数智科技、生命健康4大科创高地；“16”，指人工智能、区块链等重点领域。", kind="glossary")
    assert check(verifier, qa, "2024年计划要构建“416”科技创新战略布局，其中“16”个重点领域包括哪些？", g).time
    assert not check(verifier, qa, "2024年计划要新增多少个重点领域？", hit("cq-plan", "新增16个重点领域。")).time


def test_each_side_of_a_comparison_of_documents_is_held_to_the_years_it_covers(verifier, qa):
    # the 2027 is the action plan's; the 2024 report's side is not asked for 2027
    q = qa.run("高新技术企业数量，2024年计划目标和行动方案的2027年目标分别是多少？", [])
    assert q.timeframe.years == (2027,)
    side = hit("cq-2024", "力争全市高新技术企业突破8500家。")
    assert verifier.check(replace(q, subject=replace(q.subject, docs=("cq-2024", "cq-plan"))), verifier.units([side])[0]).time
    assert not verifier.check(replace(q, subject=replace(q.subject, docs=("cq-2024",))), verifier.units([side])[0]).time
    assert DocScope("重庆市", 2024, 2024).covers(2024) and not DocScope("重庆市", 2024, 2024).covers(2027)
    assert DocScope("重庆市", 2025, 2025, review_year=2024).covers(2024)
    assert DocScope("綦江区", 2026, 2030).covers(2025) and DocScope("", None, None).covers(1999)


# ----------------------------------------------------------------------------- slot
def test_markdown_bold_around_a_figure_is_no_multiplication():
    # the action plan's text marks figures **50**个: still 50 of a count unit, not 50 × something
    assert quantities("新建 **50**个智能工厂和 **500**个数字化车间") == [("50", "count"), ("500", "count")]
    assert quantities("2×1000MW机组")[-1][0] == "1000"
    # a star after a 专栏 cell's value marks it (6*: 预期性 footnote), it multiplies nothing
    assert quantities("2030年目标：6*｜属性：预期性") == [("6", None)]
    assert quantities("2030年目标：5—5.5*") == [("5.5", None)]


def test_quantities_skip_years_ordinals_item_numbers_and_vague_amounts():
    assert quantities("到2030年建成3个中心、50家企业") == [("3", "count"), ("50", "count")]
    assert quantities("第3批、一批、千亿级开发区、一体化") == []
    assert quantities("3. 推进就业") == []
    assert ("5.5", "percent") in quantities("控制在5.5%以内")


def test_a_number_must_be_tied_to_the_topic(verifier, qa):
    c = check(verifier, qa, "2024年接待过夜游客多少万人次？",
              hit("cq-2025", "接待过夜游客 863.5 万人次,增长 10%。", start=5))
    assert c.slot
    c = check(verifier, qa, "打造多少个千亿级开发区？", hit("cq-plan", "加快打造一批产业发展优的千亿级开发区。"))
    assert not c.slot                                  # 一批 / 千亿级 give no count
    c = check(verifier, qa, "城镇新增就业多少人？", hit("cq-plan", "推进稳就业促增收，新建公园100个，改造管网500公里。"))
    assert not c.slot                                  # numbers, but about something else


def test_the_unit_and_its_multiplier_must_fit(verifier, qa):
    row = "人均地区生产总值（万元）｜2025年：6.1｜2030年目标：8.5｜属性：预期性"
    h = hit("qj-plan", row, kind="table_row")
    assert check(verifier, qa, "綦江2030年人均地区生产总值目标是多少万元？", h).slot
    assert not check(verifier, qa, "綦江2025年地区生产总值总量是多少亿元？", h).slot     # 亿元, not 万元
    assert not check(verifier, qa, "綦江人均地区生产总值目标是多少人？", h).slot
    # an age is years lived: a row in （年） answers 多少岁, one in （%） does not
    life = hit("qj-plan", "人均预期寿命（年）｜2025年：79.8｜2030年目标：＞80｜属性：预期性", kind="table_row")
    assert check(verifier, qa, "綦江区规划给出的2025年人均预期寿命是多少岁？", life).slot
    assert not check(verifier, qa, "綦江2025年城镇化率是多少岁？",
                     hit("qj-plan", "城镇化率（%）｜2025年：68.04｜2030年目标：70", kind="table_row")).slot


def test_a_table_row_must_hold_a_value_for_the_asked_year(verifier, qa):
    h = hit("cq-plan", "居民消费率（%）｜2025年：—｜2030年目标：46｜属性：预期性", kind="table_row")
    assert check(verifier, qa, "2030年居民消费率目标是多少？", h).slot
    assert not check(verifier, qa, "2025年重庆的居民消费率是多少？", h).slot


def test_time_place_list_and_definition_slots(verifier, qa):
    assert not check(verifier, qa, "渝贵高铁啥时候通车？", hit("cq-plan", "开工建设渝贵高铁。")).slot
    assert check(verifier, qa, "渝贵高铁啥时候通车？", hit("cq-plan", "渝贵高铁2028年建成通车。")).slot
    assert not check(verifier, qa, "重庆新机场选址在哪里？", hit("cq-plan", "谋划建设重庆新机场。")).slot
    assert check(verifier, qa, "重庆新机场选址在哪里？", hit("cq-plan", "重庆新机场选址渝北区。")).slot
    assert not check(verifier, qa, "15件重点民生实事是哪15件？", hit("cq-2024", "滚动实施2024年15件重点民生实事。")).slot
    assert check(verifier, qa, "重点推进哪些工程？",
                 hit("cq-2025", "纵深推进“车路云一体化”“渝赛计划”“超充行动”等重大工程。", start=2000)).slot
    assert check(verifier, qa, "“33618”是什么？", hit("cq-plan", "3．“33618”现代制造业集群体系。", kind="glossary")).slot


def test_a_time_is_as_exact_as_asked_and_not_the_year_the_question_states(verifier, qa):
    h = hit("cq-2024", "高质量举办2024年成渝地区双城经济圈全球投资推介会。")
    assert not check(verifier, qa, "2024年全球投资推介会在哪一天举办？", h).slot       # 2024年 is the question's own
    assert check(verifier, qa, "全球投资推介会哪一年举办？", h).slot
    h = hit("cq-2024", "2024年6月举办全球投资推介会。")
    assert check(verifier, qa, "2024年全球投资推介会在哪个月举办？", h).slot
    assert not check(verifier, qa, "2024年全球投资推介会在哪一天举办？", h).slot
    assert check(verifier, qa, "2024年全球投资推介会在哪一天举办？", hit("cq-2024", "6月18日举办全球投资推介会。")).slot


def test_a_table_row_s_years_are_column_labels_not_dates(verifier, qa):
    row = hit("cq-plan", "研发经费投入强度（%）｜2025年：预计2.65｜2030年目标：3.25｜属性：预期性", kind="table_row")
    assert not check(verifier, qa, "研发经费投入强度哪一年达到3.25？", row).slot


def test_ranges_and_products_are_one_quantity():
    assert quantities("争创1—2个国家国防教育示范基地") == [("2", "count")]
    assert quantities("扶欢2×1000MW煤电联营项目") == [("1000", "power")]


def test_an_item_title_heads_the_sentences_after_it(verifier):
    h = hit("qj-plan", "2．培育“綦色生香”品牌。重点培育綦江米粉、北渡鱼、赶水豆腐乳等品牌，加大商标注册和推广力度，"
                       "推动更多特色农产品进入大型商超和电商平台，提升品牌知名度和市场占有率。")
    units = verifier.units([h])
    assert len(units) == 2 and "綦色生香" in units[1].headings


def test_another_document_s_glossary_explains_a_name_the_named_document_uses(verifier, qa):
    q = qa.run("行动方案中的“四千行动”包括哪四项内容？", [])
    entry = hit("cq-plan", "38．四千行动。指千万亩高标准农田改造提升行动、千亿级生态特色产业培育行动。", kind="glossary")
    assert verifier.subject(q, verifier.units([entry])[0]) == "region"
    assert verifier.subject(q, verifier.units([hit("cq-plan", "迭代实施“四千行动”。")])[0]) == ""


def test_a_district_s_glossary_explains_a_name_the_city_s_document_uses(verifier, qa):
    # the 2024 city report names “141”; 綦江's glossary explains it (a place within the city) -- 上海's would not
    q = qa.run("2024年计划里说要推进“141”基层智治体系，这个“141”到底指的啥？", [])
    assert verifier.subject(q, verifier.units([hit("qj-plan", "“141”基层智治体系。又称……", kind="glossary")])[0]) == "region"
    assert verifier.subject(q, verifier.units([hit("sh-2026", "“141”基层智治体系。又称……", kind="glossary")])[0]) == ""


def test_a_glossary_entry_explains_the_code_a_list_question_quotes(verifier, qa):
    # a list question about a quoted code is answered by the entry for that code (it lists the members), so the
    # entry gets the glossary bonus as a definition question's entry does; another code's entry does not
    entry = verifier.units([hit("cq-plan", "3．“33618”现代制造业集群体系。第1个“3”，指……", kind="glossary")])[0]
    other = verifier.units([hit("cq-plan", "4．“416”科技创新布局。指……", kind="glossary")])[0]
    listing = qa.run("“33618”里的3大主导产业集群是哪些？", [])
    assert verifier._explains(listing, entry) and not verifier._explains(listing, other)
    assert not verifier._explains(qa.run("“33618”集群有多少个？", []), entry)
    assert verifier._explains(qa.run("“416”是什么意思？", []), other)


def test_the_members_of_a_counted_set_are_not_the_sentence_that_counts_it(verifier, qa):
    q = "2024年计划中“渝快办”拟上线的500项高频事项具体是哪些？"
    counting = hit("cq-2024", "集成优化“渝快办”“渝快政”服务功能；“渝快办”上线500项高频事项；推进三级数字化城市运行和治理中心部署。")
    assert not check(verifier, qa, q, counting).slot
    listing = hit("cq-2024", "重点帮扶好城口、巫溪、酉阳、彭水4个国家乡村振兴重点帮扶县。")
    assert check(verifier, qa, "2024年计划重点帮扶的4个国家乡村振兴重点帮扶县是哪几个？", listing).slot


def test_a_list_the_asked_thing_is_an_item_of_lists_its_siblings_and_a_quoted_code_is_no_amount(verifier, qa):
    siblings = hit("cq-plan", "接续实施轨道交通第四期、第五期规划项目；推动主城都市区骨架路网一体互联。")
    assert not check(verifier, qa, "重庆轨道交通第五期建设规划包括哪几条线路？", siblings).slot
    quoted = hit("cq-plan", "实施“第四期”、“第五期”规划项目；推动主城都市区骨架路网一体互联。")   # 、“…”: the same
    assert not check(verifier, qa, "重庆轨道交通“第五期”建设规划包括哪几条线路？", quoted).slot
    assert quantities("深化落实“1131”就业帮扶机制，新增就业60万人") == [("60", "person")]


def test_a_list_must_be_of_what_is_asked(verifier, qa):
    # the enumeration two segments on lists something else; "A和B" alone lists nothing
    assert not check(verifier, qa, "240小时过境免签政策哪些国家的人能用？", hit(
        "cq-2025", "实施好240小时过境免签政策,增加主要客源国直航航线,提高口岸通关、金融支付、网络通信等便利化水平。",
        start=2000)).slot
    assert not check(verifier, qa, "15件重点民生实事具体是哪15件？", hit(
        "cq-2025", "健全重大民生政策出台和民生物资价格调整风险评估机制,15 件重点民生实事全部兑现。", start=2000)).slot
    # the next segment lists what the one before names
    assert check(verifier, qa, "规划要培育的未来产业有哪些？", hit(
        "cq-plan", "建立未来产业投入增长和风险分担机制，培育具身智能机器人、生物制造、量子科技等未来产业。")).slot
    # a question asking for two is answered by "A和B"
    assert check(verifier, qa, "要提质建设的两个物流园区是哪两个？", hit(
        "qj-plan", "提质建设南部综合物流园和东部物流园两个物流园区。")).slot


def test_a_list_of_figures_does_not_name_the_members(verifier, qa):
    h = hit("cq-2024", "梯度实施智能化改造，新建5个未来工厂、10个智能工厂、100个数字化车间，打造5个行业产业大脑。")
    assert not check(verifier, qa, "2024年计划新建的5个未来工厂分别是哪些企业？", h).slot
    assert check(verifier, qa, "2024年计划要推广哪些智能化改造？", hit(
        "cq-2024", "梯度实施智能化改造，推广工业机器人、智能仓储、数字孪生等应用。")).slot


def test_figures_listed_among_other_segments_name_no_members(verifier, qa):
    # the list of figures is one segment of a longer sentence (normalised commas are half-width), bolded figures
    h = hit("cq-2024", "整合外国领事、商务机构资源，深化对外合作，新增国际友好城市超**10**对、友好交流城市超**15**对，"
                       "争取举办国际会议活动超**200**场。")
    assert not check(verifier, qa, "2024年计划新增国际友好城市超10对，具体和哪些外国城市结好？", h).slot


def test_a_number_counting_a_set_is_in_a_clause_only_where_it_counts_the_same(verifier, qa):
    q = qa.run("2024年计划要滚动实施15件重点民生实事，这15件具体是哪些？", [])
    other = verifier.check(q, verifier.units([hit("cq-2024", "打造“15分钟公共文化服务圈”，实施全民健身步道工程。")])[0])
    assert other.specific_missing == ("15",)
    same = verifier.check(q, verifier.units([hit("cq-2024", "滚动实施2024年15 件重点民生实事。")])[0])
    assert not same.specific_missing
    verifier.config = replace(verifier.config, counted_numbers=False)
    assert not verifier.check(q, other.unit).specific_missing


def test_a_number_the_question_names_is_not_the_digits_of_another(verifier, qa):
    q = qa.run("这5个未来工厂分别是哪些企业？", [])
    assert verifier.coverage(q, "力争营收500亿元以上企业突破10家。") < verifier.coverage(q, "新建5个未来工厂。")


def test_the_names_before_the_asked_count_say_where_the_counted_things_are(verifier, qa):
    h = hit("qj-plan", "4．低空。推进横山、古剑山、高庙、万隆、丁山、老瀛山等6个直升机/固定翼停机坪及N个低空起降点前期工作。",
            kind="item")
    assert check(verifier, qa, "綦江计划推进前期工作的6个直升机/固定翼停机坪分别在哪里？", h).slot
    assert not check(verifier, qa, "綦江计划推进前期工作的5个直升机/固定翼停机坪分别在哪里？", h).slot   # six named
    assert not check(verifier, qa, "綦江的直升机停机坪在哪里？", h).slot           # no count asked: they may be names


def test_a_province_asked_is_named_by_its_short_name_in_a_joint_name(verifier, qa):
    from rag.answer.slots import short_named_provinces
    assert [p for p, _, _ in short_named_provinces("深化推进鲁渝东西部协作")] == ["山东省", "重庆市"]
    assert short_named_provinces("新港") == [] and short_named_provinces("渝渝") == []     # everyday, repeated
    h = hit("cq-2024", "精准抓好4个国家乡村振兴重点帮扶县帮扶工作，深化推进鲁渝东西部协作，坚持将65%以上中央衔接资金用于产业发展。")
    assert check(verifier, qa, "2024年计划提出深化推进重庆与哪个省市的东西部协作？", h).slot
    assert not check(verifier, qa, "2024年计划提出深化推进重庆与哪个省市的东西部协作？", hit(
        "cq-2024", "深化推进东西部协作，坚持将65%以上中央衔接资金用于产业发展。")).slot


def test_a_figure_relative_to_an_average_is_not_the_asked_one(verifier, qa):
    rel = hit("cq-2025", "渝东新城大力提升综合交通枢纽功能,固定资产投资、社会消费品零售总额增速高于全市平均 4.5 个、0.7 个百分点。")
    assert not check(verifier, qa, "2024年社会消费品零售总额实际增长了多少？", rel).slot
    assert check(verifier, qa, "2024年渝东新城社会消费品零售总额增速比全市平均高多少？", rel).slot   # asked
    verifier.config = replace(verifier.config, relative_figures=False)
    assert check(verifier, qa, "2024年社会消费品零售总额实际增长了多少？", rel).slot


def test_the_whole_asked_is_not_answered_by_a_section_about_a_part(verifier, qa):
    part = hit("cq-plan", "到 2027 年，基本建成现代化国际大都市，常住人口城镇化率超过 80%。",
               headings=("二、重点任务", "（一）实施提升主城都市区极核引领行动。"))
    assert not check(verifier, qa, "到2027年重庆全市常住人口城镇化率目标是多少？", part).subject
    assert check(verifier, qa, "到2027年主城都市区常住人口城镇化率目标是多少？", part).subject
    assert check(verifier, qa, "到2027年重庆常住人口城镇化率目标是多少？", part).subject   # the whole not said: as before
    opening = hit("cq-plan", "渝东北三峡库区城镇群和渝东南武陵山区城镇群现代化建设取得显著成效，常住人口城镇化率达到 60%。")
    assert not check(verifier, qa, "到2027年全市常住人口城镇化率目标是多少？", opening).subject
    whole = hit("cq-plan", "全市常住人口城镇化率达到75%，主城都市区超过80%。", headings=("（一）实施提升主城都市区极核引领行动。",))
    assert check(verifier, qa, "到2030年全市常住人口城镇化率目标是多少？", whole).subject   # the clause says 全市
    verifier.config = replace(verifier.config, whole_place=False)
    assert check(verifier, qa, "到2027年重庆全市常住人口城镇化率目标是多少？", part).subject


def test_a_period_s_sum_is_not_one_year_s_result(verifier, qa):
    review = hit("cq-plan", "累计城镇新增就业364万人，居民收入稳步增长。", headings=("第一章 “十四五”时期发展成就",))
    assert not check(verifier, qa, "2025年重庆城镇新增就业实际完成了多少万人？", review).slot
    assert check(verifier, qa, "“十四五”期间重庆累计城镇新增就业多少万人？", review).slot     # the sum asked
    year = hit("cq-2025", "全市城镇新增就业 71.9 万人,超额完成年度目标任务。")
    assert check(verifier, qa, "2024年重庆城镇新增就业实际完成了多少万人？", year).slot
    running = hit("cq-2025", "保交房项目累计交付 5.3 万套。")       # an annual report's running total is its year's
    assert check(verifier, qa, "2024年重庆保交房项目实际交付了多少套？", running).slot
    verifier.config = replace(verifier.config, period_totals=False)
    assert check(verifier, qa, "2025年重庆城镇新增就业实际完成了多少万人？", review).slot


def test_a_part_asked_with_qizhong_is_named_in_the_figure_s_own_segment(verifier, qa):
    whole = hit("cq-plan", "启动中心城区市级绿道示范项目建设，逐步构建贯通全域的绿道网络，建设山城绿道1000公里。")
    assert check(verifier, qa, "全市要建多少公里山城绿道？", whole).slot
    before = [{"role": "user", "content": "全市要建多少公里山城绿道？"}, {"role": "assistant", "content": "1000公里"}]
    assert not check(verifier, qa, "其中中心城区要建多少公里？", whole, before).slot    # the whole's figure
    part = hit("cq-2025", "设置指标37项，其中约束性指标8项、预期性指标29项。")
    assert check(verifier, qa, "2025年计划设置多少项指标？其中约束性指标有几项？", part).slot
    assert not check(verifier, qa, "2025年计划其中约束性指标有几项？", hit("cq-2025", "约束性指标包括生态环保等方面，设置指标37项。")).slot
    verifier.config = replace(verifier.config, subset_figures=False)
    assert check(verifier, qa, "其中中心城区要建多少公里？", whole, before).slot


def test_a_place_or_name_is_not_the_asked_one_when_another_clause_names_the_asked_thing_without_it(verifier, qa):
    other = hit("cq-plan", "新建重庆大学智谷校区、西南大学两江水土校区，推动重庆中医药学院等新增博士学位授予单位提质发展。")
    asked = hit("cq-plan", "推动重庆旅游职业学院迁建。")       # the college asked, but no place
    q = qa.run("重庆旅游职业学院要搬到哪里去？", [])
    assert verifier.run(q, [other, asked]).supported == ()
    off = EvidenceVerifier(replace(verifier.config, better_names=False), verifier_chunks(), SCOPES, gazetteer(), "重庆市")
    assert off.run(q, [other, asked]).supported[0].unit.hit is other


def test_a_place_before_the_question_word_must_be_where_the_answer_is(verifier, qa):
    h = hit("qj-plan", "传承创新发展中医药，建立以区中医院为龙头、覆盖区—镇—村三级的服务联盟，打造一批中医优势专科群。")
    assert check(verifier, qa, "綦江要建立以哪家医院为龙头的服务联盟？", h).slot
    assert not check(verifier, qa, "綦江国家区域医疗中心是和江苏哪家医院合作共建的？", h).slot     # not in 江苏
    assert check(verifier, qa, "綦江与贵州哪个市共建产业合作示范园？", hit(
        "qj-plan", "持续深化与遵义桐梓、习水等黔北地区全方位战略合作，共建产业合作示范园。")).slot    # 遵义 is in 贵州


def test_a_city_outside_the_gazetteer_answers_which_city_of_a_province_by_its_word_tag(verifier, qa):
    h = hit("qj-plan", "开放发展呈现良好势头，牵手广西防城港签订四项合作协议，打通南向出海的国际新通道。")
    v = EvidenceVerifier(verifier.config, verifier_chunks(), SCOPES, gazetteer(), "重庆市", qa.lexicon)   # word tags
    u = v.units([h])[0]
    assert v.check(qa.run("綦江是跟广西哪个城市合作打通出海通道的哦？", []), u).slot
    assert not v.check(qa.run("綦江是跟江苏哪个城市合作打通出海通道的？", []), u).slot      # no place in 江苏
    assert not check(verifier, qa, "綦江是跟广西哪个城市合作打通出海通道的哦？", h).slot     # no tags: the gazetteer only


def test_a_row_measuring_something_of_the_asked_noun_does_not_count_it(verifier, qa):
    row = hit("qj-plan", "常住人口城镇化率（%）｜2025年：68.04｜2030年目标：70｜属性：预期性", kind="table_row")
    assert not check(verifier, qa, "綦江2030年常住人口有好多？", row).slot          # people, not a rate of them
    assert check(verifier, qa, "綦江2030年常住人口城镇化率目标是多少？", row).slot
    assert check(verifier, qa, "綦江城镇化水平2030年要到多少？", row).slot          # 城镇化率 is 城镇化's own measure


def test_the_place_of_the_asked_thing_itself_answers_where(verifier, qa):
    h = hit("cq-plan", "提升永川科技片场影视制作水平，开发科技影视产业大脑。")
    assert check(verifier, qa, "西部科技影视城是依托哪里的片场搞的？", h).slot           # 永川's 片场 is asked
    airport = hit("cq-plan", "优化完善江北国际机场、万州五桥机场功能。")
    assert not check(verifier, qa, "新机场建在哪里？", airport).slot                    # another 机场's place


def test_a_person_asked_needs_a_person_s_name_by_the_topic(verifier, qa):
    v = EvidenceVerifier(verifier.config, verifier_chunks(), SCOPES, gazetteer(), "重庆市", qa.lexicon)   # word tags
    office = v.units([hit("qj-plan", "坚持以习近平新时代中国特色社会主义思想为指导，在区委坚强领导下，全区上下团结奋斗。")])[0]
    assert not v.check(qa.run("綦江区现任区委书记是谁？", []), office).slot          # the doctrine's name is no holder
    named = v.units([hit("cq-plan", "领导小组组长由张三担任，办公室设在市发展改革委。")])[0]
    assert v.check(qa.run("领导小组的组长由谁担任？", []), named).slot
    assert not v.check(qa.run("领导小组的组长由谁担任？", []), v.units([hit("cq-plan", "领导小组办公室设在市发展改革委。")])[0]).slot


def test_a_year_that_names_the_document_is_no_time_frame(verifier, qa):
    review = hit("cq-2025", "我市入选全国首批城市更新示范城市,累计实施城市更新项目 295 个。")    # 2024's results
    def named_2025(question):
        q = qa.run(question, [])
        assert q.subject.docs == ("chongqing-2025-plan-report-excerpt",)
        return replace(q, subject=replace(q.subject, docs=("cq-2025",)))
    v = EvidenceVerifier(verifier.config, verifier_chunks(), SCOPES, gazetteer(), "重庆市")
    u = v.units([review])[0]
    assert v.check(named_2025("据2025年计划报告，重庆入选了哪一批城市更新示范城市？"), u).time
    assert not v.check(named_2025("2025年计划报告里，重庆2025年要入选哪一批城市更新示范城市？"), u).time
    farmland = v.units([hit("cq-2025", "全年新建和改造提升高标准农田 200 万亩,累计突破 1900 万亩。")])[0]
    assert not v.check(named_2025("2025年计划新建和改造提升高标准农田多少万亩？"), farmland).time   # the year's plan


def test_a_place_that_names_another_thing_of_the_asked_kind_is_no_answer(verifier, qa):
    h = hit("cq-plan", "谋划建设重庆新机场，优化完善江北国际机场、万州五桥机场、黔江武陵山机场等服务功能。")
    assert not check(verifier, qa, "重庆新机场选在哪个区？", h).slot                   # those are other airports
    assert check(verifier, qa, "临空经济产业园支持在哪个区县建设？", hit("cq-plan", "支持梁平建设临空经济产业园。")).slot
    assert check(verifier, qa, "西部地区数据灾备项目布局在哪个区？", hit(
        "qj-plan", "建设西部地区（綦江）数据灾备项目，拓展金融、能源等领域灾备服务。")).slot


def test_a_town_the_gazetteer_does_not_list_answers_which_town(verifier, qa):
    h = hit("qj-plan", "赶水镇获得国家首批产业强镇认定，安稳镇获批国家级“綦江肉羊科技小院”。")
    assert check(verifier, qa, "哪个镇获批国家级“綦江肉羊科技小院”？", h).slot
    assert not check(verifier, qa, "哪个镇获批国家级“綦江肉羊科技小院”？", hit(
        "qj-plan", "获批国家级“綦江肉羊科技小院”。")).slot


def test_a_modifier_the_question_also_asks_is_not_another_kind(verifier, qa):
    h = hit("cq-plan", "江北国际机场T3B航站楼建成投用，机场旅客吞吐能力达到8000万人次，货邮吞吐能力达到120万吨。")
    assert check(verifier, qa, "机场旅客吞吐能力和货邮吞吐能力分别达到多少？", h).slot


def test_a_place_must_be_next_to_the_most_specific_word(verifier, qa):
    h = hit("cq-2024", "加大水利投资，加快渝西水资源配置工程、跳蹬水库、藻渡水库、向阳水库等重大水利工程投资放量，新开工银河桥水库等一批水利项目。")
    assert not check(verifier, qa, "银河桥水库位于哪个区县？", h).slot                # 渝西 is by other reservoirs
    assert check(verifier, qa, "西部陆海新通道的东线节点放在哪个区县？", hit(
        "cq-plan", "加快秀山铁路场站扩能改造与设施智能化升级，建设西部陆海新通道东线节点。")).slot


def test_an_implied_unit_must_fit(verifier, qa):
    h = hit("qj-plan", "推动安稳电厂三期（1×660MW）、扶欢2×1000MW煤电联营项目前期工作。")
    assert not check(verifier, qa, "安稳电厂三期项目的总投资额是多少？", h).slot       # money asked, power given
    assert check(verifier, qa, "安稳电厂三期项目的总投资额是多少？", hit("qj-plan", "安稳电厂三期总投资约45亿元。")).slot
    # a bare figure may be in the implied unit (死亡人数 per 亿元 GDP has none)
    assert check(verifier, qa, "每亿元地区生产总值生产安全事故死亡人数控制在多少？", hit(
        "cq-2025", "——每亿元地区生产总值生产安全事故死亡人数不超过 0.019。", start=2000)).slot


def test_a_quoted_name_in_the_clause_makes_the_question_s_other_names_context(verifier, qa):
    # (养老 was the other name here until 469f71d: jieba's 养老/nr is a dictionary word of frequency 651, no name)
    q = qa.run("綦江区为长安汽车职工推广的“六助”服务包括哪些内容？", [])
    entry = hit("qj-plan", "“六助”服务。指助餐、助浴、助洁、助医、助急、助行。", kind="glossary")
    u = verifier.units([entry])[0]
    assert "长安汽车" in verifier.check(q, u).specific_missing                    # alone, 长安汽车 is missing
    assert verifier.check(q, u, context="大力推广“六助”服务 支持长安汽车职工").specific_missing == ()


def test_a_definition_question_s_rare_word_is_the_term_defined(verifier, qa):
    h = hit("cq-2025", "全力打好“两久”项目处置攻坚战，推动“久供未建”项目加快开工、“久建未完”项目加快复工。", start=2000)
    assert check(verifier, qa, "两久项目指啥", h).slot
    assert not check(verifier, qa, "两久项目指啥", hit("cq-2025", "实施一批重大项目。", start=2000)).slot


# ----------------------------------------------------------------------------- coverage and the verdict
def test_coverage_counts_thesaurus_forms_headings_and_everyday_words_half(verifier, qa):
    q = qa.run("老人看病难怎么解决", [])
    full = verifier.coverage(q, "推进老年人就医便利化，解决看病难问题")
    part = verifier.coverage(q, "推进就医便利化")
    assert full > part > 0
    assert verifier.coverage(q, "便利化", "第三节 老年人就医") > verifier.coverage(q, "便利化")


def test_verdict_reasons(verifier, qa):
    q = qa.run("2028年重庆城镇新增就业多少人？", [])
    v = verifier.run(q, [hit("cq-plan", "城镇新增就业325万人。")])
    assert not v.supported and v.reason == "time" and v.near
    q = qa.run("“九治”是指哪九个方面？", [])
    v = verifier.run(q, [hit("cq-plan", "推进生态环境治理。")])
    assert v.reason == "specific" and v.missing == ("九治",)
    q = qa.run("重庆城镇新增就业多少人？", [])
    v = verifier.run(q, [hit("cq-plan", "城镇新增就业325万人。")], dense=[0.9])
    assert v.supported and v.features["coverage"] > 0.5 and v.features["dense_top"] == 0.9


def test_a_compound_written_apart_counts_nearly_as_the_compound(verifier, qa):
    q = qa.run("2024年粮食产量计划目标是多少？", [])
    assert {"粮食产量", "粮食", "产量"} <= {t.text for t in q.terms}
    apart = verifier.coverage(q, "粮食播种面积和产量分别达到3012万亩、108.1亿公斤以上。")
    one = verifier.coverage(q, "天然气产量达到170亿立方米。")
    assert one < apart < verifier.coverage(q, "全年粮食产量达110.07亿公斤。")
    # far apart, or in another segment, the words are no compound: 文化旅游业成为重要支柱产业 is no 文化产业
    assert verifier.coverage(q, "粮食安全得到保障，页岩气产量达到170亿立方米。") == one
    verifier.config = replace(verifier.config, split_compounds=False)
    assert verifier.coverage(q, "粮食播种面积和产量分别达到3012万亩。") == one


def test_a_compound_and_the_words_inside_it_count_once(verifier, qa):
    q = qa.run("綦江打算怎样让老人在家门口就近享受养老服务？", [])
    assert {"家门口", "家门", "门口"} <= {t.text for t in q.terms}          # jieba's search mode gives all three
    # 就近 + 养老服务 without 家门口: short one thing asked, not three (家门口, 家门, 门口)
    assert verifier.coverage(q, "推动就近养老服务。") > 0.4
    full = verifier.coverage(q, "推动家门口就近养老服务。")
    assert verifier.coverage(q, "推动就近养老服务。") < verifier.coverage(q, "推动门口就近养老服务。") <= full


def test_a_per_capita_figure_is_not_answered_by_a_total(verifier, qa):
    total = hit("cq-plan", "到2027年，地区生产总值超过3万亿元，常住人口城镇化率超过80%。")
    assert not check(verifier, qa, "到2027年人均地区生产总值达到多少？", total).slot
    assert check(verifier, qa, "到2027年地区生产总值达到多少？", total).slot
    per = hit("cq-plan", "到2027年，人均地区生产总值达到12万元。")
    assert check(verifier, qa, "到2027年人均地区生产总值达到多少？", per).slot


def test_a_measure_no_document_names_has_no_figure_there(verifier, qa):
    # 时速 occurs in no document: a clause about the line's length is no answer; 修到 (how people ask) is no measure
    line = hit("cq-plan", "成渝中线高铁建成投用，高铁运营里程突破1900公里。")
    v = EvidenceVerifier(EvidenceConfig(), list(HEADINGS.values()), SCOPES, gazetteer(), "重庆市", qa.lexicon)
    ask = lambda question: v.check(qa.run(question, []), v.units([line])[0])  # noqa: E731
    assert not ask("成渝中线高铁建成以后时速是好多公里哦？").slot
    assert ask("高铁运营里程要修到好多公里？").slot
    off = EvidenceVerifier(EvidenceConfig(unknown_focus=False), list(HEADINGS.values()), SCOPES, gazetteer(), "重庆市",
                           qa.lexicon)
    assert off.check(qa.run("成渝中线高铁建成以后时速是好多公里哦？", []), off.units([line])[0]).slot


def test_a_figure_before_the_topic_counts_only_in_its_own_segment(fake_pipeline):
    v = fake_pipeline.answerer.verifier
    t = "每千人口拥有3岁以下婴幼儿托位数达4.52个，人均预期寿命稳步提高"
    topic = [(t.index("人均预期寿命"), t.index("人均预期寿命") + 6)]
    four = t.index("4.52个")
    assert v._near(topic, four, four + 5)                        # near by distance …
    assert not v._tied(topic, t, four, four + 5)                 # … but across the comma: another indicator's figure
    s = "新增城镇义务教育学位3万个"
    topic = [(s.index("学位"), s.index("学位") + 2)]
    assert v._tied(topic, s, s.index("3万个"), s.index("3万个") + 3)      # after the topic word: counts
    u = "新增3万个学位"
    assert v._tied([(u.index("学位"), u.index("学位") + 2)], u, 2, 5)      # before it, same segment: counts


def test_a_word_the_documents_use_is_not_spelled_into_another(fake_pipeline):
    qa = fake_pipeline.answerer.analyzer
    assert "执业" in qa.run("到2030年每千人口执业医师数多少人？").normalized     # not 职业 (both are words)


def test_a_short_place_name_inside_another_word_is_no_mention(fake_pipeline):
    from rag.corpus import normalize
    v = fake_pipeline.answerer.verifier
    assert "渝中区" not in v.word_mentions(normalize("建成成渝中线高铁，加快建设成渝世界级机场群"))
    assert "渝中区" in v.word_mentions(normalize("支持渝中打造国际消费中心"))
    assert v.word_mentions(normalize("綦江、万盛协同发展")) == ["綦江区", "万盛经济技术开发区"]


def test_another_airport_is_no_answer_to_a_misspelt_new_airport(verifier, qa):
    # 新机厂 is corrected to 新机场: 万州五桥机场 names another airport, the place of the new one is not said
    q = qa.run("重庆新机厂选在哪个区？", [])
    typo = replace(q, normalized="重庆新机厂选在哪个区?")          # what the user typed; the query is corrected
    assert "机场" in typo.query and verifier._names_another(typo, "五桥机场、黔江武陵山机场")


def test_a_place_after_the_asked_thing_in_a_later_segment_is_another_thing_s(verifier, qa):
    # the new airport's clause goes on to other airports two commas on: their towns are no answer, even when the
    # question's word for the airport is misspelt (新机扬: the check cannot tell 万州五桥机场 is another airport)
    h = hit("cq-plan", "谋划建设重庆新机场，前瞻布局临空经济区，优化完善万州五桥机场服务功能。")
    assert not check(verifier, qa, "重庆新机扬选址在哪个区？", h).slot
    assert check(verifier, qa, "哪个区建设重要城市副中心？", hit("cq-plan", "支持万州建设重要城市副中心。")).slot


def test_the_asked_kind_of_place_ending_a_place_word_is_the_answer(verifier, qa):
    from rag.corpus import normalize
    h = hit("cq-plan", "加快广阳岛片区长江经济带绿色发展示范建设。")
    c = check(verifier, qa, "长江经济带绿色发展示范是放在哪个片区搞嘛？", h)
    assert c.slot and any("广阳岛片区" in normalize(h.text)[a:b] for a, b in c.spans)


def test_a_verb_alone_is_not_what_is_counted(fake_pipeline):
    v, qa = fake_pipeline.answerer.verifier, fake_pipeline.answerer.analyzer
    q = qa.run("2024年重庆发放的消费券总共有多少钱？", [])
    assert v.focus_cover(q, "大力实施以工代赈，发放劳务报酬23.7亿元") == 0.0       # 发放 of something else
    assert v.focus_cover(q, "引导激励区县发放消费券3亿元") == 1.0
    part = qa.run("协议引资和到位资金各是好多？", [])
    assert v.focus_cover(replace(part, focus=("招商引资", "引资", "招商")), "协议引资1736亿元") > 0   # part of the compound


def test_the_home_region_s_own_clause_comes_before_a_district_s(verifier, qa):
    # no place asked: the city outline's glossary entry answers, though 綦江's quotes more of the question
    # (its 六个区, the kind asked for, is no topic word)
    city = hit("cq-plan", "六区一高地。指西部地区高质量发展先行区、美丽中国建设先行区和新时代市域党建新高地。", kind="glossary")
    district = hit("qj-plan", "六区一高地。市委提出重点打造“六个区”，即打造西部地区高质量发展先行区、美丽中国建设先行区。",
                   kind="glossary")
    v = verifier.run(qa.run("“六区一高地”是哪六个区和哪一个高地？", []), [district, city])
    assert v.supported[0].unit.hit.doc_id == "cq-plan"
    assert verifier.tier(qa.run("“六区一高地”是哪六个区？", []), v.supported[0]) == 2
    # … unless the district's clause holds a word of the question no city clause has: 赶水镇 is 綦江's
    town = hit("qj-plan", "赶水镇获得国家首批产业强镇认定。", headings=("第一章 发展基础",))   # the review: results
    other = hit("cq-plan", "新建国家级临床重点专科建设项目9个。")
    fresh = EvidenceVerifier(verifier.config, verifier_chunks(), SCOPES, gazetteer(), "重庆市")   # knows town's headings
    v = fresh.run(qa.run("赶水镇获得了哪项国家级认定？", []), [other, town])
    assert v.supported[0].unit.hit.doc_id == "qj-plan"


def test_a_number_the_question_states_does_not_make_a_district_s_row_the_city_s(verifier, qa):
    city = hit("cq-plan", "地区生产总值增长（%）｜2025年：5.3｜2030年目标：5—5.5*｜属性：预期性", kind="table_row")
    district = hit("qj-plan", "地区生产总值增长（%）｜2025年：6.3｜2030年目标：6*｜属性：预期性", kind="table_row")
    fresh = EvidenceVerifier(verifier.config, verifier_chunks(), SCOPES, gazetteer(), "重庆市")
    v = fresh.run(qa.run("2025年GDP目标定的6%左右，那2025年实际增长了好多？", []), [district, city])
    assert v.supported[0].unit.hit.doc_id == "cq-plan"          # 6 of 6* is the stated target, no word of 綦江's


def test_guihua_said_as_the_document_puts_the_outline_s_clause_first(verifier, qa):
    # the annual report states the same figure and scores higher; 规划里 means the outline
    report = hit("cq-2024", "全市养老机构床位达到12万张。")              # the 2024 plan: a target too
    outline = hit("cq-plan", "到2030年，养老机构床位达到15万张。")
    q = qa.run("规划里养老机构床位的目标是多少张？", [])
    q = replace(q, subject=replace(q.subject, outline=("cq-plan",)))       # the fixture's outline id
    assert verifier.run(q, [report, outline]).supported[0].unit.hit.doc_id == "cq-plan"
    off = EvidenceVerifier(replace(verifier.config, plan_word=False, current_plans=False), verifier_chunks(), SCOPES,
                           gazetteer(), "重庆市")
    assert off.run(q, [report, outline]).supported[0].unit.hit.doc_id == "cq-2024"
    dated = replace(q, subject=replace(q.subject, outline=()))             # no 规划 said: the order is the score's
    assert off.run(dated, [report, outline]).supported[0].unit.hit.doc_id == "cq-2024"


def test_a_plan_asked_with_no_year_is_answered_from_the_live_plans_first(verifier, qa):
    # the corpus's present is 2026 (the outlines start there): the 2024 annual plan is a past year's plan
    assert verifier.current == {"cq-plan", "qj-plan", "sh-2026"}
    report = hit("cq-2024", "推进多层次多元化、居家社区机构相协调的养老服务体系建设，推动社区居家养老服务提质增效。")
    outline = hit("cq-plan", "探索新型社区居家养老模式，开展助餐、助浴、助医、助急等服务。")
    first = lambda question: verifier.run(qa.run(question, []), [report, outline]).supported[0].unit.hit.doc_id  # noqa: E731
    assert first("重庆以后在社区居家养老上要咋个搞？") == "cq-plan"          # the future said: the live plan leads
    assert first("重庆2024年在社区居家养老上要咋个搞？") == "cq-2024"        # a year asked: its own plan
    off = EvidenceVerifier(replace(verifier.config, current_plans=False), verifier_chunks(), SCOPES, gazetteer(), "重庆市")
    for results in ("重庆以后在社区居家养老上实际做了些啥？", "重庆在社区居家养老上做了些啥？"):  # results: no reordering
        assert [c.unit.hit.doc_id for c in verifier.run(qa.run(results, []), [report, outline]).supported] == \
            [c.unit.hit.doc_id for c in off.run(qa.run(results, []), [report, outline]).supported]
    assert off.run(qa.run("重庆以后在社区居家养老上要咋个搞？", []), [report, outline]).supported[0].unit.hit.doc_id == "cq-2024"


def test_the_named_document_s_clause_comes_before_another_s_glossary_except_for_a_definition(verifier, qa):
    named = hit("cq-2024", "实施千万亩高标准农田改造提升、千亿级优势特色产业培育、千万农民增收致富促进、千个宜居宜业和美乡村"
                           "示范创建“四千行动”，加快推进农业农村现代化。")
    entry = hit("cq-plan", "四千行动。指千万亩高标准农田改造提升行动、千亿级生态特色产业培育行动。", kind="glossary")
    def named_2024(question):          # the analyzer knows the product's documents: name the hand-made one
        q = qa.run(question, [])
        assert q.subject.docs == ("chongqing-2024-plan-report-excerpt",)
        return replace(q, subject=replace(q.subject, docs=("cq-2024",)))

    v = verifier.run(named_2024("2024年计划中的“四千行动”包括哪几项？"), [entry, named])
    assert v.supported[0].unit.hit.doc_id == "cq-2024"
    v = verifier.run(named_2024("2024年计划里说的“四千行动”指的啥？"), [entry, named])
    assert v.supported[0].unit.hit.doc_id == "cq-plan"


def test_a_named_document_s_clause_leads_though_another_holds_a_word_it_lacks(verifier, qa):
    other = hit("qj-plan", "独角兽企业。指成立年限不超过10年，获得过专业机构的私募投资的企业。由市经济信息委负责认定管理。", kind="glossary")
    own = hit("cq-plan", "独角兽企业。指成立年限不超过10年，获得过专业机构的私募投资的企业。", kind="glossary")
    q = qa.run("《纲要》名词解释对独角兽企业的认定条件是怎样表述的？", [])
    assert q.subject.docs == ("chongqing-15th-five-year-plan",)
    q = replace(q, subject=replace(q.subject, docs=("cq-plan",)))       # the fixture's outline id
    assert verifier.run(q, [other, own]).supported[0].unit.hit.doc_id == "cq-plan"
    off = EvidenceVerifier(replace(verifier.config, named_first=False), verifier_chunks(), SCOPES, gazetteer(), "重庆市")
    assert off.run(q, [other, own]).supported[0].unit.hit.doc_id == "qj-plan"      # 认定: only 綦江's entry has it


def test_a_plan_s_base_year_column_is_no_target(verifier, qa):
    row = hit("cq-plan", "地区生产总值增长（%）｜2025年：5.3｜2030年目标：5—5.5*｜属性：预期性", kind="table_row")
    assert not check(verifier, qa, "2025年重庆地区生产总值增长的预期目标是多少？", row).time
    assert check(verifier, qa, "2025年重庆地区生产总值增长了多少？", row).time          # the base year's value
    assert check(verifier, qa, "2030年重庆地区生产总值增长的目标是多少？", row).time


def test_a_rate_asked_needs_that_rate_not_only_its_thing(fake_pipeline):
    v, qa = fake_pipeline.answerer.verifier, fake_pipeline.answerer.analyzer
    q = qa.run("2025年重庆的居民消费率是多少？", [])
    assert v.focus_cover(q, "居民消费价格上涨2%左右") == 0.0
    assert v.focus_cover(q, "居民消费率稳步提高") > 0
    q = qa.run("綦江常住人口城镇化率目标是多少？", [])
    assert v.focus_cover(q, "常住人口城镇化率达到70%") > 0 and v.focus_cover(q, "常住人口达到90万人") == 0.0


def test_an_organisation_asked_by_its_kind_needs_a_name_of_that_kind(verifier, qa):
    q = "重庆人工智能学院是由哪所大学牵头建设的？"
    assert not check(verifier, qa, q, hit("cq-plan", "高水平建设重庆人工智能学院、重庆通用人工智能研究院等平台。")).slot
    assert check(verifier, qa, q, hit("cq-plan", "支持重庆大学牵头建设重庆人工智能学院。")).slot
    q = "中医服务联盟由哪家医院牵头？"
    assert check(verifier, qa, q, hit("qj-plan", "建立以区中医院为龙头、覆盖区—镇—村三级的中医服务联盟。")).slot
    # the asked kind counted is no name (新增本科高校1所: which one is not said)
    assert not check(verifier, qa, "2025年力争新增的1所本科高校是哪一所？",
                     hit("cq-2025", "力争新增本科高校 1 所,国家级科研平台 1—2 个。", start=2000)).slot


def test_a_kind_asked_before_any_verb_or_a_department_needs_a_name_of_it(verifier, qa):
    q = "“十五五”期间重庆将推动哪几所高校进入“双一流”建设范围？"          # 进入: a verb KIND_ASKED does not list

    def tagged(question, h):               # the verb is known by jieba's tags: a verifier with the lexicon
        v = EvidenceVerifier(verifier.config, verifier_chunks(), SCOPES, gazetteer(), "重庆市", qa.lexicon)
        return v.check(qa.run(question, []), v.units([h])[0])

    assert not tagged(q, hit("cq-plan", "“一校一策”梯次推进高校进入“双一流”建设范围，实现“双一流”入选高校及学科数量倍增。")).slot
    assert tagged(q, hit("cq-plan", "支持重庆大学、西南大学进入“双一流”建设范围。")).slot
    q = "渝南陆港型物流枢纽建设由哪个部门牵头负责？"
    assert not check(verifier, qa, q, hit("qj-plan", "高标准建设渝南陆港型物流枢纽，强化枢纽对区域物流的集聚辐射作用。")).slot
    q = "“大综合一体化”行政执法改革获批了哪个部门的试点？"                   # a ministry (司法部) is a department
    assert check(verifier, qa, q, hit("cq-2025", "“大综合一体化”行政执法改革获批司法部行政执法改革试点,累计转化事项 1026项。",
                                      start=2000)).slot


def test_a_kind_word_before_a_noun_is_a_modifier_not_the_thing_asked():
    from rag.answer.slots import organisation_asked
    assert organisation_asked("哪些高校毕业生留在重庆？", lambda t: [("毕业生", "n"), ("留在", "v")]) is None
    assert organisation_asked("哪几所高校进入名单？", lambda t: [("进入", "v"), ("名单", "n")]) == "大学|学院|学校"
    assert organisation_asked("哪几所高校进入名单？") is None              # no tagger: only the listed verbs


def test_a_group_named_by_its_size_is_listed_where_its_size_is_said(verifier, qa):
    q = "2024年计划提到的中医药振兴发展八大工程，具体是哪八项？"
    assert not check(verifier, qa, q, hit("cq-2024", "推进国家中医药传承创新中心、国家中西医协同“旗舰”医院建设。")).slot
    q = "打造国际消费目的地要做靓的五大城市名片是什么？"
    assert check(verifier, qa, q, hit("cq-2024", "做靓“重庆山水、重庆时尚、重庆美食、重庆夜景、重庆康养”五大名片。")).slot


def test_a_list_is_tied_to_the_word_at_the_question_word_too(verifier, qa):
    h = hit("qj-plan", "深入推进农村人居环境综合治理改革，优化责任区域，整合职能职责，重点解决农村改厕、生活污水治理、"
                       "垃圾处理、散埋乱葬等问题。")
    assert check(verifier, qa, "綦江农村人居环境综合治理改革重点要解决哪些问题？", h).slot


def test_a_comparison_of_a_year_and_a_period_is_met_by_either(verifier, qa):
    review = hit("cq-plan", "政务服务“一网通办”率达85%。", headings=("第一章 “十四五”时期发展成就",))
    assert check(verifier, qa, "2024年及“十四五”时期，重庆政务服务“一网通办”率分别达到多少？", review).time
    assert not check(verifier, qa, "2024年重庆政务服务“一网通办”率达到多少？", review).time
    # a year and a period not set side by side: the year holds (“十五五”规划纲要里，2025年…的实际值)
    target = hit("cq-plan", "人均预期寿命达到80.5岁。")
    assert not check(verifier, qa, "“十五五”规划纲要里，2025年重庆全市人均预期寿命的实际值是多少岁？", target).time


def test_a_figure_is_not_the_asked_one_where_another_clause_names_the_asked_thing_without_one(verifier, qa):
    # the 2024 plan targets the 数字经济核心产业 figure; the 2025 report's actual 增加值 figure is of 规上工业
    q = qa.run("2024年数字经济核心产业增加值实际增长了多少？", [])
    target = hit("cq-2024", "推动产业全面数字化转型，数字经济核心产业增加值增速达到5%以上。")
    other = hit("cq-2025", "数字经济、汽车、高端装备等产业链集聚专精特新企业75家，规上工业增加值增长18%。", start=5)
    assert not verifier.run(q, [other, target]).supported      # all checks: the modifier check sees it too
    verifier.config = replace(verifier.config, other_kind=False)
    v = verifier.run(q, [other, target])
    assert not v.supported and v.reason == "slot"
    assert {c.unit.hit.doc_id for c in v.near} == {"cq-2024", "cq-2025"}
    # with no such clause the figure stands (it holds what is counted: 增加值)
    assert verifier.run(q, [other]).supported
    # and a clause that holds every focus word is not displaced
    q = qa.run("2024年规上工业增加值实际增长了多少？", [])
    assert verifier.run(q, [other, target]).supported[0].unit.hit.doc_id == "cq-2025"
    verifier.config = replace(verifier.config, better_match=False)
    assert verifier.run(qa.run("2024年数字经济核心产业增加值实际增长了多少？", []), [other, target]).supported


def test_a_figure_of_a_clause_that_only_mentions_the_place_is_the_place_s_in_its_own_segment(verifier, qa):
    q = qa.run("武隆区块的页岩气到2030年年产量要达到多少亿立方米？", [])
    listed = hit("cq-plan", "推动南川、綦江、武隆等区块页岩气增储上产，全市天然气年产量达到200亿立方米左右。")
    c = verifier.check(q, verifier.units([listed])[0])
    assert c.subject_via == "mention" and not c.slot                # 武隆 is one of several; 200亿 is the city's
    own = hit("cq-plan", "支持武隆建设页岩气产能基地，页岩气年产量达到10亿立方米。")
    assert verifier.check(q, verifier.units([own])[0]).supported   # its sentence goes on about 武隆
    other = hit("cq-plan", "支持武隆建设页岩气产能基地，推动涪陵页岩气年产量达到100亿立方米。")
    assert not verifier.check(q, verifier.units([other])[0]).slot  # another place named before the figure
    own = hit("cq-plan", "武隆区块页岩气年产量达到10亿立方米。")
    assert verifier.check(q, verifier.units([own])[0]).supported
    verifier.config = replace(verifier.config, place_figures=False)
    assert verifier.check(q, verifier.units([listed])[0]).slot
    verifier.config = replace(verifier.config, place_figures=True)
    q = qa.run("2024年渝东北地区工业投资实际增长了多少？", [])
    inside = hit("cq-2025", "渝东北绿色发展大步迈进，万州金属镁产业化、丰都玻璃项目加快建设，工业投资增长24.6%。", start=5)
    assert verifier.check(q, verifier.units([inside])[0]).slot       # 万州, 丰都 are inside 渝东北
    # a list of things (not of places) after the place keeps the figure the place's
    q = qa.run("到2030年武隆区旅游收入要达到多少亿元？", [])
    things = hit("cq-plan", "武隆区重点发展康养、研学、户外运动产业，旅游收入达到300亿元。")
    assert verifier.check(q, verifier.units([things])[0]).slot


def test_a_plan_period_asked_is_answered_first_by_the_plan_of_exactly_that_period(verifier, qa):
    scopes = dict(SCOPES, **{"cq-act": DocScope("重庆市", 2023, 2027)})     # an action plan overlapping 2026-2030
    v = EvidenceVerifier(verifier.config, verifier_chunks(), scopes, gazetteer(), "重庆市")
    act = hit("cq-act", "加密提质公路网络，重庆高速公路网加速成型，高速公路通车里程超过5000公里。")
    plan = hit("cq-plan", "加快建设高速公路网，通车里程达到5500公里。")
    q = qa.run("“十五五”期间重庆高速公路通车里程要达到多少公里？", [])
    assert v.run(q, [act, plan]).supported[0].unit.hit.doc_id == "cq-plan"
    v.config = replace(v.config, period_tiers=False)
    q = qa.run("“十五五”期间重庆高速公路通车里程要达到多少公里？", [])
    assert v.run(q, [act, plan]).supported[0].unit.hit.doc_id == "cq-act"


def test_a_list_asked_by_its_size_is_not_answered_by_a_shorter_enumeration(verifier, qa):
    q = qa.run("2024年计划说要大力发展“四首经济”，这个“四首”到底是哪四样？", [])
    two = hit("cq-2024", "大力发展“四首经济”“潮经济”，集聚全球优质消费供给。")
    assert not verifier.check(q, verifier.units([two])[0]).slot
    four = hit("cq-2024", "大力发展“四首经济”，引进区域首店、行业首牌、品牌首秀和新品首发。")
    assert verifier.check(q, verifier.units([four])[0]).slot
    assert verifier.check(qa.run("“四首经济”包括哪些？", []), verifier.units([two])[0]).slot   # no size asked


def test_a_list_asked_by_its_size_splits_a_question_with_two_asks(qa):
    q = qa.run("这个“四首”到底是哪四样哦？那年要新引进好多家首店？", [])
    assert [p.slot for p in q.parts] == [Slot.LIST, Slot.NUMBER]


def test_another_group_s_figure_is_not_the_asked_group_s(verifier, qa):
    q = qa.run("到2030年重庆城镇居民人均可支配收入要达到多少元？", [])
    whole = hit("cq-plan", "全体居民人均可支配收入力争达到5万元以上。")
    assert not verifier.check(q, verifier.units([whole])[0]).slot        # 全体居民 is not 城镇居民
    own = hit("cq-plan", "城镇常住居民人均可支配收入力争达到6万元以上。")
    assert verifier.check(q, verifier.units([own])[0]).slot              # the question's 城镇 is right before
    verifier.config = replace(verifier.config, other_compound=False)
    assert verifier.check(q, verifier.units([whole])[0]).slot


def test_a_vehicle_count_with_its_noun_after_it_counts_that_noun(verifier, qa):
    q = qa.run("到2030年綦江新能源汽车保有量要达到多少辆？", [])
    moto = hit("qj-plan", "重点推进200万件新能源汽车内外饰件、3万辆摩托车整车生产项目。")
    assert not verifier.check(q, verifier.units([moto])[0]).slot        # 3万辆 counts 摩托车整车
    own = hit("qj-plan", "新能源汽车保有量达到5万辆。")
    assert verifier.check(q, verifier.units([own])[0]).slot


def test_a_member_of_a_list_ending_in_deng_has_no_figure_of_its_own_there(verifier, qa):
    q = qa.run("綦江宠物食品产业的产值目标是多少亿元？", [])
    group = hit("qj-plan", "重点围绕火锅食材、调味品、宠物食品等产业，推动食品及农产品加工产业产值达到300亿元。")
    assert not verifier.check(q, verifier.units([group])[0]).slot
    own = hit("qj-plan", "宠物食品产业产值达到30亿元，调味品、火锅食材等加快发展。")
    assert verifier.check(q, verifier.units([own])[0]).slot             # named on its own once: its figure
    verifier.config = replace(verifier.config, member_figures=False)
    assert verifier.check(q, verifier.units([group])[0]).slot
    verifier.config = replace(verifier.config, member_figures=True)
    q = qa.run("綦江要推进多少MW的光伏、风电项目？", [])                  # the question asks the group itself
    both = hit("qj-plan", "大力推进1000MW光伏、风电等项目建设。")
    assert verifier.check(q, verifier.units([both])[0]).slot


def test_the_kind_a_list_is_asked_of_weighs_half_when_missing(fake_pipeline, qa):
    verifier = fake_pipeline.answerer.verifier      # with the lexicon: its part-of-speech tags tell a verb
    q = qa.run("綦江要跟哪些名校开展合作？", [])
    assert verifier._kind_asked(q, "名校") and not verifier._kind_asked(q, "合作")
    assert not verifier._kind_asked(qa.run("綦江要引进多少家企业？", []), "企业")   # a number's counted noun counts
    # a kind named in several words ends the ask: each word of it is the kind
    q = qa.run("綦江区重点培育的“綦色生香”品牌包括哪些特色物产？", [])
    assert verifier._kind_asked(q, "特色") and verifier._kind_asked(q, "物产")
    assert not verifier._kind_asked(qa.run("綦江要跟哪些名校合作办教育？", []), "合作")   # a verb after the kind


def test_what_no_plan_states_is_told_by_its_kind():
    from rag.answer.evidence import beyond_documents
    assert beyond_documents("你觉得綦江发展得好不好") == "opinion"
    assert beyond_documents("最近重庆有啥子大新闻") == "day"
    assert beyond_documents("帮我写一首关于綦江的诗") == "task"
    assert beyond_documents("观音桥哪家火锅最好吃") == "recommend"
    # a plan's own scenic spots and news work are asked of the plan
    for q in ("綦江有哪些好耍的景区？", "规划对新闻宣传提了啥要求？", "綦江要建成哪家医院？"):
        assert beyond_documents(q) is None, q


def test_how_long_is_answered_by_a_span_as_when_by_a_date(verifier, qa):
    h = hit("qj-plan", "深化模拟审批改革，确保建设项目从立项（备案）到开工缩短至40天。")
    assert check(verifier, qa, "在綦江搞项目，从立项到开工要好久？", h).slot
    assert not check(verifier, qa, "綦江项目从立项到开工是哪一年开始提速的？", h).slot     # when: no span answers
    verifier.config = replace(verifier.config, durations=False)
    assert not check(verifier, qa, "在綦江搞项目，从立项到开工要好久？", h).slot


def test_parts_of_a_city_asked_are_named_by_an_enumeration(verifier, qa):
    h = hit("cq-plan", "1．解放碑组团。包括解放碑、朝天门、上清寺、菜园坝等“母城”区域。", kind="item")
    assert check(verifier, qa, "“解放碑组团”包括哪些片区？", h).slot
    lone = hit("cq-plan", "1．解放碑组团。重点培育国际消费、现代金融等功能。", kind="item")
    assert not check(verifier, qa, "“解放碑组团”包括哪些片区？", lone).slot       # no names: no list of parts
    verifier.config = replace(verifier.config, part_lists=False)
    assert not check(verifier, qa, "“解放碑组团”包括哪些片区？", h).slot
