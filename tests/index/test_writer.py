"""Index builds: round trip, chunked and batched builds identical, atomic replace, refusals, u8."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow.corpus import read_corpus
from winnow.encode.registry import build_encoder
from winnow.errors import IndexFormatError, InputError, WinnowError
from winnow.index import segment
from winnow.index.docstore import StringTable, StringTableWriter
from winnow.index.commit import newest_commit
from winnow.index.manifest import file_digest
from winnow.index.reader import SparseIndex
from winnow.index.writer import build_index
from winnow.types import Document


@pytest.fixture(scope="module")
def tiny_docs(tiny_beir) -> list[Document]:
    return list(read_corpus(tiny_beir / "corpus.jsonl"))


def describe_files(folder: Path) -> dict[str, tuple[int, str]]:
    """Size and checksum of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, file_digest(p))
            for p in sorted(folder.rglob("*")) if p.is_file()}


def arrays(path: Path) -> dict[str, np.ndarray]:
    return {p.name: np.load(p) for p in sorted((path / "seg-0").glob("*.npy"))}


def assert_same_index(a: Path, b: Path) -> None:
    """Same bytes in every file (the manifest differs only by nothing that depends on the build)."""
    assert describe_files(a) == describe_files(b)
    for name, arr in arrays(a).items():
        np.testing.assert_array_equal(arr, arrays(b)[name], err_msg=name)


def no_staging_left(out: Path) -> bool:
    return not list(out.parent.glob(f".{out.name}.building-*")) and not list(out.parent.glob(f".{out.name}.old-*"))


def test_round_trip(tiny_docs, tmp_path):
    encoder = build_encoder("bm25")
    info = build_index(tiny_docs, encoder, tmp_path / "ix", spec="bm25")
    ix = SparseIndex(tmp_path / "ix")
    analyze = encoder.analyzer.analyze
    terms = [set(analyze(d.full_text)) for d in tiny_docs]
    assert ix.n_docs == info.n_docs == len(tiny_docs)
    assert ix.vocabulary == encoder.vocabulary() and set(ix.vocabulary) == set().union(*terms)
    assert ix.n_terms == info.n_terms == len(ix.vocabulary)
    assert ix.manifest["n_postings"] == info.n_postings == sum(len(t) for t in terms)
    assert ix.manifest["spec"] == "bm25" and ix.encoder_kind == "bm25"
    assert [ix.doc_id(i) for i in range(ix.n_docs)] == [d.id for d in tiny_docs]
    assert ix.doc_ids(np.arange(ix.n_docs)) == [d.id for d in tiny_docs]
    for i, d in enumerate(tiny_docs):
        assert ix.document(i) == {"title": d.title, "text": d.text, "metadata": dict(d.metadata)}
    for t, term in enumerate(ix.vocabulary):  # postings: ascending doc numbers of the docs holding the term
        docnos, impacts = ix.postings(t)
        assert docnos.tolist() == [i for i, ts in enumerate(terms) if term in ts]
        assert (impacts > 0).all()


def test_no_store_keeps_ids_only(tiny_docs, tmp_path):
    build_index(tiny_docs, build_encoder("bm25"), tmp_path / "ix", store=False)
    ix = SparseIndex(tmp_path / "ix")
    assert ix.document(0) == {} and ix.doc_id(0) == tiny_docs[0].id


def test_unicode_ids_and_text_round_trip(tmp_path):
    docs = [Document("é-1", "naïve café 中文", "Tïtle"), Document("ß", "plain"), Document("x", "")]
    build_index(docs, build_encoder("bm25"), tmp_path / "ix")
    ix = SparseIndex(tmp_path / "ix")
    assert ix.doc_ids(np.arange(3)) == ["é-1", "ß", "x"]
    assert ix.document(0)["text"] == "naïve café 中文" and ix.document(0)["title"] == "Tïtle"


def test_counting_sort_over_many_chunks_equals_one_chunk(tiny_docs, tmp_path, monkeypatch):
    build_index(tiny_docs, build_encoder("bm25"), tmp_path / "one")
    monkeypatch.setattr(segment, "SORT_CHUNK", 3)
    build_index(tiny_docs, build_encoder("bm25"), tmp_path / "many")
    assert_same_index(tmp_path / "one", tmp_path / "many")


def test_counting_sort_gives_the_term_major_layout(vector_corpus, tmp_path, monkeypatch):
    rng = np.random.default_rng(7)
    rows = [{int(t): float(rng.integers(1, 100)) for t in np.flatnonzero(rng.random(12) < 0.4)} for _ in range(40)]
    monkeypatch.setattr(segment, "SORT_CHUNK", 5)
    build_index(*vector_corpus(rows, 12), tmp_path / "ix")
    ix = SparseIndex(tmp_path / "ix")
    for t in range(12):
        docnos, impacts = ix.postings(t)
        expected = [(d, row[t]) for d, row in enumerate(rows) if t in row]
        assert docnos.tolist() == [d for d, _ in expected]
        assert impacts.tolist() == [v for _, v in expected]


def test_small_batches_give_the_same_index(tiny_docs, tmp_path):
    build_index(tiny_docs, build_encoder("bm25:fields=multifield"), tmp_path / "big", batch_size=1000)
    build_index(tiny_docs, build_encoder("bm25:fields=multifield"), tmp_path / "small", batch_size=3)
    assert_same_index(tmp_path / "big", tmp_path / "small")


def test_failed_rebuild_leaves_the_previous_index(vector_corpus, tmp_path):
    out = tmp_path / "ix"
    rows = [{0: 1.0}, {1: 2.0}, {0: 3.0, 1: 1.0}, {1: 1.0}]
    build_index(*vector_corpus(rows, 2), out, batch_size=2)
    before = describe_files(out)
    with pytest.raises(RuntimeError, match="encoder failure"):
        build_index(*vector_corpus([{0: 9.0}] * 4, 2, fail_at=2), out, batch_size=2)
    assert describe_files(out) == before
    ix = SparseIndex(out)
    assert ix.postings(0)[1].tolist() == [1.0, 3.0]
    assert no_staging_left(out)


def test_rebuild_replaces_an_index(vector_corpus, tmp_path):
    out = tmp_path / "ix"
    build_index(*vector_corpus([{0: 1.0}, {0: 2.0}], 1), out)
    build_index(*vector_corpus([{0: 5.0}, {}, {0: 6.0}], 1), out)
    ix = SparseIndex(out)
    assert ix.n_docs == 3 and ix.postings(0)[1].tolist() == [5.0, 6.0]
    assert no_staging_left(out)


def test_refuses_to_overwrite_a_folder_that_is_not_an_index(vector_corpus, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(IndexFormatError, match="refusing to overwrite"):
        build_index(*vector_corpus([{0: 1.0}], 1), out)
    assert (out / "thesis.tex").read_text() == "precious" and no_staging_left(out)
    (tmp_path / "file").write_text("x")
    with pytest.raises(IndexFormatError, match="refusing to overwrite"):
        build_index(*vector_corpus([{0: 1.0}], 1), tmp_path / "file")


def test_an_empty_folder_is_fine(vector_corpus, tmp_path):
    (tmp_path / "ix").mkdir()
    build_index(*vector_corpus([{0: 1.0}], 1), tmp_path / "ix")
    assert SparseIndex(tmp_path / "ix").n_docs == 1


def test_duplicate_ids_and_empty_corpus_are_input_errors(tmp_path):
    out = tmp_path / "ix"
    docs = [Document("a", "x"), Document("b", "y"), Document("a", "z")]
    with pytest.raises(InputError, match="duplicate document id 'a' \\(document 3\\)"):
        build_index(docs, build_encoder("bm25"), out, batch_size=2)
    with pytest.raises(InputError, match="empty corpus"):
        build_index([], build_encoder("bm25"), out)
    assert not out.exists() and no_staging_left(out)


@pytest.mark.parametrize("docs,match", [
    (read_corpus, "iterable of Document, got function"),  # the reader, not its records
    ("corpus.jsonl", "iterable of Document, got str"),
    (5, "iterable of Document, got int"),
    ([Document("a", "x"), {"id": "b", "text": "y"}], "document 1 of the stream is a dict"),
])
def test_what_is_not_a_stream_of_documents_is_an_input_error(docs, match, tmp_path):
    out = tmp_path / "ix"
    with pytest.raises(InputError, match=match):
        build_index(docs, build_encoder("bm25"), out)
    assert not out.exists() and no_staging_left(out)


def test_bad_quantize_option(vector_corpus, tmp_path):
    with pytest.raises(WinnowError, match="quantize"):
        build_index(*vector_corpus([{0: 1.0}], 1), tmp_path / "ix", quantize="u4")


# --- 8-bit impacts -------------------------------------------------------------------------------

def test_u8_postings_within_half_a_step(tiny_docs, tmp_path):
    build_index(tiny_docs, build_encoder("bm25"), tmp_path / "f32")
    build_index(tiny_docs, build_encoder("bm25"), tmp_path / "u8", quantize="u8")
    f32, u8 = SparseIndex(tmp_path / "f32"), SparseIndex(tmp_path / "u8")
    assert u8.impacts.dtype == np.uint8 and u8.manifest["impacts"]["dtype"] == "uint8"
    top = float(np.max(f32.impacts))
    assert u8.scale == pytest.approx(top / 255)
    assert int(np.max(u8.impacts)) == 255
    np.testing.assert_array_equal(u8.docids, f32.docids)
    for t in range(f32.n_terms):
        exact, approx = f32.postings(t)[1], u8.postings(t)[1]
        assert np.all(np.abs(exact - approx) <= u8.scale / 2 * (1 + 1e-5))


def test_u8_scores_within_the_sum_of_half_steps(tiny_docs, tiny_beir, tmp_path):
    from winnow.corpus import read_queries
    from winnow.retrieve.searcher import Searcher

    build_index(tiny_docs, build_encoder("bm25"), tmp_path / "f32")
    build_index(tiny_docs, build_encoder("bm25"), tmp_path / "u8", quantize="u8")
    f32, u8 = Searcher(tmp_path / "f32"), Searcher(tmp_path / "u8")
    scale = u8.index.scale
    for q in read_queries(tiny_beir / "queries.jsonl"):
        terms, weights = f32.encode(q.text)
        exact = dict(f32.search(q.text, k=len(tiny_docs)))
        approx = dict(u8.search(q.text, k=len(tiny_docs)))
        assert exact.keys() == approx.keys()  # same touched documents
        bound = float(weights.sum()) * scale / 2
        for doc, score in exact.items():
            assert abs(approx[doc] - score) <= bound * (1 + 1e-4) + 1e-6, (q.id, doc)


def test_u8_refuses_negative_impacts(tmp_path):
    # "cat" is in 3 of 4 documents: Robertson's idf ln((4 - 3 + .5) / (3 + .5)) < 0.
    docs = [Document(str(i), t) for i, t in enumerate(["cat dog", "cat", "cat fish", "bird"])]
    build_index(docs, build_encoder("bm25:variant=robertson"), tmp_path / "f32")
    assert SparseIndex(tmp_path / "f32").impacts.min() < 0  # float32 keeps them
    with pytest.raises(WinnowError, match="non-negative"):
        build_index(docs, build_encoder("bm25:variant=robertson"), tmp_path / "u8", quantize="u8")
    assert not (tmp_path / "u8").exists() and no_staging_left(tmp_path / "u8")


def test_manifest_describes_the_build(tiny_docs, tmp_path):
    build_index(tiny_docs, build_encoder("bm25:k1=1.2"), tmp_path / "ix", spec="bm25:k1=1.2")
    outer = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert outer == {"format": "winnow-sparse-index", "format_version": 2}
    manifest = newest_commit(tmp_path / "ix")
    assert manifest["encoder"]["config"]["bm25"]["k1"] == 1.2
    assert manifest["encoder"]["config"]["analyzer"]["kind"] == "word"
    on_disk = describe_files(tmp_path / "ix")
    assert {k: (v["bytes"], v["xxh3"]) for k, v in manifest["files"].items()} == \
        {k: v for k, v in on_disk.items() if k not in ("manifest.json", "commit-1.json")}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=6), min_size=1, max_size=80), st.data())
def test_string_table_take_equals_item_by_item(tmp_path_factory, entries, data):
    """Small takes (scalar lookups) and large ones (fancy indexing) both return the stored strings."""
    folder = tmp_path_factory.mktemp("strings")
    writer = StringTableWriter(folder, "t")
    for entry in entries:
        writer.add(entry)
    writer.close()
    table = StringTable(folder, "t")
    dtype = data.draw(st.sampled_from([np.int32, np.int64]))
    indices = np.array(data.draw(st.lists(st.integers(0, len(entries) - 1), max_size=100)), dtype=dtype)
    assert table.take(indices) == [entries[i] for i in indices]
