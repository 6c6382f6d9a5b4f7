import re

from rag.chunk import Chunker, count_tokens, split_sentences
from rag.parse import parse


def test_chunks_respect_budget_and_boundaries(corpus):
    ch = Chunker(max_tokens=120, overlap=1)
    for d in corpus.documents:
        clauses = parse(d)
        chunks = ch.chunk(d, clauses)
        assert len(chunks) >= len(clauses)
        spans = [(c.start, c.end) for c in clauses]
        for c in chunks:
            if c.kind != "table_row":
                assert count_tokens(c.text) <= 120
                assert re.sub(r"\s", "", c.text) in re.sub(r"\s", "", d.text[c.start:c.end]) or "版" in d.text[c.start:c.end]
            # never crosses a clause boundary
            assert any(a <= c.start and c.end <= b for a, b in spans)


def test_long_clause_split_at_sentence_ends_with_overlap(corpus):
    d = corpus.get("chongqing-15th-five-year-plan")
    ch = Chunker(max_tokens=100, overlap=1)
    long = [c for c in parse(d) if count_tokens(c.text) > 300 and len(split_sentences(c.text)) >= 8][0]
    pieces = ch.chunk(d, [long])
    assert len(pieces) >= 3
    for a, b in zip(pieces, pieces[1:]):
        assert a.text.endswith(("。", "；", ";")) or count_tokens(a.text) >= 90
        if len(split_sentences(a.text)) >= 2:
            assert b.start < a.end          # one sentence of overlap
    assert any(b.start < a.end for a, b in zip(pieces, pieces[1:]))


def test_heading_prefix_only_in_indexed_text(corpus):
    d = corpus.get("qijiang-15th-five-year-plan")
    c = Chunker().chunk(d, parse(d))[50]
    assert c.indexed_text().startswith(d.title)
    assert c.text in c.indexed_text() and d.title not in c.text


def test_split_sentences():
    assert split_sentences("一。二；三") == ["一。", "二；", "三"]
