"""python -m eval --compare RUN_A RUN_B: what changed between two runs written by ``python -m eval --out DIR``.

A run is its folder (items.jsonl, and metrics.json when there) or an items.jsonl file. Prints the items that were
fixed (failing in A, passing in B) or broken, each with its question and the per-item checks that changed, the
items whose checks changed without changing pass/fail, and every metric of the dev/test table with its delta.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import metrics as M
from .golden import SPLITS
from .report import SPLIT_ROWS, _get, table

QUESTION_CHARS = 48          # a question longer than this is cut in the listing (the id finds it in items.jsonl)


class CompareError(ValueError):
    """A run that cannot be compared; the message names the file."""


@dataclass(frozen=True)
class Run:
    path: Path
    records: dict[str, dict]     # id -> item record (items.jsonl)
    metrics: dict                # metrics.json, else aggregated from the records


@dataclass(frozen=True)
class Check:
    """One per-item check; ``passed`` is None where it does not apply (retrieval checks on unanswerable items)."""
    name: str
    passed: Callable[[dict], bool | None]
    detail: Callable[[dict], str] = lambda r: ""


def _answerable(test: Callable[[dict], bool]) -> Callable[[dict], bool | None]:
    return lambda r: bool(test(r)) if r.get("answerable") else None


def _rank(r: dict) -> str:
    return f"rank {r.get('hit_rank') or '>10'}"


def _faithful(r: dict) -> bool | None:
    ok, n = (r.get("lead_numbers") or (0, 0))
    return None if r.get("refused") or not n else ok == n


CHECKS = (
    Check("hit@1", _answerable(lambda r: r.get("hit_rank") == 1), _rank),
    Check("hit@5", _answerable(lambda r: (r.get("hit_rank") or 99) <= 5), _rank),
    Check("keyword", _answerable(lambda r: r.get("keyword_ok")),
          lambda r: "missing " + "".join(f"「{k}」" for k in r["missing_keywords"]) if r.get("missing_keywords") else ""),
    Check("lead_keyword", _answerable(lambda r: r.get("lead_keyword_ok") and not r.get("refused"))),
    Check("citation_hit", _answerable(lambda r: r.get("citation_hit"))),
    Check("answered", _answerable(lambda r: not r.get("refused"))),                 # a false refusal when ✗
    Check("refused", lambda r: None if r.get("answerable") else bool(r.get("refused"))),
    Check("citations_valid", lambda r: r.get("citations_valid") == r.get("citations_total")),
    Check("lead_faithful", _faithful),
)


@dataclass(frozen=True)
class ItemChange:
    id: str
    split: str
    type: str
    question: str
    failed: tuple[bool, bool]    # in A, in B
    changes: tuple[str, ...]     # "keyword ✗→✓ (missing 「万州」 → –)"


@dataclass(frozen=True)
class Comparison:
    a: Run
    b: Run
    fixed: list[ItemChange]
    broken: list[ItemChange]
    changed: list[ItemChange]    # some check changed, pass/fail did not
    only_a: list[str]
    only_b: list[str]


# ----------------------------------------------------------------------------- loading
REQUIRED = ("id", "failed", "answerable", "refused", "keyword_ok", "hit_rank")


def load_run(path: str | Path) -> Run:
    p = Path(path)
    if p.is_dir():
        items_file, metrics_file = p / "items.jsonl", p / "metrics.json"
    elif p.is_file():
        items_file, metrics_file = p, (p.with_name("metrics.json") if p.name == "items.jsonl" else None)
    else:
        raise CompareError(f"{p}: not found (give a folder written by `python -m eval --out DIR` or its items.jsonl)")
    if not items_file.is_file():
        raise CompareError(f"{p}: no item records (items.jsonl); `python -m eval --out DIR` writes them")
    records = _read_records(items_file)
    if metrics_file is not None and metrics_file.is_file():
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    else:
        metrics = aggregate(list(records.values()), items_file)
    return Run(path=p, records=records, metrics=metrics)


def _read_records(path: Path) -> dict[str, dict]:
    records = {}
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            raise CompareError(f"{path}:{n}: invalid JSON ({e})") from None
        missing = [k for k in REQUIRED if not isinstance(r, dict) or k not in r]
        if missing:
            raise CompareError(f"{path}:{n}: not an item record of `python -m eval --out` (missing {', '.join(missing)})")
        records[r["id"]] = r
    if not records:
        raise CompareError(f"{path}: no item records")
    return records


def aggregate(records: list[dict], source: Path) -> dict:
    """The metrics of a run given as items.jsonl alone, as ``python -m eval`` computes them."""
    try:
        m = M.aggregate(records)
        m["splits"] = {sp: M.aggregate([r for r in records if r.get("split") == sp]) for sp in SPLITS
                       if any(r.get("split") == sp for r in records)}
    except (KeyError, TypeError) as e:
        raise CompareError(f"{source}: cannot compute the metrics from these records (field {e})") from None
    return m


# ----------------------------------------------------------------------------- comparing
def item_change(ra: dict, rb: dict) -> ItemChange | None:
    changes = []
    for c in CHECKS:
        pa, pb = c.passed(ra), c.passed(rb)
        if pa is None or pb is None or pa == pb:
            continue
        da, db = c.detail(ra), c.detail(rb)
        changes.append(f"{c.name} {_mark(pa)}→{_mark(pb)}" + (f" ({da or '–'} → {db or '–'})" if da or db else ""))
    if not changes and ra["failed"] == rb["failed"]:
        return None
    q = rb.get("question") or ra.get("question") or ""
    return ItemChange(id=rb["id"], split=rb.get("split") or "", type=rb.get("type") or "",
                      question=q if len(q) <= QUESTION_CHARS else q[:QUESTION_CHARS] + "…",
                      failed=(bool(ra["failed"]), bool(rb["failed"])), changes=tuple(changes))


def _mark(passed: bool) -> str:
    return "✓" if passed else "✗"


def compare(a: Run, b: Run) -> Comparison:
    both = [i for i in a.records if i in b.records]
    changes = [c for i in both if (c := item_change(a.records[i], b.records[i]))]
    return Comparison(a=a, b=b, fixed=[c for c in changes if c.failed == (True, False)],
                      broken=[c for c in changes if c.failed == (False, True)],
                      changed=[c for c in changes if c.failed[0] == c.failed[1]],
                      only_a=[i for i in a.records if i not in b.records],
                      only_b=[i for i in b.records if i not in a.records])


# ----------------------------------------------------------------------------- printing
def delta_cell(va, vb, ms: bool) -> str:
    if va is None and vb is None:
        return "–"
    if va is None or vb is None:
        return f"{_num(va, ms)} → {_num(vb, ms)}"
    if round(vb - va, 4) == 0:
        return f"{_num(vb, ms)} (=)"
    return f"{_num(va, ms)} → {_num(vb, ms)} ({vb - va:+.{1 if ms else 3}f})"


def _num(v, ms: bool) -> str:
    return "–" if v is None else f"{v:.{1 if ms else 3}f}"


def delta_table(ma: dict, mb: dict) -> str:
    """Every metric of the dev/test table: A → B (B − A), for all items and each half present in either run."""
    halves = [sp for sp in SPLITS if sp in ma.get("splits", {}) or sp in mb.get("splits", {})]
    cols = [("all", ma, mb)] + [(sp, ma.get("splits", {}).get(sp, {}), mb.get("splits", {}).get(sp, {})) for sp in halves]
    header = ["metric"] + [f"{name} (n={x.get('n', '–')} → {y.get('n', '–')})" for name, x, y in cols]
    rows = [[name] + [delta_cell(_get(x, path), _get(y, path), name.endswith("(ms)")) for _, x, y in cols]
            for name, path in SPLIT_ROWS]
    return table(header, rows)


def _listing(title: str, changes: list[ItemChange]) -> list[str]:
    if not changes:
        return [f"{title}: none"]
    out = [f"{title} ({len(changes)}):"]
    for c in changes:
        out.append(f"  {c.id} [{c.split}] {c.type}  {c.question}")
        out.append("      " + ("; ".join(c.changes) if c.changes else "pass/fail changed"))
    return out


def _ids(title: str, ids: list[str], most: int = 20) -> list[str]:
    if not ids:
        return []
    return [f"{title} ({len(ids)}): " + ", ".join(ids[:most]) + (" …" if len(ids) > most else "")]


def render(cmp: Comparison) -> str:
    n_both = len(cmp.a.records) - len(cmp.only_a)
    lines = [f"A: {cmp.a.path} ({len(cmp.a.records)} items)", f"B: {cmp.b.path} ({len(cmp.b.records)} items)",
             f"{n_both} items in both: {len(cmp.fixed)} fixed, {len(cmp.broken)} broken, "
             f"{len(cmp.changed)} with other changes", ""]
    lines += _listing("Fixed (failing in A, passing in B)", cmp.fixed) + [""]
    lines += _listing("Broken (passing in A, failing in B)", cmp.broken) + [""]
    lines += _listing("Other changes (same pass/fail)", cmp.changed) + [""]
    extra = _ids("Only in A", cmp.only_a) + _ids("Only in B", cmp.only_b)
    lines += extra + ([""] if extra else [])
    lines += ["Metrics, A → B (B − A):", delta_table(cmp.a.metrics, cmp.b.metrics)]
    return "\n".join(lines)


def main(run_a: str, run_b: str) -> int:
    import sys

    try:
        print(render(compare(load_run(run_a), load_run(run_b))))
    except CompareError as e:
        sys.exit(f"error: {e}")
    return 0
