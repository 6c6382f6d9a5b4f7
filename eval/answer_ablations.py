"""python -m eval.answer_ablations [FILE ...] [--split dev|test|all]

The answer stage with each verification check switched off in turn (``EvidenceConfig``'s check_* and rule
switches), and with the decision model replaced by "answer whatever a clause supports" or by the fallback
coverage rule: what each part is worth. Default: the dev half of eval/golden.jsonl (tune on dev; report test
elsewhere). Prints one line per variant: refusal accuracy, false refusals, keyword accuracy, off-subject.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from . import metrics as M
from .golden import load_golden, split_of
from .run import run

HERE = Path(__file__).resolve().parent
SWITCHES = ("check_subject", "check_time", "check_slot", "counted_noun", "other_kind", "given_numbers", "place_lists",
            "per_unit", "unknown_focus", "same_segment", "subject_tiers", "named_kinds", "better_match", "place_figures",
            "period_tiers", "other_compound", "member_figures", "counted_numbers", "relative_figures", "period_totals", "split_compounds", "durations", "section_measures", "part_lists", "whole_place", "current_plans", "beyond_documents", "item_lists", "plan_word",
            "named_first", "subset_figures", "better_names")


def variants():
    yield "all checks", {}
    for name in SWITCHES:
        yield f"no {name}", {name: False}
    yield "min_focus 0", {"min_focus": 0.0}
    yield "no model (answer what is supported)", "no-model"
    yield "fallback coverage rule", "fallback"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.answer_ablations", description=__doc__.split("\n\n")[1])
    ap.add_argument("files", nargs="*", type=Path, help="golden-format JSONL files (default: eval/golden.jsonl)")
    ap.add_argument("--split", choices=("dev", "test", "all"), default="dev",
                    help="which half of eval/golden.jsonl (other files are used whole)")
    ap.add_argument("--only", action="append", choices=SWITCHES, metavar="SWITCH",
                    help="run 'all checks' and only these switches off (repeatable); default: every variant")
    args = ap.parse_args(argv)
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    golden = HERE / "golden.jsonl"
    items = []
    for path in args.files or [golden]:
        rows = load_golden(path)
        if path.resolve() == golden and args.split != "all":
            rows = [it for it in rows if split_of(it["id"]) == args.split]
        items += rows
    pipe = Pipeline(Settings(), progress=False)
    answerer = pipe.answerer
    config, model = answerer.verifier.config, answerer.decider.model
    print(f"{len(items)} items ({sum(it['type'] == 'unanswerable' for it in items)} unanswerable)", file=sys.stderr)
    try:
        for name, change in variants():
            if args.only and name != "all checks" and name.removeprefix("no ") not in args.only:
                continue
            answerer.verifier.config, answerer.decider.model = config, model
            if change == "no-model":
                answerer.decider.model = dataclasses.replace(model, threshold=1e-9) if model else None
            elif change == "fallback":
                answerer.decider.model = None
            else:
                answerer.verifier.config = dataclasses.replace(config, **change)
            m = M.aggregate(run(pipe, items, progress=False))
            print(f"{name:36s} refusal {m['refusal']['accuracy']:.3f}  false refusals {m['refusal']['false_refusal_rate']:.3f}"
                  f"  keyword {m['answer']['keyword_accuracy']:.3f}  off-subject {m['off_subject_rate']:.3f}")
    finally:
        answerer.verifier.config, answerer.decider.model = config, model
        pipe.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
