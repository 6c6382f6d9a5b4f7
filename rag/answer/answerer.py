"""The answer stage, orchestrated: question analysis -> retrieval in the question's scope -> evidence
verification -> calibrated decision -> composition (-> optional LLM synthesis over the same evidence)."""
from __future__ import annotations

from dataclasses import replace

import re
import time
from functools import lru_cache

from ..lexicon import match_glossary
from ..rank import make_ranker
from ..retrieve import Retriever
from ..schema import Answer, Citation, Hit
from ..scope import docs_in_scope
from .compose import BOTH_ASPECTS, Composer
from .decide import Decider, DecisionModel
from .columns import Sections
from .evidence import EvidenceConfig, EvidenceVerifier, beyond_documents
from .lead import AnswerLine
from .question import Question, QuestionAnalyzer, TermStats
from .rules import Slot, default_rules
from .spelling import Speller


PLAN_WORD = re.compile(r"规划")


@lru_cache(maxsize=1)
def _decision_model() -> DecisionModel | None:
    return DecisionModel.load()


def evidence_config(settings) -> EvidenceConfig:
    return EvidenceConfig(min_topic=settings.min_topic, max_units=settings.max_quoted)


class Answerer:
    def __init__(self, retriever: Retriever, settings, analyzer: QuestionAnalyzer | None = None,
                 verifier: EvidenceVerifier | None = None, decider: Decider | None = None,
                 composer: Composer | None = None):
        from ..llm import make_backend
        from ..thesaurus import thesaurus

        self.retriever = retriever
        self.settings = settings
        self._in_scope: dict[tuple, list[str]] = {}
        index = retriever.index
        gaz = retriever.gazetteer
        self.home = settings.home_region
        if self.home and self.home not in gaz.regions:
            raise ValueError(f"home_region {self.home!r} is not a region of rag/data/regions.json")
        config = evidence_config(settings)
        stats = TermStats(index.idf, index.max_idf, index.substring_df, index.idf_of)
        self.analyzer = analyzer or QuestionAnalyzer(
            default_rules(), index.lexicon, stats, gaz, thesaurus(),
            Speller(index.bigram_df, index.lexicon.logprob, words=default_rules().vocabulary(),
                    # a character jieba counts >= 250k times on its own (有 424k, 是 797k; 到 205k and 里 77k are typo'd)
                    is_function_char=lambda ch: index.lexicon.general_freq(ch) >= 250_000,
                    is_word=lambda w: index.lexicon.general_freq(w) > 0 or w in index.idf,
                    terms=[k for e in index.glossary for k in e.keys]),
            retriever.aliases, self.home,
            glossary_keys=[k for e in index.glossary for k in e.keys],
            title_words=[w for t in retriever.titles.values() for w in index.lexicon.tokens(t) if len(w) >= 2],
            weak_aliases=retriever.weak, outlines=[d for d, t in retriever.titles.items() if "规划纲要" in t],
            regions={d: sc.region for d, sc in retriever.scopes.items()}, abbreviations=retriever.abbreviations,
            outline_periods={d: (sc.start, sc.end) for d, sc in retriever.scopes.items() if sc.start and sc.end})
        self.verifier = verifier or EvidenceVerifier(config, index.chunks, retriever.scopes, gaz, self.home, index.lexicon,
                                                      retriever.texts)
        self.decider = decider or Decider(_decision_model())
        self.ranker = make_ranker(settings.fusion, index.chunks, self.verifier, self.home)
        self.composer = composer or Composer(
            config, retriever.texts, titles=retriever.titles,
            answer_line=AnswerLine(self.verifier.topic_spans) if settings.answer_line else None,
            region_of=self.verifier.region_of, headings_of=self.verifier.headings_of,
            aspect_of=self.verifier.aspect_of, fits_document=self.verifier.fits_document,
            part_of=self.verifier.part_section, sections=Sections(index.chunks))
        self.backend = make_backend(settings)

    # -- public -------------------------------------------------------------------------------
    def analyze(self, question: str, history: list[dict] | None = None, rewritten: str | None = None) -> Question:
        return self.analyzer.run(question, history or [], rewritten)

    def with_review(self, q: Question) -> Question:
        """A question asking a named annual plan's target and its result ("2024年计划的…目标最后完成了吗") is
        about the report that reviews that year too: its 执行情况 part states the result."""
        if not q.subject.docs or not BOTH_ASPECTS.search(q.normalized):
            return q
        scopes = self.retriever.scopes
        planned = {sc.start for d in q.subject.docs if (sc := scopes.get(d)) and sc.start and sc.start == sc.end}
        own = {scopes[d].region for d in q.subject.docs if d in scopes}
        review = [d for d, sc in scopes.items() if sc.review_year in planned and sc.region in own and d not in q.subject.docs]
        if not review:
            return q
        return replace(q, subject=replace(q.subject, docs=q.subject.docs + tuple(review)))

    def in_scope(self, places, named) -> list[str]:
        """``docs_in_scope`` for this corpus, cached per (places, named documents): a pass over every document's
        scope (4.3 ms a question at 1,000 documents), and questions share few distinct subjects."""
        key = (tuple(places), tuple(named))
        docs = self._in_scope.get(key)
        if docs is None:
            if len(self._in_scope) > 4096:
                self._in_scope.clear()
            docs = self._in_scope[key] = docs_in_scope(places, named, self.retriever.scopes, self.retriever.gazetteer,
                                                       self.home)
        return list(docs)

    def scope(self, q: Question, doc_filter=None) -> list[str]:
        """The documents the question may be answered from (its subject), within the user's filter."""
        docs = self.in_scope(q.subject.places, q.subject.docs)
        if q.subject.docs:      # a term one document uses, another's glossary explains
            explains = {e.doc_id for e in match_glossary(q.normalized, self.retriever.index.glossary)}
            have = set(docs)
            docs += [d for d in self.in_scope(q.subject.places, ())
                     if d not in have and (q.slot is Slot.DEFINITION or d in explains)]
        if q.timeframe.empty and not q.subject.docs:     # no year, no named document: today's plans, not 1955's
            recent = self.analyzer.this_year - self.settings.recent_years
            docs = [d for d in docs if (sc := self.retriever.scopes.get(d)) is None or sc.end is None or sc.end >= recent]
        if doc_filter:
            allowed = {doc_filter} if isinstance(doc_filter, str) else set(doc_filter)
            docs = [d for d in docs if d in allowed]
        return docs

    def retrieve(self, q: Question, k: int, doc_filter=None) -> tuple[list[Hit], dict]:
        docs = self.scope(q, doc_filter)
        if not docs:
            return [], {"dense": [], "scope": []}
        everything = len(docs) == len(self.retriever.scopes)
        prefer = [d for d in docs if self.verifier.fits_document(q, d)]      # 2024年计划 for "2024年…要…"
        if not q.subject.docs and PLAN_WORD.search(q.normalized):
            # "规划的目标是多少户？": 规划 is what people call the plan outlines (规划纲要), not the annual 计划 reports
            prefer += [d for d in docs if d in self.analyzer.outlines and d not in prefer]
        hits, signals = self.retriever.search(q.search_text, k, None if everything else docs, prefer=prefer,
                                              rerank=self.ranker.scorer(q) if self.ranker else None,
                                              glossary_prior=q.slot in (Slot.LIST, Slot.DEFINITION))
        sides = [d for d in q.compared_docs if d in docs]
        if len(sides) >= 2:       # a comparison of named documents: each side's best clauses, whatever the other ranks
            # searched by the topic alone: the other side's name (成渝地区双城经济圈建设行动方案…) would pull its themes in
            topic = " ".join(t.text for t in q.terms if t.text not in self.analyzer.title_words) or q.search_text
            for d in sides:
                own, _ = self.retriever.search(topic, max(2, k // len(sides)), [d], prefer=[d])
                hits += [h for h in own if h not in hits]
        signals["scope"] = docs
        return hits, signals

    def ask(self, question: str, history: list[dict], doc_filter=None, stream_cb=None) -> Answer:
        t0 = time.perf_counter()
        llm_rewrite = None
        if history and self.backend is not None:
            from ..llm import rewrite_followup_llm

            llm_rewrite = rewrite_followup_llm(question, history, self.backend)
        q = self.analyze(question, history, llm_rewrite)
        q = replace(self.with_review(q), parts=tuple(self.with_review(p) for p in q.parts))
        if q.garbage:
            ans = self.composer.garbage(question)
            hits = []
            t1 = time.perf_counter()
        elif q.parts and not (self.verifier.config.beyond_documents and beyond_documents(q.normalized)):
            # several asks: each verified and decided on its own evidence (an opinion or a day's news asked
            # anywhere in it is refused as a whole: "今天天气咋样，出门要不要带伞")
            results = []
            hits = []
            for part in q.parts:
                part_hits, signals = self.retrieve(part, self.settings.context_chunks, doc_filter)
                verdict = self.verifier.run(part, part_hits, signals.get("dense", ()))
                results.append((part, verdict, self.decider.run(verdict), part_hits))
                hits += [h for h in part_hits if h not in hits]
            t1 = time.perf_counter()
            ans = self.composer.answer_parts(q, results)
        else:
            hits, signals = self.retrieve(q, self.settings.context_chunks, doc_filter)
            t1 = time.perf_counter()
            verdict = self.verifier.run(q, hits, signals.get("dense", ()))
            decision = self.decider.run(verdict)
            ans = (self.composer.answer(q, verdict, decision) if decision.answer
                   else self.composer.refuse(q, verdict, decision, hits))
        ans.question = question
        ans.rewritten_query = q.rewritten
        if self.backend is not None and not ans.refused:
            from ..llm import synthesize

            ans = synthesize(q.query, self.evidence_for_llm(ans, hits), ans, self.backend, stream_cb=stream_cb)
        elif stream_cb is not None:
            stream_cb(ans.answer)
        ans.timings_ms = {**(ans.timings_ms or {}), "retrieve": round((t1 - t0) * 1000, 1),
                          "answer": round((time.perf_counter() - t1) * 1000, 1)}
        return ans

    def evidence_for_llm(self, ans: Answer, hits: list[Hit]) -> list[Citation]:
        """What an LLM backend may write from: the verified clauses first (numbered as in the extractive answer),
        then the other retrieved chunks, up to ``context_chunks``."""
        out = list(ans.citations)
        for h in hits:
            if len(out) >= max(self.settings.context_chunks, len(ans.citations)):
                break
            if not any(c.doc_id == h.doc_id and c.start < h.end and h.start < c.end for c in out):
                out.append(Citation(n=len(out) + 1, doc_id=h.doc_id, title=h.title, location=h.location, quote=h.text,
                                    start=h.start, end=h.end))
        return out

    @staticmethod
    def evidence_citations(hits: list[Hit]) -> list[Citation]:
        return [Citation(n=i + 1, doc_id=h.doc_id, title=h.title, location=h.location, quote=h.text,
                         start=h.start, end=h.end) for i, h in enumerate(hits)]
