"""Pieces shared by the tests' stand-in pipelines."""
from __future__ import annotations

from concurrent.futures import Future


class RunsNow:
    """``Pipeline.submit`` for a stand-in pipeline: runs ``task(self, ...)`` at once, its outcome in a Future."""

    def submit(self, task, /, *args, **kwargs) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(task(self, *args, **kwargs))
        except Exception as e:
            fut.set_exception(e)
        return fut
