"""The one error of the ingest stage: a file that cannot be added or a document that cannot be removed,
its message in Chinese and English naming the file, with the HTTP code and status the API answers with.
"""
from __future__ import annotations


class IngestError(ValueError):
    """A file that cannot be added (or a document that cannot be removed). ``str(e)`` is "中文 / English"
    and names the file; ``code``/``status`` map it to an HTTP error."""

    def __init__(self, name: str, zh: str, en: str, code: str = "invalid_document", status: int = 422):
        self.name, self.zh, self.en, self.code, self.status = name, f"{name}：{zh}", f"{name}: {en}", code, status
        super().__init__(f"{self.zh} / {self.en}")
