"""渝策问答 web app: Gradio chat at /, REST API at /api (docs: /api/docs), embeddable widget at /widget.

    python app.py [--host 127.0.0.1] [--port 7860] [--root-path /prefix]

The first start builds the index (progress bar on stderr). Settings come from rag/settings.py
(env prefix RAG_, e.g. RAG_ALLOWED_ORIGINS='["http://intranet.example"]', RAG_ADMIN_TOKEN=...).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import html
import logging
import os
import re
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")   # intranet: no calls home

import gradio as gr  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import FileResponse, HTMLResponse, Response  # noqa: E402

from rag.api import RateLimiter, ask_json, create_api  # noqa: E402
from rag.feedback import FeedbackStore, store_from_settings  # noqa: E402
from rag.gradio_api import add_ask_endpoint  # noqa: E402
from rag.logs import STAMPED, setup_logging, uvicorn_level  # noqa: E402
from rag.pipeline import Pipeline, QuestionError  # noqa: E402
from rag.settings import Settings, get_settings  # noqa: E402

log = logging.getLogger("rag.app")
WEB = Path(__file__).resolve().parent / "rag" / "web"

TITLE = "渝策问答"
SUBTITLE = "重庆规划文件智能问答 · 每条回答均附原文出处"
EXAMPLES = [
    "重庆“十五五”研发经费投入强度目标是多少？",
    "“33618”是什么？",
    "綦江到2030年地区生产总值增长目标是多少？",
    "2024年计划提出要新增多少城镇就业？",
]
ALL_DOCS = "全部文件"
HISTORY_TURNS = 12
# Every update the chat sends costs Gradio a post-processing pass over the whole conversation, so updates are few:
# - an LLM's deltas are coalesced into at most one update per STREAM_EVERY seconds;
# - the extractive answer arrives whole; the chat types it out in TYPE_STEPS pieces TYPE_PAUSE s apart (~0.2 s),
#   but only while at most TYPE_MAX_OPEN chats are open -- under load the answer is shown whole at once
#   (50 users chatting at once: typing for everyone cost ~20 % of the throughput).
STREAM_EVERY = 0.1
TYPE_STEPS, TYPE_PAUSE, TYPE_MAX_OPEN = 5, 0.04, 8
CHAT_CONCURRENCY = 64        # chat events open at once; they only await the pipeline's FIFO workers (no thread each)
# Gradio rebuilds a pandas summary of its last 10 000 events after *every* event (for its monitoring page, which
# this app does not enable): ~10 ms on the event loop per chat once the server has run a while. Recompute it
# every 1000 events over at most 1000 records instead (1000 chats, 50 open: 36.8 -> 46.7 chats/s).
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")


# ------------------------------------------------------------------ HTML rendering (everything escaped)
def esc(text) -> str:
    return html.escape(str(text), quote=True)


def _cjkish(ch: str) -> bool:
    return bool(ch) and (ord(ch) > 0x2E80 or ch in "“”‘’")


def display_segments(parts: list[str]) -> list[str]:
    """Tidy verbatim text for display, keeping segment boundaries: table cells ("\\n\\t") become " ｜ ",
    hard line wraps between CJK characters (newspaper columns) are joined."""
    full = "".join(parts)
    out, pos = [], 0
    for part in parts:
        buf = []
        for i in range(pos, pos + len(part)):
            ch = full[i]
            prev, nxt = full[i - 1] if i else "", full[i + 1] if i + 1 < len(full) else ""
            if ch == "\t" and prev == "\n":
                continue
            if ch == "\n":
                if nxt == "\t":
                    buf.append(" ｜ ")
                    continue
                if _cjkish(prev) and _cjkish(nxt):
                    continue
            buf.append(ch)
        out.append("".join(buf))
        pos += len(part)
    return out


def clause_html(before: str, quote: str, after: str) -> str:
    b, q, a = (esc(s).replace("\n", "<br>") for s in display_segments([before, quote, after]))
    return f'{b}<mark class="yc-quote">{q}</mark>{a}'


REF = re.compile(r"\[(\d{1,2})\]")


def answer_text_html(text: str, ns: set[int], mid: str) -> str:
    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in ns:
            return m.group(0)
        return f'<a class="yc-ref" href="#{mid}-{n}" title="查看出处 [{n}]">[{n}]</a>'

    return REF.sub(link, esc(text)).replace("\n", "<br>")


TABLE_HEAD = "对象｜年份｜数值｜出处"


def side_table_html(rows: list[dict], ns: set[int], mid: str) -> str:
    """A comparison's sides (Answer.table) as a small table under the answer line; its [n] open the quotes."""
    if not rows:
        return ""
    head = "".join(f"<th>{h}</th>" for h in TABLE_HEAD.split("｜"))
    body = "".join(f'<tr><td>{esc(r.get("side", ""))}</td><td>{esc(r.get("year") or "—")}</td>'
                   f'<td>{esc(r.get("value", ""))}</td><td>{answer_text_html(r.get("cite") or "—", ns, mid)}</td></tr>'
                   for r in rows)
    return f'<table class="yc-table"><tr>{head}</tr>{body}</table>'


def answer_html(ans: dict, mid: str) -> str:
    """One bot message: rewritten query, notice, the answer with clickable [n], the citation panel."""
    cites = ans.get("citations") or []
    out = []
    if ans.get("rewritten_query"):
        out.append(f'<div class="yc-rewrite">已理解为：{esc(ans["rewritten_query"])}</div>')
    if ans.get("notice"):
        out.append(f'<div class="yc-notice">{esc(ans["notice"])}</div>')
    ns = {c["n"] for c in cites}
    text, lead = ans.get("answer", ""), ans.get("lead")
    if ans.get("refused"):
        out.append(f'<div class="yc-refused"><div class="yc-refused-title">ⓘ 文件中未找到直接依据</div>'
                   f'{answer_text_html(text, ns, mid)}</div>')
    elif lead and text.startswith(lead):
        # answer first: the direct answer line in bold, the quoted clauses under it folded (open on click)
        rest = text[len(lead):].strip("\n")
        table = side_table_html(ans.get("table") or [], ns, mid)
        if table and rest.startswith(TABLE_HEAD):         # the table's text lines are drawn as the table instead
            rest = "\n".join(rest.split("\n")[len(ans["table"]) + 1:]).strip("\n")
        folded = (f'<details class="yc-evidence"><summary>依据条款</summary>{answer_text_html(rest, ns, mid)}</details>'
                  if rest else "")
        out.append(f'<div class="yc-answer"><div class="yc-lead">{answer_text_html(lead, ns, mid)}</div>{table}{folded}</div>')
    else:
        out.append(f'<div class="yc-answer">{answer_text_html(text, ns, mid)}</div>')
    if cites:
        head = "最接近的条款" if ans.get("refused") else "出处"
        items = []
        for c in cites:
            items.append(
                f'<details class="yc-cite" id="{mid}-{c["n"]}">'
                f'<summary><span class="yc-n">[{c["n"]}]</span> 《{esc(c["title"])}》'
                f'<span class="yc-loc">{esc(c.get("path") or c["location"])}</span></summary>'
                f'<div class="yc-clause">{clause_html(c.get("context_before", ""), c["quote"], c.get("context_after", ""))}</div>'
                f'</details>')
        out.append(f'<div class="yc-cites"><div class="yc-cites-title">{head}（点击 [n] 或标题展开原文）</div>{"".join(items)}</div>')
    return "".join(out)


def streaming_html(text: str) -> str:
    return f'<div class="yc-answer yc-streaming">{esc(text).replace(chr(10), "<br>")}<span class="yc-cursor">▍</span></div>'


def notice_html(text: str) -> str:
    return f'<div class="yc-refused"><div class="yc-refused-title">⚠ 无法回答</div>{esc(text)}</div>'


# ------------------------------------------------------------------ Gradio chat
CSS = """
.yc-header h1 { margin: 0; font-size: 1.7rem; }
.yc-header p { margin: .2rem 0 0; color: #667085; }
.yc-answer, .yc-refused { line-height: 1.7; }
.yc-lead { font-weight: 700; font-size: 1.05em; }
.yc-table { border-collapse: collapse; margin: 6px 0; font-size: 0.92em; display: block; overflow-x: auto; max-width: 100%; }
.yc-table th, .yc-table td { border: 1px solid #d0d7de; padding: 3px 6px; text-align: left; vertical-align: top; }
.yc-table th { background: #f3f5f7; font-weight: 600; }
details.yc-evidence { margin-top: .35rem; color: #344054; }
details.yc-evidence > summary { cursor: pointer; color: #667085; font-size: .9em; }
a.yc-ref { color: #1d4ed8; font-weight: 600; text-decoration: none; cursor: pointer; padding: 0 1px; }
a.yc-ref:hover { text-decoration: underline; }
.yc-refused { background: #f2f4f7; border: 1px solid #d0d5dd; border-left: 4px solid #98a2b3; color: #475467;
              border-radius: 6px; padding: .6rem .8rem; }
.yc-refused-title { font-weight: 600; margin-bottom: .3rem; color: #344054; }
.yc-rewrite { font-size: .85em; color: #667085; margin-bottom: .4rem; }
.yc-notice { font-size: .85em; color: #93370d; background: #fffaeb; border-radius: 4px; padding: .2rem .5rem; margin-bottom: .4rem; }
.yc-cites { margin-top: .7rem; border-top: 1px dashed #d0d5dd; padding-top: .4rem; font-size: .9em; }
.yc-cites-title { color: #667085; font-size: .85em; margin-bottom: .2rem; }
details.yc-cite { margin: .25rem 0; border-radius: 6px; }
details.yc-cite > summary { cursor: pointer; }
details.yc-cite[open] { background: #f8fafc; outline: 1px solid #e4e7ec; padding: .2rem .4rem; }
.yc-n { color: #1d4ed8; font-weight: 600; }
.yc-loc { color: #667085; margin-left: .4em; font-size: .92em; }
.yc-clause { margin: .35rem 0 .2rem; padding: .4rem .6rem; border-left: 3px solid #fdb022; background: #fff;
             line-height: 1.7; white-space: normal; }
mark.yc-quote { background: #fef0c7; color: inherit; padding: 0 1px; border-radius: 2px; }
.yc-flash { animation: ycflash 1.2s ease-out; }
@keyframes ycflash { from { box-shadow: 0 0 0 3px #84adff; } to { box-shadow: 0 0 0 0 transparent; } }
.yc-cursor { animation: ycblink 1s steps(2) infinite; color: #98a2b3; }
@keyframes ycblink { 50% { opacity: 0; } }
"""

# [n] -> open the matching citation. Gradio's sanitiser keeps id/href/class but drops data-* and inline
# handlers, so: <a class="yc-ref" href="#<id>"> + one delegated listener.
HEAD = """
<script>
document.addEventListener("click", function (ev) {
  var a = ev.target && ev.target.closest ? ev.target.closest("a.yc-ref") : null;
  if (!a) return;
  ev.preventDefault();
  var id = (a.getAttribute("href") || "").slice(1);
  if (!/^[a-z0-9-]+$/.test(id)) return;
  var el = document.getElementById(id);
  if (!el) return;
  el.open = true;
  el.classList.remove("yc-flash"); void el.offsetWidth; el.classList.add("yc-flash");
  el.scrollIntoView({block: "nearest", behavior: "smooth"});
}, true);
</script>
"""


def _rating(liked) -> str | None:
    if liked is True or liked == "Like":
        return "up"
    if liked is False or liked == "Dislike":
        return "down"
    return None


def answer_turn(pipeline: Pipeline, question: str, history: list[dict], doc: str | None, stream_cb=None) -> tuple:
    """A chat turn's work, run by ``pipeline.submit`` (in its child process with the extractive backend):
    the answer's JSON (as /api/ask) and the rendered message -- all of it off the web server's event loop."""
    data = ask_json(pipeline, question, history, doc or None, stream_cb)
    return data, answer_html(data, "c" + uuid.uuid4().hex[:10])


def new_state() -> dict:
    """A chat session: the rendered conversation, the text history for follow-ups, answers by message index."""
    return {"chat": [], "history": [], "answers": {}}


def with_reply(chat: list[dict], content: str) -> list[dict]:
    """The conversation with its last (assistant) message replaced; a new list, earlier updates stay as sent."""
    return [*chat[:-1], {"role": "assistant", "content": content}]


class TextStream:
    """Text pieces pushed from a worker thread, read on the event loop at most once per ``every`` seconds.

    (Events rather than an asyncio.Queue: on Python 3.11 ``wait_for(queue.get(), t)`` can drop an item
    that arrives just as the timeout fires.)"""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop, self.parts = loop, []
        self.changed, self.ended = asyncio.Event(), asyncio.Event()

    def push(self, piece: str) -> None:          # any thread
        self.loop.call_soon_threadsafe(self._add, piece)

    def _add(self, piece: str) -> None:
        self.parts.append(piece)
        self.changed.set()

    def end(self, *_) -> None:                    # on the loop, after every push (e.g. a Future's done callback)
        self.ended.set()
        self.changed.set()

    async def texts(self, every: float):
        """The text so far, at most once per ``every`` s; pieces that arrive with the end yield nothing
        (the final message replaces them anyway)."""
        while not self.ended.is_set():
            await self.changed.wait()
            self.changed.clear()
            if not self.ended.is_set():
                try:
                    await asyncio.wait_for(self.ended.wait(), every)
                except asyncio.TimeoutError:
                    pass
            if self.ended.is_set():
                return
            yield "".join(self.parts)


def build_ui(pipeline: Pipeline, store: FeedbackStore, limiter: RateLimiter) -> gr.Blocks:
    docs = [(ALL_DOCS, "")] + [(d.title, d.doc_id) for d in pipeline.corpus.documents]

    secrets = [x for x in (pipeline.settings.admin_token, pipeline.settings.llm_api_key) if x]

    open_chats = 0          # respond() runs on the event loop: a plain counter is safe

    async def respond(message, state, doc, request: gr.Request):
        """One chat turn. The conversation lives in ``state`` (server side), so the browser does not upload it."""
        nonlocal open_chats
        state = dict(state or new_state())
        chat = list(state["chat"])
        message = (message or "").strip()
        if not message:
            yield gr.skip(), gr.skip(), gr.skip()
            return
        chat += [{"role": "user", "content": esc(message)}, {"role": "assistant", "content": streaming_html("")}]
        yield "", chat, gr.skip()
        client = getattr(getattr(request, "client", None), "host", None) or "gradio"
        wait = limiter.hit(f"ui:{client}")
        if wait:
            chat = with_reply(chat, notice_html(f"请求过于频繁，请 {int(wait) + 1} 秒后再试。"))
            yield "", chat, {**state, "chat": chat}
            return
        open_chats += 1
        try:
            stream = TextStream(asyncio.get_running_loop())
            streams = not getattr(pipeline, "in_child", False)     # a callback cannot reach into the child process
            work = asyncio.wrap_future(pipeline.submit(answer_turn, message, state["history"][-HISTORY_TURNS:], doc,
                                                       stream.push if streams else None))
            work.add_done_callback(stream.end)
            shown = False
            async for text in stream.texts(STREAM_EVERY):
                chat, shown = with_reply(chat, streaming_html(text)), True
                yield "", chat, gr.skip()
            data, message_html = await work   # re-raises the worker's exception, shown as a short notice
            final = data["answer"]
            if open_chats <= TYPE_MAX_OPEN and not shown:     # arrived whole (extractive): type it out
                step = max(6, -(-len(final) // TYPE_STEPS))
                for i in range(step, len(final), step):
                    chat = with_reply(chat, streaming_html(final[:i]))
                    yield "", chat, gr.skip()
                    await asyncio.sleep(TYPE_PAUSE)
        except QuestionError as e:
            chat = with_reply(chat, notice_html(re.split(r"\s*/\s*", str(e))[0]))   # "中文 / English"
            yield "", chat, {**state, "chat": chat}
            return
        except Exception as e:
            detail = str(e)[:300]
            for secret in secrets:
                detail = detail.replace(secret, "***")
            log.error("chat failed: %s: %s", type(e).__name__, detail)
            chat = with_reply(chat, notice_html("服务暂时出错，请稍后再试。"))
            yield "", chat, {**state, "chat": chat}
            return
        finally:
            open_chats -= 1
        chat = with_reply(chat, message_html)
        yield "", chat, {"chat": chat,
                         "history": state["history"] + [{"role": "user", "content": message},
                                                        {"role": "assistant", "content": final}],
                         "answers": {**state["answers"], str(len(chat) - 1): {"answer": data, "fb": None}}}

    def on_like(state, evt: gr.LikeData):
        state = dict(state or new_state())
        idx = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        entry = (state.get("answers") or {}).get(str(idx))
        rating = _rating(evt.liked)
        if not entry or rating is None:
            return state, gr.update(), gr.update(visible=False)
        a = entry["answer"]
        if entry.get("fb"):
            store.update(entry["fb"], rating=rating)
        else:
            entry = {**entry, "fb": store.add(rating=rating, question=a["question"][:2000], answer=a["answer"][:20000],
                                              citations=a["citations"], backend=a.get("backend", ""))}
            state["answers"] = {**state["answers"], str(idx): entry}
        state["last_fb"] = entry["fb"]
        thanks = "👍 感谢认可！" if rating == "up" else "👎 已记录，感谢指正。"
        return state, gr.update(value=f"{thanks} 可以补充说明（选填）：", visible=True), gr.update(visible=True)

    def on_comment(comment, state):
        fb = (state or {}).get("last_fb")
        comment = (comment or "").strip()[:2000]
        if fb and comment:
            store.update(fb, comment=comment)
            return "", gr.update(value="✓ 评论已保存，谢谢！", visible=True), gr.update(visible=False)
        return "", gr.update(), gr.update(visible=False)

    def clear():
        return [], new_state(), gr.update(visible=False), gr.update(visible=False)

    with gr.Blocks(title=TITLE) as demo:
        gr.HTML(f'<div class="yc-header"><h1>{TITLE}</h1><p>{SUBTITLE}</p></div>')
        state = gr.State(new_state())
        with gr.Row():
            doc = gr.Dropdown(docs, value="", label="检索范围", scale=4, elem_id="yc-doc")
            clear_btn = gr.Button("清空对话", scale=1, variant="secondary", elem_id="yc-clear")
        chatbot = gr.Chatbot(label="对话", height=600, elem_id="yc-chat", render_markdown=False, sanitize_html=True,
                             placeholder="请输入关于重庆规划文件的问题，回答会标注出处 [n]，点击可查看原文。",
                             buttons=["copy"], feedback_options=("Like", "Dislike"))
        with gr.Row():
            box = gr.Textbox(placeholder="例如：綦江到2030年地区生产总值增长目标是多少？", show_label=False,
                             scale=8, max_lines=4, elem_id="yc-input", autofocus=True)
            send = gr.Button("提问", variant="primary", scale=1, elem_id="yc-send")
        gr.Examples(EXAMPLES, inputs=[box], label="示例问题")
        fb_note = gr.Markdown(visible=False, elem_id="yc-fb-note")
        with gr.Row(visible=False) as fb_row:
            fb_box = gr.Textbox(placeholder="哪里有用或哪里不对？（选填，最多 2000 字）", show_label=False, scale=8,
                                max_length=2000, elem_id="yc-fb-comment")
            fb_send = gr.Button("提交评论", scale=1, elem_id="yc-fb-send")

        ev = dict(fn=respond, inputs=[box, state, doc], outputs=[box, chatbot, state], api_visibility="private")
        box.submit(**ev)
        send.click(**ev)
        chatbot.like(on_like, inputs=[state], outputs=[state, fb_note, fb_row], api_visibility="private")
        fb_send.click(on_comment, inputs=[fb_box, state], outputs=[fb_box, fb_note, fb_row], api_visibility="private")
        fb_box.submit(on_comment, inputs=[fb_box, state], outputs=[fb_box, fb_note, fb_row], api_visibility="private")
        clear_btn.click(clear, outputs=[chatbot, state, fb_note, fb_row], api_visibility="private")
        chatbot.clear(clear, outputs=[chatbot, state, fb_note, fb_row], api_visibility="private")   # its 🗑 icon
        add_ask_endpoint(pipeline, limiter)      # the one public API endpoint, /ask (rag/gradio_api.py)
    # the answering itself waits in the pipeline's FIFO worker pool; the queue only bounds open chat events
    # Gradio runs at most max_threads (default 40) events of any kind at once, whatever the concurrency limit
    demo.max_threads = max(demo.max_threads, CHAT_CONCURRENCY)
    demo.queue(default_concurrency_limit=CHAT_CONCURRENCY)
    return demo


# ------------------------------------------------------------------ widget (static page calling /api/ask)
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def frame_ancestors(settings: Settings) -> str:
    """CSP frame-ancestors: the app itself plus the allowed origins (malformed entries dropped)."""
    good = [o.rstrip("/") for o in settings.allowed_origins if _ORIGIN.match(o.rstrip("/"))]
    return " ".join(["'self'", *dict.fromkeys(good)])


def add_widget_routes(app: FastAPI, settings: Settings) -> None:
    csp = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
           f"base-uri 'none'; form-action 'none'; frame-ancestors {frame_ancestors(settings)}")
    page = (WEB / "widget.html").read_text(encoding="utf-8")

    @app.api_route("/widget", methods=["GET", "HEAD"], include_in_schema=False)
    def widget(request: Request) -> HTMLResponse:
        base = request.scope.get("root_path", "") or ""
        return HTMLResponse(page.replace("{{BASE}}", esc(base.rstrip("/"))),
                            headers={"Content-Security-Policy": csp, "Referrer-Policy": "same-origin",
                                     "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})

    def static(name: str, media: str):
        def serve() -> Response:
            return FileResponse(WEB / name, media_type=media,
                                headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "max-age=300"})
        return serve

    for path, name, media in (("/widget/widget-app.js", "widget-app.js", "text/javascript; charset=utf-8"),
                              ("/widget/widget.css", "widget.css", "text/css; charset=utf-8"),
                              ("/widget.js", "embed.js", "text/javascript; charset=utf-8")):
        app.add_api_route(path, static(name, media), methods=["GET", "HEAD"], include_in_schema=False)


# ------------------------------------------------------------------ assembly
def build_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    settings = settings or get_settings()
    pipeline = pipeline or Pipeline(settings, progress=True)
    store = store_from_settings(settings)
    limiter = RateLimiter(settings.rate_limit_per_minute)
    app = create_api(pipeline, settings, feedback=store, limiter=limiter)
    add_widget_routes(app, settings)
    theme = gr.themes.Soft(primary_hue="blue",
                           font=["Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"],
                           font_mono=["Noto Sans Mono CJK SC", "Consolas", "monospace"])
    return gr.mount_gradio_app(app, build_ui(pipeline, store, limiter), path="/", root_path=settings.root_path or None,
                               css=CSS, head=HEAD, theme=theme, footer_links=["api"], ssr_mode=False, show_error=False)


def main(argv: list[str] | None = None) -> int:
    s = get_settings()
    ap = argparse.ArgumentParser(description=f"{TITLE}: Gradio chat, REST API (/api/docs) and widget (/widget)")
    ap.add_argument("--host", default=s.host)
    ap.add_argument("--port", type=int, default=s.port)
    ap.add_argument("--root-path", default=s.root_path, help="path prefix behind a reverse proxy (RAG_ROOT_PATH)")
    args = ap.parse_args(argv)
    setup_logging(s.log_level, STAMPED)     # other libraries' INFO lines only with RAG_LOG_LEVEL=debug (rag/logs.py)
    settings = s.model_copy(update={"host": args.host, "port": args.port, "root_path": args.root_path.rstrip("/")})
    print(f"{TITLE}: 加载文档与索引（首次启动会建立索引）/ loading corpus and index ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    try:
        pipeline = Pipeline(settings, progress=True)
    except Exception as e:
        print(f"错误 / error: could not load the corpus or index: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if pipeline.build_report is not None:
        print(pipeline.build_report.summary(), file=sys.stderr, flush=True)
    st = pipeline.stats()
    print(f"就绪 / ready: {st['documents']} documents, {st['chunks']} chunks ({time.perf_counter() - t:.1f} s); "
          f"http://{args.host}:{args.port}{settings.root_path}/", file=sys.stderr, flush=True)
    app = build_app(settings, pipeline)
    # The corpus, index, model and libraries are ~320k objects that live as long as the process. Without this,
    # every full garbage collection walks them all: pauses of up to ~0.45 s for every open chat (50 users
    # chatting: 6 such pauses per 1000 turns, 51 -> 71 turns/s with the freeze). New objects are still collected.
    gc.freeze()
    pipeline.start_child()      # RAG_ASK_PROCESS: forked now, before the server's threads start
    if settings.store == "milvus":     # replicas: reload when another one publishes a new index version
        from rag.milvus_store import start_watcher

        start_watcher(pipeline)

    import importlib.util

    import uvicorn

    fast = [m for m in ("uvloop", "httptools") if importlib.util.find_spec(m)]     # uvicorn's "auto" takes them
    if len(fast) < 2:
        log.warning("uvloop/httptools not installed: the chat will handle about a third fewer users at once "
                    "(pip install -r requirements.txt)")
    uvicorn.run(app, host=args.host, port=args.port, root_path=settings.root_path, log_level=uvicorn_level(s.log_level),
                proxy_headers=True, forwarded_allow_ips="127.0.0.1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
