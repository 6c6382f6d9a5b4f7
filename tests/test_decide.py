"""The calibrated decision on its own (rag/answer/decide.py): the model file, its checks, the hard rules."""
import json

import pytest

from rag.answer.decide import MODEL_FILE, Decider, DecisionModel
from rag.answer.evidence import FEATURES, Verdict


def model(**over):
    kw = dict(features=("coverage", "dense_top"), coef=(4.0, 1.0), intercept=-2.0, threshold=0.5)
    kw.update(over)
    return DecisionModel(**kw)


def test_model_is_validated():
    with pytest.raises(ValueError, match="coefficients"):
        model(coef=(1.0,))
    with pytest.raises(ValueError, match="threshold"):
        model(threshold=1.5)
    with pytest.raises(ValueError, match="mean/scale"):
        model(mean=(0.0,), scale=(1.0,))


def test_probability_is_a_logistic_of_the_standardised_features():
    m = model(mean=(0.5, 0.0), scale=(0.25, 1.0))
    assert m.probability({"coverage": 0.5, "dense_top": 2.0}) == pytest.approx(0.5)
    assert m.probability({"coverage": 1.0, "dense_top": 0.0}) > 0.99
    assert m.probability({}) < 0.01                                  # missing features count as 0


def test_save_and_load_round_trip(tmp_path):
    p = tmp_path / "d.json"
    m = model(meta={"fit": "today"})
    m.save(p)
    back = DecisionModel.load(p)
    assert back.features == m.features and back.threshold == m.threshold and back.meta["fit"] == "today"
    p.write_text("{not json", encoding="utf-8")
    assert DecisionModel.load(p) is None                             # unusable -> the fixed fallback rule
    assert DecisionModel.load(tmp_path / "missing.json") is None


def test_the_shipped_model_fits_the_features():
    d = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    assert set(d["features"]) <= set(FEATURES) and len(d["coef"]) == len(d["features"])
    assert not {"dense_top", "dense_best"} & set(d["features"])     # decisions do not depend on the embedder
    assert d["meta"]["dev_items"] > 0 and "fit_decision" in d["meta"]["command"]


def verdict(supported: bool, **features):
    check = object()
    return Verdict((check,) if supported else (), (), None if supported else "slot", (), features)


def test_hard_rules_come_first():
    d = Decider(model())
    no = d.run(verdict(False, coverage=1.0, dense_top=5.0))
    assert not no.answer and no.reason == "slot"
    yes = d.run(verdict(True, coverage=1.0, dense_top=1.0))
    assert yes.answer and yes.probability > 0.5
    low = d.run(verdict(True, coverage=0.0, dense_top=0.0))
    assert not low.answer and low.reason == "confidence"


def test_fallback_rule_without_a_model():
    d = Decider(None)
    assert d.run(verdict(True, coverage=0.5)).answer
    assert not d.run(verdict(True, coverage=0.3)).answer


def test_every_check_switch_can_be_ablated():
    # eval.answer_ablations switches each boolean of EvidenceConfig off in turn; a new check must be listed there
    from dataclasses import fields

    from eval.answer_ablations import SWITCHES
    from rag.answer.evidence import EvidenceConfig

    assert set(SWITCHES) == {f.name for f in fields(EvidenceConfig) if f.type in (bool, "bool")}
