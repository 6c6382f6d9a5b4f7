"""Composition: the reply from the verified evidence, or an honest refusal. No scoring happens here.

An answer quotes only clauses that passed verification (``Verdict.supported``), verbatim, each with a
numbered citation. A refusal says what is missing, in the terms of the check that failed, and cites the
near-topic clauses the documents do have ("规划提到了“新机场”，但没有给出具体地点").
"""
from __future__ import annotations

from dataclasses import replace

import re
from typing import Callable, Sequence

from ..corpus import normalize
from ..schema import Answer, Citation, ComparisonRow, Hit
from .columns import Sections
from .decide import Decision
from .evidence import Check, EvidenceConfig, Unit, Verdict
from .lead import AnswerLine, difference, faithful, figure_of, row_piece, spans_in
from .question import Question
from .rules import Slot

NOT_FOUND = "文档中未提及"


def quoted_ask(text: str) -> str:
    """An ask shown in quotes (“…分别定的多少”：文档中未提及): its own “十五五” become 「十五五」, so the quote ends where
    the ask does (readers, and the checks that drop such parts from the claims of a line, see one quote)."""
    return "“" + text.rstrip("?？").replace("“", "「").replace("”", "」") + "”"


GARBAGE = "请用中文描述与规划文件有关的问题，例如：“綦江到2030年城镇化率目标是多少？”"
# a clause the answer line says whole and this long (a why/how item group) is not quoted again under it: its
# place and [n] are (the [n] opens the verbatim quote); a shorter one is, so the evidence block reads as before
REPEAT_CHARS = 80
# a question asking the target and the result at once: 计划目标和实际结果, 目标…完成了吗/实现了没有
BOTH_ASPECTS = re.compile(r"(?:目标|计划|任务)[^，,。？?]{0,12}(?:实际|完成|实现|达成|兑现|结果)")
SLOT_MISSING = {Slot.NUMBER: "具体数字", Slot.TIME: "具体时间", Slot.PLACE: "具体地点", Slot.DEFINITION: "具体解释",
                Slot.LIST: "具体清单", Slot.ENTITY: "具体名称"}


class Composer:
    """``answer_line``: writes the direct answer line from a verified clause (None: replies start with the
    quoted clause, as before issue 13)."""

    def __init__(self, config: EvidenceConfig, texts: dict[str, str], markers: dict[str, str] | None = None,
                 titles: dict[str, str] | None = None, answer_line: AnswerLine | None = None,
                 region_of: Callable[[Unit], str] | None = None,
                 headings_of: Callable[[Hit], tuple[str, ...]] | None = None,
                 aspect_of: Callable[[Unit], set[str]] | None = None,
                 fits_document: Callable[[Question, str], bool] | None = None,
                 part_of: Callable[[Question, Unit], str | None] | None = None,
                 sections: Sections | None = None):
        self.config = config
        self.sections = sections            # a section's titled paragraphs (its measures, one per paragraph)
        self.texts = texts                  # doc_id -> original file text (quotes are cut from it)
        self.markers = markers or {}
        self.titles = titles or {}          # doc_id -> title, to name a side of a comparison the documents lack
        self.answer_line = answer_line
        self.region_of = region_of          # the region a clause's document is about (重庆市, 綦江区)
        self.headings_of = headings_of      # a chunk's heading texts, outermost first (for the titled location)
        self.aspect_of = aspect_of          # what a clause states: {"target"}, {"actual"} or both
        self.fits_document = fits_document  # could a document state the asked year/aspect (its plan or review year)
        self.part_of = part_of              # the part of the asked whole a clause's section is about (主城都市区)

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
        if (q.slot is Slot.WHY_HOW and cfg.section_measures and best.hit.kind == "paragraph"
                and (section := self._section(q, best)) is not None):
            return [section] + [u for u in picked if not (section.start <= u.start and u.end <= section.end)][:cfg.max_units - 1]
        if q.slot in (Slot.LIST, Slot.DEFINITION, Slot.WHY_HOW) and best.hit.kind not in ("table_row", "glossary", "item_list"):
            whole = self._group(best)
            if whole is not None:
                picked[0] = whole
                picked = [whole] + [u for u in picked[1:] if not (whole.start <= u.start and u.end <= whole.end)]
        return picked

    def _section(self, q: Question, best: Unit) -> Unit | None:
        """How a section's goal is pursued, asked (打造…汽车之都主要从哪几个方面推进？): the section's titled paragraphs
        are its measures, so the answer is all of them, not the one paragraph that matched best (holdout10: why/how
        keyword 0.65, one paragraph quoted of four). Only when the section's own title says what is asked."""
        members = self.sections.of(best.hit.chunk_id) if self.sections is not None else []
        if not members:
            return None
        title = normalize(members[0].headings[-1])
        words = [t for t in q.terms if t.known and not t.specific]
        total = sum(t.weight for t in words)
        held = lambda text: [t for t in words if any(f in text for f in t.forms)]  # noqa: E731
        in_title = held(title)
        # one word (堵车 -> 交通 of 高水平建设交通强市) names no section's goal; and the section's title must say what
        # is asked better than the paragraph that matched (中心城区堵车 is one paragraph's 缓堵促畅, not 完善现代综合
        # 交通体系's whole section: dev C054)
        if not total or len(in_title) < 2:
            return None
        weight = lambda ts: sum(t.weight for t in ts) / total  # noqa: E731
        if weight(in_title) < max(self.config.section_share, weight(held(normalize(best.hit.match_text)))):
            return None
        a, b = members[0].start, members[-1].end
        text = self.texts[best.hit.doc_id][a:b]
        hit = Hit(doc_id=best.hit.doc_id, title=best.hit.title, location=best.hit.location, text=text, start=a, end=b,
                  score=best.hit.score, chunk_id=members[0].chunk_id, kind="section", match_text=text)
        return Unit(hit, best.rank, text, a, b, best.headings, best.score)

    def _group(self, best: Unit) -> Unit | None:
        """The item group around the best sentence: the whole chunk when it is short enough, else the best
        sentence and the ones after it up to ``whole_group_chars`` ("三是通道优势。" is a title: its reasons follow)."""
        from ..parse import align

        cfg, h = self.config, best.hit
        text = h.match_text
        if len(text) <= cfg.whole_group_chars:
            return Unit(h, best.rank, text, h.start, h.end, best.headings, best.score)
        a = text.find(best.text)
        if a < 0:
            return None
        window = text[a:a + cfg.whole_group_chars]
        cut = max((m.end() for m in re.finditer(r"[。！？!?]", window)), default=0)
        if cut <= len(best.text):
            return None
        try:
            pos = align(h.text, text)
        except ValueError:
            return None
        b = a + cut
        sub = text[a:b].rstrip()
        return Unit(h, best.rank, sub, h.start + pos[a], h.start + pos[a + len(sub) - 1] + 1, best.headings, best.score)

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
        found = {u.hit.doc_id for u in lead}         # a side of a comparison no clause supports is said, not dropped
        check = self._check_of(verdict, picked)
        if q.compared_docs and (len(lead) >= 2 or any(d not in found for d in q.compared_docs)):
            # a comparison of named documents: each side labelled by its document
            pieces = [(f"《{u.hit.title}》", u, check(u), n) for n, u in enumerate(lead, 1)]
            pieces += [(f"《{self.titles.get(d, d)}》", None, None, None) for d in q.compared_docs if d not in found]
        else:
            sides = []
            if q.compare and len(q.subject.places) >= 2 and self.region_of is not None:
                # 重庆和綦江分别…: each place's value, from its own clause, in the order the places are asked
                sides = [(p, lambda x, p=p: self.region_of(x) == p or p in x.text) for p in q.subject.places]
            elif BOTH_ASPECTS.search(q.normalized) and self.aspect_of is not None:
                # 计划目标和实际结果分别是多少 / 目标最后完成了吗: the planned figure and the result, each from its clause
                sides = [(label, self._aspect_side(q, a, lead + rest)) for label, a in (("目标", "target"), ("实际", "actual"))]
            pieces = self._labelled(sides, lead + rest, check) or [("", u, check(u), n) for n, u in enumerate(lead, 1)]
        direct, said, table = self.direct_line(q, pieces, cites)
        lines = [direct, ""] if direct else []
        lines += self.table_lines(table)
        lines += [self._evidence(u, n, id(u) in said) for n, u in enumerate(lead, 1)]
        lines += [f"关于《{self.titles.get(d, d)}》：{NOT_FOUND}相应内容。" for d in q.compared_docs if d not in found]
        if rest:
            lines += ["", "相关条款："]
            lines += ["- " + self._evidence(u, n, id(u) in said, lead_word="")
                      for n, u in enumerate(rest, len(lead) + 1)]
        return Answer(question=q.text, answer="\n".join(lines), refused=False, citations=cites, backend="extractive",
                      lead=direct, table=table)

    @staticmethod
    def table_lines(table: Sequence[ComparisonRow]) -> list[str]:
        """The comparison table as text under the answer line (the chat and the widget draw it as a table)."""
        if not table:
            return []
        return ["对象｜年份｜数值｜出处"] + [f"{r.side}｜{r.year or '—'}｜{r.value}｜{r.cite or '—'}" for r in table] + [""]

    def _aspect_side(self, q: Question, aspect: str, quoted: Sequence[Unit]) -> Callable[[Unit], bool]:
        """The predicate of the 目标 or 实际 side: a clause stating that aspect, from a document that can state it
        for the asked year (2024's target from the 2024 plan, not the 2025 plan's 65万人) when one is quoted."""
        states = lambda x: self.aspect_of(x) == {aspect}  # noqa: E731
        if self.fits_document is None or not q.timeframe.years:
            return states
        asked = replace(q, timeframe=replace(q.timeframe, aspect=aspect))
        dated = lambda x: states(x) and self.fits_document(asked, x.hit.doc_id)  # noqa: E731
        return dated if any(dated(x) for x in quoted) else states

    @staticmethod
    def _labelled(sides, quoted: Sequence[Unit], check: Callable[[Unit], Check | None]):
        """One answer-line piece per side (label, predicate): the first quoted clause the predicate holds for, with
        its citation number (``quoted`` is in citation order); None unless two or more sides have clauses of their own."""
        pieces = []
        for label, holds in sides:
            u = next((x for x in quoted if holds(x)), None)
            pieces.append((label, u, check(u) if u is not None else None, quoted.index(u) + 1 if u is not None else None))
        return pieces if len({id(p[1]) for p in pieces if p[1] is not None}) >= 2 else None

    def _evidence(self, u: Unit, n: int, said: bool, lead_word: str = "根据") -> str:
        """One quoted clause; only its place when the answer line above already says the whole clause."""
        where = f"{lead_word}《{u.hit.title}》{u.hit.location}"
        return f"{where}[{n}]" if said else f"{where}：{self.display(u)}[{n}]"

    @staticmethod
    def _is_whole(value: str, u: Unit) -> bool:
        from ..corpus import normalize

        return re.sub(r"\W", "", normalize(value)) == re.sub(r"\W", "", normalize(u.text))

    @staticmethod
    def _check_of(verdict: Verdict, picked: Sequence[Unit]) -> Callable[[Unit], Check | None]:
        """The verifier's check of a quoted clause; the whole clause quoted around the best sentence has the
        best sentence's check."""
        checks = {id(c.unit): c for c in verdict.supported}
        best = verdict.supported[0] if verdict.supported else None
        return lambda u: checks.get(id(u)) or (best if picked and u is picked[0] else None)

    # -- the answer line ----------------------------------------------------------------------
    def direct_line(self, q: Question, pieces: Sequence[tuple[str, Unit | None, Check | None, int | None]],
                    cites: list[Citation]) -> tuple[str | None, set[int]]:
        """The answer line: per piece (label, clause, its check, its citation number) the clause's value with its
        [n]; a piece with no clause says the documents do not answer it. A 专栏 row's column years are cited
        from the table header (appended to ``cites``). None when there is no writer or the line is not faithful.
        Also: the ids of the clauses the line says whole (their evidence line need not repeat them)."""
        if self.answer_line is None or not pieces:
            return None, set(), []
        out = []
        whole: set[int] = set()
        added: list[Citation] = []
        for label, u, c, n in pieces:
            if u is None:
                out.append((label, NOT_FOUND, ""))
                continue
            value = (f"见《{u.hit.title}》{self.path(u.hit)}" if q.where
                     else self.answer_line.value(q, u, spans_in(c, u)))
            if not value:
                return None, set(), []
            if len(value) > REPEAT_CHARS and self._is_whole(value, u):
                whole.add(id(u))
            marks = f"[{n}]"
            if u.hit.kind == "table_row":
                header = self._header_citation(u, len(cites) + len(added) + 1)
                if header is not None and not any(h.start == header.start for h in added):
                    added.append(header)
                if header is not None:
                    marks += f"[{next(h.n for h in added if h.start == header.start)}]"
            same = next((i for i, (lab, val, _) in enumerate(out) if lab == label and val == value), None)
            if same is not None:          # two asks answered by the same words: said once, both cited
                out[same] = (label, value, out[same][2] + marks)
                continue
            out.append((label, value, marks))
        if q.difference:
            out.append(self._difference(q, pieces, out))
        line = "；".join(f"{lab}：{val}{mk}" if lab else f"{val}{mk}" for lab, val, mk in out)
        every = cites + added
        claims = "；".join(f"{val}{mk}" for _, val, mk in out if mk)     # an unanswered ask's words claim nothing
        if not faithful(claims, [c.quote for c in every], [c.location for c in every] + [c.path for c in every]):
            return None, set(), []
        cites.extend(added)
        return line, whole, self.table(q, pieces, out)

    def table(self, q: Question, pieces, out: list[tuple[str, str, str]]) -> list[ComparisonRow]:
        """One row per labelled side of the line (two or more sides: documents, places, 目标/实际), with the figure
        each states (verbatim, with its unit) and its year; none when a side states several figures or none."""
        sides = [(p, o) for p, o in zip(pieces, out) if p[0]]
        if len(sides) < 2:
            return []
        rows = []
        for (label, u, _, _), (_, value, marks) in sides:
            label = label.strip("《》")
            if u is None:
                rows.append(ComparisonRow(label, "", NOT_FOUND, ""))
                continue
            cell = row_piece(value) if u.hit.kind == "table_row" else None
            if cell:          # 人均地区生产总值（万元）：2030年目标 14（2025年 10.59） -> 2030年目标 | 14万元
                m = re.match(r"(.*?\d)(左右|以上|以下|以内)?$", cell.value)      # 75左右 (%) -> 75%左右
                year = cell.column
                shown = (m.group(1) + cell.unit + (m.group(2) or "")) if m else cell.value
            else:
                several = len(re.findall(r"(?<![\d.])\d+(?:\.\d+)?(?!\s*年)", value)) > 1
                fig = None if several else figure_of(value)      # 面积和产量分别达到3012万亩、108.1亿公斤: say both
                dated = re.search(r"(?:19|20)\d{2}\s*年(?:目标|末|底)?", value)
                # undated clause: the question's year, when it asks one (a part's own year is not known here)
                year = dated.group(0) if dated else (f"{q.timeframe.years[0]}年" if len(q.timeframe.years) == 1
                                                     and not q.parts else "")
                if fig is None:
                    return []       # a side that states several figures or none: the line says it better than a cell
                shown = f"{fig[0]}{fig[1]}"
            rows.append(ComparisonRow(label, year, shown if len(shown) <= 60 else shown[:58] + "……", marks))
        return rows

    def _difference(self, q: Question, pieces, out: list[tuple[str, str, str]]) -> tuple[str, str, str]:
        """The piece a difference question adds to the line: the arithmetic of two cited figures, or that the
        documents do not state it. One 专栏 row: its later asked column minus the earlier (比2025年高多少). Two sides
        (綦江比全市高多少, 目标还差多少): the larger figure minus the smaller, both with the same unit."""
        answered = [(p, o) for p, o in zip(pieces, out) if p[1] is not None]
        shown = None
        if len(answered) == 1 and answered[0][0][1].hit.kind == "table_row":
            shown = AnswerLine.row_difference(q, answered[0][0][1].text)
        elif len(answered) == 2:
            a, b = (figure_of(o[1], row=p[1].hit.kind == "table_row") for p, o in answered)
            if a and b and (a[1] == b[1] or not a[1] or not b[1]):
                a, b = sorted((a, b), key=lambda f: float(f[0]), reverse=True)
                shown = difference(a[0], b[0], (a[1] or b[1]).replace("%", "个百分点"))
        if shown is None:
            return ("差值", "文档未直接给出，也无法由两个确数算出", "")
        return ("差值", shown, "".join(o[2] for _, o in answered))

    def _header_citation(self, u: Unit, n: int) -> Citation | None:
        """The header of the 专栏 table a row belongs to (序号 指标名称 2025年 2030年目标 属性), found in the file
        before the row: its years label the row's values."""
        cells = next((tok.split("｜") for tok in u.headings.split() if "｜" in tok), None)
        text = self.texts.get(u.hit.doc_id, "")
        if not cells or not text:
            return None
        pattern = re.compile(r"\s*".join(r"\s*".join(map(re.escape, c)) for c in cells if c))
        found = None
        for m in pattern.finditer(text, max(0, u.start - 20000), u.start):
            found = m
        if found is None:
            return None
        return Citation(n=n, doc_id=u.hit.doc_id, title=u.hit.title, location=re.sub(r"「[^」]*」", "表头", u.hit.location),
                        quote=text[found.start():found.end()], start=found.start(), end=found.end(),
                        path=re.sub(r"「[^」]*」", "表头", self.path(u.hit)))

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

        pieces: list[tuple[str, Unit | None, Check | None, int | None]] = []
        firsts: dict[int, Unit] = {}
        for i, (part, v, d) in enumerate(answered):
            picked = self.pick(part, v)
            n = cite(picked[0])
            firsts[id(part)] = picked[0]
            if n is not None:
                pieces.append(("", picked[0], self._check_of(v, picked)(picked[0]), n))
                where = self._evidence(picked[0], n, False)
                lines.append(where if i == 0 else f"关于{quoted_ask(part.text)}：{where}")
            extra += picked[1:]
        more = [(u, cite(u)) for u in extra[: self.config.max_units]]
        more = [(u, n) for u, n in more if n is not None]
        if more:
            lines += ["", "相关条款："]
            lines += ["- " + self._evidence(u, n, False, lead_word="") for u, n in more]
        for part, v, d, _ in results:
            if not d.answer:
                lines.append(f"关于{quoted_ask(part.text)}：{NOT_FOUND}（{self.notice(part, v, d)}）。")
        # the answer line answers each ask in the order asked, and says which the documents do not answer
        ordered = []
        for part, v, d, _ in results:
            if d.answer:
                ordered += [p for p in pieces if p[1] is firsts.get(id(part)) and p not in ordered]
            else:
                ordered.append((quoted_ask(part.text), None, None, None))
        ordered = self._side_labels(q, ordered)
        direct, _, table = (self.direct_line(q, ordered, cites) if any(p[1] is not None for p in ordered)
                            else (None, set(), []))
        if direct:
            lines = [direct, ""] + self.table_lines(table) + lines
        return Answer(question=q.text, answer="\n".join(lines), refused=False, citations=cites, backend="extractive",
                      lead=direct, table=table if direct else [])

    def _side_labels(self, q: Question, pieces):
        """The asks of "全重庆…是多少？綦江区定的又是多少？" are the sides of a comparison: each answered piece
        labelled by what tells its clause from the others' (its place, else its document, else 目标/实际)."""
        units = [p[1] for p in pieces if p[1] is not None]
        if len(units) < 2 or any(p[0] for p in pieces if p[1] is not None):
            return pieces
        ways = [(self.region_of, lambda r: r), (lambda u: u.hit.doc_id, lambda d: f"《{self.titles.get(d, d)}》"),
                (lambda u: "/".join(sorted(self.aspect_of(u))) if self.aspect_of else None,
                 lambda a: {"target": "目标", "actual": "实际"}.get(a))]
        if BOTH_ASPECTS.search(q.normalized):          # 目标是多少，实际做到了多少: the aspects are the sides
            ways = [ways[2], ways[0], ways[1]]
        for key, name in ways:
            if key is None:
                continue
            keys = [key(u) for u in units]
            if all(keys) and len(set(keys)) == len(keys) and all(name(k) for k in keys):
                labels = iter(name(k) for k in keys)
                return [(next(labels), *p[1:]) if p[1] is not None else p for p in pieces]
        return pieces

    def citation(self, n: int, u: Unit) -> Citation:
        return Citation(n=n, doc_id=u.hit.doc_id, title=u.hit.title, location=u.hit.location,
                        quote=self.texts[u.hit.doc_id][u.start:u.end], start=u.start, end=u.end, path=self.path(u.hit))

    def path(self, h: Hit) -> str:
        """The location with the headings' titles: "第六篇 … 第十五章 着力扩大有效投资 第二节 打造综合能源保障基地",
        then what the location adds below the headings (「indicator」 of a 专栏 row, 一是…)."""
        heads = [re.sub(r"\s+", " ", x).strip() for x in (self.headings_of(h) if self.headings_of else ())]
        heads = [x for x in heads if x and "｜" not in x]          # a table's header row is not a heading
        if not heads:
            return h.location
        firsts = {x.split(" ")[0] for x in heads}
        tail = [tok for tok in h.location.split() if tok not in firsts and not any(x.startswith(tok) for x in heads)]
        words = " ".join(heads + tail).split(" ")
        return " ".join(w for i, w in enumerate(words) if i == 0 or w != words[i - 1])     # 附件 名词解释 名词解释

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
                          start=h.start, end=h.end, path=self.path(h)) for i, h in enumerate(near_hits)]
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
        if reason == "opinion":
            return "规划文件只陈述目标和举措，不对其能否实现作评价或预测"
        if reason == "day":
            return "规划文件不提供某一天的天气、交通、新闻等即时信息"
        if reason == "task":
            return "这里只回答规划文件中写明的内容，不代写诗文或完成其他任务"
        if reason == "recommend":
            return "规划文件不对商家、店铺作推荐"
        if reason == "specific" and verdict.missing:
            return "文档中未出现：" + "、".join(verdict.missing)
        if reason == "specific":                  # the name is in the documents, never in a clause on the topic
            return f"文档提到了{said or '相关内容'}，但没有同时给出问题所问的对象"
        if reason == "subject":
            places = "、".join(q.subject.regions) or "所问对象"
            part = self.part_of(q, near.unit) if near and self.part_of else None
            if part:                              # 全市… asked, the figures found are 主城都市区's
                return f"文档中没有{places}整体的这项内容，找到的是关于{part}的内容"
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
