"""Run the golden set through a Pipeline: retrieval (k=10) and ``ask`` for every item, timed."""
from __future__ import annotations

import time

from tqdm import tqdm

from . import metrics as M
from .golden import split_of

K = M.K_MAX


def warm_up(pipeline) -> None:
    """One untimed call, so lazy model loading does not land in the first item's latency."""
    pipeline.retrieve("重庆2030年地区生产总值目标", K)
    pipeline.ask("重庆2030年地区生产总值目标")


def run_item(pipeline, item: dict, texts: dict[str, str]) -> dict:
    """Ask, then retrieve as ``ask`` does (normalised, a follow-up rewritten with the history, within its subject)."""
    history = item.get("history") or []
    t0 = time.perf_counter()
    answer = pipeline.ask(item["question"], history).to_json()
    ask_ms = (time.perf_counter() - t0) * 1000
    query = answer.get("rewritten_query") or item["question"]
    t0 = time.perf_counter()
    hits = pipeline.retrieve(item["question"], K, history=history)     # retrieved as ask retrieves it
    retrieve_ms = (time.perf_counter() - t0) * 1000
    ranked = [h.text for h in hits]
    scored = M.score_item(item, ranked, answer, texts)
    by_doc = M.evidence_by_doc(item, texts)
    return {
        "id": item["id"], "type": item["type"], "doc": item["doc"], "split": split_of(item["id"]),
        "style": item.get("style"), "topic_doc": item.get("topic_doc"), **scored,
        "failed": M.failed(scored), "retrieve_ms": round(retrieve_ms, 1), "ask_ms": round(ask_ms, 1),
        "question": item["question"], "history": history or None, "query": query,
        "expected": item["answer"], "answer_keywords": item["answer_keywords"], "evidence": item["evidence"],
        "answer": answer.get("answer", ""),
        "citations": [{k: c.get(k) for k in ("n", "doc_id", "location", "quote", "start", "end")}
                      for c in answer.get("citations", [])],
        "retrieved": [{"rank": r, "doc_id": h.doc_id, "location": h.location, "chunk_id": h.chunk_id,
                       "score": h.score, "has_evidence": M.evidence_in(h.text, item["evidence"]),
                       "text": h.match_text[:60]}
                      for r, h in enumerate(hits, 1)],
        "expected_doc_in_top5": (any(r.doc_id in by_doc for r in hits[:5]) if by_doc else None),
    }


def run(pipeline, items: list[dict], progress: bool = True) -> list[dict]:
    from rag.pipeline import QuestionError

    texts = {d.doc_id: d.text for d in pipeline.corpus.documents}
    warm_up(pipeline)
    out = []
    for item in tqdm(items, desc="golden", unit="q", disable=not progress):
        try:
            out.append(run_item(pipeline, item, texts))
        except QuestionError as e:           # a golden question the pipeline rejects counts as a failure
            empty = {"answer": "", "refused": False, "citations": []}
            out.append({"id": item["id"], "type": item["type"], "doc": item["doc"], "split": split_of(item["id"]),
                        "style": item.get("style"), "topic_doc": item.get("topic_doc"),
                        **M.score_item(item, [], empty, texts), "failed": True, "error": str(e),
                        "question": item["question"], "query": item["question"], "retrieved": []})
    return out
