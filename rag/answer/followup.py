"""Rule-based follow-up rewriting ("那綦江呢？", "它的2030年目标呢？") into a standalone query, from the last
user turn. Place names come from the gazetteer and the documents' aliases, not from a list of its own."""
from __future__ import annotations

import re

from ..corpus import normalize

YEAR = re.compile(r"(?:19|20)\d{2}\s*年?")


def last_user_turn(history: list[dict]) -> str:
    return next((h.get("content", "") for h in reversed(history or []) if h.get("role") == "user"
                 and isinstance(h.get("content"), str) and h.get("content").strip()), "")


def looks_like_followup(question: str, start: re.Pattern) -> bool:
    q = question.strip()
    return bool(start.match(q) or len(re.sub(r"[\W_]", "", q)) <= 8 or q.endswith(("呢？", "呢?", "呢")))


def user_turns(history: list[dict]) -> list[str]:
    return [h.get("content", "") for h in history or [] if h.get("role") == "user"
            and isinstance(h.get("content"), str) and h.get("content").strip()]


def rewrite_followup(question: str, history: list[dict], names: list[str] | dict[str, list[str]],
                     start: re.Pattern | None = None, force: bool = False) -> str | None:
    """The follow-up as a standalone query, or None when it does not look like a follow-up (``force``: it is one,
    the caller found it names no topic of its own).

    ``names``: the place and document names a follow-up may swap in ("那綦江呢？" after a question about
    重庆 -> "綦江 <the question without 重庆>"); a dict of aliases per document is accepted too.
    The previous turn is itself read as its standalone query: after "重庆2030年城镇化率目标？", "那綦江呢？",
    "比2025年高多少？" is about 綦江's 城镇化率, which the bare "那綦江呢？" does not say."""
    from .rules import default_rules

    turns = user_turns(history)
    if not turns:
        return None
    start = start or default_rules().followup_start
    if not force and not looks_like_followup(question, start):
        return None
    if isinstance(names, dict):
        names = [n for ns in names.values() for n in ns]
    names = sorted({normalize(n) for n in names if n}, key=len, reverse=True)
    prev = turns[0]
    for turn in turns[1:]:
        prev = (_rewrite(turn, prev, names) if looks_like_followup(turn, start) else None) or turn
    return _rewrite(question, prev, names)


def _rewrite(question: str, prev: str, names: list[str]) -> str:
    """``question`` read as a follow-up of the standalone query ``prev`` (``names`` normalised, longest first)."""
    q = question.strip()
    frag = re.sub(r"^(那么|那|还有|另外|然后)|呢[？?]?$|[？?。！!]+$", "", q).strip()
    frag_names = [n for n in names if n in normalize(frag)]
    if frag_names:                                    # "那綦江呢？" -> swap the place/document name
        base = prev
        prev_names = [n for n in names if n in normalize(prev)]
        if prev_names:
            base = re.sub("|".join(re.escape(n) for n in prev_names), "", normalize(prev), count=1)
        frag_year = YEAR.search(frag)
        if frag_year and YEAR.search(base):
            base = YEAR.sub(frag_year.group(0), base, count=1)
        return f"{frag} {base}".strip()
    frag_year = YEAR.search(frag)
    if frag_year and YEAR.search(prev) and len(frag) <= 8:   # "那2025年呢？"
        return YEAR.sub(frag_year.group(0), prev, count=1)
    return f"{prev} {frag}".strip()
