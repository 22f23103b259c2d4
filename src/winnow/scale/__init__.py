"""Scale-out: encode on a Ray cluster, search index shards held by Ray actors, serve vectors from
Milvus or OpenSearch.

Each module imports its engine (``ray``, ``pymilvus``) inside the functions that need it, behind
the ``ray`` and ``milvus`` extras; the rest of winnow never imports this package.
"""
