"""rag/bm25.py: the persisted term counts and the BM25 computed from them give bm25s's scores bit for bit."""
import random

import bm25s
import numpy as np
import pytest

from rag.bm25 import BM25, TermCounts


def random_corpus(seed: int, n: int = 1500):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(400)]
    docs = [[rng.choice(words[:rng.randint(3, 400)]) for _ in range(rng.randint(1, 80))] for _ in range(n)]
    queries = [[rng.choice(words) for _ in range(rng.randint(1, 9))] for _ in range(150)]
    return docs, queries


def reference(docs):
    ref = bm25s.BM25()
    ref.index(docs, show_progress=False)
    return ref


@pytest.mark.parametrize("seed", [0, 1])
def test_scores_equal_bm25s_bit_for_bit(seed):
    docs, queries = random_corpus(seed)
    ref, mine = reference(docs), BM25(TermCounts.from_tokens(docs))
    for q in queries:
        q = [t for t in q if t in ref.vocab_dict]          # as Index.bm25_scores filters (duplicates kept)
        if q:
            a, b = ref.get_scores(q), mine.get_scores(q)
            assert a.dtype == b.dtype == np.float32 and np.array_equal(a, b)


def test_scores_within_ranges_are_the_full_scores_there():
    docs, queries = random_corpus(2)
    mine = BM25(TermCounts.from_tokens(docs))
    ranges = np.array([[0, 7], [100, 101], [640, 900], [1490, 1500]])
    inside = np.zeros(len(docs), bool)
    for a, b in ranges:
        inside[a:b] = True
    for q in queries:
        assert np.array_equal(mine.get_scores(q, ranges), np.where(inside, mine.get_scores(q), 0))


def test_rows_taken_merged_and_compacted_give_the_same_ranker():
    docs, queries = random_corpus(3)
    full = BM25(TermCounts.from_tokens(docs))
    perm = np.random.default_rng(0).permutation(len(docs))
    # half the rows from one TermCounts, half tokenised afresh, then put back in corpus order (an incremental build)
    merged = TermCounts.concat([TermCounts.from_tokens(docs).take(perm[:700]),
                                TermCounts.from_tokens([docs[i] for i in perm[700:]])])
    again = BM25(merged.take(np.argsort(perm)).compact())
    for q in queries:
        assert np.array_equal(full.get_scores(q), again.get_scores(q))
    assert full.df == again.df
    # a removed row's terms leave the vocabulary (as in a rebuild without it)
    only = TermCounts.from_tokens([["a", "b"], ["c"], ["a"]]).take(np.array([0, 2])).compact()
    assert only.vocab == ["a", "b"] and BM25(only).df == {"a": 2, "b": 1}


def test_persisted_arrays_round_trip_and_are_checked():
    docs, _ = random_corpus(4, 50)
    tc = TermCounts.from_tokens(docs)
    back = TermCounts.from_arrays(tc.vocab, tc.arrays("w"), "w")
    assert back.vocab == tc.vocab and np.array_equal(back.ids, tc.ids) and np.array_equal(back.counts, tc.counts)
    bad = tc.arrays("w")
    bad["w_ids"] = bad["w_ids"].copy()
    bad["w_ids"][0] = len(tc.vocab) + 5
    with pytest.raises(ValueError, match="vocabulary"):
        TermCounts.from_arrays(tc.vocab, bad, "w")


def test_the_five_documents_chunks_score_as_bm25s(fake_pipeline):
    """The real tokens of the five documents (jieba words and character bigrams), golden-style questions."""
    idx = fake_pipeline.index
    lx = idx.lexicon
    words = [lx.tokens(c.indexed_text()) or ["∅"] for c in idx.chunks]
    ref = reference(words)
    for q in ("重庆2030年地区生产总值目标", "綦江区的产业发展方向是什么", "托位数量要达到多少", "成渝地区双城经济圈"):
        toks = [t for t in lx.query_tokens(q) if t in ref.vocab_dict]
        assert np.array_equal(ref.get_scores(toks), idx.bm25_scores(toks))
    pairs = [lx.bigrams(c.indexed_text()) or ["∅"] for c in idx.chunks]
    ref = reference(pairs)
    q = [t for t in lx.bigrams("城镇新增就业人数") if t in ref.vocab_dict]
    assert np.array_equal(ref.get_scores(q), idx.bigram_scores("城镇新增就业人数"))
