"""The vectors encoder: precomputed sparse vectors indexed unchanged, from Python chunks or shards."""

from __future__ import annotations

import numpy as np
import pytest

from winnow.encode.registry import build_encoder
from winnow.encode.vectors import TermQueryEncoder, VectorsEncoder
from winnow.errors import InputError, WinnowError
from winnow.types import Document, SparseBatch

ROWS = [(np.array([0, 2], np.int32), np.array([1.5, 0.5], np.float32)),
        (np.array([1], np.int32), np.array([2.0], np.float32)),
        (np.array([], np.int32), np.array([], np.float32)),
        (np.array([0, 1, 2], np.int32), np.array([1.0, 1.0, 3.0], np.float32))]
DOCS = [Document(f"d{i}", "") for i in range(len(ROWS))]


def chunks(sizes):
    """ROWS cut into chunks of the given sizes, with their ids."""
    out, lo = [], 0
    for size in sizes:
        out.append(([d.id for d in DOCS[lo:lo + size]], SparseBatch.from_rows(ROWS[lo:lo + size])))
        lo += size
    return out


@pytest.mark.parametrize("chunk_sizes, batch_sizes", [([4], [4]), ([1, 3], [2, 2]), ([3, 1], [1, 1, 1, 1]),
                                                      ([2, 2], [3, 1])])
def test_batches_get_their_rows_whatever_the_chunking(chunk_sizes, batch_sizes):
    encoder = VectorsEncoder(chunks(chunk_sizes), ["a", "b", "c"])
    starts = np.cumsum([0, *batch_sizes]).tolist()
    got = []
    for batch in encoder.encode_stream([DOCS[lo:lo + n] for lo, n in zip(starts, batch_sizes)]):
        got += [(batch.indices[a:b].tolist(), batch.values[a:b].tolist()) for a, b in zip(batch.indptr, batch.indptr[1:])]
    assert got == [(t.tolist(), w.tolist()) for t, w in ROWS]


def test_documents_and_vectors_out_of_step_are_refused():
    with pytest.raises(InputError, match="document 'd1' meets the vector of 'd2'"):
        VectorsEncoder([(["d0", "d2"], SparseBatch.from_rows(ROWS[:2]))], ["a", "b", "c"]).encode_documents(DOCS[:2])
    with pytest.raises(InputError, match="no vector for document 'd3' .document 4.: the vectors end"):
        VectorsEncoder(chunks([3]), ["a", "b", "c"]).encode_documents(DOCS)
    with pytest.raises(InputError, match="term id 2, outside the vocabulary of 2 terms"):
        VectorsEncoder(chunks([4]), ["a", "b"]).encode_documents(DOCS)


def test_text_queries_are_bags_of_terms():
    terms, weights = TermQueryEncoder({"a": 0, "b": 1}).encode_query("b a b zzz")
    assert dict(zip(terms.tolist(), weights.tolist())) == {1: 2.0, 0: 1.0}


def test_an_index_of_splade_shards_equals_the_splade_index(tiny_mlm, docs, tmp_path):
    """Encode once to shards, index them without the model: the same postings as a SPLADE build."""
    from winnow.encode.shards import encode_corpus_to_shards
    from winnow.index.writer import build_index
    from winnow.retrieve.searcher import Searcher

    spec = f"splade:{tiny_mlm}:doc_max_length=64"
    encode_corpus_to_shards(build_encoder(spec), docs, tmp_path / "shards", shard_size=7)
    build_index(docs, build_encoder(spec), tmp_path / "splade")
    build_index(docs, build_encoder(f"vectors:{tmp_path / 'shards'}"), tmp_path / "vectors", batch_size=5)
    splade, vectors = Searcher(tmp_path / "splade"), Searcher(tmp_path / "vectors")
    assert vectors.index.encoder_kind == "vectors"
    assert vectors.index.vocabulary == splade.index.vocabulary
    for query in ("document length", "sparse model query encoder"):
        terms, weights = splade.encode(query)
        expected, got = splade.search_vector(terms, weights, k=10), vectors.search_vector(terms, weights, k=10)
        assert got.ids == expected.ids and len(got.ids) > 0
        np.testing.assert_allclose(got.scores, expected.scores, rtol=1e-6)  # two encodings of the text


def test_vectors_spec_refusals(tmp_path, docs):
    from winnow.encode.shards import encode_corpus_to_shards

    with pytest.raises(WinnowError, match="needs a shard folder"):
        build_encoder("vectors")
    with pytest.raises(WinnowError, match="no finished shards"):
        build_encoder(f"vectors:{tmp_path}")
    encode_corpus_to_shards(build_encoder("bm25"), docs, tmp_path / "bm25", shard_size=10)
    with pytest.raises(WinnowError, match="holds bm25 shards, whose values are not impacts"):
        build_encoder(f"vectors:{tmp_path / 'bm25'}")
    with pytest.raises(WinnowError, match="unknown vectors option"):
        build_encoder(f"vectors:{tmp_path / 'bm25'}:k1=1")
