"""Answering in the forked child process (settings.ask_process): same answers, errors cross over, a dead child
is replaced, a reindex gives the child the new index."""
from __future__ import annotations

import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool

import pytest

import app as webapp
from rag.api import ask_json, retrieve_json
from rag.pipeline import Pipeline, QuestionError

Q = "“33618”是什么？"


@pytest.fixture(scope="module")
def child_pipeline(fake_settings, fake_pipeline):
    p = Pipeline(fake_settings.model_copy(update={"ask_process": True}), progress=False)   # the built index
    assert not p.in_child                       # in-process until asked (CLI tools, eval, tests)
    assert p.start_child() and p.start_child()  # idempotent
    yield p
    p.close()


def test_answers_in_another_process_exactly_as_in_this_one(child_pipeline, fake_pipeline):
    assert child_pipeline.in_child and child_pipeline.child_pid != os.getpid()
    assert not fake_pipeline.in_child
    for q in (Q, "綦江到2030年地区生产总值增长目标是多少？", "火星移民计划的预算是多少？"):
        there = child_pipeline.submit(Pipeline.ask, q).result(timeout=60)
        here = fake_pipeline.ask(q)
        assert there.answer == here.answer and there.refused == here.refused
        assert [c.location for c in there.citations] == [c.location for c in here.citations]
        assert child_pipeline.submit(ask_json, q, [], None).result(timeout=60)["answer"] == here.answer
    hits = child_pipeline.submit(retrieve_json, Q, 3, None).result(timeout=60)
    assert hits == [h.to_json() for h in fake_pipeline.retrieve(Q, k=3)]


def test_no_child_when_the_settings_say_so(fake_settings):
    for update in ({"ask_process": False}, {"backend": "openai", "llm_base_url": "http://127.0.0.1:9/v1"}):
        p = Pipeline(fake_settings.model_copy(update={"ask_process": True, **update}), progress=False)
        assert not p.start_child() and not p.in_child
        assert p.submit(Pipeline.retrieve, Q).result(timeout=60)
        p.close()


def test_chat_turn_work_runs_in_the_child(child_pipeline):
    data, html = child_pipeline.submit(webapp.answer_turn, Q, [], None).result(timeout=60)
    assert data["answer"] and data["citations"] and "yc-cites" in html


def test_bad_question_error_crosses_over(child_pipeline):
    with pytest.raises(QuestionError, match="question is empty"):
        child_pipeline.submit(Pipeline.ask, "   ").result(timeout=60)


def test_dead_child_is_replaced(child_pipeline):
    before = child_pipeline.child_pid
    os.kill(before, signal.SIGKILL)
    failed, answered = 0, None
    deadline = time.monotonic() + 60
    while answered is None and time.monotonic() < deadline:
        try:
            answered = child_pipeline.submit(Pipeline.ask, Q).result(timeout=60)
        except BrokenProcessPool:
            failed += 1                     # the question in flight when the child died
            time.sleep(0.2)
    assert answered is not None and answered.citations
    assert failed <= 1 and child_pipeline.child_pid != before


def test_reindex_restarts_the_child_on_the_new_index(child_pipeline):
    before = child_pipeline.child_pid
    child_pipeline.reindex()
    assert child_pipeline.child_pid != before
    assert child_pipeline.submit(Pipeline.ask, Q).result(timeout=60).citations


def alive(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it has ended)."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_child_ends_with_its_parent(fake_settings, tmp_path):
    """Even a SIGKILLed server leaves no answering child behind (it would hold the model in memory)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(webapp.Path(webapp.__file__).parent)!r})
        from rag.pipeline import Pipeline
        from rag.settings import Settings
        p = Pipeline(Settings(embedder="fake", index_dir={str(fake_settings.index_dir)!r}, ask_process=True), progress=False)
        p.start_child()
        print(p.child_pid, flush=True)
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(proc.stdout.readline())
        assert alive(child)
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and alive(child):
            time.sleep(0.2)
        if alive(child):
            os.kill(child, signal.SIGKILL)
            pytest.fail("the answering child outlived its parent")
    finally:
        proc.kill()
