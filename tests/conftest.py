import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def corpus():
    from rag.corpus import load_corpus

    return load_corpus(ROOT / "corpus", strict=True)


@pytest.fixture(scope="session")
def fake_settings(tmp_path_factory):
    from rag.settings import Settings

    # answering in this process: exact and fast; tests/test_child.py covers the forked child (ask_process=True)
    # RRF: the learned fusion weighs dense scores fit on the real e5 model's, which the fake embedder's are not
    # (tests/test_rank.py drives the learned fusion explicitly)
    return Settings(embedder="fake", fusion="rrf", index_dir=tmp_path_factory.mktemp("index"), ask_process=False,
                    feedback_db=tmp_path_factory.mktemp("fb") / "feedback.sqlite3")


@pytest.fixture(scope="session")
def fake_pipeline(fake_settings):
    """The whole pipeline on the real corpus with the deterministic fake embedder (fast, exact)."""
    from rag.pipeline import Pipeline

    return Pipeline(fake_settings, progress=False)
