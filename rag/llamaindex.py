"""llama-index adapters: the project's retrieval and cited answers as a llama-index retriever and query engine.

``PlanRetriever`` is a ``BaseRetriever``: ``retrieve(question)`` gives ``NodeWithScore`` whose ``TextNode`` is one hit
of ``Pipeline.retrieve`` (the fused BM25 + dense ranking, follow-up rewrite and subject scope that ``ask`` uses).
``PlanQueryEngine`` is a ``CustomQueryEngine``: ``query(question)`` runs ``Pipeline.ask`` and gives a ``Response``
whose ``source_nodes`` are the answer's citations, in order. Node metadata uses the names of the REST citation JSON
(``doc_id``, ``title``, ``location``, ``path``, ``quote``, ``start``, ``end``; ../shared/interfaces.md), and the node
text is the verbatim quote, so ``file_text[start:end] == node.text``.

The module is ``llamaindex.py``, not ``llama_index.py``: whenever ``rag/`` itself lands on ``sys.path`` (``python
rag/llama_index.py``, a runner that inserts a file's folder) a ``rag/llama_index.py`` would be imported in place of the
llama-index package, and its own ``import llama_index.core`` would then fail.
"""
from __future__ import annotations

from typing import Any, Sequence

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.bridge.pydantic import Field, PrivateAttr
from llama_index.core.callbacks.base import CallbackManager
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilters

from .schema import Answer, Citation, Hit

# what a llama-index synthesizer or embedder is shown besides the text: the title and where the text is. The quote is
# the text itself; offsets, ids and the citation number would only be noise in a prompt.
HIDDEN_FROM_MODELS = ["quote", "start", "end", "chunk_id", "kind", "n", "doc_id"]


# ------------------------------------------------------------------ nodes
def _node(node_id: str, doc_id: str, text: str, start: int, end: int, metadata: dict[str, Any]) -> TextNode:
    return TextNode(id_=node_id, text=text, start_char_idx=start, end_char_idx=end,
                    metadata={"doc_id": doc_id, **metadata, "quote": text, "start": start, "end": end},
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc_id)},     # node.ref_doc_id
                    excluded_embed_metadata_keys=list(HIDDEN_FROM_MODELS),
                    excluded_llm_metadata_keys=list(HIDDEN_FROM_MODELS))


def hit_node(hit: Hit, path: str = "") -> NodeWithScore:
    """One retrieved chunk; its node id is the chunk id (what RetrieverEvaluator compares), its score the fused score."""
    node = _node(hit.chunk_id, hit.doc_id, hit.text, hit.start, hit.end,
                 {"title": hit.title, "location": hit.location, "path": path or hit.location,
                  "chunk_id": hit.chunk_id, "kind": hit.kind})
    return NodeWithScore(node=node, score=hit.score)


def citation_node(c: Citation) -> NodeWithScore:
    """One citation ``[n]`` of an answer; no score (citations are chosen by verification, not ranked by a score)."""
    node = _node(f"{c.doc_id}:{c.start}-{c.end}", c.doc_id, c.quote, c.start, c.end,
                 {"n": c.n, "title": c.title, "location": c.location, "path": c.path or c.location})
    return NodeWithScore(node=node, score=None)


def answer_response(answer: Answer) -> Response:
    """``Response.response`` is the answer text, ``source_nodes`` its citations in order; the rest in ``metadata``."""
    meta = {"lead": answer.lead, "refused": answer.refused, "backend": answer.backend, "question": answer.question,
            "rewritten_query": answer.rewritten_query, "notice": answer.notice, "timings_ms": dict(answer.timings_ms)}
    return Response(response=answer.answer, source_nodes=[citation_node(c) for c in answer.citations], metadata=meta)


# ------------------------------------------------------------------ document filter
def _filter_docs(filters: MetadataFilters) -> set[str]:
    """The documents a llama-index ``MetadataFilters`` on ``doc_id`` allows (== / in, combined by and / or)."""
    sets = []
    for f in filters.filters:
        if isinstance(f, MetadataFilters):
            sets.append(_filter_docs(f))
        elif f.key != "doc_id" or f.operator not in (FilterOperator.EQ, FilterOperator.IN):
            raise ValueError(f"only doc_id == / in filters are supported, got {f.key} {f.operator.value}")
        else:
            one = f.operator is FilterOperator.EQ or isinstance(f.value, str)     # `in "a-doc"`: that one document
            sets.append({f.value} if one else set(f.value))
    if filters.condition not in (FilterCondition.AND, FilterCondition.OR, None):
        raise ValueError(f"filter condition must be and / or, got {filters.condition.value}")
    if not sets:
        raise ValueError("MetadataFilters without filters")
    return set.union(*sets) if filters.condition is FilterCondition.OR else set.intersection(*sets)


def doc_filter_of(doc_filter: str | Sequence[str] | None, filters: MetadataFilters | None) -> str | list[str] | None:
    """One document filter for ``Pipeline.retrieve`` / ``ask`` from the project's form (a document id or a list of
    them) and llama-index's ``MetadataFilters``; both given: the documents both allow. None: every document.
    Raises ValueError when nothing is left (the pipeline reads an empty filter as no filter)."""
    allowed = None if doc_filter is None else ({doc_filter} if isinstance(doc_filter, str) else set(doc_filter))
    if filters is not None:
        allowed = _filter_docs(filters) if allowed is None else allowed & _filter_docs(filters)
    if allowed is None:
        return None
    if not allowed:
        raise ValueError("the document filter excludes every document")
    return sorted(allowed)


# ------------------------------------------------------------------ retriever
class PlanRetriever(BaseRetriever):
    """The pipeline's retrieval as a llama-index retriever: the top ``similarity_top_k`` hits of ``Pipeline.retrieve``,
    within ``doc_filter`` / ``filters``; ``history`` (earlier turns) lets a follow-up be rewritten as ``ask`` does."""

    def __init__(self, pipeline, similarity_top_k: int | None = None, doc_filter: str | Sequence[str] | None = None,
                 filters: MetadataFilters | None = None, history: Sequence[dict] | None = None,
                 callback_manager: CallbackManager | None = None):
        k = pipeline.settings.top_k if similarity_top_k is None else similarity_top_k
        if k <= 0:
            raise ValueError(f"similarity_top_k must be greater than 0. Currently, the similarity_top_k is {k}")
        self._pipeline = pipeline
        self.similarity_top_k = k
        self.doc_filter = doc_filter_of(doc_filter, filters)
        self.history = list(history or [])
        super().__init__(callback_manager=callback_manager)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self._pipeline.retrieve(query_bundle.query_str, self.similarity_top_k, doc_filter=self.doc_filter,
                                       history=self.history)
        # a comparison of two named documents appends each side's best clauses after the k asked for: cut at k
        return [hit_node(h, self._path(h)) for h in hits[: self.similarity_top_k]]

    def _path(self, hit: Hit) -> str:
        """The location with its headings' titles, as the answer's citations give it."""
        return self._pipeline.answerer.composer.path(hit)


# ------------------------------------------------------------------ query engine
class PlanQueryEngine(CustomQueryEngine):
    """The pipeline's cited answer as a llama-index query engine (``Pipeline.ask``, whatever its backend)."""

    pipeline: Any = Field(description="a rag.pipeline.Pipeline (or anything with its ask method)")
    doc_filter: str | list[str] | None = Field(None, description="a document id or a list of them; None: all")
    filters: MetadataFilters | None = Field(None, description="llama-index filters on doc_id (== / in)")
    history: list[dict] = Field(default_factory=list, description="earlier turns [{role, content}], oldest first")
    _docs: str | list[str] | None = PrivateAttr(None)

    def model_post_init(self, __context: Any) -> None:
        self._docs = doc_filter_of(self.doc_filter, self.filters)       # a bad filter fails here, not at query time

    def custom_query(self, query_str: str) -> Response:
        return answer_response(self.pipeline.ask(query_str, history=self.history, doc_filter=self._docs))
