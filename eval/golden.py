"""Loading and checking the golden set (eval/golden.jsonl, schema in shared/interfaces.md).

``load_golden`` raises ``GoldenError`` naming the file and line for anything a run cannot use;
``check_item`` returns the content problems of one item against the corpus (used by tests/test_golden.py).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .metrics import TYPES, docs_of, norm_kw, strip_ws

REQUIRED = {"id": str, "question": str, "answer": str, "answer_keywords": list, "evidence": list,
            "doc": (str, list), "location": str, "type": str}


SPLITS = ("dev", "test")


def split_of(item_id: str) -> str:
    """The fixed dev/test split: the first byte of the id's SHA-256, even -> dev, odd -> test. Rules are tuned
    and the refusal model is fit on dev only; the test half is looked at to report (and by the gate)."""
    return "dev" if hashlib.sha256(item_id.encode("utf-8")).digest()[0] % 2 == 0 else "test"


class GoldenError(ValueError):
    """The golden file is missing or a line is unusable; the message names the file and line."""


def schema_errors(obj) -> list[str]:
    """Problems with the shape of one parsed line (types, allowed values), empty when fine."""
    if not isinstance(obj, dict):
        return ["line is not a JSON object"]
    errs = []
    for key, typ in REQUIRED.items():
        if key not in obj:
            errs.append(f"missing field '{key}'")
        elif not isinstance(obj[key], typ):
            errs.append(f"field '{key}' has type {type(obj[key]).__name__}")
    if errs:
        return errs
    if not obj["id"].strip() or not obj["question"].strip():
        errs.append("empty id or question")
    if obj["type"] not in TYPES:
        errs.append(f"type {obj['type']!r} not in {', '.join(TYPES)}")
    for key in ("answer_keywords", "evidence"):
        if not all(isinstance(x, str) and x.strip() for x in obj[key]):
            errs.append(f"'{key}' must be a list of non-empty strings")
    if not obj["answer_keywords"]:
        errs.append("'answer_keywords' is empty")
    if obj["type"] == "cross_document":
        if not isinstance(obj["doc"], list) or len(obj["doc"]) < 2 or not all(isinstance(d, str) and d for d in obj["doc"]):
            errs.append("cross_document items need 'doc' as a list of >= 2 document ids")
    elif not isinstance(obj["doc"], str):
        errs.append("'doc' must be a string unless the type is cross_document")
    if obj["type"] == "unanswerable" and obj["evidence"]:
        errs.append("unanswerable items must have empty evidence")
    if obj["type"] != "unanswerable" and not obj["evidence"]:
        errs.append("answerable items need at least one evidence string")
    for key in ("style", "topic_doc"):
        if key in obj and not (isinstance(obj[key], str) and obj[key].strip()):
            errs.append(f"'{key}' must be a non-empty string")
    hist = obj.get("history")
    if hist is not None and not (isinstance(hist, list) and all(
            isinstance(h, dict) and h.get("role") in ("user", "assistant") and isinstance(h.get("content"), str) for h in hist)):
        errs.append("'history' must be a list of {role: user|assistant, content: str}")
    return errs


SHEET_SUFFIXES = (".csv", ".xlsx")


def load_golden(path: str | Path, corpus_dir: str | Path | None = None) -> list[dict]:
    """Parse and schema-check every line; raise GoldenError("file:line: reason") on the first problem.

    A ``.csv`` or ``.xlsx`` file is an evaluator's spreadsheet (eval/golden_sheet.py): its documents are named by
    id or title and its evidence is checked against the corpus in ``corpus_dir`` (default: the settings' corpus)."""
    path = Path(path)
    if path.suffix.lower() in SHEET_SUFFIXES:
        from .golden_sheet import load_sheet

        return load_sheet(path, corpus_dir)
    if not path.is_file():
        raise GoldenError(f"{path}: golden file not found")
    items, seen = [], {}
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise GoldenError(f"{path}:{n}: invalid JSON ({e})") from None
        errs = schema_errors(obj)
        if errs:
            raise GoldenError(f"{path}:{n}: " + "; ".join(errs))
        if obj["id"] in seen:
            raise GoldenError(f"{path}:{n}: duplicate id {obj['id']} (first on line {seen[obj['id']]})")
        seen[obj["id"]] = n
        obj["_line"] = n
        items.append(obj)
    if not items:
        raise GoldenError(f"{path}: no items")
    return items


def evidence_found_in(evidence: str, docs: list[str], corpus_texts: dict[str, str]) -> list[str]:
    """The documents among ``docs`` whose text contains the evidence string (whitespace removed from both)."""
    ev = strip_ws(evidence)
    return [d for d in docs if ev and ev in strip_ws(corpus_texts[d])]


def docs_without_evidence(item: dict, corpus_texts: dict[str, str]) -> list[str]:
    """Listed documents of a cross_document item that none of its evidence strings comes from."""
    if item["type"] != "cross_document":
        return []
    docs = docs_of(item)
    matched = {d for ev in item["evidence"] for d in evidence_found_in(ev, docs, corpus_texts)}
    return [d for d in docs if d not in matched]


def keywords_not_in_evidence(item: dict) -> list[str]:
    """Answer keywords no evidence string contains (width and whitespace ignored); none for unanswerable items."""
    evidence = [norm_kw(e) for e in item["evidence"]]
    if not evidence:
        return []
    return [kw for kw in item["answer_keywords"] if not any(norm_kw(kw) in e for e in evidence)]


def check_item(item: dict, corpus_texts: dict[str, str]) -> list[str]:
    """Content problems: unknown documents, evidence not in its document(s), keywords not in the evidence."""
    errs = []
    docs = docs_of(item)
    unknown = [d for d in docs if d not in corpus_texts]
    if unknown:
        return [f"unknown document id(s) {unknown}"]
    if item["type"] != "unanswerable" and not docs:
        errs.append("answerable item without a document")
    for ev in item["evidence"]:
        if not evidence_found_in(ev, docs, corpus_texts):
            errs.append(f"evidence not found in {docs}: {ev[:40]!r}")
    errs += [f"no evidence string matches listed document {d}" for d in docs_without_evidence(item, corpus_texts)]
    errs += [f"keyword {kw!r} not in the evidence" for kw in keywords_not_in_evidence(item)]
    return errs
