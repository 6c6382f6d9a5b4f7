"""Wires the stages together: settings -> corpus -> index (built on first use) -> retriever -> answerer."""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .batcher import QueryBatcher
from .chunk import Chunker
from .corpus import Corpus, load_corpus
from .index import BuildReport, DenseConfig, Index, build_index, ensure_index
from .retrieve import Retriever, RetrieverConfig
from .schema import Answer, Hit
from .settings import Settings, get_settings

log = logging.getLogger(__name__)


class QuestionError(ValueError):
    """Bad user input; the message is shown to the user (Chinese / English)."""


def clean_question(question, max_chars: int) -> str:
    if not isinstance(question, str):
        raise QuestionError("问题必须是文本 / question must be a string")
    q = "".join(ch for ch in question if ch.isprintable() or ch in " \t")
    q = q.replace("\u200b", "").replace("\ufeff", "").strip()
    if not q:
        raise QuestionError("问题不能为空 / question is empty")
    if len(q) > max_chars:
        raise QuestionError(f"问题过长（{len(q)} 字，上限 {max_chars} 字）/ question too long ({len(q)} > {max_chars} chars)")
    return q


def clean_history(history) -> list[dict]:
    """Earlier turns as [{"role": "user"|"assistant", "content": str}]; anything else is a QuestionError
    (callers other than the API, which validates its own input, may pass arbitrary objects)."""
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise QuestionError("对话历史必须是列表 / history must be a list of {role, content}")
    out = []
    for turn in history:
        if isinstance(turn, dict) and "role" not in turn and isinstance(turn.get("question"), str):
            out.append({"role": "user", "content": turn["question"]})     # the {question, answer} form
            if isinstance(turn.get("answer"), str):
                out.append({"role": "assistant", "content": turn["answer"]})
            continue
        if not isinstance(turn, dict) or turn.get("role") not in ("user", "assistant") \
                or not isinstance(turn.get("content"), str):
            raise QuestionError("对话历史的每一轮须为 {role: user|assistant, content: 文本} / "
                                "each history turn must be {role: user|assistant, content: string}")
        out.append({"role": turn["role"], "content": turn["content"]})
    return out


# ------------------------------------------------------------------ the answering child process
_CHILD: "Pipeline | None" = None        # in the forked child: the pipeline it inherited


def _child_init(pipeline: "Pipeline", parent: int) -> None:
    global _CHILD
    _CHILD = pipeline
    signal.signal(signal.SIGINT, signal.SIG_IGN)        # Ctrl+C reaches the whole group; the server shuts us down
    threading.Thread(target=_exit_with_parent, args=(parent,), name="rag-parent-watch", daemon=True).start()


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """The child ends within a second of the server process, however that ended (even SIGKILL): an orphan
    would keep the model and index in memory for good. (Not prctl(PR_SET_PDEATHSIG): it fires when the
    forking *thread* ends, and a reindex forks from a short-lived request thread.)"""
    while os.getppid() == parent:
        time.sleep(every)
    os._exit(0)


def _child_call(task, args: tuple, kwargs: dict):
    return task(_CHILD, *args, **kwargs)


def _child_pid(_pipeline) -> int:
    return os.getpid()


class Pipeline:
    def __init__(self, settings: Settings | None = None, progress: bool = True, embedder=None):
        self.settings = s = settings or get_settings()
        self.progress = progress
        if embedder is None:
            from .embed import get_embedder

            embedder = get_embedder(s)
        self.embedder = embedder
        # questions asked at the same time share the embedder's forward passes
        self.query_embedder = QueryBatcher(embedder, s.query_batch) if s.query_batch > 1 else embedder
        self.chunker = Chunker(s.chunk_tokens, s.chunk_overlap)
        self._lock = threading.RLock()
        self.build_report: BuildReport | None = None
        self.workers = s.ask_workers or (8 if s.backend == "extractive" else 16)
        # one FIFO queue for every caller: under load each question waits its turn instead of all of
        # them contending for the cores (and the embedder's lock) at once, which made the tail slow
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="rag-ask")
        self._proc: ProcessPoolExecutor | None = None
        self._proc_lock = threading.Lock()
        self._load()

    def _load(self, force: bool = False) -> None:
        s = self.settings
        corpus = load_corpus(s.corpus_dir)
        for err in corpus.errors:           # skipped documents: say which file and why at every start
            log.warning("文档未加载 / document skipped: %s", err)
        if s.store == "milvus":         # one index shared by every replica (rag/milvus_store.py)
            from .milvus_store import MilvusConfig, ensure_milvus_index

            index, report = ensure_milvus_index(corpus, self.embedder, self.chunker, MilvusConfig.from_settings(s),
                                                self.progress, force)
        elif force:
            index, report = build_index(corpus, self.embedder, self.chunker, s.index_dir, self.progress,
                                        DenseConfig.from_settings(s))
        else:
            index, report = ensure_index(corpus, self.embedder, self.chunker, s.index_dir, self.progress,
                                         DenseConfig.from_settings(s))
        cfg = RetrieverConfig(candidates=s.candidates, rrf_k=s.rrf_k, bm25_weight=s.bm25_weight, bigram_weight=s.bigram_weight,
                              dense_weight=s.dense_weight, doc_boost=s.doc_boost, glossary_expansion=s.glossary_expansion,
                              rerank_depth=s.rerank_depth)
        from .answer import Answerer

        with self._lock:
            self.corpus: Corpus = corpus
            self.index: Index = index
            self.retriever = Retriever(index, self.query_embedder, corpus, cfg)
            self.answerer = Answerer(self.retriever, s)
            self.build_report = report

    def reindex(self, force: bool = False) -> BuildReport | None:
        self._load(force=force)
        if self.in_child:
            self._fork_child()          # the child answers from a copy of the pipeline: give it the new index
        return self.build_report

    def retrieve(self, question: str, k: int | None = None, doc_filter=None, history: list[dict] | None = None) -> list[Hit]:
        """Hits for the question as ``ask`` retrieves them: normalised, a follow-up rewritten with ``history``,
        within the documents its subject allows."""
        q = clean_question(question, self.settings.max_question_chars)
        analysed = self.answerer.analyze(q, clean_history(history))
        if analysed.garbage:
            return []
        return self.answerer.retrieve(analysed, k or self.settings.top_k, doc_filter)[0]

    def ask(self, question: str, history: list[dict] | None = None, doc_filter=None, stream_cb=None) -> Answer:
        q = clean_question(question, self.settings.max_question_chars)
        return self.answerer.ask(q, clean_history(history), doc_filter=doc_filter, stream_cb=stream_cb)

    # -- where questions are answered ------------------------------------------------------
    def _wants_child(self) -> bool:
        """The extractive backend answers in a forked child process (settings.ask_process). Not with an LLM
        backend (its stream callback cannot cross processes; it mostly waits on the network anyway) nor
        with the torch runtime (its OpenMP threads do not survive a fork), nor with the Milvus store: gRPC is not
        fork-safe, and a child forked while the Milvus client's threads held a lock never answered (the replica test
        timed out re-forking the child after an upload, on a loaded full run; it passes alone)."""
        s = self.settings
        return (s.ask_process and s.backend == "extractive" and not (s.embedder == "e5" and s.embed_runtime == "torch")
                and s.store != "milvus" and "fork" in multiprocessing.get_all_start_methods())

    @property
    def in_child(self) -> bool:
        """Questions are answered in the forked child process (after ``start_child``)."""
        return self._proc is not None

    def start_child(self) -> bool:
        """From now on answer submitted questions in a forked child process, if the settings allow
        (``_wants_child``); True if so. Call it once everything is loaded and before any threads start
        (app.py does, just before the web server); the CLI tools and tests answer in-process."""
        if not self.in_child and self._wants_child():
            self._fork_child()
        return self.in_child

    def _fork_child(self) -> None:
        """(Re)start the answering child: a fork of this process, so it shares the loaded model and index
        (copy-on-write) and is ready at once. The fork happens here (the executor forks on its first task),
        not at some later question; the previous child finishes the questions it was given, then exits."""
        with self._proc_lock:
            proc = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                                       initializer=_child_init, initargs=(self, os.getpid()))
            self.child_pid = proc.submit(_child_call, _child_pid, (), {}).result(timeout=120)
            old, self._proc = self._proc, proc
        if old is not None:
            old.shutdown(wait=False)
        log.debug("answering in child process %s", self.child_pid)

    def submit(self, task, /, *args, **kwargs) -> Future:
        """Run ``task(pipeline, *args, **kwargs)`` (e.g. ``Pipeline.ask``) on the answer workers, in arrival order.

        With ``in_child`` the task runs in the child process, on its copy of the pipeline: the task must be a
        module-level function and its arguments and result picklable. The web server's event loop then no
        longer shares one interpreter lock with the answering (50 users chatting: ~65 -> ~90 turns/s)."""
        if not self.in_child:
            return self._pool.submit(task, self, *args, **kwargs)
        try:
            return self._proc.submit(_child_call, task, args, kwargs)
        except BrokenProcessPool:       # the child died (killed, out of memory): the questions it held failed;
            log.error("the answering child process died; starting a new one")    # later ones get a new child
            self._fork_child()
            return self._proc.submit(_child_call, task, args, kwargs)

    def close(self) -> None:
        """Stop the workers (and the child process); queued questions are still answered."""
        self._pool.shutdown(wait=True)
        if self._proc is not None:
            self._proc.shutdown(wait=True)

    def stats(self) -> dict:
        """/api/health: counts, and every document that is not fully indexed, with the reason
        (``problems``: not loaded, indexed as plain paragraphs, or not indexed)."""
        from .index import parse_problems

        fallback, unparsed = parse_problems(self.index.manifest)
        problems = ([{"status": "not_loaded", "detail": e} for e in self.corpus.errors]
                    + [{"status": "plain_paragraphs", "detail": e} for e in fallback]
                    + [{"status": "not_indexed", "detail": e} for e in unparsed])
        return {"status": "ok", "documents": len(self.corpus.documents), "chunks": len(self.index.chunks),
                "problems": problems}
