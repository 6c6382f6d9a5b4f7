"""Reading and writing manifest.json: under a lock across threads and processes, written atomically (temp
file in the same folder + os.replace).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

from ..corpus import MANIFEST
from .errors import IngestError

_LOCK = threading.RLock()


@contextlib.contextmanager
def manifest_lock(corpus_dir: Path):
    """Serialises manifest updates across threads and processes (flock on a lock file outside the corpus)."""
    key = hashlib.sha256(str(Path(corpus_dir).resolve()).encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"rag-manifest-{key}.lock"
    with _LOCK:
        try:
            import fcntl
        except ImportError:              # not POSIX: the thread lock only
            yield
            return
        with open(path, "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def _read_manifest_obj(corpus_dir: Path) -> dict:
    path = Path(corpus_dir) / MANIFEST
    if not path.exists():
        return {"documents": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise IngestError(MANIFEST, f"清单文件不是有效的 JSON（{e}）", f"invalid JSON ({e})", "bad_manifest", 500) from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise IngestError(MANIFEST, "缺少 documents 列表", "missing 'documents' list", "bad_manifest", 500)
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_manifest(corpus_dir: Path, data: dict) -> None:
    """manifest.json written atomically (temp file in the same folder + os.replace)."""
    _write_atomic(Path(corpus_dir) / MANIFEST, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
