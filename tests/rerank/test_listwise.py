"""The listwise LLM reranker against a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from winnow.errors import WinnowError
from winnow.rerank import build_reranker
from winnow.rerank.listwise import ListwiseReranker, parse_permutation, sliding_windows
from winnow.types import Document, Hits, Query, Run

pytest.importorskip("httpx")

PASSAGE = re.compile(r"^\[(\d+)\] (.*)$", re.M)


class FakeChat(BaseHTTPRequestHandler):
    """Answers chat completions by the script the query names (``mode:...`` in the query text):

    ``sort``: passages by the number after ``grade`` in their text, highest first;
    ``reverse``: ``[n] > ... > [1]``; ``answer=TEXT``: TEXT itself; ``status=N``: HTTP N;
    ``sleep``: answers after 2 s; ``broken``: a body that is not a chat completion.
    """

    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeChat.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        prompt = body["messages"][-1]["content"]
        mode = re.search(r"mode:(\S+?)\.?\n", prompt).group(1)
        passages = PASSAGE.findall(prompt.split("\n\n")[1])
        if mode.startswith("status="):
            return self._reply(int(mode.split("=")[1]), b"server error")
        if mode == "sleep":
            time.sleep(2)
        if mode == "broken":
            return self._reply(200, b'{"unexpected": true}')
        if mode == "sort":
            grades = {int(i): int(re.search(r"grade (\d+)", text).group(1)) for i, text in passages}
            answer = " > ".join(f"[{i}]" for i in sorted(grades, key=lambda i: -grades[i]))
        elif mode == "reverse":
            answer = " > ".join(f"[{i}]" for i in range(len(passages), 0, -1))
        else:
            answer = mode.split("=", 1)[1].replace("_", " ")
        reply = {"id": "x", "object": "chat.completion", "model": body["model"],
                 "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}]}
        self._reply(200, json.dumps(reply).encode())

    def _reply(self, status: int, data: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeChat)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


class Source:
    """Documents ``g0..gN`` whose text carries a grade the fake server sorts by."""

    def __init__(self, grades):
        self.docs = {f"g{i}": Document(f"g{i}", f"passage with grade {g}") for i, g in enumerate(grades)}

    def documents(self, ids):
        return [self.docs.get(i) for i in ids]


def rerank(url, mode, ids, grades=(), **options):
    reranker = ListwiseReranker(url, model="fake", **options)
    query = Query("q", f"mode:{mode}\n")
    hits = Hits(tuple(ids), np.arange(len(ids), 0, -1, dtype=np.float64), None, "q")
    return reranker.rerank([query], Run([hits]), Source(grades or [0] * len(ids)))["q"]


def test_parse_permutation_repairs_answers():
    assert parse_permutation("[3] > [1] > [2]", 3) == [2, 0, 1]
    assert parse_permutation("[2] > [2] > [9] > [0] > [3]", 4) == [1, 2, 0, 3]
    assert parse_permutation("3 > 1", 3) == [2, 0, 1]
    assert parse_permutation("The most relevant is [2].", 3) == [1, 0, 2]
    assert parse_permutation("I cannot rank these.", 3) is None
    assert parse_permutation("[7] > [8]", 3) is None


def test_sliding_windows_go_bottom_up():
    assert sliding_windows(100, 20, 10)[:2] == [(80, 100), (70, 90)] and sliding_windows(100, 20, 10)[-1] == (0, 20)
    assert sliding_windows(5, 20, 10) == [(0, 5)]
    assert sliding_windows(0, 20, 10) == []


def test_sorting_windows_bring_the_best_to_the_top(server):
    rng = np.random.default_rng(0)
    grades = rng.permutation(50).tolist()
    ids = [f"g{i}" for i in range(50)]
    FakeChat.requests.clear()
    out = rerank(server, "sort", ids, grades, window=10, step=5)
    best = sorted(range(50), key=lambda i: -grades[i])[:5]  # window - step candidates are guaranteed
    assert list(out.ids[:5]) == [f"g{i}" for i in best]
    assert sorted(out.ids) == sorted(ids) and np.all(np.diff(out.scores) < 0)
    assert len(FakeChat.requests) == len(sliding_windows(50, 10, 5))
    assert {r["path"] for r in FakeChat.requests} == {"/v1/chat/completions"}
    assert FakeChat.requests[0]["body"]["model"] == "fake" and FakeChat.requests[0]["auth"] is None


def test_one_window_reverse(server):
    out = rerank(server, "reverse", ["g0", "g1", "g2", "g3"])
    assert out.ids == ("g3", "g2", "g1", "g0")
    assert out.scores.tolist() == [4.0, 3.0, 2.0, 1.0]


def test_malformed_answers_never_drop_a_document(server, caplog):
    ids = ["g0", "g1", "g2", "g3", "g4"]
    assert rerank(server, "answer=[3]_>_[3]_>_[42]_>_[1]", ids).ids == ("g2", "g0", "g1", "g3", "g4")
    with caplog.at_level(logging.WARNING):
        assert rerank(server, "answer=I_would_rather_not", ids).ids == tuple(ids)
    assert "names no passage" in caplog.text


def test_missing_documents_stay_last(server):
    out = rerank(server, "reverse", ["g0", "gone", "g1", "g2"], grades=[0, 0, 0])
    assert out.ids == ("g2", "g1", "g0", "gone")


def test_http_errors_raise_or_keep_the_order(server, caplog):
    FakeChat.requests.clear()
    with pytest.raises(WinnowError, match="HTTP 500.*2 attempts|2 attempts.*HTTP 500"):
        rerank(server, "status=500", ["g0", "g1", "g2"], retries=1)
    assert len(FakeChat.requests) == 2
    with caplog.at_level(logging.WARNING):
        assert rerank(server, "status=503", ["g0", "g1", "g2"], retries=0, on_error="keep").ids == ("g0", "g1", "g2")
    assert "HTTP 503" in caplog.text
    with pytest.raises(WinnowError, match="not a chat completion"):
        rerank(server, "broken", ["g0", "g1"], retries=0)


def test_timeouts_raise(server):
    with pytest.raises(WinnowError, match="no answer within 0.5 s"):
        rerank(server, "sleep", ["g0", "g1"], timeout=0.5, retries=0)


def test_no_endpoint_is_a_clear_error():
    with pytest.raises(WinnowError, match="needs an OpenAI-compatible endpoint URL"):
        ListwiseReranker("")
    with pytest.raises(WinnowError, match="names no URL"):
        build_reranker("llm:")
    closed = ListwiseReranker("http://127.0.0.1:9/v1", retries=0, timeout=2)
    with pytest.raises(WinnowError, match="ConnectError.*check that an OpenAI-compatible server runs there"):
        closed.rank("q", ["a", "b"])


def test_spec_and_api_key(server, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "secret")
    reranker = build_reranker(f"llm:{server}:model=fake,window=4,step=2,depth=30,api_key_env=FAKE_KEY,on_error=keep")
    assert (reranker.window, reranker.step, reranker.depth, reranker.on_error) == (4, 2, 30, "keep")
    FakeChat.requests.clear()
    reranker.rank("mode:reverse\n", ["a", "b", "c"])
    assert FakeChat.requests[0]["auth"] == "Bearer secret"
    with pytest.raises(WinnowError, match="window >= 2 and step <= window"):
        build_reranker(f"llm:{server}:window=4,step=5")
