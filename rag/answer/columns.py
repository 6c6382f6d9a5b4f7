"""A list asked of a 专栏 (or any numbered item group): its members are the group's item titles.

“五型”国家物流枢纽是哪五种？ is answered by 专栏20's items 1．港口型国家物流枢纽 … 5．商贸服务型国家物流枢纽, each a chunk
of its own under the same headings: no single clause lists them, so the slot check of one clause refuses. This
part finds, for a list question, the item group of a retrieved item chunk whose titles (or whose heading) hold the
asked thing, and gives it as one quotable unit spanning those items in the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..corpus import normalize
from ..schema import Hit
from .question import Question
from .slots import has

TITLE_NUMBER = re.compile(r"^\s*(?:\d{1,2}\s*[．.、]|[（(][一二三四五六七八九十\d]{1,3}[）)])\s*")
TITLE_END = re.compile(r"[。：:；;]")
MAX_TITLE_CHARS = 30        # longer "titles" are whole sentences (1．数据存储与灾备服务：积极承接…)


@dataclass(frozen=True)
class Member:
    chunk_id: str
    title: str              # the item's title without its number: 港口型国家物流枢纽
    start: int
    end: int                # the end of its last chunk


@dataclass(frozen=True)
class ItemGroup:
    doc_id: str
    title: str              # the document's title
    location: str           # the group's location: 第八篇 第二十六章 第一节 专栏20
    headings: tuple[str, ...]
    members: tuple[Member, ...]


def item_title(heading: str) -> str | None:
    """'2．陆港型国家物流枢纽' -> '陆港型国家物流枢纽'; None for a heading that is no numbered item title."""
    m = TITLE_NUMBER.match(heading)
    if not m:
        return None
    title = TITLE_END.split(heading[m.end():])[0].strip()
    return title if 2 <= len(title) <= MAX_TITLE_CHARS else None


class ItemGroups:
    """The numbered item groups of the index's chunks (items under the same headings, in file order)."""

    def __init__(self, chunks: Sequence, min_members: int = 2):
        groups: dict[tuple[str, tuple[str, ...]], list] = {}
        self._of: dict[str, tuple[str, tuple[str, ...]]] = {}
        for c in chunks:
            if c.kind != "item" or len(c.headings) < 2 or (title := item_title(c.headings[-1])) is None:
                continue
            key = (c.doc_id, tuple(c.headings[:-1]))
            members = groups.setdefault(key, [])
            if members and members[-1][1] == title:
                members[-1][3] = max(members[-1][3], c.end)       # a long item in several chunks
            else:
                members.append([c.chunk_id, title, c.start, c.end, c])
            self._of[c.chunk_id] = key
        self.groups: dict[tuple[str, tuple[str, ...]], ItemGroup] = {}
        for key, ms in groups.items():
            if len(ms) < min_members:
                continue
            first = ms[0][4]
            location = " ".join(first.location.split()[:-1]) or first.location
            self.groups[key] = ItemGroup(key[0], first.title, location, key[1],
                                         tuple(Member(cid, t, a, b) for cid, t, a, b, _ in ms))

    def of(self, chunk_id: str) -> ItemGroup | None:
        key = self._of.get(chunk_id)
        return self.groups.get(key) if key else None


def listed_members(q: Question, group: ItemGroup, words: Sequence, size: int | None) -> tuple[Member, ...]:
    """The members a list question asks of ``group``: those whose title holds the asked ``words``' heaviest plain
    word and at least half the best title's weight of them (枢纽港产业园能力提升 shares only 枢纽 with
    港口型国家物流枢纽); () when they are not the asked number (哪五种) or fewer than two."""
    def holds(t: str, x) -> bool:
        return any(has(t, f) for f in x.forms)

    # the heaviest word of what is asked must be in every member's title: 物流 of “五型”国家物流枢纽; the action
    # plan's 1．增强国家中心城市核心功能… share 国家 or 城市 with many questions, never 友好城市 or 口岸
    plain = [x for x in words if not x.specific and not x.everyday] or [x for x in words if not x.specific]
    if not plain:
        return named_members(group, words, size)
    head = max(plain, key=lambda x: x.weight)
    titles = [normalize(m.title) for m in group.members]
    scores = [sum(x.weight for x in words if holds(t, x)) if holds(t, head) else 0.0 for t in titles]
    best = max(scores, default=0.0)
    picked = tuple(m for m, s in zip(group.members, scores) if best and s >= 0.5 * best)
    if len(picked) < 2 or (size is not None and len(picked) != size):
        # no title names what is asked: the heading may; a title that does (3．“金名片”产业集群) is one member asked
        return headed_members(group, words, size) if not best else ()
    return picked


def headed_members(group: ItemGroup, words: Sequence, size: int | None) -> tuple[Member, ...]:
    """未来产业新赛道有哪些？: the group's own heading (专栏8 未来产业新赛道) is what is asked — it holds every plain
    word of the question, two at least — so its members are the list, whatever their titles say (具身智能, 脑机接口…)."""
    if not group.headings:
        return ()
    head = normalize(group.headings[-1])
    plain = [x for x in words if not x.specific]
    found = [x for x in plain if any(has(head, f) for f in x.forms)]
    if len(found) < 2 or len(found) < len(plain):
        return ()
    return _whole_group(group, size)


def _whole_group(group: ItemGroup, size: int | None) -> tuple[Member, ...]:
    """All of ``group``'s members, when there are two at least and, if a size is asked, that many."""
    members = tuple(group.members)
    return members if len(members) >= 2 and (size is None or len(members) == size) else ()


def named_members(group: ItemGroup, words: Sequence, size: int | None) -> tuple[Member, ...]:
    """“九治”是治些啥子: the question names the set only by its code, which the group's heading names (专栏39 一体推进
    “九治”重点工程): all its members, when there are as many as the code counts (九治: 9) or the question asks."""
    heads = normalize(" ".join(group.headings))
    named = [x for x in words if x.specific and any(has(heads, f) for f in x.forms)]
    if not named:
        return ()
    n = size if size is not None else code_size(named[0].text)
    return _whole_group(group, n)


def code_size(code: str) -> int | None:
    """九治 -> 9, 五篇大文章 -> 5, 十大行动 -> 10; None when the code starts with no single numeral (33618, 六区一高地
    is 六 though: it counts the first part's members, which is why the members' number must then match)."""
    m = re.match(r"([一二三四五六七八九十])(?![一二三四五六七八九十])", code)
    return "一二三四五六七八九十".index(m.group(1)) + 1 if m else None


def group_hit(group: ItemGroup, members: Sequence[Member], texts: Mapping[str, str], score: float) -> Hit:
    """One hit spanning ``members`` in the file (verbatim text: the file between the first's start and the last's
    end); its matching text is the members' chunks' text joined."""
    a, b = members[0].start, members[-1].end
    raw = texts[group.doc_id][a:b]
    return Hit(doc_id=group.doc_id, title=group.title, location=group.location, text=raw, start=a, end=b,
               score=score, chunk_id=members[0].chunk_id, kind="item_list",
               match_text=re.sub(r"\s*\n\s*", "", raw))


# a paragraph opening with a short title sentence (提升汽车产业链主导力和控制力。推进…): one measure of its section
PARAGRAPH_TITLE = re.compile(r"\s*([^。！？!?；;\n]{4,24})。")


def paragraph_title(text: str) -> str | None:
    """'提升汽车产业链主导力和控制力。推进…' -> '提升汽车产业链主导力和控制力'; None when the paragraph opens otherwise."""
    m = PARAGRAPH_TITLE.match(text)
    return m.group(1).strip() if m and len(text) > m.end() else None


class Sections:
    """The titled paragraphs of each section (chunks of kind paragraph under the same headings, in file order, each
    opening with a short title sentence): a section's measures, one per paragraph (第一节 打造…汽车之都: 提升汽车
    产业链主导力和控制力。/ 增强汽车产业创新策源力。/ 培育世界级汽车品牌。/ 构建一流汽车产业生态。)."""

    def __init__(self, chunks: Sequence, min_members: int = 2, max_members: int = 6):
        groups: dict[tuple[str, tuple[str, ...]], list] = {}
        for c in chunks:
            if c.kind == "paragraph" and c.headings:
                groups.setdefault((c.doc_id, tuple(c.headings)), []).append(c)
        self._of: dict[str, list] = {}
        for members in groups.values():
            members.sort(key=lambda c: c.start)
            if min_members <= len(members) <= max_members and all(paragraph_title(c.text) for c in members):
                for c in members:
                    self._of[c.chunk_id] = members

    def of(self, chunk_id: str) -> list:
        return self._of.get(chunk_id, [])
