"""Listwise reranking by a large language model behind an OpenAI-compatible endpoint (``llm`` extra).

RankGPT's sliding window (Sun et al. 2023, "Is ChatGPT Good at Search? Investigating Large
Language Models as Re-Ranking Agents"), as FIRST and RankZephyr also use it: the model sees
``window`` numbered passages and answers a permutation such as ``[3] > [1] > [2]``; the window
slides from the bottom of the candidate list to the top by ``step``, so the best
``window - step`` candidates of the whole list bubble up to the top.

Answers are repaired, never trusted: ids out of range are ignored, repeated ids count once, ids
the answer leaves out follow in their window order, and an answer with no usable id keeps the
window's order (with a warning). No document is ever dropped. An endpoint that fails (HTTP error,
timeout, unreachable, a body that is not a chat completion) is retried ``retries`` times, then
raises :class:`~winnow.errors.WinnowError` (``on_error="raise"``, the default) or keeps that
window's order with a warning (``on_error="keep"``).

The reranked scores are ranks turned into descending numbers (``n - rank`` for ``n`` hits).
"""

from __future__ import annotations

import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor

from winnow.errors import WinnowError, require
from winnow.rerank.hits import fetch_documents, query_texts, reordered
from winnow.retrieve.retriever import Reranker, Retriever
from winnow.types import Query, Run

logger = logging.getLogger(__name__)

ON_ERROR = ("raise", "keep")
SYSTEM = "You are RankGPT, an intelligent assistant that can rank passages based on their relevancy to the query."
_BRACKETED = re.compile(r"\[(\d+)\]")
_NUMBER = re.compile(r"\d+")


def permutation_prompt(query: str, passages: list[str]) -> list[dict[str, str]]:
    """The chat messages asking for a ranking of ``passages`` (RankGPT's instructions)."""
    n = len(passages)
    listed = "\n".join(f"[{i}] {text}" for i, text in enumerate(passages, 1))
    user = (f"I will provide you with {n} passages, each indicated by a numerical identifier []. "
            f"Rank the passages based on their relevance to the search query: {query}.\n\n{listed}\n\n"
            f"Search Query: {query}.\nRank the {n} passages above based on their relevance to the search query. "
            "List them in descending order of relevance using their identifiers, the most relevant first. "
            "The output format should be [] > [], e.g., [2] > [1]. Answer with the ranking only, no explanation.")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_permutation(answer: str, n: int) -> list[int] | None:
    """The 0-based order an answer gives to ``n`` passages, repaired; ``None`` if it names none.

    ``[3] > [1] > [2]`` gives ``[2, 0, 1]``. Bracketed ids are read when there are any, bare
    numbers otherwise; ids outside ``1..n`` are ignored, repeats count once, and the ids left out
    follow in their original order.

    Example::

        parse_permutation("[2] > [2] > [9] > [3]", 4)   # [1, 2, 0, 3]
    """
    found = _BRACKETED.findall(answer) or _NUMBER.findall(answer)
    chosen = list(dict.fromkeys(int(i) - 1 for i in found if 1 <= int(i) <= n))
    if not chosen:
        return None
    placed = set(chosen)
    return chosen + [i for i in range(n) if i not in placed]


def sliding_windows(n: int, window: int, step: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each window over ``n`` candidates, bottom to top (RankGPT's order)."""
    spans, end = [], n
    while end > 0:
        start = max(0, end - window)
        spans.append((start, end))
        if start == 0:
            break
        end -= step
    return spans


class ListwiseReranker(Reranker):
    """Rerank each query's candidates with an LLM's permutations over sliding windows.

    Example::

        llm = ListwiseReranker("http://127.0.0.1:8000/v1", model="qwen2.5-7b-instruct", window=20, step=10)
        pipeline = bm25 % 100 >> llm % 10

    Args:
        url: the endpoint's base URL (``.../v1``; ``/chat/completions`` is appended unless present).
        model: the model name sent with each request.
        window: passages per request.
        step: how far the window moves up each time (``step < window`` so that windows overlap).
        depth: candidates asked of the stage before.
        api_key: bearer token; when ``None``, read from the environment variable ``api_key_env``.
        api_key_env: environment variable holding the key (unset: no ``Authorization`` header).
        passage_chars: characters of each document (title and text) shown to the model.
        timeout: seconds per request.
        retries: further attempts after a failed request.
        on_error: ``raise`` or ``keep`` (the window's order) once the retries are spent.
        concurrency: queries reranked at once (each query's windows run in turn).
        max_tokens: tokens the model may answer with.

    Raises:
        WinnowError: for a URL that is not ``http(s)://``, or bad window options.
        MissingExtraError: without httpx (``pip install 'winnow[llm]'``).
    """

    def __init__(self, url: str, model: str = "default", window: int = 20, step: int = 10, depth: int = 100,
                 api_key: str | None = None, api_key_env: str = "WINNOW_LLM_API_KEY", passage_chars: int = 600,
                 timeout: float = 60.0, retries: int = 1, on_error: str = "raise", concurrency: int = 4,
                 max_tokens: int = 512):
        httpx = require("httpx", "llm")
        if not url or not url.startswith(("http://", "https://")):
            raise WinnowError(f"the LLM reranker needs an OpenAI-compatible endpoint URL (http:// or https://), "
                              f"got {url!r}; without one it is not available")
        for name, value in (("window", window), ("step", step), ("depth", depth), ("passage_chars", passage_chars),
                            ("concurrency", concurrency), ("max_tokens", max_tokens)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise WinnowError(f"llm option {name} must be a positive integer, got {value!r}")
        if window < 2 or step > window:
            raise WinnowError(f"llm needs window >= 2 and step <= window, got window={window}, step={step}")
        if on_error not in ON_ERROR:
            raise WinnowError(f"llm option on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
        if retries < 0 or timeout <= 0:
            raise WinnowError("llm option retries must be >= 0 and timeout > 0")
        self.endpoint = url if url.rstrip("/").endswith("/chat/completions") else url.rstrip("/") + "/chat/completions"
        self.model, self.window, self.step, self.depth = model, window, step, depth
        self.passage_chars, self.retries, self.on_error = passage_chars, retries, on_error
        self.concurrency, self.max_tokens = concurrency, max_tokens
        key = api_key if api_key is not None else os.environ.get(api_key_env)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self._httpx = httpx
        self.name = f"llm:{url}"

    def rerank(self, queries: list[Query], run: Run, source: Retriever) -> Run:
        """Each query's hits in the order the windows leave them, best first."""
        texts = query_texts(queries, run, self.name)
        documents = fetch_documents(run, source)

        def one(qid: str):
            hits = run[qid]
            present = [i for i, d in enumerate(hits.ids) if documents[d] is not None]
            passages = [" ".join(documents[hits.ids[i]].full_text.split())[: self.passage_chars] for i in present]
            order = self.rank(texts[qid], passages)
            n = len(order)
            return reordered(hits, {present[j]: float(n - rank) for rank, j in enumerate(order)}, self.name)

        with ThreadPoolExecutor(self.concurrency) as pool:
            return Run(dict(zip(run, pool.map(one, list(run)))), self.name)

    def rank(self, query: str, passages: list[str]) -> list[int]:
        """The order (indices into ``passages``) the sliding windows give, best first."""
        order = list(range(len(passages)))
        for start, end in sliding_windows(len(order), self.window, self.step):
            span = order[start:end]
            permutation = self._permutation(query, [passages[i] for i in span])
            order[start:end] = [span[i] for i in permutation]
        return order

    def _permutation(self, query: str, passages: list[str]) -> list[int]:
        if len(passages) < 2:
            return list(range(len(passages)))
        answer = self._ask(permutation_prompt(query, passages))
        if answer is None:
            return list(range(len(passages)))
        permutation = parse_permutation(answer, len(passages))
        if permutation is None:
            logger.warning("%s: the answer names no passage of the window, keeping its order: %.200r", self.name, answer)
            return list(range(len(passages)))
        return permutation

    def _ask(self, messages: list[dict[str, str]]) -> str | None:
        """The model's answer, or ``None`` when the endpoint failed and ``on_error`` is ``keep``."""
        body = {"model": self.model, "messages": messages, "temperature": 0, "max_tokens": self.max_tokens}
        problem = ""
        for _ in range(self.retries + 1):
            try:
                response = self._client.post(self.endpoint, json=body)
                if response.status_code != 200:
                    problem = f"HTTP {response.status_code}: {response.text[:200]}"
                    continue
                return str(response.json()["choices"][0]["message"]["content"])
            except self._httpx.TimeoutException:
                problem = f"no answer within {self._client.timeout.read} s"
            except self._httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except (ValueError, KeyError, IndexError, TypeError):
                problem = f"the answer is not a chat completion: {response.text[:200]!r}"
        message = f"{self.name}: the endpoint {self.endpoint} failed after {self.retries + 1} attempts ({problem})"
        if self.on_error == "raise":
            raise WinnowError(message + "; check that an OpenAI-compatible server runs there, or pass on_error=keep")
        logger.warning("%s; keeping the window's order", message)
        return None

    def close(self) -> None:
        self._client.close()
