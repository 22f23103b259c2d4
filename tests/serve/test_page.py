"""The search page in a real headless browser: Debian's chromium driven by Playwright's Python client.

The browser is the system's (``/usr/bin/chromium``, or ``$WINNOW_CHROMIUM``); nothing is downloaded.
Screenshots go to ``build/screenshots/`` (a BM25 query, a learned sparse query with its expansion
terms marked, a hybrid query, a filtered query).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.serve.conftest import serve_docs

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the browser extra)")

CHROMIUM = os.environ.get("WINNOW_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
QUERY = "how does bm25 normalise document length"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url(served):
    import uvicorn

    from winnow.serve import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(served), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page(base_url):
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium, or set WINNOW_CHROMIUM)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.set_default_timeout(120_000)  # a loaded CI machine answers slowly; a broken page never does
        page.goto(base_url)
        page.wait_for_selector("body[data-ready]")
        yield page
        browser.close()


def searched(page, n: int) -> None:
    page.wait_for_selector(f'body[data-searches="{n}"]')


def test_page_search_switch_filter_and_explain(page):
    # 1. a BM25 query: titles and snippets with the matched words marked, a bar per term
    page.fill("#query", QUERY)
    page.press("#query", "Enter")
    searched(page, 1)
    hits = page.locator("#results > li.hit")
    assert hits.count() == 10
    first = hits.first
    assert first.get_attribute("data-id") == "d04"
    assert "Document length normalisation" in first.locator(".title").inner_text()
    marked = {m.lower() for m in first.locator("mark").all_inner_texts()}
    assert {"document", "length", "normalisation", "bm25"} <= marked
    assert first.locator(".bars .term").count() >= 4
    assert first.locator(".bars .term.expansion").count() == 0  # BM25 adds no terms
    assert "hits from bm25" in page.inner_text("#status")
    page.screenshot(path=str(SHOTS / "bm25.png"), full_page=True)

    # 2. switch to the learned sparse index: expansion terms marked apart, the explanation opens
    page.select_option("#retriever", "learned")
    searched(page, 2)
    assert "hits from learned" in page.inner_text("#status")
    assert page.locator("#results .bars .term.expansion").count() > 0
    assert page.locator("#results .bars h4", has_text="expansion terms").count() > 0
    first = page.locator("#results > li.hit").first
    first.locator(".explain-toggle").click()
    box = first.locator(".explanation")
    box.wait_for()
    rows = box.locator("table tr")
    assert rows.count() >= 2 and "weight × impact" in rows.first.inner_text()
    page.screenshot(path=str(SHOTS / "learned.png"), full_page=True)

    # 3. the hybrid: a bar per fused input, each input's own term bars in the explanation
    page.select_option("#retriever", "hybrid")
    searched(page, 3)
    first = page.locator("#results > li.hit").first
    assert first.locator(".part-bar").count() == 2
    first.locator(".explain-toggle").click()
    parts = first.locator(".explanation .part")
    parts.first.wait_for()
    assert parts.count() == 2 and "bm25" in parts.first.inner_text()
    page.screenshot(path=str(SHOTS / "hybrid.png"), full_page=True)

    # 4. a filter on BM25: only matching documents come back
    page.select_option("#retriever", "bm25")
    searched(page, 4)
    page.fill("#filter", 'topic == "ranking"')
    page.press("#query", "Enter")
    searched(page, 5)
    topics = {d.id: d.metadata["topic"] for d in serve_docs()}
    ids = page.locator("#results > li.hit").evaluate_all("els => els.map(e => e.dataset.id)")
    assert ids and all(topics[i] == "ranking" for i in ids)
    assert "topic" in page.inner_text("#fields")
    page.screenshot(path=str(SHOTS / "filter.png"), full_page=True)

    # 5. a bad filter: the typed error is shown, no results
    page.fill("#filter", "topic = ranking")
    page.press("#query", "Enter")
    searched(page, 6)
    assert page.locator("#error").is_visible() and "bad_filter" in page.inner_text("#error")
    assert page.locator("#results > li").count() == 0
