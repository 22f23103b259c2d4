"""The HTTP API and the search page: :func:`create_app` builds the FastAPI application.

Endpoints (the OpenAPI schema is at ``/openapi.json``, the page at ``/``)::

    GET  /search?q=...&k=10&retriever=bm25&filter=...&explain=true      POST /search
    POST /search/batch            GET /explain?q=...&id=...&retriever=...
    GET  /documents/{id}          POST /documents, DELETE /documents/{id}   (bearer token)
    GET  /health                  GET /stats

Example::

    from winnow.serve import create_app
    app = create_app({"bm25": "indexes/scifact", "hybrid": "pipelines/scifact-hybrid"})
    # uvicorn.run(app), or: winnow serve indexes/scifact --name hybrid=pipelines/scifact-hybrid
"""

from __future__ import annotations

import hmac
import json
import os
import time
from pathlib import Path
from typing import Optional

from winnow.errors import WinnowError, require
from winnow.serve.batching import Batcher, Batching
from winnow.serve.limits import ApiError, Limits, check_batch, check_k, check_query, parse_filter
from winnow.serve.schemas import (BatchRequest, BatchResponse, DocumentModel, DocumentsRequest,
                                  ErrorResponse, ExplanationModel, Health, RetrieverInfo, SearchRequest,
                                  SearchResponse, WriteResponse)
from winnow.serve.served import Catalog, Served, kind_of, sparse_parts

require("fastapi", "serve")
orjson = require("orjson", "serve")

from fastapi import Depends, FastAPI, Query  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import FileResponse, JSONResponse, Response  # noqa: E402
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer  # noqa: E402
from fastapi.staticfiles import StaticFiles  # noqa: E402
from starlette.exceptions import HTTPException  # noqa: E402

from winnow.serve.search import JSON, SearchShortcut, documents, search_json  # noqa: E402

STATIC = Path(__file__).resolve().parent / "static"
CONFIG_ENV = "WINNOW_SERVE_CONFIG"  # how `winnow serve --workers N` hands its settings to each worker
ERRORS = {status: {"model": ErrorResponse} for status in (400, 401, 403, 404, 409, 413, 422, 501)}


def create_app(served: dict, token: str | None = None, limits: Limits | None = None,
               batching: Batching | None = None) -> FastAPI:
    """The application serving ``served`` (name -> winnow folder or :class:`~winnow.Retriever`).

    Args:
        served: the retrievers by the name requests use; the first is the default. Folders are
            opened here; no request can name another.
        token: enables ``POST /documents`` and ``DELETE /documents/{id}`` for requests carrying
            ``Authorization: Bearer TOKEN`` (read-only without one).
        limits: request bounds (defaults: :class:`~winnow.serve.limits.Limits`).
        batching: how concurrent ``/search`` queries are batched (defaults:
            :class:`~winnow.serve.batching.Batching`).
    """
    import winnow

    limits = limits or Limits()
    catalog = Catalog(served)
    batcher = Batcher(batching or Batching())
    app = FastAPI(title="winnow", version=winnow.__version__, responses=ERRORS,
                  description="Search, explain and update winnow indexes and pipelines.")
    app.state.catalog, app.state.limits = catalog, limits
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(SearchShortcut, catalog=catalog, limits=limits, batcher=batcher)
    _error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    writes = Writes()
    bearer = HTTPBearer(auto_error=False, description="The token `winnow serve --token` was started with.")

    def authorized(credentials: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
        """Checked before the body is: a request without the token learns nothing else."""
        if token is None:
            raise ApiError(403, "read_only", "this server is read-only; start it with --token to accept changes")
        if credentials is None or not credentials.credentials:
            raise ApiError(401, "unauthorized", "send 'Authorization: Bearer TOKEN'")
        if not hmac.compare_digest(credentials.credentials.encode(), token.encode()):
            raise ApiError(403, "forbidden", "wrong token")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/health", response_model=Health)
    def health():
        return Health(status="ok", retrievers=[_info(e) for e in catalog.entries.values()])

    @app.get("/stats")
    def stats():
        """Index sizes, commit generations, query counts and latency percentiles (this worker's)."""
        return {**catalog.stats(), "limits": limits.to_dict(), "writable": token is not None}

    @app.get("/search", response_model=SearchResponse)
    async def search_get(q: str = Query(..., description="The query text."), k: int = 10,
                         retriever: Optional[str] = None,
                         filter: Optional[str] = Query(None, description="A filter (text grammar or JSON form)."),
                         explain: bool = False, snippets: bool = False):
        """Plain requests are answered before routing (:class:`~winnow.serve.search.SearchShortcut`)."""
        return Response(await search_json(catalog, limits, batcher, q, k, retriever, filter, explain, snippets),
                        media_type=JSON)

    @app.post("/search", response_model=SearchResponse)
    async def search_post(body: SearchRequest):
        return Response(await search_json(catalog, limits, batcher, body.query, body.k, body.retriever, body.filter,
                                          body.explain, body.snippets), media_type=JSON)

    @app.post("/search/batch", response_model=BatchResponse)
    def search_batch(body: BatchRequest):
        from winnow.types import Query as Q

        entry = catalog.get(body.retriever)
        check_batch(len(body.queries), limits)
        queries = [Q(str(i), q) if isinstance(q, str) else Q(q.id, q.text) for i, q in enumerate(body.queries)]
        for q in queries:
            check_query(q.text, limits)
        k, flt = check_k(body.k, limits), parse_filter(body.filter, limits)
        retriever = entry.current()
        start = time.perf_counter()
        run = _engine(entry, lambda: retriever.search_batch(queries, k, filter=flt), len(queries))
        took = time.perf_counter() - start
        return Response(orjson.dumps({"retriever": entry.name, "k": k, "took_ms": round(took * 1000, 3),
                      "results": [{"qid": q, "ids": list(h.ids), "scores": h.scores.tolist()} for q, h in run.items()]}), media_type=JSON)

    @app.get("/explain", response_model=ExplanationModel)
    def explain(q: str = Query(..., description="The query text."),
                id: str = Query(..., description="The document's id."), retriever: Optional[str] = None):
        """Why one document scored what it did: per term (sparse) or per fused input (hybrid)."""
        from winnow.pipeline.explain import explain as explain_hit

        entry = catalog.get(retriever)
        check_query(q, limits)
        current = entry.current()
        try:
            return explain_hit(current, q, id).to_dict()
        except WinnowError as exc:
            raise _explain_error(exc) from None

    @app.get("/documents/{doc_id:path}", response_model=DocumentModel)
    def document(doc_id: str, retriever: Optional[str] = None):
        entry = catalog.get(retriever)
        doc = documents(entry.current(), [doc_id], required=True)[0]
        if doc is None:
            raise ApiError(404, "not_found", f"{entry.name} holds no document {doc_id!r}")
        return DocumentModel(id=doc.id, text=doc.text, title=doc.title, metadata=dict(doc.metadata))

    @app.post("/documents", response_model=WriteResponse, dependencies=[Depends(authorized)])
    def adddocuments(body: DocumentsRequest):
        """Add documents, replacing any with the same id; answered once the commit is durable."""
        if len(body.documents) > limits.max_documents:
            raise ApiError(413, "limit_exceeded", f"{len(body.documents):,} documents in one request; the limit "
                                                  f"is {limits.max_documents:,}")
        from winnow.types import Document

        docs = [Document(d.id, d.text, d.title, d.metadata) for d in body.documents]
        entry = catalog.get(body.retriever)
        generation = writes.apply(entry, update=docs)
        return WriteResponse(retriever=entry.name, generation=generation, added=len(docs))

    @app.delete("/documents/{doc_id:path}", response_model=WriteResponse, dependencies=[Depends(authorized)])
    def delete_document(doc_id: str, retriever: Optional[str] = None):
        """Delete one document; answered once the commit is durable."""
        entry = catalog.get(retriever)
        if documents(entry.current(), [doc_id], required=False)[0] is None:
            raise ApiError(404, "not_found", f"{entry.name} holds no document {doc_id!r}")
        generation = writes.apply(entry, delete=[doc_id])
        return WriteResponse(retriever=entry.name, generation=generation, deleted=1)

    return app


def app_from_env() -> FastAPI:
    """The application described by ``$WINNOW_SERVE_CONFIG`` (what each ``--workers`` process runs)."""
    config = json.loads(os.environ[CONFIG_ENV])
    return create_app(config["served"], config.get("token"), Limits(**config.get("limits", {})),
                      Batching(**config.get("batching", {})))


def serve(served: dict[str, str], host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
          token: str | None = None, limits: Limits | None = None, batching: Batching | None = None) -> None:
    """Run the server (blocks). Workers share the indexes' memory maps through the page cache.

    Kernels' OpenMP threads sleep between calls (``OMP_WAIT_POLICY=PASSIVE`` unless the
    environment says otherwise): a server runs many small calls, and threads spinning after each
    one would burn the cores its requests need.
    """
    from winnow.api import folder_format

    uvicorn = require("uvicorn", "serve")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for path in served.values():
        folder_format(path)  # refuse a wrong folder before any worker starts
    os.environ[CONFIG_ENV] = json.dumps({"served": {n: str(Path(p).resolve()) for n, p in served.items()},
                                         "token": token, "limits": (limits or Limits()).to_dict(),
                                         "batching": (batching or Batching()).to_dict()})
    uvicorn.run("winnow.serve.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False)


def _engine(entry: Served, call, queries: int = 1):
    """Run a retrieval, counting it; winnow's refusals (a filter on a field the index lacks) are 400s."""
    start = time.perf_counter()
    try:
        result = call()
    except WinnowError as exc:
        entry.record(time.perf_counter() - start, queries, failed=True)
        raise ApiError(400, "bad_request", str(exc)) from None
    entry.record(time.perf_counter() - start, queries)
    return result


def _explain_error(exc: WinnowError) -> ApiError:
    from winnow.retrieve.explain import UnknownDocument

    if isinstance(exc, UnknownDocument):
        return ApiError(404, "not_found", str(exc))
    return ApiError(400, "cannot_explain", str(exc))


def _info(entry: Served) -> RetrieverInfo:
    retriever = entry.current()
    sparse = sparse_parts(retriever)
    fields = sparse[0].index.field_types() if sparse else {}
    return RetrieverInfo(name=entry.name, retriever=retriever.name, kind=kind_of(retriever),
                         writable=_writable(entry), fields=fields)


def _writable(entry: Served) -> bool:
    from winnow.retrieve.searcher import Searcher

    return entry.path is not None and isinstance(entry.current(), Searcher)


class Writes:
    """Serialises this process's writes per index and keeps each index's document encoder loaded."""

    WAIT_S = 10.0  # how long a write waits for another process's writer before answering 409

    def __init__(self):
        import threading

        self.locks: dict[str, threading.Lock] = {}
        self.encoders: dict[str, object] = {}
        self._guard = threading.Lock()

    def apply(self, entry: Served, update: list | None = None, delete: list[str] | None = None) -> int:
        """Replace (or add) the documents ``update`` and delete the ids ``delete`` in the entry's index,
        then commit: the commit is fsynced and renamed into place, so it is durable once this returns."""
        import threading

        if not _writable(entry):
            raise ApiError(409, "not_an_index", f"{entry.name} is not an index folder; send changes to one of "
                                                f"its indexes")
        with self._guard:
            lock = self.locks.setdefault(entry.name, threading.Lock())
        with lock:
            writer = self._writer(entry)
            try:
                if delete:
                    writer.delete(delete)
                if update:
                    writer.update(update)
                    self.encoders[entry.name] = writer.encoder  # loaded now: later writers reuse it
                generation = writer.commit()
            except WinnowError as exc:
                raise ApiError(409, "write_failed", str(exc)) from None
            finally:
                writer.close()
        entry.current()  # pick the new commit up now
        return generation

    def _writer(self, entry: Served):
        import winnow

        encoder = self.encoders.get(entry.name) or _in_process_encoder(entry.current())
        deadline = time.monotonic() + self.WAIT_S
        while True:  # another worker may hold the index's write lock for a moment
            try:
                return winnow.open_writer(entry.path, encoder)
            except WinnowError as exc:
                if time.monotonic() > deadline:
                    raise ApiError(409, "index_busy", str(exc)) from None
                time.sleep(0.02)


def _in_process_encoder(searcher):
    """BM25's document encoder analysing in this process: forking analysis workers from a server's
    threads can deadlock the child (``None``: the writer builds the index's encoder itself)."""
    from winnow.encode.registry import build_encoder

    spec = searcher.index.manifest.get("spec")
    if searcher.index.encoder_kind != "bm25" or not spec:
        return None
    return build_encoder(spec, workers="1")


def _error_handlers(app: FastAPI) -> None:
    def respond(status: int, kind: str, message: str, headers: dict | None = None) -> JSONResponse:
        return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def api_error(request, exc: ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return respond(exc.status, exc.kind, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors())
        return respond(422, "invalid_request", problems[:2000])

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        if isinstance(exc.__cause__, _TooLarge):  # FastAPI wraps errors raised while it reads the body
            return respond(413, "body_too_large", f"request body over {app.state.limits.max_body_bytes:,} bytes")
        kinds = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed"}
        return respond(exc.status_code, kinds.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(RecursionError)
    async def too_deep(request, exc: RecursionError):
        return respond(400, "limit_exceeded", "request nested too deeply")


class BodyLimit:
    """ASGI middleware: refuse a request body over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            return await self._refuse(send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise _TooLarge
            return message

        started = False

        async def tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send):
        body = json.dumps({"error": {"type": "body_too_large",
                                     "message": f"request body over {self.max_bytes:,} bytes"}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
