"""Word analyzer: a Unicode word tokenizer followed by composable filters.

The default configuration reproduces Lucene's ``EnglishAnalyzer`` as Anserini and
Pyserini use it for their BM25 baselines: StandardTokenizer (UAX#29 word breaks,
approximated by :data:`TOKEN_PATTERN`), possessive removal, lowercasing, Lucene's 33
English stopwords and the original Porter stemmer.
"""

from __future__ import annotations

import re
import unicodedata
from functools import partial
from dataclasses import dataclass

from winnow.analyze.stopwords import STOPWORDS
from winnow.errors import WinnowError

_IDEO = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs: one token each, as Lucene does
# Combining marks stay inside their word (UAX#29 WB4: Extend), so a decomposed "cre\u0300me" is one token.
_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_LETTER = rf"[^\W\d_{_IDEO}]"
_WORD = rf"[^\W{_IDEO}]+(?:[{_MARKS}]+[^\W{_IDEO}]*)*"
# UAX#29 WB6/7 (letter MidLetter letter) and WB11/12 (digit MidNum digit) joiners.
_JOIN = rf"(?:(?<={_LETTER})[.'’:·](?={_LETTER})|(?<=\d)[.,;'’](?=\d))"
TOKEN_PATTERN = rf"[{_IDEO}]|{_WORD}(?:{_JOIN}{_WORD})*"
# Lucene's EnglishPossessiveFilter drops a token-final 's; removing it from the text first is the same.
_POSSESSIVE = partial(re.compile(r"(?<=\w)['’][sS](?![\w.'’:·]\w)").sub, "")
_MAX_STEM_CACHE = 1 << 20


@dataclass(frozen=True)
class WordAnalyzerConfig:
    """Options of :class:`WordAnalyzer`, saved with the index.

    Attributes:
        pattern: regular expression matching one token.
        lowercase: fold case.
        normalization: Unicode normal form applied first (``NFC``, the default, so that ``café``
            typed precomposed or as ``cafe`` + U+0301 is one term; ``NFKC``...) or ``None``.
        possessive: strip a trailing ``'s`` (Lucene's EnglishPossessiveFilter).
        stopwords: a built-in list name (``lucene``, ``none``), an explicit list, or ``None``.
        stemmer: a PyStemmer algorithm (``porter`` = Lucene's PorterStemFilter, ``english`` =
            Snowball Porter2, ``german``...) or ``None``.
        min_length: drop shorter tokens (after filtering, before stemming).
    """

    pattern: str = TOKEN_PATTERN
    lowercase: bool = True
    normalization: str | None = "NFC"
    possessive: bool = True
    stopwords: str | tuple[str, ...] = "lucene"
    stemmer: str | None = "porter"
    min_length: int = 1


class WordAnalyzer:
    """Turns text into a list of terms. Example::

        >>> WordAnalyzer().analyze("The runner's shoes")
        ['runner', 'shoe']
    """

    kind = "word"

    def __init__(self, config: WordAnalyzerConfig | None = None):
        self.config = config or WordAnalyzerConfig()
        c = self.config
        self._findall = re.compile(c.pattern).findall
        if c.stopwords is None:
            self._stop = frozenset()
        elif isinstance(c.stopwords, str):
            if c.stopwords not in STOPWORDS:
                raise WinnowError(f"unknown stopword list {c.stopwords!r}; choose {sorted(STOPWORDS)} or pass a list")
            self._stop = STOPWORDS[c.stopwords]
        else:
            self._stop = frozenset(w.lower() if c.lowercase else w for w in c.stopwords)
        self._stem_words = None
        self._stems: dict[str, str] = {}
        if c.stemmer:
            import Stemmer

            if c.stemmer not in Stemmer.algorithms():
                raise WinnowError(f"unknown stemmer {c.stemmer!r}; PyStemmer offers {Stemmer.algorithms()}")
            self._stem_words = Stemmer.Stemmer(c.stemmer, 0).stemWords

    def analyze(self, text: str) -> list[str]:
        return self.terms(self.tokens(text))

    def tokens(self, text: str) -> list[str]:
        """The tokenizer's output: normalised, lowercased words, not yet filtered or stemmed."""
        c = self.config
        if c.normalization:
            text = unicodedata.normalize(c.normalization, text)
        if c.lowercase:
            text = text.lower()
        if c.possessive and ("'" in text or "’" in text):
            text = _POSSESSIVE(text)
        return self._findall(text)

    def terms(self, tokens: list[str]) -> list[str]:
        """Filter and stem tokens; each token maps to at most one term, whatever its neighbours."""
        stop, n = self._stop, self.config.min_length
        tokens = [t for t in tokens if t not in stop and len(t) >= n]
        return self._stem(tokens) if self._stem_words else tokens

    def _stem(self, tokens: list[str]) -> list[str]:
        """Stem through a dictionary of known stems: a lookup is far cheaper than the stemmer."""
        stems = self._stems
        missing = [t for t in tokens if t not in stems]
        if missing:
            if len(stems) > _MAX_STEM_CACHE:
                stems.clear()
            stems.update(zip(missing, self._stem_words(missing)))
        return [stems[t] for t in tokens]

    def save(self, folder) -> None:
        """Nothing to write: the whole config lives in :meth:`to_dict`."""

    def to_dict(self) -> dict:
        d = dict(vars(self.config))
        if not isinstance(d["stopwords"], str):
            d["stopwords"] = list(d["stopwords"])
        return {"kind": self.kind, **d}

    @classmethod
    def from_dict(cls, d: dict) -> "WordAnalyzer":
        d = {k: v for k, v in d.items() if k != "kind"}
        if isinstance(d.get("stopwords"), list):
            d["stopwords"] = tuple(d["stopwords"])
        return cls(WordAnalyzerConfig(**d))
