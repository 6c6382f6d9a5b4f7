"""The Gradio chat's turn handler (app.respond) and its stream coalescing, without a browser."""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

import app as webapp
from rag.api import RateLimiter
from rag.feedback import FeedbackStore
from tests.doubles import chat_handler, run_turn as turn

Q = "“33618”是什么？"


def chat_respond(pipeline, tmp_path, limit: int = 1000):
    return chat_handler(webapp.build_ui(pipeline, FeedbackStore(tmp_path / "fb.sqlite3"), RateLimiter(limit)))


def contents(chat) -> list[str]:
    return [m["content"] for m in chat]


# ------------------------------------------------------------------ TextStream
def test_text_stream_pieces_with_the_end_yield_nothing():
    async def run():
        s = webapp.TextStream(asyncio.get_running_loop())
        s.push("根据")
        s.push("文件")
        await asyncio.sleep(0)              # both pushes land ...
        s.end()                             # ... then the end: the final message replaces them
        return [t async for t in s.texts(0.05)], "".join(s.parts)
    assert asyncio.run(run()) == ([], "根据文件")


def test_text_stream_slow_pieces_from_a_thread_each_yield_the_text_so_far():
    async def run():
        s = webapp.TextStream(asyncio.get_running_loop())

        def producer():
            for piece in ("一", "二", "三"):
                s.push(piece)
                time.sleep(0.3)             # far longer than the 0.02 s window
            s.loop.call_soon_threadsafe(s.end)

        threading.Thread(target=producer).start()
        return [t async for t in s.texts(0.02)]
    assert asyncio.run(run()) == ["一", "一二", "一二三"]


def test_text_stream_fast_pieces_are_coalesced():
    async def run():
        s = webapp.TextStream(asyncio.get_running_loop())

        def producer():
            for i in range(50):
                s.push(str(i % 10))
                time.sleep(0.002)
            time.sleep(0.5)
            s.loop.call_soon_threadsafe(s.end)

        threading.Thread(target=producer).start()
        return [t async for t in s.texts(0.3)]
    texts = asyncio.run(run())
    assert 1 <= len(texts) <= 3                      # 50 pieces, ~0.1 s in all, 0.3 s windows
    assert texts[-1] == "0123456789" * 5             # nothing lost


# ------------------------------------------------------------------ respond
def test_turn_shows_question_at_once_types_the_answer_and_keeps_the_conversation(fake_pipeline, tmp_path):
    respond = chat_respond(fake_pipeline, tmp_path)
    outs = turn(respond, "  " + Q + " ", None)
    box, chat, state = outs[0]
    assert box == "" and contents(chat)[0] == webapp.esc(Q) and "yc-streaming" in contents(chat)[1]
    assert outs[0][2] == webapp.gr.skip()                    # state untouched until the answer is in
    typed = [o[1][-1]["content"] for o in outs[1:-1]]
    assert len(typed) >= 2 and all("yc-streaming" in t for t in typed)
    assert [len(t) for t in typed] == sorted(len(t) for t in typed)       # grows piece by piece
    box, chat, state = outs[-1]
    assert "yc-answer" in chat[-1]["content"] and "yc-cites" in chat[-1]["content"]
    assert state["chat"] == chat and state["history"][0] == {"role": "user", "content": Q}
    assert list(state["answers"]) == ["1"] and state["answers"]["1"]["answer"]["citations"]

    outs2 = turn(respond, "那綦江呢？", state)               # the next turn starts from the kept conversation
    assert contents(outs2[0][1])[:2] == contents(chat)
    final = outs2[-1][2]
    assert len(final["chat"]) == 4 and len(final["history"]) == 4 and list(final["answers"]) == ["1", "3"]


def test_busy_server_shows_the_answer_whole(fake_pipeline, tmp_path, monkeypatch):
    monkeypatch.setattr(webapp, "TYPE_MAX_OPEN", 0)          # as if many chats were open
    outs = turn(chat_respond(fake_pipeline, tmp_path), Q, None)
    assert len(outs) == 2                                    # the question, then the answer: no typing updates
    assert "yc-answer" in outs[-1][1][-1]["content"] and "yc-streaming" not in outs[-1][1][-1]["content"]


def test_empty_message_changes_nothing(fake_pipeline, tmp_path):
    assert turn(chat_respond(fake_pipeline, tmp_path), "  \n ", None) == [(webapp.gr.skip(),) * 3]


def test_bad_question_and_rate_limit_become_notices_kept_in_the_conversation(fake_pipeline, tmp_path):
    respond = chat_respond(fake_pipeline, tmp_path, limit=1)
    outs = turn(respond, "x" * 5000, None)                   # too long: QuestionError from the pipeline
    chat, state = outs[-1][1], outs[-1][2]
    assert "无法回答" in chat[-1]["content"] and state["chat"] == chat and state["history"] == []
    outs = turn(respond, Q, state)                           # limit 1 per minute, already used
    assert "请求过于频繁" in outs[-1][1][-1]["content"] and len(outs[-1][2]["chat"]) == 4


@pytest.mark.parametrize("payload", ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>"])
def test_user_message_is_escaped(fake_pipeline, tmp_path, payload):
    outs = turn(chat_respond(fake_pipeline, tmp_path), payload, None)
    assert "<img" not in outs[0][1][0]["content"] and "<script" not in outs[0][1][0]["content"]


def test_load_script_sends_what_the_chat_event_takes(fake_pipeline, fake_settings, tmp_path):
    """scripts/load_test.py reads the chat event from /config and sends the inputs as the page does."""
    import sys

    from fastapi.testclient import TestClient

    sys.path.insert(0, str(webapp.Path(webapp.__file__).parent / "scripts"))
    import load_test

    settings = fake_settings.model_copy(update={"feedback_db": tmp_path / "fb.sqlite3"})
    with TestClient(webapp.build_app(settings, fake_pipeline)) as c:
        fn, types = load_test.chat_event(c.get("/config").json())
    assert types == ["textbox", "state", "dropdown"]          # the conversation is not uploaded
    assert load_test.chat_inputs(types, Q, [{"role": "user", "content": "x"}]) == [Q, None, ""]
    with pytest.raises(RuntimeError, match="no textbox"):
        load_test.chat_inputs(["state"], Q, [])
