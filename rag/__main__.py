"""Command line: python -m rag index | retrieve | ask | add | remove  (see README and ../shared/interfaces.md)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _read_batch(path: str) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        sys.exit(f"错误 / error: batch file not found: {path}")
    items = []
    for n, line in enumerate(p.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            sys.exit(f"错误 / error: {path}:{n}: invalid JSON ({e})")
        if not isinstance(obj, dict) or not isinstance(obj.get("question"), str):
            sys.exit(f"错误 / error: {path}:{n}: each line needs a string 'question'")
        items.append(obj)
    return items


def _settings(args):
    from .settings import Settings

    over = {}
    if getattr(args, "corpus", None):
        over["corpus_dir"] = Path(args.corpus)
    if getattr(args, "index_dir", None):
        over["index_dir"] = Path(args.index_dir)
    return Settings(**over)


def _pipeline(args, progress=True):
    from .pipeline import Pipeline

    return Pipeline(_settings(args), progress=progress)


def cmd_index(args) -> int:
    from .pipeline import Pipeline

    t = time.perf_counter()
    p = Pipeline(_settings(args), progress=not args.quiet)
    if p.build_report is None:   # index was already up to date; refresh anyway when --force
        if args.force:
            p.reindex(force=True)
        else:
            print(f"索引已是最新 / index up to date: {len(p.corpus.documents)} documents, {len(p.index.chunks)} chunks, "
                  f"0 re-embedded; {time.perf_counter() - t:.1f} s")
            for problem in p.stats()["problems"]:
                print(f"  {problem['status']}: {problem['detail']}")
            return 0
    print(p.build_report.summary())
    print_scopes(p, p.build_report.embedded_documents)
    return 0


def print_scopes(p, doc_ids) -> None:
    """One line per document: the region, years and kind the answer stage will hold it to (from its manifest
    entry or read from its title; set ``region`` / ``period`` / ``review_year`` in the manifest to override)."""
    scopes = p.retriever.scopes
    shown = [d for d in doc_ids if d in scopes]
    if shown:
        print("文档范围 / document scope (manifest region/period/review_year override):")
    for d in shown:
        note = "" if scopes[d].region else f"（未识别地区，按 {p.settings.home_region} 处理 / region unknown: treated as the home region; set \"region\" in the manifest）"
        print(f"  {d}: {scopes[d].describe()}{note}")


def _run_batch(path: str, answer, on_error: dict | None = None) -> int:
    """One JSON line per input line: ``{"id", **answer(item)}``, or ``{"id", "error", **on_error}`` for bad input."""
    from .pipeline import QuestionError

    for item in _read_batch(path):
        try:
            out = answer(item)
        except QuestionError as e:
            out = {"error": str(e), **(on_error or {})}
        _print_json({"id": item.get("id"), **out})
    return 0


def _history(args) -> list[dict]:
    """``--history``: the earlier turns as JSON (``[{"role": "user", "content": "…"}, …]``), checked before the model
    loads; a follow-up is then retrieved and answered with the rewrite ``ask`` uses."""
    from .pipeline import QuestionError, clean_history

    if not getattr(args, "history", None):
        return []
    try:
        return clean_history(json.loads(args.history))
    except (json.JSONDecodeError, QuestionError) as e:
        sys.exit(f"错误 / error: --history: {e}")


def _check_question(args) -> None:
    """Fail fast, before loading the model, on a missing or unusable question."""
    from .pipeline import QuestionError, clean_question

    if args.batch:
        _read_batch(args.batch)
        return
    if args.question is None:
        sys.exit("错误 / error: give a question or --batch FILE")
    try:
        clean_question(args.question, _settings(args).max_question_chars)
    except QuestionError as e:
        sys.exit(f"错误 / error: {e}")


def cmd_retrieve(args) -> int:
    from .pipeline import QuestionError

    _check_question(args)
    history = _history(args)
    p = _pipeline(args, progress=sys.stderr.isatty())
    if args.batch:
        return _run_batch(args.batch, lambda it: {"hits": [h.to_json() for h in
                                                           p.retrieve(it["question"], args.k, history=it.get("history") or [])]},
                          on_error={"hits": []})
    try:
        hits = p.retrieve(args.question, args.k, history=history)
    except QuestionError as e:
        sys.exit(f"错误 / error: {e}")
    if args.json:
        _print_json([h.to_json() for h in hits])
    else:
        for i, h in enumerate(hits, 1):
            print(f"{i}. [{h.score:.4f}] 《{h.title}》{h.location}\n   {h.match_text[:200]}")
    return 0


def cmd_ask(args) -> int:
    from .pipeline import QuestionError

    _check_question(args)
    history = _history(args)
    p = _pipeline(args, progress=sys.stderr.isatty())
    if args.batch:
        return _run_batch(args.batch, lambda it: p.ask(it["question"], it.get("history") or []).to_json())
    try:
        ans = p.ask(args.question, history)
    except QuestionError as e:
        sys.exit(f"错误 / error: {e}")
    if args.json:
        _print_json(ans.to_json())
        return 0
    print(ans.answer)
    if ans.notice:
        print(f"\n（{ans.notice}）")
    print("\n引用：")
    for c in ans.citations:
        print(f"[{c.n}] 《{c.title}》{c.location}：{c.quote}")
    return 0


def _reindex_after(args, s, undo) -> int:
    """Incremental reindex after add/remove (only new or changed documents are embedded); ``undo`` on failure."""
    from .pipeline import Pipeline

    try:
        p = Pipeline(s, progress=not args.quiet)
    except BaseException:
        undo()
        raise
    if p.build_report is None:
        print(f"索引已是最新 / index up to date: {len(p.corpus.documents)} documents, {len(p.index.chunks)} chunks")
    else:
        print(p.build_report.summary())
    if getattr(args, "added", None):
        print_scopes(p, [args.added])
    return 0


def cmd_add(args) -> int:
    from .ingest import IngestError, add_document, remove_document

    s = _settings(args)
    t = time.perf_counter()
    try:
        e = add_document(s.corpus_dir, args.file, title=args.title, issuer=args.issuer, date=args.date, doc_id=args.id)
    except IngestError as err:
        sys.exit(f"错误 / error: {err}")
    print(f"已添加 / added: {e['id']} 《{e['title']}》 -> {s.corpus_dir / e['file']} "
          f"(converted in {time.perf_counter() - t:.1f} s)")
    if e.get("notice"):
        print(f"（{e['notice']}）")
    args.added = e["id"]
    return _reindex_after(args, s, lambda: remove_document(s.corpus_dir, e["id"]))


def cmd_remove(args) -> int:
    from .ingest import IngestError, remove_document

    s = _settings(args)
    try:
        e = remove_document(s.corpus_dir, args.id)
    except IngestError as err:
        sys.exit(f"错误 / error: {err}")
    print(f"已删除 / removed: {e['id']} 《{e.get('title', '')}》" + ("" if e["file_deleted"] else f" (file kept: {e.get('file')})"))
    return _reindex_after(args, s, lambda: None)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rag", description="渝策问答: cited answers over Chongqing plan documents")
    sub = ap.add_subparsers(dest="cmd", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--corpus", help="corpus folder (default: settings corpus_dir)")
    common.add_argument("--index-dir", help="index folder (default: settings index_dir)")

    p = sub.add_parser("index", parents=[common], help="build or refresh the index")
    p.add_argument("--force", action="store_true", help="rebuild even if up to date (unchanged documents are still reused)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_index)

    p = sub.add_parser("retrieve", parents=[common], help="retrieval only")
    p.add_argument("question", nargs="?")
    p.add_argument("-k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch", help="JSONL file of {id, question, history}")
    p.add_argument("--history", help='earlier turns as JSON, e.g. \'[{"role": "user", "content": "重庆2030年GDP目标"}]\'; '
                                     'a follow-up is retrieved and answered with them, as ask does')
    p.set_defaults(fn=cmd_retrieve)

    p = sub.add_parser("ask", parents=[common], help="full cited answer")
    p.add_argument("question", nargs="?")
    p.add_argument("--json", action="store_true")
    p.add_argument("--batch", help="JSONL file of {id, question, history}")
    p.add_argument("--history", help='earlier turns as JSON, e.g. \'[{"role": "user", "content": "重庆2030年GDP目标"}]\'; '
                                     'a follow-up is retrieved and answered with them, as ask does')
    p.set_defaults(fn=cmd_ask)

    p = sub.add_parser("add", parents=[common], help="add a PDF/DOCX/TXT/Markdown document and reindex it")
    p.add_argument("file")
    p.add_argument("--title", help="title (default: guessed from the first heading)")
    p.add_argument("--issuer")
    p.add_argument("--date")
    p.add_argument("--id", help="document id [a-z0-9._-] (default: from the file name)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_add)

    p = sub.add_parser("remove", parents=[common], help="remove a document (and its converted file) and reindex")
    p.add_argument("id")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(fn=cmd_remove)

    args = ap.parse_args(argv)
    if getattr(args, "k", 1) < 1:
        ap.error("-k must be >= 1")
    return args.fn(args)


if __name__ == "__main__":
    from .logs import setup_logging
    from .settings import get_settings

    setup_logging(get_settings().log_level)     # here, not in main(): tests call main() in their own process
    sys.exit(main())
