"""The Python API that the CLI mirrors: build an index, open it, search, evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from winnow.index.writer import IndexInfo
from winnow.types import Document


def index_corpus(corpus: str | Path | Iterable[Document], out: str | Path, encoder: str = "bm25", *,
                 batch_size: int = 1000, quantize: str | None = None, store: bool = True,
                 skip_bad: bool = False, skipped: list | None = None,
                 progress: Callable[[int], None] | None = None, **fields) -> IndexInfo:
    """Index a corpus (a BEIR folder, a JSONL/CSV/TSV/Parquet file, or documents) into ``out``.

    Args:
        corpus: a path, or an iterable of :class:`~winnow.types.Document`.
        out: the index folder (an index already there is replaced once the build succeeds).
        encoder: an encoder spec, e.g. ``bm25``, ``bm25:k1=1.2,b=0.75,variant=bm25+``,
            ``splade:MODEL``, ``inference-free:MODEL:prune_ratio=0.1``.
        quantize: ``"u8"`` for 8-bit impacts.
        skip_bad: skip malformed records (each appended to ``skipped`` and logged) instead of failing.
        fields: ``id_field``, ``text_field``, ``title_field`` for tabular files.

    Example::

        info = index_corpus("data/scifact", "indexes/scifact")
        hits = load_index("indexes/scifact").search("statins and heart disease", k=10)
    """
    from winnow.corpus import open_corpus
    from winnow.encode.registry import build_encoder
    from winnow.index.writer import build_index

    docs = open_corpus(corpus, skip_bad=skip_bad, skipped=skipped, **fields) if isinstance(corpus, (str, Path)) \
        else corpus
    return build_index(docs, build_encoder(encoder), out, batch_size=batch_size, quantize=quantize, store=store,
                       progress=progress, spec=encoder)


def load_index(path: str | Path, verify: bool = True):
    """Open an index folder for searching (memory-mapped; checksums verified unless ``verify=False``)."""
    from winnow.retrieve.searcher import Searcher

    return Searcher(path, verify=verify)


# folder format (the "format" of its manifest) -> "module:function" that opens it as a Retriever
OPENERS = {
    "winnow-sparse-index": "winnow.retrieve.searcher:Searcher",
    "winnow-dense-index": "winnow.dense.retriever:DenseRetriever",
    "winnow-pipeline": "winnow.pipeline.saved:load_pipeline",
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
