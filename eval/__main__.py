"""python -m eval [--golden FILE] [--out DIR] [--json] [--ablations] [--limit N] [--fast] [--gate]
python -m eval --compare RUN_A RUN_B

Runs the golden suite through the pipeline (retrieval k=10 + ask per item), prints a summary table
(``--json``: only the metrics object of shared/interfaces.md) and, with ``--out DIR``, writes
report.md, metrics.json, items.jsonl (failing cases first) and PNG charts.
``--gate`` is a fast pass that exits 1 when a metric falls below its floor (or rises above a
``max:`` ceiling) in eval/floors.json.
``--golden`` also takes an evaluator's .csv/.xlsx sheet (eval/golden_sheet.py); ``--compare`` lists the items
fixed and broken between two ``--out`` folders and the metric deltas (eval/compare.py).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

from . import metrics as M
from .golden import SPLITS, GoldenError, load_golden, split_of

HERE = Path(__file__).resolve().parent
FLOORS = HERE / "floors.json"


def check_floors(metrics: dict, floors: dict) -> list[str]:
    """Messages for every metric (dotted path, e.g. "retrieval.hit@5") below its floor; a path written
    ``max:refusal.false_refusal_rate`` is a ceiling instead (the gate fails when the value is above it)."""
    out = []
    for path, bound in floors.items():
        if path.startswith("_"):
            continue
        ceiling = path.startswith("max:")
        dotted = path[4:] if ceiling else path
        value = metrics
        for key in dotted.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            out.append(f"{dotted}: missing from the metrics ({'ceiling' if ceiling else 'floor'} {bound})")
        elif ceiling and value > bound:
            out.append(f"{dotted} = {value:.4f} is above its ceiling {bound}")
        elif not ceiling and value < bound:
            out.append(f"{dotted} = {value:.4f} is below its floor {bound}")
    return out


def load_floors(path: Path = FLOORS) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"error: cannot read floors file {path}: {e}")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m eval", description="golden-set evaluation of the RAG pipeline")
    ap.add_argument("--golden", default=str(HERE / "golden.jsonl"),
                    help="golden file: .jsonl, or a .csv/.xlsx sheet with Chinese headers (eval/golden_template.xlsx); "
                         "default: eval/golden.jsonl")
    ap.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"),
                    help="compare two runs written by --out (folders or their items.jsonl): fixed/broken items, metric deltas")
    ap.add_argument("--out", help="write report.md, metrics.json, items.jsonl and PNG charts to this folder")
    ap.add_argument("--json", action="store_true", help="print only the metrics object (JSON) on stdout")
    ap.add_argument("--ablations", action="store_true", help="also run the retrieval ablations (builds extra in-memory indexes)")
    ap.add_argument("--limit", type=int, help="only the first N golden items")
    ap.add_argument("--fast", action="store_true", help="retrieval + ask only: no ablations, no charts")
    ap.add_argument("--gate", action="store_true", help=f"fast pass; exit 1 if a metric of the test half is below its floor in {FLOORS.name}")
    ap.add_argument("--corpus", help="run over another corpus folder (manifest.json + documents)")
    ap.add_argument("--index-dir", help="index folder for --corpus (default: a folder beside it)")
    ap.add_argument("--library", action="store_true",
                    help="the five documents plus ../shared/library (assembled in .rag_library/, index there too)")
    ap.add_argument("--split", choices=("all", "dev", "test"), default="all", help="only the items of one half")
    args = ap.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be >= 1")
    if args.gate or args.fast:
        args.fast, args.ablations = True, False
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.compare:
        from .compare import main as compare

        return compare(*args.compare)
    command = "python -m eval " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    overrides = corpus_settings(args)
    try:
        items = load_golden(args.golden, corpus_dir=overrides.get("corpus_dir"))     # a sheet is checked against it
    except GoldenError as e:
        sys.exit(f"error: {e}")
    if args.split != "all":
        items = [it for it in items if split_of(it["id"]) == args.split]
    if args.limit:
        items = items[: args.limit]
    progress = sys.stderr.isatty() or not (args.json or args.gate)

    from rag.pipeline import Pipeline
    from rag.settings import Settings

    from .run import run

    settings = Settings(**overrides)
    pipeline = Pipeline(settings, progress=progress)
    started = time.strftime("%Y-%m-%d %H:%M:%S %z")
    version = code_version()
    records = run(pipeline, items, progress=progress)
    metrics = M.aggregate(records)
    metrics["splits"] = {sp: M.aggregate([r for r in records if r["split"] == sp]) for sp in SPLITS
                         if any(r["split"] == sp for r in records)}
    metrics["corpus"] = {"dir": str(settings.corpus_dir), "documents": len(pipeline.corpus.documents),
                         "chunks": len(pipeline.index.chunks)}

    ablations = None
    if args.ablations:
        from .ablations import run_ablations

        ablations = run_ablations(pipeline, records, items, progress=progress)
        metrics["ablations"] = ablations

    if args.out:
        write_outputs(Path(args.out), args, f"{command}` at commit `{version}", started, pipeline, metrics, records, ablations)

    if args.json:
        print(json.dumps({k: v for k, v in metrics.items() if k != "ablations"} if not args.ablations else metrics,
                         ensure_ascii=False, indent=1))
    else:
        from .report import ablation_table, console_summary

        print(console_summary(metrics))
        if ablations:
            print("\n" + ablation_table(ablations))
    if args.gate:
        gated = metrics["splits"].get("test", metrics)
        problems = check_floors(gated, load_floors())
        for p in problems:
            print(f"GATE FAILED: {p}", file=sys.stderr)
        if problems:
            return 1
        print(f"gate passed ({FLOORS.name})", file=sys.stderr)
    return 0


def corpus_settings(args) -> dict:
    """Settings overrides for --corpus / --index-dir / --library."""
    if args.library:
        from .library import WORK, build_library_corpus

        return {"corpus_dir": build_library_corpus(), "index_dir": Path(args.index_dir or WORK / "index")}
    over = {}
    if args.corpus:
        over["corpus_dir"] = Path(args.corpus)
        over["index_dir"] = Path(args.index_dir) if args.index_dir else Path(args.corpus).with_name(Path(args.corpus).name + ".index")
    elif args.index_dir:
        over["index_dir"] = Path(args.index_dir)
    return over


def code_version() -> str:
    """Commit of the checkout, with a note when rag/ or eval/ has uncommitted changes."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "rag", "eval/*.py"], cwd=HERE.parent,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (with uncommitted changes in rag/ or eval/)" if dirty else head or "unknown"


def write_outputs(out: Path, args, command, started, pipeline, metrics, records, ablations) -> None:
    from .report import write_items, write_latency_plot, write_plots, write_report

    out.mkdir(parents=True, exist_ok=True)
    s = pipeline.settings
    header = (f"# Golden-set evaluation\n\nProduced by `{command}` (started {started}, finished "
              f"{time.strftime('%Y-%m-%d %H:%M:%S %z')}).\n\n"
              f"Machine load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
              "(latencies are wall-clock per item, measured while other processes ran).\n\n"
              f"Golden file `{Path(args.golden).name}`: {metrics['n']} items. Embedder `{pipeline.embedder.name}`, "
              f"answer backend `{s.backend}`, {len(pipeline.index.chunks)} chunks in the index, "
              f"retrieval k=10 (ask uses {s.context_chunks} chunks). Follow-up items are retrieved with the query "
              f"`ask` used (its follow-up rewrite).")
    (out / "metrics.json").write_text(json.dumps(metrics, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    write_items(out / "items.jsonl", records)
    plots = []
    if not args.fast:
        plots = write_plots(out, metrics, ablations) + [write_latency_plot(out, records)]
    write_report(out, header, metrics, records, ablations, plots)


if __name__ == "__main__":
    sys.exit(main())
