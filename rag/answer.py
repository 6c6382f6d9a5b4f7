"""Answer stage: extractive by default (no LLM), optional LLM synthesis on top, refusal, follow-ups.

The extractive answerer only ever shows sentences (or 专栏 table rows, glossary entries) that are
quoted verbatim in its citations, so it cannot state anything that is not in a cited clause.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from .chunk import split_sentences
from .corpus import normalize
from .lexicon import FRAME
from .parse import align
from .retrieve import Retriever
from .schema import Answer, Citation, Hit

NOT_FOUND = "文档中未提及"
FOLLOWUP_START = re.compile(r"^(那|那么|它|其|这|该|此|上述|还有|另外|再|具体)")
YEAR = re.compile(r"(?:19|20)\d{2}\s*年?")
Q_LIST = re.compile(r"哪些|哪几|包括|包含|分别|有几|几大|几个|列举")
Q_DEF = re.compile(r"是什么|指什么|什么意思|含义|指的是|是指|何谓|解释")
Q_NUM = re.compile(r"多少|几|比重|比例|目标|增长|达到|率|规模|多大|多高|多长|数量|[0-9]")
GENERAL_FREQ = 3000
HAN = re.compile(r"[\u4e00-\u9fff]+")
QUESTION_WORD = re.compile(r"哪|几|多少|多[长久大高远重宽深快]|什么|怎|吗|呢|么|^[这那]|^[一二两三四五六七八九十百千万]{1,2}[^\u4e00-\u9fff]?$|^[一两九万][\u4e00-\u9fff]$")
Q_COMPARE = re.compile(r"分别|各是|各为|相比|比较|对比|比起来|和.{0,12}(目标|相比|比)|还是|差多少|完成了吗|达到.{0,8}了吗|实际")
Q_WHY = re.compile(r"为什么|为何|如何|怎样|怎么|措施|举措|途径|办法")


@dataclass
class Unit:
    """A quotable unit: one sentence of a chunk, or a whole table row / glossary entry."""
    hit: Hit
    rank: int
    text: str       # matching text (hard wraps joined)
    start: int      # offsets into the original file
    end: int
    score: float = 0.0


def question_type(q: str) -> str:
    if Q_DEF.search(q):
        return "definition"
    if Q_LIST.search(q):
        return "list"
    if Q_WHY.search(q):
        return "why_how"
    if Q_NUM.search(q):
        return "number"
    return "entity"


def rewrite_followup(question: str, history: list[dict], aliases: dict[str, list[str]]) -> str | None:
    """Rule-based rewrite of a follow-up ("那綦江呢？", "它的2030年目标呢？") into a standalone query,
    using the last user turn. Returns None when the question does not look like a follow-up."""
    prev = next((h.get("content", "") for h in reversed(history or []) if h.get("role") == "user"
                 and isinstance(h.get("content"), str) and h.get("content").strip()), "")
    if not prev:
        return None
    q = question.strip()
    if not (FOLLOWUP_START.match(q) or len(re.sub(r"[\W_]", "", q)) <= 8 or q.endswith(("呢？", "呢?", "呢"))):
        return None
    frag = re.sub(r"^(那么|那|还有|另外)|呢[？?]?$|[？?。！!]+$", "", q).strip()
    names = sorted({n for ns in aliases.values() for n in ns} | {"重庆", "重庆市", "全市", "綦江", "綦江区"}, key=len, reverse=True)
    frag_names = [n for n in names if n in normalize(frag)]
    base = prev
    if frag_names:                                    # "那綦江呢？" -> swap the place/document name
        prev_names = [n for n in names if n in normalize(prev)]
        if prev_names:
            base = re.sub("|".join(re.escape(n) for n in prev_names), "", prev, count=1)
        frag_year = YEAR.search(frag)
        if frag_year and YEAR.search(base):
            base = YEAR.sub(frag_year.group(0), base, count=1)
        return f"{frag} {base}".strip()
    frag_year = YEAR.search(frag)
    if frag_year and YEAR.search(prev) and len(frag) <= 8:   # "那2025年呢？"
        return YEAR.sub(frag_year.group(0), prev, count=1)
    return f"{prev} {frag}".strip()


class Answerer:
    def __init__(self, retriever: Retriever, settings):
        self.retriever = retriever
        self.settings = settings
        self.index = retriever.index
        self.lexicon = retriever.index.lexicon
        self.min_coverage = settings.min_coverage
        from .llm import make_backend

        self.backend = make_backend(settings)

    # -- public -------------------------------------------------------------------------------
    def ask(self, question: str, history: list[dict], doc_filter=None, stream_cb=None) -> Answer:
        t0 = time.perf_counter()
        rewritten = None
        if history:
            if self.backend is not None:
                from .llm import rewrite_followup_llm

                rewritten = rewrite_followup_llm(question, history, self.backend)
            rewritten = rewritten or rewrite_followup(question, history, self.retriever.aliases)
        query = rewritten or question
        hits = self.retriever.retrieve(query, self.settings.context_chunks, doc_filter)
        t1 = time.perf_counter()
        ans = self.extractive(question, query, hits)
        ans.rewritten_query = rewritten
        if self.backend is not None and not ans.refused:
            from .llm import synthesize

            evidence = self.evidence_citations(hits)
            ans = synthesize(query, evidence, ans, self.backend, stream_cb=stream_cb)
        elif stream_cb is not None:
            stream_cb(ans.answer)
        ans.timings_ms = {**(ans.timings_ms or {}), "retrieve": round((t1 - t0) * 1000, 1),
                          "answer": round((time.perf_counter() - t1) * 1000, 1)}
        return ans

    # -- evidence -------------------------------------------------------------------------------
    def units(self, hits: list[Hit]) -> list[Unit]:
        out = []
        for r, h in enumerate(hits):
            if h.kind in ("table_row", "glossary") or len(h.match_text) <= 60:
                out.append(Unit(h, r, h.match_text, h.start, h.end))
                continue
            pos = align(h.text, h.match_text)
            a = 0
            for s in split_sentences(h.match_text):
                b = a + len(s)
                core = s.strip()
                if len(re.sub(r"[\W_]", "", core)) >= 4:
                    lead = len(s) - len(s.lstrip())
                    ea, eb = a + lead, a + lead + len(core)
                    out.append(Unit(h, r, core, h.start + pos[ea], h.start + pos[eb - 1] + 1))
                a = b
        return out

    def term_weights(self, tokens: list[str]) -> dict[str, float]:
        """Evidence weight of each question term: its idf in the corpus; a term the corpus never uses
        weighs the maximum when it is a specific word (房价, 2028), nothing when it is an everyday word
        (希望, 孩子: jieba frequency >= GENERAL_FREQ), since those are how people ask, not what about."""
        out = {}
        for t in set(tokens):
            if t in FRAME or QUESTION_WORD.search(t):
                continue
            if t in self.index.idf:
                out[t] = self.index.idf[t]
            elif df := self.index.substring_df(t):    # in the text, segmented differently (当作)
                out[t] = self.index.idf_of(df)
            elif t[0].isdigit() or 0 < self.lexicon.general_freq(t) < GENERAL_FREQ or self.new_word(t):
                out[t] = self.index.max_idf      # e.g. 2028, 房价: specific, and absent from every document
        return out

    def new_word(self, t: str) -> bool:
        """A word jieba guessed (unknown to its dictionary) that names something the corpus lacks
        (网约车), not corpus words glued to question words (共治中, 年川渝要): no two-character piece of
        it occurs in the corpus."""
        if len(t) < 3 or not HAN.fullmatch(t) or self.lexicon.general_freq(t):
            return False          # (Latin words are not judged: jieba knows no English frequencies)
        return not any(self.index.substring_df(t[i:i + 2]) for i in range(len(t) - 1))

    def question_terms(self, query: str) -> dict[str, float]:
        """Weighted content terms of a question; an everyday word the thesaurus maps (年轻人 -> 青年)
        is represented by its document wording only, but a longer word that contains it (旅游总收入 ⊃
        收入 -> 可支配收入) is kept: it asks for something more specific than the mapped wording."""
        sources = self.lexicon.synonym_sources(query)
        toks = [t for t in self.lexicon.query_tokens(query) if (len(t) > 1 or t.isdigit())
                and not any(t in s for s in sources)]
        return self.term_weights(toks)

    def coverage(self, terms: dict[str, float], text: str) -> float:
        """Weighted share of the question's terms (``question_terms``) found in ``text``."""
        total = sum(terms.values())
        if not total:
            return 0.0
        t = normalize(text)
        return sum(v for tok, v in terms.items() if tok in t) / total

    def evidence_citations(self, hits: list[Hit]) -> list[Citation]:
        return [Citation(n=i + 1, doc_id=h.doc_id, title=h.title, location=h.location, quote=h.text,
                         start=h.start, end=h.end) for i, h in enumerate(hits)]

    # -- extractive -----------------------------------------------------------------------------
    def extractive(self, question: str, query: str, hits: list[Hit]) -> Answer:
        qtype = question_type(question)
        tokens = self.question_terms(query)
        if not hits:
            return self._refuse(question, [])
        named = self.retriever.named_docs(query)
        # words that name the document (2024年计划, 綦江) say where to look, not what to find
        q = normalize(query)
        alias_words = [a for d in named for a in self.retriever.aliases.get(d, []) if a in q]
        tokens = {t: w for t, w in tokens.items() if not any(t in a for a in alias_words)} or tokens
        why = self.refusal_reason(tokens, hits[:3], together=len(named) >= 2)
        if why:
            ans = self._refuse(question, hits[:3])
            ans.notice = why
            return ans
        units = self.units(hits)
        for u in units:
            cov = self.coverage(tokens, " ".join(u.hit.location.split()[-1:]) + u.text)
            u.score = cov + 0.08 / (1 + u.rank) + (0.1 if u.hit.doc_id in named else 0.0)
            if qtype == "number" and re.search(r"\d", u.text):
                u.score += 0.05
            if qtype == "definition" and u.hit.kind == "glossary":
                u.score += 0.25
        ranked = sorted(units, key=lambda u: -u.score)
        best = ranked[0]
        picked = [best]
        limit = 4
        if len(named) < 2 and Q_COMPARE.search(question):
            named = list(dict.fromkeys(h.doc_id for h in hits))[:3]
        if len(named) >= 2:      # side by side: the best unit of each document
            for doc in named:
                u = next((u for u in ranked if u.hit.doc_id == doc), None)
                if u and u not in picked:
                    picked.append(u)
        for u in ranked[1:]:
            if len(picked) >= limit:
                break
            if u in picked or u.score < best.score * 0.6:
                continue
            if any(abs(u.start - p.start) < 5 for p in picked):
                continue
            picked.append(u)
        if qtype in ("list", "definition", "why_how") and best.hit.kind not in ("table_row",):
            whole = Unit(best.hit, best.rank, best.hit.match_text, best.hit.start, best.hit.end, best.score)
            if len(whole.text) <= 600:
                picked[0] = whole
                picked = [picked[0]] + [u for u in picked[1:] if not (whole.start <= u.start and u.end <= whole.end)]
        return self._compose(question, picked)

    def refusal_reason(self, terms: dict[str, float], hits: list[Hit], together: bool = False) -> str | None:
        """Evidence-based refusal: None when the clauses support an answer, else why not.
        * a specific term the corpus never uses (房价, 2028年) is absent from the best clauses, or
        * the best clause covers less than ``min_coverage`` of the question's weighted terms
          (``together``: the clauses taken together, for questions that name two documents)."""
        texts = [normalize(h.match_text + " " + " ".join(self._chunk_headings(h))) for h in hits]
        if together:          # a question about two documents is answered by clauses of both
            texts.append(" ".join(texts))
        present = [t for t in terms if any(t in x for x in texts)]
        absent = [t for t, w in terms.items() if w >= self.index.max_idf and t not in present
                  and not any(t in p for p in present)]
        if absent:
            return "文档中未出现：" + "、".join(sorted(absent))
        cov = max((self.coverage(terms, x) for x in texts), default=0.0)
        if cov < self.min_coverage:
            return f"最相关条款仅覆盖问题要点的 {cov:.0%}"
        return None

    def _chunk_headings(self, h: Hit) -> tuple[str, ...]:
        i = self.index.by_id.get(h.chunk_id)
        return self.index.chunks[i].headings if i is not None else ()

    def _compose(self, question: str, picked: list[Unit]) -> Answer:
        cites, lines = [], []
        for n, u in enumerate(picked, 1):
            cites.append(Citation(n=n, doc_id=u.hit.doc_id, title=u.hit.title, location=u.hit.location,
                                  quote=self.retriever.texts[u.hit.doc_id][u.start:u.end], start=u.start, end=u.end))
        first = picked[0]
        lead = f"根据《{first.hit.title}》{first.hit.location}：{self._display(first)}[1]"
        lines.append(lead)
        if len(picked) > 1:
            lines.append("")
            lines.append("相关条款：")
            for n, u in enumerate(picked[1:], 2):
                lines.append(f"- 《{u.hit.title}》{u.hit.location}：{self._display(u)}[{n}]")
        return Answer(question=question, answer="\n".join(lines), refused=False, citations=cites, backend="extractive")

    @staticmethod
    def _display(u: Unit) -> str:
        if u.hit.kind == "table_row":
            return u.text.replace("｜", "，") + "。"
        return u.text

    def _refuse(self, question: str, near: list[Hit]) -> Answer:
        cites = self.evidence_citations(near)
        text = f"{NOT_FOUND}与该问题直接相关的内容。"
        if cites:
            text += "以下是最接近的条款，供参考：\n" + "\n".join(
                f"- 《{c.title}》{c.location}[{c.n}]" for c in cites)
        return Answer(question=question, answer=text, refused=True, citations=cites, backend="extractive")
