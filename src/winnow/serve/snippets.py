"""Snippets with the query's terms marked, as the index reads text.

A word is marked when the index maps it to a term of the query: ``normalisation`` matches the
query ``normalise`` under BM25's stemmer, and a word whose first word piece is a query token
matches under a learned sparse index. Snippets travel as segments ``{"text", "match"}`` so the
page inserts text, never markup.
"""

from __future__ import annotations

import re

from winnow.retrieve.explain import text_term_ids, tokenizer

WORD = re.compile(r"\w+")
SNIPPET_CHARS = 280


class Highlighter:
    """Marks the words of a text that match one query in one retriever.

    Args:
        searcher: the sparse searcher whose reading of text decides (``None``: plain lowercase
            word equality, for retrievers with no sparse index).
        query: the query text.
    """

    def __init__(self, searcher, query: str):
        self.searcher = searcher
        self.learned = searcher is not None and searcher.index.encoder_kind != "bm25"
        self._seen: dict[str, bool] = {}
        if searcher is None:
            self.query = {w.lower() for w in WORD.findall(query)}
        else:
            self.query = set(text_term_ids(searcher, query))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` of the matched words, in order."""
        if not self.query or not text:
            return []
        if self.searcher is None:
            return [m.span() for m in WORD.finditer(text) if m.group().lower() in self.query]
        if self.learned:
            enc = tokenizer(self.searcher).encode(text, add_special_tokens=False)
            first, word_spans = {}, {}
            for token, word, (start, end) in zip(enc.ids, enc.word_ids, enc.offsets):
                if word is not None and first.setdefault(word, token in self.query):  # its first piece decides
                    lo, hi = word_spans.get(word, (start, end))
                    word_spans[word] = (min(lo, start), max(hi, end))
            return sorted(word_spans.values())
        return [m.span() for m in WORD.finditer(text) if self._matches(m.group())]

    def _matches(self, word: str) -> bool:
        """Whether BM25's analysis of ``word`` is a query term (remembered: texts repeat their words)."""
        known = self._seen.get(word)
        if known is None:
            known = self._seen[word] = not self.query.isdisjoint(text_term_ids(self.searcher, word))
        return known

    def segments(self, text: str, width: int | None = None) -> list[dict]:
        """``text`` (cut to the ``width`` characters around most matches) as marked segments."""
        spans = self.spans(text)
        lo, hi = 0, len(text)
        if width is not None and len(text) > width:
            lo = _best_window(text, spans, width)
            hi = min(len(text), lo + width)
            while hi < len(text) and text[hi - 1].isalnum():  # end on a word boundary
                hi -= 1
        out = [{"text": "… ", "match": False}] if lo > 0 else []
        at = lo
        for start, end in spans:
            if start < lo or end > hi:
                continue
            if start > at:
                out.append({"text": text[at:start], "match": False})
            out.append({"text": text[start:end], "match": True})
            at = end
        if at < hi:
            out.append({"text": text[at:hi], "match": False})
        if hi < len(text):
            out.append({"text": " …", "match": False})
        return out


def _best_window(text: str, spans: list[tuple[int, int]], width: int) -> int:
    """The start (a word boundary) of the ``width``-character window holding the most matches."""
    best, best_count = 0, -1
    for start, _ in spans or [(0, 0)]:
        lo = max(0, start - width // 4)
        count = sum(1 for s, e in spans if s >= lo and e <= lo + width)
        if count > best_count:
            best, best_count = lo, count
    while 0 < best < len(text) and text[best - 1].isalnum():
        best -= 1
    return best
