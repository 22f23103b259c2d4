"""The HTTP API through FastAPI's test client: every endpoint, every validation and auth path."""

from __future__ import annotations

import pytest

import winnow
from tests.serve.conftest import AUTH, serve_docs

QUERY = "how does bm25 normalise document length"


def error(response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["type"] == kind
    assert body["error"]["message"]
    return body["error"]["message"]


# ---- search ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bm25", "learned", "hybrid"])
def test_search_get_and_post_answer_as_the_library_does(client, served, name):
    retriever = served[name] if isinstance(served[name], winnow.Retriever) else winnow.open(served[name])
    expected = retriever.search(QUERY, 5)
    got = client.get("/search", params={"q": QUERY, "k": 5, "retriever": name}).json()
    posted = client.post("/search", json={"query": QUERY, "k": 5, "retriever": name}).json()
    assert [h["id"] for h in got["hits"]] == list(expected.ids) == [h["id"] for h in posted["hits"]]
    assert [h["score"] for h in got["hits"]] == pytest.approx(expected.scores.tolist(), rel=1e-6)
    assert got["retriever"] == name and [h["rank"] for h in got["hits"]] == [1, 2, 3, 4, 5]


def test_the_first_served_retriever_is_the_default(client):
    assert client.get("/search", params={"q": QUERY}).json()["retriever"] == "bm25"


def test_hits_carry_title_and_snippet_with_the_matched_words_marked(client):
    assert client.get("/search", params={"q": QUERY, "k": 1}).json()["hits"][0]["snippet"] == []  # asked for only
    hit = client.get("/search", params={"q": QUERY, "k": 1, "snippets": True}).json()["hits"][0]
    assert hit["id"] == "d04" and hit["title"] == "Document length normalisation"
    marked = {s["text"].lower() for s in hit["title_segments"] + hit["snippet"] if s["match"]}
    assert {"document", "length", "normalisation", "bm25"} <= marked  # normalisation: the stemmer's match
    assert "".join(s["text"] for s in hit["title_segments"]) == hit["title"]
    assert not any(s["match"] for s in hit["snippet"] if s["text"].strip() in ("The", "of", "parameter"))


def test_search_reports_the_commit_it_read(client, bm25_index):
    assert client.get("/search", params={"q": QUERY}).json()["generation"] == winnow.open(bm25_index).index.generation


def test_filters_act_inside_the_top_k(client):
    docs = {d.id: d for d in serve_docs()}
    for flt in ['topic == "ranking"', '{"field": "topic", "op": "==", "value": "ranking"}']:
        hits = client.get("/search", params={"q": "document index ranking", "k": 20, "filter": flt}).json()["hits"]
        assert hits and all(docs[h["id"]].metadata["topic"] == "ranking" for h in hits)
    body = {"query": "document", "k": 20, "filter": {"field": "year", "op": ">=", "value": 2022}}
    hits = client.post("/search", json=body).json()["hits"]
    assert hits and all(docs[h["id"]].metadata["year"] >= 2022 for h in hits)


def test_batch_search_equals_one_search_per_query(client):
    queries = [QUERY, "posting lists", {"id": "q9", "text": "sparse model"}]
    body = client.post("/search/batch", json={"queries": queries, "k": 3}).json()
    assert [r["qid"] for r in body["results"]] == ["0", "1", "q9"]
    for r, q in zip(body["results"], [QUERY, "posting lists", "sparse model"]):
        assert r["ids"] == [h["id"] for h in client.get("/search", params={"q": q, "k": 3}).json()["hits"]]


# ---- explain --------------------------------------------------------------------------------------

def test_sparse_explanations_add_up_to_the_score(client):
    hits = client.get("/search", params={"q": QUERY, "k": 3, "explain": True}).json()["hits"]
    for hit in hits:
        why = hit["explanation"]
        assert sum(t["contribution"] for t in why["terms"]) == pytest.approx(hit["score"], rel=1e-5)
        assert all(t["contribution"] == pytest.approx(t["query_weight"] * t["impact"]) for t in why["terms"])
        assert all(t["expansion"] is False for t in why["terms"])  # BM25 adds no terms
    one = client.get("/explain", params={"q": QUERY, "id": hits[1]["id"]}).json()
    assert one == hits[1]["explanation"]


def test_learned_explanations_mark_expansion_terms(client, learned_index):
    hits = client.get("/search", params={"q": QUERY, "k": 5, "retriever": "learned", "explain": True}).json()["hits"]
    terms = [t for h in hits for t in h["explanation"]["terms"]]
    assert {t["expansion"] for t in terms} <= {True, False}
    searcher = winnow.open(learned_index)
    for hit in hits:
        doc = searcher.documents([hit["id"]])[0]
        from winnow.retrieve.explain import text_term_ids

        in_text = {searcher.index.vocabulary[t] for t in text_term_ids(searcher, f"{doc.title} {doc.text}")}
        for t in hit["explanation"]["terms"]:
            assert t["expansion"] == (t["term"] not in in_text)


def test_hybrid_explanations_give_each_inputs_share(client):
    hit = client.get("/search", params={"q": QUERY, "k": 1, "retriever": "hybrid", "explain": True}).json()["hits"][0]
    parts = hit["explanation"]["parts"]
    assert [p["retriever"] for p in parts] == [p["retriever"] for p in parts] and len(parts) == 2
    assert sum(p["contribution"] for p in parts) == pytest.approx(hit["score"], rel=1e-9)  # RRF is additive
    for p in parts:
        assert p["contribution"] == pytest.approx(1 / (60 + p["rank"]))
        assert p["explanation"]["terms"]


def test_explain_errors(client):
    error(client.get("/explain", params={"q": QUERY, "id": "no-such-doc"}), 404, "not_found")
    error(client.get("/explain", params={"q": QUERY}), 422, "invalid_request")


# ---- documents, health, stats, schema -------------------------------------------------------------

def test_documents_by_id(client):
    doc = client.get("/documents/d03").json()
    assert doc["title"] == "BM25 ranking" and doc["metadata"] == {"topic": "models", "year": 2017}
    error(client.get("/documents/nope"), 404, "not_found")
    error(client.get("/documents/d03", params={"retriever": "nope"}), 404, "unknown_retriever")


def test_health_lists_the_retrievers_and_their_filter_fields(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert [(r["name"], r["kind"]) for r in body["retrievers"]] == [("bm25", "bm25"), ("learned", "inference-free"),
                                                                     ("hybrid", "fusion")]
    assert body["retrievers"][0]["fields"] == {"topic": "keyword", "year": "integer"}


def test_stats_count_queries_and_give_latency_percentiles(client, bm25_index):
    before = {r["name"]: r["queries"] for r in client.get("/stats").json()["retrievers"]}
    client.get("/search", params={"q": QUERY, "retriever": "learned"})
    client.post("/search/batch", json={"queries": ["a", "b"], "retriever": "learned"})
    stats = client.get("/stats").json()
    learned = next(r for r in stats["retrievers"] if r["name"] == "learned")
    assert learned["queries"] == before["learned"] + 3
    assert learned["latency_ms"]["p50"] <= learned["latency_ms"]["p99"]
    index = next(r for r in stats["retrievers"] if r["name"] == "bm25")["indexes"][0]
    assert index["documents"] == 20 and index["generation"] >= 1 and index["bytes"] > 0


def test_openapi_schema_and_page(client):
    schema = client.get("/openapi.json").json()
    assert {"/search", "/search/batch", "/explain", "/documents/{doc_id}", "/health", "/stats"} <= set(schema["paths"])
    page = client.get("/")
    assert page.status_code == 200 and 'id="results"' in page.text
    assert client.get("/static/app.js").status_code == 200


# ---- limits and validation ------------------------------------------------------------------------

@pytest.mark.parametrize("params, status, kind", [
    ({"q": "x", "k": -1}, 400, "limit_exceeded"),
    ({"q": "x", "k": 1001}, 400, "limit_exceeded"),
    ({"q": "x", "k": "ten"}, 422, "invalid_request"),
    ({"q": "x" * 1001}, 413, "limit_exceeded"),
    ({"k": 3}, 422, "invalid_request"),
    ({"q": "x", "retriever": "../../etc"}, 404, "unknown_retriever"),
    ({"q": "x", "retriever": "/tmp"}, 404, "unknown_retriever"),
    ({"q": "x", "filter": "topic = 1"}, 400, "bad_filter"),
    ({"q": "x", "filter": "{not json"}, 400, "bad_filter"),
    ({"q": "document", "filter": "color == 1"}, 400, "bad_request"),
    ({"q": "x", "filter": "(" * 9 + "year > 1" + ")" * 9}, 400, "bad_filter"),
    ({"q": "x", "filter": "not " * 20 + "year > 1"}, 400, "bad_filter"),
    ({"q": "x", "filter": "year > 1 or " * 400 + "year > 1"}, 413, "limit_exceeded"),
])
def test_bad_search_requests_get_typed_4xx(client, params, status, kind):
    error(client.get("/search", params=params), status, kind)


@pytest.mark.parametrize("body, status, kind", [
    ({"query": 3}, 422, "invalid_request"),
    ({"query": "x", "k": True}, 422, "invalid_request"),
    ({"query": "x", "k": 2.5}, 422, "invalid_request"),
    ({"query": "x", "k": "5"}, 422, "invalid_request"),
    ({"query": "x", "unknown": 1}, 422, "invalid_request"),
    ({"query": "x", "filter": [1, 2]}, 422, "invalid_request"),
    ({"query": "x", "filter": {"field": "year"}}, 400, "bad_filter"),
    ({"query": "x", "filter": {"and": [{"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {
        "field": "year", "op": ">", "value": 1}}}}}}}}}}]}}, 400, "bad_filter"),
])
def test_bad_search_bodies_get_typed_4xx(client, body, status, kind):
    error(client.post("/search", json=body), status, kind)


def test_malformed_and_oversized_bodies(client):
    headers = {"content-type": "application/json"}
    error(client.post("/search", content=b"{nope", headers=headers), 422, "invalid_request")
    error(client.post("/search", content=b"[" * 100_000, headers=headers), 400, "invalid_request")
    error(client.post("/search", content=b" " * (4 * 2**20 + 1), headers=headers), 413, "body_too_large")


def test_batch_limits(client):
    error(client.post("/search/batch", json={"queries": ["x"] * 257}), 413, "limit_exceeded")
    error(client.post("/search/batch", json={"queries": ["x", "y" * 1001]}), 413, "limit_exceeded")
    error(client.post("/search/batch", json={"queries": [{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]}),
          400, "bad_request")


def test_limits_are_configurable(served):
    from fastapi.testclient import TestClient

    from winnow.serve import Limits, create_app

    with TestClient(create_app({"bm25": served["bm25"]}, limits=Limits(max_k=5, max_body_bytes=100))) as c:
        error(c.get("/search", params={"q": "x", "k": 6}), 400, "limit_exceeded")
        error(c.post("/search", json={"query": "x" * 200}), 413, "body_too_large")


def test_unknown_routes_and_methods_are_typed(client):
    error(client.get("/nope"), 404, "not_found")
    error(client.put("/search"), 405, "method_not_allowed")


# ---- updates and auth ------------------------------------------------------------------------------

NEW = {"id": "z1", "title": "Zebra stripes", "text": "Zebras graze on the savanna.", "metadata": {"topic": "zoo"}}


def test_a_server_without_token_is_read_only(client):
    error(client.post("/documents", json={"documents": [NEW]}, headers=AUTH), 403, "read_only")
    error(client.delete("/documents/d01", headers=AUTH), 403, "read_only")


@pytest.mark.parametrize("headers, status, kind", [
    ({}, 401, "unauthorized"),
    ({"Authorization": "Basic dGVzdA=="}, 401, "unauthorized"),
    ({"Authorization": "Bearer"}, 401, "unauthorized"),
    ({"Authorization": "Bearer wrong"}, 403, "forbidden"),
])
def test_updates_need_the_token(write_client, headers, status, kind):
    response = write_client.post("/documents", json={"documents": [NEW]}, headers=headers)
    error(response, status, kind)
    if status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    error(write_client.delete("/documents/d01", headers=headers), status, kind)
    assert write_client.get("/search", params={"q": "zebras"}).json()["hits"] == []


def test_add_update_and_delete_are_visible_to_the_next_request(write_client, writable):
    before = write_client.get("/search", params={"q": "zebras"}).json()
    added = write_client.post("/documents", json={"documents": [NEW]}, headers=AUTH).json()
    assert added["added"] == 1 and added["generation"] > before["generation"]
    after = write_client.get("/search", params={"q": "zebras"}).json()
    assert [h["id"] for h in after["hits"]] == ["z1"] and after["generation"] == added["generation"]
    assert write_client.get("/documents/z1").json()["title"] == "Zebra stripes"
    changed = {**NEW, "text": "Zebras and okapis."}
    write_client.post("/documents", json={"documents": [changed]}, headers=AUTH)
    assert write_client.get("/documents/z1").json()["text"] == "Zebras and okapis."
    assert [h["id"] for h in write_client.get("/search", params={"q": "okapis"}).json()["hits"]] == ["z1"]
    deleted = write_client.delete("/documents/z1", headers=AUTH).json()
    assert deleted["deleted"] == 1
    assert write_client.get("/search", params={"q": "zebras"}).json()["hits"] == []
    error(write_client.delete("/documents/z1", headers=AUTH), 404, "not_found")
    assert winnow.open(writable).index.generation == deleted["generation"]  # durable: on disk when answered


def test_a_commit_from_another_writer_is_picked_up_without_restart(write_client, writable):
    from winnow.types import Document

    with winnow.open_writer(writable) as w:
        w.add([Document("ext", "an okapi in the forest")])
        generation = w.commit()
    body = write_client.get("/search", params={"q": "okapi"}).json()
    assert body["generation"] == generation and [h["id"] for h in body["hits"]] == ["ext"]


def test_update_validation(write_client, served):
    error(write_client.post("/documents", json={"bad": 1}), 401, "unauthorized")  # the token is checked first
    error(write_client.post("/documents", json={"documents": [{"id": "", "text": "x"}]}, headers=AUTH),
          422, "invalid_request")
    error(write_client.post("/documents", json={"documents": [{"text": "x"}]}, headers=AUTH), 422, "invalid_request")
    error(write_client.post("/documents", json={"documents": [NEW] * 1001}, headers=AUTH), 413, "limit_exceeded")
    error(write_client.post("/documents", json={"documents": [NEW], "retriever": "x"}, headers=AUTH),
          404, "unknown_retriever")


def test_a_pipeline_is_not_writable(served):
    from fastapi.testclient import TestClient

    from winnow.serve import create_app

    with TestClient(create_app({"hybrid": served["hybrid"]}, token="t")) as c:
        error(c.post("/documents", json={"documents": [NEW]}, headers={"Authorization": "Bearer t"}),
              409, "not_an_index")


def test_every_answer_reads_one_whole_commit_while_a_writer_commits(write_client, writable):
    """Readers racing a writer: each answer holds exactly the documents of the commit it names."""
    import threading

    from winnow.types import Document

    base = winnow.open(writable).index.generation
    stop = threading.Event()

    def write():
        with winnow.open_writer(writable) as w:
            for i in range(12):
                w.add([Document(f"g{i}", f"gnu number {i}")])
                w.commit()
        stop.set()

    writer = threading.Thread(target=write)
    writer.start()
    while not stop.is_set():
        body = write_client.get("/search", params={"q": "gnu", "k": 100}).json()
        n = body["generation"] - base
        assert sorted(h["id"] for h in body["hits"]) == sorted(f"g{i}" for i in range(n))
    writer.join()
    assert write_client.get("/search", params={"q": "gnu", "k": 100}).json()["generation"] == base + 12


def test_workers_build_the_app_from_the_environment(bm25_index, monkeypatch):
    import json

    from fastapi.testclient import TestClient

    from winnow.serve.app import CONFIG_ENV, app_from_env

    monkeypatch.setenv(CONFIG_ENV, json.dumps({"served": {"main": str(bm25_index)}, "token": None,
                                               "limits": {"max_k": 7}}))
    with TestClient(app_from_env()) as c:
        assert [r["name"] for r in c.get("/health").json()["retrievers"]] == ["main"]
        error(c.get("/search", params={"q": "x", "k": 8}), 400, "limit_exceeded")
