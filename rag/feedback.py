"""Feedback store: 👍/👎 ratings with an optional comment, kept in SQLite (default) or PostgreSQL.

SQLite: one short-lived connection per call (WAL mode, ``busy_timeout``), every write in its own
``BEGIN IMMEDIATE`` transaction, so several threads or processes can write at the same time
without losing rows. PostgreSQL (``RAG_FEEDBACK_URL=postgresql://…``, rag/feedback_pg.py): the same
table, validation and export, for several app replicas writing to one place. ``open_store`` picks one.

Command line::

    python -m rag.feedback export --format csv|jsonl [--out FILE] [--db PATH|URL]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

RATINGS = ("up", "down")
FIELDS = ("id", "created_at", "rating", "comment", "question", "answer", "citations", "backend")
MAX_COMMENT = 2000
MAX_QUESTION = 2000
MAX_ANSWER = 20000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT    NOT NULL,
    rating     TEXT    NOT NULL CHECK (rating IN ('up', 'down')),
    comment    TEXT    NOT NULL DEFAULT '',
    question   TEXT    NOT NULL,
    answer     TEXT    NOT NULL,
    citations  TEXT    NOT NULL DEFAULT '[]',
    backend    TEXT    NOT NULL DEFAULT ''
)
"""


class FeedbackError(ValueError):
    """Invalid feedback (bad rating, text too long, ...)."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _text(value: Any, name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FeedbackError(f"{name} must be a string")
    if len(value) > limit:
        raise FeedbackError(f"{name} too long ({len(value)} > {limit} chars)")
    return _utf8(value, name)


def _utf8(value: str, name: str) -> str:
    """SQLite and the exports need UTF-8: lone surrogates (valid as JSON \\ud800 escapes) are rejected."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FeedbackError(f"{name} contains invalid unicode (a lone surrogate)") from None
    return value


def new_row(*, rating: str, question: str, answer: str, citations: list | None = None,
            backend: str = "", comment: str | None = "") -> tuple:
    """The validated column values (created_at, rating, comment, question, answer, citations, backend)
    of a new rating; FeedbackError when something is off. Shared by every store."""
    if rating not in RATINGS:
        raise FeedbackError("rating must be 'up' or 'down'")
    return (_now(), rating, _text(comment, "comment", MAX_COMMENT), _text(question, "question", MAX_QUESTION),
            _text(answer, "answer", MAX_ANSWER), _utf8(json.dumps(citations or [], ensure_ascii=False), "citations"),
            _text(backend, "backend", 100))


def changes(rating: str | None, comment: str | None) -> dict[str, str]:
    """The validated columns an ``update`` sets."""
    out = {}
    if rating is not None:
        if rating not in RATINGS:
            raise FeedbackError("rating must be 'up' or 'down'")
        out["rating"] = rating
    if comment is not None:
        out["comment"] = _text(comment, "comment", MAX_COMMENT)
    return out


def decode_citations(rows: list[dict]) -> list[dict]:
    for r in rows:
        try:
            r["citations"] = json.loads(r["citations"])
        except ValueError:
            pass
    return rows


def export_rows(rows: list[dict], fmt: str = "csv") -> str:
    """Rows as CSV (header + one line per row, citations as JSON) or JSONL: the one export format."""
    if fmt == "jsonl":      # U+2028/2029/0085 escaped too: line splitters (str.splitlines, JS) treat them as breaks
        return "".join(json.dumps(r, ensure_ascii=False).translate(_LINE_BREAKS) + "\n" for r in rows)
    if fmt != "csv":
        raise FeedbackError("format must be 'csv' or 'jsonl'")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FIELDS)
    for r in rows:
        w.writerow([_csv_cell(json.dumps(r[f], ensure_ascii=False) if f == "citations" else r[f]) for f in FIELDS])
    return buf.getvalue()


def is_postgres_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def open_store(target: str | Path):
    """A PostgreSQL URL -> PostgresFeedbackStore, anything else -> FeedbackStore (an SQLite file path)."""
    if is_postgres_url(target):
        from .feedback_pg import PostgresFeedbackStore

        return PostgresFeedbackStore(str(target))
    return FeedbackStore(target)


def store_target(settings) -> str | Path:
    """Where feedback goes: RAG_FEEDBACK_URL when set, else the SQLite file RAG_FEEDBACK_DB."""
    return settings.feedback_url or settings.feedback_db


def store_from_settings(settings):
    return open_store(store_target(settings))


class StoreReads:
    """What every feedback store reads the same way through its ``_connect()`` and ``rows()``: the count and the
    export (SQLite and PostgreSQL differ only in placeholders and connections, which these do not use)."""

    def count(self) -> int:
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def export(self, fmt: str = "csv") -> str:
        """All rows as CSV (header + one line per row, citations as JSON) or JSONL."""
        return export_rows(self.rows(), fmt)


class FeedbackStore(StoreReads):
    """SQLite (the default: no server)."""

    def __init__(self, path: str | Path, timeout: float = 30.0):
        self.path = Path(path)
        self.timeout = timeout
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # -- writing ------------------------------------------------------------------------------
    def add(self, *, rating: str, question: str, answer: str, citations: list | None = None,
            backend: str = "", comment: str | None = "") -> int:
        """Store one rating; returns its row id."""
        row = new_row(rating=rating, question=question, answer=answer, citations=citations, backend=backend,
                      comment=comment)
        with self._write() as con:
            cur = con.execute("INSERT INTO feedback (created_at, rating, comment, question, answer, citations, backend)"
                              " VALUES (?, ?, ?, ?, ?, ?, ?)", row)
            return int(cur.lastrowid)

    def update(self, row_id: int, *, rating: str | None = None, comment: str | None = None) -> bool:
        """Change the rating and/or comment of a stored row (the chat UI rates first, comments later)."""
        sets = changes(rating, comment)
        if not sets:
            return False
        with self._write() as con:
            cur = con.execute(f"UPDATE feedback SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                              (*sets.values(), int(row_id)))
            return cur.rowcount == 1

    # -- reading ------------------------------------------------------------------------------
    def rows(self) -> list[dict]:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            out = [dict(r) for r in con.execute(f"SELECT {', '.join(FIELDS)} FROM feedback ORDER BY id")]
        return decode_citations(out)


_LINE_BREAKS = {0x2028: "\\u2028", 0x2029: "\\u2029", 0x85: "\\u0085"}


def _csv_cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in user text (CSV injection): prefix a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# ------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rag.feedback", description="渝策问答 feedback store")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="export all feedback")
    ex.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    ex.add_argument("--out", help="output file (default: stdout); CSV files get a UTF-8 BOM for Excel")
    ex.add_argument("--db", help="SQLite file or postgresql:// URL (default: RAG_FEEDBACK_URL, else RAG_FEEDBACK_DB)")
    args = ap.parse_args(argv)

    if args.db:
        db = args.db
    else:
        from .settings import get_settings

        db = store_target(get_settings())
    if not is_postgres_url(db) and not Path(db).is_file():
        print(f"错误 / error: no feedback database at {db}", file=sys.stderr)
        return 1
    text = open_store(db).export(args.format)
    if args.out:
        enc = "utf-8-sig" if args.format == "csv" else "utf-8"
        Path(args.out).write_text(text, encoding=enc, newline="")
        print(f"已导出 / wrote {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
