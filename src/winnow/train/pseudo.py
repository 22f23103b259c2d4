"""Pseudo-queries for training without judgements, each paired with the document it came from.

As GPL (Wang et al., NAACL 2022) and the inference-free paper (Geng et al., arXiv:2411.04403) do,
queries are made from the corpus itself. Each sampled document gives one query of a kind drawn at
random among those it can give:

* ``title``: the document's title;
* ``sentence``: one of its sentences (at least ``min_words`` words, cut to ``max_words``);
* ``span``: a random run of ``min_words`` to ``max_words`` consecutive words;
* ``doc2query``: a query a sequence-to-sequence model (docT5query) generates from its text,
  when a model is given.

The same corpus, settings and seed always give the same queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from winnow.errors import WinnowError, require
from winnow.types import Document

KINDS = ("title", "sentence", "span", "doc2query")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class PseudoQuery:
    """A generated query: its id, text, the document it came from and how it was made."""

    id: str
    text: str
    doc_id: str
    kind: str


def sentences(text: str, min_words: int) -> list[str]:
    """The sentences of ``text`` (split after ``.``, ``!`` or ``?``) with at least ``min_words`` words."""
    return [s for s in _SENTENCE_END.split(text.strip()) if len(s.split()) >= min_words]


def pseudo_queries(documents: Iterable[Document], n: int, seed: int = 0,
                   kinds: Sequence[str] = ("title", "sentence", "span"), min_words: int = 4, max_words: int = 12,
                   doc2query: Callable[[list[str]], list[str]] | None = None) -> list[PseudoQuery]:
    """One pseudo-query for each of ``n`` documents drawn without replacement (all when fewer).

    Args:
        documents: the corpus, in a fixed order.
        n: how many queries (and source documents).
        seed: the draw of documents, kinds, sentences and spans.
        kinds: the kinds to draw from (see the module docstring); ``doc2query`` needs ``doc2query``.
        min_words, max_words: sentence and span lengths in words.
        doc2query: texts in, one query per text out (:func:`doc2query_generator`).

    Returns:
        Queries ``p0, p1, ...`` in the order of their documents in the corpus.

    Raises:
        WinnowError: for an unknown kind, ``doc2query`` without a model, or bad lengths.
    """
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise WinnowError(f"unknown pseudo-query kinds {unknown}; choose from {', '.join(KINDS)}")
    if "doc2query" in kinds and doc2query is None:
        raise WinnowError("pseudo-query kind doc2query needs a doc2query model")
    if not 1 <= min_words <= max_words:
        raise WinnowError(f"need 1 <= min_words <= max_words, got {min_words} and {max_words}")
    docs = list(documents)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.permutation(len(docs))[:n])
    drafts: list[tuple[Document, str, str]] = []
    for i in chosen:
        doc = docs[i]
        words = doc.text.split()
        found = sentences(doc.text, min_words)
        usable = [k for k in kinds if (k != "title" or doc.title.strip()) and (k != "sentence" or found)
                  and (k != "span" or len(words) >= min_words)]
        if not usable:
            continue
        kind = usable[rng.integers(len(usable))]
        if kind == "title":
            text = doc.title.strip()
        elif kind == "sentence":
            text = " ".join(found[rng.integers(len(found))].split()[:max_words])
        elif kind == "span":
            length = int(rng.integers(min_words, min(max_words, len(words)) + 1))
            start = int(rng.integers(len(words) - length + 1))
            text = " ".join(words[start:start + length])
        else:
            text = ""  # filled below, in one batch
        drafts.append((doc, kind, text))
    if doc2query is not None and any(kind == "doc2query" for _, kind, _ in drafts):
        wanted = [i for i, (_, kind, _) in enumerate(drafts) if kind == "doc2query"]
        generated = doc2query([drafts[i][0].full_text for i in wanted])
        for i, text in zip(wanted, generated):
            drafts[i] = (drafts[i][0], "doc2query", text.strip())
    return [PseudoQuery(f"p{i}", text, doc.id, kind) for i, (doc, kind, text) in enumerate(drafts) if text]


def doc2query_generator(model: str, seed: int = 0, max_length: int = 64, doc_max_length: int = 384,
                        batch_size: int = 16) -> Callable[[list[str]], list[str]]:
    """A docT5query-style generator: one sampled query (top-k 10) per document text.

    Args:
        model: a sequence-to-sequence model folder or Hugging Face id (e.g. a doc2query T5).
        seed: seeds the sampling, so the same texts give the same queries.
    """
    torch = require("torch", "train")
    transformers = require("transformers", "train")
    from winnow.encode.model_layout import resolve_model

    folder = str(resolve_model(model))
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    network = transformers.AutoModelForSeq2SeqLM.from_pretrained(folder).eval()

    def generate(texts: list[str]) -> list[str]:
        torch.manual_seed(seed)
        out: list[str] = []
        for start in range(0, len(texts), batch_size):
            inputs = tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                               max_length=doc_max_length, return_tensors="pt")
            with torch.inference_mode():
                tokens = network.generate(**inputs, max_length=max_length, do_sample=True, top_k=10)
            out += tokenizer.batch_decode(tokens, skip_special_tokens=True)
        return out

    return generate
