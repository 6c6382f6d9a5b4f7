"""Question analysis on its own (rag/answer/question.py + rules.py): normalisation, slot, unit, subject, time
frame, terms, several asks. Each phrasing rule has a test; the analyzer is the product's, built on the real
corpus's index statistics (fake embedder: analysis never embeds)."""
import pytest

from rag.answer.question import TimeFrame, normalize_question
from rag.answer.rules import Slot, default_rules

CQ, QJ, R24, R25, ACT = ("chongqing-15th-five-year-plan", "qijiang-15th-five-year-plan",
                         "chongqing-2024-plan-report-excerpt", "chongqing-2025-plan-report-excerpt",
                         "chengyu-twin-city-action-plan-2023-2027")


@pytest.fixture(scope="module")
def qa(fake_pipeline):
    return fake_pipeline.answerer.analyzer


def run(qa, text, history=()):
    return qa.run(text, list(history))


# ----------------------------------------------------------------------------- normalisation
def test_traditional_characters_width_and_case():
    assert normalize_question("重慶規劃裡的醫院") == "重庆规划里的医院"
    assert normalize_question("ＧＤＰ２０３０年目標") == "gdp2030年目标"
    assert normalize_question("綦江區  “十五五”") == "綦江区 “十五五”"          # 綦 is not traditional for 其


def test_two_digit_years(qa):
    assert "2024年计划" in qa.clean("24年计划制造业增加值占比多少")
    assert "2025年底" in qa.clean("25年底建成多少个")
    for text in ("近10年来增长多少", "过去15年间", "第15年", "连续12年"):
        assert "20" not in qa.clean(text)                       # spans of years, not years


def test_fillers_are_dropped(qa):
    assert qa.clean("请问一下，綦江2030年城镇化率目标是多少？谢谢！") == "綦江2030年城镇化率目标是多少?"
    assert qa.clean("麻烦问一下 “33618”是什么") == "“33618”是什么"
    assert qa.clean("我想了解一下綦江的交通") == "綦江的交通"


def test_a_glossary_term_one_same_sounding_character_off_is_corrected(qa):
    # 骨子 is a word of its own and 跟 a function character: only the glossary's 谷子经济 / 票根经济 tell
    assert "谷子经济" in run(qa, "规划里头说的骨子经济是啥意思哦？").normalized
    assert "票根经济" in run(qa, "票跟经济是个啥概念？").normalized


@pytest.mark.parametrize("typo,fixed", [("棋江区2030年城镇化率", "綦江区"), ("研法投入强度", "研发投入"),
                                        ("綦江十五五期间要建多少套保障性住坊", "住房"),
                                        # a target pair the documents use rarely (申报: 6 chunks) wins at twice the margin
                                        ("重庆准备推动哪处古迹申抱世界文化遗产", "申报")])
def test_homophone_typos_are_corrected(qa, typo, fixed):
    q = run(qa, typo)
    assert fixed in q.normalized and q.corrections


@pytest.mark.parametrize("text", ["我是刚毕业的大学生，想问创业的事", "方案里说要培育市级科普基地", "川渝生态共保共治",
                                  "重庆的网约车有多少辆"])
def test_words_that_only_sound_alike_are_left_alone(qa, text):
    q = run(qa, text)
    assert not q.corrections, q.corrections


# ----------------------------------------------------------------------------- garbage
@pytest.mark.parametrize("text", ["<img src=x onerror=alert(1)>", "😀😀😀", "'; DROP TABLE feedback; --", "你好",
                                  "../../etc/passwd", "綦江", "???", "hello world"])
def test_garbage_has_no_question(qa, text):
    assert run(qa, text).garbage


@pytest.mark.parametrize("text,history", [("“33618”", []), ("416是啥", []), ("gdp目标", []),
                                          ("那綦江呢？", [{"role": "user", "content": "重庆2030年城镇化率目标是多少？"}])])
def test_short_real_questions_are_not_garbage(qa, text, history):
    assert not run(qa, text, history).garbage


# ----------------------------------------------------------------------------- slot and unit
@pytest.mark.parametrize("text,slot", [
    ("“33618”是什么？", Slot.DEFINITION), ("“疆算入渝”是啥意思？", Slot.DEFINITION), ("什么是“四侧”", Slot.DEFINITION),
    ("这个“141”到底指的啥？", Slot.DEFINITION), ("“两久”指的是什么", Slot.DEFINITION),
    ("规划在哪一章提到新机场？", Slot.ENTITY), ("哪个专栏列了重大项目？", Slot.ENTITY),
    ("有哪些重点产业", Slot.LIST), ("2024年新增的6家三级医院分别是哪几家？", Slot.LIST), ("都有啥子项目", Slot.LIST),
    ("2030年目标是多少", Slot.NUMBER), ("綦江以后要修几条路？", Slot.NUMBER), ("占比多大", Slot.NUMBER),
    ("重庆 家庭医生 签约率 目标", Slot.NUMBER), ("2025年计划新增了哪项指标？", Slot.ENTITY),
    ("工业投资要增长10%，这个目标靠什么支撑？", Slot.WHY_HOW),
    ("要推进哪部地方性法规的立法？", Slot.ENTITY),
    ("渝贵高铁啥时候能通车啊？", Slot.TIME), ("哪一年建成", Slot.TIME),
    ("新机场选址在哪里？", Slot.PLACE),
    ("规划将采取哪些措施缓解中心城区交通拥堵？", Slot.WHY_HOW), ("提出了哪些支持措施", Slot.WHY_HOW),
    ("具备“通道优势”的依据是什么？", Slot.WHY_HOW), ("增长目标定为6%左右，主要有哪些考虑？", Slot.WHY_HOW),
    ("重庆咋解决看病难？", Slot.WHY_HOW), ("啷个帮我们找工作", Slot.WHY_HOW), ("为啥要建", Slot.WHY_HOW),
    ("是约束性指标吗？", Slot.YES_NO), ("有没有托育补贴", Slot.YES_NO),
    ("綦江有哪个故居要申报国家级文物保护单位？", Slot.ENTITY), ("叫什么名字", Slot.ENTITY),
])
def test_slot(qa, text, slot):
    assert qa.slot_of(normalize_question(text))[0] is slot


@pytest.mark.parametrize("text,unit", [("要达到多少万人？", ("person", "万人")), ("多少亿元", ("money", "亿元")),
                                       ("多少年轻人留在重庆", ("person", "人")), ("连续多少个月没有事故", ("duration", "个月")),
                                       ("占比是多少", ("percent", "%")), ("多少亿？", (None, "亿")),
                                       ("是多少？往后几年有啥要求", (None, None)), ("几条路", ("count", "条")),
                                       ("智算规模目标多少ｐ", ("compute", "p")), ("装机多少mw", ("power", "mw")),
                                       # no unit said: the measure implies one, unless a rate is asked
                                       ("项目总投资额是多少", ("money", None)), ("新增就业目标是多少", ("person", None)),
                                       ("投资增长多少", (None, None)), ("就业率是多少", ("percent", "%")),
                                       ("利率又是好多？", ("percent", "%"))])
def test_unit(qa, text, unit):
    assert qa.unit_of(normalize_question(text)) == unit


# ----------------------------------------------------------------------------- subject
def test_places_addresses_and_both_sides(qa):
    assert run(qa, "重庆市綦江区2030年城镇化率目标").subject.places == ("綦江区",)       # an address: the inner place
    assert set(run(qa, "全市和綦江区的城镇化率目标分别是多少").subject.places) == {"重庆市", "綦江区"}
    assert run(qa, "万盛经开区城镇化率目标").subject.places == ("万盛经济技术开发区",)
    assert run(qa, "渝东北的旅游怎么发展").subject.places == ("渝东北三峡库区城镇群",)
    assert run(qa, "其中国际客运航线有多少条").subject.places == ()                     # not 中国
    q = run(qa, "城镇化率目标是多少")
    assert q.subject.places == () and q.subject.regions == ("重庆市",)                   # the home region


def test_the_asking_clause_names_the_subject(qa):
    q = run(qa, "中心城区防洪要达到100年一遇，那万州城区的防洪标准要搞到好多年一遇嘛？")
    assert q.subject.places == ("万州区",)


def test_the_in_of_in_the_document_is_no_name(qa):
    # jieba reads 计划中全社会 as 计划 / 中全 (an organisation) / 社会
    terms = [t.text for t in run(qa, "2024年計劃中全社會研發投入強度的目標是多少？").terms]
    assert "中全" not in terms and "研发" in terms and "强度" in terms
    assert "中医药" in [t.text for t in run(qa, "规划中医药产业要怎么发展？").terms]   # a word the documents use


def test_named_documents(qa):
    assert run(qa, "行动方案提出了什么").subject.docs == (ACT,)
    assert run(qa, "2024年计划里说了什么").subject.docs == (R24,)
    assert QJ in run(qa, "綦江规划的就业目标").subject.docs


def test_a_document_word_after_two_years_names_both_documents_in_the_order_asked(qa):
    q = run(qa, "2024年和2025年计划分别提出要新增多少城镇就业？")
    assert q.subject.docs == (R24, R25) and q.compare
    assert run(qa, "2025年计划和2024年计划的就业目标").subject.docs == (R25, R24)


# ----------------------------------------------------------------------------- time frame
def test_years_period_and_end_of_period(qa):
    assert run(qa, "綦江2030年城镇化率目标").timeframe.years == (2030,)
    assert run(qa, "“十五五”期间城镇新增就业目标").timeframe.period == (2026, 2030)
    tf = run(qa, "“十四五”末，重庆每千人口拥有多少个托位？").timeframe
    assert tf.years == (2025,) and tf.period is None


def test_plan_periods_need_no_quotes_and_those_years_ask_no_unit(qa):
    q = run(qa, "綦江十四五那几年招商引资搞了好多钱嘛？")
    assert q.timeframe.period == (2021, 2025) and q.unit == "money"
    assert "十四" not in {t.text for t in q.terms} and "四五" not in {t.text for t in q.terms}
    assert run(qa, "重庆轨道交通里程十五五要搞到好多公里哦？").timeframe.period == (2026, 2030)
    assert run(qa, "三五成群的游客有多少？").timeframe.period is None


def test_ways_and_requirements_ask_how_and_a_done_verb_asks_results(qa):
    assert run(qa, "规划打算通过哪些方式来扩大普惠托育供给？").slot is Slot.WHY_HOW
    assert run(qa, "行动方案对市发展改革委提出了哪些具体要求？").slot is Slot.WHY_HOW
    q = run(qa, "2025年计划报告提到，哪个新区成立了专精特新企业联盟？")
    assert q.timeframe.aspect == "actual" and q.timeframe.years == ()   # the report's results are of 2024, not 2025


def test_how_long_asks_a_duration_and_how_many_km_is_no_term(qa):
    assert run(qa, "重庆已经连续多长时间没出过重大事故了？").unit == "duration"
    assert "多公里" not in {t.text for t in run(qa, "轨道交通要搞到好多公里？").terms}


@pytest.mark.parametrize("text,aspect", [
    ("2024年计划的城镇新增就业目标是多少", "target"), ("到2027年要建成多少个商圈", "target"),
    ("2024年全市城镇新增就业实际完成了多少？", "actual"), ("2024年重庆哪条市郊铁路建成通车了？", "actual"),
    ("到2024年底运营里程有多少公里？", "actual"),            # 到2024年 asked in 2026: what was reached
    ("2023年重庆有多少年轻人留在重庆", None),                # a past year alone does not say plan or result
    ("2024年计划每千人口托位数目标是多少，实际做到了多少？", None),   # both: neither decides
    ("2024年重庆说要引进300家品牌首店，最后实际开了多少家？", "actual"),  # the asking clause decides
    ("研发经费投入强度是多少", None),
    ("软件产业主营业务收入，2024年计划和2025年计划分别定了多少？", "target"),   # what was set: the targets
    ("2024年重庆实际创建评定了多少个4A级以上精品景区？", "actual"),             # 评定了 is done, not set
    ("2024年重庆粮食实际收成比目标多了多少？", "actual"),       # the target is the yardstick, not the aspect asked
    ("2025年计划一共设置了多少项指标？", None),                 # a plan's own make-up: neither results nor a target
])
def test_aspect(qa, text, aspect):
    assert run(qa, text).timeframe.aspect == aspect


def test_the_plan_in_a_document_name_does_not_make_a_target_question(qa):
    q = run(qa, "2025年计划报告提到加力实施“四千行动”，“四千行动”具体指什么？")
    assert q.subject.docs == (R25,) and q.timeframe.aspect is None and q.slot is Slot.DEFINITION


# ----------------------------------------------------------------------------- terms
def test_frame_words_question_words_and_modals_are_not_terms(qa):
    terms = {t.text for t in run(qa, "綦江以后要修几条路？").terms}
    assert "几条" not in terms and "要修" not in terms and "以后" not in terms
    terms = {t.text for t in run(qa, "重庆咋个解决看病难的问题嘛？").terms}
    assert not terms & {"咋个", "问题", "嘛"}


def test_places_years_periods_and_units_are_not_terms(qa):
    terms = {t.text for t in run(qa, "“十五五”末綦江区2030年城镇化率要达到多少公里？").terms}
    assert not terms & {"綦江", "綦江区", "2030", "十五五", "公里"}
    assert "城镇化率" in terms


def test_quoted_names_are_specific_and_keep_their_place_names(qa):
    t = {x.text: x for x in run(qa, "“疆算入渝”是啥意思？").terms}
    assert t["疆算入渝"].specific and t["疆算入渝"].known
    q = run(qa, "綦江红色文化的“两园一点一官”具体是哪几个项目？")          # a typo inside a quoted name
    term = next(x for x in q.terms if x.text == "两园一点一官")
    assert "两园一点一馆" in term.forms and term.known


def test_colloquial_and_thesaurus_forms(qa):
    t = {x.text: x for x in run(qa, "娃儿上学的事规划里怎么弄？").terms}
    assert "儿童" in t["娃儿"].forms                               # colloquial map / 同义词词林
    t = {x.text: x for x in run(qa, "老人看病难怎么办").terms}
    assert "就医" in t["看病"].forms or "医疗" in t["看病"].forms


def test_guessed_words_are_not_known_by_accident(qa):
    # jieba glues 率要 / 上要 out of the question; two characters side by side in some document do not make a word
    terms = {t.text: t for t in run(qa, "机械化率要搞到好多").terms}
    assert "率要" not in terms or not terms["率要"].known


def test_numbers_and_codes_are_specific(qa):
    t = {x.text: x for x in run(qa, "416是啥").terms}
    assert t["416"].specific


# ----------------------------------------------------------------------------- several asks and follow-ups
def test_several_asks_become_parts(qa):
    q = run(qa, "2024年计划每千人口托位数目标是多少，实际做到了多少？")
    assert len(q.parts) == 2
    first, second = q.parts
    assert first.timeframe.aspect == "target" and second.timeframe.aspect == "actual"
    assert second.timeframe.years == (2024,)                               # the year carries over
    assert {t.text for t in first.terms} <= {t.text for t in second.terms}  # so does the topic
    assert first.subject.docs == (R24,) and second.subject.docs == ()       # but not the plan: actuals are elsewhere


def test_a_part_asking_only_how_it_went_asks_the_thing_and_unit_before(qa):
    first, second = run(qa, "2024年城镇新增就业的计划目标是多少？实际完成了多少？").parts
    assert first.unit is not None and second.unit == first.unit            # 万人, not the 5.3% next to 完成
    assert set(first.focus) <= set(second.focus) and "完成" in second.focus
    first, second = run(qa, "2025年全市规上工业增加值力争增长多少？战略性新兴产业增加值呢？").parts
    assert not set(first.focus) & set(second.focus) - {"增加值", "增加"}    # a thing of its own: its own focus


def test_how_a_figure_turned_out_asks_that_figure(qa):
    first, second = run(qa, "2024年计划的城镇新增就业目标是多少？实际完成情况如何？").parts
    assert second.slot is Slot.NUMBER and second.unit == first.unit and second.timeframe.aspect == "actual"
    # of two figures asked, how it went is the whole clause, as a how-question quotes it
    parts = run(qa, "2024年计划定的粮食播种面积和产量目标是多少？2024年最后实际完成得怎么样？").parts
    assert parts[1].slot is Slot.WHY_HOW
    assert run(qa, "2024年就业目标是多少？怎么完成的？").parts[1].slot is Slot.WHY_HOW    # how it was done: measures


def test_a_result_set_against_its_target_in_one_ask_asks_both(qa):
    q = run(qa, "2024年重庆城镇新增就业的实际完成情况与年初计划目标相比如何？")
    assert [p.timeframe.aspect for p in q.parts] == ["target", "actual"]
    assert all(p.slot is Slot.NUMBER and p.timeframe.years == (2024,) for p in q.parts)
    assert not run(qa, "2030年城镇新增就业的目标和实际相比如何？").parts     # a year to come has no result yet
    assert not run(qa, "2024年城镇新增就业实际完成了多少？").parts          # no target set beside it


def test_each_part_asks_the_aspect_it_says(qa):
    # the 实际 of the second ask is not the first's: "2024年计划…" asks the plan's figure
    first, second = run(qa, "2024年计划推动多少农业转移人口在城镇落户？实际落户了多少？").parts
    assert first.timeframe.aspect != "actual" and second.timeframe.aspect == "actual"
    first, second = run(qa, "2024年粮食播种面积计划是多少，实际达到了多少？").parts     # 计划是多少: the planned figure
    assert (first.timeframe.aspect, second.timeframe.aspect) == ("target", "actual")


def test_a_target_the_question_states_is_what_the_result_is_measured_against(qa):
    q = run(qa, "2024年说托位数要搞到每千人3.7个，最后实际搞到好多了？")
    assert q.timeframe.aspect == "actual"
    assert not any(t.specific for t in q.terms if t.text == "3.7")     # the report of the result need not repeat it
    q = run(qa, "2024年说要发放25亿创业担保贷款，最后实际发出去了多少啊？")
    assert {"创业", "担保", "贷款"} <= set(q.focus)                       # 发出去 names no thing: the stated one is asked
    q = run(qa, "綦江3.7万亩耕地实际保护得怎么样？")                      # no target stated: a number names the thing
    assert any(t.specific for t in q.terms if t.text == "3.7")
    assert run(qa, "2024年农村居民人均可支配收入增长的计划目标是否实现？").timeframe.aspect is None   # both asked


def test_a_comparison_names_the_city_outline_beside_another_document(qa):
    q = run(qa, "到2030年，重庆市和綦江区分别把城乡居民人均可支配收入比的目标定在多少？")
    assert q.subject.places == ("重庆市", "綦江区") and q.subject.docs == (CQ, QJ)     # 和 joins, it is no address
    q = run(qa, "行动方案（2023—2027年）和重庆“十五五”规划纲要分别提出了什么高速公路通车里程目标？")
    assert q.subject.docs == (ACT, CQ)
    assert q.timeframe.years == ()                    # the brackets are the plan's period, not the question's years
    assert q.slot is Slot.NUMBER                      # the target of a measure (里程) is a figure
    assert run(qa, "綦江规划纲要提出全市要做什么？").subject.docs == (QJ,)         # no comparison: 全市 names no document


def test_a_part_with_a_year_of_its_own_leaves_the_document_named_before(qa):
    first, second = run(qa, "2024年计划提出要新增多少城镇就业？2025年呢？").parts
    assert first.subject.docs == (R24,) and first.timeframe.years == (2024,)
    assert second.subject.docs == () and second.timeframe.years == (2025,)


def test_asking_whether_the_documents_say_it_is_no_ask_of_its_own(qa):
    q = run(qa, "想知道新机场具体哪一年开工，一期投资多少钱，文件里有没有讲？")
    assert [p.slot for p in q.parts] == [Slot.TIME, Slot.NUMBER]
    assert run(qa, "规划里有没有说要修地铁？").slot is Slot.YES_NO               # this one asks something


def test_a_later_ask_without_a_name_of_its_own_keeps_the_name_before(qa):
    q = run(qa, "川渝高竹新区到底有多大面积？包括哪些乡镇？")
    assert len(q.parts) == 2 and "高竹" in {t.text for t in q.parts[1].terms}


def test_a_quoted_name_the_documents_have_is_known(qa):
    t = {x.text: x for x in run(qa, "行动方案第三部分“组织保障”包括哪几项措施？").terms}
    assert t["组织保障"].known and t["组织保障"].specific


def test_background_sentences_are_not_asks(qa):
    q = run(qa, "我家孩子明年就该上幼儿园了，公办园太难进。想了解一下，“十五五”期间重庆公办园在园幼儿占比要达到多少？")
    assert q.parts == () and q.slot is Slot.NUMBER
    assert not {t.text for t in q.terms} & {"孩子", "明年", "我家"}


def test_a_statement_with_a_question_word_before_the_question_is_background(qa):
    # 想知道…会不会多起来。 asks nothing the final question does not: its words are not the topic
    q = run(qa, "我在一家做大模型训练的小公司，租算力很贵，想知道重庆本地的算力资源会不会多起来。"
                "请问双城经济圈行动方案里，重点算力设施的算力要突破多少？")
    terms = {t.text for t in q.terms}
    assert q.slot is Slot.NUMBER and "算力" in terms and not terms & {"模型", "公司", "本地"}


def test_an_ask_that_names_no_thing_takes_its_topic_from_the_sentences_before(qa):
    q = run(qa, "我是做技术转移服务的，手上有份2024年计划说全市技术合同交易额要突破800亿元。我想知道2024年实际最终完成了多少？")
    assert "交易额" in {t.text for t in q.terms}


def test_a_common_noun_jieba_tags_as_a_name_is_no_name(qa):
    t = {x.text: x for x in run(qa, "重庆对公办幼儿园在园幼儿占比定了什么目标？").terms}
    assert not t["幼儿园"].specific                     # jieba: 幼儿园/nr, a dictionary word of frequency 405
    assert {x.text for x in run(qa, "2024年计划要开工华峰化工的哪个项目？").terms if x.specific} >= {"华峰"}   # a name


def test_a_quoted_mark_is_what_is_asked_about(qa):
    t = {x.text: x for x in run(qa, "綦江“十五五”主要指标表里，带“*”号和标“—”的分别表示什么？").terms}
    assert t["*"].specific and t["—"].specific
    assert "好" not in {x.text for x in run(qa, "规划说的“好”是什么？").terms if x.specific}     # a character is no mark


def test_a_word_inside_a_glued_token_is_a_term_of_its_own(qa):
    # jieba's 租算力 (a word no document has) must not swallow the 算力 asked later in the question
    assert "算力" in {t.text for t in run(qa, "租算力很贵，重点算力设施的算力要突破多少？").terms}


def test_followup_reuses_the_previous_question(qa):
    h = [{"role": "user", "content": "重庆到2030年研发经费投入强度目标是多少？"}, {"role": "assistant", "content": "3.25"}]
    q = run(qa, "那綦江呢？", h)
    assert q.rewritten and q.subject.places == ("綦江区",) and q.slot is Slot.NUMBER
    assert q.timeframe.years == (2030,)
    q = run(qa, "那2025年呢？", h)
    assert q.timeframe.years == (2025,)


def test_a_question_with_no_topic_of_its_own_after_another_is_a_followup(qa):
    h = [{"role": "user", "content": "2025年重庆城镇新增就业目标定的是多少？"}, {"role": "assistant", "content": "65万人"}]
    q = run(qa, "为啥子比2024年定得还高些？", h)
    assert q.rewritten and "就业" in {t.text for t in q.terms} and q.slot is Slot.WHY_HOW
    assert q.timeframe.years == (2025,)             # 2024 is what it is compared with, 2025 the previous question's
    assert not run(qa, "綦江的城镇化率为啥比重庆高？", h).rewritten     # a topic of its own: no follow-up


def test_the_year_a_change_is_measured_from_is_not_the_time_asked(qa):
    assert run(qa, "2025年计划指标体系相比2024年新增了哪项指标？").timeframe.years == ()
    assert set(run(qa, "2030年目标比2025年高多少？").timeframe.years) == {2025, 2030}     # a difference: both


def test_rules_compile():
    r = default_rules()
    assert [s for s, _ in r.slots][-1] is Slot.ENTITY
    with pytest.raises(ValueError, match="unknown slot"):
        Slot.from_str("opinion")


def test_words_of_the_clauses_that_set_the_scene_weigh_less(qa):
    t = {x.text: x for x in run(qa, "老人总是接到骗子电话，规划对电信诈骗有啥防范措施？").terms}
    assert t["骗子"].everyday and not t["诈骗"].everyday


def test_a_one_character_name_in_a_joint_programme_is_not_the_subject_beside_another_place(qa):
    assert qa.subject_of("四川省推动成渝地区双城经济圈建设到2027年的目标").places == ("四川省",)
    assert qa.subject_of("成渝地区双城经济圈建设到2027年的目标").places == ("重庆市",)     # alone, it is
    assert "綦江区" in qa.subject_of("渝黔合作中綦江要建什么").places


def test_a_named_outline_without_its_place_is_the_asked_places_outline(qa):
    assert qa.subject_of("「十五五」规划纲要2030年的目标又是多少").docs == ("chongqing-15th-five-year-plan",)
    assert qa.subject_of("綦江“十五五”规划纲要里的目标").docs == ("qijiang-15th-five-year-plan",)
    assert qa.subject_of("2030年的目标又是多少").docs == ()        # no 纲要: no document named


def test_difference_asks_frame_the_question_and_ask_both_years(qa):
    q = qa.run("綦江2030年研发经费投入强度目标比2025年提高多少？")
    assert q.difference and set(q.timeframe.years) == {2025, 2030}
    assert not {"比", "提高"} & {t.text for t in q.terms} and "研发经费投入强度" in q.search_text
    assert not qa.run("到2030年綦江城乡居民收入差距要缩小到多少？").difference       # a stated target, no arithmetic
    # a trailing 相差多少 after two asks is the difference of those two, not a third ask
    q = qa.run("2024年计划天然气产量目标是多少亿立方米？实际产了多少？差多少？")
    assert q.difference and len(q.parts) == 2


def test_result_words_are_frame_not_what_is_counted(qa):
    q = qa.run("2024年計劃裡高中階段教育毛入學率要鞏固在多少以上？實際執行結果達到了多少？")
    assert all("结果" not in p.focus and "结果" not in {t.text for t in p.terms} for p in q.parts)


def test_a_named_plans_target_and_result_read_its_review_report_too(fake_pipeline):
    a = fake_pipeline.ask("2024年计划的城镇新增就业目标最后完成了吗？")
    docs = [c.doc_id for c in a.citations]
    assert "chongqing-2024-plan-report-excerpt" in docs and "chongqing-2025-plan-report-excerpt" in docs
    assert a.lead and a.lead.startswith("目标：") and "；实际：" in a.lead
    target, actual = a.lead.split("；实际：")
    assert "60万人" in target and "71.9" in actual


def test_the_last_clause_that_asks_is_the_ask_and_deictic_words_are_no_terms(qa):
    # background with its own question word ("盘子有多大") before the ask: the focus is the ask's noun phrase
    q = run(qa, "想先了解政府的盘子有多大：行动方案到2027年一共要新建多少个智能工厂？")
    assert "工厂" in q.focus and "盘子" not in q.focus
    # within one clause the question word's phrase starts at its first match (比重要提高到多少)
    assert "生产总值" in run(qa, "到2027年战略性新兴产业增加值占地区生产总值的比重要提高到多少？").focus
    terms = {t.text for t in run(qa, "2024年计划要优化“1361”整体构架，这里的“6”指哪些应用系统？").terms}
    assert "这里" not in terms and "构架" in terms


def test_a_part_naming_a_dated_report_is_dated_by_it_and_the_end_of_a_period_is_its_last_year(qa):
    # "2025年的报告" names the report (its results are of 2024): the part asks results, no year of its own
    q = run(qa, "2024年的计划里，全市每千人口托位数定的目标是多少？后来2025年的报告里说实际达到了多少？")
    assert [p.subject.docs for p in q.parts] == [(R24,), (R25,)]
    assert q.parts[1].timeframe.years == () and q.parts[1].timeframe.aspect == "actual"
    q = run(qa, "“十四五”时期末每千人口托位数达到多少？")
    assert q.timeframe.years == (2025,) and "末" not in {t.text for t in q.terms}


def test_a_repeated_verb_s_object_is_what_is_counted(fake_pipeline):
    qa = fake_pipeline.answerer.analyzer
    q = qa.run("方案里说要培育市级科普基地，到底要培育多少个？", [])
    assert "科普" in q.focus and "培育" in q.focus
    own = qa.run("方案里说要培育市级科普基地，专精特新企业要培育多少家？", []).focus      # a noun of its own:
    assert "企业" in own and "科普" not in own                                             # the other object stays out


def test_a_percentage_target_is_a_target(fake_pipeline):
    qa = fake_pipeline.answerer.analyzer
    assert qa.run("“十五五”期间单位地区生产总值二氧化碳排放降低的具体百分比目标是多少？", []).timeframe.aspect == "target"
    assert qa.run("2024年粮食产量比目标多了多少？", []).timeframe.aspect != "target"     # 比目标: the yardstick


def test_the_measure_the_question_word_took_and_a_glued_classifier_stay_in_the_focus(fake_pipeline):
    qa = fake_pipeline.answerer.analyzer
    q = qa.run("2025年重庆的居民消费率是多少？", [])          # the slot pattern 率是多少 took the 率
    assert "居民消费率" in q.focus
    q = qa.run("2025年重庆计划新增多少个托位？", [])          # jieba: 个托位
    assert "托位" in q.focus and "托位" in {t.text for t in q.terms}


def test_a_plan_period_s_guihua_names_that_period_s_outline_only(fake_pipeline):
    qa = fake_pipeline.answerer.analyzer
    assert qa.run("重庆“十五五”规划里城镇化率目标是多少？", []).subject.docs == ("chongqing-15th-five-year-plan",)
    assert qa.run("綦江“十五五”规划的城镇化率目标是多少？", []).subject.docs == ("qijiang-15th-five-year-plan",)
    q = qa.run("行动方案对2027年高速公路通车里程的目标与“十五五”规划对2030年的目标分别是多少？", [])
    assert q.subject.docs == ("chengyu-twin-city-action-plan-2023-2027", "chongqing-15th-five-year-plan")
    assert qa.run("“十四五”规划纲要的城镇化率目标是多少？", []).subject.docs == ()     # another period's outline
    assert qa.run("“十五五”规划期间要建多少公里高铁？", []).subject.docs == ()        # 规划期间: a time, no document


def test_guihua_said_as_the_document_means_the_outline_of_the_place_asked(fake_pipeline):
    qa = fake_pipeline.answerer.analyzer
    assert qa.run("规划里养老床位的目标是多少张？", []).subject.outline == ("chongqing-15th-five-year-plan",)
    assert qa.run("綦江的规划打算怎么化解债务？", []).subject.docs == ("qijiang-15th-five-year-plan",)  # named already
    assert qa.run("规划里万盛的定位是什么？", []).subject.outline == ()        # no outline of that place
    assert qa.run("城市规划面积有多大？", []).subject.outline == ()            # a compound noun, not the document
    assert qa.run("轨交五期规划有哪些线", []).subject.outline == ()            # the rail plan, not the outline
    assert qa.run("规划建设多少公里轨道？", []).subject.outline == ()          # the verb of a thing planned
    assert qa.run("“十五五”规划的城镇化率目标是多少？", []).subject.outline == ()  # names the document itself



def test_how_each_side_arranges_it_is_a_how_question_not_a_list(fake_pipeline):
    qa = fake_pipeline.answerer.analyzer
    from rag.answer.question import Slot
    assert qa.run("渝黔背靠背联网工程在綦江区规划和重庆市“十五五”规划中分别是如何安排的？", []).slot is Slot.WHY_HOW
    assert qa.run("“六江”分别是哪六条江？", []).slot is Slot.LIST


def test_the_modifier_of_the_counted_noun_skips_how_the_quantity_moves(qa):
    # 实际增长了 / 要提高到 say how the counted quantity moves, not what is counted
    assert run(qa, "2024年数字经济核心产业增加值实际增长了多少？").modifier == ("产业", "增加值")
    assert run(qa, "2024年社会消费品零售总额实际增长了多少？").modifier == ("消费品", "零售总额")
    assert run(qa, "城镇居民人均可支配收入要提高到多少元？").modifier == ("可支配", "收入")
    assert run(qa, "到2027年城镇新增就业多少人？").modifier == ("新增", "就业")     # a verb that is the counted noun stays


def test_dialect_tou_after_a_document_and_as_for_phrases_are_no_topic(qa):
    q = run(qa, "双城经济圈行动方案头有啥子帮扶的措施嘛？")
    assert "方案里" in q.normalized and "头有" not in [t.text for t in q.terms]
    q = run(qa, "方案头讲的，到2027年重庆农产品加工这一块的总产值要搞到好多嘛？")
    assert "一块" not in [t.text for t in q.terms] and "总产值" in [t.text for t in q.terms]
    assert "龙头" in [t.text for t in run(qa, "龙头企业有多少家？").terms]          # 龙头 is a word, not 里
    assert [t.text for t in run(qa, "我比较关心明年的投资形势").terms] == ["明年", "投资", "形势"]   # 比较关心: two frame words


def test_a_piece_of_the_asked_unit_is_no_topic_word(qa):
    assert [t.text for t in run(qa, "藻渡水库的总库容是多少亿立方米？").terms] == ["藻渡", "水库", "库容"]
    assert "平方" not in [t.text for t in run(qa, "綦江要建多少平方公里的产业园？").terms]


def test_hao_before_a_measure_closing_a_question_is_duo(qa):
    assert qa.clean("渝昆高铁川渝段有好长？") == "渝昆高铁川渝段有多长?"
    assert qa.clean("那座桥有好高嘛？") == "那座桥有多高嘛?"
    for text in ("綦江这几年变化好大哦", "等了好长时间", "好大的变化"):
        assert "多" not in qa.clean(text)                       # exclamations and 好长时间 ask nothing


def test_kuai_before_a_noun_counts_it(qa):
    q = run(qa, "巴黎奥运会重庆运动员拿了几块金牌嘛？")
    assert q.slot is Slot.NUMBER and q.unit == "count"
    assert run(qa, "公租房一个月要交几块钱？").unit == "money"


def test_a_route_named_by_one_character_place_names_is_a_name(qa):
    q = run(qa, "渝昆高铁川渝段有好长？")
    names = [t.text for t in q.terms if t.specific]
    assert "渝昆" in names and q.unit == "length"
    assert "渝宜" in [t.text for t in run(qa, "渝宜高铁全长多少公里？").terms if t.specific]


def test_an_unknown_word_before_a_facility_noun_is_its_name(qa):
    q = run(qa, "早渡水库的总库容是多少万立方米？")
    assert any(t.text == "早渡" and t.specific and not t.known for t in q.terms)
    # the documents' own name is a name as well (the clause must hold it), a known one: not missing from them
    assert any(t.specific and t.known for t in run(qa, "藻渡水库什么时候建成？").terms if t.text == "藻渡")
    assert not any(t.specific for t in run(qa, "抽水蓄能电站建成了几座？").terms if t.text == "抽水")   # a dictionary word


def test_which_month_asks_a_time_and_entering_a_list_is_a_result(qa):
    assert run(qa, "重庆国际设计周每年在几月份举办？").slot is Slot.TIME
    assert run(qa, "工期要几个月？").unit == "duration"
    assert run(qa, "2024年哪家重庆企业入选了“全国文化企业30强”？").timeframe.aspect == "actual"


def test_a_verb_with_its_aspect_particle_is_the_verb(qa):
    terms = [t.text for t in run(qa, "2024年重庆给企业减了好多税费哦？").terms]
    assert "减了" not in terms and "税费" in terms


def test_a_topic_before_a_colon_is_counted_when_the_ask_names_only_a_verb(qa):
    q = run(qa, "義務教育鞏固率：2024年計劃的目標和2024年實際完成分別是多少？")
    assert "巩固率" in q.focus and "完成" in q.focus
    assert "巩固率" not in run(qa, "2024年实际完成了多少？").focus


def test_this_project_of_an_ask_is_the_one_the_statement_before_names(qa):
    q = run(qa, "我是粮食系统的工作人员，2024年计划里提到持续推进中储粮集团160万吨粮食仓储物流项目。请问这个项目总投资多少？建在哪个区县？")
    assert len(q.parts) == 2
    first = {t.text for t in q.parts[0].terms}
    assert "160" in first and "储粮" in first                 # the statement's names join the ask of 这个项目
    alone = run(qa, "请问这个项目总投资多少？建在哪个区县？")         # no statement: nothing to join
    assert "160" not in {t.text for t in alone.parts[0].terms}


def test_a_stated_percentage_is_no_name_and_each_side_s_measure_is_a_number(qa):
    q = run(qa, "2025年GDP目标定的6%左右，那2025年实际增长了好多？")
    assert not any(t.specific for t in q.terms if t.text in ("6", "6%"))      # the target stated, not a name
    q = run(qa, "2025年计划和成渝双城经济圈行动方案对耕地保有量的要求分别是什么？")
    assert q.slot is Slot.NUMBER                                              # 保有量 is a figure
    assert run(qa, "綦江和万盛的主导产业分别是什么？").slot is Slot.LIST


def turn(q):
    return [{"role": "user", "content": q}, {"role": "assistant", "content": "……"}]


def test_a_follow_up_pointing_back_asks_about_the_thing_before(qa):
    q = run(qa, "它装机容量好多？", turn("蟠龙抽水蓄能电站现在是啥子情况？"))
    assert "蟠龙" in {t.text for t in q.terms}                    # 它 is the station: its clause must name it
    q = run(qa, "这个“885”具体指的是什么？", turn("綦江规划提到要健全党建统领的什么工作机制？"))
    assert "实施" not in {t.text for t in q.terms}                  # a code of its own: 这个 points at nothing before


def test_a_follow_up_asking_the_result_keeps_the_year_not_the_plan(qa):
    q = run(qa, "那现在一年实际产好多？", turn("綦江页岩气产量目标是好多？"))
    assert q.timeframe.aspect == "actual"                           # not both: the follow-up says 实际
    q = run(qa, "那最后实际产了好多？", turn("2024年计划天然气产量要达到多少？"))
    assert q.timeframe == TimeFrame((2024,), None, "actual") and R24 not in q.subject.docs


def test_a_corpus_name_before_a_facility_noun_is_the_facility_s_name(qa):
    q = run(qa, "藻渡水库的总库容是多少立方米？")
    assert any(t.text == "藻渡" and t.specific for t in q.terms)   # a word no dictionary has: a name
    q = run(qa, "綦江水库有多少座？")
    assert not any(t.text == "綦江" and t.specific for t in q.terms)   # a place: the subject, not the name


def test_the_year_and_the_time_asked_are_no_topic_words(qa):
    assert not {"全年", "时候"} & {t.text for t in run(qa, "全年旅游收入有多少？什么时候公布？").terms}
    assert run(qa, "全年旅游收入有多少？").unit == "money"            # an amount of 收入, not its growth
    assert run(qa, "农村居民收入增长多少？").unit != "money"


def test_a_follow_up_naming_only_a_document_asks_the_thing_before_of_it(qa):
    q = run(qa, "行动方案里到2027年的目标又是多少？", turn("重庆“十五五”城镇新增就业目标是多少？"))
    assert {"城镇", "就业"} <= {t.text for t in q.terms} and q.subject.docs == (ACT,)
    assert not run(qa, "行动方案里到2027年的目标又是多少？").terms     # no turn before: nothing asked of it


def test_whether_a_figure_is_set_then_the_figure_is_one_number_asked(qa):
    first, second = run(qa, "重庆“十五五”规划对2030年全市常住人口总量有没有明确目标？具体是多少万人？").parts
    assert first.slot is Slot.NUMBER and second.slot is Slot.NUMBER and first.unit == second.unit
    assert run(qa, "2024年政府咋个刺激消费的？有没有发消费券？").parts[1].slot is Slot.YES_NO   # no number after
