"""Pieces shared by the tests: stand-in pipelines, driving the chat's turn handler."""
from __future__ import annotations

import asyncio
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


def chat_handler(demo):
    """The chat's turn handler (app.respond) inside a built Gradio UI (app.build_ui)."""
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "respond")


def run_turn(respond, message, state=None, doc="") -> list:
    """Every update one chat turn sends (respond is an async generator)."""
    async def run():
        return [out async for out in respond(message, state, doc, None)]
    return asyncio.run(run())
