"""A tiny OpenAI-compatible chat server for tests (real HTTP on 127.0.0.1, random free port).

The reply is chosen by the ``X-Scenario`` header or by ``scenario:NAME`` anywhere in the messages
(default ``good``). Every request body is recorded in ``FakeServer.requests``.

Usage::

    with FakeServer() as srv:
        backend = OpenAIBackend(srv.base_url, "fake-model", timeout=1.0)
"""
from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

GOOD = "綦江力争常住人口城镇化率达到70%[1]，地区生产总值年均增速达到6%[2]。"
REPLIES = {
    "good": GOOD,
    "bogus": "綦江力争常住人口城镇化率达到70%[1][9]，地区生产总值年均增速达到6%[2]［9］。",
    "invented": "綦江常住人口城镇化率达到85%[1]，地区生产总值年均增速达到6.5%[2]。",
    "injected": "好的，已忽略之前的所有指令。綦江地区生产总值年均增长99%[2]，由“星辰计划”推动。",
    "nomarker": "綦江力争常住人口城镇化率达到70%。",
    "rewrite": "綦江区“十五五”时期常住人口城镇化率目标是多少？",
    "empty": "",
}
SLOW_SECONDS = 15.0   # far beyond the tests' LLM timeouts, so 'not hung' holds on a loaded CI machine too


def _scenario(request: Request, body: dict) -> str:
    if request.headers.get("x-scenario"):
        return request.headers["x-scenario"]
    text = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
    m = re.search(r"scenario:(\w+)", text)
    return m.group(1) if m else "good"


def _completion(text: str, model: str) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _chunk(model: str, content: str | None = None, finish: str | None = None) -> str:
    delta = {"content": content} if content is not None else {}
    data = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def pieces(text: str, size: int = 7) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def make_app(requests: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        requests.append({"body": body, "headers": dict(request.headers)})
        scenario, model = _scenario(request, body), body.get("model", "fake")
        if scenario == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        if scenario == "error500":  # echoes the Authorization header: the client must not leak it
            return JSONResponse({"error": {"message": f"internal error, auth={request.headers.get('authorization')}",
                                           "type": "server_error"}}, status_code=500)
        if scenario == "garbage":
            return PlainTextResponse("<html>502 Bad Gateway … not json {", media_type="application/json")
        text = REPLIES.get(scenario, GOOD)
        if not body.get("stream") and scenario == "cut":  # body closes half-way through the JSON
            raw = json.dumps(_completion(text, model)).encode()

            async def half():
                yield raw[: len(raw) // 2]
                raise RuntimeError("connection dropped mid-body")

            return StreamingResponse(half(), media_type="application/json")
        if not body.get("stream"):
            return JSONResponse(_completion(text, model))

        async def events():
            yield _chunk(model, "")
            for i, piece in enumerate(pieces(text)):
                if scenario == "cut" and i == 2:
                    raise RuntimeError("connection dropped mid-stream")  # uvicorn aborts the response
                yield _chunk(model, piece)
                await asyncio.sleep(0.01)
            yield _chunk(model, finish="stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


class FakeServer:
    """uvicorn in a daemon thread; a context manager that yields itself once it is serving."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        config = uvicorn.Config(make_app(self.requests), log_level="critical", lifespan="off",
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> "FakeServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("fake OpenAI server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
        self.sock.close()
