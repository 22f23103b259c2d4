"""Distributed encoding: Parquet parts on a local Ray cluster equal single-process encoding, and resume."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from typer.testing import CliRunner

from tests.scale.helpers import assert_same_index
from winnow.errors import InputError, WinnowError
from winnow.scale.ray_encode import encode_corpus, part_bounds, read_part
from winnow.scale.vectors import MANIFEST, index_vectors


# A model's weights move in the last bits with the batch a text is padded in (parts batch differently)
@pytest.mark.parametrize("kind, tol", [("bm25", 0.0), ("bm25-multifield", 0.0), ("splade", 1e-6)])
def test_index_from_vectors_equals_index_from_corpus(kind, tol, encoded, tiny_beir, tmp_path):
    from winnow.api import index_corpus

    vectors = encoded(kind)
    assert len(json.loads((vectors / MANIFEST).read_text())["parts"]) == 4  # 20 lines, 6 per part
    index_vectors(vectors, tmp_path / "from-vectors", batch_size=7)  # batches straddle the parts
    index_corpus(tiny_beir, tmp_path / "direct", encoded.specs[kind])
    assert_same_index(tmp_path / "from-vectors", tmp_path / "direct", tol)


def test_cli_encode_resumes_and_indexes(ray_cluster, tiny_beir, tmp_path):
    from winnow.api import index_corpus
    from winnow.cli.app import app

    out = tmp_path / "vectors"
    run = CliRunner().invoke
    args = ["encode", str(tiny_beir), "--encoder", "bm25", "--out", str(out), "--part-lines", "5"]
    result = run(app, args)
    assert result.exit_code == 0, result.output
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 4
    kept = {p.name: os.stat(p).st_mtime_ns for p in parts[1:3]}
    parts[0].unlink()  # lost
    parts[3].write_bytes(b"damaged")  # half-written by a crashed node
    assert run(app, args).exit_code == 0
    assert {p.name: os.stat(p).st_mtime_ns for p in sorted(out.glob("part-*.parquet"))[1:3]} == kept
    result = run(app, ["index", "--from-vectors", str(out), "--out", str(tmp_path / "index")])
    assert result.exit_code == 0, result.output
    index_corpus(tiny_beir, tmp_path / "direct", "bm25")
    assert_same_index(tmp_path / "index", tmp_path / "direct")


def test_other_settings_are_refused(encoded, tiny_beir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(encoded("bm25"), copy)
    with pytest.raises(WinnowError, match="another corpus, encoder or part size"):
        encode_corpus(tiny_beir, "bm25", copy, part_lines=7)
    with pytest.raises(WinnowError, match="another corpus, encoder or part size"):
        encode_corpus(tiny_beir, "bm25:k1=1.2", copy, part_lines=6)


def test_unfinished_vectors_are_refused(encoded, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(encoded("bm25"), copy)
    next(copy.glob("part-*.parquet")).write_bytes(b"damaged")
    with pytest.raises(WinnowError, match="run `winnow encode` again"):
        index_vectors(copy, tmp_path / "index")


def test_part_bounds_cover_every_line(tmp_path):
    path = tmp_path / "c.jsonl"
    lines = [json.dumps({"_id": str(i), "text": f"t{i}"}) for i in range(7)]
    for ending in ("\n", ""):
        path.write_text("\n".join(lines) + ending)
        bounds = part_bounds(path, 3)
        assert [line for _, _, line in bounds] == [1, 4, 7]
        docs = [d for lo, hi, line in bounds for d in read_part(path, lo, hi, line)]
        assert [d.id for d in docs] == [str(i) for i in range(7)]


def test_bad_record_names_its_line(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"_id": "a", "text": "x"}\n\n{"_id": "b", "text": }\n')
    (lo, hi, line), = part_bounds(path, 10)
    with pytest.raises(InputError, match=r"c.jsonl:3: malformed JSON"):
        read_part(path, lo, hi, line)


def test_only_json_lines_corpora(tmp_path):
    pytest.importorskip("ray", reason="the ray extra is not installed: pip install 'winnow[ray]'")
    (tmp_path / "c.csv").write_text("_id,text\n1,a\n")
    with pytest.raises(InputError, match="JSON Lines"):
        encode_corpus(tmp_path / "c.csv", "bm25", tmp_path / "out")
