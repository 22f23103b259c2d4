"""Answering ``/search``: one query's hits as JSON, and a short way in for plain ``GET /search``.

Hits come from the :class:`~winnow.serve.batching.Batcher`, so concurrent queries share batch
calls. The response is encoded once with orjson (the routes' response models document it; a
ready response is not validated again). :class:`SearchShortcut` answers well-formed
``GET /search`` requests before FastAPI's routing: for a BM25 query, dependency solving,
routing and response handling cost several times the search itself. Any request it does not
fully understand goes on to the FastAPI route, which validates it and answers errors alike.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl

from winnow.errors import WinnowError, require
from winnow.serve.batching import Answer, Batcher
from winnow.serve.limits import ApiError, Limits, check_k, check_query, parse_filter
from winnow.serve.served import Catalog

orjson = require("orjson", "serve")
SNIPPET_CHARS = 280
JSON = "application/json"
_PARAMS = {"q", "k", "retriever", "filter", "explain", "snippets"}
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False, "on": True, "off": False,
          "t": True, "f": False, "y": True, "n": False}  # what FastAPI reads as a bool
_INT = re.compile(r"-?[0-9]{1,9}")


async def search_json(catalog: Catalog, limits: Limits, batcher: Batcher, query: str, k: int,
                      retriever: str | None = None, filter=None, explain: bool = False,
                      snippets: bool = False) -> bytes:
    """The ``/search`` response body for one query (see :class:`~winnow.serve.schemas.SearchResponse`).

    Titles, snippets and explanations, when asked for, are added off the event loop from the
    commit that found the hits.

    Raises:
        ApiError: a request over the limits, an unknown retriever, a bad filter.
    """
    entry = catalog.get(retriever)
    query, k = check_query(query, limits), check_k(k, limits)
    flt = parse_filter(filter, limits)
    key = filter if filter is None or isinstance(filter, str) else json.dumps(filter, sort_keys=True)
    answer = await batcher.search(entry, query, k, key, flt)
    if snippets or explain:
        from starlette.concurrency import run_in_threadpool

        hits = await run_in_threadpool(_annotated, answer, query, snippets, explain)
    else:
        hits = [{"rank": rank, "id": doc_id, "score": score, "title": "", "title_segments": [], "snippet": [],
                 "explanation": None} for rank, (doc_id, score) in enumerate(answer.hits, 1)]
    return orjson.dumps({"retriever": entry.name, "query": query, "k": k, "hits": hits,
                         "took_ms": round(answer.seconds * 1000, 3), "generation": answer.generation})


def _annotated(answer: Answer, query: str, snippets: bool, explain: bool) -> list[dict]:
    """The hits with their titles and marked snippets and/or explanations (as asked)."""
    from winnow.serve.schemas import Hit
    from winnow.serve.snippets import Highlighter

    retriever, hits = answer.retriever, answer.hits
    docs = documents(retriever, list(hits.ids), required=False) if snippets else [None] * len(hits)
    highlight = Highlighter(answer.sparse[0] if answer.sparse else None, query)
    explanations = _explanations(retriever, query, hits) if explain else [None] * len(hits)
    out = []
    for rank, ((doc_id, score), doc, why) in enumerate(zip(hits, docs, explanations), 1):
        title, text = (doc.title, doc.text) if doc is not None else ("", "")
        out.append(Hit(rank=rank, id=doc_id, score=score, title=title, title_segments=highlight.segments(title),
                       snippet=highlight.segments(text, SNIPPET_CHARS), explanation=why).model_dump())
    return out


def _explanations(retriever, query: str, hits) -> list:
    """Explanations of every hit (the query encoded, and each fused input run, once for all)."""
    from winnow.pipeline.explain import explain_many
    from winnow.retrieve.explain import explain_docnos
    from winnow.retrieve.searcher import Searcher

    if isinstance(retriever, Searcher) and hits.docnos is not None:
        return [e.to_dict() for e in explain_docnos(retriever, query, hits.docnos)]
    try:
        return [e.to_dict() for e in explain_many(retriever, query, list(hits.ids))]
    except WinnowError:
        return [None] * len(hits)


def documents(retriever, ids: list[str], required: bool) -> list:
    """The stored documents ``ids`` (``None`` for each when the retriever stores none, unless
    ``required``: then a 404)."""
    try:
        return retriever.documents(ids)
    except WinnowError as exc:
        if required:
            raise ApiError(404, "no_documents", str(exc)) from None
        return [None] * len(ids)


class SearchShortcut:
    """ASGI middleware: answers a plain ``GET /search`` itself, and passes every other request on.

    Plain means each parameter at most once, all of them known, ``k`` an integer and the flags
    booleans as FastAPI spells them; anything else goes to the route (which answers its 422).
    """

    def __init__(self, app, catalog: Catalog, limits: Limits, batcher: Batcher):
        self.app, self.catalog, self.limits, self.batcher = app, catalog, limits, batcher

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/search":
            return await self.app(scope, receive, send)
        params = _plain(scope["query_string"])
        if params is None:
            return await self.app(scope, receive, send)
        try:
            status, body = 200, await search_json(self.catalog, self.limits, self.batcher, **params)
        except ApiError as exc:
            status, body = exc.status, orjson.dumps(exc.body())
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _plain(query_string: bytes) -> dict | None:
    """The arguments of :func:`search_json` from a plain query string (``None``: not plain)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)  # as Starlette reads it
    given = dict(pairs)
    if len(given) != len(pairs) or not given.keys() <= _PARAMS or "q" not in given:
        return None
    out = {"query": given["q"], "retriever": given.get("retriever"), "filter": given.get("filter")}
    if "k" in given:
        if not _INT.fullmatch(given["k"]):
            return None
        out["k"] = int(given["k"])
    else:
        out["k"] = 10
    for flag in ("explain", "snippets"):
        if flag in given:
            value = _BOOLS.get(given[flag].lower())
            if value is None:
                return None
            out[flag] = value
    return out
