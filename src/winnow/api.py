"""The Python API that the CLI mirrors: build an index, open it, search, evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from winnow.errors import WinnowError

from winnow.index.writer import IndexInfo
from winnow.types import Document


def index_corpus(corpus: str | Path | Iterable[Document], out: str | Path, encoder: str | Sequence[str] = "bm25", *,
                 batch_size: int = 1000, quantize: str | None = None, store: bool = True,
                 skip_bad: bool = False, skipped: list | None = None,
                 progress: Callable[[int], None] | None = None, fields: Mapping[str, str] | None = None,
                 **record_fields) -> IndexInfo:
    """Index a corpus (a BEIR folder, a JSONL/CSV/TSV/Parquet file, or documents) into ``out``.

    Args:
        corpus: a path, or an iterable of :class:`~winnow.types.Document`.
        out: the index folder (an index already there is replaced once the build succeeds).
        encoder: an encoder spec, e.g. ``bm25``, ``bm25:k1=1.2,b=0.75,variant=bm25+``,
            ``splade:MODEL``, ``inference-free:MODEL:prune_ratio=0.1``; or several, which builds
            one index per spec inside ``out`` and saves ``out`` as a pipeline fusing them (see
            :func:`index_hybrid`).
        quantize: ``"u8"`` for 8-bit impacts.
        skip_bad: skip malformed records (each appended to ``skipped`` and logged) instead of failing.
        fields: declared metadata field types, ``{"year": "integer", "lang": "keyword"}`` (types:
            ``keyword integer float boolean date``); only these fields are stored, a value that
            does not fit is a bad record, and later writers keep the types. ``None`` infers every
            field's type (see ``docs/filters.md``).
        record_fields: ``id_field``, ``text_field``, ``title_field`` for tabular files.

    Example::

        info = index_corpus("data/scifact", "indexes/scifact")
        hits = load_index("indexes/scifact").search("statins and heart disease", k=10)
    """
    if not isinstance(encoder, str):
        if not isinstance(corpus, (str, Path)):
            raise WinnowError("several encoders read the corpus once each: give a path, not documents")
        return index_hybrid(corpus, out, list(encoder), batch_size=batch_size, quantize=quantize, store=store,
                            skip_bad=skip_bad, skipped=skipped, progress=progress, fields=fields, **record_fields)
    from winnow.corpus import open_corpus
    from winnow.encode.registry import build_encoder
    from winnow.filters.fields import check_declared
    from winnow.index.writer import build_index

    if fields is not None:
        fields = check_declared(fields)
    docs = open_corpus(corpus, skip_bad=skip_bad, skipped=skipped, field_types=fields, **record_fields) \
        if isinstance(corpus, (str, Path)) else corpus
    if encoder.partition(":")[0].strip().lower() == "dense":  # a vector index, not postings
        from winnow.dense.index import build_dense_index

        return build_dense_index(docs, encoder, out, store=store, progress=progress, fields=fields)
    return build_index(docs, build_encoder(encoder), out, batch_size=batch_size, quantize=quantize, store=store,
                       progress=progress, spec=encoder, fields=fields)


def index_hybrid(corpus: str | Path, out: str | Path, encoders: Sequence[str], pipeline: str | None = None,
                 tuned: dict | None = None, **options) -> IndexInfo:
    """Build one index per encoder spec into ``out/<spec>/`` and save ``out`` as a pipeline.

    Args:
        pipeline: the pipeline over the specs (default: reciprocal rank fusion of all of them,
            ``bm25 + dense:M``); its atoms must be among ``encoders``.
        tuned: fusion parameters (see :func:`winnow.pipeline.tune.tune_pipeline`).
        options: passed to :func:`index_corpus` for each index.

    Returns:
        The summed sizes and times of the indexes, with ``path`` the pipeline folder.
    """
    from winnow.pipeline.grammar import atoms, is_reranker, parse
    from winnow.pipeline.saved import atom_folder_name, save_pipeline

    if len(encoders) < 1 or len(set(encoders)) != len(encoders):
        raise WinnowError(f"give each encoder spec once, got {list(encoders)}")
    text = pipeline or " + ".join(encoders)
    unknown = [a for a in atoms(parse(text)) if not is_reranker(a) and a not in encoders]
    if unknown:
        raise WinnowError(f"the pipeline names {', '.join(unknown)}, which is not among the encoders")
    out = Path(out)
    folders = {spec: atom_folder_name(spec) for spec in encoders}
    if len(set(folders.values())) != len(folders):
        folders = {spec: f"{i}-{name}" for i, (spec, name) in enumerate(folders.items())}
    infos = [index_corpus(corpus, out / folders[spec], spec, **options) for spec in encoders]
    save_pipeline(out, text, folders, tuned, corpus=str(corpus))
    return IndexInfo(out, infos[0].n_docs, sum(i.n_terms for i in infos), sum(i.n_postings for i in infos),
                     sum(i.bytes for i in infos), sum(i.seconds for i in infos))


def load_index(path: str | Path, verify: bool = True):
    """Open an index folder for searching (memory-mapped; checksums verified unless ``verify=False``)."""
    from winnow.retrieve.searcher import Searcher

    return Searcher(path, verify=verify)


# folder format (the "format" of its manifest) -> "module:function" that opens it as a Retriever
OPENERS = {
    "winnow-sparse-index": "winnow.retrieve.searcher:Searcher",
    "winnow-dense-index": "winnow.dense.retriever:DenseRetriever",
    "winnow-pipeline": "winnow.pipeline.saved:load_pipeline",
    "winnow-sharded-index": "winnow.scale.shards:ShardedRetriever",
}


def folder_format(path: str | Path) -> str:
    """The format a winnow folder declares (``winnow-sparse-index``, ``winnow-dense-index``, ...)."""
    import json

    from winnow.errors import IndexFormatError

    manifest = Path(path) / "manifest.json"
    if not manifest.is_file():
        raise IndexFormatError(f"{path}: not a winnow folder (no manifest.json)")
    try:
        fmt = json.loads(manifest.read_text(encoding="utf-8")).get("format")
    except (ValueError, UnicodeDecodeError, AttributeError) as exc:
        raise IndexFormatError(f"{manifest}: damaged manifest ({exc})") from exc
    if fmt not in OPENERS:
        raise IndexFormatError(f"{manifest}: unknown format {fmt!r}; this winnow opens {', '.join(OPENERS)}")
    return fmt


def open(path: str | Path, verify: bool = True):  # noqa: A001 - winnow.open, as in io.open
    """Open any winnow folder (sparse index, dense index, saved pipeline) as a Retriever."""
    import importlib

    module, _, name = OPENERS[folder_format(path)].partition(":")
    return getattr(importlib.import_module(module), name)(path, verify=verify)
