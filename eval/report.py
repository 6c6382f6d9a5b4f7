"""Outputs of an eval run: the console summary, report.md, metrics.json, items.jsonl and PNG charts."""
from __future__ import annotations

import json
from pathlib import Path

from .metrics import TYPES


def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_table(m: dict) -> str:
    r, a, f, lat = m["retrieval"], m["answer"], m["refusal"], m["latency_ms"]
    rows = [["hit@1", r["hit@1"]], ["hit@5", r["hit@5"]], ["mrr@10", r["mrr@10"]],
            ["evidence_recall@10", r["evidence_recall@10"]],
            ["keyword_accuracy", a["keyword_accuracy"]], ["lead_keyword_accuracy", a["lead_keyword_accuracy"]],
            ["lead_faithfulness", a["lead_faithfulness"]], ["citation_validity", a["citation_validity"]],
            ["citation_hit", a["citation_hit"]], ["refusal accuracy", f["accuracy"]],
            ["false_refusal_rate", f["false_refusal_rate"]],
            ["cross-document: all docs covered @5", m["cross_document"]["all_docs@5"]],
            ["retrieve p50 / p95 (ms)", f"{lat['retrieve_p50']:.0f} / {lat['retrieve_p95']:.0f}"],
            ["ask p50 / p95 (ms)", f"{lat['ask_p50']:.0f} / {lat['ask_p95']:.0f}"]]
    return table([f"metric (n={m['n']})", "value"], rows)


SPLIT_ROWS = [("hit@1", ("retrieval", "hit@1")), ("hit@5", ("retrieval", "hit@5")), ("mrr@10", ("retrieval", "mrr@10")),
              ("keyword_accuracy", ("answer", "keyword_accuracy")),
              ("lead_keyword_accuracy", ("answer", "lead_keyword_accuracy")), ("lead_faithfulness", ("answer", "lead_faithfulness")),
              ("citation_validity", ("answer", "citation_validity")),
              ("citation_hit", ("answer", "citation_hit")), ("refusal accuracy", ("refusal", "accuracy")),
              ("false_refusal_rate", ("refusal", "false_refusal_rate")), ("off_subject_rate", ("off_subject_rate",)), ("outside_doc_rate", ("outside_doc_rate",)),
              ("ask p50 (ms)", ("latency_ms", "ask_p50"))]


def _get(m: dict, path: tuple[str, ...]):
    for k in path:
        m = m.get(k) if isinstance(m, dict) else None
    return m


def split_table(m: dict) -> str:
    """dev and test side by side (tune on dev; the gate and the report's claims use test)."""
    cols = ["all"] + list(m.get("splits", {}))
    ms = [m] + [m["splits"][c] for c in cols[1:]]
    header = [f"metric"] + [f"{c} (n={x['n']})" for c, x in zip(cols, ms)]
    return table(header, [[name] + [_get(x, path) for x in ms] for name, path in SPLIT_ROWS])


def group_table(groups: dict, first: str) -> str:
    cols = ["n", "hit@5", "mrr@10", "keyword_accuracy", "lead_keyword_accuracy", "citation_hit", "false_refusal_rate", "refusal_accuracy"]
    return table([first] + cols, [[name] + [g.get(c) for c in cols] for name, g in groups.items()])


def ablation_table(rows: list[dict]) -> str:
    return table(["variant", "hit@1", "hit@5", "mrr@10", "evidence_recall@10", "note"],
                 [[r["name"], r["hit@1"], r["hit@5"], r["mrr@10"], r["evidence_recall@10"], r["note"]] for r in rows])


def console_summary(m: dict) -> str:
    out = split_table(m) if m.get("splits") else summary_table(m)
    out += "\n\n" + group_table(m["by_type"], "type")
    if m.get("by_style"):
        out += "\n\n" + group_table(m["by_style"], "style")
    return out


# ----------------------------------------------------------------------------- files
def write_items(path: Path, records: list[dict]) -> None:
    """Failing cases first (in golden order within each group)."""
    ordered = [r for r in records if r["failed"]] + [r for r in records if not r["failed"]]
    with open(path, "w", encoding="utf-8") as f:
        for r in ordered:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def write_plots(out: Path, m: dict, ablations: list[dict] | None) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ks = list(range(1, len(m["hit_curve"]) + 1))
    ax.plot(ks, list(m["hit_curve"].values()), marker="o", linewidth=2.5, label="pipeline (fused)")
    for ab in ablations or []:
        if ab["name"].startswith("fused (default)"):
            continue
        ax.plot(range(1, len(ab["hit_curve"]) + 1), ab["hit_curve"], marker=".", linewidth=1, alpha=0.8, label=ab["name"])
    ax.set(xlabel="k", ylabel="hit@k (answerable items)", title="hit@k", xticks=ks, ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "hit_at_k.png", dpi=110)
    plt.close(fig)
    names.append("hit_at_k.png")

    types = [t for t in TYPES if t in m["by_type"]]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = range(len(types))
    hit5 = [m["by_type"][t]["hit@5"] or 0 for t in types]
    kw = [m["by_type"][t]["keyword_accuracy"] for t in types]
    ax.bar([i - 0.2 for i in x], hit5, width=0.4, label="hit@5")
    ax.bar([i + 0.2 for i in x], kw, width=0.4, label="keyword_accuracy (unanswerable: refusal wording)")
    ax.set_xticks(list(x), [f"{t}\n(n={m['by_type'][t]['n']})" for t in types], fontsize=7)
    ax.set(ylim=(0, 1.15), title="by question type")
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    fig.savefig(out / "by_type.png", dpi=110)
    plt.close(fig)
    names.append("by_type.png")
    return names


def write_latency_plot(out: Path, records: list[dict]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (("retrieve_ms", "retrieve (k=10)"), ("ask_ms", "ask")):
        ax.hist([r[key] for r in records if r.get(key) is not None], bins=30, alpha=0.6, label=label)
    ax.set(xlabel="ms", ylabel="items", title="latency per item")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)
    return "latency.png"


def write_report(out: Path, header: str, m: dict, records: list[dict], ablations: list[dict] | None,
                 plots: list[str]) -> None:
    parts = [header]
    if ablations:
        parts += ["## Retrieval ablations (answerable items, same embedder, same queries)", ablation_table(ablations),
                  "hit@k is computed against the chunk text each pipeline returns. llama-index top-2 returns two nodes, "
                  "so its hit@5 column is hit@2 and mrr/recall are @2; top-5 columns are @5."]
    if m.get("splits"):
        parts += ["## Dev and test halves (rules and the refusal model are tuned on dev; claims are made on test)",
                  split_table(m)]
    parts += ["## Summary", summary_table(m), "## By question type", group_table(m["by_type"], "type")]
    if m.get("by_style"):
        parts += ["## By phrasing style", group_table(m["by_style"], "style")]
    parts += ["## By document (cross-document items count for each of their documents)", group_table(m["by_doc"], "document")]
    cross = m["cross_document"]
    if cross["n"]:
        parts += [f"## Cross-document items (n={cross['n']})",
                  table(["some evidence in top 5 (= hit@5)", "every document covered in top 5", "every document covered in top 10"],
                        [[cross["some_doc_hit@5"], cross["all_docs@5"], cross["all_docs@10"]]])]
    fails = [r for r in records if r["failed"]]
    parts.append(f"## Failing cases ({len(fails)} of {len(records)}; full detail in items.jsonl, failing first)")
    rows = []
    for r in fails:
        why = []
        if r.get("error"):
            why.append("error")
        if r["answerable"]:
            if r["hit_rank"] is None:
                why.append("no evidence in top 10")
            elif r["hit_rank"] > 5:
                why.append(f"evidence at rank {r['hit_rank']}")
            if r["refused"]:
                why.append("refused")
            elif r["missing_keywords"]:
                why.append("missing " + "、".join(r["missing_keywords"]))
            if not r["citation_hit"]:
                why.append("no citation with evidence")
            if r["citations_valid"] < r["citations_total"]:
                why.append("invalid citation")
        else:
            why.append("answered instead of refusing")
        rows.append([r["id"], r["type"], r["question"].replace("|", "/"), "; ".join(why)])
    parts.append(table(["id", "type", "question", "why"], rows))
    if plots:
        parts.append("## Charts")
        parts += [f"![{p}]({p})" for p in plots]
    (out / "report.md").write_text("\n\n".join(parts) + "\n", encoding="utf-8")
