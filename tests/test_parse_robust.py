"""No document can stop the index: the parser on real work reports (../shared/library, when present) and on
fuzzed variants, exact offsets either way; a document the parser cannot read is indexed as plain paragraphs
(or not at all) and named in the build summary and in /api/health while the others index."""
import random
import re
from pathlib import Path

import pytest

from rag.chunk import Chunker
from rag.corpus import load_corpus
from rag.index import build_index, chunk_document
from rag.parse import align, paragraphs, parse, plain_parse
from rag.schema import Document

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT.parent / "shared" / "library"
# the reports whose hard-wrap join ("PM\n2.5\n）" -> "PM 2.5）") used to stop the whole build
FORMERLY_BROKEN = ["nat-gwr-2014", "nat-gwr-2017", "nat-gwr-2019", "prov-2026-12"]


def _ws(s: str) -> str:
    return re.sub(r"\s", "", s)


def assert_exact_offsets(doc: Document, chunks) -> None:
    """Every chunk's span is real source text: non-table chunks align character by character with it."""
    assert chunks, doc.doc_id
    for c in chunks:
        assert 0 <= c.start < c.end <= len(doc.text), (doc.doc_id, c.chunk_id)
        src = doc.text[c.start:c.end]
        if c.kind == "table_row":
            continue
        pos = align(src, c.text)               # raises if the chunk is not (a whitespace-joined) subsequence
        assert pos[0] == 0 or src[:pos[0]].strip() == "" or re.search(r"[上下][接转]", src), (doc.doc_id, c.location)
        assert _ws(c.text) == _ws(src) or re.search(r"[上下][接转]", src), (doc.doc_id, c.location, c.text[:40])


def make_doc(text: str, doc_id: str = "fuzz") -> Document:
    return Document(doc_id=doc_id, title="测试文档", path="/dev/null", text=text, sha256=str(hash(text)),
                    meta={"file": f"{doc_id}.txt"})


# ----------------------------------------------------------------------------- the join itself
def test_number_and_subscript_runs_join_without_a_space():
    text = "细颗粒物（PM\n2.5\n）平均浓度下降，广义货币M\n2增长11.3%。"
    paras = paragraphs(text, wrapped=False)
    joined = "".join(p.text for p in paras)
    assert "PM2.5）" in joined and "M2增长" in joined
    for p in paras:
        assert [text[i] for i in p.pos] == [ch for ch in p.text]


def test_latin_words_split_across_lines_keep_a_space():
    text = "\n".join(["第一行是一段很长的报纸分栏文字，内容讲的是Chongqing"] + ["University的合作项目和一些别的东西，还有更多内容"] * 25)
    paras = paragraphs(text, wrapped=True)
    assert "Chongqing University" in paras[0].text
    assert text[paras[0].pos[paras[0].text.index(" University")]] == "\n"


def test_align_matches_whitespace_with_any_whitespace():
    assert align("PM\n2.5\n）", "PM 2.5）") == [0, 1, 2, 3, 4, 5, 7]
    with pytest.raises(ValueError):
        align("abc", "abd")


# ----------------------------------------------------------------------------- the real reports
@pytest.fixture(scope="module")
def library():
    if not (LIBRARY / "manifest.part.json").exists():
        pytest.skip("../shared/library not present")
    import json
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="lib-"))
    entries = json.loads((LIBRARY / "manifest.part.json").read_text(encoding="utf-8"))["documents"]
    for e in entries:
        shutil.copy(LIBRARY / e["file"], tmp / e["file"])
    (tmp / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    yield load_corpus(tmp, strict=True)
    shutil.rmtree(tmp, ignore_errors=True)


def test_every_library_report_parses_with_its_structure(library):
    chunker = Chunker()
    for doc in library.documents:
        chunks, status, reason = chunk_document(doc, chunker)
        assert status == "structure", (doc.doc_id, reason)
        assert_exact_offsets(doc, chunks)


@pytest.mark.parametrize("doc_id", FORMERLY_BROKEN)
def test_formerly_broken_reports_keep_their_latin_runs(library, doc_id):
    doc = library.get(doc_id)
    clauses = parse(doc)
    text = " ".join(c.text for c in clauses)
    assert re.search(r"PM2\.5|M2", text), doc_id
    assert not re.search(r"PM 2\.5|M 2[^0-9]", text), doc_id


# ----------------------------------------------------------------------------- fuzzed variants
def _fuzz_variants(base: str, seed: int) -> dict[str, str]:
    rnd = random.Random(seed)
    lines = base.split("\n")
    return {
        "crlf": base.replace("\n", "\r\n"),
        "mixed_newlines": "".join(l + rnd.choice(["\n", "\r\n", "\r", "\n\n"]) for l in lines),
        "zero_width": "".join(ch + ("\u200b" if rnd.random() < 0.05 else "") + ("\ufeff" if rnd.random() < 0.01 else "")
                              for ch in base),
        "stray_markup": "\n".join(l if rnd.random() < 0.8 else f"<p class='x'>{l}</p><br/>&nbsp;" for l in lines),
        "very_long_lines": base.replace("\n", "") * 3,
        "empty_sections": re.sub(r"(\n[一二三四五六七八九十]+、[^\n]*\n)", r"\1\n\n\n", base) + "\n一、\n（一）\n专栏1\n\t序号\n\t指标\n\t2025年\n",
        "latin_wraps": re.sub(r"(。)", "。PM\n2.5\n）M\n2 G\n210\n", base, count=20),
        "tabs_and_spaces": "\n".join("\t " * rnd.randint(0, 3) + l + " \t" * rnd.randint(0, 2) for l in lines),
    }


@pytest.fixture(scope="module")
def fuzz_sources(corpus):
    """Pieces of the real corpus documents (each family: outline with 专栏 tables, newspaper excerpt, action plan)."""
    out = {}
    for d in corpus.documents:
        mid = len(d.text) // 3
        out[d.doc_id] = d.text[:4000] + d.text[mid:mid + 4000]
    return out


@pytest.mark.parametrize("variant", ["crlf", "mixed_newlines", "zero_width", "stray_markup", "very_long_lines",
                                     "empty_sections", "latin_wraps", "tabs_and_spaces"])
def test_fuzzed_documents_index_with_exact_offsets(fuzz_sources, variant):
    chunker = Chunker()
    for n, (doc_id, base) in enumerate(fuzz_sources.items()):
        doc = make_doc(_fuzz_variants(base, seed=n)[variant], f"{doc_id[:20]}-{variant}")
        chunks, status, reason = chunk_document(doc, chunker)
        assert status in ("structure", "paragraphs"), (doc.doc_id, reason)
        assert_exact_offsets(doc, chunks)


def test_plain_parse_has_exact_offsets(corpus):
    for d in corpus.documents:
        clauses = plain_parse(d)
        assert clauses and all(c.location.endswith("段") for c in clauses)
        for c in clauses:
            assert _ws(c.text) == _ws(d.text[c.start:c.end])


# ----------------------------------------------------------------------------- one broken document
def test_a_broken_document_is_named_while_the_rest_index(tmp_path, corpus, monkeypatch):
    import shutil

    from rag import index as index_mod
    from rag.embed import FakeEmbedder

    cdir = tmp_path / "corpus"
    cdir.mkdir()
    entries = []
    for d in corpus.documents:
        shutil.copy(d.path, cdir / d.meta["file"])
        entries.append({"id": d.doc_id, "file": d.meta["file"], "title": d.title})
    import json

    (cdir / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    real_parse, real_plain = index_mod.parse, index_mod.plain_parse

    def parse_breaks_on(doc):
        if doc.doc_id in ("qijiang-15th-five-year-plan", "chongqing-2024-plan-report-excerpt"):
            raise ValueError("text is not a subsequence of the original")
        return real_parse(doc)

    def plain_breaks_on(doc):
        if doc.doc_id == "chongqing-2024-plan-report-excerpt":
            raise RuntimeError("cannot read it at all")
        return real_plain(doc)

    monkeypatch.setattr(index_mod, "parse", parse_breaks_on)
    monkeypatch.setattr(index_mod, "plain_parse", plain_breaks_on)
    idx, report = build_index(load_corpus(cdir), FakeEmbedder(), Chunker(), tmp_path / "index", progress=False)

    docs_indexed = set(idx.doc_ids)
    assert docs_indexed == {e["id"] for e in entries} - {"chongqing-2024-plan-report-excerpt"}
    assert len(report.fallback) == 1 and report.fallback[0].startswith("qijiang-15th-five-year-plan.txt: ValueError")
    assert len(report.unparsed) == 1 and report.unparsed[0].startswith("chongqing-2024-plan-report-excerpt.txt:")
    summary = report.summary()
    assert "plain paragraphs: qijiang-15th-five-year-plan.txt" in summary
    assert "not indexed: chongqing-2024-plan-report-excerpt.txt" in summary
    qj = [c for c in idx.chunks if c.doc_id == "qijiang-15th-five-year-plan"]
    assert qj and all(c.location.endswith("段") for c in qj)

    # the statuses persist: an up-to-date index loaded later still names them (health), without rebuilding
    monkeypatch.setattr(index_mod, "parse", real_parse)
    monkeypatch.setattr(index_mod, "plain_parse", real_plain)
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    p = Pipeline(Settings(embedder="fake", corpus_dir=cdir, index_dir=tmp_path / "index", ask_process=False),
                 progress=False)
    assert p.build_report is None
    problems = p.stats()["problems"]
    assert {(x["status"], x["detail"].split(":")[0]) for x in problems} == {
        ("plain_paragraphs", "qijiang-15th-five-year-plan.txt"), ("not_indexed", "chongqing-2024-plan-report-excerpt.txt")}
