"""BM25 family: stored impacts equal the documented formulas, computed here in plain Python."""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow.encode.bm25 import BM25Config, BM25QueryEncoder, lucene_length
from winnow.encode.registry import EncoderSpec, build_encoder
from winnow.errors import WinnowError
from winnow.index.reader import SparseIndex
from winnow.index.writer import build_index
from winnow.types import Document

# Words the analyzer keeps as they are (stemmer and stopwords off), so term counts are known.
WORDS = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen"]
PLAIN = {"stemmer": "", "possessive": "false"}  # stopwords stay Lucene's; no WORDS is one of them

# The formulas of the bm25.py docstring (Kamphuis et al., ECIR 2020), written out independently.
IDF = {
    "lucene": lambda n, df: math.log(1 + (n - df + 0.5) / (df + 0.5)),
    "robertson": lambda n, df: math.log((n - df + 0.5) / (df + 0.5)),
    "atire": lambda n, df: math.log(n / df),
    "bm25l": lambda n, df: math.log((n + 1) / (df + 0.5)),
    "bm25+": lambda n, df: math.log((n + 1) / df),
}


def tf_part(variant, tf, dl, avgdl, k1, b, delta):
    norm = 1 - b + b * dl / avgdl
    if variant == "lucene":
        return tf / (tf + k1 * norm)
    if variant in ("robertson", "atire"):
        return (k1 + 1) * tf / (tf + k1 * norm)
    if variant == "bm25l":
        c = tf / norm
        return (k1 + 1) * (c + delta) / (k1 + c + delta)
    return (k1 + 1) * tf / (tf + k1 * norm) + delta  # bm25+


# --- Lucene's SmallFloat (org.apache.lucene.util.SmallFloat), transcribed literally -------------

def _number_of_leading_zeros_64(i):
    return 64 - i.bit_length()


def long_to_int4(i):
    assert i >= 0
    num_bits = 64 - _number_of_leading_zeros_64(i)
    if num_bits < 4:
        return i  # subnormal value
    shift = num_bits - 4
    encoded = (i >> shift) & 0xFFFFFFFF  # only keep the 4 most significant bits
    encoded &= 0x07  # clear the most significant bit, which is implicit
    encoded |= (shift + 1) << 3  # encode the shift, +1 to make room for subnormal
    return encoded


def int4_to_long(i):
    bits = i & 0x07
    shift = (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


MAX_INT4 = long_to_int4(2**31 - 1)
NUM_FREE_VALUES = 255 - MAX_INT4


def int_to_byte4(i):
    assert i >= 0
    if i < NUM_FREE_VALUES:
        return i
    return (NUM_FREE_VALUES + long_to_int4(i - NUM_FREE_VALUES)) & 0xFF  # (byte) cast


def byte4_to_int(b):
    i = b & 0xFF  # Byte.toUnsignedInt
    if i < NUM_FREE_VALUES:
        return i
    return min(NUM_FREE_VALUES + int4_to_long(i - NUM_FREE_VALUES), 2**31 - 1)


def test_lucene_length_equals_smallfloat_byte4_round_trip():
    dl = np.arange(0, 100_001)
    expected = np.array([byte4_to_int(int_to_byte4(int(i))) for i in dl])
    np.testing.assert_array_equal(lucene_length(dl), expected)


# --- impacts against the oracle ----------------------------------------------------------------

def oracle(docs, fields, variant, k1, b, delta, lucene_lengths, weights=(1.0, 1.0)):
    """``{(term, docno): impact}``. Per field, N and avgdl count the documents where the field has
    terms (Lucene's docCount and sumTotalTermFreq / docCount); dl is rounded as Lucene's norms are."""
    texts = [[d.title, d.text] for d in docs] if fields == "multifield" else [[d.full_text] for d in docs]
    counts = [[Counter(t.split()) for t in ts] for ts in texts]
    out: dict[tuple[str, int], float] = {}
    for f in range(len(texts[0])):
        dls = [sum(c[f].values()) for c in counts]
        n = sum(1 for x in dls if x > 0)
        if n == 0:
            continue
        avgdl = sum(dls) / n
        df = Counter(t for c in counts for t in c[f])
        w = weights[f] if fields == "multifield" else 1.0
        for docno, c in enumerate(counts):
            dl = byte4_to_int(int_to_byte4(dls[docno])) if lucene_lengths else dls[docno]
            for term, tf in c[f].items():
                part = w * IDF[variant](n, df[term]) * tf_part(variant, tf, dl, avgdl, k1, b, delta)
                out[(term, docno)] = out.get((term, docno), 0.0) + part
    return out


def stored(index: SparseIndex) -> dict[tuple[str, int], float]:
    out = {}
    for t, term in enumerate(index.vocabulary):
        docnos, impacts = index.postings(t)
        out.update({(term, int(d)): float(x) for d, x in zip(docnos, impacts)})
    return out


words = st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join)
# Long fields too (up to 60 words), so Lucene's length rounding (exact below 24) matters.
long_words = st.lists(st.sampled_from(WORDS), min_size=20, max_size=60).map(" ".join)
corpora = st.lists(st.tuples(words, st.one_of(words, long_words)), min_size=1, max_size=25).filter(
    lambda docs: any(t or x for t, x in docs))


@settings(max_examples=60, deadline=None)
@given(docs=corpora, variant=st.sampled_from(sorted(IDF)), fields=st.sampled_from(["flat", "multifield"]),
       k1=st.sampled_from([0.0, 0.9, 1.2, 2.0]), b=st.sampled_from([0.0, 0.4, 0.75, 1.0]),
       delta=st.sampled_from([0.5, 1.0]), lengths=st.sampled_from(["lucene", "exact"]),
       weights=st.sampled_from([(1.0, 1.0), (0.5, 2.0)]))
def test_impacts_equal_the_formula(docs, variant, fields, k1, b, delta, lengths, weights):
    docs = [Document(str(i), text, title) for i, (title, text) in enumerate(docs)]
    options = dict(PLAIN, variant=variant, fields=fields, k1=str(k1), b=str(b), delta=str(delta), lengths=lengths,
                   title_weight=str(weights[0]), text_weight=str(weights[1]))
    with tempfile.TemporaryDirectory() as tmp:
        build_index(docs, build_encoder("bm25", **options), Path(tmp) / "ix")
        got = stored(SparseIndex(Path(tmp) / "ix"))
    expected = oracle(docs, fields, variant, k1, b, delta, lengths == "lucene", weights)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-5, abs=1e-6), key


def test_defaults_are_anserinis():
    config = build_encoder("bm25").config()["bm25"]
    assert (config["variant"], config["k1"], config["b"], config["fields"]) == ("lucene", 0.9, 0.4, "flat")
    assert BM25Config().lucene_lengths and not BM25Config(variant="atire").lucene_lengths
    assert build_encoder("bm25:variant=bm25+").params.delta == 1.0  # Lv & Zhai's default for BM25+
    assert build_encoder("bm25:variant=bm25+,delta=0.25").params.delta == 0.25


def test_default_spec_on_tiny_equals_the_formula(tiny_beir, tmp_path):
    """The default encoder with its real analyzer (stemming, stopwords) against the oracle."""
    from winnow.analyze import WordAnalyzer
    from winnow.corpus import read_corpus

    docs = list(read_corpus(tiny_beir / "corpus.jsonl"))
    build_index(docs, build_encoder("bm25"), tmp_path / "ix")
    analyze = WordAnalyzer().analyze
    analyzed = [Document(d.id, " ".join(analyze(d.full_text))) for d in docs]
    expected = oracle(analyzed, "flat", "lucene", 0.9, 0.4, 0.5, True)
    got = stored(SparseIndex(tmp_path / "ix"))
    assert got.keys() == expected.keys()
    assert all(got[key] == pytest.approx(v, rel=1e-5) for key, v in expected.items())


# --- query side -----------------------------------------------------------------------------------

@given(query=st.lists(st.sampled_from(WORDS + ["zzz", "yak"]), max_size=10))
def test_query_weights_are_counts_of_known_terms(query):
    from winnow.analyze import WordAnalyzer, WordAnalyzerConfig

    vocab = {w: i for i, w in enumerate(WORDS)}
    encoder = BM25QueryEncoder(WordAnalyzer(WordAnalyzerConfig(stemmer=None)), vocab)
    terms, weights = encoder.encode_query(" ".join(query))
    assert terms.dtype == np.int32 and weights.dtype == np.float32
    expected = Counter(vocab[w] for w in query if w in vocab)
    assert dict(zip(terms.tolist(), weights.tolist())) == expected
    assert len(terms) == len(expected)



TEXT = st.lists(st.sampled_from(["Running", "runs", "runner's", "The", "a", "U.S.", "3.14", "ran", "cats'", "Cat",
                                 "über", "x", "of", "it's", "ARE"]), max_size=12)


@given(queries=st.lists(TEXT, min_size=1, max_size=4))
def test_cached_token_ids_equal_analyzing_each_query(queries):
    """The per-token cache (stopwords, possessives, stemming, unknown words) never changes a query."""
    from winnow.analyze import WordAnalyzer

    analyzer = WordAnalyzer()
    vocab = {t: i for i, t in enumerate(sorted(set(analyzer.analyze("running runner cat U.S. 3.14 über x it"))))}
    encoder = BM25QueryEncoder(analyzer, vocab)
    for words in queries + queries:  # the second pass hits the cache
        text = " ".join(words)
        terms, weights = encoder.encode_query(text)
        expected = Counter(vocab[t] for t in analyzer.analyze(text) if t in vocab)
        assert dict(zip(terms.tolist(), weights.tolist())) == expected


# --- spec parsing -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec, message", [
    ("bm25:k2=1", "unknown bm25 option"),
    ("bm25:k1=abc", "k1='abc': expected float"),
    ("bm25:b=x", "expected float"),
    ("bm25:lowercase=maybe", "expected true or false"),
    ("bm25:min_length=two", "expected int"),
    ("bm25:variant=bm26", "unknown BM25 variant"),
    ("bm25:fields=three", "fields must be"),
    ("bm25:lengths=rounded", "lengths must be"),
    ("bm25:b=1.5", "0 <= b <= 1"),
    ("bm25:k1=-1", "k1 >= 0"),
    ("bm25:k1=1,b", "expected key=value"),
    ("bm26:k1=1", "unknown encoder"),
    ("bm25:stemmer=klingon", "unknown stemmer"),
    ("bm25:stopwords=klingon", "unknown stopword list"),
])
def test_bad_specs_are_errors(spec, message):
    with pytest.raises(WinnowError, match=message):
        build_encoder(spec)


def test_spec_parsing():
    assert EncoderSpec.parse("bm25") == EncoderSpec("bm25")
    assert EncoderSpec.parse("BM25:k1=1.2, b=0.75") == EncoderSpec("bm25", None, {"k1": "1.2", "b": "0.75"})
    assert EncoderSpec.parse("bm25:some/tok:lowercase=true") == EncoderSpec("bm25", "some/tok", {"lowercase": "true"})
    encoder = build_encoder("bm25:k1=1.2,b=0.75,variant=robertson,stemmer=english")
    assert (encoder.params.k1, encoder.params.b, encoder.params.variant) == (1.2, 0.75, "robertson")
    assert encoder.analyzer.analyze("fairly") == ["fair"]  # Snowball English, not Porter's "fairli"
    assert build_encoder("bm25:stemmer=none").analyzer.analyze("the fairly") == ["fairly"]


def test_stopwords_none_in_a_spec_turns_stopwords_off():
    """``stopwords=none`` names the built-in empty list (analyze/stopwords.py)."""
    encoder = build_encoder("bm25:stopwords=none")
    assert encoder.analyzer.analyze("the cat") == ["the", "cat"]


def test_bm25_options_follow_the_one_parser():
    """Every encoder parses ``key=value`` alike: on/off booleans, ``none`` where None is allowed."""
    encoder = build_encoder("bm25:lowercase=off,possessive=on,stemmer=none,normalization=NFC,min_length=2,workers=1")
    config = encoder.analyzer.config
    assert (config.lowercase, config.possessive, config.stemmer, config.normalization, config.min_length) == \
        (False, True, None, "NFC", 2)
    assert encoder.workers == 1
    assert encoder.analyzer.analyze("The A cats") == ["The", "cats"]


def _analysed(encoder, docs, interleave_with=None):
    """Term lists of ``docs`` as ``encode_stream`` yields them (batches of 2), optionally alternating
    each batch with another stream's."""
    batches = [docs[i:i + 2] for i in range(0, len(docs), 2)]
    out = []
    for batch in encoder.encode_stream(batches):
        if interleave_with is not None:
            next(interleave_with, None)
        terms = encoder.vocabulary()
        out.append([[terms[t] for t in batch.indices[lo:hi]] for lo, hi in zip(batch.indptr, batch.indptr[1:])])
    return out


def test_builds_in_one_process_keep_their_own_analyzers(tiny_beir):
    """Two BM25 encoders with different analyzers, in worker pools at once, interleaved and in threads."""
    import threading

    from winnow.corpus import open_corpus

    docs = list(open_corpus(tiny_beir))
    specs = ("bm25:stemmer=none,stopwords=none,lowercase=off", "bm25:stemmer=porter")
    expected = [_analysed(build_encoder(spec, workers="1"), docs) for spec in specs]
    assert expected[0] != expected[1]

    plain, stemmed = (build_encoder(spec, workers="2") for spec in specs)
    other = plain.encode_stream([docs[i:i + 2] for i in range(0, len(docs), 2)])
    next(other)
    assert _analysed(stemmed, docs, interleave_with=other) == expected[1]

    results: dict = {}

    def build(i: int) -> None:
        results[i] = [_analysed(build_encoder(specs[i % 2], workers="2"), docs) for _ in range(2)]

    threads = [threading.Thread(target=build, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert results[i] == [expected[i % 2]] * 2
