"""Naming a new document: its title guessed from the text's first heading-like lines, its id from the file name.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from .layout import RE_PAGENO, RE_STRUCT


def guess_title(text: str, fallback: str) -> str:
    """First heading-like lines before the first 篇/章/一、 heading (a title printed on two lines is joined)."""
    parts: list[str] = []
    for line in text.split("\n")[:80]:
        s = line.strip().lstrip("#").strip()
        if not s:
            continue
        if RE_STRUCT.match(s) or line.startswith("\t"):
            break
        if re.match(r"^(附件|附表|目录|抄送|\d+$)", s) or RE_PAGENO.match(s):
            if parts:
                break
            continue
        if len(s) <= 40 and s[-1] not in "。；，：:,;" and not re.search(r"\d{4}年\d{1,2}月\d{1,2}日$", s):
            parts.append(s)
            if len(parts) == 2 or len("".join(parts)) >= 24:
                break
            continue
        break
    title = "".join(parts)
    return title if len(title) >= 2 else fallback


def slugify(filename: str, raw: bytes = b"") -> str:
    """ASCII id from the file name (lower case [a-z0-9._-]); a content hash when nothing is left."""
    stem = Path(filename).stem
    s = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^a-z0-9._-]+", "-", s)
    s = re.sub(r"-{2,}", "-", s).strip("-._")[:60].strip("-._")
    if len(re.sub(r"[^a-z0-9]", "", s)) < 3:
        s = "doc-" + hashlib.sha256(raw or stem.encode("utf-8")).hexdigest()[:10]
    return s
