"""Serve winnow's vectors from OpenSearch: the index mapping, bulk NDJSON and ``neural_sparse`` queries.

Learned sparse vectors go into ``rank_features`` fields as ``{token: weight}`` objects keyed by the
index vocabulary's strings, and are searched with a ``neural_sparse`` query carrying raw
``query_tokens`` (OpenSearch 2.11+, "neural sparse search using raw vectors"); dense vectors go
into ``knn_vector`` fields of an index with ``index.knn`` set. ``rank_features`` keep strictly
positive values only, with 9 significant bits (about 0.4% relative error), so OpenSearch's scores
approximate winnow's and near-ties may swap.

winnow writes requests; it does not talk to a cluster. Send them with any client, e.g.
``curl -XPUT host:9200/scifact -H 'Content-Type: application/json' -d @mapping.json`` and
``curl -XPOST host:9200/_bulk -H 'Content-Type: application/x-ndjson' --data-binary @docs.ndjson``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Iterator, Mapping

import numpy as np

from winnow.errors import WinnowError

TEXT_FIELDS = {"id": {"type": "keyword"}, "title": {"type": "text"}, "text": {"type": "text"}}


def index_body(sparse_fields: list[str], dense_dimensions: Mapping[str, int] | None = None,
               space_type: str = "innerproduct") -> dict:
    """The body of ``PUT /<index>``: ``rank_features`` per sparse field, ``knn_vector`` per dense field.

    Args:
        sparse_fields: names of the learned sparse fields.
        dense_dimensions: dense field name -> embedding dimension.
        space_type: the k-NN space of dense fields (``innerproduct``, ``cosinesimil``, ``l2``).
    """
    properties: dict = dict(TEXT_FIELDS)
    for name in sparse_fields:
        properties[name] = {"type": "rank_features"}
    for name, dimension in (dense_dimensions or {}).items():
        properties[name] = {"type": "knn_vector", "dimension": int(dimension),
                            "method": {"name": "hnsw", "space_type": space_type, "engine": "faiss"}}
    body: dict = {"mappings": {"properties": properties}}
    if dense_dimensions:
        body["settings"] = {"index": {"knn": True}}
    return body


def document_sources(sparse: Mapping[str, str | Path], dense: Mapping[str, np.ndarray] | None = None,
                     text: bool = True) -> Iterator[tuple[str, dict]]:
    """``(document id, _source)`` for every document of the indexes (same documents, same order).

    Raises:
        WinnowError: the indexes hold different documents, or an impact is negative (``rank_features``
            take positive values only; zero impacts are left out).
    """
    from winnow.index.reader import SparseIndex
    from winnow.scale.milvus import document_vectors

    indexes = {name: SparseIndex(path, verify=False) for name, path in sparse.items()}
    if not indexes:
        raise WinnowError("name at least one sparse index")
    first = next(iter(indexes.values()))
    ids = first.doc_ids(np.arange(first.n_docs))
    matrices = {}
    for name, index in indexes.items():
        if index.n_docs != first.n_docs or index.doc_ids(np.arange(index.n_docs)) != ids:
            raise WinnowError(f"index of field {name!r} holds other documents; export indexes of the same corpus")
        if float(index.manifest["impacts"]["min"]) < 0:
            raise WinnowError(f"index of field {name!r} has negative impacts; rank_features take positive values only")
        matrices[name] = (document_vectors(index), index.vocabulary)
    dense = dict(dense or {})
    for i, doc_id in enumerate(ids):
        source: dict = {"id": doc_id}
        if text:
            stored = first.document(i)
            source["title"], source["text"] = stored.get("title", ""), stored.get("text", "")
        for name, (matrix, vocab) in matrices.items():
            a, b = matrix.indptr[i], matrix.indptr[i + 1]
            terms, weights = matrix.indices[a:b].tolist(), matrix.data[a:b].tolist()
            source[name] = {vocab[t]: w for t, w in zip(terms, weights) if w > 0}
        for name, vectors in dense.items():
            source[name] = np.asarray(vectors[i], dtype=np.float32).tolist()
        yield doc_id, source


def write_bulk(out: IO[str], index: str, sources: Iterator[tuple[str, dict]]) -> int:
    """Write ``_bulk`` NDJSON: an ``index`` action line then the document line, per document.

    Returns:
        The number of documents written.
    """
    n = 0
    for doc_id, source in sources:
        out.write(json.dumps({"index": {"_index": index, "_id": doc_id}}, ensure_ascii=False) + "\n")
        out.write(json.dumps(source, ensure_ascii=False) + "\n")
        n += 1
    return n


def neural_sparse_query(field: str, query_tokens: Mapping[str, float], k: int = 10) -> dict:
    """The body of ``GET /<index>/_search`` for a ``neural_sparse`` query with raw ``query_tokens``."""
    tokens = {token: float(w) for token, w in query_tokens.items() if w > 0}
    return {"size": int(k), "query": {"neural_sparse": {field: {"query_tokens": tokens}}}}


class NeuralSparseQueries:
    """``neural_sparse`` request bodies for query texts, encoded by an index's own query encoder
    (tokenizer x IDF for an inference-free index: no model).

    Example::

        queries = NeuralSparseQueries("indexes/scifact-if", field="splade")
        body = queries.body("statins and heart disease", k=10)   # GET /scifact/_search with this body
    """

    def __init__(self, index: str | Path, field: str):
        from winnow.retrieve.searcher import Searcher

        self.searcher, self.field = Searcher(index, verify=False), field
        self.vocabulary = self.searcher.index.vocabulary

    def tokens(self, text: str) -> dict[str, float]:
        """``{token: weight}`` of a query."""
        terms, weights = self.searcher.encode(text)
        tokens: dict[str, float] = {}
        for t, w in zip(terms.tolist(), weights.tolist()):
            tokens[self.vocabulary[t]] = tokens.get(self.vocabulary[t], 0.0) + w
        return tokens

    def body(self, text: str, k: int = 10) -> dict:
        return neural_sparse_query(self.field, self.tokens(text), k)
