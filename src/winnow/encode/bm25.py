"""The BM25 family as an eager encoder: term impacts are computed at index time.

A document's impact for term ``t`` is ``idf(t) * tf_part(tf, dl)``; a query is the bag of
its terms (weight = count), so a query's score is a sum of postings (the BM25S idea,
Lù 2024). Variants follow Kamphuis et al., "Which BM25 Do You Mean?" (ECIR 2020):

=========  ====================================  =============================================
variant    idf                                   tf part (L = 1 - b + b * dl / avgdl)
=========  ====================================  =============================================
lucene     ln(1 + (N - df + .5) / (df + .5))     tf / (tf + k1 L)
robertson  ln((N - df + .5) / (df + .5))         (k1 + 1) tf / (tf + k1 L)
atire      ln(N / df)                            (k1 + 1) tf / (tf + k1 L)
bm25l      ln((N + 1) / (df + .5))               (k1 + 1)(c + δ) / (k1 + c + δ), c = tf / L
bm25+      ln((N + 1) / df)                      (k1 + 1) tf / (tf + k1 L) + δ
=========  ====================================  =============================================

Only terms present in a document contribute (δ applies where tf > 0, as in Lv & Zhai 2011).
Multi-field (``fields=multifield``) scores title and text as separate fields, each with its
own length statistics and idf, and sums them with per-field weights, as Anserini's
multifield condition does. ``lengths=lucene`` rounds document lengths as Lucene's norms do
(SmallFloat.intToByte4), so the lucene variant reproduces Anserini's scores.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from winnow.analyze import WordAnalyzer, WordAnalyzerConfig, analyzer_from_dict
from winnow.analyze.subword import SubwordAnalyzer
from winnow.encode.base import DocumentEncoder, QueryEncoder
from winnow.encode.options import field_types, typed_options
from winnow.errors import WinnowError
from winnow.index.postings import Postings
from winnow.types import Document, SparseBatch

_CHUNK = 1 << 22  # postings per pass in finalize: bounds the temporary arrays
_MAX_TOKEN_CACHE = 1 << 20  # query tokens whose term id is remembered


def lucene_idf(df, n_docs):
    """Lucene's BM25 IDF, ``ln(1 + (N - df + 0.5) / (df + 0.5))`` (``BM25Similarity``); 0 where ``df == 0``.

    Every IDF here takes ``(df, n_docs)``: document frequencies (an array) first, the number of
    documents second. The inference-free encoders weigh query tokens with this one too.
    """
    df = np.asarray(df, dtype=np.float64)
    return np.where(df > 0, np.log1p((n_docs - df + 0.5) / (df + 0.5)), 0.0)


def _idf_robertson(df, n):
    return np.log((n - df + 0.5) / (df + 0.5))


def _idf_atire(df, n):
    return np.log(n / df)


def _idf_bm25l(df, n):
    return np.log((n + 1) / (df + 0.5))


def _idf_bm25plus(df, n):
    return np.log((n + 1) / df)


def _tf_lucene(tf, norm, k1, delta):
    return tf / (tf + k1 * norm)


def _tf_robertson(tf, norm, k1, delta):
    return (k1 + 1) * tf / (tf + k1 * norm)


def _tf_bm25l(tf, norm, k1, delta):
    c = tf / norm
    return (k1 + 1) * (c + delta) / (k1 + c + delta)


def _tf_bm25plus(tf, norm, k1, delta):
    return (k1 + 1) * tf / (tf + k1 * norm) + delta


VARIANTS = {
    "lucene": (lucene_idf, _tf_lucene),
    "robertson": (_idf_robertson, _tf_robertson),
    "atire": (_idf_atire, _tf_robertson),
    "bm25l": (_idf_bm25l, _tf_bm25l),
    "bm25+": (_idf_bm25plus, _tf_bm25plus),
}


def lucene_length(dl: np.ndarray) -> np.ndarray:
    """Document length as Lucene stores it: ``byte4ToInt(intToByte4(dl))``.

    Lengths below 24 are exact; above, ``dl - 24`` keeps its 4 most significant bits.
    """
    dl = np.asarray(dl, dtype=np.int64)
    j = np.maximum(dl - 24, 0)
    shift = np.maximum(np.floor(np.log2(np.maximum(j, 1))).astype(np.int64) + 1 - 4, 0)
    return np.where(dl < 24, dl, 24 + ((j >> shift) << shift))


@dataclass(frozen=True)
class FieldStatistics:
    """One field's BM25 statistics over a collection: the documents whose field is non-empty, their
    summed length (so ``avgdl = length_sum / docs``) and each term's document frequency in the field.

    A shard of a larger collection scores exactly as the whole would when its :meth:`BM25Encoder.finalize`
    is given the collection's statistics instead of its own.
    """

    docs: int
    length_sum: int
    df: np.ndarray  # per term id of the index being built


@dataclass(frozen=True)
class BM25Config:
    """BM25 parameters (Anserini's defaults: k1=0.9, b=0.4, Lucene variant, flat fields)."""

    variant: str = "lucene"
    k1: float = 0.9
    b: float = 0.4
    delta: float = 0.5
    fields: str = "flat"  # flat: title + " " + text as one field; multifield: separate fields
    title_weight: float = 1.0
    text_weight: float = 1.0
    lengths: str = "auto"  # lucene | exact | auto (lucene for the lucene variant)

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise WinnowError(f"unknown BM25 variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.fields not in ("flat", "multifield"):
            raise WinnowError(f"fields must be 'flat' or 'multifield', not {self.fields!r}")
        if self.lengths not in ("auto", "lucene", "exact"):
            raise WinnowError(f"lengths must be 'auto', 'lucene' or 'exact', not {self.lengths!r}")
        if self.k1 < 0 or not 0 <= self.b <= 1:
            raise WinnowError(f"need k1 >= 0 and 0 <= b <= 1 (got k1={self.k1}, b={self.b})")

    @property
    def lucene_lengths(self) -> bool:
        return self.lengths == "lucene" or (self.lengths == "auto" and self.variant == "lucene")


_pool_analyzer = None  # set in each pool process by _start_worker; never in the building process


def _start_worker(analyzer) -> None:
    global _pool_analyzer
    _pool_analyzer = analyzer


def _worker_analyze(fields):
    return _analyze_batch(_pool_analyzer, fields)


def _analyze_batch(analyzer, fields: list[tuple[str, ...]]):
    """Term frequencies of a batch over batch-local term numbers.

    Returns ``(terms, lengths, batch)``: the batch's distinct terms, each document's analysed length
    per field, and a CSR batch whose indices number ``terms`` and whose values hold one term
    frequency per field.
    """
    analyze = analyzer.analyze
    local: dict[str, int] = {}
    setdefault = local.setdefault
    n_fields = len(fields[0]) if fields else 1
    lengths = np.zeros((len(fields), n_fields), dtype=np.int32)
    ids: list[int] = []
    for i, texts in enumerate(fields):
        for f, text in enumerate(texts):
            terms = analyze(text)
            lengths[i, f] = len(terms)
            ids.extend([setdefault(t, len(local)) for t in terms])
    flat = lengths.ravel()
    row = np.repeat(np.arange(len(fields) * n_fields) // n_fields, flat)
    col = np.repeat(np.tile(np.arange(n_fields), len(fields)), flat)
    key = (row.astype(np.int64) << 32) | np.asarray(ids, dtype=np.int64)
    uniq, inverse = np.unique(key, return_inverse=True)
    counts = np.bincount(col * len(uniq) + inverse, minlength=n_fields * len(uniq))
    values = counts.reshape(n_fields, len(uniq)).T.astype(np.float32)
    indptr = np.zeros(len(fields) + 1, dtype=np.int64)
    np.cumsum(np.bincount(uniq >> 32, minlength=len(fields)), out=indptr[1:])
    return list(local), lengths, SparseBatch(indptr, (uniq & 0xFFFFFFFF).astype(np.int32), values)


class BM25QueryEncoder(QueryEncoder):
    """Analyze a query; each known term weighs its number of occurrences.

    With a word analyzer, each token's term id (or -1: stopword or unknown term) is cached, so a
    repeated word costs one dictionary lookup instead of filtering, stemming and a vocabulary lookup.
    """

    def __init__(self, analyzer, vocab: dict[str, int]):
        self.analyzer, self.vocab = analyzer, vocab
        self._token_ids: dict[str, int] | None = {} if hasattr(analyzer, "terms") else None

    def _counts(self, text: str) -> dict[int, int]:
        counts: dict[int, int] = {}
        if self._token_ids is None:
            for i in map(self.vocab.get, self.analyzer.analyze(text)):
                if i is not None:
                    counts[i] = counts.get(i, 0) + 1
            return counts
        cache = self._token_ids
        for token in self.analyzer.tokens(text):
            i = cache.get(token)
            if i is None:
                i = self._token_id(token)
            if i >= 0:
                counts[i] = counts.get(i, 0) + 1
        return counts

    def _token_id(self, token: str) -> int:
        if len(self._token_ids) > _MAX_TOKEN_CACHE:
            self._token_ids.clear()
        terms = self.analyzer.terms([token])
        i = self._token_ids[token] = self.vocab.get(terms[0], -1) if terms else -1
        return i

    def encode_query(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = self._counts(text)
        return (np.fromiter(counts.keys(), np.int32, len(counts)),
                np.fromiter(counts.values(), np.float32, len(counts)))

    def encode_queries(self, texts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Many queries at once as CSR ``(ptr, term ids, weights)`` (no per-query arrays)."""
        ptr, terms, weights = [0], [], []
        for text in texts:
            counts = self._counts(text)
            terms.extend(counts)
            weights.extend(counts.values())
            ptr.append(len(terms))
        return np.array(ptr, np.int64), np.array(terms, np.int32), np.array(weights, np.float32)


class BM25Encoder(DocumentEncoder):
    """Document side of BM25: term frequencies per field now, impacts in :meth:`finalize`."""

    kind = "bm25"

    def __init__(self, config: BM25Config | None = None, analyzer=None, workers: int | None = None):
        self.params = config or BM25Config()
        self.analyzer = analyzer or WordAnalyzer()
        self.workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
        self._vocab: dict[str, int] = {}
        self._lengths: list[np.ndarray] = []

    @property
    def n_columns(self) -> int:
        return 2 if self.params.fields == "multifield" else 1

    def config(self) -> dict:
        return {"bm25": asdict(self.params), "analyzer": self.analyzer.to_dict()}

    def vocabulary(self) -> list[str]:
        return list(self._vocab)

    def _fields(self, docs: Sequence[Document]) -> list[tuple[str, ...]]:
        if self.params.fields == "multifield":
            return [(d.title, d.text) for d in docs]
        return [(d.full_text,) for d in docs]

    def encode_documents(self, docs: Sequence[Document]) -> SparseBatch:
        return self._merge(_analyze_batch(self.analyzer, self._fields(docs)))

    def encode_stream(self, batches: Iterable[Sequence[Document]]) -> Iterator[SparseBatch]:
        """Encode batches in order, analysing them in ``workers`` processes (fork) when there are several."""
        batches = iter(batches)
        first = next(batches, None)
        if first is None:
            return
        yield self.encode_documents(first)
        second = next(batches, None)
        if second is None:
            return
        batches = itertools.chain([second], batches)
        import multiprocessing as mp  # here: a one-shot search never needs it

        # Forking a process that runs other threads (a server, a test client) can leave a lock held
        # by one of them locked forever in the child: such processes analyse in-process.
        if self.workers <= 1 or "fork" not in mp.get_all_start_methods() or threading.active_count() > 1:
            yield from map(self.encode_documents, batches)
            return
        # Each pool hands its own analyzer to its workers (forked, so never pickled): two builds
        # in one process, or in two threads, cannot see each other's analyzer.
        with mp.get_context("fork").Pool(self.workers, _start_worker, (self.analyzer,)) as pool:
            pending: deque = deque()
            for batch in batches:
                pending.append(pool.apply_async(_worker_analyze, (self._fields(batch),)))
                if len(pending) > 2 * self.workers:  # bounded read-ahead
                    yield self._merge(pending.popleft().get())
            while pending:
                yield self._merge(pending.popleft().get())

    def _merge(self, analysed) -> SparseBatch:
        """Map a batch's local term numbers to global term ids, growing the vocabulary."""
        terms, lengths, batch = analysed
        setdefault, vocab = self._vocab.setdefault, self._vocab
        mapping = np.fromiter((setdefault(t, len(vocab)) for t in terms), dtype=np.int32, count=len(terms))
        self._lengths.append(lengths)
        return SparseBatch(batch.indptr, mapping[batch.indices], batch.values)

    def add_frequencies(self, terms: Sequence[str], batch: SparseBatch) -> SparseBatch:
        """Take term frequencies counted elsewhere, as :meth:`encode_documents` returns them but with
        ``batch.indices`` numbering ``terms``; return the batch over this encoder's term ids.

        The vocabulary grows and each document's length (its summed frequencies per field) is
        recorded as if the documents had been encoded here, so blocks counted in parallel, each over
        a vocabulary of its own, and replayed in corpus order give the same index as one encoder.
        """
        values = np.asarray(batch.values, dtype=np.float32).reshape(len(batch.indices), self.n_columns)
        rows = np.repeat(np.arange(len(batch)), np.diff(batch.indptr))
        lengths = np.stack([np.bincount(rows, weights=values[:, f], minlength=len(batch))
                            for f in range(self.n_columns)], axis=1).astype(np.int32)
        return self._merge((list(terms), lengths, SparseBatch(batch.indptr, batch.indices, values)))

    def finalize(self, postings: Postings, out_dir: Path,
                 collection: Sequence[FieldStatistics] | None = None) -> np.ndarray:
        """Impacts of ``postings``; ``collection`` gives per field the statistics to score with when the
        postings are one shard of a larger collection (default: their own)."""
        p = self.params
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros((0, self.n_columns), np.int32)
        idf_fn, tf_fn = VARIANTS[p.variant]
        weights = (p.title_weight, p.text_weight) if p.fields == "multifield" else (1.0,)
        impacts = np.zeros(len(postings.docids), dtype=np.float32)
        stats = {}
        for f, weight in enumerate(weights):
            dl = lengths[:, f]
            if collection is None:
                n_docs, length_sum, df = int(np.count_nonzero(dl)), int(dl.sum()), self._document_frequency(postings, f)
            else:
                n_docs, length_sum, df = collection[f].docs, collection[f].length_sum, collection[f].df
            if n_docs == 0:
                continue
            avgdl = length_sum / n_docs
            qdl = lucene_length(dl) if p.lucene_lengths else dl
            with np.errstate(divide="ignore", invalid="ignore"):
                idf = weight * idf_fn(df.astype(np.float64), n_docs)
            stats[f"field{f}"] = {"docs": n_docs, "avgdl": float(avgdl)}
            for lo in range(0, len(impacts), _CHUNK):
                hi = min(lo + _CHUNK, len(impacts))
                tf = postings.raw[lo:hi, f].astype(np.float64)
                norm = 1 - p.b + p.b * qdl[postings.docids[lo:hi]] / avgdl
                with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 where tf == 0, discarded
                    part = np.where(tf > 0, idf[postings.terms_of(lo, hi)] * tf_fn(tf, norm, p.k1, p.delta), 0.0)
                impacts[lo:hi] += part.astype(np.float32)
        (Path(out_dir) / "bm25_stats.json").write_text(json.dumps(stats))
        self.analyzer.save(Path(out_dir))
        return impacts

    @staticmethod
    def _document_frequency(postings: Postings, field: int) -> np.ndarray:
        if postings.raw.shape[1] == 1:
            return postings.document_frequency
        df = np.zeros(postings.n_terms, dtype=np.int64)
        for lo in range(0, len(postings.docids), _CHUNK):
            hi = min(lo + _CHUNK, len(postings.docids))
            present = postings.raw[lo:hi, field] > 0
            df += np.bincount(postings.terms_of(lo, hi)[present], minlength=postings.n_terms)
        return df


_ANALYZER_OPTIONS = ("stemmer", "stopwords", "lowercase", "normalization", "possessive", "min_length")


def _option_types() -> dict[str, str]:
    word = field_types(WordAnalyzerConfig)
    return {**field_types(BM25Config), **{name: word[name] for name in _ANALYZER_OPTIONS},
            "tokenizer": "str | None", "workers": "int | None"}


def build_encoder(model: str | None, options: dict) -> BM25Encoder:
    """Build from spec options, e.g. ``bm25:k1=1.2,b=0.75,variant=bm25+,stemmer=english``.

    ``model`` (``bm25:TOKENIZER``) switches to a subword analyzer over that tokenizer;
    ``workers`` sets the number of analysing processes (default: the number of cores, up to 8).
    Values are parsed by :func:`~winnow.encode.options.typed_options`.
    """
    values = typed_options("bm25", options, _option_types())
    bm25 = {k: v for k, v in values.items() if k in field_types(BM25Config)}
    if "delta" not in bm25 and bm25.get("variant") == "bm25+":
        bm25["delta"] = 1.0
    tokenizer = values.get("tokenizer") or model
    if tokenizer:
        analyzer = SubwordAnalyzer(tokenizer, lowercase=bool(values.get("lowercase", False)))
    else:
        analyzer = WordAnalyzer(WordAnalyzerConfig(**{k: v for k, v in values.items() if k in _ANALYZER_OPTIONS}))
    return BM25Encoder(BM25Config(**bm25), analyzer, values.get("workers"))


def load_query_encoder(config: dict, index_dir: Path) -> BM25QueryEncoder:
    analyzer = analyzer_from_dict(config["analyzer"], index_dir)
    terms = json.loads((index_dir / "vocab.json").read_text(encoding="utf-8"))
    return BM25QueryEncoder(analyzer, {t: i for i, t in enumerate(terms)})
