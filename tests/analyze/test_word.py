"""WordAnalyzer: Lucene EnglishAnalyzer-like tokens, filters and a config that round-trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow.analyze import WordAnalyzer, WordAnalyzerConfig, analyzer_from_dict
from winnow.analyze.stopwords import LUCENE_ENGLISH
from winnow.errors import WinnowError

ENGLISH = WordAnalyzer()
RAW = WordAnalyzer(WordAnalyzerConfig(stemmer=None, stopwords="none", possessive=False))


@pytest.mark.parametrize("text, terms", [
    ("The runner's shoes", ["runner", "shoe"]),  # possessive, stopword, plural
    ("John’s book", ["john", "book"]),  # typographic apostrophe
    ("it is the best of the lot", ["best", "lot"]),
    ("caresses ponies connections generalizations", ["caress", "poni", "connect", "gener"]),  # Porter (1980)
    ("fairly dying", ["fairli", "dy"]),  # original Porter, not Snowball's "fair", "die"
    ("version 3.5 costs 1,000,000", ["version", "3.5", "cost", "1,000,000"]),  # WB11/12: digit MidNum digit
    ("U.S.A. and don't", ["u.s.a", "don't"]),  # WB6/7: letter MidLetter letter; trailing '.' dropped
    ("e-mail wi-fi", ["e", "mail", "wi", "fi"]),  # hyphens break words
    ("snake_case", ["snake_cas"]),  # ExtendNumLet joins (then Porter drops the final e)
    ("end. Start,again", ["end", "start", "again"]),
    ("中文分词 test", ["中", "文", "分", "词", "test"]),  # one ideograph per token
    ("", []),
])
def test_english_analysis(text, terms):
    assert ENGLISH.analyze(text) == terms


def test_stopwords_are_lucenes_33():
    assert len(LUCENE_ENGLISH) == 33
    assert ENGLISH.analyze(" ".join(sorted(LUCENE_ENGLISH))) == []


@settings(max_examples=100, deadline=None)
@given(words=st.lists(st.text("abcdefgXYZ", min_size=1, max_size=8), max_size=12),
       seps=st.lists(st.sampled_from([" ", "  ", "\t", "\n", " - ", ", ", "; ", "! "]), min_size=12, max_size=12))
def test_separators_split_and_letters_are_lowercased(words, seps):
    text = "".join(w + s for w, s in zip(words, seps))
    assert RAW.analyze(text) == [w.lower() for w in words]


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=40))
def test_terms_are_nonempty_lowercase_and_never_stopwords(text):
    for term in WordAnalyzer(WordAnalyzerConfig(stemmer=None)).analyze(text):
        assert term and not any(ch.isspace() for ch in term)
        assert term == term.lower()
        assert term not in LUCENE_ENGLISH


def test_options():
    assert WordAnalyzer(WordAnalyzerConfig(lowercase=False, stemmer=None)).analyze("Big Data") == ["Big", "Data"]
    assert WordAnalyzer(WordAnalyzerConfig(normalization="NFKC")).analyze("ﬁle") == ["file"]
    assert WordAnalyzer(WordAnalyzerConfig(min_length=3, stemmer=None)).analyze("an ox ate hay") == ["ate", "hay"]
    assert WordAnalyzer(WordAnalyzerConfig(stopwords=("Cat",), stemmer=None)).analyze("the cat sat") == ["the", "sat"]
    assert WordAnalyzer(WordAnalyzerConfig(possessive=False, stemmer=None)).analyze("john's") == ["john's"]
    assert WordAnalyzer(WordAnalyzerConfig(stemmer="english")).analyze("fairly") == ["fair"]


@pytest.mark.parametrize("config", [
    WordAnalyzerConfig(),
    WordAnalyzerConfig(stemmer="english", stopwords=("foo", "bar"), min_length=2, normalization="NFKC"),
    WordAnalyzerConfig(stemmer=None, stopwords="none", lowercase=False, possessive=False),
])
def test_config_round_trips_through_json(config):
    d = json.loads(json.dumps(WordAnalyzer(config).to_dict()))  # as saved in a manifest
    assert d["kind"] == "word"
    again = analyzer_from_dict(d)
    assert isinstance(again, WordAnalyzer) and again.config == config
    text = "The Foo's runners ran 3.5 km with ﬁve bars"
    assert again.analyze(text) == WordAnalyzer(config).analyze(text)


def test_unknown_names_are_errors():
    with pytest.raises(WinnowError, match="unknown stemmer 'klingon'"):
        WordAnalyzer(WordAnalyzerConfig(stemmer="klingon"))
    with pytest.raises(WinnowError, match="unknown stopword list 'klingon'"):
        WordAnalyzer(WordAnalyzerConfig(stopwords="klingon"))
    with pytest.raises(WinnowError, match="unknown analyzer kind"):
        analyzer_from_dict({"kind": "morse"})


def test_nfc_and_combining_marks_make_one_term():
    """Regression: ``cafe\u0301`` and ``café`` were different terms and ``cre\u0300me`` split in two."""
    analyze = WordAnalyzer().analyze
    assert analyze("cafe\u0301") == analyze("café") and analyze("cre\u0300me") == analyze("crème")
    assert len(WordAnalyzer(WordAnalyzerConfig(normalization=None)).tokens("q\u0301x fin")) == 2
