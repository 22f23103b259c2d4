"""Dynamic batching and the short way in for plain GET /search: answers as if each query came alone."""

from __future__ import annotations

import asyncio
import json

import pytest

import winnow
from winnow.errors import WinnowError
from winnow.serve.batching import Batcher, Batching
from winnow.serve.limits import ApiError
from winnow.serve.served import Catalog

QUERIES = ["how does bm25 normalise document length", "learned sparse retrieval", "index compression",
           "ranking models", "document", "query expansion with pseudo relevance", "zzz unmatched words"] * 3


def gathered(batcher: Batcher, entry, queries: list[str], k: int, flt=None, key=None) -> list:
    async def run():
        return await asyncio.gather(*(batcher.search(entry, q, k, key, flt) for q in queries))
    return asyncio.run(run())


@pytest.mark.parametrize("name", ["bm25", "learned", "hybrid"])
def test_concurrent_queries_are_answered_in_batches_with_the_hits_of_one_search_each(served, name):
    catalog = Catalog({name: served[name]})
    entry = catalog.get(name)
    answers = gathered(Batcher(Batching(max_queries=8)), entry, QUERIES, 5)
    assert max(a.batch for a in answers) == 8  # all queued at once: full batches, then the rest
    retriever = entry.current()
    for query, answer in zip(QUERIES, answers):
        expected = retriever.search(query, 5)
        assert answer.hits.ids == expected.ids
        assert answer.hits.scores.tolist() == expected.scores.tolist()
    assert entry.queries == len(QUERIES) and entry.errors == 0


def test_queries_with_different_k_or_filter_are_batched_apart(served):
    entry = Catalog({"bm25": served["bm25"]}).get("bm25")
    batcher = Batcher(Batching())

    async def run():
        return await asyncio.gather(batcher.search(entry, "document", 3, None, None),
                                    batcher.search(entry, "document", 7, None, None),
                                    batcher.search(entry, "document", 7, 'topic == "ranking"', 'topic == "ranking"'))
    few, many, filtered = asyncio.run(run())
    assert (len(few.hits), len(many.hits)) == (3, 7) and many.hits.ids[:3] == few.hits.ids
    assert filtered.hits.ids == entry.current().search("document", 7, filter='topic == "ranking"').ids


def test_a_refused_batch_fails_each_of_its_requests_and_the_next_batch_runs(served):
    entry = Catalog({"bm25": served["bm25"]}).get("bm25")
    batcher = Batcher(Batching())

    async def run():
        bad = [batcher.search(entry, q, 5, "nope", "missing_field == 1") for q in QUERIES[:3]]
        return await asyncio.gather(*bad, batcher.search(entry, QUERIES[0], 5, None, None), return_exceptions=True)
    *refused, ok = asyncio.run(run())
    assert all(isinstance(e, ApiError) and e.status == 400 for e in refused)
    assert ok.hits.ids == entry.current().search(QUERIES[0], 5).ids
    assert entry.errors == 3


def test_a_small_batch_waits_for_company_when_told_to(served):
    entry = Catalog({"bm25": served["bm25"]}).get("bm25")
    batcher = Batcher(Batching(max_queries=64, wait_ms=50))

    async def run():
        first = asyncio.ensure_future(batcher.search(entry, QUERIES[0], 5, None, None))
        await asyncio.sleep(0.01)  # arrives while the first waits
        return await asyncio.gather(first, batcher.search(entry, QUERIES[1], 5, None, None))
    a, b = asyncio.run(run())
    assert a.batch == b.batch == 2


@pytest.mark.parametrize("bad", [{"max_queries": 0}, {"max_queries": 2.5}, {"wait_ms": -1}, {"wait_ms": True}])
def test_batching_bounds_are_checked(bad):
    with pytest.raises(WinnowError):
        Batching(**bad)


def test_concurrent_http_requests_get_the_hits_of_sequential_ones(served):
    httpx = pytest.importorskip("httpx")
    from winnow.serve import create_app

    app = create_app(served)

    async def fetch(http, q, name):
        return (await http.get("/search", params={"q": q, "k": 5, "retriever": name})).json()

    async def run(concurrent: bool):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://winnow") as http:
            calls = [(q, name) for q in QUERIES for name in ("bm25", "hybrid")]
            if concurrent:
                return await asyncio.gather(*(fetch(http, q, n) for q, n in calls))
            return [await fetch(http, q, n) for q, n in calls]
    together, alone = asyncio.run(run(True)), asyncio.run(run(False))
    assert [[(h["id"], h["score"]) for h in r["hits"]] for r in together] == \
           [[(h["id"], h["score"]) for h in r["hits"]] for r in alone]
    assert all(r["hits"] for r in together[:2])


@pytest.mark.parametrize("params", [
    {"q": "document", "k": "3", "explain": "true"},
    {"q": "document", "k": "3", "snippets": "yes", "retriever": "learned"},
    {"q": "document", "k": "3", "filter": 'topic == "ranking"'},
])
def test_the_short_way_in_answers_as_the_route_does(client, params):
    shortcut = client.get("/search", params=params).json()  # plain: answered before routing
    route = client.get("/search", params={**params, "q": [params["q"]] * 2}).json()  # a repeated q: the route's
    assert {k: v for k, v in shortcut.items() if k != "took_ms"} == {k: v for k, v in route.items() if k != "took_ms"}
    body = {"query": params["q"], "k": 3, "retriever": params.get("retriever"), "filter": params.get("filter"),
            "explain": params.get("explain") == "true", "snippets": params.get("snippets") == "yes"}
    posted = client.post("/search", json=body).json()
    assert json.dumps(posted["hits"]) == json.dumps(shortcut["hits"])


@pytest.mark.parametrize("query, status, kind", [
    ("q=x&k=-1", 400, "limit_exceeded"), ("q=x&k=99999", 400, "limit_exceeded"), ("q=x&retriever=nope", 404,
     "unknown_retriever"), ("q=x&filter=year%20%3E%3E", 400, "bad_filter"), ("q=x&k=2.5", 422, "invalid_request"),
    ("q=x&explain=maybe", 422, "invalid_request"), ("k=3", 422, "invalid_request"),
])
def test_the_short_way_in_refuses_as_the_route_does(client, query, status, kind):
    response = client.get(f"/search?{query}")
    assert response.status_code == status and response.json()["error"]["type"] == kind
    assert response.headers["content-type"] == "application/json"
