"""A list answered by a 专栏's numbered items (rag/answer/columns.py and EvidenceVerifier.item_list): a small
document of its own, the real analyzer (fake embedder)."""
from dataclasses import replace

import pytest

from rag.answer.columns import ItemGroups, item_title
from rag.answer.evidence import EvidenceConfig, EvidenceVerifier
from rag.answer.lead import AnswerLine
from rag.schema import Chunk, Hit
from rag.scope import DocScope, gazetteer

DOC = "cq-plan"
NAMES = ["港口型国家物流枢纽", "陆港型国家物流枢纽", "空港型国家物流枢纽", "生产服务型国家物流枢纽", "商贸服务型国家物流枢纽",
         "枢纽港产业园能力提升"]
INTRO = "以枢纽港产业园为重点，协同“五型”国家物流枢纽，创新培育枢纽经济形态。"
HEADS = ("第八篇　高水平构建“一区两体系”", "专栏20　国家物流枢纽体系建设重大事项")


def corpus():
    text, chunks = INTRO + "\n" + HEADS[1] + "\n", []
    intro = Chunk(f"{DOC}#0", DOC, "重庆市规划纲要", "第八篇", HEADS[:1], "paragraph", INTRO, 0, len(INTRO))
    chunks.append(intro)
    for i, name in enumerate(NAMES, 1):
        line = f"{i}．{name}。提质建设第{i}个物流园。"
        a = len(text)
        text += line + "\n"
        chunks.append(Chunk(f"{DOC}#{i}", DOC, "重庆市规划纲要", f"第八篇 专栏20 {i}．", HEADS + (f"{i}．{name}",), "item",
                            line, a, a + len(line)))
    return {DOC: text}, chunks


def as_hit(c: Chunk, texts, score=1.0) -> Hit:
    return Hit(c.doc_id, c.title, c.location, texts[c.doc_id][c.start:c.end], c.start, c.end, score, c.chunk_id, c.kind,
               c.text)


@pytest.fixture(scope="module")
def qa(fake_pipeline):
    return fake_pipeline.answerer.analyzer


@pytest.fixture()
def setup():
    texts, chunks = corpus()
    v = EvidenceVerifier(EvidenceConfig(), chunks, {DOC: DocScope("重庆市", 2026, 2030)}, gazetteer(), "重庆市",
                         texts=texts)
    return v, texts, chunks


def test_item_titles_and_groups():
    assert item_title("2．陆港型国家物流枢纽") == "陆港型国家物流枢纽"
    assert item_title("（三）空港型") == "空港型" and item_title("专栏20 重大事项") is None
    assert item_title("1．数据存储与灾备服务：积极承接全市政务、金融、能源等领域灾备业务，发展数据存储") == "数据存储与灾备服务"
    _, chunks = corpus()
    g = ItemGroups(chunks).of(f"{DOC}#3")
    assert [m.title for m in g.members] == NAMES and g.location == "第八篇 专栏20" and g.headings == HEADS


def test_a_list_no_clause_gives_is_the_items_whose_titles_name_it(setup, qa):
    v, texts, chunks = setup
    q = qa.run("规划里说的“五型”国家物流枢纽，到底是哪五种类型？", [])
    hits = [as_hit(chunks[2], texts), as_hit(chunks[0], texts, 0.9), as_hit(chunks[4], texts, 0.8)]
    verdict = v.run(q, hits)
    best = verdict.supported[0]
    assert best.unit.hit.kind == "item_list"
    # the five 物流枢纽 items, not 枢纽港产业园能力提升 (it shares only 枢纽): one verbatim span of the file
    assert texts[DOC][best.unit.start:best.unit.end].startswith("1．港口型") and best.unit.text.endswith("第5个物流园。")
    assert "枢纽港产业园" not in best.unit.text
    assert AnswerLine(v.topic_spans).value(q, best.unit) == "；".join(NAMES[:5])
    assert v.headings_of(best.unit.hit) == HEADS              # the group's headings, not its first item's title


def test_an_item_group_of_another_size_or_without_the_sets_name_answers_nothing(setup, qa):
    v, texts, chunks = setup
    hits = [as_hit(chunks[2], texts), as_hit(chunks[0], texts, 0.9)]
    assert not v.run(qa.run("规划里说的“五型”国家物流枢纽是哪三种？", []), hits).supported        # five items, three asked
    # the quoted name no retrieved clause holds: nothing says these items are the 五型
    assert not v.run(qa.run("规划里说的“五型”国家物流枢纽是哪五种？", []), hits[:1]).supported
    v.config = replace(v.config, item_lists=False)
    assert not v.run(qa.run("规划里说的“五型”国家物流枢纽，到底是哪五种类型？", []), hits).supported


def test_a_set_named_only_by_its_code_is_the_group_its_heading_names(qa):
    from rag.answer.columns import ItemGroup, Member, code_size, listed_members

    assert code_size("九治") == 9 and code_size("五篇大文章") == 5 and code_size("33618") is None
    titles = ["治水", "治气", "治土", "治废", "治塑", "治山", "治岸", "治城", "治乡"]
    group = ItemGroup(DOC, "重庆市规划纲要", "第十四篇 专栏39", ("第十四篇", "专栏39　一体推进“九治”重点工程"),
                      tuple(Member(f"{DOC}#{i}", t, i * 10, i * 10 + 9) for i, t in enumerate(titles)))
    q = qa.run("重庆说的“九治”是治些啥子？", [])
    words = list(q.known_terms)
    assert [m.title for m in listed_members(q, group, words, None)] == titles
    short = replace(group, members=group.members[:5])                   # five items are not the 九 of 九治
    assert listed_members(q, short, words, None) == ()
    other = replace(group, headings=("第十四篇", "专栏40　生态保护修复重大工程"))   # the heading does not name the code
    assert listed_members(q, other, words, None) == ()


def test_a_section_of_titled_paragraphs_is_its_measures():
    from rag.answer.columns import Sections, paragraph_title
    assert paragraph_title("提升汽车产业链主导力和控制力。推进产业链生态重塑升级。") == "提升汽车产业链主导力和控制力"
    assert paragraph_title("推进“整车+零部件+后市场”产业链生态重塑升级，产业规模超过万亿元。") is None   # opens with a measure
    heads = ("第三篇", "第七章", "第一节　打造汽车之都")
    chunks = [Chunk(f"d#{i}", "d", "d", "第一节", heads, "paragraph", t, 100 * i, 100 * i + len(t))
              for i, t in enumerate(["提升汽车产业链主导力。推进升级。", "增强汽车产业创新策源力。提升功能。"])]
    assert [c.chunk_id for c in Sections(chunks).of("d#1")] == ["d#0", "d#1"]
    chunks.append(Chunk("d#2", "d", "d", "第一节", heads, "paragraph", "推进产业链升级，规模超过万亿元。", 300, 316))
    assert Sections(chunks).of("d#1") == []        # a paragraph without a title: the section is no list of measures


def test_a_list_named_by_its_group_s_heading_is_all_the_members(qa):
    from rag.answer.columns import ItemGroup, Member, listed_members

    titles = ["具身智能机器人", "生物制造", "量子科技", "脑机接口"]
    group = ItemGroup(DOC, "重庆市规划纲要", "第三篇 专栏8", ("第三篇", "专栏8　未来产业新赛道"),
                      tuple(Member(f"{DOC}#{i}", t, i * 10, i * 10 + 9) for i, t in enumerate(titles)))
    q = qa.run("重庆规划列出的未来产业新赛道有哪些？", [])
    assert [m.title for m in listed_members(q, group, list(q.known_terms), None)] == titles
    assert listed_members(q, group, list(q.known_terms), 5) == ()       # 哪五个: four items are not them
    # a member's title naming what is asked is that member, not the heading's whole group
    named = replace(group, headings=("第十篇", "专栏29　农业产业集群"),
                    members=(Member(f"{DOC}#0", "千亿级支柱产业集群", 0, 9), Member(f"{DOC}#1", "“金名片”产业集群", 10, 19)))
    q = qa.run("重庆农业里的“金名片”产业集群有哪些？", [])
    assert listed_members(q, named, list(q.known_terms), None) == ()
