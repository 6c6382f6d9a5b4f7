"""rag/llamaindex.py: the pipeline as a llama-index retriever and query engine, and llama-index's RetrieverEvaluator
agreeing with the project's eval (eval/llamaindex.py). Fake embedder, the real corpus and golden set."""
from pathlib import Path

import pytest
from llama_index.core.evaluation import RetrieverEvaluator
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters

from eval import llamaindex as LI
from eval.golden import load_golden, split_of
from rag.llamaindex import PlanQueryEngine, PlanRetriever

ROOT = Path(__file__).resolve().parent.parent
Q = "綦江到2030年地区生产总值增长目标是多少？"
QIJIANG = "qijiang-15th-five-year-plan"


@pytest.fixture(scope="module")
def golden():
    return load_golden(ROOT / "eval" / "golden.jsonl")


@pytest.fixture(scope="module")
def texts(fake_pipeline):
    return {d.doc_id: d.text for d in fake_pipeline.corpus.documents}


def first(golden, pred):
    return next(it for it in golden if pred(it))


# ------------------------------------------------------------------ retriever
def test_retriever_nodes_are_the_pipeline_hits_with_citation_metadata(fake_pipeline, texts):
    hits = fake_pipeline.retrieve(Q, 3)
    nodes = PlanRetriever(fake_pipeline, similarity_top_k=3).retrieve(Q)
    assert [n.node.node_id for n in nodes] == [h.chunk_id for h in hits]
    for n, h in zip(nodes, hits):
        assert isinstance(n, NodeWithScore) and isinstance(n.node, TextNode)
        m = n.node.metadata
        assert (m["doc_id"], m["title"], m["location"], m["start"], m["end"]) == (h.doc_id, h.title, h.location, h.start, h.end)
        assert n.node.text == m["quote"] == texts[h.doc_id][h.start:h.end]        # verbatim, as a citation quote
        assert (n.node.start_char_idx, n.node.end_char_idx, n.node.ref_doc_id) == (h.start, h.end, h.doc_id)
        assert n.score == h.score
        assert m["path"].startswith("第") and len(m["path"]) >= len(h.location)   # titled location
    prompt = nodes[0].node.get_content(metadata_mode="llm")
    assert prompt.count(nodes[0].node.text) == 1 and "title: " in prompt and "start: " not in prompt


def test_retriever_honours_similarity_top_k(fake_pipeline):
    ids = lambda k: [n.node.node_id for n in PlanRetriever(fake_pipeline, similarity_top_k=k).retrieve(Q)]  # noqa: E731
    one, seven = ids(1), ids(7)
    assert len(one) == 1 and len(seven) == 7 and seven[:1] == one
    assert len(PlanRetriever(fake_pipeline).retrieve(Q)) == fake_pipeline.settings.top_k
    with pytest.raises(ValueError, match="similarity_top_k"):
        PlanRetriever(fake_pipeline, similarity_top_k=0)


def test_comparison_is_cut_at_top_k(fake_pipeline):
    """A question comparing two named documents gets each side's best clauses appended beyond k by the pipeline."""
    q = "綦江区的地区生产总值目标和全市目标分别是多少？"
    assert len(fake_pipeline.retrieve(q, 4)) > 4
    nodes = PlanRetriever(fake_pipeline, similarity_top_k=4).retrieve(q)
    assert [n.node.node_id for n in nodes] == [h.chunk_id for h in fake_pipeline.retrieve(q, 4)[:4]]


def test_retriever_document_filter(fake_pipeline):
    q = "2030年常住人口城镇化率目标是多少？"
    by_id = PlanRetriever(fake_pipeline, similarity_top_k=5, doc_filter=QIJIANG).retrieve(q)
    eq = MetadataFilters(filters=[MetadataFilter(key="doc_id", value=QIJIANG)])
    by_filter = PlanRetriever(fake_pipeline, similarity_top_k=5, filters=eq).retrieve(q)
    assert by_id and {n.node.metadata["doc_id"] for n in by_id} == {QIJIANG}
    assert [n.node.node_id for n in by_filter] == [n.node.node_id for n in by_id]
    assert {n.node.metadata["doc_id"] for n in PlanRetriever(fake_pipeline, similarity_top_k=5).retrieve(q)} != {QIJIANG}
    two = ["chongqing-15th-five-year-plan", QIJIANG]
    either = MetadataFilters(filters=[MetadataFilter(key="doc_id", value=two, operator=FilterOperator.IN)])
    assert {n.node.metadata["doc_id"] for n in PlanRetriever(fake_pipeline, 10, filters=either).retrieve(q)} <= set(two)


def test_retriever_refuses_filters_it_cannot_apply(fake_pipeline):
    with pytest.raises(ValueError, match="doc_id"):
        PlanRetriever(fake_pipeline, filters=MetadataFilters(filters=[MetadataFilter(key="title", value="x")]))
    other = MetadataFilters(filters=[MetadataFilter(key="doc_id", value="chongqing-15th-five-year-plan")])
    with pytest.raises(ValueError, match="excludes every document"):      # the pipeline would read [] as no filter
        PlanRetriever(fake_pipeline, doc_filter=QIJIANG, filters=other)


def test_retriever_rewrites_a_follow_up_with_its_history(fake_pipeline, golden):
    item = first(golden, lambda it: it.get("history") and it["type"] != "unanswerable")
    with_history = PlanRetriever(fake_pipeline, similarity_top_k=5, history=item["history"]).retrieve(item["question"])
    expected = fake_pipeline.retrieve(item["question"], 5, history=item["history"])
    assert [n.node.node_id for n in with_history] == [h.chunk_id for h in expected]
    alone = PlanRetriever(fake_pipeline, similarity_top_k=5).retrieve(item["question"])
    assert [n.node.node_id for n in alone] != [n.node.node_id for n in with_history]


# ------------------------------------------------------------------ query engine
def test_query_engine_response_is_the_answer_with_its_citations(fake_pipeline, texts):
    answer = fake_pipeline.ask(Q)
    resp = PlanQueryEngine(pipeline=fake_pipeline).query(Q)
    assert not answer.refused and answer.citations
    assert resp.response == answer.answer
    assert [n.node.metadata["n"] for n in resp.source_nodes] == [c.n for c in answer.citations]
    for n, c in zip(resp.source_nodes, answer.citations):
        m = n.node.metadata
        assert (m["doc_id"], m["title"], m["location"], m["path"], m["quote"], m["start"], m["end"]) == \
            (c.doc_id, c.title, c.location, c.path, c.quote, c.start, c.end)
        assert n.node.text == texts[c.doc_id][c.start:c.end] == c.quote
    assert resp.metadata["lead"] == answer.lead and resp.metadata["lead"]
    assert resp.metadata["refused"] is False and resp.metadata["backend"] == "extractive"


def test_query_engine_refusal_and_async(fake_pipeline, golden):
    import asyncio

    item = first(golden, lambda it: it["type"] == "unanswerable" and fake_pipeline.ask(it["question"]).refused)
    answer = fake_pipeline.ask(item["question"])
    resp = asyncio.run(PlanQueryEngine(pipeline=fake_pipeline).aquery(item["question"]))
    assert resp.metadata["refused"] is True and resp.metadata["lead"] == answer.lead
    assert resp.response == answer.answer and "未" in resp.response
    assert [n.node.metadata["quote"] for n in resp.source_nodes] == [c.quote for c in answer.citations]


def test_query_engine_document_filter_and_history(fake_pipeline, golden):
    resp = PlanQueryEngine(pipeline=fake_pipeline, doc_filter=QIJIANG).query("2030年常住人口城镇化率目标是多少？")
    assert resp.source_nodes and {n.node.metadata["doc_id"] for n in resp.source_nodes} == {QIJIANG}
    item = first(golden, lambda it: it.get("history") and it["type"] != "unanswerable")
    resp = PlanQueryEngine(pipeline=fake_pipeline, history=item["history"]).query(item["question"])
    assert resp.response == fake_pipeline.ask(item["question"], item["history"]).answer
    assert resp.metadata["rewritten_query"]
    with pytest.raises(ValueError, match="doc_id"):
        PlanQueryEngine(pipeline=fake_pipeline, filters=MetadataFilters(filters=[MetadataFilter(key="kind", value="x")]))


# ------------------------------------------------------------------ RetrieverEvaluator vs python -m eval
@pytest.mark.parametrize("split", ["test", "dev"])
def test_retriever_evaluator_matches_the_project_eval(fake_pipeline, golden, split):
    c = LI.compare(fake_pipeline, golden, split)
    assert c.project.n == sum(split_of(it["id"]) == split and it["type"] != "unanswerable" for it in golden)
    assert c.llama_index.rows() == c.project.rows()          # exactly: the same floats, not approximately
    assert 0 < c.project.hit_at[1] < c.project.hit_at[5] <= c.project.hit_at[10] <= 1     # not vacuous: misses at k=1


def test_evaluator_sees_the_same_retrieval_as_the_project_eval(fake_pipeline, golden):
    chunks = LI.chunk_texts(fake_pipeline)
    items = [it for it in LI.answerable(golden) if split_of(it["id"]) == "test"][:40]
    for it in items:
        hits = fake_pipeline.retrieve(it["question"], 10, history=it.get("history") or [])[:10]
        retriever = PlanRetriever(fake_pipeline, similarity_top_k=10, history=it.get("history") or [])
        result = RetrieverEvaluator.from_metric_names(["hit_rate", "mrr"], retriever=retriever).evaluate(
            query=it["question"], expected_ids=LI.expected_ids(it, chunks))
        assert result.retrieved_ids == [h.chunk_id for h in hits]
        assert result.retrieved_texts == [h.text for h in hits]


def test_evidence_no_chunk_holds_is_a_miss_for_both(fake_pipeline, golden):
    item = dict(first(golden, lambda it: it["doc"] == QIJIANG and it["type"] == "factual_number"))
    doc = [c for c in fake_pipeline.index.chunks if c.doc_id == QIJIANG]
    text = fake_pipeline.corpus.get(QIJIANG).text
    item["evidence"] = [text[doc[10].start:doc[16].end]]            # seven clauses: longer than any one chunk
    assert LI.expected_ids(item, LI.chunk_texts(fake_pipeline)) == [LI.NO_CHUNK]
    c = LI.compare(fake_pipeline, [item])
    assert c.no_chunk == 1 and c.project.rows() == c.llama_index.rows() == {"hit@1": 0.0, "hit@5": 0.0, "hit@10": 0.0,
                                                                           "mrr@10": 0.0}


def test_no_hits_is_a_miss_for_both(fake_pipeline, golden):
    """llama-index raises on an empty retrieval; the project's eval scores it a miss, and so does the comparison."""
    item = dict(first(golden, lambda it: it["type"] == "factual_number"), question="😀😀😀", history=[])
    assert fake_pipeline.retrieve(item["question"], 10) == []
    c = LI.compare(fake_pipeline, [item])
    assert c.no_hits == 1 and c.agree and c.llama_index.rows()["hit@10"] == 0.0


def test_no_module_shadows_the_llama_index_package():
    assert not list(ROOT.glob("*/llama_index.py")) and not list(ROOT.glob("*/llama_index/"))
