"""Adding a document to the corpus (converted to ``<id>.txt`` and registered in the manifest, nothing written
when anything fails) and removing one (its entry and its converted file).
"""
from __future__ import annotations

import contextlib
import hashlib
import re
import time
from pathlib import Path

from .convert import convert
from .errors import IngestError
from .layout import RE_TITLE_WORD
from .manifest import _read_manifest_obj, _write_atomic, manifest_lock, write_manifest
from .naming import guess_title, slugify

MAX_BYTES = 20 * 1024 * 1024          # upload / add limit (the API reads this at request time)
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")     # same rule as rag/corpus.py


def add_document(corpus_dir, source, *, filename: str | None = None, title: str | None = None,
                 issuer: str | None = None, date: str | None = None, doc_id: str | None = None,
                 max_bytes: int | None = None) -> dict:
    """Convert ``source`` (a path, or bytes with ``filename``) into ``<id>.txt`` in ``corpus_dir`` and register
    it in the manifest. Returns the manifest entry. Nothing is written when anything fails."""
    corpus_dir = Path(corpus_dir)
    limit = MAX_BYTES if max_bytes is None else max_bytes
    if isinstance(source, (bytes, bytearray)):
        name = Path(filename or "upload").name
        raw = bytes(source)
    else:
        p = Path(source)
        name = Path(filename).name if filename else p.name
        if not p.is_file():
            raise IngestError(name, "文件不存在", f"file not found: {p}", "not_found", 404)
        size = p.stat().st_size
        if size > limit:
            raise _too_large(name, size, limit)
        raw = p.read_bytes()
    if len(raw) > limit:
        raise _too_large(name, len(raw), limit)
    for label, value, cap in (("title", title, 200), ("issuer", issuer, 200), ("date", date, 40)):
        if value is not None and (not isinstance(value, str) or len(value) > cap):
            raise IngestError(name, f"{label} 过长或格式不对（上限 {cap} 字）", f"{label} too long (max {cap} chars)", "invalid_field")
    conv = convert(raw, name)
    if not corpus_dir.is_dir():
        raise IngestError(str(corpus_dir), "语料目录不存在", "corpus folder not found", "not_found", 500)
    with manifest_lock(corpus_dir):
        data = _read_manifest_obj(corpus_dir)
        docs = data["documents"]
        ids = {d.get("id") for d in docs if isinstance(d, dict)}
        files = {d.get("file") for d in docs if isinstance(d, dict)}
        if doc_id:
            if not _ID_RE.match(doc_id):
                raise IngestError(name, f"id“{doc_id}”不合法（只能用小写字母、数字和 . _ -）",
                                  f"invalid id '{doc_id}' (use [a-z0-9._-], starting with a letter or digit)", "invalid_id")
            if doc_id in ids or f"{doc_id}.txt" in files or (corpus_dir / f"{doc_id}.txt").exists():
                raise IngestError(name, f"id“{doc_id}”已存在，请先删除或换一个 id",
                                  f"id '{doc_id}' already exists; remove it first or pick another", "duplicate_id", 409)
            new_id = doc_id
        else:
            base = slugify(name, raw)[:70]
            new_id, k = base, 2
            while new_id in ids or f"{new_id}.txt" in files or (corpus_dir / f"{new_id}.txt").exists():
                new_id, k = f"{base}-{k}", k + 1
        doc_title = (title or "").strip() or conv.title_hint
        if not doc_title:
            guess = guess_title(conv.text, "")
            doc_title = guess if RE_TITLE_WORD.search(guess) else conv.running_title or guess or Path(name).stem
        entry = {"id": new_id, "file": f"{new_id}.txt", "title": doc_title}
        if issuer:
            entry["issuer"] = issuer.strip()
        if date:
            entry["date"] = date.strip()
        entry["source_file"] = name
        if conv.converted_from:
            entry["converted_from"] = conv.converted_from
        if conv.pages:
            entry["pages"] = conv.pages
        if conv.notice:
            entry["notice"] = conv.notice
        entry["added_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        entry["source_sha256"] = hashlib.sha256(raw).hexdigest()
        target = corpus_dir / entry["file"]
        _write_atomic(target, conv.text.encode("utf-8"))
        try:
            write_manifest(corpus_dir, {**data, "documents": docs + [entry]})
        except BaseException:
            with contextlib.suppress(OSError):
                target.unlink()
            raise
    return entry


def _too_large(name: str, size: int, limit: int) -> IngestError:
    mb = lambda n: f"{n / 1024 / 1024:.1f} MB"  # noqa: E731
    return IngestError(name, f"文件过大（{mb(size)}，上限 {mb(limit)}）", f"file too large ({mb(size)} > {mb(limit)})",
                       "file_too_large", 413)


def remove_document(corpus_dir, doc_id: str) -> dict:
    """Drop ``doc_id`` from the manifest and delete its converted file (files of documents that were not
    added by ``add_document`` -- no ``source_file`` in their entry -- are left on disk). Returns the entry
    with ``file_deleted``."""
    corpus_dir = Path(corpus_dir)
    with manifest_lock(corpus_dir):
        data = _read_manifest_obj(corpus_dir)
        docs = data["documents"]
        keep = [d for d in docs if not (isinstance(d, dict) and d.get("id") == doc_id)]
        if len(keep) == len(docs):
            raise IngestError(str(doc_id), "没有这个文档 id", "no document with this id", "unknown_document", 404)
        if not keep:
            raise IngestError(str(doc_id), "不能删除最后一个文档", "cannot remove the last document", "last_document", 409)
        entry = next(d for d in docs if isinstance(d, dict) and d.get("id") == doc_id)
        write_manifest(corpus_dir, {**data, "documents": keep})
        deleted = False
        fname = entry.get("file")
        if entry.get("source_file") and isinstance(fname, str) and fname and "/" not in fname and "\\" not in fname:
            with contextlib.suppress(FileNotFoundError):
                (corpus_dir / fname).unlink()
                deleted = True
    return {**entry, "file_deleted": deleted}
