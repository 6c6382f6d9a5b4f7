"""A quiet first start (rag/logs.py): the first ``python -m rag index`` and ``python app.py`` (fake embedder, fresh
index) print one line per stage with its duration and no other library's INFO lines; the int8 quantisation's
INFO flood from onnxruntime is dropped, and RAG_LOG_LEVEL=debug brings the libraries' lines back."""
from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag import embed
from rag.embedding import onnx_export
from rag.logs import setup_logging

ROOT = Path(__file__).resolve().parent.parent
BAR = re.compile(r"向量化 / embedding: +\d+%\|.*\| (\d+)/(\d+) \[[^\]]+\]")
INDEXED = re.compile(r"索引完成 / index ready: 5 documents, \d+ chunks; embedded \d+ chunks of 5 changed documents, "
                     r"reused 0, removed 0; \d+\.\d s")
CLI_LINES = [re.compile(p) for p in (r"rebuilding index: no index at \S+", BAR.pattern, INDEXED.pattern,
                                     r"文档范围 / document scope .+", r"  [a-z0-9.-]+: \S.+")]
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "
APP_LINES = [re.compile(p) for p in (r"渝策问答: 加载文档与索引（首次启动会建立索引）/ loading corpus and index \.\.\.",
                                     STAMP + r"INFO rag\.index: rebuilding index: no index at \S+", BAR.pattern,
                                     INDEXED.pattern,
                                     r"就绪 / ready: 5 documents, \d+ chunks \(\d+\.\d s\); http://127\.0\.0\.1:\d+/")]


def fresh_env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return {**env, "RAG_EMBEDDER": "fake", "RAG_INDEX_DIR": str(tmp_path / "index"), "PYTHONUNBUFFERED": "1",
            "RAG_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"), "RAG_BACKEND": "extractive", **extra}


def lines_of(output: str) -> list[str]:
    """Output lines, a progress bar's redraws (carriage returns) as lines of their own."""
    return [ln for ln in re.split(r"[\r\n]+", output) if ln.strip()]


def unexpected(lines: list[str], allowed: list[re.Pattern]) -> list[str]:
    return [ln for ln in lines if not any(p.fullmatch(ln) for p in allowed)]


def bar_finished(lines: list[str]) -> bool:
    last = [BAR.fullmatch(ln) for ln in lines if BAR.fullmatch(ln)][-1]
    return last.group(1) == last.group(2) and int(last.group(1)) > 100


# ------------------------------------------------------------------ the command line
def test_first_index_build_prints_only_its_stage_lines(tmp_path):
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "rag", "index"], cwd=ROOT, env=fresh_env(tmp_path),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    lines = lines_of(p.stderr + "\n" + p.stdout)
    assert not unexpected(lines, CLI_LINES), unexpected(lines, CLI_LINES)
    assert bar_finished(lines) and any(INDEXED.fullmatch(ln) for ln in lines)
    assert time.perf_counter() - t < 300


def test_debug_level_shows_the_libraries_lines(tmp_path):
    p = subprocess.run([sys.executable, "-m", "rag", "index"], cwd=ROOT, env=fresh_env(tmp_path, RAG_LOG_LEVEL="DEBUG"),
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    # hidden at the default level (bm25s's "Building index from tokens" was the example until the index built its
    # BM25 itself, rag/bm25.py)
    assert "INFO faiss.loader: Loading faiss" in p.stderr
    assert "DEBUG rag.index: not reusing previous index" in p.stderr


# ------------------------------------------------------------------ the web app
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, data: bytes | None = None) -> bytes:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def test_first_app_start_prints_only_its_stage_lines(tmp_path):
    """Start, serve the page, a REST answer and the Gradio config (uvicorn's access log, httpx, gradio), stop."""
    port = free_port()
    log = open(tmp_path / "app.log", "w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                            env=fresh_env(tmp_path), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 240
        while True:
            assert proc.poll() is None and time.time() < deadline, "app.py did not start"
            try:
                if json.loads(get(url + "/api/health"))["status"] == "ok":
                    break
            except OSError:
                time.sleep(0.3)
        get(url + "/")
        get(url + "/config")
        answer = json.loads(get(url + "/api/ask", json.dumps({"question": "“33618”是什么？"}).encode()))
        assert answer["citations"]
    finally:
        proc.terminate()
        proc.wait(20)
    log.seek(0)
    lines = lines_of(log.read())
    log.close()
    assert not unexpected(lines, APP_LINES), unexpected(lines, APP_LINES)
    assert bar_finished(lines) and lines[-1].startswith("就绪 / ready:")


# ------------------------------------------------------------------ the int8 quantisation (in this process)
@pytest.fixture
def restore_logging():
    root, rag = logging.getLogger(), logging.getLogger("rag")
    saved = (list(root.handlers), root.level, rag.level)
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    rag.setLevel(saved[2])


def tiny_fp32(model_dir: Path, out: Path) -> Path:
    """A one-MatMul ONNX graph instead of the BERT export (seconds of torch): the quantizer then runs for real."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.arange(32, dtype=np.float32).reshape(8, 4) / 32, "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(out))
    return out


def converted(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / embed.MARKER).write_text(json.dumps({"conversion_version": embed.CONVERSION_VERSION, "name": "e5/tiny"}))
    return path


@pytest.mark.parametrize("level", ["info", "debug"])
def test_quantizer_info_lines_only_at_debug_and_one_export_line(tmp_path, monkeypatch, capfd, restore_logging, level):
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr(onnx_export, "_export_fp32", tiny_fp32)
    setup_logging(level)
    out = embed.export_onnx(converted(tmp_path / "e5"), "onnx-int8")
    err = capfd.readouterr().err
    assert out.is_file()
    stage = re.compile(r"ONNX 导出 / ONNX export \d+\.\d s \+ int8 quantisation \d+\.\d s: \d+\.\d s -> \S+model_int8\.onnx")
    assert [ln for ln in err.splitlines() if stage.fullmatch(ln)], err
    quantizer = ("Quantization parameters for tensor", "pre-processing before quantization")
    if level == "info":
        assert err.strip().count("\n") == 0 and not any(q in err for q in quantizer), err   # the one stage line
    else:
        assert all(q in err for q in quantizer), err       # the real quantizer's lines: what info mode drops


def test_quantizer_info_lines_dropped_without_our_logging_too(tmp_path, monkeypatch, capfd, restore_logging):
    """As a library (eval, a notebook): a root handler at INFO, as onnxruntime's own basicConfig leaves it."""
    pytest.importorskip("onnxruntime")
    monkeypatch.setattr(onnx_export, "_export_fp32", tiny_fp32)
    root = logging.getLogger()
    root.handlers[:] = [logging.StreamHandler(sys.stderr)]
    root.setLevel(logging.INFO)
    logging.getLogger("rag").setLevel(logging.NOTSET)
    embed.export_onnx(converted(tmp_path / "e5"), "onnx-int8")
    err = capfd.readouterr().err
    assert "ONNX 导出 / ONNX export" in err and "Quantization parameters" not in err and "Ignore MatMul" not in err
