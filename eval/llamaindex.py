"""python -m eval.llamaindex [--golden FILE] [--split dev|test|all] [--json]

Retrieval hit@1 / hit@5 / hit@10 / MRR@10 of the golden set computed twice over the same retrieval: by the project's
eval (``eval/metrics.py`` on ``Pipeline.retrieve(question, 10, history)``, as ``python -m eval`` does) and by
llama-index's own ``RetrieverEvaluator`` (metrics ``hit_rate`` and ``mrr``) through ``rag.llamaindex.PlanRetriever``
with ``similarity_top_k`` 1, 5 and 10.

Why the two agree exactly: the project counts a retrieved chunk as a hit when its verbatim text contains an evidence
string (whitespace removed); that depends on the chunk alone, so the chunks that count are a fixed set per item --
``expected_ids`` below, every chunk id of the index whose text holds an evidence string. llama-index's ``hit_rate`` is
"some retrieved id is expected", its ``mrr`` 1 / rank of the first expected id: the same definitions over ids.
Two cases llama-index refuses (it raises on an empty ``expected_ids`` or ``retrieved_ids``) are scored 0, as the
project's eval scores them: an item whose evidence no single chunk holds (it spans a chunk boundary) gets the
``NO_CHUNK`` id, which no chunk has; an item with no hits at all (its subject allows no document) is counted a miss.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from . import metrics as M
from .golden import load_golden, split_of

HERE = Path(__file__).resolve().parent
KS = (1, 5, 10)
NO_CHUNK = "<no single chunk holds the evidence>"


@dataclass(frozen=True)
class RetrievalScores:
    """Means over the answerable items: hit@k for each k of KS, MRR@10."""
    n: int
    hit_at: dict[int, float]
    mrr_at_10: float

    def rows(self) -> dict[str, float]:
        return {**{f"hit@{k}": v for k, v in self.hit_at.items()}, "mrr@10": self.mrr_at_10}


@dataclass(frozen=True)
class Comparison:
    split: str
    project: RetrievalScores
    llama_index: RetrievalScores
    no_chunk: int          # items whose evidence no single chunk holds (a miss for both)
    no_hits: int           # items retrieval returned nothing for (a miss for both)

    @property
    def agree(self) -> bool:
        return self.project == self.llama_index


def answerable(items: list[dict]) -> list[dict]:
    return [it for it in items if it["type"] != "unanswerable"]


# ------------------------------------------------------------------ expected ids
def chunk_texts(pipeline) -> list[tuple[str, str]]:
    """(chunk id, verbatim chunk text with whitespace removed) for every chunk: the text a Hit carries."""
    texts = {d.doc_id: d.text for d in pipeline.corpus.documents}
    return [(c.chunk_id, M.strip_ws(texts[c.doc_id][c.start:c.end])) for c in pipeline.index.chunks]


def expected_ids(item: dict, chunks: list[tuple[str, str]]) -> list[str]:
    """Every chunk the project's eval would count as a hit for ``item`` (M.evidence_in on its text)."""
    evidence = [M.strip_ws(e) for e in item["evidence"] if M.strip_ws(e)]
    ids = [cid for cid, text in chunks if any(e in text for e in evidence)]
    return ids or [NO_CHUNK]


# ------------------------------------------------------------------ the project's eval
def project_scores(pipeline, items: list[dict]) -> RetrievalScores:
    """eval/run.py's retrieval (k=10, the item's history) scored by eval/metrics.py."""
    from rag.pipeline import QuestionError

    texts = {d.doc_id: d.text for d in pipeline.corpus.documents}
    no_answer = {"answer": "", "citations": []}
    scored = []
    for it in items:
        try:
            hits = pipeline.retrieve(it["question"], M.K_MAX, history=it.get("history") or [])
        except QuestionError:               # eval/run.py scores a rejected question as retrieving nothing
            hits = []
        scored.append(M.score_item(it, [h.text for h in hits], no_answer, texts))
    r = M.retrieval_metrics(scored)
    return RetrievalScores(n=len(scored), hit_at={k: M.hit_rate(scored, k) for k in KS}, mrr_at_10=r["mrr@10"])


# ------------------------------------------------------------------ llama-index's RetrieverEvaluator
def llama_index_item(pipeline, item: dict, ids: list[str], k: int) -> tuple[dict[str, float], bool]:
    """RetrieverEvaluator's hit_rate and mrr for one item at similarity_top_k=k; True when nothing was retrieved."""
    from llama_index.core.evaluation import RetrieverEvaluator

    from rag.llamaindex import PlanRetriever
    from rag.pipeline import QuestionError

    retriever = PlanRetriever(pipeline, similarity_top_k=k, history=item.get("history") or [])
    evaluator = RetrieverEvaluator.from_metric_names(["hit_rate", "mrr"], retriever=retriever)
    try:
        return evaluator.evaluate(query=item["question"], expected_ids=ids).metric_vals_dict, False
    except QuestionError:
        return {"hit_rate": 0.0, "mrr": 0.0}, True
    except ValueError:                      # llama-index raises on an empty retrieval: the project's miss
        if retriever.retrieve(item["question"]):
            raise
        return {"hit_rate": 0.0, "mrr": 0.0}, True


def llama_index_scores(pipeline, items: list[dict], expected: list[list[str]]) -> tuple[RetrievalScores, int]:
    """Means of RetrieverEvaluator's per-item results (hit_rate at each k of KS, mrr at k=10), and the empty runs."""
    hit_at, mrr, empty = {}, 0.0, 0
    for k in KS:
        runs = [llama_index_item(pipeline, it, ids, k) for it, ids in zip(items, expected)]
        hit_at[k] = M.mean(vals["hit_rate"] for vals, _ in runs)
        if k == M.K_MAX:
            mrr = M.mean(vals["mrr"] for vals, _ in runs)
            empty = sum(none for _, none in runs)
    return RetrievalScores(n=len(items), hit_at=hit_at, mrr_at_10=mrr), empty


def compare(pipeline, items: list[dict], split: str = "all") -> Comparison:
    items = answerable([it for it in items if split == "all" or split_of(it["id"]) == split])
    chunks = chunk_texts(pipeline)
    expected = [expected_ids(it, chunks) for it in items]
    li, empty = llama_index_scores(pipeline, items, expected)
    return Comparison(split=split, project=project_scores(pipeline, items), llama_index=li,
                      no_chunk=sum(ids == [NO_CHUNK] for ids in expected), no_hits=empty)


# ------------------------------------------------------------------ command line
def table(c: Comparison) -> str:
    lines = [f"split {c.split}: {c.project.n} answerable items ({c.no_chunk} whose evidence no single chunk holds, "
             f"{c.no_hits} with no hits; both count as misses)",
             f"{'metric':<8} {'python -m eval':>15} {'RetrieverEvaluator':>19}"]
    li = c.llama_index.rows()
    lines += [f"{name:<8} {v:>15.4f} {li[name]:>19.4f}" for name, v in c.project.rows().items()]
    lines.append("identical" if c.agree else "DIFFERENT")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.llamaindex", description=__doc__.split("\n\n")[1])
    ap.add_argument("--golden", default=str(HERE / "golden.jsonl"))
    ap.add_argument("--split", choices=("all", "dev", "test"), default="test")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from rag.pipeline import Pipeline

    c = compare(Pipeline(progress=sys.stderr.isatty()), load_golden(args.golden), args.split)
    print(json.dumps(asdict(c) | {"agree": c.agree}, ensure_ascii=False, indent=1) if args.json else table(c))
    return 0 if c.agree else 1


if __name__ == "__main__":
    sys.exit(main())
