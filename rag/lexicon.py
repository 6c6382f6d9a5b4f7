"""Domain lexicon: jieba tokenizer with a domain dictionary (glossary terms, quoted codes such as
“33618”, table indicator names, place names) and the glossary used for query expansion."""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

from .corpus import normalize
from .schema import Chunk

QUOTED = re.compile(r"[“\"「『]([^”\"」』]{1,20})[”\"」』]")
CODE = re.compile(r"[0-9][0-9+＋.]*[0-9]|[A-Za-z]+[0-9]+[A-Za-z0-9]*")
NUMBER = re.compile(r"[a-z]*\d+(?:\.\d+)?[a-z0-9]*%?")
# A small domain thesaurus: everyday words -> the wording of plan documents (query side only).
SYNONYMS = {
    "gdp": ["地区生产总值"], "年轻人": ["青年"], "老人": ["老年人", "养老"], "小孩": ["儿童", "婴幼儿"],
    "孩子": ["儿童", "婴幼儿"], "钱": ["资金"], "研发投入": ["研发经费投入"], "污染": ["环境"],
    "房子": ["住房"], "看病": ["医疗"], "小孩": ["婴幼儿"], "宝宝": ["婴幼儿"], "小宝宝": ["婴幼儿"], "三岁": ["3岁"],
    "差距": ["比"], "城里人": ["城镇居民"], "农村人": ["农村居民"], "老人家": ["老年人"],
    "养老院": ["养老机构"], "经济增长": ["地区生产总值增长"], "托育位置": ["托位"], "多少岁": ["岁"], "上学": ["教育"], "工作": ["就业"], "找工作": ["就业"],
    "收入": ["可支配收入"], "人口": ["常住人口"], "外贸": ["进出口"], "高铁": ["铁路"],
}
# question-frame words: how people ask, not what they ask about (ignored by BM25 and evidence coverage)
FRAME = set("期间 每年 达到 提高 提到 准备 打算 目标 要求 标准 比例 具体 包括 方面 名字 哪几个 几个 现在 目前 以上 平均 增加 实现 "
            "主要 哪类 哪 做到 多大 保持 叫 叫做 希望 认为 情况 左右 分别 相关 提出 规划 计划 重点 方面 哪一 一个 哪个 "
            "能够 可以 需要 应该 主要 有关 怎么样 怎样 会 能 要 想 该 此 这份 那份 里 里面 其中 当中".split())
STOP = set("的 了 是 在 和 与 及 等 要 对 为 将 把 被 从 到 由 以 于 之 其 或 并 也 都 就 而 中 上 下 个 年 有 吗 呢 啊 吧 呀 么 "
           "什么 多少 哪些 哪个 哪里 怎么 怎样 如何 是否 为什么 有没有 有哪些 是什么 请问 一下 一些 这个 那个 这些 那些 "
           "我们 你们 他们 它 它们 提到 提出 文件 文档 规划 关于 请 告诉 我".split())
_PUNCT = re.compile(r"^[\W_]+$")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GlossaryEntry:
    term: str           # e.g. “416”科技创新布局
    keys: tuple[str, ...]  # normalised strings that name it in a question: 416, 416科技创新布局
    chunk_id: str
    doc_id: str
    definition: str


def glossary_from_chunks(chunks: list[Chunk]) -> "Glossary":
    out = []
    for c in chunks:
        if c.kind != "glossary":
            continue
        body = re.sub(r"^\d{1,3}\s*[．.]", "", c.text)
        note = re.match(r"^[［\[]\s*\d{1,3}\s*[］\]]", body)      # a work report's 注释: "［2］四大主导产业：旅游业、…"
        if note:
            body = body[note.end():]
        term = re.split(r"[。：:]" if note else r"[。]", body, maxsplit=1)[0][:40]
        keys = {_key(term)}
        keys |= {_key(q) for q in QUOTED.findall(term)}
        keys |= {m for m in CODE.findall(normalize(term)) if len(m) >= 3}
        out.append(GlossaryEntry(term, tuple(sorted(k for k in keys if len(k) >= 2)), c.chunk_id, c.doc_id,
                                 body[len(term) + 1:]))
    return Glossary(out)


def _key(s: str) -> str:
    return re.sub(r"[“”\"「」『』\s]", "", normalize(s))


class Glossary(list):
    """The glossary entries (a list, in chunk order) with their keys indexed by first character pair: a question is
    matched against the entries one of whose keys starts with a pair the question contains, not against every
    entry (at 1,000 documents ~15x the five documents' entries: 2.2 ms a question scanned, measured in
    docs/scale.md). The hits, and their order, are those of the full scan: a key can only match where it occurs."""

    def __init__(self, entries=()):
        super().__init__(entries)
        self.by_pair: dict[str, list[int]] = {}
        for i, e in enumerate(self):
            for k in {k[:2] for k in e.keys}:
                self.by_pair.setdefault(k, []).append(i)

    def candidates(self, q: str) -> list[GlossaryEntry]:
        found: set[int] = set()
        for j in range(len(q) - 1):
            found.update(self.by_pair.get(q[j:j + 2], ()))
        return [self[i] for i in sorted(found)]


def match_glossary(question: str, entries: list[GlossaryEntry]) -> list[GlossaryEntry]:
    """Entries whose term or code is named in the question (codes only as whole numbers: “416” not 4160)."""
    q = _key(question)
    hits = []
    for e in (entries.candidates(q) if isinstance(entries, Glossary) else entries):
        for k in e.keys:
            if k.isdigit() or re.fullmatch(r"[0-9+.]+", k):
                if re.search(rf"(?<![0-9.]){re.escape(k)}(?![0-9%.])", q):
                    hits.append(e)
                    break
            elif k in q:
                hits.append(e)
                break
    return hits


def domain_terms(chunks: list[Chunk]) -> set[str]:
    terms: set[str] = set()
    for c in chunks:
        text = c.text
        terms.update(q for q in QUOTED.findall(text) if 2 <= len(q) <= 12)
        if c.kind == "table_row":
            terms.add(re.split(r"[（(｜]", text, maxsplit=1)[0])
        if c.kind == "glossary":
            body = re.sub(r"^\d{1,3}\s*[．.]", "", text)
            terms.add(re.sub(r"[“”]", "", body.split("。", 1)[0])[:20])
    return {normalize(t) for t in terms if 2 <= len(t) <= 20}


class Lexicon:
    """Thread-safe jieba tokenizer with the domain dictionary loaded."""

    def __init__(self, terms: set[str] | list[str] = ()):
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self.terms = sorted(set(terms))
        self._tok = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._pos = None
        self._word_tags: dict[str, tuple[tuple[str, str], ...]] = {}    # word_tags, per word
        with self._lock:
            self._tok.initialize()
            for t in self.terms:
                self._tok.add_word(t, freq=2000)

    def logprob(self, text: str) -> float:
        """Log-probability of the best segmentation of ``text`` under jieba's unigram word model (its
        dictionary plus the domain terms): how much ``text`` looks like Chinese words."""
        if not text:
            return 0.0
        with self._lock:
            dag = self._tok.get_DAG(text)
            route: dict = {}
            self._tok.calc(text, dag, route)
        return float(route[0][0])

    def pos_tokens(self, text: str) -> list[tuple[str, str]]:
        """(word, part-of-speech flag) pairs by jieba.posseg with the domain dictionary (ns place, nr person,
        nt organisation, nz other proper noun, m numeral, eng Latin)."""
        import jieba.posseg

        with self._lock:
            if self._pos is None:
                self._pos = jieba.posseg.POSTokenizer(self._tok)
            return [(p.word, p.flag) for p in self._pos.lcut(normalize(text))]

    def tagged_spans(self, text: str) -> list[tuple[str, str, int]]:
        """``pos_tokens`` with each word's offset in ``normalize(text)``."""
        t = normalize(text)
        out, at = [], 0
        for w, f in self.pos_tokens(t):
            i = t.find(w, at)
            if i >= 0:
                out.append((w, f, i))
                at = i + len(w)
        return out

    def word_tags(self, word: str) -> tuple[tuple[str, str], ...]:
        """``pos_tokens`` of one word, cached: the answer stage asks it of the focus words (known terms, so the
        cache stays within the corpus's vocabulary) for every clause it checks."""
        if word not in self._word_tags:
            self._word_tags[word] = tuple(self.pos_tokens(word))
        return self._word_tags[word]

    def general_freq(self, word: str) -> int:
        """How common a word is in general Chinese (jieba's dictionary frequency; 0 if unknown)."""
        return int(self._tok.FREQ.get(word, 0) or 0)

    def boundaries(self, text: str) -> set[int]:
        """Offsets in ``text`` (as given) where jieba's default cut puts a word boundary."""
        with self._lock:
            return {i for w in self._tok.tokenize(text) for i in (w[1], w[2])}

    def tokens(self, text: str) -> list[str]:
        """Numbers and codes (2030, 3.25%, g210) as whole tokens, the rest by jieba's search mode."""
        t = normalize(text)
        nums = NUMBER.findall(t)
        with self._lock:
            words = self._tok.lcut_for_search(NUMBER.sub(" ", t))
        words = [w for w in (w.strip() for w in words) if w and w not in STOP and not _PUNCT.match(w)]
        return nums + [n.rstrip("%") for n in nums if n.endswith("%")] + words

    def words(self, text: str) -> list[str]:
        """Jieba's accurate mode with the domain dictionary: each character in exactly one word, in order."""
        with self._lock:
            return [w for w in self._tok.lcut(normalize(text)) if w.strip()]

    def synonym_sources(self, question: str) -> set[str]:
        """Everyday words of the question that the thesaurus maps to document wording."""
        q = normalize(question)
        return {w for w in SYNONYMS if w in q}

    @staticmethod
    def bigrams(text: str) -> list[str]:
        """Character bigrams of each run of word characters: robust to jieba's segmentation choices."""
        out: list[str] = []
        for w in re.sub(r"[\W_]+", " ", normalize(text)).split():
            out += [w[i:i + 2] for i in range(len(w) - 1)] or [w]
        return out

    def query_tokens(self, question: str) -> list[str]:
        toks = self.tokens(question)
        q = normalize(question)
        for word, alts in SYNONYMS.items():
            if word in q:
                for a in alts:
                    toks += self.tokens(a)
        return toks
