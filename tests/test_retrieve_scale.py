"""Issue 14 part 3: the per-question work that grew with the library (glossary scan, scope, masks) is indexed or
cached; what it returns is what the full scans returned (five documents, fake embedder)."""
import numpy as np

from rag.lexicon import Glossary, match_glossary
from rag.scope import docs_in_scope

QUESTIONS = ["“33618”现代制造业集群体系是什么？", "416科技创新布局指什么", "“四大主导产业”有哪些",
             "双“20”交通圈是什么意思？", "2024年计划提出要新增多少城镇就业？", "綦江区的产业发展方向是什么",
             "两群是什么", "4160个项目", "重庆市和綦江区的目标分别是多少"]


def test_the_indexed_glossary_finds_what_the_full_scan_finds(fake_pipeline):
    entries = fake_pipeline.index.glossary
    assert isinstance(entries, Glossary) and len(entries) > 20
    plain = list(entries)
    probes = QUESTIONS + [e.term for e in plain] + [k for e in plain for k in e.keys] + \
        [f"请问{e.term[:4]}和{e.term[-3:]}" for e in plain]
    found = 0
    for q in probes:
        hits = match_glossary(q, entries)
        assert hits == match_glossary(q, plain), q           # same entries, same order
        found += bool(hits)
    assert found > len(plain)


def test_scope_masks_come_from_each_documents_rows(fake_pipeline):
    r = fake_pipeline.retriever
    chunks = r.index.chunks
    docs = r.index.doc_ids
    for allowed in ([docs[0]], docs[1:3], docs[::2], docs):
        mask = r._mask(allowed)
        want = np.array([c.doc_id in set(allowed) for c in chunks])
        assert np.array_equal(mask, want)
        assert np.array_equal(r._allowed_ids(allowed), np.flatnonzero(want))
    assert r._mask(None) is None


def test_the_scope_cache_returns_what_docs_in_scope_returns(fake_pipeline):
    a = fake_pipeline.answerer
    r = fake_pipeline.retriever
    cases = [((), ()), (("綦江区",), ()), (("重庆市", "綦江区"), ()), (("四川省",), ()), ((), (r.index.doc_ids[0],))]
    for places, named in cases * 2:                        # the second round is served from the cache
        got = a.in_scope(places, named)
        assert got == docs_in_scope(places, named, r.scopes, r.gazetteer, a.home)
        got.append("mutated by a caller")                  # a copy each time: the cached list stays as it was
    assert all("mutated by a caller" not in v for v in a._in_scope.values())


def test_compact_ranks_are_the_positive_scores_best_first_ties_by_position():
    from rag.retrieve import _positive_ranks

    rng = np.random.default_rng(0)
    for _ in range(200):
        scores = np.where(rng.random(3000) < 0.3, rng.integers(0, 6, 3000), 0).astype(np.float32)   # many ties
        n = int(rng.integers(1, 80))
        want = sorted(np.flatnonzero(scores > 0).tolist(), key=lambda i: (-scores[i], i))[:n]
        assert _positive_ranks(scores, n) == want
    assert _positive_ranks(np.zeros(10, np.float32), 5) == []
