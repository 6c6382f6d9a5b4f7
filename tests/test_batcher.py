"""QueryBatcher: concurrent single-question calls share forward passes and each gets its own vector."""
import threading
import time

import numpy as np
import pytest

from rag.batcher import QueryBatcher
from rag.embed import FakeEmbedder


class SlowEmbedder(FakeEmbedder):
    """FakeEmbedder whose query pass takes a while, so that callers pile up behind it."""

    def __init__(self, fail_on: str | None = None):
        super().__init__()
        self.calls: list[int] = []
        self.fail_on = fail_on

    def embed_queries(self, texts):
        self.calls.append(len(texts))
        time.sleep(0.05)
        if self.fail_on in texts:
            raise RuntimeError("model failed")
        return super().embed_queries(texts)


def run_threads(batcher, questions):
    out, errors = {}, {}

    def work(q):
        try:
            out[q] = batcher.embed_queries([q])
        except Exception as e:
            errors[q] = e

    threads = [threading.Thread(target=work, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return out, errors


def test_concurrent_questions_share_passes_and_get_their_own_vectors():
    inner = SlowEmbedder()
    b = QueryBatcher(inner, max_batch=8)
    questions = [f"綦江 问题 {i}" for i in range(20)]
    out, errors = run_threads(b, questions)
    assert not errors and len(out) == 20
    ref = FakeEmbedder()
    for q in questions:
        assert out[q].shape == (1, ref.dim)
        np.testing.assert_allclose(out[q], ref.embed_queries([q]), rtol=0, atol=1e-7)
    assert sum(inner.calls) == 20
    assert len(inner.calls) < 20 and max(inner.calls) <= 8 and b.largest_batch == max(inner.calls)


def test_a_lone_question_is_encoded_at_once_and_bulk_calls_pass_through():
    inner = SlowEmbedder()
    b = QueryBatcher(inner)
    v = b.embed_queries(["重庆"])
    assert v.shape == (1, inner.dim) and inner.calls == [1]
    assert b.embed_queries(["a", "b", "c"]).shape == (3, inner.dim) and inner.calls == [1, 3]
    assert b.dim == inner.dim and b.name == inner.name          # the wrapped embedder's attributes


def test_an_error_reaches_every_caller_of_that_batch_only():
    inner = SlowEmbedder(fail_on="坏")
    b = QueryBatcher(inner, max_batch=64)
    out, errors = run_threads(b, ["坏"] + [f"好{i}" for i in range(10)])
    assert "坏" in errors and isinstance(errors["坏"], RuntimeError)
    assert len(out) + len(errors) == 11
    # the batcher is not stuck afterwards
    assert b.embed_queries(["好"]).shape == (1, inner.dim)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_max_batch_validated(bad):
    with pytest.raises(ValueError):
        QueryBatcher(FakeEmbedder(), max_batch=bad)
