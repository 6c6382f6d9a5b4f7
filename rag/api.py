"""REST API of 渝策问答 (routes in ../shared/interfaces.md; OpenAPI docs at /api/docs).

``create_api(pipeline, settings)`` returns a FastAPI app with

    POST /api/ask        {"question", "history": [{role, content}], "doc"?}  -> Answer
    POST /api/retrieve   {"question", "k"?, "doc"?, "history"?}              -> [Hit]
    GET  /api/health                                                         -> {"status", "documents", "chunks"}
    POST /api/feedback   {question, answer, citations, backend, rating, comment?}
    POST /api/admin/reindex, GET /api/admin/feedback.csv|.jsonl   (Authorization: Bearer <admin_token>)
    POST /api/admin/documents (multipart: file, title?, issuer?, date?), DELETE /api/admin/documents/{id}   (admin)

Every error is JSON ``{"error": {"code", "message_zh", "message_en"}}`` -- never a stack trace.
CORS (only for /api) is limited to ``settings.allowed_origins``; each client IP gets
``settings.rate_limit_per_minute`` requests per sliding minute (429 beyond that).
"""
from __future__ import annotations

import asyncio
import hmac
import re
import logging
import threading
import time
from collections import deque
from typing import Any, Literal

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from . import ingest
from .api_docs import add_offline_docs
from .feedback import FeedbackError, FeedbackStore, store_from_settings
from .ingesting import add_remove
from .pipeline import QuestionError

log = logging.getLogger("rag.api")

API_PREFIX = "/api"
MAX_BODY_BYTES = 256 * 1024
UPLOAD_PATH = "/api/admin/documents"      # the one route with a larger body: add_remove.MAX_BYTES + multipart overhead
MAX_HISTORY_TURNS = 50
HISTORY_USED = 12          # only the last turns matter for follow-up rewriting
DOCS_PATH, DOCS_ASSETS = "/api/docs", "/api/docs/assets"     # Swagger UI, served offline (rag/api_docs.py)
RATE_EXEMPT = ("/api/health", DOCS_PATH, "/api/openapi.json")   # prefixes: the docs' assets are exempt too


# ------------------------------------------------------------------ errors
class ApiError(Exception):
    def __init__(self, status: int, code: str, zh: str, en: str, headers: dict | None = None):
        super().__init__(en)
        self.status, self.code, self.zh, self.en, self.headers = status, code, zh, en, headers


def error_json(status: int, code: str, zh: str, en: str, headers: dict | None = None, **extra) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message_zh": zh, "message_en": en, **extra}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


_ZH_TYPES = {
    "missing": "缺少必填字段", "string_type": "应为文本", "int_type": "应为整数", "int_parsing": "应为整数",
    "list_type": "应为列表", "dict_type": "应为对象", "model_type": "应为对象", "model_attributes_type": "应为 JSON 对象",
    "literal_error": "取值无效", "string_too_long": "内容过长", "too_long": "条目过多", "string_too_short": "不能为空",
    "greater_than_equal": "数值过小", "less_than_equal": "数值过大", "bool_type": "应为布尔值",
}


def validation_messages(errors: list[dict]) -> tuple[str, str, list[dict]]:
    """(Chinese message, English message, details) of pydantic validation errors (REST and the Gradio API)."""
    details = [{"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "type": e.get("type", ""),
                "message": e.get("msg", "")} for e in errors[:10]]
    first = details[0] if details else {"field": "", "type": "", "message": "invalid request"}
    field = first["field"] or "请求体"
    zh = f"请求参数无效：{field} {_ZH_TYPES.get(first['type'], '格式不正确')}。"
    en = f"Invalid request: {first['field'] or 'body'}: {first['message']}."
    return zh, en, details


def _validation_error(exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_json(400, "invalid_json", "请求体不是有效的 JSON。", "The request body is not valid JSON.")
    zh, en, details = validation_messages(errors)
    return error_json(422, "validation_error", zh, en, details=details)


def question_error_parts(exc: QuestionError) -> tuple[str, str, str]:
    """(code, Chinese message, English message) of a QuestionError (REST and the Gradio API)."""
    parts = re.split(r"\s*/\s*", str(exc).strip(), maxsplit=1)     # messages are "中文 / English"
    zh, en = parts[0], parts[-1]
    code = "question_empty" if "empty" in en else "question_too_long" if "too long" in en else "invalid_question"
    return code, zh, en


def _question_error(exc: QuestionError) -> JSONResponse:
    return error_json(422, *question_error_parts(exc))


# ------------------------------------------------------------------ request / response models
class Turn(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    role: Literal["user", "assistant"]
    content: str = Field(max_length=8000)


class AskRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore",
                              json_schema_extra={"examples": [{"question": "綦江到2030年地区生产总值增长目标是多少？",
                                                               "history": []}]})
    question: str = Field(description="the question (Chinese or English)")
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS,
                                description="earlier turns, oldest first, for follow-up questions")
    doc: str | None = Field(None, max_length=200, description="restrict to one document id (see GET /api/documents)")


class RetrieveRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore",
                              json_schema_extra={"examples": [{"question": "“33618”是什么？", "k": 5}]})
    question: str
    k: int = Field(5, ge=1, le=50, description="number of hits")
    doc: str | None = Field(None, max_length=200)
    history: list[Turn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS,
                                description="earlier turns: a follow-up is retrieved with the rewrite ask uses")


class CitationOut(BaseModel):
    n: int
    doc_id: str
    title: str
    location: str
    quote: str = Field(description="verbatim: file_text[start:end] == quote")
    start: int
    end: int
    context_before: str = Field("", description="verbatim text of the enclosing clause before the quote")
    context_after: str = Field("", description="verbatim text of the enclosing clause after the quote")
    path: str = Field("", description="the location with its heading titles (第三章 目标愿景 第三节 发展目标 专栏1 …)")


class AnswerOut(BaseModel):
    question: str
    answer: str
    refused: bool
    citations: list[CitationOut]
    backend: str
    timings_ms: dict[str, float] = {}
    rewritten_query: str | None = None
    notice: str | None = None
    lead: str | None = Field(None, description="the direct answer line the answer starts with (its values cut "
                             "verbatim from the cited quotes); null when the answer starts with a quoted clause")
    table: list[dict[str, str]] = Field(default_factory=list, description="a comparison's sides, one row each "
                                        "(side, year, value, cite), shown as a table under the answer line; [] otherwise")


class HitOut(BaseModel):
    doc_id: str
    title: str
    location: str
    text: str
    start: int
    end: int
    score: float
    chunk_id: str = ""
    kind: str = ""
    match_text: str = ""


class HealthProblem(BaseModel):
    status: str          # not_loaded | plain_paragraphs | not_indexed
    detail: str          # "file: reason"


class HealthOut(BaseModel):
    status: str
    documents: int
    chunks: int
    problems: list[HealthProblem] = []


class DocumentOut(BaseModel):
    doc_id: str
    title: str


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")
    question: str = Field(min_length=1, max_length=2000)
    answer: str = Field(max_length=20000)
    citations: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    backend: str = Field("", max_length=100)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


class FeedbackOut(BaseModel):
    status: str
    id: int


ERRORS = {422: {"description": "invalid input: `{\"error\": {code, message_zh, message_en}}`"},
          429: {"description": "rate limit exceeded"}}


# ------------------------------------------------------------------ citation context
CONTEXT_WINDOW = 120
_SENTENCE_END = "。！？；!?;"


def clause_context(pipeline, doc_id: str, start: int, end: int) -> tuple[str, str]:
    """Verbatim text around a quote: the rest of the smallest indexed clause (chunk) that contains it,
    or else up to the neighbouring sentence ends (at most CONTEXT_WINDOW characters each side)."""
    try:
        text = pipeline.corpus.get(doc_id).text
    except Exception:
        return "", ""
    best = None
    for c in pipeline.index.chunks:
        if c.doc_id == doc_id and c.start <= start and end <= c.end and (best is None or c.end - c.start < best.end - best.start):
            best = c
    if best is not None and (best.end - best.start) - (end - start) <= 4 * CONTEXT_WINDOW:
        return text[best.start:start], text[end:best.end]
    lo = max(0, start - CONTEXT_WINDOW)
    cut = max((text.rfind(ch, lo, start) for ch in _SENTENCE_END + "\n"), default=-1)
    before = text[cut + 1:start] if cut >= 0 else text[lo:start]
    hi = min(len(text), end + CONTEXT_WINDOW)
    ends = [i for i in (text.find(ch, end, hi) for ch in _SENTENCE_END) if i >= 0]
    after = text[end:min(ends) + 1] if ends else text[end:hi]
    return before, after


def ask_json(pipeline, question: str, history: list[dict], doc_filter, stream_cb=None) -> dict:
    """/api/ask's work, run by ``pipeline.submit`` (possibly in its child process): the answer as JSON."""
    return answer_json(pipeline, pipeline.ask(question, history=history, doc_filter=doc_filter, stream_cb=stream_cb))


def retrieve_json(pipeline, question: str, k: int | None, doc_filter, history: list[dict] | None = None) -> list[dict]:
    """/api/retrieve's work, run by ``pipeline.submit``."""
    return [h.to_json() for h in pipeline.retrieve(question, k=k, doc_filter=doc_filter, history=history)]


def answer_json(pipeline, answer) -> dict:
    """Answer.to_json() plus each citation's surrounding clause (for the citation panel)."""
    out = answer.to_json()
    for c in out["citations"]:
        c["context_before"], c["context_after"] = clause_context(pipeline, c["doc_id"], c["start"], c["end"])
    return out


# ------------------------------------------------------------------ rate limiting
class RateLimiter:
    """Sliding one-minute window per key (client IP), in memory, thread-safe."""

    def __init__(self, per_minute: int, window: float = 60.0):
        self.limit, self.window = int(per_minute), window
        self._hits: dict[str, deque] = {}
        self._lock = threading.Lock()
        self._last_sweep = time.monotonic()

    def hit(self, key: str) -> float:
        """Count one request; returns 0 when allowed, else the seconds until a slot frees up."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_sweep > self.window:       # forget idle clients
                self._hits = {k: q for k, q in self._hits.items() if q and now - q[-1] < self.window}
                self._last_sweep = now
            q = self._hits.setdefault(key, deque())
            while q and now - q[0] >= self.window:
                q.popleft()
            if len(q) >= self.limit:
                return max(0.1, self.window - (now - q[0]))
            q.append(now)
            return 0.0


def rate_limited(limiter: RateLimiter, wait: float) -> ApiError:
    """The 429 for a client ``wait`` seconds over its limit (REST and the Gradio API)."""
    secs = int(wait) + 1
    return ApiError(429, "rate_limited", f"请求过于频繁，请 {secs} 秒后再试。",
                    f"Too many requests: limit is {limiter.limit} per minute; retry in {secs} s.",
                    headers={"Retry-After": str(secs)})


def document_filter(pipeline, doc: str | None) -> str | None:
    """The ``doc`` of a request as a document id, None for all documents, or a 422 for an unknown id."""
    if doc is None or doc.strip() in ("", "all", "全部"):
        return None
    if doc not in {d.doc_id for d in pipeline.corpus.documents}:
        raise ApiError(422, "unknown_document", "未知的文档编号。", "Unknown document id (see GET /api/documents).")
    return doc


def admin_refusal(token: str, authorization: str) -> ApiError | None:
    """403 while no admin token is configured, 401 without ``Authorization: Bearer <token>``, else None."""
    if not token:
        return ApiError(403, "admin_disabled", "管理功能未启用（未配置管理令牌）。", "Admin disabled (no admin token configured).")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return ApiError(401, "unauthorized", "管理令牌缺失或不正确。", "Missing or wrong admin token.",
                        headers={"WWW-Authenticate": "Bearer"})
    return None


def route_path(scope) -> str:
    """Path without the reverse-proxy prefix (uvicorn puts root_path in front of path)."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


def _is_api(scope) -> bool:
    p = route_path(scope)
    return p == API_PREFIX or p.startswith(API_PREFIX + "/")


class ApiGuard:
    """ASGI middleware for /api: body size limit, per-IP rate limit, CORS (only here, Gradio keeps its own)."""

    def __init__(self, app, limiter: RateLimiter, allowed_origins: list[str], secrets: tuple[str, ...] = (),
                 admin_token: str = ""):
        self.app = app
        self.limiter = limiter
        self.admin_token = admin_token
        self.secrets = tuple(s for s in secrets if s)
        self.cors = CORSMiddleware(self._guarded, allow_origins=list(allowed_origins), allow_credentials=False,
                                   allow_methods=["GET", "POST", "OPTIONS"],
                                   allow_headers=["Content-Type", "Authorization"], max_age=600)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and _is_api(scope):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _guarded(self, scope, receive, send):
        headers = dict(scope.get("headers") or [])
        upload = route_path(scope) == UPLOAD_PATH and scope.get("method") == "POST"
        limit = add_remove.MAX_BYTES + 64 * 1024 if upload else MAX_BODY_BYTES
        length = headers.get(b"content-length", b"" if upload else b"0")    # an upload must declare its size
        if upload and not length.isdigit():
            resp = error_json(411, "length_required", "上传请求缺少 Content-Length。", "Upload needs a Content-Length header.")
            return await resp(scope, receive, send)
        if not length.isdigit() or int(length) > limit:
            resp = error_json(413, "body_too_large", f"请求体过大（上限 {limit // 1024} KB）。",
                              f"Request body too large (limit {limit // 1024} KB).")
            return await resp(scope, receive, send)
        path = route_path(scope)
        if scope.get("method") != "OPTIONS" and not path.startswith(RATE_EXEMPT):   # admin too: no token guessing
            client = (scope.get("client") or ("unknown", 0))[0]
            wait = self.limiter.hit(client)
            if wait:
                err = rate_limited(self.limiter, wait)
                return await error_json(err.status, err.code, err.zh, err.en, headers=err.headers)(scope, receive, send)
        if path.startswith(API_PREFIX + "/admin/") and scope.get("method") != "OPTIONS":
            # refuse before the body is read: FastAPI would receive and parse (spool) a 20 MB upload first
            err = admin_refusal(self.admin_token, headers.get(b"authorization", b"").decode("latin-1"))
            if err is not None:
                return await error_json(err.status, err.code, err.zh, err.en, headers=err.headers)(scope, receive, send)

        started = False

        async def send_nosniff(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = list(message.get("headers") or []) + [(b"x-content-type-options", b"nosniff"),
                                                                           (b"cache-control", b"no-store")]
            await send(message)

        try:
            await self.app(scope, receive, send_nosniff)
        except Exception as exc:     # caught here, so no traceback (which could carry secrets) is printed
            log.error("unhandled %s on %s %s: %s", type(exc).__name__, scope.get("method"), path,
                      self.redact(str(exc))[:300])
            if started:
                raise
            resp = error_json(500, "internal_error", "服务器内部错误，请稍后再试。", "Internal server error; please try again later.")
            await resp(scope, receive, send)


# ------------------------------------------------------------------ the app
def create_api(pipeline, settings, feedback: FeedbackStore | None = None,
               limiter: RateLimiter | None = None) -> FastAPI:
    """FastAPI app with the /api routes; mount the Gradio UI on it afterwards (see app.py)."""
    store = feedback or store_from_settings(settings)
    limiter = limiter or RateLimiter(settings.rate_limit_per_minute)
    reindex_lock = threading.Lock()

    app = FastAPI(title="渝策问答 API", version="1.0",
                  description="Cited question answering over Chongqing planning documents. "
                              "Errors: `{\"error\": {\"code\", \"message_zh\", \"message_en\"}}`.",
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  openapi_url=f"{API_PREFIX}/openapi.json")
    add_offline_docs(app, DOCS_PATH, DOCS_ASSETS)      # FastAPI's own docs page loads its JS from a CDN
    app.state.pipeline, app.state.feedback, app.state.limiter = pipeline, store, limiter
    app.add_middleware(ApiGuard, limiter=limiter, allowed_origins=settings.allowed_origins,
                       secrets=(settings.admin_token, settings.llm_api_key), admin_token=settings.admin_token)

    # -- error handlers: JSON only, no internals ------------------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_json(exc.status, exc.code, exc.zh, exc.en, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return _validation_error(exc)

    @app.exception_handler(QuestionError)
    async def _bad_question(request: Request, exc: QuestionError):
        return _question_error(exc)

    @app.exception_handler(FeedbackError)
    async def _bad_feedback(request: Request, exc: FeedbackError):
        return error_json(422, "invalid_feedback", "反馈内容无效。", f"Invalid feedback: {exc}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return error_json(404, "not_found", "未找到该地址。", "Not found.")
        if exc.status_code == 405:
            return error_json(405, "method_not_allowed", "不支持该请求方法。", "Method not allowed.")
        return error_json(exc.status_code, "http_error", "请求无法处理。", str(exc.detail)[:200],
                          headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):        # outside /api (ApiGuard handles /api)
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, route_path(request.scope))
        return error_json(500, "internal_error", "服务器内部错误，请稍后再试。", "Internal server error; please try again later.")

    # -- helpers ----------------------------------------------------------------------------
    def doc_filter(doc: str | None) -> str | None:
        return document_filter(pipeline, doc)

    def require_admin(request: Request) -> None:       # (ApiGuard already refused these; kept per route)
        err = admin_refusal(settings.admin_token, request.headers.get("authorization", ""))
        if err is not None:
            raise err

    # -- public routes ----------------------------------------------------------------------
    @app.post(f"{API_PREFIX}/ask", response_model=AnswerOut, responses=ERRORS, tags=["qa"],
              summary="Answer a question with citations")
    async def ask(req: AskRequest) -> dict:
        history = [t.model_dump() for t in req.history[-HISTORY_USED:]]
        return await asyncio.wrap_future(pipeline.submit(ask_json, req.question, history, doc_filter(req.doc)))

    @app.post(f"{API_PREFIX}/retrieve", response_model=list[HitOut], responses=ERRORS, tags=["qa"],
              summary="Retrieval only: the best passages")
    async def retrieve(req: RetrieveRequest) -> list[dict]:
        return await asyncio.wrap_future(pipeline.submit(retrieve_json, req.question, req.k, doc_filter(req.doc),
                                                         [t.model_dump() for t in req.history]))

    @app.get(f"{API_PREFIX}/health", response_model=HealthOut, tags=["meta"])
    def health() -> dict:
        return pipeline.stats()

    @app.get(f"{API_PREFIX}/documents", response_model=list[DocumentOut], tags=["meta"],
             summary="The documents (ids for the `doc` filter)")
    def documents() -> list[dict]:
        return [{"doc_id": d.doc_id, "title": d.title} for d in pipeline.corpus.documents]

    @app.post(f"{API_PREFIX}/feedback", response_model=FeedbackOut, responses=ERRORS, tags=["feedback"],
              summary="Store a 👍/👎 rating of an answer")
    def feedback_route(req: FeedbackRequest) -> dict:
        rid = store.add(rating=req.rating, question=req.question, answer=req.answer, citations=req.citations,
                        backend=req.backend, comment=req.comment or "")
        return {"status": "ok", "id": rid}

    # -- admin routes -------------------------------------------------------------------------
    @app.post(f"{API_PREFIX}/admin/reindex", tags=["admin"], dependencies=[Depends(require_admin)],
              summary="Rebuild the index (only changed documents are re-embedded)")
    def reindex(force: bool = False) -> dict:
        if not reindex_lock.acquire(blocking=False):
            raise ApiError(409, "reindex_running", "索引正在重建，请稍后。", "A reindex is already running.")
        try:
            report = pipeline.reindex(force=force)
        finally:
            reindex_lock.release()
        out = {**pipeline.stats(), "rebuilt": report is not None}
        if report is not None:
            out.update(embedded_chunks=report.embedded_chunks, embedded_documents=report.embedded_documents,
                       seconds=round(report.seconds, 2), skipped=report.skipped)
        return out

    @app.get(f"{API_PREFIX}/admin/feedback.csv", tags=["admin"], dependencies=[Depends(require_admin)],
             response_class=Response, summary="All feedback as CSV (UTF-8 with BOM)")
    def feedback_csv() -> Response:
        return Response("\ufeff" + store.export("csv"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="feedback.csv"'})

    @app.get(f"{API_PREFIX}/admin/feedback.jsonl", tags=["admin"], dependencies=[Depends(require_admin)],
             response_class=Response, summary="All feedback as JSON lines")
    def feedback_jsonl() -> Response:
        return Response(store.export("jsonl"), media_type="application/x-ndjson; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="feedback.jsonl"'})

    # -- admin: add / remove documents (then the incremental reindex: only the new document is embedded) --
    def change_and_reindex(change, undo=None) -> dict:
        if not reindex_lock.acquire(blocking=False):
            raise ApiError(409, "reindex_running", "索引正在重建，请稍后。", "A reindex is already running.")
        try:
            try:
                doc = change()
            except ingest.IngestError as e:
                raise ApiError(e.status, e.code, e.zh, e.en) from None
            try:
                report = pipeline.reindex()
            except BaseException:
                if undo is not None:
                    undo(doc)
                raise
        finally:
            reindex_lock.release()
        out = {**pipeline.stats(), "document": doc, "rebuilt": report is not None}
        if report is not None:
            out.update(embedded_chunks=report.embedded_chunks, embedded_documents=report.embedded_documents,
                       removed_documents=report.removed_documents, seconds=round(report.seconds, 2),
                       skipped=report.skipped, summary=report.summary())
        return out

    def corpus_dir():
        return getattr(pipeline, "settings", settings).corpus_dir

    @app.post(UPLOAD_PATH, status_code=201, tags=["admin"], dependencies=[Depends(require_admin)], responses=ERRORS,
              summary="Add a document (.pdf .docx .txt .md, up to ingest.MAX_BYTES) and reindex it")
    def add_document(file: UploadFile = File(..., description="the document"),
                     title: str | None = Form(None, max_length=200), issuer: str | None = Form(None, max_length=200),
                     date: str | None = Form(None, max_length=40)) -> dict:
        raw = file.file.read(add_remove.MAX_BYTES + 1)
        name = re.split(r"[\\/]", file.filename or "upload")[-1] or "upload"
        return change_and_reindex(
            lambda: ingest.add_document(corpus_dir(), raw, filename=name, title=title, issuer=issuer, date=date),
            undo=lambda doc: ingest.remove_document(corpus_dir(), doc["id"]))

    @app.delete(UPLOAD_PATH + "/{doc_id}", tags=["admin"], dependencies=[Depends(require_admin)], responses=ERRORS,
                summary="Remove a document (and its converted file) and reindex")
    def delete_document(doc_id: str) -> dict:
        return change_and_reindex(lambda: ingest.remove_document(corpus_dir(), doc_id))

    # -- anything else under /api: JSON 404 / 405 (instead of falling through to the UI) -------
    known = {r.path for r in app.routes if getattr(r, "path", "").startswith(API_PREFIX + "/") and hasattr(r, "methods")}

    @app.api_route(API_PREFIX + "/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
                   include_in_schema=False)
    def api_fallback(rest: str):
        if f"{API_PREFIX}/{rest}" in known:
            raise ApiError(405, "method_not_allowed", "不支持该请求方法。", "Method not allowed.")
        raise ApiError(404, "not_found", "未找到该接口。", "No such API route.")

    return app
