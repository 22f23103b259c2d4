"""Distributed encoding on Ray: ``winnow encode CORPUS --encoder SPEC --out VECTORS [--ray ADDRESS]``.

The corpus (a JSON Lines file or a BEIR folder, on storage every node can read) is cut into parts
of ``part_lines`` lines; the driver only finds where each part starts (a scan for newlines). Ray
Data makes a dataset of the parts and hands them to an actor pool of ``workers`` encoders, one
model each: every actor reads its part's lines itself, encodes them and writes
``part-NNNNN.parquet`` (:mod:`winnow.scale.vectors`) into the vectors folder, which must be on
storage every node can write. The driver records each finished part with its size and checksum
in ``vectors.json`` as it arrives, so a restarted job encodes only the parts missing or damaged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from winnow.corpus.records import Fields, decode_line, to_document
from winnow.errors import InputError, WinnowError, require
from winnow.scale.vectors import (FORMAT, FORMAT_VERSION, MANIFEST, VOCAB, PartEncoder, part_is_complete, part_name,
                                  read_manifest, write_json)
from winnow.types import Document

_SCAN = 1 << 26  # bytes read at a time while looking for part boundaries


def corpus_file(corpus: str | Path) -> Path:
    """The JSON Lines file of a corpus path (a BEIR folder's ``corpus.jsonl``).

    Raises:
        InputError: the path is neither a JSON Lines file nor a folder holding ``corpus.jsonl``.
    """
    path = Path(corpus)
    if path.is_dir():
        path = path / "corpus.jsonl"
    if not path.is_file() or path.suffix.lower() not in (".jsonl", ".json"):
        raise InputError("distributed encoding reads a JSON Lines corpus (a .jsonl file or a BEIR folder); "
                         "convert other formats first", str(corpus))
    return path


def part_bounds(path: Path, part_lines: int) -> list[tuple[int, int, int]]:
    """``(start byte, end byte, first line number)`` of each block of ``part_lines`` lines."""
    if part_lines < 1:
        raise WinnowError(f"part_lines must be at least 1, got {part_lines}")
    starts, offset = [0], 0
    with open(path, "rb") as f:
        while chunk := f.read(_SCAN):
            starts.extend((np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10) + offset + 1).tolist())
            offset += len(chunk)
    if starts[-1] == offset:  # the last line ends with a newline: no line starts after it
        starts.pop()
    if not starts or offset == 0:
        raise InputError("empty corpus: no documents found", str(path))
    firsts = starts[::part_lines]
    ends = firsts[1:] + [offset]
    return [(lo, hi, 1 + i * part_lines) for i, (lo, hi) in enumerate(zip(firsts, ends))]


def read_part(path: Path, start: int, end: int, first_line: int) -> list[Document]:
    """The documents on the lines between two byte offsets (blank lines skipped, bad records raised)."""
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    docs, name = [], str(path)
    for number, raw in enumerate(data.split(b"\n"), first_line):
        text = decode_line(raw, name, number).rstrip("\r")
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON ({exc.msg}, column {exc.colno})", name, number) from None
        if not isinstance(record, dict):
            raise InputError("expected a JSON object per line (JSON Lines)", name, number)
        docs.append(to_document(record, Fields(), name, number))
    return docs


class _PartWorker:
    """One actor of the pool: an encoder (one model) that turns parts of the corpus into Parquet."""

    def __init__(self, spec: str, corpus: str, out: str):
        self.encoder, self.corpus, self.out = PartEncoder(spec), Path(corpus), Path(out)

    def __call__(self, batch: dict) -> dict:
        done: dict[str, list] = {"part": [], "n_docs": [], "bytes": [], "xxh3": []}
        for number, start, end, line in zip(batch["number"], batch["start"], batch["end"], batch["line"]):
            docs = read_part(self.corpus, int(start), int(end), int(line))
            name = part_name(int(number))
            record = self.encoder.write(docs, self.out / name)
            done["part"].append(name)
            for key in ("n_docs", "bytes", "xxh3"):
                done[key].append(record[key])
        return done


def _start_manifest(out: Path, spec: str, encoder: PartEncoder, path: Path, part_lines: int, n_parts: int) -> dict:
    """The manifest to write into: a fresh one, or the saved one's verified parts when resuming."""
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "spec": spec,
        "encoder": {"kind": encoder.encoder.kind, "config": encoder.encoder.config()},
        "n_columns": encoder.encoder.n_columns,
        "vocabulary": "part" if encoder.grows else "global",
        "corpus": {"path": str(path.resolve()), "bytes": path.stat().st_size},
        "part_lines": part_lines,
        "n_parts": n_parts,
        "parts": {},
    }
    if (out / MANIFEST).exists():
        saved = read_manifest(out)
        if {k: v for k, v in saved.items() if k != "parts"} != {k: v for k, v in manifest.items() if k != "parts"}:
            raise WinnowError(f"{out} holds vectors of another corpus, encoder or part size; use an empty folder "
                              "or the same arguments to resume")
        manifest["parts"] = {n: r for n, r in saved["parts"].items() if part_is_complete(out, n, r)}
    elif not encoder.grows:
        write_json(out / VOCAB, encoder.encoder.vocabulary())
    return manifest


def encode_corpus(corpus: str | Path, spec: str, out: str | Path, *, address: str | None = None, workers: int = 2,
                  part_lines: int = 10_000, cpus_per_worker: float = 1.0,
                  progress: Callable[[int], None] | None = None) -> dict:
    """Encode a corpus on a Ray cluster into a vectors folder; resume where a previous run stopped.

    Args:
        corpus: a JSON Lines file or a BEIR folder, readable by every node.
        spec: the encoder spec, e.g. ``bm25`` or ``splade:MODEL:threads=1``.
        out: the vectors folder, writable by every node.
        address: the Ray cluster (``auto``, ``ray://host:10001``); default: the one this process
            is already connected to, or a new local one.
        workers: actors in the encoding pool (one model each).
        part_lines: corpus lines per part (the unit of work and of resumption).
        cpus_per_worker: CPUs Ray reserves for each actor.
        progress: called with the number of documents encoded so far after each part.

    Returns:
        The saved ``vectors.json``.
    """
    ray = require("ray", "ray")
    require("pyarrow", "parquet")
    path, out = corpus_file(corpus), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    bounds = part_bounds(path, part_lines)
    manifest = _start_manifest(out, spec, PartEncoder(spec), path, part_lines, len(bounds))
    write_json(out / MANIFEST, manifest)
    todo = [{"number": i, "start": lo, "end": hi, "line": line} for i, (lo, hi, line) in enumerate(bounds)
            if part_name(i) not in manifest["parts"]]
    if not todo:
        return manifest
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    from ray.data import ActorPoolStrategy, DataContext

    DataContext.get_current().enable_progress_bars = False
    dataset = ray.data.from_items(todo, override_num_blocks=len(todo)).map_batches(
        _PartWorker, batch_size=1, compute=ActorPoolStrategy(size=min(workers, len(todo))), num_cpus=cpus_per_worker,
        fn_constructor_kwargs={"spec": spec, "corpus": str(path), "out": str(out.resolve())})
    done = sum(r["n_docs"] for r in manifest["parts"].values())
    for row in dataset.iter_rows():
        manifest["parts"][row["part"]] = {"n_docs": int(row["n_docs"]), "bytes": int(row["bytes"]),
                                          "xxh3": str(row["xxh3"])}
        write_json(out / MANIFEST, manifest)
        done += int(row["n_docs"])
        if progress:
            progress(done)
    manifest["parts"] = dict(sorted(manifest["parts"].items()))
    write_json(out / MANIFEST, manifest)
    return manifest
