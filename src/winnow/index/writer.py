"""Write an index: new segments, deletions and merges, published as atomic commits.

:class:`IndexWriter` is the one way an index changes. ``add`` writes a new immutable segment,
``delete`` marks documents dead, ``update`` does both for the same ids, ``merge`` folds segments
together dropping dead documents, and ``commit`` publishes all of it at once as
``commit-<N+1>.json`` after recomputing what depends on the whole index (BM25 statistics, see
:mod:`winnow.index.impacts`). Readers see the previous commit until then. Only one writer may hold
an index (``write.lock``); files no recent commit names are removed (see ``docs/index-format.md``).

Example::

    with open_writer("indexes/docs") as w:
        w.add(new_docs)
        w.delete(["doc-17"])
    # leaving the block commits; an exception inside it publishes nothing (call commit() to publish
    # earlier, several times if you like)
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from winnow.errors import IndexFormatError, InputError, WinnowError
from winnow.filters.fields import check_declared
from winnow.index import impacts as imp
from winnow.index.blocks import BLOCK_SIZE, bounds
from winnow.index.columns import field_types
from winnow.index.commit import (COMMIT_RE, check_files, commit_name, describe, generations, load_commit,
                                 write_commit)
from winnow.index.docstore import StringTable, StringTableWriter
from winnow.index.lock import LOCK, WriterLock
from winnow.fsutil import fsync_dir, remove_stale_builds
from winnow.index.manifest import FORMAT, MANIFEST, folder_manifest, fsync_file, is_temporary, write_folder_manifest
from winnow.index.pruned import PRUNED, prune_postings
from winnow.index.segment import SEGMENT_RE, Vocabulary, build_segment, id_hash
from winnow.types import Document, check_documents

log = logging.getLogger("winnow.index")

MAX_SEGMENTS = 10  # a commit with more segments merges the cheapest adjacent run first
MERGE_FACTOR = 4  # segments folded together by one policy merge
QUERY_RE = re.compile(r"^query-(\d{1,12})$")


@dataclass(frozen=True)
class IndexInfo:
    """What a build or commit produced."""

    path: Path
    n_docs: int
    n_terms: int
    n_postings: int
    bytes: int
    seconds: float
    generation: int = 0

    @property
    def docs_per_second(self) -> float:
        return self.n_docs / self.seconds if self.seconds else float("inf")


def index_folder(out: str | Path) -> Path:
    """The folder an index lives in: a symlink is followed to its target; ``.`` is refused."""
    out = Path(out)
    if out.name in ("", ".", ".."):
        raise WinnowError(f"{str(out)!r}: name the index folder (e.g. --out indexes/docs), not the current or "
                          "parent directory")
    if out.is_symlink():
        if not out.exists():
            raise WinnowError(f"{out}: a symlink to {out.readlink()}, which does not exist; create the target "
                              "folder or remove the link")
        return out.resolve()
    if out.exists() and not out.is_dir():
        raise IndexFormatError(f"{out}: exists and is not a winnow index folder; refusing to overwrite it")
    return out


def _jsonable(value):
    return json.loads(json.dumps(value))


class IndexWriter:
    """Change an index through commits (see the module docs).

    Args:
        path: the index folder (created if missing).
        encoder: the document encoder; by default rebuilt from the index's encoder spec.
        fresh: start from no documents (a full rebuild: the previous state stays readable until
            the first commit replaces it).
        spec: the encoder spec string, recorded for later writers (fresh indexes only).
        quantize: ``None`` or ``"u8"`` (fresh indexes only; later writers keep the index's).
        store: keep title, text and metadata (fresh indexes only).
        fields: declared metadata field types, ``{"year": "integer", ...}`` (see
            :class:`~winnow.index.columns.ColumnsWriter`); ``None`` infers them. Fresh indexes only:
            later writers keep the index's (passing other types is an :class:`InputError`).
        batch_size: documents per encoder call.
        merge_at: segments above which a commit merges the smallest neighbours first.
    """

    def __init__(self, path: str | Path, encoder=None, *, fresh: bool = False, spec: str | None = None,
                 quantize: str | None = None, store: bool = True, batch_size: int = 1000,
                 merge_at: int = MAX_SEGMENTS,
                 fields: Mapping[str, str] | None = None):
        if quantize not in (None, "u8"):
            raise WinnowError(f"quantize must be None or 'u8', not {quantize!r}")
        self.path = index_folder(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = WriterLock(self.path)  # first: a second writer is told so, whatever state the folder is in
        try:
            self._open(encoder, fresh, spec, quantize, store, self._check_folder(fresh), fields)
        except BaseException:
            self._lock.release()
            raise
        self.batch_size, self.merge_at = batch_size, merge_at

    def _check_folder(self, fresh: bool) -> list[str]:
        """Refuse a folder holding someone else's files; return a version-1 index's file names."""
        manifest = folder_manifest(self.path)
        if manifest is None:
            if any(p.name != LOCK for p in self.path.iterdir()):
                raise IndexFormatError(f"{self.path}: exists and is not a winnow index; refusing to overwrite it")
            write_folder_manifest(self.path)  # first, so that a killed first build is still recognised
            return []
        if manifest.get("format") != FORMAT:
            raise IndexFormatError(f"{self.path}: holds a {manifest.get('format')!r} folder, not a sparse index")
        if manifest.get("format_version") == 1:
            if not fresh:
                raise IndexFormatError(f"{self.path}: a version-1 index; rebuild it to add documents")
            return [n for n in manifest.get("files", {}) if isinstance(n, str)] + ["manifest.json.tmp"]
        return []

    def _open(self, encoder, fresh, spec, quantize, store, old_v1, fields) -> None:
        self._remove_leftovers()
        gens = generations(self.path)
        self._base = load_commit(self.path, gens[0]) if gens else None
        self._old_v1 = old_v1
        self._next_gen = (self._base["generation"] if self._base else 0) + 1
        self._next_seg = 1 + max([int(m.group(1)) for p in self.path.iterdir() if (m := SEGMENT_RE.match(p.name))],
                                 default=-1)
        base = self._base
        if fresh or base is None:
            if encoder is None:
                if spec is None:
                    raise WinnowError(f"{self.path}: a new index needs an encoder or an encoder spec")
                from winnow.encode.registry import build_encoder

                encoder = build_encoder(spec)
            self.spec, self.quantize, self.store = spec, quantize, store
            self.fields = None if fields is None else check_declared(fields)
            self.encoder_kind, self.encoder_config = encoder.kind, _jsonable(encoder.config())
            # BM25 impacts follow the index's statistics; an encoder carrying a larger collection's
            # statistics (a shard of a sharded index) scores with those instead, once.
            self.rescored = "bm25" in self.encoder_config and getattr(encoder, "statistics", None) is None
            self.segments: list[dict] = []
            self.vocab = Vocabulary([])
            self.pruned = None
            self._query_dir = None  # the first segment's encoder writes the query-side files
        else:
            self.spec, self.store = base.get("spec"), bool(base.get("stored", True))
            self.fields = base.get("fields")
            if fields is not None and dict(fields) != self.fields:
                kept = f"declares {self.fields}" if self.fields is not None else "infers its field types"
                raise InputError(f"{self.path}: the index {kept}, which later writers keep; build it afresh "
                                 f"(fresh=True) to declare {dict(fields)}")
            self.quantize = "u8" if base["impacts"].get("dtype") == "uint8" else None
            self.encoder_kind, self.encoder_config = base["encoder"]["kind"], base["encoder"]["config"]
            self.rescored = bool(base["impacts"].get("rescored"))
            check_files(self.path, base, verify=True)  # what this writer reads must be sound: it re-derives
            self.segments = [{**s, "files": {k: v for k, v in base["files"].items() if k.startswith(f"{s['name']}/")}}
                             for s in base["segments"]]
            try:
                self.vocab = Vocabulary(json.loads((self.path / base["vocabulary"]).read_text(encoding="utf-8")))
            except (OSError, ValueError, UnicodeDecodeError) as exc:
                raise IndexFormatError(f"{self.path}: cannot read the vocabulary ({exc}); the index is damaged") \
                    from exc
            self.pruned = base.get("pruned")
            self._query_dir = self.path / base["query_files"]
        self._encoder = encoder
        self._fresh = fresh or base is None
        self._live: dict[str, np.ndarray] = {}  # changed deletion masks by segment name
        self._dirty = self._fresh
        self._tables: dict[str, tuple] = {}

    @property
    def encoder(self):
        if self._encoder is None:
            if not self.spec:
                raise WinnowError(f"{self.path}: the index records no encoder spec; pass the encoder to open_writer")
            from winnow.encode.registry import build_encoder

            self._encoder = build_encoder(self.spec)
        if _jsonable(self._encoder.config()) != self.encoder_config:
            raise WinnowError(f"{self.path}: the encoder's config differs from the index's; documents would not "
                              "be comparable (rebuild the index to change encoders)")
        return self._encoder


    # ---- documents -------------------------------------------------------------------------------

    def add(self, docs: Iterable[Document], progress: Callable[[int], None] | None = None) -> int:
        """Write ``docs`` as a new segment (visible after :meth:`commit`); return how many.

        Raises:
            InputError: an id already in the index (use :meth:`update`) or twice in ``docs``.
        """
        docs = check_documents(docs)
        seg = self.path / f"seg-{self._next_seg}"
        self._next_seg += 1
        query_dir = None
        if self._query_dir is None:
            query_dir = self.path / f"query-{self._next_gen}"
            shutil.rmtree(query_dir, ignore_errors=True)
            query_dir.mkdir()
        try:
            entry = build_segment(seg, docs, self.encoder, self.vocab, rescored=self.rescored,
                                  batch_size=self.batch_size, store=self.store, known=self._known,
                                  query_dir=query_dir, progress=progress,
                                  field_types=field_types(e.get("columns") for e in self.segments),
                                  fields=self.fields)
        except BaseException:
            shutil.rmtree(seg, ignore_errors=True)
            if query_dir is not None:
                shutil.rmtree(query_dir, ignore_errors=True)
            raise
        if entry is None:
            shutil.rmtree(seg, ignore_errors=True)
            if query_dir is not None:
                shutil.rmtree(query_dir, ignore_errors=True)
            return 0
        if query_dir is not None:
            self._query_dir = query_dir
        entry["files"] = describe(self.path, [f"{seg.name}/{p.name}" for p in seg.iterdir()])
        self.segments.append(entry)
        self._dirty = True
        return entry["n_docs"]

    def delete(self, ids: Iterable[str]) -> int:
        """Mark the documents with these ids deleted; return how many were found."""
        found = 0
        for _, s, docno in self._locate(list(ids)):
            live = self._live_of(s)
            if live[docno]:
                live[docno] = 0
                found += 1
        self._dirty = self._dirty or found > 0
        return found

    def update(self, docs: Iterable[Document], progress: Callable[[int], None] | None = None) -> int:
        """Replace documents by id (adding those not yet in the index); return how many were written."""
        docs = list(check_documents(docs))
        self.delete([d.id for d in docs])
        return self.add(docs, progress)

    def _live_of(self, s: int) -> np.ndarray:
        entry = self.segments[s]
        if entry["name"] not in self._live:
            live = entry.get("live")
            self._live[entry["name"]] = (np.load(self.path / live).astype(np.uint8) if live
                                         else np.ones(entry["n_docs"], np.uint8))
        return self._live[entry["name"]]

    def _is_live(self, s: int, docno: int) -> bool:
        entry = self.segments[s]
        if entry["name"] in self._live:
            return bool(self._live[entry["name"]][docno])
        return not entry.get("live") or bool(self._live_of(s)[docno])

    def _table(self, s: int):
        name = self.segments[s]["name"]
        if name not in self._tables:
            seg = self.path / name
            self._tables[name] = (np.load(seg / "ids-hash.npy"), np.load(seg / "ids-docno.npy"),
                                  StringTable(seg, "doc_ids"))
        return self._tables[name]

    def _locate(self, ids: Sequence[str]) -> list[tuple[int, int, int]]:
        """``(position in ids, segment, docno)`` of each live document among ``ids`` (unknown ids are skipped)."""
        if not ids:
            return []
        hashes = np.array([id_hash(i) for i in ids], np.uint64)
        out = []
        for s in range(len(self.segments)):
            table, docnos, strings = self._table(s)
            lo = np.searchsorted(table, hashes, "left")
            hi = np.searchsorted(table, hashes, "right")
            for q in np.flatnonzero(hi > lo).tolist():
                for docno in docnos[lo[q]:hi[q]].tolist():
                    if strings[docno] == ids[q] and self._is_live(s, docno):
                        out.append((q, s, docno))
        return out

    def _known(self, ids: Sequence[str]) -> list[str]:
        return [ids[q] for q, _, _ in self._locate(ids)]

    # ---- merging -----------------------------------------------------------------------------------

    def merge(self, max_segments: int = 1) -> None:
        """Fold segments until at most ``max_segments`` remain, dropping deleted documents."""
        while len(self.segments) > max(1, max_segments):
            self._merge_run(*self._cheapest_run(min(MERGE_FACTOR, len(self.segments) - max_segments + 1)
                                                if max_segments > 1 else len(self.segments)))
        if len(self.segments) == 1 and self._n_dead(0):
            self._merge_run(0, 1)

    def _n_dead(self, s: int) -> int:
        entry = self.segments[s]
        if entry["name"] not in self._live and not entry.get("live"):
            return 0
        return int(entry["n_docs"] - self._live_of(s).sum())

    def _cheapest_run(self, width: int) -> tuple[int, int]:
        sizes = [e["n_postings"] for e in self.segments]
        start = min(range(len(sizes) - width + 1), key=lambda i: sum(sizes[i:i + width]))
        return start, start + width

    def _merge_run(self, lo: int, hi: int) -> None:
        from winnow.index.merge import merge_segments

        run = self.segments[lo:hi]
        lives = [self._live_of(s) for s in range(lo, hi)]
        seg = self.path / f"seg-{self._next_seg}"
        self._next_seg += 1
        try:
            entry = merge_segments(self.path, run, lives, seg, len(self.vocab), self.rescored, self.store)
        except BaseException:
            shutil.rmtree(seg, ignore_errors=True)
            raise
        for e in run:
            self._live.pop(e["name"], None)
            self._tables.pop(e["name"], None)
        if entry is not None:
            entry["files"] = describe(self.path, [f"{seg.name}/{p.name}" for p in seg.iterdir()])
        self.segments[lo:hi] = [entry] if entry is not None else []
        self._dirty = True

    # ---- committing --------------------------------------------------------------------------------

    def prune(self, max_postings: int) -> None:
        """Keep statically pruned postings (``max_postings`` per term) for approximate search."""
        if max_postings < 1:
            raise WinnowError(f"max_postings must be at least 1, not {max_postings}")
        self.pruned = {"max_postings": int(max_postings)}
        for entry in self.segments:
            entry.pop("pruned", None)
        self._dirty = True

    def commit(self) -> int:
        """Publish every change since the last commit as one new commit; return its generation."""
        if not self._dirty:
            return self._next_gen - 1
        start = time.perf_counter()
        for s in reversed(range(len(self.segments))):  # segments without a live document go
            if self._n_dead(s) == self.segments[s]["n_docs"]:
                self._live.pop(self.segments[s]["name"], None)
                del self.segments[s]
        while len(self.segments) > self.merge_at:
            self._merge_run(*self._cheapest_run(min(MERGE_FACTOR, len(self.segments) - self.merge_at + 1)))
        gen = self._next_gen
        for s, entry in enumerate(self.segments):
            if entry["name"] in self._live:
                live = self._live[entry["name"]]
                if live.all():
                    entry["live"] = None
                else:
                    name = f"{entry['name']}/live-{gen}.npy"
                    _save(self.path / name, live)
                    entry["live"] = name
                    entry["files"] = {k: v for k, v in entry["files"].items() if "/live-" not in k}
                    entry["files"].update(describe(self.path, [name]))
        impacts_info = self._write_impacts(gen)
        vocab_name, query_name = self._write_query_files(gen)
        files: dict[str, dict] = {}
        for entry in self.segments:
            files.update(entry["files"])
        files.update(describe(self.path, [vocab_name]))
        qdir = self.path / query_name
        files.update(describe(self.path, [f"{query_name}/{p.name}" for p in qdir.iterdir() if p.name != "vocab.json"]))
        n_live = sum(e["n_docs"] - self._n_dead(s) for s, e in enumerate(self.segments))
        commit = {
            "generation": gen,
            "encoder": {"kind": self.encoder_kind, "config": self.encoder_config},
            "spec": self.spec,
            "stored": self.store,
            "fields": self.fields,
            "n_docs": n_live,
            "n_terms": len(self.vocab),
            "n_postings": sum(e["n_postings"] for e in self.segments),
            "impacts": impacts_info,
            "pruned": self.pruned,
            "vocabulary": vocab_name,
            "query_files": query_name,
            "next_segment": self._next_seg,
            "segments": [{k: v for k, v in e.items() if k != "files"} for e in self.segments],
            "files": files,
        }
        if not (self.path / MANIFEST).is_file() or self._old_v1:
            write_folder_manifest(self.path)
        write_commit(self.path, commit)
        self._base, self._next_gen = commit, gen + 1
        self._live.clear()
        self._dirty = False
        self._collect_garbage()
        log.info("commit %d: %d documents in %d segments (%.2f s)", gen, n_live, len(self.segments),
                 time.perf_counter() - start)
        return gen

    def _write_impacts(self, gen: int) -> dict:
        """Write this commit's impacts and bounds where they changed; return the commit's impact info."""
        lives = [self._live_of(s) if self._n_dead(s) else None for s in range(len(self.segments))]
        segs = [self.path / e["name"] for e in self.segments]
        floats: list = []
        if self.rescored:
            stats_in = [(*imp.load_segment_stats(p), live) for p, live in zip(segs, lives)]
            n_fields = stats_in[0][2].shape[1] if stats_in else 1
            stats = imp.collection_stats(stats_in, len(self.vocab), n_fields)
            floats = [imp.bm25_impacts(self.encoder_config, stats, *s[:4]) for s in stats_in]
        else:
            floats = [np.load(p / "weights.npy", mmap_mode="r") for p in segs]
        top, low = -np.inf, np.inf
        for e, x, live, p in zip(self.segments, floats, lives, segs):
            t, lo = imp.live_extremes(x, np.load(p / "docids.npy", mmap_mode="r"), live)
            top, low = max(top, t), min(low, lo)
        top, low = (0.0, 0.0) if top == -np.inf else (top, low)
        scale = imp.u8_scale(top, low) if self.quantize == "u8" else 1.0
        info = {"dtype": "uint8" if self.quantize == "u8" else "float32", "scale": scale, "min": low,
                "max": top, "block_size": BLOCK_SIZE, "rescored": self.rescored}
        derived = self.rescored or self.quantize == "u8"
        for e, x, p in zip(self.segments, floats, segs):
            if derived:
                values = imp.quantize(np.asarray(x), scale) if self.quantize == "u8" else np.asarray(x)
                names = {k: f"{k}-{gen}.npy" for k in ("impacts", "term_max", "block_max")}
                indptr = np.load(p / "indptr.npy")
                docids = np.load(p / "docids.npy", mmap_mode="r")
                term_max, _, _, block_max = bounds(indptr, docids, values)
                for key, array in (("impacts", values), ("term_max", term_max), ("block_max", block_max)):
                    _save(p / names[key], array)
                e.update(names)
                e.pop("pruned", None)
                e["files"] = {k: v for k, v in e["files"].items()
                              if not re.search(r"/(impacts|term_max|block_max|pruned-.*)-\d+\.npy$", k)}
                e["files"].update(describe(self.path, [f"{e['name']}/{n}" for n in names.values()]))
            else:
                e.update({"impacts": "weights.npy", "term_max": "term_max.npy", "block_max": "block_max.npy"})
            if derived or "non_negative" not in e:
                e["non_negative"] = bool(np.asarray(x).min(initial=0.0) >= 0)
            if self.pruned and not e.get("pruned"):
                e["pruned"] = self._write_pruned(p, e, gen)
        return info

    def _write_pruned(self, seg: Path, entry: dict, gen: int) -> dict:
        indptr = np.load(seg / "indptr.npy")
        docids = np.load(seg / "docids.npy", mmap_mode="r")
        values = np.load(seg / entry["impacts"], mmap_mode="r")
        ptr, docs, vals = prune_postings(indptr, docids, values, self.pruned["max_postings"])
        names = {}
        for key, array in zip(PRUNED, (ptr, docs, vals, *bounds(ptr, docs, vals))):
            names[key] = f"pruned-{key}-{gen}.npy"
            _save(seg / names[key], array)
        entry["files"].update(describe(self.path, [f"{entry['name']}/{n}" for n in names.values()]))
        return names

    def _write_query_files(self, gen: int) -> tuple[str, str]:
        """The vocabulary and query-side files of this commit (a new folder when the vocabulary grew)."""
        base = self._base
        old = self._query_dir
        if base and old == self.path / base["query_files"] and base["n_terms"] == len(self.vocab):
            return base["vocabulary"], base["query_files"]
        name = f"query-{gen}"
        qdir = self.path / name
        if old is None:
            old = qdir
            qdir.mkdir(exist_ok=True)
        elif old != qdir:
            shutil.rmtree(qdir, ignore_errors=True)
            shutil.copytree(old, qdir)
        (qdir / "vocab.json").write_text(json.dumps(self.vocab.terms, ensure_ascii=False), encoding="utf-8")
        for p in qdir.iterdir():
            fsync_file(p)
        fsync_dir(qdir)
        self._query_dir = qdir
        return f"{name}/vocab.json", name

    # ---- garbage -----------------------------------------------------------------------------------

    def _kept_files(self) -> set[str]:
        """Files named by the newest commit and the one before it (readers may still hold those)."""
        keep: set[str] = set()
        for g in generations(self.path)[:2]:
            try:
                keep.update(load_commit(self.path, g)["files"])
            except IndexFormatError:
                continue
            keep.add(commit_name(g))
        return keep

    def _collect_garbage(self) -> None:
        """Remove winnow's own files that neither of the two newest commits names."""
        keep = self._kept_files()
        kept_dirs = {Path(n).parts[0] for n in keep if len(Path(n).parts) > 1}
        for p in self.path.iterdir():
            if COMMIT_RE.match(p.name) and p.name not in keep:
                p.unlink(missing_ok=True)
            elif (SEGMENT_RE.match(p.name) or QUERY_RE.match(p.name)) and p.is_dir():
                if p.name not in kept_dirs:
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    for f in p.iterdir():
                        if f"{p.name}/{f.name}" not in keep:
                            _remove(f)
        for name in self._old_v1:  # a version-1 index this build replaced
            if name not in keep and not SEGMENT_RE.match(Path(name).parts[0]):
                (self.path / name).unlink(missing_ok=True)
            elif Path(name).parts[0] not in kept_dirs:
                _remove(self.path / Path(name).parts[0])
        self._old_v1 = []
        fsync_dir(self.path)

    def _remove_leftovers(self) -> None:
        """Remove what killed writers left: temporary files, and folders of interrupted builds beside the index."""
        for p in [*self.path.iterdir(), *(f for d in self.path.iterdir() if SEGMENT_RE.match(d.name) and d.is_dir()
                                           for f in d.iterdir())]:
            if is_temporary(p.name):
                _remove(p)
        remove_stale_builds(self.path)
        keep = self._kept_files()
        dirs = {Path(n).parts[0] for n in keep if len(Path(n).parts) > 1}
        for p in self.path.iterdir():
            if (SEGMENT_RE.match(p.name) or QUERY_RE.match(p.name)) and p.name not in dirs:
                _remove(p)  # a segment or query folder of a commit that never happened

    def close(self) -> None:
        """Release the write lock (uncommitted changes are dropped; their files go at the next open)."""
        self._lock.release()

    def __enter__(self) -> "IndexWriter":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        """Commit what was written unless the block raised (then nothing of it is published)."""
        try:
            if exc_type is None:
                self.commit()
        finally:
            self.close()

    def info(self, seconds: float) -> IndexInfo:
        c = self._base
        size = sum(f["bytes"] for f in c["files"].values())
        return IndexInfo(self.path, c["n_docs"], c["n_terms"], c["n_postings"], size, seconds, c["generation"])


def _save(path: Path, array: np.ndarray) -> None:
    np.save(path, array)
    fsync_file(path)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def open_writer(path: str | Path, encoder=None, **options) -> IndexWriter:
    """An :class:`IndexWriter` on ``path`` (see its arguments)."""
    return IndexWriter(path, encoder, **options)


def build_index(docs: Iterable[Document], encoder, out: str | Path, *, batch_size: int = 1000,
                quantize: str | None = None, store: bool = True,
                progress: Callable[[int], None] | None = None, spec: str | None = None,
                fields: Mapping[str, str] | None = None) -> IndexInfo:
    """Encode ``docs`` into the index folder ``out`` as one new commit.

    An index already at ``out`` is replaced by the new commit (its readers keep their snapshot);
    a folder holding anything else is refused.

    Args:
        docs: documents, streamed once.
        encoder: a :class:`~winnow.encode.base.DocumentEncoder`.
        out: the index folder (a symlink writes through to its target).
        batch_size: documents per encoder call (bounds memory).
        quantize: ``None`` for float32 impacts or ``"u8"`` for 8-bit impacts.
        store: keep title/text/metadata for display (ids are always kept).
        progress: called with the number of documents done after each batch.
        spec: the encoder spec string the encoder was built from, recorded in the commit.
        fields: declared metadata field types (see :class:`IndexWriter`); ``None`` infers them.
    """
    start = time.perf_counter()
    folder = index_folder(out)
    existed = folder.exists()
    new = not existed or not any(folder.iterdir())
    try:
        with IndexWriter(folder, encoder, fresh=True, spec=spec, quantize=quantize, store=store,
                         batch_size=batch_size, fields=fields) as writer:
            if writer.add(docs, progress) == 0:
                raise InputError("empty corpus: no documents to index")
            writer.commit()
            info = writer.info(time.perf_counter() - start)
    except BaseException:
        if new and folder.is_dir() and not generations(folder):  # everything there is this build's
            for p in folder.iterdir():
                _remove(p)
            if not existed:
                folder.rmdir()
        raise
    log.info("indexed %d documents in %.1f s (%d postings)", info.n_docs, info.seconds, info.n_postings)
    return info
