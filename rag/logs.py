"""Console logging for ``python -m rag`` and ``python app.py``: this project's lines (loggers ``rag.*``: one per
stage, with its duration) at ``settings.log_level``; other libraries' lines only from WARNING up, unless
``RAG_LOG_LEVEL=debug`` (then every line of every library).

A filter on our handler rather than levels on the libraries' loggers, because they set their own: bm25s sets its
logger to DEBUG when it is imported (after app.py had set it to WARNING: its "Building index from tokens" still
showed), onnxruntime's quantizer writes one INFO line per tensor to the *root* logger, and
``onnxruntime.quantization.matmul_nbits_quantizer`` calls ``logging.basicConfig(level=INFO)`` when imported.
A first ``python app.py`` printed 72 such INFO lines during the int8 quantisation alone.
"""
from __future__ import annotations

import logging
import sys

OWN = "rag"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
PLAIN = "%(message)s"                                    # the command line: stage lines as they are
STAMPED = "%(asctime)s %(levelname)s %(name)s: %(message)s"   # the web app's log


def own(record: logging.LogRecord) -> bool:
    return record.name == OWN or record.name.startswith(OWN + ".")


class OthersFrom(logging.Filter):
    """Passes this project's records, and other libraries' from ``level`` up."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        return own(record) or record.levelno >= self.level


class PlainFormatter(logging.Formatter):
    """The project's INFO lines as they are; anything else with its level and source (``WARNING bm25s: …``)."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if own(record) and record.levelno == logging.INFO else f"{record.levelname} {record.name}: {text}"


class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record arrives (as logging's last-resort handler does), so a
    replaced stderr (pytest's capture, a redirect) never leaves it writing to a closed stream."""

    def __init__(self):
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def setup_logging(level: str = "info", fmt: str = PLAIN) -> logging.Handler:
    """Route logging to stderr as described above; calling it again replaces the handler it added before."""
    mine = LEVELS[level]
    others = logging.DEBUG if mine == logging.DEBUG else logging.WARNING
    root = logging.getLogger()
    for h in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(h)
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter(fmt) if fmt != PLAIN else PlainFormatter(fmt))
    handler.addFilter(OthersFrom(others))
    # before any library's basicConfig: with a handler on the root logger, basicConfig adds none of its own
    root.addHandler(handler)
    root.setLevel(min(mine, others))
    logging.getLogger(OWN).setLevel(mine)
    return handler


def uvicorn_level(level: str) -> str:
    """uvicorn's own log level: its start-up lines and the access log are third-party INFO too (the app's
    ready line gives the address); shown with RAG_LOG_LEVEL=debug."""
    return "info" if LEVELS[level] == logging.DEBUG else "warning"
