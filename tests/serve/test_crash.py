"""A server killed with SIGKILL during a stream of updates loses no acknowledged update.

``winnow serve`` runs in a subprocess on 127.0.0.1; a client streams ``POST /documents`` and
``DELETE /documents/{id}``, and the server is killed while requests are in flight. Restarted on
the same folder it serves the newest commit, which holds every update that was acknowledged.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.serve.conftest import AUTH, TOKEN
from tests.serve.test_page import free_port

httpx = pytest.importorskip("httpx")

START = "from winnow.cli.app import main; main()"


def start(folder, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", START, "serve", str(folder), "--name", f"main={folder}",
                             "--port", str(port), "--token", TOKEN], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("the server did not answer /health within 60 s")


def stream_updates(url: str, first: int, acked: dict, deleted: set, stop: threading.Event) -> None:
    """Add documents (and delete every fifth one added before) until the server dies or ``stop``."""
    with httpx.Client(base_url=url, headers=AUTH, timeout=30) as client:
        i = first
        while not stop.is_set():
            victim = None
            try:
                if i % 5 == 4 and acked:
                    victim = sorted(acked)[len(acked) // 2]
                    r = client.delete(f"/documents/{victim}", params={"retriever": "main"})
                    if r.status_code == 200:
                        acked.pop(victim)
                        deleted.add(victim)
                    victim = None
                doc = {"id": f"u{i}", "title": f"update {i}", "text": f"zebra number {i} crossed the river"}
                r = client.post("/documents", json={"documents": [doc], "retriever": "main"})
            except httpx.TransportError:
                # killed mid-request: that update was never acknowledged, so it may or may not have
                # landed; a document whose deletion was in flight is neither kept nor gone for sure
                if victim is not None:
                    acked.pop(victim, None)
                return
            assert r.status_code == 200, r.text
            acked[doc["id"]] = r.json()["generation"]
            i += 1


def kill_during_updates(folder, port: int, first: int, acked: dict, deleted: set) -> None:
    proc = start(folder, port)
    stop = threading.Event()
    before = len(acked)
    writer = threading.Thread(target=stream_updates, args=(f"http://127.0.0.1:{port}", first, acked, deleted, stop))
    writer.start()
    while len(acked) < before + 4 and writer.is_alive():
        time.sleep(0.01)
    time.sleep(random.uniform(0.0, 0.2))  # somewhere inside a later request
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    writer.join(30)


@pytest.mark.slow
def test_sigkill_during_updates_loses_no_acknowledged_update(writable):
    import winnow

    random.seed(11)
    acked: dict[str, int] = {}
    deleted: set[str] = set()
    port = free_port()
    kill_during_updates(writable, port, 0, acked, deleted)
    kill_during_updates(writable, port, 1000, acked, deleted)
    assert len(acked) >= 4  # the streams acknowledged updates before each kill (some deleted since)

    proc = start(writable, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            newest = winnow.open(writable).index.generation
            body = client.get("/search", params={"q": "zebra", "k": 1000, "retriever": "main"}).json()
            assert body["generation"] == newest >= max(acked.values())
            found = {h["id"] for h in body["hits"]}
            assert set(acked) <= found  # every acknowledged add is there
            assert not (deleted & found)  # and every acknowledged delete
            for doc_id in acked:
                assert client.get(f"/documents/{doc_id}", params={"retriever": "main"}).status_code == 200
            # the killed writer's lock does not block the next one
            r = client.post("/documents", headers=AUTH,
                            json={"documents": [{"id": "after", "text": "zebra after the crash"}], "retriever": "main"})
            assert r.status_code == 200 and r.json()["generation"] > newest
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
