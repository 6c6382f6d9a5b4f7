"""Evaluation metrics: small pure functions (in the spirit of sentence-transformers'
InformationRetrievalEvaluator) plus ``score_item`` / ``aggregate`` that build the metrics object of
shared/interfaces.md.

Matching rules (interfaces.md):
* an evidence string is *in* a text when it is a substring after all whitespace is removed from both;
* answer keywords are compared after removing whitespace and NFKC normalisation (full/half width).
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from typing import Iterable, Sequence

_WS = re.compile(r"\s+")
TYPES = ("factual_number", "factual_entity", "list", "definition", "why_how", "cross_document", "unanswerable")
K_MAX = 10


# ----------------------------------------------------------------------------- normalisation
def strip_ws(text: str) -> str:
    """All whitespace removed (hard line breaks of the newspaper excerpts, table cell breaks)."""
    return _WS.sub("", text or "")


def norm_kw(text: str) -> str:
    """Whitespace removed + NFKC, so full/half-width digits, letters and punctuation compare equal."""
    return strip_ws(unicodedata.normalize("NFKC", text or ""))


# ----------------------------------------------------------------------------- retrieval
def evidence_in(text: str, evidence: Iterable[str]) -> bool:
    """True when ``text`` contains at least one evidence string (whitespace-insensitive)."""
    t = strip_ws(text)
    return any(e and strip_ws(e) in t for e in evidence if strip_ws(e))


def first_hit_rank(ranked_texts: Sequence[str], evidence: Sequence[str], k: int = K_MAX) -> int | None:
    """1-based rank of the first text in the top ``k`` that contains an evidence string, else None."""
    for rank, text in enumerate(ranked_texts[:k], 1):
        if evidence_in(text, evidence):
            return rank
    return None


def hit_at_k(ranked_texts: Sequence[str], evidence: Sequence[str], k: int) -> bool:
    return first_hit_rank(ranked_texts, evidence, k) is not None


def reciprocal_rank(ranked_texts: Sequence[str], evidence: Sequence[str], k: int = K_MAX) -> float:
    rank = first_hit_rank(ranked_texts, evidence, k)
    return 1.0 / rank if rank else 0.0


def evidence_recall(ranked_texts: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Share of the evidence strings found in some text of the top ``k``."""
    evidence = [e for e in evidence if strip_ws(e)]
    if not evidence:
        return 0.0
    top = [strip_ws(t) for t in ranked_texts[:k]]
    return sum(any(strip_ws(e) in t for t in top) for e in evidence) / len(evidence)


def docs_covered(ranked_texts: Sequence[str], evidence_by_doc: dict[str, list[str]], k: int) -> bool:
    """Stricter cross-document hit: every document has one of its evidence strings in the top ``k``."""
    return bool(evidence_by_doc) and all(hit_at_k(ranked_texts, ev, k) for ev in evidence_by_doc.values())


# ----------------------------------------------------------------------------- answers
def missing_keywords(answer: str, keywords: Sequence[str]) -> list[str]:
    a = norm_kw(answer)
    return [kw for kw in keywords if norm_kw(kw) not in a]


def keyword_ok(answer: str, keywords: Sequence[str]) -> bool:
    """The answer contains every keyword (whitespace and full/half width ignored)."""
    return not missing_keywords(answer, keywords)


def lead_line(answer: str) -> str:
    """The first non-empty line of a reply: the direct answer (issue 13), or the first quoted clause."""
    return next((ln for ln in (answer or "").splitlines() if ln.strip()), "")


NUMBER = re.compile(r"\d+(?:\.\d+)?")
# what a lead line may carry besides its claims: citation markers [n], document titles 《…》 (2024年计划部分),
# and an ask the documents do not answer, restated in the question's words (“…2027年目标是多少”：文档中未提及)
_NOT_CLAIMS = re.compile(r"\[\d+\]|《[^》]*》|“[^”]*”[：:]文档中未提及")


def lead_numbers(answer: str, citations: Sequence[dict]) -> list[str]:
    """The numbers the first line states as facts: citation markers, titles and the cited locations
    (专栏1 第12行, 第十五章) removed first."""
    line = unicodedata.normalize("NFKC", lead_line(answer))
    for c in citations:
        for where in (c.get("path") or "", c.get("location") or ""):     # the titled location first (it is longer)
            loc = unicodedata.normalize("NFKC", where)
            if loc:
                line = line.replace(loc, " ")
    return NUMBER.findall(_NOT_CLAIMS.sub(" ", line))


def lead_faithful(answer: str, citations: Sequence[dict]) -> tuple[int, int]:
    """(numbers of the first line that occur in some cited quote, numbers of the first line); width and
    whitespace ignored. A number found only inside a longer one of the quote (5 in 500) does not count."""
    nums = lead_numbers(answer, citations)
    # whitespace removed (a number hard-wrapped 2\n025) and kept as one space (table cells: …68.04\n70…)
    quotes = [norm_kw(c.get("quote", "")) for c in citations]
    quotes += [_WS.sub(" ", unicodedata.normalize("NFKC", c.get("quote", ""))) for c in citations]
    stated = lambda n: any(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d]|\.\d)", q) for q in quotes)  # noqa: E731
    computed = shown_results(lead_line(answer))
    # the result of shown arithmetic of two stated figures ("70 − 68.04 = 1.96") counts as faithful when it is right
    ok = sum(stated(n) or (n in computed and all(map(stated, computed[n]))) for n in nums)
    return ok, len(nums)


def shown_results(line: str) -> dict[str, tuple[str, str]]:
    """result -> (a, b) of each 'a − b = result' in ``line`` whose result is right."""
    out = {}
    for m in re.finditer(r"(\d+(?:\.\d+)?)\s*−\s*(\d+(?:\.\d+)?)\s*=\s*(-?\d+(?:\.\d+)?)", unicodedata.normalize("NFKC", line)):
        a, b, c = m.groups()
        if abs(float(a) - float(b) - float(c)) < 1e-9 * max(1.0, abs(float(a))) + 10 ** -(len(c.partition(".")[2]) + 1):
            out[c.lstrip("-")] = (a, b)
    return out


def citation_valid(citation: dict, corpus_texts: dict[str, str]) -> bool:
    """The quote is verbatim: ``file_text[start:end] == quote`` and the quote is a non-empty substring."""
    text = corpus_texts.get(citation.get("doc_id"))
    quote, start, end = citation.get("quote"), citation.get("start"), citation.get("end")
    if text is None or not isinstance(quote, str) or not quote or not isinstance(start, int) or not isinstance(end, int):
        return False
    return text[start:end] == quote and quote in text


def citation_hit(citations: Sequence[dict], evidence: Sequence[str]) -> bool:
    """At least one citation quote contains an evidence string."""
    return any(evidence_in(c.get("quote", ""), evidence) for c in citations)


# ----------------------------------------------------------------------------- statistics
def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default method); 0.0 for no values."""
    xs = sorted(values)
    if not xs:
        return 0.0
    pos = (len(xs) - 1) * p / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def mean(values: Iterable[float]) -> float:
    vals = [float(v) for v in values]
    return sum(vals) / len(vals) if vals else 0.0


# ----------------------------------------------------------------------------- per item
def docs_of(item: dict) -> list[str]:
    doc = item.get("doc")
    if isinstance(doc, list):
        return [d for d in doc if d]
    return [doc] if doc else []


def evidence_by_doc(item: dict, corpus_texts: dict[str, str]) -> dict[str, list[str]]:
    """Evidence strings grouped by the listed document whose text contains them."""
    out: dict[str, list[str]] = {}
    for d in docs_of(item):
        t = strip_ws(corpus_texts.get(d, ""))
        out[d] = [e for e in item.get("evidence", []) if strip_ws(e) and strip_ws(e) in t]
    return out


def score_item(item: dict, ranked_texts: Sequence[str], answer: dict, corpus_texts: dict[str, str]) -> dict:
    """Per-item scores from the golden item, the retrieved chunk texts (best first) and the Answer JSON."""
    evidence = item.get("evidence", [])
    answerable = item["type"] != "unanswerable"
    cites = answer.get("citations", [])
    out = {
        "answerable": answerable,
        "hit_rank": first_hit_rank(ranked_texts, evidence) if answerable else None,
        "evidence_recall@10": evidence_recall(ranked_texts, evidence, K_MAX) if answerable else None,
        "refused": bool(answer.get("refused")),
        "missing_keywords": missing_keywords(answer.get("answer", ""), item.get("answer_keywords", [])),
        "lead_keyword_ok": keyword_ok(lead_line(answer.get("answer", "")), item.get("answer_keywords", [])),
        "lead_numbers": lead_faithful(answer.get("answer", ""), cites),
        "citations_valid": sum(citation_valid(c, corpus_texts) for c in cites),
        "citations_total": len(cites),
        "citation_hit": citation_hit(cites, evidence) if answerable else None,
    }
    out["keyword_ok"] = not out["missing_keywords"]
    if item["type"] == "cross_document":
        by_doc = evidence_by_doc(item, corpus_texts)
        out["all_docs@5"] = docs_covered(ranked_texts, by_doc, 5)
        out["all_docs@10"] = docs_covered(ranked_texts, by_doc, K_MAX)
    return out


def about_docs(item: dict) -> set[str]:
    """Documents an item is about: its evidence documents, or for an unanswerable item the document whose
    topic it is near (``topic_doc``); empty when the item says neither."""
    return set(docs_of(item)) | ({item["topic_doc"]} if item.get("topic_doc") else set())


def off_subject(record: dict) -> bool | None:
    """An answered item whose first citation is from a document the item is not about (None: not answered,
    or the item names no document)."""
    about = about_docs(record)
    cites = record.get("citations") or []
    if record.get("refused") or not cites or not about:
        return None
    return cites[0].get("doc_id") not in about


def failed(s: dict) -> bool:
    """An item fails when any of its checks fails (used to put failing cases first)."""
    if not s["answerable"]:
        return not s["refused"]
    return (s["hit_rank"] is None or s["hit_rank"] > 5 or not s["keyword_ok"] or s["refused"]
            or not s["citation_hit"] or s["citations_valid"] < s["citations_total"])


# ----------------------------------------------------------------------------- aggregate
def hit_rate(scored: Sequence[dict], k: int) -> float:
    return mean(s["hit_rank"] is not None and s["hit_rank"] <= k for s in scored)


def retrieval_metrics(scored: Sequence[dict]) -> dict:
    """hit@1, hit@5, mrr@10, evidence_recall@10 over answerable items (each with ``hit_rank``, ``evidence_recall@10``)."""
    ans = [s for s in scored if s["answerable"]]
    return {"hit@1": hit_rate(ans, 1), "hit@5": hit_rate(ans, 5),
            "mrr@10": mean(1.0 / s["hit_rank"] if s["hit_rank"] else 0.0 for s in ans),
            "evidence_recall@10": mean(s["evidence_recall@10"] for s in ans)}


def lead_keyword_accuracy(ans: Sequence[dict]) -> float:
    """Answerable items with every keyword in the first line of the reply (a refusal's first line has none)."""
    return mean(s.get("lead_keyword_ok", False) and not s["refused"] for s in ans)


def lead_faithfulness(scored: Sequence[dict]) -> float:
    """Share of the numbers stated in answered first lines that occur in one of the reply's cited quotes."""
    pairs = [s["lead_numbers"] for s in scored if not s["refused"] and s.get("lead_numbers")]
    total = sum(n for _, n in pairs)
    return sum(ok for ok, _ in pairs) / total if total else 1.0


def _group(scored: Sequence[dict]) -> dict:
    """Per-type / per-document breakdown (answer metrics over answerable items when there are any)."""
    ans = [s for s in scored if s["answerable"]]
    unans = [s for s in scored if not s["answerable"]]
    g = {"n": len(scored), "hit@5": hit_rate(ans, 5) if ans else None,
         "mrr@10": retrieval_metrics(ans)["mrr@10"] if ans else None,
         "keyword_accuracy": mean(s["keyword_ok"] for s in (ans or unans))}
    if ans:
        g["lead_keyword_accuracy"] = lead_keyword_accuracy(ans)
        g["citation_hit"] = mean(s["citation_hit"] for s in ans)
        g["false_refusal_rate"] = mean(s["refused"] for s in ans)
    if unans:
        g["refusal_accuracy"] = mean(s["refused"] for s in unans)
    cross = [s for s in scored if "all_docs@5" in s]
    if cross:
        g["all_docs@5"] = mean(s["all_docs@5"] for s in cross)
    return g


def aggregate(scored: Sequence[dict]) -> dict:
    """The metrics object of interfaces.md (+ hit_curve, cross_document, by_doc).

    Each scored item is ``score_item(...)`` plus ``id``, ``type``, ``doc`` and optionally
    ``retrieve_ms`` / ``ask_ms``."""
    ans = [s for s in scored if s["answerable"]]
    unans = [s for s in scored if not s["answerable"]]
    n_cites = sum(s["citations_total"] for s in scored)
    cross = [s for s in scored if "all_docs@5" in s]
    lat = lambda key: [s[key] for s in scored if s.get(key) is not None]  # noqa: E731
    metrics = {
        "n": len(scored),
        "retrieval": retrieval_metrics(scored),
        "answer": {"keyword_accuracy": mean(s["keyword_ok"] for s in ans),
                   "lead_keyword_accuracy": lead_keyword_accuracy(ans),
                   "lead_faithfulness": lead_faithfulness(scored),
                   "citation_validity": sum(s["citations_valid"] for s in scored) / n_cites if n_cites else 0.0,
                   "citation_hit": mean(s["citation_hit"] for s in ans)},
        "refusal": {"accuracy": mean(s["refused"] for s in unans),
                    "false_refusal_rate": mean(s["refused"] for s in ans)},
        "latency_ms": {"retrieve_p50": percentile(lat("retrieve_ms"), 50), "retrieve_p95": percentile(lat("retrieve_ms"), 95),
                       "ask_p50": percentile(lat("ask_ms"), 50), "ask_p95": percentile(lat("ask_ms"), 95)},
        "by_type": {t: _group([s for s in scored if s["type"] == t]) for t in TYPES if any(s["type"] == t for s in scored)},
        "hit_curve": {f"hit@{k}": hit_rate(ans, k) for k in range(1, K_MAX + 1)},
        "cross_document": {"n": len(cross), "some_doc_hit@5": hit_rate(cross, 5),
                           "all_docs@5": mean(s["all_docs@5"] for s in cross),
                           "all_docs@10": mean(s["all_docs@10"] for s in cross)},
    }
    judged = [o for o in (off_subject(s) for s in scored) if o is not None]
    metrics["off_subject_rate"] = mean(judged)
    metrics["off_subject_n"] = len(judged)
    # answered items whose first citation is from a document no golden item is about (on the library: another
    # province's or another year's report) -- the part of off_subject_rate that the library adds
    known = {d for s in scored for d in about_docs(s)}
    answered = [s for s in scored if not s.get("refused") and s.get("citations")]
    metrics["outside_doc_rate"] = mean(s["citations"][0].get("doc_id") not in known for s in answered)
    styles = sorted({s.get("style") for s in scored if s.get("style")})
    if styles:
        metrics["by_style"] = {st: _group([s for s in scored if s.get("style") == st]) for st in styles}
    by_doc: dict[str, list[dict]] = defaultdict(list)
    for s in scored:
        for d in docs_of(s):
            by_doc[d].append(s)
    metrics["by_doc"] = {d: _group(items) for d, items in sorted(by_doc.items())}
    return rounded(metrics)


def rounded(obj, digits: int = 4):
    """Floats rounded for reports (recursively)."""
    if isinstance(obj, float):
        return round(obj, digits)
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [rounded(v, digits) for v in obj]
    return obj
