"""Open one commit of an index: check it, then memory-map every file it names at once.

A reader reads only the files its commit names and maps them all while opening, so a writer
that commits (and later removes files of older commits) never changes what an open reader sees.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from winnow.errors import IndexFormatError
from winnow.index.checks import check_offsets, check_postings, check_vector
from winnow.index.commit import check_files, generations, load_commit
from winnow.index.docstore import StringTable
from winnow.index.manifest import check_folder
from winnow.index.segment import SEGMENT_RE, id_hash

# Small files whose damage structure cannot reveal: checksummed on every open.
_ALWAYS_DIGESTED = re.compile(r"(^query-\d+/)|(/(doc_ids\.|ids-|live-))")
_OPEN_ATTEMPTS = 5  # a writer may remove an old commit's files while we open: retry on the newest


def _load(path: Path, mmap: bool = True) -> np.ndarray:
    try:
        if path.stat().st_size < 4096 or not mmap:
            return np.load(path, allow_pickle=False)
        return np.asarray(np.load(path, mmap_mode="r", allow_pickle=False))
    except FileNotFoundError:
        raise
    except Exception as exc:  # numpy's header parser raises whatever its tokenizer does
        raise IndexFormatError(f"{path}: unreadable array ({exc!r}); the index is damaged") from None


def _name(entry: dict, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or "/" in value or value.startswith("."):
        raise IndexFormatError(f"segment {entry.get('name')!r}: bad file name for {key}: {value!r}")
    return value


class Segment:
    """One segment of an open commit.

    Attributes:
        base: global number of its first document (segments number their documents in order).
        arrays: its postings (:class:`~winnow.retrieve.dispatch.SegmentArrays`).
        pruned: its pruned postings (the full ones when it has none).
        live: uint8 per document, or empty when no document is deleted.
    """

    def __init__(self, folder: Path, entry: dict, base: int, n_terms: int, block_size: int, stored: bool):
        from winnow.retrieve.dispatch import SegmentArrays

        name = entry.get("name")
        n_docs = entry.get("n_docs")
        if not isinstance(name, str) or not SEGMENT_RE.match(name) or not isinstance(n_docs, int) \
                or not 0 < n_docs < 2**31:
            raise IndexFormatError(f"{folder}: a damaged segment entry {name!r}")
        self.name, self.n_docs, self.base = name, n_docs, base
        self.path = seg = folder / name
        where = f"{folder}/{name}"
        non_negative = entry.get("non_negative")
        if not isinstance(non_negative, bool):
            raise IndexFormatError(f"{where}: damaged segment entry (non_negative)")
        indptr = _load(seg / "indptr.npy", mmap=False)
        docids = _load(seg / "docids.npy")
        self.arrays = SegmentArrays(indptr, docids, _load(seg / _name(entry, "impacts")),
                                    _load(seg / _name(entry, "term_max"), mmap=False).astype(np.float32, copy=False),
                                    _load(seg / "block_ptr.npy"), _load(seg / "block_last.npy"),
                                    _load(seg / _name(entry, "block_max")), block_size, non_negative)
        check_postings(where, self.arrays, n_docs, n_terms)
        self.pruned = self.arrays
        if entry.get("pruned"):
            p = entry["pruned"]
            if not isinstance(p, dict):
                raise IndexFormatError(f"{where}: damaged pruned postings entry")
            arrays = [_load(seg / _name(p, key)) for key in ("indptr", "docids", "impacts", "term_max", "block_ptr",
                                                               "block_last", "block_max")]
            self.pruned = SegmentArrays(*arrays, block_size, non_negative)
            check_postings(f"{where} (pruned)", self.pruned, n_docs, n_terms)
        self.live = np.zeros(0, np.uint8)
        if entry.get("live"):
            live_name = entry["live"]
            if not isinstance(live_name, str) or not live_name.startswith(f"{name}/live-"):
                raise IndexFormatError(f"{where}: bad deletion file name {live_name!r}")
            self.live = _load(folder / live_name, mmap=False)
            check_vector(where, "live", self.live, (np.uint8,), n_docs)
        self.n_live = int(np.count_nonzero(self.live)) if len(self.live) else n_docs
        self.ids = StringTable(seg, "doc_ids")
        check_offsets(f"{where}/doc_ids", self.ids._offsets, n_docs, len(self.ids._data))
        self.id_hash = _load(seg / "ids-hash.npy", mmap=False)
        self.id_docno = _load(seg / "ids-docno.npy", mmap=False)
        check_vector(where, "ids-hash", self.id_hash, (np.uint64,), n_docs)
        check_vector(where, "ids-docno", self.id_docno, (np.int32,), n_docs)
        if n_docs and (self.id_docno.min() < 0 or self.id_docno.max() >= n_docs):
            raise IndexFormatError(f"{where}: id table out of range; the index is damaged")
        self.store = None
        if stored:
            self.store = StringTable(seg, "docstore")
            check_offsets(f"{where}/docstore", self.store._offsets, n_docs, len(self.store._data))
        self.columns = None
        if entry.get("columns"):
            from winnow.index.columns import Columns

            self.columns = Columns(seg, entry["columns"])

    def locate(self, doc_id: str) -> int | None:
        """Local number of the live document ``doc_id`` here, or ``None``."""
        h = np.uint64(id_hash(doc_id))
        lo, hi = np.searchsorted(self.id_hash, h, "left"), np.searchsorted(self.id_hash, h, "right")
        for docno in self.id_docno[lo:hi].tolist():
            if self.ids[docno] == doc_id and (not len(self.live) or self.live[docno]):
                return docno
        return None


class SparseIndex:
    """A loaded index: the newest commit's segments, vocabulary and settings.

    Args:
        path: the index folder.
        verify: check every file's checksum (the commit's own checksum, every file's size, the
            small files' checksums and the structure of every array are always checked).
    """

    def __init__(self, path: str | Path, verify: bool = True):
        self.path = Path(path)
        check_folder(self.path)
        self.verify = verify
        for attempt in range(_OPEN_ATTEMPTS):
            gen = self._newest()
            try:
                self._open(load_commit(self.path, gen), verify)
                return
            except (OSError, IndexFormatError) as exc:
                if attempt + 1 < _OPEN_ATTEMPTS and self._newest() != gen:
                    continue  # a writer committed meanwhile: open its commit instead
                if isinstance(exc, IndexFormatError):
                    raise
                raise IndexFormatError(f"{self.path}: cannot read commit {gen} ({exc}); the index is damaged") \
                    from None

    def _newest(self) -> int:
        gens = generations(self.path)
        if not gens:
            raise IndexFormatError(f"{self.path}: an index folder without any commit (an interrupted first "
                                   "build?); build the index again")
        return gens[0]

    def _open(self, commit: dict, verify: bool) -> None:
        folder = self.path
        try:
            check_files(folder, commit, verify,
                        frozenset(n for n in commit["files"] if _ALWAYS_DIGESTED.search(n) or n == commit["vocabulary"]))
            for name in [commit["vocabulary"], commit["query_files"]]:
                if name.split("/")[0] != commit["query_files"] or not re.match(r"^query-\d+$", commit["query_files"]):
                    raise IndexFormatError(f"{folder}: commit names a bad query folder {name!r}")
            if commit["vocabulary"] not in commit["files"]:
                raise IndexFormatError(f"{folder}: the commit does not checksum its vocabulary")
            info = commit["impacts"]
            self.scale = float(info["scale"])
            self.block_size = int(info["block_size"])
            if not np.isfinite(self.scale) or self.scale <= 0 or self.block_size < 1:
                raise IndexFormatError(f"{folder}: damaged impact settings {info}")
            self.vocabulary = json.loads((folder / commit["vocabulary"]).read_text(encoding="utf-8"))
            if not isinstance(self.vocabulary, list) or len(self.vocabulary) != commit["n_terms"]:
                raise IndexFormatError(f"{folder}: vocabulary does not hold the commit's {commit['n_terms']} terms")
            segments, base = [], 0
            for entry in commit["segments"]:
                if not isinstance(entry, dict):
                    raise IndexFormatError(f"{folder}: a damaged segment entry")
                seg = Segment(folder, entry, base, commit["n_terms"], self.block_size, bool(commit.get("stored")))
                segments.append(seg)
                base += seg.n_docs
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            if isinstance(exc, IndexFormatError):
                raise
            raise IndexFormatError(f"{folder}: damaged commit {commit.get('generation')} ({exc!r})") from None
        if sum(s.n_live for s in segments) != commit["n_docs"]:
            raise IndexFormatError(f"{folder}: commit counts {commit['n_docs']} documents but its segments hold "
                                   f"{sum(s.n_live for s in segments)}")
        self.manifest = commit
        self.segments = segments
        self.generation = commit["generation"]
        self.query_dir = folder / commit["query_files"]
        self._bases = np.array([s.base for s in segments], np.int64)

    @property
    def n_docs(self) -> int:
        """Live documents."""
        return int(self.manifest["n_docs"])

    @property
    def n_terms(self) -> int:
        return int(self.manifest["n_terms"])

    @property
    def encoder_kind(self) -> str:
        return self.manifest["encoder"]["kind"]

    @property
    def encoder_config(self) -> dict:
        return self.manifest["encoder"]["config"]

    def newer(self) -> bool:
        """Whether the folder holds a newer commit than this one."""
        gens = generations(self.path)
        return bool(gens) and gens[0] > self.generation

    def _single(self):
        if len(self.segments) != 1 or len(self.segments[0].live):
            raise IndexFormatError(f"{self.path}: {len(self.segments)} segments or deletions; per-array access "
                                   "needs one segment (run `winnow merge`)")
        return self.segments[0]

    @property
    def indptr(self) -> np.ndarray:
        """The single segment's term pointers (see :meth:`_single`); :meth:`document_frequency` works always."""
        return self._single().arrays.indptr

    @property
    def docids(self) -> np.ndarray:
        return self._single().arrays.docids

    @property
    def impacts(self) -> np.ndarray:
        return self._single().arrays.impacts

    def document_frequency(self) -> np.ndarray:
        """Live documents holding each term."""
        df = np.zeros(self.n_terms, np.int64)
        for s in self.segments:
            a = s.arrays
            if len(s.live):
                terms = np.repeat(np.arange(len(a.indptr) - 1), np.diff(a.indptr))
                df += np.bincount(terms[s.live[a.docids] > 0], minlength=self.n_terms)
            else:
                df[: len(a.indptr) - 1] += np.diff(a.indptr)
        return df

    def where(self, docno: int) -> tuple[Segment, int]:
        """The segment of a global document number and the number inside it."""
        s = int(np.searchsorted(self._bases, docno, "right")) - 1
        if s < 0 or docno - self.segments[s].base >= self.segments[s].n_docs:
            raise IndexError(f"document number {docno} is not in this index")
        return self.segments[s], int(docno - self.segments[s].base)

    def doc_id(self, docno: int) -> str:
        seg, local = self.where(int(docno))
        return self._decode(seg.ids, local)

    def doc_ids(self, docnos: np.ndarray) -> list[str]:
        docnos = np.asarray(docnos, np.int64)
        try:
            if len(self.segments) == 1:
                return self.segments[0].ids.take(docnos)
            out: list[str] = [""] * len(docnos)
            owner = np.searchsorted(self._bases, docnos, "right") - 1
            for s in np.unique(owner).tolist():
                at = np.flatnonzero(owner == s)
                for i, doc_id in zip(at.tolist(), self.segments[s].ids.take(docnos[at] - self._bases[s])):
                    out[i] = doc_id
            return out
        except UnicodeDecodeError:
            raise IndexFormatError(f"{self.path}: a damaged document id (run `winnow verify`)") from None

    def _decode(self, table: StringTable, local: int) -> str:
        try:
            return table[local]
        except UnicodeDecodeError:
            raise IndexFormatError(f"{self.path}: a damaged string table (run `winnow verify`)") from None

    def document(self, docno: int) -> dict:
        """Stored title/text/metadata of a document (``{}`` when the index keeps no text)."""
        seg, local = self.where(int(docno))
        if seg.store is None:
            return {}
        try:
            record = json.loads(self._decode(seg.store, local))
        except ValueError:
            raise IndexFormatError(f"{seg.path}: a damaged stored document (run `winnow verify`)") from None
        if not isinstance(record, dict):
            raise IndexFormatError(f"{seg.path}: a damaged stored document (run `winnow verify`)")
        return record

    def locate(self, doc_id: str) -> int | None:
        """Global number of the live document ``doc_id``, or ``None``."""
        for seg in self.segments:
            local = seg.locate(doc_id)
            if local is not None:
                return seg.base + local
        return None

    def postings(self, term: int) -> tuple[np.ndarray, np.ndarray]:
        """Global doc numbers and impacts (float32, dequantised) of one term's live postings."""
        docs, imps = [], []
        for seg in self.segments:
            a = seg.arrays
            if term >= len(a.indptr) - 1:
                continue
            lo, hi = a.indptr[term], a.indptr[term + 1]
            d = np.asarray(a.docids[lo:hi])
            keep = seg.live[d] > 0 if len(seg.live) else slice(None)
            docs.append(d[keep].astype(np.int64) + seg.base)
            imps.append(np.asarray(a.impacts[lo:hi], dtype=np.float32)[keep] * np.float32(self.scale))
        if not docs:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return np.concatenate(docs), np.concatenate(imps)

    def field_types(self) -> dict[str, str]:
        """``{field: type}`` over every segment's metadata columns."""
        types: dict[str, str] = {}
        for seg in self.segments:
            if seg.columns is not None:
                types.update(seg.columns.types)
        return types


class DocIds(Sequence[str]):
    """The external ids of ``docnos`` in ``index``, decoded only when read: a retriever's run
    keeps its ids this way, so a pipeline that keeps ten of a thousand hits decodes ten.
    Pickled, it is the plain list of ids."""

    __slots__ = ("_index", "_docnos")

    def __init__(self, index: SparseIndex, docnos: np.ndarray):
        self._index, self._docnos = index, docnos

    def __len__(self) -> int:
        return len(self._docnos)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._index.doc_ids(self._docnos[i])
        return self._index.doc_ids(np.array([self._docnos[i]]))[0]

    def __iter__(self):
        return iter(self._index.doc_ids(self._docnos))

    def of(self, docnos: np.ndarray) -> list[str]:
        """The ids of other document numbers of the same index, decoded in one call."""
        return self._index.doc_ids(docnos)

    def __reduce__(self):
        return list, (list(self),)
