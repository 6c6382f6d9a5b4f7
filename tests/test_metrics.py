"""Unit tests for eval/metrics.py with hand-computed expectations."""
import json
import math

import pytest

from eval import metrics as m

RANKED = ["第一条 无关内容", "研发经费投入强度\n（%） 2.65 3.25", "其他", "常住人口城镇化率 73.02", "尾部"]


def test_strip_ws_and_norm_kw():
    assert m.strip_ws(" a \n b\t\u3000c ") == "abc"
    assert m.norm_kw("３．２５％") == "3.25%"          # full width -> half width
    assert m.norm_kw("75 左右") == m.norm_kw("75左右")
    assert m.norm_kw("（%）") == "(%)"


def test_evidence_in_ignores_whitespace_both_sides():
    assert m.evidence_in("研发经费投入强度\n（%） 2.65", ["研发经费投入强度（%）2.65"])
    assert m.evidence_in("ab cd", ["x", "b c"])
    assert not m.evidence_in("ab cd", ["abd"])
    assert not m.evidence_in("anything", [])
    assert not m.evidence_in("anything", ["", "  "])       # empty evidence never matches


def test_hit_at_k_and_first_rank():
    ev = ["研发经费投入强度（%）2.653.25"]
    assert m.first_hit_rank(RANKED, ev) == 2
    assert not m.hit_at_k(RANKED, ev, 1)
    assert m.hit_at_k(RANKED, ev, 2)
    assert m.hit_at_k(RANKED, ev, 5)
    assert m.first_hit_rank(RANKED, ["不存在"]) is None
    assert m.first_hit_rank(RANKED, ev, k=1) is None


def test_reciprocal_rank():
    assert m.reciprocal_rank(RANKED, ["第一条"]) == 1.0
    assert m.reciprocal_rank(RANKED, ["3.25"]) == 0.5
    assert m.reciprocal_rank(RANKED, ["73.02"]) == 0.25
    assert m.reciprocal_rank(RANKED, ["73.02"], k=3) == 0.0   # outside the cut-off
    assert m.reciprocal_rank(RANKED, ["nothing"]) == 0.0
    # MRR of the three queries above = (1 + 1/2 + 1/4) / 3
    mrr = sum(m.reciprocal_rank(RANKED, [e]) for e in ("第一条", "3.25", "73.02")) / 3
    assert math.isclose(mrr, 1.75 / 3)


def test_evidence_recall():
    ev = ["2.653.25", "73.02", "缺失"]
    assert math.isclose(m.evidence_recall(RANKED, ev, 5), 2 / 3)
    assert math.isclose(m.evidence_recall(RANKED, ev, 2), 1 / 3)
    assert m.evidence_recall(RANKED, [], 5) == 0.0


def test_docs_covered():
    by_doc = {"a": ["3.25"], "b": ["73.02"]}
    assert m.docs_covered(RANKED, by_doc, 4)
    assert not m.docs_covered(RANKED, by_doc, 3)
    assert not m.docs_covered(RANKED, {}, 5)


def test_keywords_width_and_whitespace_insensitive():
    assert m.keyword_ok("目标为３.２５％，属预期性", ["3.25%", "预期 性"])
    assert m.missing_keywords("目标为3.25%", ["3.25", "约束性"]) == ["约束性"]
    assert m.keyword_ok("anything", [])


def test_citation_valid():
    texts = {"d": "甲乙丙丁戊"}
    assert m.citation_valid({"doc_id": "d", "quote": "乙丙", "start": 1, "end": 3}, texts)
    assert not m.citation_valid({"doc_id": "d", "quote": "乙丙", "start": 0, "end": 2}, texts)  # wrong offsets
    assert not m.citation_valid({"doc_id": "x", "quote": "乙丙", "start": 1, "end": 3}, texts)  # unknown doc
    assert not m.citation_valid({"doc_id": "d", "quote": "", "start": 1, "end": 1}, texts)     # empty quote
    assert not m.citation_valid({"doc_id": "d", "quote": "乙丙", "start": "1", "end": 3}, texts)


def test_citation_hit():
    cites = [{"quote": "无关"}, {"quote": "常住人口\n城镇化率 73.02"}]
    assert m.citation_hit(cites, ["城镇化率73.02"])
    assert not m.citation_hit(cites, ["3.25"])
    assert not m.citation_hit([], ["3.25"])


@pytest.mark.parametrize("p,expected", [(0, 1.0), (50, 2.5), (100, 4.0), (95, 3.85), (25, 1.75)])
def test_percentile_linear(p, expected):
    assert math.isclose(m.percentile([4, 1, 3, 2], p), expected)


def test_percentile_edge_cases():
    assert m.percentile([], 50) == 0.0
    assert m.percentile([7.0], 95) == 7.0


def _scored(id, type, doc, ranked, answer, evidence, keywords, texts):
    item = {"id": id, "type": type, "doc": doc, "evidence": evidence, "answer_keywords": keywords}
    s = m.score_item(item, ranked, answer, texts)
    s.update(id=id, type=type, doc=doc, retrieve_ms=10.0, ask_ms=20.0)
    return s


def test_score_item_and_aggregate():
    texts = {"a": "研发经费投入强度（%）2.653.25", "b": "常住人口城镇化率73.02"}
    good_cite = {"doc_id": "a", "quote": "3.25", "start": 15, "end": 19}
    bad_cite = {"doc_id": "a", "quote": "3.25", "start": 0, "end": 4}
    s1 = _scored("1", "factual_number", "a", ["x", "研发经费投入强度（%）2.653.25"],
                 {"answer": "为３.２５", "refused": False, "citations": [good_cite]}, ["3.25"], ["3.25"], texts)
    s2 = _scored("2", "factual_number", "b", ["y", "z"],
                 {"answer": "不知道", "refused": True, "citations": [bad_cite]}, ["73.02"], ["73.02"], texts)
    s3 = _scored("3", "unanswerable", "", ["x"],
                 {"answer": "文档中未提及", "refused": True, "citations": []}, [], ["文档中未提及"], texts)
    s4 = _scored("4", "cross_document", ["a", "b"], ["73.02", "w"],
                 {"answer": "3.25 和 73.02", "refused": False, "citations": []}, ["3.25", "73.02"], ["3.25", "73.02"], texts)
    assert s1["hit_rank"] == 2 and s1["keyword_ok"] and s1["citation_hit"]
    assert s2["hit_rank"] is None and s2["missing_keywords"] == ["73.02"] and s2["citations_valid"] == 0
    assert s3["hit_rank"] is None and s3["keyword_ok"] and s3["citation_hit"] is None
    assert s4["hit_rank"] == 1 and s4["evidence_recall@10"] == 0.5 and not s4["all_docs@5"]
    assert m.failed(s2) and not m.failed(s3)

    res = m.aggregate([s1, s2, s3, s4])
    assert res["n"] == 4
    r = res["retrieval"]
    assert math.isclose(r["hit@1"], 1 / 3, abs_tol=1e-4)              # only s4 at rank 1
    assert math.isclose(r["hit@5"], 2 / 3, abs_tol=1e-4)
    assert math.isclose(r["mrr@10"], (0.5 + 0 + 1) / 3, abs_tol=1e-4)
    assert math.isclose(r["evidence_recall@10"], (1 + 0 + 0.5) / 3, abs_tol=1e-4)
    a = res["answer"]
    assert math.isclose(a["keyword_accuracy"], 2 / 3, abs_tol=1e-4)   # s1, s4
    assert a["citation_validity"] == 0.5                              # 1 of 2 citations
    assert math.isclose(a["citation_hit"], 1 / 3, abs_tol=1e-4)
    assert res["refusal"] == {"accuracy": 1.0, "false_refusal_rate": round(1 / 3, 4)}
    assert res["latency_ms"] == {"retrieve_p50": 10.0, "retrieve_p95": 10.0, "ask_p50": 20.0, "ask_p95": 20.0}
    assert set(res["by_type"]) == {"factual_number", "unanswerable", "cross_document"}
    assert res["by_type"]["factual_number"]["hit@5"] == 0.5
    assert res["by_type"]["unanswerable"]["refusal_accuracy"] == 1.0
    assert res["by_type"]["unanswerable"]["hit@5"] is None
    assert res["cross_document"]["all_docs@5"] == 0.0
    assert set(res["by_doc"]) == {"a", "b"}
    assert res["by_doc"]["a"]["n"] == 2                              # s1 + the cross-document item
    assert res["hit_curve"]["hit@1"] == r["hit@1"] and res["hit_curve"]["hit@10"] == r["hit@5"]


def test_gate_floors():
    from eval.__main__ import check_floors

    metrics = {"retrieval": {"hit@5": 0.8}, "answer": {"keyword_accuracy": 0.5}}
    assert check_floors(metrics, {"_comment": "x", "retrieval.hit@5": 0.75}) == []
    problems = check_floors(metrics, {"retrieval.hit@5": 0.85, "answer.keyword_accuracy": 0.4, "refusal.accuracy": 0.5})
    assert len(problems) == 2
    assert problems[0].startswith("retrieval.hit@5 = 0.8000 is below its floor 0.85")
    assert "refusal.accuracy: missing" in problems[1]
    metrics["refusal"] = {"false_refusal_rate": 0.1}
    assert check_floors(metrics, {"max:refusal.false_refusal_rate": 0.12}) == []
    assert check_floors(metrics, {"max:refusal.false_refusal_rate": 0.08}) == [
        "refusal.false_refusal_rate = 0.1000 is above its ceiling 0.08"]


def test_run_and_outputs_on_fake_pipeline(fake_pipeline, tmp_path):
    """End to end on the deterministic fake embedder: the metrics object has the interface's shape,
    follow-ups are retrieved with ask's rewritten query, and every output file is written."""
    from pathlib import Path

    from eval.golden import load_golden
    from eval.report import write_items, write_latency_plot, write_plots, write_report
    from eval.run import run

    items = load_golden(Path(__file__).resolve().parent.parent / "eval" / "golden.jsonl")
    pick = [it for it in items if it["type"] == "unanswerable"][:2] + [it for it in items if it.get("history")][:2] + items[:4]
    records = run(fake_pipeline, pick, progress=False)
    res = m.aggregate(records)
    assert res["n"] == len(pick)
    assert set(res["retrieval"]) == {"hit@1", "hit@5", "mrr@10", "evidence_recall@10"}
    assert set(res["answer"]) == {"keyword_accuracy", "lead_keyword_accuracy", "lead_faithfulness", "citation_validity",
                                  "citation_hit"}
    assert set(res["refusal"]) == {"accuracy", "false_refusal_rate"}
    assert set(res["latency_ms"]) == {"retrieve_p50", "retrieve_p95", "ask_p50", "ask_p95"}
    assert all({"hit@5", "keyword_accuracy"} <= set(g) for g in res["by_type"].values())
    assert res["answer"]["citation_validity"] == 1.0
    follow = [r for r in records if r["history"]]
    assert follow and all(r["query"] != r["question"] for r in follow)
    write_items(tmp_path / "items.jsonl", records)
    lines = (tmp_path / "items.jsonl").read_text(encoding="utf-8").splitlines()
    flags = [json.loads(l)["failed"] for l in lines]
    assert flags == sorted(flags, reverse=True)          # failing cases first
    plots = write_plots(tmp_path, res, None) + [write_latency_plot(tmp_path, records)]
    write_report(tmp_path, "# test", res, records, None, plots)
    assert all((tmp_path / p).stat().st_size > 0 for p in plots)
    assert "## Summary" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_off_subject_and_outside_documents():
    from eval.metrics import aggregate, off_subject

    base = {"hit_rank": None, "evidence_recall@10": 0.0, "missing_keywords": [], "keyword_ok": True,
            "citations_valid": 1, "citations_total": 1, "citation_hit": True}
    rows = [
        {**base, "id": "a", "type": "factual_number", "doc": "cq", "answerable": True, "refused": False,
         "citations": [{"doc_id": "cq"}]},
        {**base, "id": "b", "type": "factual_number", "doc": "cq", "answerable": True, "refused": False,
         "citations": [{"doc_id": "jilin-2026"}]},                                    # another province's report
        {**base, "id": "c", "type": "unanswerable", "doc": "", "topic_doc": "qj", "answerable": False,
         "refused": False, "citations": [{"doc_id": "cq"}]},                          # answered, from another of ours
        {**base, "id": "d", "type": "unanswerable", "doc": "", "answerable": False, "refused": True, "citations": []},
    ]
    assert [off_subject(r) for r in rows] == [False, True, True, None]
    m = aggregate(rows)
    assert m["off_subject_rate"] == round(2 / 3, 4) and m["off_subject_n"] == 3
    assert m["outside_doc_rate"] == round(1 / 3, 4)


def test_lead_keyword_needs_every_keyword_in_the_first_line():
    reply = "城镇化率：2030年目标 70（2025年 68.04）[1]\n\n根据《纲要》专栏1：……70……[1]"
    assert m.lead_line(reply).startswith("城镇化率")
    assert m.keyword_ok(m.lead_line(reply), ["70", "68.04"])
    assert not m.keyword_ok(m.lead_line("答案见下\n70"), ["70"])
    scored = [{"lead_keyword_ok": True, "refused": False}, {"lead_keyword_ok": True, "refused": True},
              {"lead_keyword_ok": False, "refused": False}]
    assert m.lead_keyword_accuracy(scored) == 1 / 3        # a refusal's first line answers nothing


def test_lead_faithfulness_counts_numbers_of_the_first_line_found_in_quotes():
    cites = [{"quote": "4\n\t常住人口城镇化率（%）\n\t68.04\n\t70", "location": "第一篇 专栏1 「常住人口城镇化率（%）」"},
             {"quote": "序号\n\t2025年\n\t2030年目标", "location": "第一篇 专栏1 表头"}]
    # table cells: 70 is its own cell, not the tail of 68.04 70 run together
    assert m.lead_faithful("常住人口城镇化率：2030年目标 70（2025年 68.04）[1][2]", cites) == (4, 4)
    assert m.lead_faithful("常住人口城镇化率达到75[1]", cites) == (0, 1)
    assert m.lead_faithful("达到7[1]", cites) == (0, 1)             # 7 is not inside 70 or 68.04
    # titles, markers, the cited locations and an unanswered ask restated are not claims
    assert m.lead_numbers("《2024年计划》第一篇 专栏1 表头：无[3]；“2027年目标是多少”：文档中未提及", cites) == []
    scored = [{"refused": False, "lead_numbers": (4, 4)}, {"refused": False, "lead_numbers": (0, 1)},
              {"refused": True, "lead_numbers": (0, 9)}]
    assert m.lead_faithfulness(scored) == 0.8


def test_lead_faithful_counts_a_right_shown_difference_of_quoted_figures():
    from eval.metrics import lead_faithful
    cites = [{"quote": "常住人口城镇化率（%） 68.04 70"}]
    assert lead_faithful("差值：70 − 68.04 = 1.96个百分点[1]\n\n根据…", cites) == (3, 3)
    assert lead_faithful("差值：70 − 68.04 = 2.96个百分点[1]\n\n根据…", cites) == (2, 3)
    assert lead_faithful("差值：71 − 68.04 = 2.96个百分点[1]\n\n根据…", cites) == (1, 3)
