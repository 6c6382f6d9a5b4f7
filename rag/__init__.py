"""渝策问答 -- cited question answering over Chongqing planning documents."""
import os as _os
from pathlib import Path as _Path

# tiktoken cannot download encodings here: use llama-index-core's bundled cache (cl100k_base, o200k_base).
if "TIKTOKEN_CACHE_DIR" not in _os.environ:
    try:
        import llama_index.core as _lic

        _os.environ["TIKTOKEN_CACHE_DIR"] = str(_Path(_lic.__file__).parent / "_static" / "tiktoken_cache")
    except ImportError:  # pragma: no cover
        pass
# never reach for a model hub at run time
_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
