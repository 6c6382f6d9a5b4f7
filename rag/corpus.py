"""Load the corpus: manifest + documents, exactly as stored.

``Document.text`` is the file decoded as UTF-8 (a leading BOM is dropped); every offset in the
project refers to this string, so ``doc.text[start:end]`` is always verbatim source text.
Matching-only normalisation (NFKC: half-width/full-width punctuation, digits) lives in ``normalize``.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .schema import Document

MANIFEST = "manifest.json"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


class CorpusError(ValueError):
    """A corpus file or manifest entry that cannot be used; the message names the file."""


@dataclass
class Corpus:
    dir: Path
    documents: list[Document]
    errors: list[str] = field(default_factory=list)   # documents skipped, with the reason

    def get(self, doc_id: str) -> Document:
        for d in self.documents:
            if d.doc_id == doc_id:
                return d
        raise KeyError(doc_id)

    @property
    def by_id(self) -> dict[str, Document]:
        return {d.doc_id: d for d in self.documents}


def decode_utf8(raw: bytes, name: str) -> str:
    """UTF-8 with or without BOM; anything else is a CorpusError naming the file."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CorpusError(f"{name}: 不是 UTF-8 编码的文本 / not UTF-8 text (byte {e.start}: {raw[e.start:e.start+4]!r}); "
                          "请转换为 UTF-8 后再添加 / convert it to UTF-8 first") from None
    if not text.strip():
        raise CorpusError(f"{name}: 文件为空 / the file is empty")
    return text


def read_manifest(corpus_dir: Path) -> list[dict]:
    path = Path(corpus_dir) / MANIFEST
    if not path.exists():
        raise CorpusError(f"{path}: 找不到清单文件 / manifest not found")
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path}: 清单文件不是有效的 JSON / invalid JSON: {e}") from None
    docs = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(docs, list):
        raise CorpusError(f"{path}: 缺少 documents 列表 / missing 'documents' list")
    return docs


def load_document(corpus_dir: Path, entry: dict) -> Document:
    if not isinstance(entry, dict):
        raise CorpusError(f"{MANIFEST}: 清单条目不是对象 / entry is not an object: {entry!r:.80}")
    doc_id, fname, title = entry.get("id"), entry.get("file"), entry.get("title")
    label = fname or doc_id or "?"
    if not isinstance(doc_id, str) or not _ID_RE.match(doc_id):
        raise CorpusError(f"{label}: 清单条目缺少合法的 id / manifest entry needs an id of [a-z0-9._-]")
    if not isinstance(fname, str) or not fname or "/" in fname or "\\" in fname or fname.startswith("."):
        raise CorpusError(f"{doc_id}: 清单条目缺少合法的 file / manifest entry needs a plain file name")
    if not isinstance(title, str) or not title.strip():
        raise CorpusError(f"{fname}: 清单条目缺少 title / manifest entry needs a title")
    path = Path(corpus_dir) / fname
    if not path.is_file():
        raise CorpusError(f"{fname}: 文件不存在 / file not found in {corpus_dir}")
    raw = path.read_bytes()
    text = decode_utf8(raw, fname)
    meta = {k: v for k, v in entry.items() if k not in ("id", "file", "title")}
    meta["file"] = fname
    return Document(doc_id=doc_id, title=title.strip(), path=str(path.resolve()), text=text,
                    sha256=hashlib.sha256(raw).hexdigest(), meta=meta)


def load_corpus(corpus_dir: Path, strict: bool = False) -> Corpus:
    """Load every manifest entry. A bad entry is skipped with its reason in ``Corpus.errors``
    (or raised when ``strict``) so the other documents still load."""
    corpus_dir = Path(corpus_dir)
    docs: list[Document] = []
    errors: list[str] = []
    seen: set[str] = set()
    for entry in read_manifest(corpus_dir):
        try:
            doc = load_document(corpus_dir, entry)
            if doc.doc_id in seen:
                raise CorpusError(f"{doc.meta['file']}: 重复的 id / duplicate id {doc.doc_id}")
            seen.add(doc.doc_id)
            docs.append(doc)
        except CorpusError as e:
            if strict:
                raise
            errors.append(str(e))
    if not docs:
        raise CorpusError(f"{corpus_dir}: 没有可用的文档 / no usable documents" + ("; " + "; ".join(errors) if errors else ""))
    return Corpus(dir=corpus_dir, documents=docs, errors=errors)


_WS_RE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Matching-only normalisation: NFKC (full-width -> half-width digits/letters/punctuation), lower case."""
    return unicodedata.normalize("NFKC", text).lower()


def strip_ws(text: str) -> str:
    return _WS_RE.sub("", text)
