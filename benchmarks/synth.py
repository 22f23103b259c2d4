"""Write a synthetic BEIR folder with Zipfian term statistics, fast enough for millions of docs.

    python benchmarks/synth.py OUT_DIR --docs 1000000 --queries 1000 [--seed 0]

Writes ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl`` (``_id``, ``text``)
and ``qrels/test.tsv`` (one relevant doc per query, relevance 1).

The model:

* Vocabulary: ``--vocab`` pseudo-words of 3-10 lowercase letters (Lucene's English stopwords
  excluded), ranked roughly by length so that frequent words are short, as in real text.
* Term ranks follow a truncated Zipf law, ``P(r) ∝ r^-s`` with ``s = --zipf`` (1.1).
* Body lengths are lognormal (mean about ``--mean-len`` tokens, clipped to [5, 2000]); titles
  hold 2-8 words drawn from the same law.
* Each query targets one document: 2-6 words, each one a distinct word of the target doc or,
  with probability ``--noise``, a random word from the Zipf law.

Everything is sampled with numpy in chunks of ``--chunk`` documents and written as it goes,
so memory stays bounded (a few hundred MB) whatever the corpus size.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time

import numpy as np

log = logging.getLogger("synth")

# Lucene's English stopwords: keep them out of the vocabulary so no engine drops a pseudo-word.
STOPWORDS = set(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "
    "there these they this to was will with".split()
)


def make_vocab(size: int, rng: np.random.Generator) -> list[bytes]:
    """Distinct pseudo-words, roughly shortest first (rank 0 = most frequent)."""
    words: set[bytes] = set()
    while len(words) < size:
        n = int((size - len(words)) * 1.3) + 16
        lens = rng.integers(3, 11, n)
        letters = rng.integers(97, 123, (n, 10), dtype=np.uint8)
        words.update(bytes(row[:k]) for row, k in zip(letters, lens))
        words -= {w.encode() for w in STOPWORDS}
    vocab = sorted(words)
    rng.shuffle(vocab)
    vocab = vocab[:size]
    # Frequent words tend to be short: sort by length plus noise.
    key = np.array([len(w) for w in vocab]) + rng.normal(0, 2.0, size)
    return [vocab[i] for i in np.argsort(key, kind="stable")]


class WordTable:
    """The vocabulary as one byte buffer, so token ids turn into text without a Python loop."""

    def __init__(self, vocab: list[bytes]):
        self.lens = np.array([len(w) + 1 for w in vocab], dtype=np.int64)  # +1: trailing space
        self.starts = np.concatenate([[0], np.cumsum(self.lens)[:-1]])
        self.buf = np.frombuffer(b"".join(w + b" " for w in vocab), dtype=np.uint8)

    def render(self, ids: np.ndarray) -> tuple[bytes, np.ndarray]:
        """Space-separated text of ``ids`` and the byte offset where each token starts (+ end)."""
        lens = self.lens[ids]
        ends = np.cumsum(lens)
        total = int(ends[-1]) if len(ends) else 0
        owner = np.repeat(np.arange(len(ids)), lens)
        within = np.arange(total) - np.repeat(ends - lens, lens)
        text = self.buf[self.starts[ids][owner] + within].tobytes()
        return text, np.concatenate([[0], ends])


def zipf_sampler(vocab_size: int, s: float, rng: np.random.Generator):
    """Return ``sample(n) -> int32 ranks`` from a Zipf(s) law truncated to the vocabulary."""
    cdf = np.cumsum(np.arange(1, vocab_size + 1, dtype=np.float64) ** -s)
    cdf /= cdf[-1]

    def sample(n: int) -> np.ndarray:
        return np.searchsorted(cdf, rng.random(n), side="right").astype(np.int32)

    return sample


def write_synth(out: str, n_docs: int, n_queries: int, seed: int = 0, vocab_size: int = 200_000,
                zipf: float = 1.1, mean_len: float = 80.0, noise: float = 0.2,
                chunk: int = 20_000) -> None:
    """Write the BEIR folder ``out`` (see the module docstring for the model)."""
    if n_queries > n_docs:
        raise ValueError(f"--queries ({n_queries}) cannot exceed --docs ({n_docs})")
    rng = np.random.default_rng(seed)
    vocab = make_vocab(vocab_size, rng)
    table = WordTable(vocab)
    sample = zipf_sampler(vocab_size, zipf, rng)
    sigma = 0.6  # lognormal shape; mu chosen so that the mean is mean_len
    mu = np.log(mean_len) - sigma**2 / 2

    targets = np.sort(rng.choice(n_docs, n_queries, replace=False))
    target_words: dict[int, np.ndarray] = {}
    os.makedirs(os.path.join(out, "qrels"), exist_ok=True)
    t0 = time.perf_counter()
    n_tokens = 0
    with open(os.path.join(out, "corpus.jsonl"), "wb") as f:
        for first in range(0, n_docs, chunk):
            n = min(chunk, n_docs - first)
            body_len = np.clip(rng.lognormal(mu, sigma, n), 5, 2000).astype(np.int64)
            title_len = rng.integers(2, 9, n)
            # Per doc: title tokens then body tokens, all in one flat array.
            doc_len = title_len + body_len
            ids = sample(int(doc_len.sum()))
            n_tokens += len(ids)
            text, offs = table.render(ids)
            doc_start = np.concatenate([[0], np.cumsum(doc_len)])
            a = offs[doc_start[:-1]]
            b = offs[doc_start[:-1] + title_len]
            c = offs[doc_start[1:]]
            lines = [
                b'{"_id": "d%d", "title": "%s", "text": "%s"}\n'
                % (first + i, text[a[i]:b[i] - 1], text[b[i]:c[i] - 1])
                for i in range(n)
            ]
            f.write(b"".join(lines))
            lo, hi = np.searchsorted(targets, [first, first + n])
            for d in targets[lo:hi]:
                i = d - first
                target_words[int(d)] = np.unique(ids[doc_start[i]:doc_start[i + 1]])
            log.info("%d / %d docs (%.0f docs/s)", first + n, n_docs,
                     (first + n) / (time.perf_counter() - t0))

    with open(os.path.join(out, "queries.jsonl"), "w") as fq, \
            open(os.path.join(out, "qrels", "test.tsv"), "w") as fr:
        fr.write("query-id\tcorpus-id\tscore\n")
        for q, d in enumerate(rng.permutation(targets)):
            words = target_words[int(d)]
            k = int(rng.integers(2, 7))
            picked = rng.choice(words, min(k, len(words)), replace=False)
            is_noise = rng.random(len(picked)) < noise
            is_noise[0] = False  # keep at least one word of the target doc
            picked[is_noise] = sample(int(is_noise.sum()))
            fq.write(json.dumps({"_id": f"q{q}", "text": " ".join(vocab[w].decode() for w in picked)}) + "\n")
            fr.write(f"q{q}\td{d}\t1\n")
    log.info("wrote %d docs (%.1f tokens/doc), %d queries to %s in %.1f s", n_docs,
             n_tokens / n_docs, n_queries, out, time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output folder (created)")
    ap.add_argument("--docs", type=int, required=True)
    ap.add_argument("--queries", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--vocab", type=int, default=200_000, help="number of pseudo-words")
    ap.add_argument("--zipf", type=float, default=1.1, help="Zipf exponent s")
    ap.add_argument("--mean-len", type=float, default=80.0, help="mean body length in tokens")
    ap.add_argument("--noise", type=float, default=0.2, help="chance a query word is random")
    ap.add_argument("--chunk", type=int, default=20_000, help="docs sampled and written at once")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    write_synth(a.out, a.docs, a.queries, a.seed, a.vocab, a.zipf, a.mean_len, a.noise, a.chunk)


if __name__ == "__main__":
    main()
