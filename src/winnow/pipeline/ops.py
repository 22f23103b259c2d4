"""Pipeline operators: ``a >> b`` (rerank), ``p % k`` (cut, pushed into the retriever), ``a + b`` (fuse).

Cutoffs travel down, never up: ``(bm25 >> rerank) % 10`` asks the pipeline for 10, the pipeline
asks BM25 for the reranker's ``depth`` (100), and ``bm25 % 50 >> rerank`` asks BM25 for 50, so no
stage computes more than is used (PyTerrier's ``RankCutoff.fuse_left`` idea, applied to every call).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from winnow.errors import WinnowError
from winnow.retrieve.retriever import DEFAULT_DEPTH, Reranker, Retriever
from winnow.types import Query, Run, check_k


def _label(part) -> str:
    name = part.name
    return f"({name})" if isinstance(part, (Then, Fusion)) and not isinstance(part, Cutoff) else name


class Cutoff(Retriever):
    """``retriever % n``: at most ``n`` hits per query, and the retriever is asked for no more."""

    def __init__(self, inner: Retriever, n: int):
        if not isinstance(inner, Retriever):
            raise WinnowError(f"% applies to a retriever, not {type(inner).__name__}")
        self.inner, self.n = inner, check_k(n, "the cutoff after %")
        self.name = f"{_label(inner)} % {self.n}"
        self.score_floor = inner.score_floor

    @property
    def id_space(self) -> str | None:
        return self.inner.id_space

    def retrieve(self, queries: list[Query], k: int, filter=None) -> Run:
        return self.inner.retrieve(queries, min(k, self.n), filter).renamed(self.name)

    def documents(self, ids):
        return self.inner.documents(ids)

    def close(self) -> None:
        self.inner.close()


class Then(Retriever):
    """``retriever >> reranker``: the reranker reorders the retriever's top ``reranker.depth``."""

    def __init__(self, first: Retriever, stage: Reranker):
        if not isinstance(first, Retriever):
            raise WinnowError(f">> needs a retriever on its left, not {type(first).__name__}")
        if not isinstance(stage, Reranker):
            raise WinnowError(f">> needs a reranker on its right (rerank:MODEL), not {type(stage).__name__}; "
                              f"to combine two retrievers, fuse them with +")
        self.first, self.stage = first, stage
        self.name = f"{_label(first)} >> {stage.name}"
        self.score_floor = None

    def retrieve(self, queries: list[Query], k: int, filter=None) -> Run:
        candidates = self.first.retrieve(queries, self.stage.depth, filter)
        return self.stage.rerank(queries, candidates, self.first).cut(k).renamed(self.name)

    def documents(self, ids):
        return self.first.documents(ids)

    def close(self) -> None:
        self.first.close()
        self.stage.close()


class RerankCutoff(Reranker):
    """``reranker % n``: keep the reranked top ``n``."""

    def __init__(self, inner: Reranker, n: int):
        self.inner, self.n = inner, check_k(n, "the cutoff after %")
        self.depth = inner.depth
        self.name = f"{inner.name} % {self.n}"

    def rerank(self, queries: list[Query], run: Run, source: Retriever) -> Run:
        return self.inner.rerank(queries, run, source).cut(self.n)

    def close(self) -> None:
        self.inner.close()


class RerankChain(Reranker):
    """``a >> b`` of two rerankers: ``b`` reorders the top ``b.depth`` of ``a``'s order."""

    def __init__(self, first: Reranker, second: Reranker):
        if not isinstance(second, Reranker):
            raise WinnowError(f">> after a reranker needs another reranker, not {type(second).__name__}")
        self.first, self.second = first, second
        self.depth = first.depth
        self.name = f"{first.name} >> {second.name}"

    def rerank(self, queries: list[Query], run: Run, source: Retriever) -> Run:
        return self.second.rerank(queries, self.first.rerank(queries, run, source).cut(self.second.depth), source)

    def close(self) -> None:
        self.first.close()
        self.second.close()


class Fusion(Retriever):
    """Several retrievers fused into one ranking (see :mod:`winnow.fuse` for the methods).

    Args:
        retrievers: the inputs, each asked for ``max(k, depth)`` hits.
        method: a name in :data:`winnow.fuse.METHODS` (``rrf``, ``convex``, ``combsum``, ``combmnz``).
        params: the method's parameters (``weights``, ``norm``, ``k`` of RRF), for example tuned
            on a qrels split with :func:`winnow.fuse.tune`.
        depth: hits taken from each input.
    """

    def __init__(self, retrievers: Sequence[Retriever], method: str = "rrf", params: Mapping | None = None,
                 depth: int = DEFAULT_DEPTH):
        from winnow.fuse import check_params

        if len(retrievers) < 2 or not all(isinstance(r, Retriever) for r in retrievers):
            raise WinnowError("fusion needs at least two retrievers")
        self.retrievers, self.method = list(retrievers), method
        self.params = check_params(method, dict(params or {}), len(self.retrievers))
        self.depth = check_k(depth, "depth")
        shown = "".join(f",{key}={_show(v)}" for key, v in sorted(self.params.items()))
        self.name = f"{method}{':' + shown[1:] if shown else ''}({' + '.join(_label(r) for r in self.retrievers)})"
        self.score_floor = None

    @property
    def id_space(self) -> str | None:
        """The inputs' shared :attr:`~Retriever.id_space` (the fused hits keep their numbers),
        ``None`` unless every input has the same one."""
        spaces = {r.id_space for r in self.retrievers}
        return spaces.pop() if len(spaces) == 1 else None

    @staticmethod
    def of(a: Retriever, b: Retriever) -> "Fusion":
        """``a + b``: RRF of both, flattening an untuned ``+`` chain into one fusion."""
        parts = []
        for r in (a, b):
            plain = isinstance(r, Fusion) and r.method == "rrf" and not r.params
            parts.extend(r.retrievers if plain else [r])
        return Fusion(parts)

    def retrieve(self, queries: list[Query], k: int, filter=None) -> Run:
        from winnow.fuse import fuse

        runs = [r.retrieve(queries, max(k, self.depth), filter) for r in self.retrievers]
        floors = [r.score_floor for r in self.retrievers]
        return fuse(runs, self.method, floors=floors, cutoff=k, shared_docnos=self.id_space is not None,
                    **self.params).renamed(self.name)

    def documents(self, ids):
        """Each id's document from the first input that holds it."""
        found = list(self.retrievers[0].documents(ids))
        for r in self.retrievers[1:]:
            missing = [i for i, d in enumerate(found) if d is None]
            if not missing:
                break
            for i, doc in zip(missing, r.documents([ids[i] for i in missing])):
                found[i] = doc
        return found

    def with_params(self, params: Mapping) -> "Fusion":
        return Fusion(self.retrievers, self.method, params, self.depth)

    def close(self) -> None:
        for r in self.retrievers:
            r.close()


def _show(value) -> str:
    if isinstance(value, (list, tuple)):
        return "/".join(_show(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)
