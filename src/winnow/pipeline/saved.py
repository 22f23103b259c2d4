"""A pipeline saved as a folder: its text, the index folder of each atom, and tuned fusion weights.

::

    manifest.json     {"format": "winnow-pipeline", "pipeline": "zscore(bm25 + dense:M)",
                       "atoms": {"bm25": "bm25", "dense:M": "dense-M"}, "tuned": {...}}
    bm25/ dense-M/    the indexes (folders of their own, any winnow format)

``winnow search``, ``winnow eval`` and the server open it with :func:`winnow.open`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Mapping

from winnow.errors import IndexFormatError, WinnowError
from winnow.pipeline.grammar import OpenOnce, atoms, build, is_reranker, parse

FORMAT = "winnow-pipeline"
FORMAT_VERSION = 1


def atom_folder_name(atom: str) -> str:
    """A folder name for an atom's index: ``dense:/m/all-MiniLM-L6-v2`` -> ``dense-all-MiniLM-L6-v2``."""
    kind, _, rest = atom.partition(":")
    tail = Path(rest.split(":")[0]).name if rest else ""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{kind}-{tail}" if tail else kind).strip("-.")
    return name or "index"


def save_pipeline(out: str | Path, text: str, folders: Mapping[str, str | Path], tuned: Mapping | None = None,
                  **info) -> Path:
    """Write a pipeline manifest into ``out`` (whose index folders already exist or are given absolute).

    Args:
        out: the pipeline folder (created if needed).
        text: the pipeline text; every atom that is not a reranker must be in ``folders``.
        folders: atom -> index folder (relative to ``out`` or absolute).
        tuned: fusion text -> parameters (from :func:`winnow.pipeline.tune.tune_pipeline`).
        info: anything else worth keeping (the corpus, the tuning split and metric).
    """
    from winnow.fsutil import write_atomic

    out = Path(out)
    tree = parse(text)
    missing = [a for a in atoms(tree) if not is_reranker(a) and a not in folders]
    if missing:
        raise WinnowError(f"no index folder given for {', '.join(missing)}")
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "pipeline": text,
                "atoms": {a: str(f) for a, f in folders.items()}, "tuned": dict(tuned or {}), **info}
    write_atomic(out / "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8"))
    return out


def read_pipeline_manifest(path: str | Path) -> dict:
    path = Path(path) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise IndexFormatError(f"{path}: cannot read the pipeline manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise IndexFormatError(f"{path}: not a winnow pipeline")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexFormatError(f"{path}: pipeline format version {manifest.get('format_version')!r} is not "
                               f"supported (this winnow reads {FORMAT_VERSION})")
    for key, kind in (("pipeline", str), ("atoms", dict), ("tuned", dict)):
        if not isinstance(manifest.get(key), kind):
            raise IndexFormatError(f"{path}: field {key!r} is missing or not a {kind.__name__}")
    return manifest


def folder_resolver(path: str | Path, manifest: dict, verify: bool = True):
    """The resolver of a saved pipeline: its atoms' folders (never outside it unless written absolute)."""
    import winnow

    folder = Path(path)

    def resolve(atom: str):
        if is_reranker(atom):
            from winnow.rerank import build_reranker

            return build_reranker(atom)
        if atom not in manifest["atoms"]:
            raise IndexFormatError(f"{folder}: the pipeline names {atom!r} but holds no folder for it")
        written = Path(manifest["atoms"][atom])
        where = written if written.is_absolute() else folder / written
        if not written.is_absolute() and folder.resolve() not in where.resolve().parents:
            raise IndexFormatError(f"{folder}: the folder of {atom!r} ({written}) leaves the pipeline folder")
        return winnow.open(where, verify=verify)

    return resolve


def load_pipeline(path: str | Path, verify: bool = True):
    """Open a saved pipeline folder as a Retriever."""
    manifest = read_pipeline_manifest(path)
    return build(parse(manifest["pipeline"]), folder_resolver(path, manifest, verify), manifest["tuned"])


def tune_saved(path: str | Path, dataset: str | Path, split: str = "train", metric: str = "ndcg@10") -> dict:
    """Tune a saved pipeline's fusion parameters on a BEIR split and record them in its manifest."""
    from winnow.corpus import load_beir
    from winnow.pipeline.tune import tune_pipeline

    manifest = read_pipeline_manifest(path)
    data = load_beir(dataset, split)
    resolve = OpenOnce(folder_resolver(path, manifest))
    tuned = tune_pipeline(parse(manifest["pipeline"]), resolve, data.queries, data.qrels, metric)
    info = {k: v for k, v in manifest.items() if k not in ("format", "format_version", "pipeline", "atoms", "tuned")}
    save_pipeline(path, manifest["pipeline"], manifest["atoms"], tuned,
                  **{**info, "tuned_on": {"dataset": str(dataset), "split": split, "metric": metric}})
    resolve.close()
    return tuned
