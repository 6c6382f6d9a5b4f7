"""The learned fusion (rag/rank.py): the model file, the features, the reranking hook in Retriever.search and the
pairwise fit (eval/fit_rank.py). Real corpus, fake embedder."""
import copy
import logging

import numpy as np
import pytest

from rag.rank import FEATURES, GROUPS, MODEL_FILE, LearnedRanker, RankFeatures, RankModel, make_ranker
from rag.retrieve import Candidate


def features_for(fake_pipeline, question: str):
    """(Question, candidates as search passes them, their FEATURES rows as a dict per candidate)."""
    a = fake_pipeline.answerer
    q = a.analyze(question)
    seen = {}

    def record(cands):
        seen["cands"] = list(cands)
        return [c.fused for c in cands]

    fake_pipeline.retriever.search(q.search_text, 5, prefer=[d for d in a.scope(q) if a.verifier.fits_document(q, d)],
                                   rerank=record)
    X = RankFeatures(fake_pipeline.index.chunks, a.verifier, a.home).run(q, seen["cands"])
    return q, seen["cands"], [dict(zip(FEATURES, row)) for row in X]


def test_model_is_validated():
    with pytest.raises(ValueError, match="unknown rank features"):
        RankModel(("nope",), (1.0,), 0.0, (0.0,), (1.0,))
    with pytest.raises(ValueError, match="one value per feature"):
        RankModel(("term_cover", "focus_cover"), (1.0,), 0.0, (0.0, 0.0), (1.0, 1.0))
    with pytest.raises(ValueError, match="> 0"):
        RankModel(("term_cover",), (1.0,), 0.0, (0.0,), (0.0,))


def test_save_load_round_trip_and_score_is_the_standardised_linear_score(tmp_path):
    m = RankModel(("term_cover", "preferred_doc"), (2.0, -1.0), 0.5, (0.5, 0.0), (0.25, 1.0), {"note": "x"})
    m.save(tmp_path / "rank.json")
    back = RankModel.load(tmp_path / "rank.json")
    assert back == m and back.meta == {"note": "x"}
    X = np.zeros((2, len(FEATURES)))
    X[0, FEATURES.index("term_cover")] = 1.0          # z = (1 - 0.5) / 0.25 = 2 -> 2*2 + 0.5
    X[1, FEATURES.index("preferred_doc")] = 1.0       # z_term = -2 -> -4 - 1 + 0.5
    assert np.allclose(m.score(X), 1 / (1 + np.exp(-np.array([4.5, -4.5]))))


def test_missing_or_broken_model_file_means_rrf(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        assert RankModel.load(tmp_path / "missing.json") is None
    (tmp_path / "bad.json").write_text('{"features": ["nope"], "coef": [1], "intercept": 0, "mean": [0], "scale": [1]}')
    assert RankModel.load(tmp_path / "bad.json") is None
    assert "RRF" in caplog.text


def test_the_shipped_model_fits_the_features():
    m = RankModel.load(MODEL_FILE)
    assert m is not None and set(m.features) <= set(FEATURES) and len(m.features) >= 20
    assert m.meta["command"].startswith("python -m eval.fit_rank")
    assert "dev" in m.meta["note"]


def test_fusion_setting_picks_the_ranker(fake_pipeline):
    a = fake_pipeline.answerer
    assert make_ranker("rrf", fake_pipeline.index.chunks, a.verifier) is None
    assert isinstance(make_ranker("learned", fake_pipeline.index.chunks, a.verifier), LearnedRanker)
    with pytest.raises(ValueError, match="fusion"):
        make_ranker("lambdamart", fake_pipeline.index.chunks, a.verifier)
    from pydantic import ValidationError

    from rag.settings import Settings

    with pytest.raises(ValidationError):
        Settings(fusion="nope")


def test_candidates_carry_each_rankers_position(fake_pipeline):
    _, cands, _ = features_for(fake_pipeline, "重庆“十五五”研发经费投入强度目标是多少？")
    assert 1 <= len(cands) <= fake_pipeline.retriever.config.rerank_depth
    assert [c.fused for c in cands] == sorted((c.fused for c in cands), reverse=True)
    for k in range(3):                     # each ranker's best candidate is at its rank 0 and has its top score
        ranked = [c for c in cands if c.ranks[k] is not None]
        if ranked:
            best = min(ranked, key=lambda c: c.ranks[k])
            assert best.scores[k] == max(c.scores[k] for c in ranked)
    assert all(c.scores[k] == 0.0 for c in cands for k in range(3) if c.ranks[k] is None)


def test_rerank_reorders_only_the_top_depth(fake_pipeline):
    r = fake_pipeline.retriever
    q = "研发经费投入强度"
    plain, _ = r.search(q, 40)
    depth = 5
    shallow = copy.copy(r)
    shallow.config = type(r.config)(**{**r.config.__dict__, "rerank_depth": depth})
    reversed_, _ = shallow.search(q, 40, rerank=lambda cands: [float(i) for i in range(len(cands))])
    assert [h.chunk_id for h in reversed_[:depth]] == [h.chunk_id for h in plain[:depth]][::-1]
    assert [h.chunk_id for h in reversed_[depth:]] == [h.chunk_id for h in plain[depth:]]
    assert reversed_[0].score == float(depth - 1)          # the reranker's score is the hit's score


def test_definition_question_marks_glossary_entries(fake_pipeline):
    q, cands, rows = features_for(fake_pipeline, "“33618”是什么意思？")
    kinds = [fake_pipeline.index.chunks[c.index].kind for c in cands]
    assert "glossary" in kinds
    for kind, row in zip(kinds, rows):
        assert row["definition_glossary"] == float(kind == "glossary")
        assert row["number_row"] == 0.0
    glossary = [row for kind, row in zip(kinds, rows) if kind == "glossary"]
    assert any(row["term_cover"] > 0.5 for row in glossary)


def test_number_question_marks_rows_numbers_and_the_named_place(fake_pipeline):
    q, cands, rows = features_for(fake_pipeline, "綦江到2030年常住人口城镇化率目标是多少？")
    chunks = [fake_pipeline.index.chunks[c.index] for c in cands]
    for c, row in zip(chunks, rows):
        assert row["number_row"] == float(c.kind == "table_row")
        qijiang = c.doc_id == "qijiang-15th-five-year-plan"
        assert row["region_match"] == float(qijiang)       # 綦江区 is asked: only 綦江's document is about it
        assert row["named_doc"] == float(qijiang)
    assert any(row["number_near_topic"] for row in rows)
    assert all(0.0 <= row["term_cover"] <= 1.0 and 0.0 <= row["heading_cover"] <= 1.0 for row in rows)


def test_time_frame_features(fake_pipeline):
    q, cands, rows = features_for(fake_pipeline, "2024年全市地区生产总值实际增长了多少？")
    docs = [fake_pipeline.index.chunks[c.index].doc_id for c in cands]
    v = fake_pipeline.answerer.verifier
    for d, row in zip(docs, rows):
        assert row["fits_document"] == float(v.fits_document(q, d))
    assert any(row["fits_document"] for row in rows)
    assert all(not (row["year_stated"] and row["year_other"]) for row in rows)


def test_learned_pipeline_answers_with_verbatim_hits(fake_settings):
    from rag.pipeline import Pipeline

    p = Pipeline(fake_settings.model_copy(update={"fusion": "learned"}), progress=False)
    assert p.answerer.ranker is not None
    texts = {d.doc_id: d.text for d in p.corpus.documents}
    hits = p.retrieve("綦江到2030年常住人口城镇化率目标是多少？", 5)
    assert len(hits) == 5 and all(texts[h.doc_id][h.start:h.end] == h.text for h in hits)
    assert all(0.0 < h.score < 1.0 for h in hits)                      # learned scores, best first
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


# ----------------------------------------------------------------------------- the fit (eval/fit_rank.py)
def test_pairwise_fit_learns_what_puts_the_evidence_first():
    from eval.fit_rank import fit_pairwise, oof_scores, ranking_metrics

    rng = np.random.default_rng(0)
    groups = []
    for n in range(40):                      # the evidence is never first in RRF order, but has term_cover high
        X = rng.normal(size=(8, len(FEATURES)))
        y = np.zeros(8, dtype=int)
        y[3] = 1
        X[:, FEATURES.index("term_cover")] = rng.uniform(0, 0.5, size=8)
        X[3, FEATURES.index("term_cover")] = 0.9
        groups.append({"id": f"G{n}", "corpus": "c", "X": X, "y": y})
    cols = list(range(len(FEATURES)))
    coef, mean, scale = fit_pairwise(groups, cols, 1.0)
    assert int(np.argmax(coef)) == FEATURES.index("term_cover")
    rrf = ranking_metrics(groups, [-np.arange(8.0) for _ in groups])
    assert rrf == {"hit@1": 0.0, "mrr@10": 0.25}
    assert ranking_metrics(groups, oof_scores(groups, cols, 1.0))["hit@1"] == 1.0


def test_groups_cover_every_feature_once():
    flat = [f for g in GROUPS.values() for f in g]
    assert tuple(flat) == FEATURES and len(set(flat)) == len(flat)
    assert Candidate.__dataclass_params__.frozen


def test_fusion_ablation_rows_refit_without_each_group(fake_pipeline):
    from eval.ablations import fusion_variants
    from eval.golden import load_golden, split_of

    items = [it for it in load_golden("eval/golden.jsonl") if split_of(it["id"]) == "dev"
             and it["type"] == "factual_number"][:12]
    variants = fusion_variants(fake_pipeline, items)
    names = [v.name for v in variants]
    assert names[0].endswith("RRF (RAG_FUSION=rrf)") and "learned fusion" in names[1]
    assert [n for n in names if "refit without" in n] == [f"learned, refit without {g} signals" for g in GROUPS]
    assert all(v.by_half for v in variants)
    q = items[0]["question"]
    expected = [h.text for h in fake_pipeline.answerer.retrieve(fake_pipeline.answerer.analyze(q), 10)[0]]
    assert variants[0].retrieve(q) == expected                # the RRF row is what ask retrieves today
    assert all(len(v.retrieve(q)) == 10 for v in variants)
    without_rank = next(v for v in variants if v.name.endswith("without rank signals"))
    assert "features" in without_rank.note and str(len(FEATURES) - len(GROUPS["rank"])) in without_rank.note
