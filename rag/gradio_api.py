"""The chat's one public Gradio API endpoint, ``/ask``, for Gradio's "Use via API" page and its clients:

    import json; from gradio_client import Client
    answer = json.loads(Client("http://127.0.0.1:7860/").predict("“33618”是什么？", [], "", api_name="/ask"))

It is POST /api/ask behind Gradio's queue: the same request model (``AskRequest``: question, history of
{role, content} turns, document id or empty), the same answering (``ask_json`` via ``pipeline.submit``), the
same answer (``AnswerOut``, serialised as /api/ask's body) and the same per-client rate limit -- one budget
with the REST API, so a script gets no more questions a minute by switching between them. Bad input and the
rate limit are a ``gr.Error`` whose message is ``[code] 中文 / English``, the REST error's code and messages.

The answer comes as a JSON *string*, not an object: gradio_client 2.7 (protocol sse_v3) takes every dict in a
result that has a string "path" key for a file and downloads it -- each citation has one (its heading path),
so a plain ``Client(url).predict`` of the object failed with HTTP 403 on /gradio_api/file=<the path's text>.
"""
# no `from __future__ import annotations`: gr.api reads the return annotation as an object, not a string
import asyncio
import json
import logging

import gradio as gr
from pydantic import ValidationError

from .api import (HISTORY_USED, AnswerOut, ApiError, AskRequest, RateLimiter, Turn, ask_json, document_filter,
                  question_error_parts, rate_limited, validation_messages)
from .pipeline import QuestionError

log = logging.getLogger("rag.gradio_api")
API_NAME = "ask"


def api_error(code: str, zh: str, en: str) -> gr.Error:
    # print_exception=False: a bad question is the caller's mistake, not a server fault worth a traceback
    title = "请求过于频繁 / too many requests" if code == "rate_limited" else "请求无效 / invalid request"
    return gr.Error(f"[{code}] {zh} / {en}", title=title, print_exception=False)


def ask_request(question, history, doc) -> AskRequest:
    """The endpoint's arguments validated as the REST body is: JSON in, AskRequest's strict rules."""
    body = {"question": question, "history": [] if history is None else history, "doc": doc or None}
    try:
        return AskRequest.model_validate_json(json.dumps(body, ensure_ascii=False))
    except ValidationError as e:
        zh, en, _ = validation_messages(e.errors())
        raise api_error("validation_error", zh, en) from None


def client_key(request: gr.Request | None) -> str:
    """The rate-limit key: the client's address, as the REST API counts it (``ApiGuard``)."""
    return getattr(getattr(request, "client", None), "host", None) or "unknown"


def redact(text: str, settings) -> str:
    for secret in (settings.admin_token, settings.llm_api_key):
        if secret:
            text = text.replace(secret, "***")
    return text


def make_ask(pipeline, limiter: RateLimiter):
    """The ``/ask`` handler. Its type hints are the endpoint's schema (``gr.api`` reads them; the history
    turns are the REST ``Turn``), its docstring the description on the "Use via API" page."""

    async def ask(question: str, history: list[Turn] | None = None, doc: str | None = None,
                  request: gr.Request = None) -> str:
        """Answer a question about the Chongqing planning documents, with citations: the JSON of POST /api/ask
        (question, answer, lead, refused, citations [{n, doc_id, title, location, quote, start, end, …}], …).
        `history`: earlier turns, oldest first, [{"role": "user"|"assistant", "content": "…"}];
        `doc`: a document id (GET /api/documents) or "" for all."""
        wait = limiter.hit(client_key(request))          # counted before validation, as ApiGuard does
        if wait:
            err = rate_limited(limiter, wait)
            raise api_error(err.code, err.zh, err.en)
        req = ask_request(question, history, doc)
        turns = [t.model_dump() for t in req.history[-HISTORY_USED:]]
        try:
            data = await asyncio.wrap_future(pipeline.submit(ask_json, req.question, turns,
                                                             document_filter(pipeline, req.doc)))
        except QuestionError as e:
            raise api_error(*question_error_parts(e)) from None
        except ApiError as e:
            raise api_error(e.code, e.zh, e.en) from None
        except Exception as e:       # as the chat does: a short notice, the log line without secrets or traceback
            log.error("api ask failed: %s: %s", type(e).__name__, redact(str(e)[:300], pipeline.settings))
            raise gr.Error("[internal_error] 服务暂时出错，请稍后再试。 / Internal error; please try again later.",
                           print_exception=False) from None
        return AnswerOut.model_validate(data).model_dump_json()      # as FastAPI's response_model writes it

    return ask


def add_ask_endpoint(pipeline, limiter: RateLimiter) -> None:
    """Register ``/ask`` in the Blocks being built (call inside ``with gr.Blocks()``)."""
    gr.api(make_ask(pipeline, limiter), api_name=API_NAME, api_visibility="public")
