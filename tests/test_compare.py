"""python -m eval --compare RUN_A RUN_B (eval/compare.py) on two small fabricated run folders."""
import json

import pytest

from eval import metrics as M
from eval.compare import CompareError, compare, load_run, render


def record(id, question, split="dev", answerable=True, **over):
    """An item record as eval/run.py writes it to items.jsonl: passing unless told otherwise."""
    r = {"id": id, "type": "factual_number" if answerable else "unanswerable", "doc": "d1", "split": split,
         "question": question, "answerable": answerable, "hit_rank": 1 if answerable else None,
         "evidence_recall@10": 1.0 if answerable else None, "refused": not answerable, "missing_keywords": [],
         "keyword_ok": True, "lead_keyword_ok": answerable, "lead_numbers": [1, 1] if answerable else [0, 0],
         "citations_valid": 1, "citations_total": 1, "citation_hit": True if answerable else None,
         "citations": [{"doc_id": "d1"}], "retrieve_ms": 10.0, "ask_ms": 20.0}
    r.update(over)
    r["failed"] = M.failed(r)
    return r


RUN_A = [
    record("G1", "到2030年研发投入强度的目标是多少？", keyword_ok=False, missing_keywords=["3.25"], lead_keyword_ok=False),
    record("G2", "2025年城镇化率达到了多少？", split="test"),
    record("G3", "2024年主城区平均房价是多少？", split="test", answerable=False),
    record("G4", "綦江2030年地区生产总值目标是多少？", hit_rank=3),
    record("G5", "只在A里的问题？"),
]
RUN_B = [
    record("G1", "到2030年研发投入强度的目标是多少？"),                                   # fixed
    record("G2", "2025年城镇化率达到了多少？", split="test", refused=True, keyword_ok=False,
           missing_keywords=["73.02"], lead_keyword_ok=False, citation_hit=False),        # broken: a false refusal
    record("G3", "2024年主城区平均房价是多少？", split="test", answerable=False, refused=False),   # broken: answered
    record("G4", "綦江2030年地区生产总值目标是多少？", hit_rank=1),                       # better rank, passing both times
    record("G6", "只在B里的问题？"),
]


def write_run(folder, records, with_metrics=True):
    folder.mkdir()
    with open(folder / "items.jsonl", "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    if with_metrics:               # as python -m eval --out writes it: the metrics with their dev/test halves
        m = M.aggregate(records)
        m["splits"] = {sp: M.aggregate([r for r in records if r["split"] == sp]) for sp in ("dev", "test")}
        (folder / "metrics.json").write_text(json.dumps(m, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture
def runs(tmp_path):
    # B has no metrics.json: its metrics are aggregated from its items.jsonl
    return write_run(tmp_path / "a", RUN_A), write_run(tmp_path / "b", RUN_B, with_metrics=False)


def test_fixed_broken_changed_and_only_in_one_run(runs):
    cmp = compare(load_run(runs[0]), load_run(runs[1]))
    assert [c.id for c in cmp.fixed] == ["G1"]
    assert [c.id for c in cmp.broken] == ["G2", "G3"]
    assert [c.id for c in cmp.changed] == ["G4"]
    assert (cmp.only_a, cmp.only_b) == (["G5"], ["G6"])
    g1, (g2, g3), g4 = cmp.fixed[0], cmp.broken, cmp.changed[0]
    assert g1.changes == ("keyword ✗→✓ (missing 「3.25」 → –)", "lead_keyword ✗→✓")
    assert "answered ✓→✗" in g2.changes and "keyword ✓→✗ (– → missing 「73.02」)" in g2.changes
    assert g3.changes == ("refused ✓→✗",)
    assert g4.changes == ("hit@1 ✗→✓ (rank 3 → rank 1)",)
    assert (g2.split, g2.question) == ("test", "2025年城镇化率达到了多少？")


def test_rendered_listing_and_metric_deltas_per_split(runs):
    out = render(compare(load_run(runs[0]), load_run(runs[1])))
    assert "4 items in both: 1 fixed, 2 broken, 1 with other changes" in out
    assert "Fixed (failing in A, passing in B) (1):\n  G1 [dev] factual_number  到2030年研发投入强度的目标是多少？" in out
    assert "Only in A (1): G5" in out and "Only in B (1): G6" in out
    rows = {line.split(" | ")[0].strip("| "): line for line in out.splitlines() if line.startswith("| ")}
    assert rows["metric"] == "| metric | all (n=5 → 5) | dev (n=3 → 3) | test (n=2 → 2) |"
    # refusal: the one unanswerable item (test half) was refused in A, answered in B (dev has none: the metrics
    # give 0 for an empty mean, as eval.metrics.mean does everywhere)
    assert rows["refusal accuracy"] == "| refusal accuracy | 1.000 → 0.000 (-1.000) | 0.000 (=) | 1.000 → 0.000 (-1.000) |"
    # keyword accuracy over answerable items: A 3 of 4 (G1 missed), B 3 of 4 (G2 refused); dev 2/3 -> 3/3
    assert rows["keyword_accuracy"] == ("| keyword_accuracy | 0.750 (=) | 0.667 → 1.000 (+0.333) "
                                        "| 1.000 → 0.000 (-1.000) |")
    assert rows["ask p50 (ms)"].startswith("| ask p50 (ms) | 20.0 (=)")


def test_same_run_twice_changes_nothing(runs):
    cmp = compare(load_run(runs[0]), load_run(runs[0] / "items.jsonl"))
    assert (cmp.fixed, cmp.broken, cmp.changed, cmp.only_a, cmp.only_b) == ([], [], [], [], [])


def test_runs_without_item_records_are_refused(tmp_path, runs):
    (tmp_path / "report_only").mkdir()
    (tmp_path / "report_only" / "metrics.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CompareError, match=r"report_only: no item records \(items\.jsonl\)"):
        load_run(tmp_path / "report_only")
    with pytest.raises(CompareError, match="not found"):
        load_run(tmp_path / "nowhere")
    golden_like = tmp_path / "golden.jsonl"
    golden_like.write_text(json.dumps({"id": "G1", "question": "q"}) + "\n", encoding="utf-8")
    with pytest.raises(CompareError, match=r"golden\.jsonl:1: not an item record .*missing failed, answerable"):
        load_run(golden_like)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(CompareError, match="no item records"):
        load_run(empty)


def test_eval_command(runs, capsys, tmp_path):
    from eval.__main__ import main

    assert main(["--compare", str(runs[0]), str(runs[1])]) == 0
    assert "Broken (passing in A, failing in B) (2):" in capsys.readouterr().out
    (tmp_path / "no_items").mkdir()
    with pytest.raises(SystemExit) as e:
        main(["--compare", str(runs[0]), str(tmp_path / "no_items")])
    assert "no item records" in str(e.value.code)
