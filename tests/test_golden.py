"""Every line of eval/golden.jsonl: schema, evidence verbatim in its document(s), keywords in the evidence,
and the coverage required of the golden set (counts per document, type and follow-up)."""
import json
from collections import Counter
from pathlib import Path

import pytest

from eval.golden import GoldenError, check_item, load_golden, schema_errors
from eval.metrics import TYPES, docs_of

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "eval" / "golden.jsonl"
MIN_TYPE = {"factual_number": 150, "factual_entity": 50, "list": 50, "definition": 35, "why_how": 40,
            "cross_document": 35, "unanswerable": 150}
STYLES = {"formal", "colloquial", "dialect", "typo", "traditional", "fullwidth", "followup", "long", "abbrev"}


@pytest.fixture(scope="module")
def items():
    return load_golden(GOLDEN)


@pytest.fixture(scope="module")
def texts(corpus):
    return {d.doc_id: d.text for d in corpus.documents}


def test_every_line_parses_with_valid_schema():
    lines = [l for l in GOLDEN.read_text(encoding="utf-8").splitlines() if l.strip()]
    for n, line in enumerate(lines, 1):
        assert schema_errors(json.loads(line)) == [], f"{GOLDEN.name}:{n}"


def test_ids_unique_and_types_allowed(items):
    ids = Counter(it["id"] for it in items)
    assert [i for i, c in ids.items() if c > 1] == []
    assert {it["type"] for it in items} <= set(TYPES)


def test_evidence_and_keywords_match_documents(items, texts):
    problems = {f"{it['id']} (line {it['_line']})": errs for it in items if (errs := check_item(it, texts))}
    assert problems == {}


def test_unanswerable_items_have_empty_evidence(items):
    for it in items:
        assert (it["type"] == "unanswerable") == (not it["evidence"]), it["id"]


def test_required_counts(items, corpus):
    assert len(items) >= 600
    assert sum(it["type"] == "unanswerable" for it in items) >= 150
    # written the way citizens ask: colloquial, dialect, typos, traditional characters, full width, follow-ups …
    assert sum(it.get("style") not in (None, "formal") for it in items) >= 200
    types = Counter(it["type"] for it in items)
    for t, need in MIN_TYPE.items():
        assert types[t] >= need, f"{t}: {types[t]} < {need}"
    per_doc = Counter(d for it in items for d in docs_of(it))
    assert len(per_doc) >= 5, f"the golden set covers only {sorted(per_doc)}"
    for doc, n in per_doc.items():                 # documents added to the corpus later need no items yet
        assert n >= 25, f"{doc}: {n} < 25"
    assert sum(1 for it in items if it.get("history")) >= 15


def test_load_golden_names_file_and_line(tmp_path):
    p = tmp_path / "g.jsonl"
    good = json.dumps({"id": "A", "question": "q", "answer": "a", "answer_keywords": ["a"], "evidence": ["e"],
                       "doc": "d", "location": "", "type": "list"}, ensure_ascii=False)
    p.write_text(good + "\n{not json\n", encoding="utf-8")
    with pytest.raises(GoldenError, match=r"g\.jsonl:2: invalid JSON"):
        load_golden(p)
    p.write_text(good + "\n" + good.replace('"list"', '"opinion"') + "\n", encoding="utf-8")
    with pytest.raises(GoldenError, match=r"g\.jsonl:2: .*type 'opinion'"):
        load_golden(p)
    p.write_text(good + "\n" + good + "\n", encoding="utf-8")
    with pytest.raises(GoldenError, match=r"g\.jsonl:2: duplicate id A"):
        load_golden(p)
    with pytest.raises(GoldenError, match="not found"):
        load_golden(tmp_path / "missing.jsonl")


def test_styles_and_splits(items):
    from eval.golden import split_of

    assert {it["style"] for it in items} <= STYLES
    assert all(it["style"] != "followup" or it.get("history") for it in items)
    halves = Counter(split_of(it["id"]) for it in items)
    assert set(halves) == {"dev", "test"} and min(halves.values()) >= 0.4 * len(items)
    for half in ("dev", "test"):        # each half has enough unanswerable and citizen-style items to report on
        part = [it for it in items if split_of(it["id"]) == half]
        assert sum(it["type"] == "unanswerable" for it in part) >= 60
        assert sum(it["style"] != "formal" for it in part) >= 100


def test_split_is_fixed_by_id():
    from eval.golden import split_of

    assert [split_of(i) for i in ("C001", "C002", "U001", "Q101")] == [split_of(i) for i in ("C001", "C002", "U001", "Q101")]
    assert {split_of(f"X{i}") for i in range(20)} == {"dev", "test"}


@pytest.mark.parametrize("path", sorted((ROOT / "eval").glob("holdout*.jsonl")), ids=lambda p: p.name)
def test_holdout_evidence_is_verbatim_in_its_documents(path, texts):
    # hold-out sets were written by helpers; their keywords may come from beside the quoted evidence (CKD/SKD in
    # holdout8), but every evidence string must be in the document it names, or the set grades nothing real
    items = load_golden(path)
    problems = {it["id"]: errs for it in items
                if (errs := [e for e in check_item(it, texts) if not e.startswith("keyword")])}
    assert problems == {}
