"""The library corpus: the five product documents plus ../shared/library (67 real government work reports), for
library-scale evals. A test fixture, never product content: it is assembled in an ignored folder
(``.rag_library/``), never in ``corpus/``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT.parent / "shared" / "library"
WORK = ROOT / ".rag_library"


def build_library_corpus(dest: Path = WORK / "corpus", corpus: Path = ROOT / "corpus", library: Path = LIBRARY) -> Path:
    """Copy the corpus documents and the library reports into ``dest`` with one merged manifest (files are
    copied only when missing or changed). Returns ``dest``."""
    part = library / "manifest.part.json"
    if not part.is_file():
        raise FileNotFoundError(f"{part}: the library fixture is not here (expected ../shared/library beside the repo)")
    own = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    lib = json.loads(part.read_text(encoding="utf-8"))
    dest.mkdir(parents=True, exist_ok=True)
    entries = []
    for src_dir, doc in [(corpus, d) for d in own["documents"]] + [(library, d) for d in lib["documents"]]:
        src, dst = src_dir / doc["file"], dest / doc["file"]
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)
        entries.append(doc)
    manifest = {"description": "five product documents + ../shared/library (test fixture, built by eval/library.py)",
                "documents": entries}
    text = json.dumps(manifest, ensure_ascii=False, indent=1)
    mp = dest / "manifest.json"
    if not mp.exists() or mp.read_text(encoding="utf-8") != text:
        mp.write_text(text, encoding="utf-8")
    return dest


def fit_corpora(with_library: bool = True) -> list[tuple[str, dict]]:
    """(name, Settings overrides) of the corpora a model is fit over: the five documents, and -- unless not
    wanted or the fixture is absent (said on stderr) -- the five plus the library, so one model serves both sizes."""
    import sys

    corpora: list[tuple[str, dict]] = [("five documents", {})]
    if with_library:
        try:
            corpora.append(("library", {"corpus_dir": build_library_corpus(), "index_dir": WORK / "index"}))
        except FileNotFoundError as e:
            print(f"note: {e}; fitting on the five documents only", file=sys.stderr)
    return corpora
