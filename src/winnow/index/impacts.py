"""Each commit's impacts, from the statistics of the documents that commit keeps.

BM25's idf and length normalisation depend on the collection: N, each term's document frequency
and the average document length. Segments keep raw term frequencies per field and document
lengths; every commit recomputes the statistics over its live documents and writes each
segment's impacts (and the bounds pruning uses) for that generation, with exactly the arithmetic
of :meth:`winnow.encode.bm25.BM25Encoder.finalize`, so a commit's scores equal those of a fresh
build over the same documents, and queries run the same kernels at the same speed as a single
build. Learned encoders' weights need no statistics and are used as they are (8-bit quantisation
aside, whose scale is the largest live impact of the commit).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from winnow.errors import WinnowError

CHUNK = 1 << 22  # postings per pass: bounds the temporary arrays


@dataclass(frozen=True)
class FieldStats:
    """One field's collection statistics over the live documents."""

    n_docs: int  # documents with a non-empty field
    length_sum: int
    df: np.ndarray  # int64 per term

    @property
    def avgdl(self) -> float:
        return self.length_sum / self.n_docs


def _terms_of(indptr: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return (np.searchsorted(indptr, np.arange(lo, hi), side="right") - 1).astype(np.int32)


def live_mask(live: np.ndarray | None, n_docs: int) -> np.ndarray:
    return np.ones(n_docs, bool) if live is None else np.asarray(live, bool)


def collection_stats(segments: list, n_terms: int, n_fields: int) -> list[FieldStats]:
    """Statistics over the live documents of ``segments``.

    Each segment is ``(indptr, docids, raw, lengths, live)`` with ``live`` a bool mask or ``None``.
    """
    n = np.zeros(n_fields, np.int64)
    total = np.zeros(n_fields, np.int64)
    df = np.zeros((n_fields, n_terms), np.int64)
    for indptr, docids, raw, lengths, live in segments:
        alive = live_mask(live, len(lengths))
        for f in range(n_fields):
            dl = np.asarray(lengths[:, f])[alive]
            n[f] += np.count_nonzero(dl)
            total[f] += int(dl.astype(np.int64).sum())
        for lo in range(0, len(docids), CHUNK):
            hi = min(lo + CHUNK, len(docids))
            kept = alive[np.asarray(docids[lo:hi])]
            terms = _terms_of(indptr, lo, hi)
            for f in range(n_fields):
                present = kept & (np.asarray(raw[lo:hi, f]) > 0) if n_fields > 1 else kept
                df[f] += np.bincount(terms[present], minlength=n_terms)
    return [FieldStats(int(n[f]), int(total[f]), df[f]) for f in range(n_fields)]


def bm25_impacts(config: dict, stats: list[FieldStats], indptr, docids, raw, lengths) -> np.ndarray:
    """float32 BM25 impacts of one segment's postings under the collection ``stats``."""
    from winnow.encode.bm25 import VARIANTS, BM25Config, lucene_length

    p = BM25Config(**config["bm25"])
    idf_fn, tf_fn = VARIANTS[p.variant]
    weights = (p.title_weight, p.text_weight) if p.fields == "multifield" else (1.0,)
    impacts = np.zeros(len(docids), dtype=np.float32)
    for f, weight in enumerate(weights):
        s = stats[f]
        if s.n_docs == 0:
            continue
        avgdl = s.length_sum / s.n_docs
        dl = np.asarray(lengths[:, f])
        qdl = lucene_length(dl) if p.lucene_lengths else dl
        with np.errstate(divide="ignore", invalid="ignore"):
            idf = weight * idf_fn(s.df.astype(np.float64), s.n_docs)
        for lo in range(0, len(impacts), CHUNK):
            hi = min(lo + CHUNK, len(impacts))
            tf = np.asarray(raw[lo:hi, f]).astype(np.float64)
            norm = 1 - p.b + p.b * qdl[np.asarray(docids[lo:hi])] / avgdl
            with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 where tf == 0, discarded
                part = np.where(tf > 0, idf[_terms_of(indptr, lo, hi)] * tf_fn(tf, norm, p.k1, p.delta), 0.0)
            impacts[lo:hi] += part.astype(np.float32)
    return impacts


def quantize(impacts: np.ndarray, scale: float) -> np.ndarray:
    """8-bit impacts ``round(x / scale)`` (error <= scale / 2 per posting)."""
    return np.clip(np.rint(impacts / scale), 0, 255).astype(np.uint8)


def u8_scale(top: float, low: float) -> float:
    """``max / 255`` over the live impacts; refuses negative impacts."""
    if low < 0:
        raise WinnowError("8-bit quantisation needs non-negative impacts (this BM25 variant gives negative "
                          "idf for very common terms); use float32 impacts or another variant")
    return top / 255 if top > 0 else 1.0


def live_extremes(impacts: np.ndarray, docids: np.ndarray, live: np.ndarray | None) -> tuple[float, float]:
    """(max, min) of the impacts of live documents' postings (``(-inf, inf)`` when none)."""
    if live is not None:
        impacts = np.asarray(impacts)[np.asarray(live, bool)[np.asarray(docids)]]
    if len(impacts) == 0:
        return -np.inf, np.inf
    return float(np.max(impacts)), float(np.min(impacts))


def load_segment_stats(seg: Path):
    """``(indptr, docids, raw, lengths)`` of a BM25 segment, memory-mapped."""
    return tuple(np.load(seg / f"{name}.npy", mmap_mode="r") for name in ("indptr", "docids", "raw", "lengths"))
