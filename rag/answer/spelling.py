"""Homophone typos (棋江 -> 綦江, 规化 -> 规划, 城镇话率 -> 城镇化率), corrected as a noisy channel: a character
pair of the question that no document contains is replaced by a same-sounding pair the documents use, when
that makes the question's run of characters far more likely under jieba's word model (its dictionary plus
the domain terms): log-probability gain >= ``margin``.

Measured on the 610 golden questions (jieba's dictionary only): true typos gain 4.1-10.0 (总直->总值 4.06,
棋江区->綦江区 5.07, 规化->规划 10.02); the pairs that sound alike across a word boundary gain at most 1.9
(有几所->有机所) or lose (我是->我市 -2.75, 方案里->方案例 -3.33); hence ``margin`` 4.0. A character that
already forms a corpus pair with its other neighbour is kept (川渝生 is not 川与生, 占比要 is not 占必要). Pinyin comes from PyPI
``pypinyin`` (toneless, the most common reading of each character). A real word the documents lack (网约车,
房价) has no same-sounding counterpart there and is left alone.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Sequence

HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


@dataclass(frozen=True)
class Correction:
    wrong: str        # the question's pair
    right: str        # the corpus pair it was read as
    position: int


class Speller:
    def __init__(self, bigram_df: dict[str, int], logprob: Callable[[str], float], min_df: int = 2,
                 margin: float = 4.0, words: Sequence[str] = (), is_function_char: Callable[[str], bool] = lambda ch: False,
                 is_word: Callable[[str], bool] = lambda w: True, terms: Sequence[str] = ()):
        """``bigram_df``: the corpus's character pairs and their chunk counts; ``words``: more words to correct
        towards (the question frames of rules.py: 什么时候, 怎么, 多少 -- the documents never say them)."""
        if min_df < 1:
            raise ValueError(f"min_df must be >= 1, got {min_df}")
        if margin <= 0:
            raise ValueError(f"margin must be > 0, got {margin}")
        from pypinyin import Style, pinyin

        # every reading of a character (曾: ceng/zeng): a typo may use any of them
        self._readings = lambda ch: tuple(dict.fromkeys((pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
                                                        or [[""]])[0])) or ("",)
        self.logprob = logprob
        self.margin = margin
        self.is_function_char = is_function_char
        self.is_word = is_word
        self.df = {b: n for b, n in bigram_df.items() if len(b) == 2 and HAN_RUN.fullmatch(b)}
        self._frame_pairs: dict[str, list[str]] = defaultdict(list)     # pairs only the frame words have
        for w in words:
            for i in range(len(w) - 1):
                pair = w[i:i + 2]
                if HAN_RUN.fullmatch(pair) and pair not in self.df:
                    self._frame_pairs[pair].append(w)
        for pair in self._frame_pairs:          # as common as a frequent corpus pair: a frame is always a target
            self.df[pair] = 100
        # the glossary's terms (谷子经济, 票根经济): a question one same-sounding character off one of them names it,
        # even where that character is a word of its own (骨子, 跟) or the term too rare for the pair statistics
        self.terms = tuple(sorted({t for t in terms if len(t) >= 3 and HAN_RUN.fullmatch(t)}, key=len, reverse=True))
        self._sound: dict[str, tuple[str, ...]] = {}
        self._by_sound: dict[tuple[str, str], list[str]] = defaultdict(list)
        for b, n in self.df.items():             # by the common reading (a quoted name's variants use every
            if n >= min_df:                      # reading of its characters: 曾 ceng/zeng finds 增)
                self._by_sound[(self._char_sound(b[0]), self._char_sound(b[1]))].append(b)

    def _char_sounds(self, ch: str) -> tuple[str, ...]:
        s = self._sound.get(ch)
        if s is None:
            s = self._sound[ch] = self._readings(ch)
        return s

    def _char_sound(self, ch: str) -> str:
        return self._char_sounds(ch)[0]

    def correct(self, text: str) -> tuple[str, list[Correction]]:
        """``text`` with homophone typos replaced, and what was replaced."""
        chars = list(text)
        fixes: list[Correction] = []
        for m in HAN_RUN.finditer(text):
            a, b = m.start(), m.end()
            for i in range(a, b - 1):
                pair = chars[i] + chars[i + 1]
                seen = self.df.get(pair, 0)
                if seen >= 3:
                    continue        # a pair the documents use; rarer ones may be accidents across words (地方按照 -> 方按)
                if seen and self.is_word(pair):
                    continue        # a word the documents use, if rarely, is no typo (执业医师 is not 职业医师)
                run = "".join(chars[a:b])
                base = self.logprob(run)
                best, best_gain = None, self.margin
                # the common reading only: all readings made 车有 (ju you) into 具有
                cands = self._by_sound.get((self._char_sound(chars[i]), self._char_sound(chars[i + 1])), ())
                for cand in cands:
                    diff = [k for k in range(2) if cand[k] != pair[k]]
                    if len(diff) != 1:
                        continue
                    # a target the documents use often (10x the pair's own count) wins at the margin; a rarer one
                    # (申报, 6 chunks) only at twice the margin: 申抱->申报 gains 9.7
                    used = self.df.get(cand, 0)
                    rare = used < 10 * max(1, seen)
                    if rare and (seen or used < 3):
                        continue
                    if seen and not self.is_word(cand):
                        continue            # a pair the documents have (rarely) is only replaced by a real word
                    k = i + diff[0]
                    if self.is_function_char(chars[k]) or self.is_function_char(cand[diff[0]]):
                        continue            # 有, 是, 的, 了, 在, 不: words of their own (托位有 is not 托位于, 能补 not 能不)
                    other = k - 1 if k == i else k + 1      # the changed character's other neighbour
                    if a <= other < b and (chars[min(k, other)] + chars[max(k, other)]) in self.df:
                        continue            # it already forms a corpus pair there (川渝生 is not 川与生)
                    new = run[:k - a] + cand[diff[0]] + run[k - a + 1:]
                    if cand in self._frame_pairs and not any(w in new for w in self._frame_pairs[cand]):
                        continue            # towards a question frame only when it makes the whole frame (什么时候)
                    gain = self.logprob(new) - base
                    if gain >= best_gain and (not rare or gain >= 2 * self.margin):
                        best, best_gain = (k, cand[diff[0]], cand), gain
                if best:
                    k, ch, cand = best
                    chars[k] = ch
                    fixes.append(Correction(pair, cand, i))
        return self._complete_terms("".join(chars), fixes)

    def _complete_terms(self, text: str, fixes: list[Correction]) -> tuple[str, list[Correction]]:
        """A window of ``text`` one same-sounding character off a glossary term becomes the term (骨子经济 -> 谷子经济)."""
        present = set(text)
        for term in self.terms:
            if term in text or sum(ch in present for ch in term) < len(term) - 1:
                continue                  # (a cheap test first: all its characters but one are in the text)
            n = len(term)
            for i in range(len(text) - n + 1):
                window = text[i:i + n]
                diff = [k for k in range(n) if window[k] != term[k]]
                if len(diff) == 1 and HAN_RUN.fullmatch(window + window) \
                        and self._char_sound(window[diff[0]]) == self._char_sound(term[diff[0]]):
                    text = text[:i] + term + text[i + n:]
                    fixes.append(Correction(window, term, i))
                    break
        return text, fixes

    def variants(self, term: str) -> list[str]:
        """``term`` with one character replaced by a same-sounding corpus character (the candidates for a quoted
        name the corpus does not contain; the caller keeps those the corpus has)."""
        out = []
        for k, ch in enumerate(term):
            if not HAN_RUN.fullmatch(ch + ch):
                continue
            for reading in self._char_sounds(ch):
                for cand in self._same_sound(reading):
                    if cand != ch and term[:k] + cand + term[k + 1:] not in out:
                        out.append(term[:k] + cand + term[k + 1:])
        return out

    def _same_sound(self, sound: str) -> list[str]:
        """Corpus characters read ``sound`` (most frequent first)."""
        if not hasattr(self, "_chars_by_sound"):
            by: dict[str, dict[str, int]] = defaultdict(dict)
            for b, n in self.df.items():
                for ch in b:
                    r = self._char_sound(ch)
                    by[r][ch] = by[r].get(ch, 0) + n
            self._chars_by_sound = {snd: [c for c, _ in sorted(d.items(), key=lambda x: -x[1])] for snd, d in by.items()}
        return self._chars_by_sound.get(sound, [])[:12]
