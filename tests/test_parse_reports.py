"""The structure of government work reports (issue 14, part 2): spot checks per document family -- national
reports of the 1950s/60s (no outline, bare numerals, 第一、), of 1978-2025 (一、/（一）, ——lead-ins), provincial 2026
reports (title block, 注释 with ［n］ markers, 名词解释 on two lines, web chrome) -- on ../shared/library when present,
and the same rules on a small synthetic report everywhere. The five plan documents are no work reports."""
import json
import re
from pathlib import Path

import pytest

from rag.lexicon import glossary_from_chunks, match_glossary
from rag.parse import parse
from rag.reports import is_work_report
from rag.schema import Chunk, Document

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT.parent / "shared" / "library"


def _ws(s: str) -> str:
    return re.sub(r"\s", "", s)


def doc_of(text: str, doc_id: str = "r", kind: str = "") -> Document:
    return Document(doc_id=doc_id, title="测试报告", path="/dev/null", text=text, sha256=doc_id,
                    meta={"file": f"{doc_id}.txt", "kind": kind})


def verbatim(doc: Document, clauses) -> None:
    for c in clauses:
        assert _ws(c.text) == _ws(doc.text[c.start:c.end]), (c.location, c.text[:30])


def find(clauses, needle):
    hits = [c for c in clauses if needle in c.text]
    assert hits, needle
    return hits[0]


SYNTHETIC = """2026年某省政府工作报告
——2026年1月20日在某省第十四届人民代表大会第五次会议上
某省省长 张三
各位代表：
现在，我代表省人民政府，向大会报告工作，请予审议。
一、2025年工作回顾
——经济稳中有进。全省生产总值增长5.2%，四大主导产业［1］占比提高。
【稳增长】实施“两新”［2］政策，带动消费增长8%。
我们同兄弟省份签订了
合作框架协议
，共建产业园区12个。
二、2026年工作安排
（一）加快建设现代化产业体系。培育新兴产业集群10个。
各位代表！
让我们团结奋斗，再创新的更大辉煌！
注释
［1］四大主导产业：
旅游业、现代服务业、高新技术产业、热带特色高效农业。
［2］两新：
大规模设备更新和消费品以旧换新。
本作品是中华人民共和国的
法律
Public domain
"""


@pytest.fixture(scope="module")
def synthetic():
    d = doc_of(SYNTHETIC)
    return d, parse(d)


def test_the_five_plan_documents_are_no_work_reports(corpus):
    for d in corpus.documents:
        assert not is_work_report(d), d.doc_id
        assert not any(c.notes for c in parse(d)), d.doc_id


def test_family_by_opening_or_manifest_kind():
    assert is_work_report(doc_of("各位代表：\n现在，我代表国务院作报告。"))
    assert is_work_report(doc_of("五年来，我国各族人民……", kind="national government work report"))
    assert not is_work_report(doc_of("第一篇 总体要求\n第一章 发展基础\n各位代表的意见……"))


def test_title_block_opening_and_end_matter(synthetic):
    d, cl = synthetic
    verbatim(d, cl)
    heads = [c for c in cl if c.location == "题注"]
    assert [c.text for c in heads] == ["2026年某省政府工作报告", "——2026年1月20日在某省第十四届人民代表大会第五次会议上",
                                       "某省省长 张三"]
    assert not any(c.text.startswith("各位代表：") for c in cl)
    assert find(cl, "现在，我代表省人民政府").location == "第1段"
    assert not any("本作品" in c.text or "Public domain" in c.text for c in cl)


def test_lead_ins_and_a_line_cut_by_a_link(synthetic):
    _, cl = synthetic
    c = find(cl, "——经济稳中有进")
    assert (c.kind, c.location) == ("item", "一、 ——经济稳中有进")
    c = find(cl, "【稳增长】")
    assert (c.kind, c.location) == ("item", "一、 【稳增长】")
    c = find(cl, "我们同兄弟省份签订了")
    assert c.text == "我们同兄弟省份签订了合作框架协议，共建产业园区12个。"
    assert find(cl, "培育新兴产业集群").location == "二、 （一）"


def test_footnotes_are_glossary_entries_and_citing_clauses_carry_them(synthetic):
    d, cl = synthetic
    notes = [c for c in cl if c.kind == "glossary"]
    assert [c.location for c in notes] == ["注释 ［1］四大主导产业", "注释 ［2］两新"]
    assert notes[0].text == "［1］四大主导产业：旅游业、现代服务业、高新技术产业、热带特色高效农业。"
    assert "\n" in d.text[notes[0].start:notes[0].end]            # term and definition: two lines of the source
    assert find(cl, "——经济稳中有进").notes == (notes[0].text,)
    assert find(cl, "【稳增长】").notes == (notes[1].text,)
    chunk = Chunk("r#1", "r", "测试报告", notes[0].location, (), "glossary", notes[0].text, 0, 1)
    entry = match_glossary("四大主导产业是哪些？", glossary_from_chunks([chunk]))
    assert [e.term for e in entry] == ["四大主导产业"] and entry[0].definition.startswith("旅游业")


# ----------------------------------------------------------------------------- the real reports
@pytest.fixture(scope="module")
def library():
    if not (LIBRARY / "manifest.part.json").exists():
        pytest.skip("../shared/library not present")
    entries = json.loads((LIBRARY / "manifest.part.json").read_text(encoding="utf-8"))["documents"]
    out = {}
    for e in entries:
        text = (LIBRARY / e["file"]).read_text(encoding="utf-8-sig")
        d = Document(e["id"], e["title"], str(LIBRARY / e["file"]), text, e["id"], meta={**e, "file": e["file"]})
        out[e["id"]] = (d, parse(d))
    return out


def test_every_report_is_read_as_one_with_verbatim_clauses_and_no_licence_text(library):
    assert len(library) == 67
    for doc_id, (d, cl) in library.items():
        assert is_work_report(d), doc_id
        verbatim(d, cl)
        assert not any(re.search(r"本作品是中华人民共和国的|Public domain|中文维基文库|扫一扫在手机", c.text) for c in cl), doc_id
        assert not any(c.text.startswith("各位代表：") and len(c.text) < 8 for c in cl), doc_id


def test_1954_no_outline_paragraph_ordinals_and_link_cuts_joined(library):
    d, cl = library["nat-gwr-1954"]
    assert all(re.fullmatch(r"第\d+段", c.location) for c in cl)
    assert [c.location for c in cl[:3]] == ["第1段", "第2段", "第3段"]
    c = find(cl, "我國同偉大的和平堡壘蘇聯已經締結了")
    assert c.text.startswith("我國同偉大的和平堡壘蘇聯已經締結了友好同盟互助條約。蘇聯根據")
    assert "締結了\n友好同盟互助條約\n。" in d.text[c.start:c.end]


def test_1960_bare_numerals_and_1958_di_parts(library):
    _, cl = library["nat-gwr-1960"]
    assert {c.location for c in cl} >= {"一、", "二、", "三、", "四、"}
    _, cl = library["nat-gwr-1958"]
    assert any(c.location.startswith("第一") for c in cl)
    assert any(c.location == "第五 （四）" for c in cl)


def test_2008_and_2019_outline_and_dash_lead_ins(library):
    _, cl = library["nat-gwr-2008"]
    c = find(cl, "——经济跨上新台阶")
    assert (c.kind, c.location) == ("item", "一、 ——经济跨上新台阶")
    assert c.headings == ("一、 过去五年工作回顾", "——经济跨上新台阶")
    _, cl = library["nat-gwr-2019"]
    c = find(cl, "——经济运行保持在合理区间")
    assert c.location == "一、 ——经济运行保持在合理区间"
    assert {c.location for c in cl} >= {"三、 （一）", "三、 （三）", "三、 （十）"}
    assert find(cl, "PM2.5").location == "一、 ——三大攻坚战开局良好"


def test_provincial_title_block_and_notes(library):
    _, cl = library["prov-2026-01"]
    assert [c.text for c in cl if c.location == "题注"][:2] == [
        "2026年上海市政府工作报告", "——2026年2月3日在上海市第十六届人民代表大会第四次会议上"]
    d, cl = library["prov-2026-20"]
    notes = [c for c in cl if c.kind == "glossary"]
    assert len(notes) == 28 and notes[11].location == "注释 ［12］“45432”发展架构"
    assert notes[1].text == "［2］四大主导产业：旅游业、现代服务业、高新技术产业、热带特色高效农业。"
    c = find(cl, "2025年四大主导产业［2］占GDP比重")
    assert notes[1].text in c.notes and c.location == "一、"


def test_guangdong_glossary_term_and_definition_are_one_entry(library):
    _, cl = library["prov-2026-12"]
    g = [c for c in cl if c.kind == "glossary"]
    c = find(g, "“单一窗口”")
    assert c.text.startswith("12.“单一窗口”：指参与国际贸易和运输的各方")
    assert c.location.startswith("附件 名词解释 12．“单一窗口”：")
    assert not any(c.text.startswith("指") for c in g)
