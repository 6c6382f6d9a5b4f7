"""Composition: the reply from the verified evidence, or an honest refusal. No scoring happens here.

An answer quotes only clauses that passed verification (``Verdict.supported``), verbatim, each with a
numbered citation. A refusal says what is missing, in the terms of the check that failed, and cites the
near-topic clauses the documents do have ("规划提到了“新机场”，但没有给出具体地点").
"""
from __future__ import annotations

from typing import Sequence

from ..schema import Answer, Citation, Hit
from .decide import Decision
from .evidence import Check, EvidenceConfig, Unit, Verdict
from .question import Question
from .rules import Slot

NOT_FOUND = "文档中未提及"
GARBAGE = "请用中文描述与规划文件有关的问题，例如：“綦江到2030年城镇化率目标是多少？”"
SLOT_MISSING = {Slot.NUMBER: "具体数字", Slot.TIME: "具体时间", Slot.PLACE: "具体地点", Slot.DEFINITION: "具体解释",
                Slot.LIST: "具体清单", Slot.ENTITY: "具体名称"}


class Composer:
    def __init__(self, config: EvidenceConfig, texts: dict[str, str], markers: dict[str, str] | None = None,
                 titles: dict[str, str] | None = None):
        self.config = config
        self.texts = texts                  # doc_id -> original file text (quotes are cut from it)
        self.markers = markers or {}
        self.titles = titles or {}          # doc_id -> title, to name a side of a comparison the documents lack

    # -- answers ----------------------------------------------------------------------------
    def pick(self, q: Question, verdict: Verdict) -> list[Unit]:
        """The clauses to quote: the best supported one, the best of each side of a comparison, then others
        close to the best; for list/definition/why-how questions the whole clause around the best sentence."""
        cfg = self.config
        ranked = [c.unit for c in verdict.supported]
        best = ranked[0]
        picked = [best]
        if q.compare:
            sides = self._sides(q, verdict.supported)
            for side in sides:
                u = next((c.unit for c in verdict.supported if side(c)), None)
                if u is not None and u not in picked:
                    picked.append(u)
        for u in ranked[1:]:
            if len(picked) >= cfg.max_units:
                break
            if u in picked or u.score < best.score * cfg.keep_ratio:
                continue
            if any(abs(u.start - p.start) < 5 for p in picked):
                continue
            picked.append(u)
        if q.slot in (Slot.LIST, Slot.DEFINITION, Slot.WHY_HOW) and best.hit.kind != "table_row":
            whole = Unit(best.hit, best.rank, best.hit.match_text, best.hit.start, best.hit.end, best.headings, best.score)
            if len(whole.text) <= cfg.whole_group_chars:
                picked[0] = whole
                picked = [whole] + [u for u in picked[1:] if not (whole.start <= u.start and u.end <= whole.end)]
        return picked

    @staticmethod
    def _sides(q: Question, supported: Sequence[Check]):
        """One predicate per side of a comparison: per named document, else per place, else per document."""
        if q.compared_docs:
            return [lambda c, d=d: c.unit.hit.doc_id == d for d in q.compared_docs]
        if len(q.subject.places) >= 2:
            return [lambda c, p=p: p in c.unit.text or c.subject_via == "region" and p in c.unit.headings
                    for p in q.subject.places]
        docs = list(dict.fromkeys(c.unit.hit.doc_id for c in supported))[:3]
        return [lambda c, d=d: c.unit.hit.doc_id == d for d in docs]

    def answer(self, q: Question, verdict: Verdict, decision: Decision | None = None) -> Answer:
        picked = self.pick(q, verdict)
        lead = self._side_units(q, picked) or picked[:1]      # a comparison states each side, in the order asked
        rest = [u for u in picked if u not in lead]
        cites = [self.citation(n, u) for n, u in enumerate(lead + rest, 1)]
        lines = [f"根据《{u.hit.title}》{u.hit.location}：{self.display(u)}[{n}]" for n, u in enumerate(lead, 1)]
        found = {u.hit.doc_id for u in lead}         # a side of a comparison no clause supports is said, not dropped
        lines += [f"关于《{self.titles.get(d, d)}》：{NOT_FOUND}相应内容。" for d in q.compared_docs if d not in found]
        if rest:
            lines += ["", "相关条款："]
            lines += [f"- 《{u.hit.title}》{u.hit.location}：{self.display(u)}[{n}]" for n, u in enumerate(rest, len(lead) + 1)]
        return Answer(question=q.text, answer="\n".join(lines), refused=False, citations=cites, backend="extractive")

    @staticmethod
    def _side_units(q: Question, picked: Sequence[Unit]) -> list[Unit]:
        """For a question naming two or more documents, the best picked clause of each, in the order named."""
        out = [next((u for u in picked if u.hit.doc_id == d), None) for d in q.compared_docs]
        out = [u for u in out if u is not None]
        return out if len(out) >= 2 else []

    def answer_parts(self, q: Question, results: Sequence[tuple[Question, Verdict, Decision, Sequence[Hit]]]) -> Answer:
        """A question with several asks: the best clause of each answered part first ([1], [2] …, in the order
        asked), then the other supporting clauses; a part the documents do not answer says so. All parts
        refused -> one refusal."""
        answered = [(p, v, d) for p, v, d, _ in results if d.answer]
        if not answered:
            p, v, d, hits = results[0]
            refusal = self.refuse(p, v, d, [h for *_, hs in results for h in hs])
            refusal.question = q.text
            return refusal
        cites: list[Citation] = []
        lines: list[str] = []
        extra: list[Unit] = []

        def cite(u: Unit) -> int | None:
            if any(c.doc_id == u.hit.doc_id and c.start == u.start and c.end == u.end for c in cites):
                return None
            cites.append(self.citation(len(cites) + 1, u))
            return len(cites)

        for i, (part, v, d) in enumerate(answered):
            picked = self.pick(part, v)
            n = cite(picked[0])
            if n is not None:
                where = f"根据《{picked[0].hit.title}》{picked[0].hit.location}：{self.display(picked[0])}[{n}]"
                lines.append(where if i == 0 else f"关于“{part.text.rstrip('?？')}”：{where}")
            extra += picked[1:]
        more = [(u, cite(u)) for u in extra[: self.config.max_units]]
        more = [(u, n) for u, n in more if n is not None]
        if more:
            lines += ["", "相关条款："]
            lines += [f"- 《{u.hit.title}》{u.hit.location}：{self.display(u)}[{n}]" for u, n in more]
        for part, v, d, _ in results:
            if not d.answer:
                lines.append(f"关于“{part.text.rstrip('?？')}”：{NOT_FOUND}（{self.notice(part, v, d)}）。")
        return Answer(question=q.text, answer="\n".join(lines), refused=False, citations=cites, backend="extractive")

    def citation(self, n: int, u: Unit) -> Citation:
        return Citation(n=n, doc_id=u.hit.doc_id, title=u.hit.title, location=u.hit.location,
                        quote=self.texts[u.hit.doc_id][u.start:u.end], start=u.start, end=u.end)

    @staticmethod
    def display(u: Unit) -> str:
        if u.hit.kind == "table_row":
            return u.text.replace("｜", "，") + "。"
        return u.text

    # -- refusals ---------------------------------------------------------------------------
    def refuse(self, q: Question, verdict: Verdict, decision: Decision, hits: Sequence[Hit]) -> Answer:
        near_hits = self._near_hits(verdict, hits)
        notice = self.notice(q, verdict, decision)
        cites = [Citation(n=i + 1, doc_id=h.doc_id, title=h.title, location=h.location, quote=h.text,
                          start=h.start, end=h.end) for i, h in enumerate(near_hits)]
        text = f"{NOT_FOUND}与该问题直接相关的内容。{notice}。"
        if cites:
            text += "\n以下是最接近的条款，供参考：\n" + "\n".join(f"- 《{c.title}》{c.location}[{c.n}]" for c in cites)
        return Answer(question=q.text, answer=text, refused=True, citations=cites, backend="extractive", notice=notice)

    def garbage(self, question: str) -> Answer:
        return Answer(question=question, answer=f"{NOT_FOUND}与该问题直接相关的内容。{GARBAGE}", refused=True,
                      citations=[], backend="extractive", notice=GARBAGE)

    @staticmethod
    def _near_hits(verdict: Verdict, hits: Sequence[Hit], limit: int = 3) -> list[Hit]:
        """The chunks of the near-topic clauses (best first), else the top hits."""
        out: list[Hit] = []
        for c in verdict.near:
            if c.unit.hit not in out:
                out.append(c.unit.hit)
        for h in hits:
            if len(out) >= limit:
                break
            if h not in out:
                out.append(h)
        return out[:limit]

    def notice(self, q: Question, verdict: Verdict, decision: Decision) -> str:
        reason = decision.reason or verdict.reason or "topic"
        near = verdict.near[0] if verdict.near else None
        said = self._topic_words(q, near) if near else ""
        if reason == "specific" and verdict.missing:
            return "文档中未出现：" + "、".join(verdict.missing)
        if reason == "specific":                  # the name is in the documents, never in a clause on the topic
            return f"文档提到了{said or '相关内容'}，但没有同时给出问题所问的对象"
        if reason == "subject":
            places = "、".join(q.subject.regions) or "所问对象"
            where = f"，找到的是《{near.unit.hit.title}》中的内容" if near else ""
            return f"文档中没有关于{places}的这项内容{where}"
        if reason == "time":
            tf = q.timeframe
            if tf.aspect == "actual":
                return f"文档提到了{said or '相关内容'}，但只有目标或计划，没有给出实际完成情况"
            if tf.aspect == "target" and not tf.years:
                return f"文档提到了{said or '相关内容'}，但没有给出目标"
            years = "、".join(f"{y}年" for y in tf.years) or ("所问时期" if tf.period else "所问年份")
            return f"文档提到了{said or '相关内容'}，但没有给出{years}的相应内容"
        if reason == "slot":
            return f"文档提到了{said or '相关内容'}，但没有给出{SLOT_MISSING.get(q.slot, '所问内容')}"
        if reason == "confidence":
            if near is not None and near.failed in ("slot", "time", "subject"):   # what the near-topic clauses lack
                return self.notice(q, verdict, Decision(False, decision.probability, near.failed))
            return "最相关的条款与问题的对应不够明确，为避免答非所问，不作回答"
        return "没有找到与问题相关的条款"

    @staticmethod
    def _topic_words(q: Question, c: Check) -> str:
        from ..corpus import normalize

        text = normalize(c.unit.text + " " + c.unit.headings)
        words = [t for t in sorted(q.known_terms, key=lambda t: -t.weight) if any(f in text for f in t.forms)]
        shown = []
        for t in words:
            form = next(f for f in t.forms if f in text)
            if not any(form in s or s in form for s in shown):
                shown.append(form)
        return "、".join(f"“{w}”" for w in shown[:3])
