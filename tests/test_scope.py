"""Document scope (rag/scope.py): region and years from titles, the gazetteer, the documents a question may use."""
import pytest

from rag.scope import (DocScope, Gazetteer, cn_number, docs_in_scope, five_year_plan_years, gazetteer, infer_scope,
                       new_region)


@pytest.mark.parametrize("title,meta,expect", [
    ("重庆市国民经济和社会发展第十五个五年规划纲要", {}, DocScope("重庆市", 2026, 2030)),
    ("重庆市綦江区国民经济和社会发展第十五个五年规划纲要", {}, DocScope("綦江区", 2026, 2030)),
    ("重庆市国民经济和社会发展计划报告（2024年计划部分，报纸刊载节选）", {}, DocScope("重庆市", 2024, 2024)),
    ("重庆市国民经济和社会发展计划报告（2024年执行情况与2025年计划，报纸刊载节选）", {}, DocScope("重庆市", 2025, 2025, 2024)),
    ("重庆市推动成渝地区双城经济圈建设行动方案（2023—2027年）", {}, DocScope("重庆市", 2023, 2027)),
    ("2026年上海市政府工作报告", {"year": 2026}, DocScope("上海市", 2026, 2026, 2025)),
    ("陕西省2026年政府工作报告", {}, DocScope("陕西省", 2026, 2026, 2025)),
    ("1984年中华人民共和国国务院政府工作报告", {"issuer": "国务院", "year": "1984"}, DocScope("全国", 1984, 1984, 1983)),
    ("某某文件", {"region": "万州区", "period": "2021-2025", "review_year": 2020}, DocScope("万州区", 2021, 2025, 2020)),
    ("某某文件", {}, DocScope("")),
])
def test_infer_scope(title, meta, expect):
    assert infer_scope(title, meta) == expect


def test_scope_of_the_corpus_documents(fake_pipeline):
    scopes = fake_pipeline.retriever.scopes
    assert scopes["chongqing-2025-plan-report-excerpt"].kind == "report"
    assert scopes["qijiang-15th-five-year-plan"].describe() == "綦江区 · 2026–2030年规划"


def test_five_year_plans_and_chinese_numbers():
    assert five_year_plan_years(1) == (1953, 1957)
    assert five_year_plan_years(14) == (2021, 2025) and five_year_plan_years(15) == (2026, 2030)
    assert [cn_number(s) for s in ("五", "十", "十五", "二十一", "甲")] == [5, 10, 15, 21, None]


def test_gazetteer():
    g = gazetteer()
    assert g.mentions("重庆市綦江区和万盛经开区") == ["重庆市", "綦江区", "万盛经济技术开发区"]
    assert g.ancestors("綦江区") == ["重庆市", "全国"]
    assert g.is_within("綦江区", "重庆市") and not g.is_within("重庆市", "綦江区")
    assert g.most_specific(["重庆市", "綦江区"]) == ["綦江区"]
    assert g.mentions("其中国际航线") == [] and g.mentions("长寿") == []       # 中国 / 长寿 are words, not places
    assert Gazetteer({}).mentions("重庆") == []


def test_documents_in_scope():
    scopes = {"cq": DocScope("重庆市", 2026, 2030), "qj": DocScope("綦江区", 2026, 2030),
              "sh": DocScope("上海市", 2026, 2026, 2025), "nat": DocScope("全国", 2019, 2019, 2018), "new": DocScope("")}
    g = gazetteer()
    assert set(docs_in_scope((), (), scopes, g, "重庆市")) == {"cq", "qj", "new"}          # home and inside it
    assert set(docs_in_scope(("重庆市",), (), scopes, g, "重庆市")) == {"cq", "nat", "new"}  # not 綦江's plan
    assert set(docs_in_scope(("綦江区",), (), scopes, g, "重庆市")) == {"cq", "qj", "nat", "new"}
    assert set(docs_in_scope(("上海市",), (), scopes, g, "重庆市")) == {"cq", "sh", "nat", "new"}
    assert docs_in_scope((), ("qj",), scopes, g, "重庆市") == ["qj"]


def test_a_district_the_gazetteer_lacks_is_learnt_from_a_title():
    g = gazetteer()
    r = new_region("重庆市柏溪区国民经济和社会发展第十五个五年规划纲要", {}, g)
    assert r.name == "柏溪区" and r.parent == "重庆市" and "柏溪" in r.names
    g2 = g.extended({r.name: r})
    assert g2.is_within("柏溪区", "重庆市") and g2.mentions("柏溪的规划") == ["柏溪区"]
    assert infer_scope("重庆市柏溪区国民经济和社会发展第十五个五年规划纲要", {}, g2) == DocScope("柏溪区", 2026, 2030)
    assert new_region("重庆市綦江区国民经济和社会发展第十五个五年规划纲要", {}, g) is None      # known already
    assert new_region("重庆市柏溪区规划", {"region": "重庆市"}, g) is None                    # the manifest says
    assert infer_scope("四川省某某县“十五五”规划", {}).start == 2026
