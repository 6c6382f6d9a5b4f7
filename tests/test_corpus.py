import json

import pytest

from rag.corpus import CorpusError, load_corpus


def test_corpus_is_byte_exact_copy_of_shared(corpus):
    shared = pytest.importorskip("pathlib").Path(__file__).resolve().parents[2] / "shared" / "corpus"
    if not shared.exists():
        pytest.skip("../shared/corpus not present")
    for d in corpus.documents:
        assert (shared / d.meta["file"]).read_bytes() == open(d.path, "rb").read()


def test_five_documents_with_titles(corpus):
    assert len(corpus.documents) == 5
    assert corpus.get("qijiang-15th-five-year-plan").title.startswith("重庆市綦江区")
    assert corpus.errors == []


def _write(tmp_path, entries, files):
    (tmp_path / "manifest.json").write_text(json.dumps({"documents": entries}, ensure_ascii=False), encoding="utf-8")
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)


def test_bom_accepted_and_offsets_refer_to_text_without_bom(tmp_path):
    _write(tmp_path, [{"id": "a", "file": "a.txt", "title": "甲"}], {"a.txt": "\ufeff第一章 总则\n内容。".encode("utf-8")})
    d = load_corpus(tmp_path).documents[0]
    assert d.text.startswith("第一章")


def test_bad_encoding_names_the_file_and_other_docs_still_load(tmp_path):
    _write(tmp_path, [{"id": "a", "file": "a.txt", "title": "甲"}, {"id": "b", "file": "b.txt", "title": "乙"},
                      {"id": "c", "file": "missing.txt", "title": "丙"}, {"id": "BAD ID", "file": "a.txt", "title": "x"}],
           {"a.txt": "正常的文档内容。".encode("utf-8"), "b.txt": "国标编码".encode("gb18030")})
    c = load_corpus(tmp_path)
    assert [d.doc_id for d in c.documents] == ["a"]
    assert any("b.txt" in e and "UTF-8" in e for e in c.errors)
    assert any("missing.txt" in e for e in c.errors)
    assert len(c.errors) == 3
    with pytest.raises(CorpusError, match="b.txt"):
        load_corpus(tmp_path, strict=True)


def test_empty_file_and_broken_manifest(tmp_path):
    _write(tmp_path, [{"id": "a", "file": "a.txt", "title": "甲"}], {"a.txt": b"  \n"})
    with pytest.raises(CorpusError, match="a.txt"):
        load_corpus(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CorpusError, match="manifest"):
        load_corpus(tmp_path)
